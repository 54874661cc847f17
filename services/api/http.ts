// The admin HTTP listener: Prometheus /metrics, /healthz, GET/POST /zones, DELETE /zones/NAME, POST /reload,
// and whatever other routes are given (the history API and page: history.ts).

import http from 'node:http';
import type { Endpoint } from '../config/types.ts';
import { CONTENT_TYPE, type Registry } from '../../shared/metrics.ts';

export interface Health {
  ok: boolean;
  [k: string]: unknown;
}

export interface AdminActions {
  /** Re-reads every zone file; resolves with what happened to each zone. */
  reload(why: string): Promise<unknown>;
  /** Each zone's role, serial and state (secondary zones: last and next check). */
  zones?(): unknown[];
  /** POST /zones with a JSON zone entry; DELETE /zones/NAME. */
  addZone?(entry: unknown): Promise<{ status: number; body: unknown }>;
  removeZone?(name: string): Promise<{ status: number; body: unknown }>;
}

const json = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body, null, 2) + '\n');
};

/** Routes tried before the admin ones: true when the request was taken. */
export type Routes = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export function listenHttp(ep: Endpoint, registry: Registry, health: () => Promise<Health>, actions?: AdminActions, routes?: Routes): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (routes?.(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/reload' && req.method === 'POST' && actions) {
      actions.reload(`api from ${req.socket.remoteAddress ?? '?'}`).then(
        (r) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(r) + '\n'),
        (e: Error) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: e.message }) + '\n'),
      );
      return;
    }
    if (path === '/zones' && req.method === 'POST' && actions?.addZone) {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 65536) req.destroy();
        else chunks.push(c);
      });
      req.on('end', () => {
        let entry: unknown;
        try {
          entry = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (e) {
          return json(res, 400, { error: `the body is not JSON: ${(e as Error).message}` });
        }
        actions.addZone!(entry).then((r) => json(res, r.status, r.body), (e: Error) => json(res, 500, { error: e.message }));
      });
      return;
    }
    if (path.startsWith('/zones/') && req.method === 'DELETE' && actions?.removeZone) {
      actions.removeZone(decodeURIComponent(path.slice('/zones/'.length))).then((r) => json(res, r.status, r.body), (e: Error) => json(res, 500, { error: e.message }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: actions ? 'GET, HEAD, POST /reload' : 'GET, HEAD' }).end();
      return;
    }
    if (path === '/zones' && actions?.zones) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(actions.zones(), null, 2) + '\n');
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(registry.render());
      return;
    }
    if (path === '/healthz') {
      health().then(
        (h) => res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h) + '\n'),
        (e: Error) => res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: e.message }) + '\n'),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /history, /api/v1/changes, /metrics, /healthz, /zones or POST /reload\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: ep.address, port: ep.port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
