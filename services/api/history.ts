// The history API on the http listener: /api/v1/... (JSON, NDJSON for the audit export) and the /history page.
//
// schemas/api/openapi.yaml documents every route. Every refusal is `{ error, code }` with a 4xx
// status, and a request that is refused changes nothing.

import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type { Actor } from '../../shared/events/types.ts';
import type { EventStore } from '../../shared/store/port.ts';
import { printZone } from '../../shared/zone/printer.ts';
import {
  asOfFrom, auditEvents, blame, diffSerials, getChange, HistoryError, knownZone, listChanges, nameIn, parseLimit, parseSerial, parseTime, parseType,
  parseVersion, zoneAsOf, zoneLines, type ChangeFilterText,
} from '../history/history.ts';

export interface ServedZone {
  zone: string;
  version: number;
  serial: number;
  role: 'primary' | 'secondary';
}

export interface RevertResult {
  status: number;
  body: unknown;
}

export interface HistoryDeps {
  store: EventStore;
  /** The zones this server serves. */
  zones(): ServedZone[];
  /** Reverts a served zone to serial `serial`; refuses (with a HistoryError) a secondary zone. */
  revert(zone: string, serial: number, actor: Actor, note?: string): Promise<RevertResult>;
}

let page: string | null = null;
/** The history page, read once on first use. */
function historyPage(): string {
  page ??= readFileSync(new URL('./history-page.html', import.meta.url), 'utf8');
  return page;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body) + '\n');
}

function fail(res: http.ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy(e as Error);
    return;
  }
  if (e instanceof HistoryError) return send(res, e.status, { error: e.message, code: e.code });
  // The stores check what reaches them (limits, times) with RangeError.
  if (e instanceof RangeError) return send(res, 400, { error: e.message, code: 'bad-parameter' });
  send(res, 500, { error: (e as Error).message, code: 'internal' });
}

function one(p: URLSearchParams, key: string): string | undefined {
  const all = p.getAll(key);
  if (all.length > 1) throw new HistoryError(400, 'bad-parameter', `give ${key} once`);
  return all[0];
}

function flag(p: URLSearchParams, key: string): boolean {
  const v = one(p, key);
  if (v === undefined || v === '0' || v === 'false') return false;
  if (v === '' || v === '1' || v === 'true') return true;
  throw new HistoryError(400, 'bad-parameter', `${key} is true or false, not "${v}"`);
}

function only(p: URLSearchParams, allowed: string[]): void {
  for (const k of p.keys()) if (!allowed.includes(k)) throw new HistoryError(400, 'bad-parameter', `unknown parameter "${k}"; this route takes ${allowed.join(', ') || 'none'}`);
}

const FILTERS = ['zone', 'name', 'subtree', 'type', 'since', 'until', 'key', 'address', 'peer', 'user', 'cause'];

function filterOf(p: URLSearchParams): ChangeFilterText {
  const f: ChangeFilterText = {};
  for (const k of FILTERS) {
    if (k === 'subtree') continue;
    const v = one(p, k);
    if (v !== undefined && v !== '') (f as Record<string, string>)[k] = v;
  }
  if (flag(p, 'subtree')) f.subtree = true;
  return f;
}

async function readJson(req: http.IncomingMessage, max = 65536): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new HistoryError(413, 'too-large', `the body is over ${max} octets`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch (e) {
    throw new HistoryError(400, 'bad-json', `the body is not JSON: ${(e as Error).message}`);
  }
}

/** Writes NDJSON lines as the connection drains. */
async function ndjson(res: http.ServerResponse, lines: AsyncIterable<unknown>): Promise<void> {
  let started = false;
  for await (const l of lines) {
    if (!started) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      started = true;
    }
    if (!res.write(JSON.stringify(l) + '\n')) await new Promise((r) => res.once('drain', r));
    if (res.destroyed) return;
  }
  if (!started) res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.end();
}

/**
 * Handles the request if it is one of the history routes, and says whether it was. Errors
 * become `{ error, code }` bodies.
 */
export function historyRoutes(d: HistoryDeps): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://zonelog');
    const path = url.pathname;
    if (path === '/history' || path === '/history/') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(req.method === 'HEAD' ? undefined : historyPage());
      return true;
    }
    if (!path.startsWith('/api/v1/')) return false;
    handle(d, req, res, path.slice('/api/v1'.length), url.searchParams).catch((e: unknown) => fail(res, e));
    return true;
  };
}

async function handle(d: HistoryDeps, req: http.IncomingMessage, res: http.ServerResponse, path: string, p: URLSearchParams): Promise<void> {
  const seg = path.split('/').slice(1).map((s) => decodeURIComponent(s));
  const method = req.method ?? 'GET';
  const get = method === 'GET' || method === 'HEAD';
  const notFound = (): never => {
    throw new HistoryError(404, 'no-route', `no route ${method} /api/v1${path}; see schemas/api/openapi.yaml`);
  };

  if (seg.length === 1 && seg[0] === 'zones' && get) {
    only(p, []);
    return send(res, 200, { zones: d.zones() });
  }
  if (seg.length === 1 && seg[0] === 'changes' && get) {
    only(p, [...FILTERS, 'limit', 'cursor']);
    const r = await listChanges(d.store, filterOf(p), parseLimit(one(p, 'limit'), 50, 1000), one(p, 'cursor'));
    return send(res, 200, r);
  }
  if (seg.length === 1 && seg[0] === 'audit' && get) {
    only(p, FILTERS);
    const f = filterOf(p);
    // Checked before the first line, so a bad filter is a 400 and not a broken stream.
    const events = auditEvents(d.store, f);
    const first = await events.next();
    async function* all() {
      if (!first.done) yield first.value;
      yield* events;
    }
    return ndjson(res, all());
  }
  if (seg.length === 1 && seg[0] === 'storage' && get) {
    only(p, []);
    return send(res, 200, { zones: await d.store.storage() });
  }
  if (seg[0] !== 'zones' || seg.length < 3) return notFound();
  const zone = await knownZone(d.store, seg[1]);
  const what = seg[2];

  if (what === 'changes' && seg.length === 4 && get) {
    only(p, []);
    return send(res, 200, await getChange(d.store, zone, parseVersion(seg[3])));
  }
  if (seg.length !== 3) return notFound();
  if (what === 'changes' && get) {
    only(p, [...FILTERS.filter((k) => k !== 'zone'), 'limit', 'cursor']);
    const f = { ...filterOf(p), zone };
    return send(res, 200, await listChanges(d.store, f, parseLimit(one(p, 'limit'), 50, 1000), one(p, 'cursor')));
  }
  if (what === 'as-of' && get) {
    only(p, ['serial', 'time', 'version', 'format']);
    const format = one(p, 'format') ?? 'json';
    if (format !== 'json' && format !== 'text') throw new HistoryError(400, 'bad-parameter', `format is json or text, not "${format}"`);
    const at = asOfFrom({ serial: one(p, 'serial'), time: one(p, 'time'), version: one(p, 'version') });
    const r = await zoneAsOf(d.store, zone, at);
    if (format === 'text') {
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store',
        'content-disposition': `inline; filename="${zone === '.' ? 'root' : zone.slice(0, -1)}-${r.serial}.zone"`,
        'x-zonelog-version': String(r.version), 'x-zonelog-serial': String(r.serial),
      }).end(printZone(r.zone));
      return;
    }
    return send(res, 200, { zone, version: r.version, serial: r.serial, time: r.time, fromSnapshot: r.fromSnapshot, records: zoneLines(r.zone) });
  }
  if (what === 'diff' && get) {
    only(p, ['from', 'to']);
    const from = one(p, 'from');
    if (from === undefined) throw new HistoryError(400, 'bad-parameter', 'diff needs from=SERIAL');
    const to = one(p, 'to');
    return send(res, 200, await diffSerials(d.store, zone, parseSerial(from, 'from'), to === undefined ? undefined : parseSerial(to, 'to')));
  }
  if (what === 'blame' && get) {
    only(p, ['name', 'type']);
    const nameText = one(p, 'name');
    if (nameText === undefined) throw new HistoryError(400, 'bad-parameter', 'blame needs name=NAME');
    const name = nameIn(zone, nameText);
    const typeText = one(p, 'type');
    const type = typeText === undefined || typeText === '' ? undefined : parseType(typeText);
    return send(res, 200, { zone, name, type: type === undefined ? null : typeText!.toUpperCase(), changes: await blame(d.store, zone, name, type) });
  }
  if (what === 'rate' && get) {
    only(p, ['since', 'until', 'bucket']);
    const bucketText = one(p, 'bucket') ?? '3600';
    if (!/^\d{1,9}$/.test(bucketText) || Number(bucketText) < 1) throw new HistoryError(400, 'bad-parameter', `bucket "${bucketText}" is not a number of seconds`);
    const since = one(p, 'since');
    const until = one(p, 'until');
    const buckets = await d.store.changeRate({
      zone, bucketMs: Number(bucketText) * 1000,
      since: since === undefined ? undefined : parseTime(since, 'since'), until: until === undefined ? undefined : parseTime(until, 'until'),
    });
    return send(res, 200, { zone, bucketSeconds: Number(bucketText), buckets });
  }
  if (what === 'revert' && method === 'POST') {
    only(p, []);
    const body = await readJson(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HistoryError(400, 'bad-parameter', 'the body is a JSON object: {"serial": N, "user": "...", "note": "..."}');
    const b = body as Record<string, unknown>;
    for (const k of Object.keys(b)) if (!['serial', 'user', 'note'].includes(k)) throw new HistoryError(400, 'bad-parameter', `unknown field "${k}"; a revert takes serial, user and note`);
    if (typeof b.serial !== 'number' && typeof b.serial !== 'string') throw new HistoryError(400, 'bad-parameter', 'serial is required: the serial to return the zone to');
    const serial = parseSerial(String(b.serial));
    if (b.user !== undefined && (typeof b.user !== 'string' || b.user === '' || b.user.length > 200)) throw new HistoryError(400, 'bad-parameter', 'user is a non-empty string');
    if (b.note !== undefined && (typeof b.note !== 'string' || b.note.length > 2000)) throw new HistoryError(400, 'bad-parameter', 'note is a string of at most 2000 characters');
    const actor: Actor = { user: (b.user as string | undefined) ?? 'http', address: req.socket.remoteAddress ?? undefined };
    const r = await d.revert(zone, serial, actor, b.note as string | undefined);
    return send(res, r.status, r.body);
  }
  return notFound();
}
