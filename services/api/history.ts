// The history API on the http listener: /api/v1/... (JSON, NDJSON for the audit export) and the /history page.
//
// schemas/api/openapi.yaml documents every route. Every refusal is `{ error, code }` with a 4xx
// status, and a request that is refused changes nothing.

import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type { Actor } from '../../shared/events/types.ts';
import type { EventStore } from '../../shared/store/port.ts';
import {
  asOfFrom, auditEvents, blame, diffSerials, getChange, HistoryError, knownZone, listChanges, nameIn, parseLimit, parseSerial, parseTime, parseType,
  parseVersion, printAsOf, type ChangeFilterText,
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
async function ndjson(res: http.ServerResponse, lines: AsyncIterable<string>): Promise<void> {
  let started = false;
  for await (const l of lines) {
    if (!started) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      started = true;
    }
    if (!res.write(l + '\n')) await new Promise((r) => res.once('drain', r));
    if (res.destroyed) return;
  }
  if (!started) res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.end();
}

/** What a read route answers: JSON, text, or NDJSON lines as they come. */
export type Reply =
  | { status: number; json: unknown }
  | { status: number; text: string; headers: Record<string, string> }
  /** A body already serialized (by the reader thread), with its content type among the headers. */
  | { status: number; raw: string; headers: Record<string, string> }
  /** NDJSON: each item one line, already serialized. */
  | { status: 200; ndjson: AsyncIterable<string> }
  /**
   * A body written as it is made, in chunks of text, with its content type among the headers:
   * a whole zone, whose lines are never all held at once.
   */
  | { status: number; headers: Record<string, string>; chunks: AsyncIterable<string> | Iterable<string> };

/** A read request as it crosses to the reader thread. */
export interface ReadRequest {
  path: string;
  query: [string, string][];
}

const errorReply = (e: unknown): Reply => {
  if (e instanceof HistoryError) return { status: e.status, json: { error: e.message, code: e.code } };
  // The stores check what reaches them (limits, times) with RangeError.
  if (e instanceof RangeError) return { status: 400, json: { error: e.message, code: 'bad-parameter' } };
  return { status: 500, json: { error: (e as Error).message, code: 'internal' } };
};

/** Where read routes run: here, or on the reader thread (history-reader.ts). */
export type Reader = (r: ReadRequest) => Promise<Reply>;

export function readHere(store: EventStore): Reader {
  return async (r) => {
    try {
      return await readRoute(store, r.path, new URLSearchParams(r.query));
    } catch (e) {
      return errorReply(e);
    }
  };
}

/**
 * Handles the request if it is one of the history routes, and says whether it was. Reads go to
 * `reader` (a thread of their own in the server, so that a long as-of or a count over a million
 * events never holds up DNS answers); the zone list and revert stay here.
 */
export function historyRoutes(d: HistoryDeps, reader: Reader = readHere(d.store)): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://zonelog');
    const path = url.pathname;
    if (path === '/history' || path === '/history/') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(req.method === 'HEAD' ? undefined : historyPage());
      return true;
    }
    if (!path.startsWith('/api/v1/')) return false;
    const sub = path.slice('/api/v1'.length);
    const method = req.method ?? 'GET';
    const p = url.searchParams;
    const reply = async (): Promise<Reply> => {
      try {
        if (sub === '/zones' && (method === 'GET' || method === 'HEAD')) {
          only(p, []);
          return { status: 200, json: { zones: d.zones() } };
        }
        if (/^\/zones\/[^/]+\/revert$/.test(sub) && method === 'POST') return await revertRoute(d, req, sub, p);
        if (method !== 'GET' && method !== 'HEAD') throw new HistoryError(405, 'no-route', `no route ${method} /api/v1${sub}; see schemas/api/openapi.yaml`);
      } catch (e) {
        return errorReply(e);
      }
      return reader({ path: sub, query: [...p] });
    };
    reply().then((r) => write(res, r), (e: unknown) => write(res, errorReply(e))).catch((e: unknown) => res.destroy(e as Error));
    return true;
  };
}

async function write(res: http.ServerResponse, r: Reply): Promise<void> {
  if ('json' in r) return send(res, r.status, r.json);
  if ('text' in r) {
    res.writeHead(r.status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...r.headers }).end(r.text);
    return;
  }
  if ('raw' in r) {
    res.writeHead(r.status, { 'cache-control': 'no-store', ...r.headers }).end(r.raw);
    return;
  }
  if ('chunks' in r) {
    res.writeHead(r.status, { 'cache-control': 'no-store', ...r.headers });
    for await (const c of r.chunks) {
      if (!res.write(c)) await new Promise((resolve) => res.once('drain', resolve));
      if (res.destroyed) return;
    }
    res.end();
    return;
  }
  await ndjson(res, r.ndjson);
}

async function revertRoute(d: HistoryDeps, req: http.IncomingMessage, sub: string, p: URLSearchParams): Promise<Reply> {
  only(p, []);
  const zone = await knownZone(d.store, decodeURIComponent(sub.split('/')[2]));
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
  return { status: r.status, json: r.body };
}

/** Every GET route but the zone list: pure reads of the store. */
export async function readRoute(store: EventStore, path: string, p: URLSearchParams): Promise<Reply> {
  const seg = path.split('/').slice(1).map((s) => decodeURIComponent(s));
  const notFound = (): never => {
    throw new HistoryError(404, 'no-route', `no route GET /api/v1${path}; see schemas/api/openapi.yaml`);
  };

  if (seg.length === 1 && seg[0] === 'changes') {
    only(p, [...FILTERS, 'limit', 'cursor']);
    return { status: 200, json: await listChanges(store, filterOf(p), parseLimit(one(p, 'limit'), 50, 1000), one(p, 'cursor')) };
  }
  if (seg.length === 1 && seg[0] === 'audit') {
    only(p, FILTERS);
    const f = filterOf(p);
    // Checked before the first line, so a bad filter is a 400 and not a broken stream.
    const events = auditEvents(store, f);
    const first = await events.next();
    async function* all(): AsyncGenerator<string> {
      if (!first.done) yield JSON.stringify(first.value);
      for await (const e of events) yield JSON.stringify(e);
    }
    return { status: 200, ndjson: all() };
  }
  if (seg.length === 1 && seg[0] === 'storage') {
    only(p, []);
    return { status: 200, json: { zones: await store.storage() } };
  }
  if (seg[0] !== 'zones' || seg.length < 3) return notFound();
  const zone = await knownZone(store, seg[1]);
  const what = seg[2];

  if (what === 'changes' && seg.length === 4) {
    only(p, []);
    return { status: 200, json: await getChange(store, zone, parseVersion(seg[3])) };
  }
  if (seg.length !== 3) return notFound();
  if (what === 'changes') {
    only(p, [...FILTERS.filter((k) => k !== 'zone'), 'limit', 'cursor']);
    const f = { ...filterOf(p), zone };
    return { status: 200, json: await listChanges(store, f, parseLimit(one(p, 'limit'), 50, 1000), one(p, 'cursor')) };
  }
  if (what === 'as-of') {
    only(p, ['serial', 'time', 'version', 'format']);
    const format = one(p, 'format') ?? 'json';
    if (format !== 'json' && format !== 'text') throw new HistoryError(400, 'bad-parameter', `format is json or text, not "${format}"`);
    const at = asOfFrom({ serial: one(p, 'serial'), time: one(p, 'time'), version: one(p, 'version') });
    const r = await printAsOf(store, zone, at);
    // Written out batch by batch as the lines are made: the same bytes printZone and
    // JSON.stringify would give, without holding them all (and first bytes go out sooner).
    if (format === 'text') {
      return {
        status: 200, chunks: (function* () {
          for (const b of r.lineBatches()) yield b.join('\n') + '\n';
        })(),
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          'content-disposition': `inline; filename="${zone === '.' ? 'root' : zone.slice(0, -1)}-${r.serial}.zone"`,
          'x-zonelog-version': String(r.version), 'x-zonelog-serial': String(r.serial),
        },
      };
    }
    const head = JSON.stringify({ zone, version: r.version, serial: r.serial, time: r.time, fromSnapshot: r.fromSnapshot });
    return {
      status: 200, headers: { 'content-type': 'application/json' }, chunks: (function* () {
        yield `${head.slice(0, -1)},"records":[`;
        let first = true;
        for (const b of r.lineBatches()) {
          // The batch's strings as JSON, without its brackets: one call for the whole batch.
          const s = JSON.stringify(b).slice(1, -1);
          yield first ? s : `,${s}`;
          first = false;
        }
        yield ']}\n';
      })(),
    };
  }
  if (what === 'diff') {
    only(p, ['from', 'to']);
    const from = one(p, 'from');
    if (from === undefined) throw new HistoryError(400, 'bad-parameter', 'diff needs from=SERIAL');
    const to = one(p, 'to');
    return { status: 200, json: await diffSerials(store, zone, parseSerial(from, 'from'), to === undefined ? undefined : parseSerial(to, 'to')) };
  }
  if (what === 'blame') {
    only(p, ['name', 'type']);
    const nameText = one(p, 'name');
    if (nameText === undefined) throw new HistoryError(400, 'bad-parameter', 'blame needs name=NAME');
    const name = nameIn(zone, nameText);
    const typeText = one(p, 'type');
    const type = typeText === undefined || typeText === '' ? undefined : parseType(typeText);
    return { status: 200, json: { zone, name, type: type === undefined ? null : typeText!.toUpperCase(), changes: await blame(store, zone, name, type) } };
  }
  if (what === 'rate') {
    only(p, ['since', 'until', 'bucket']);
    const bucketText = one(p, 'bucket') ?? '3600';
    if (!/^\d{1,9}$/.test(bucketText) || Number(bucketText) < 1) throw new HistoryError(400, 'bad-parameter', `bucket "${bucketText}" is not a number of seconds`);
    const since = one(p, 'since');
    const until = one(p, 'until');
    const buckets = await store.changeRate({
      zone, bucketMs: Number(bucketText) * 1000,
      since: since === undefined ? undefined : parseTime(since, 'since'), until: until === undefined ? undefined : parseTime(until, 'until'),
    });
    return { status: 200, json: { zone, bucketSeconds: Number(bucketText), buckets } };
  }
  return notFound();
}
