// The history API's reads on a thread of their own, with their own store connection.
//
// node:sqlite is synchronous: an as-of of a 100k-record zone, a blame, or a count of a million
// events would otherwise hold the server's event loop, and with it every DNS answer, for as
// long as it takes. Here they run beside it (SQLite's WAL lets a reader proceed while the
// writer appends); the main thread only writes the finished bytes to the HTTP response.

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { openStore } from '../../shared/store/open.ts';
import { readHere, type Reader, type ReadRequest, type Reply } from './history.ts';

type ToReader = { id: number; t: 'read'; req: ReadRequest } | { id: number; t: 'more' };

type FromReader =
  | { id: number; t: 'raw'; status: number; body: string; headers: Record<string, string> }
  | { id: number; t: 'lines'; lines: string[] }
  /** A chunked body begins (its chunks follow). */
  | { id: number; t: 'stream'; status: number; headers: Record<string, string> }
  | { id: number; t: 'chunk'; text: string }
  | { id: number; t: 'end'; error?: string };

/** NDJSON lines sent per message; the next batch waits until the main thread asks for it. */
const BATCH = 500;
/** Chunks of a chunked body sent ahead of the main thread: one being written, one being made. */
const CHUNKS_AHEAD = 2;

export interface HistoryReader {
  reader: Reader;
  close(): Promise<void>;
}

/** Starts the reader thread on the store `url` names. */
export function startHistoryReader(url: string): HistoryReader {
  const worker = new Worker(new URL(import.meta.url), { workerData: { url } });
  worker.unref();
  let next = 1;
  const waiting = new Map<number, { resolve: (r: Reply) => void; lines?: (m: FromReader) => void }>();
  const failAll = (why: string): void => {
    for (const [, w] of waiting) w.resolve({ status: 500, json: { error: `history reader: ${why}`, code: 'internal' } });
    waiting.clear();
  };
  worker.on('error', (e) => failAll(e.message));
  worker.on('exit', (code) => failAll(`exited with code ${code}`));
  worker.on('message', (m: FromReader) => {
    const w = waiting.get(m.id);
    if (!w) return;
    if (w.lines) {
      w.lines(m);
      return;
    }
    if (m.t === 'raw') {
      waiting.delete(m.id);
      w.resolve({ status: m.status, raw: m.body, headers: m.headers });
      return;
    }
    // The first message of a stream (NDJSON's first batch, or a chunked body's start): from
    // here on its messages feed the iterator.
    const queue: FromReader[] = m.t === 'stream' ? [] : [m];
    let wake: (() => void) | null = null;
    w.lines = (more) => {
      queue.push(more);
      wake?.();
    };
    const id = m.id;
    async function* lines(): AsyncGenerator<string> {
      try {
        for (let turns = 0; turns < Number.MAX_SAFE_INTEGER; turns++) {
          while (queue.length === 0) await new Promise<void>((r) => (wake = r));
          wake = null;
          const msg = queue.shift()!;
          if (msg.t === 'end') {
            if (msg.error) throw new Error(msg.error);
            return;
          }
          if (msg.t === 'lines') yield* msg.lines;
          else if (msg.t === 'chunk') yield msg.text;
          else continue;
          worker.postMessage({ id, t: 'more' } satisfies ToReader);
        }
      } finally {
        waiting.delete(id);
      }
    }
    w.resolve(m.t === 'stream' ? { status: m.status, headers: m.headers, chunks: lines() } : { status: 200, ndjson: lines() });
  });
  return {
    reader: (req) => new Promise((resolve) => {
      const id = next++;
      waiting.set(id, { resolve });
      worker.postMessage({ id, t: 'read', req } satisfies ToReader);
    }),
    close: async () => {
      await worker.terminate();
    },
  };
}

async function serveReads(): Promise<void> {
  const port = parentPort!;
  const store = await openStore((workerData as { url: string }).url);
  const read = readHere(store);
  const credit = new Map<number, () => void>();
  // A whole zone (as-of, or a diff that compares two) costs hundreds of MB while it is built:
  // one at a time, so concurrent requests queue instead of holding several zones at once.
  let heavy: Promise<unknown> = Promise.resolve();
  const isHeavy = (path: string): boolean => /\/(as-of|diff)$/.test(path);
  port.on('message', (m: ToReader) => {
    if (m.t === 'more') {
      credit.get(m.id)?.();
      return;
    }
    // A heavy reply holds its turn until it has been sent whole (a chunked zone is made as it goes).
    if (isHeavy(m.req.path)) {
      const turn = heavy.then(async () => respond(m.id, await read(m.req)));
      heavy = turn.catch(() => undefined);
    } else void read(m.req).then((r) => respond(m.id, r));
  });

  async function respond(id: number, r: Reply): Promise<void> {
    if ('chunks' in r) return chunked(id, r);
    if (!('ndjson' in r)) {
      const body = 'json' in r ? JSON.stringify(r.json) + '\n' : 'text' in r ? r.text : r.raw;
      const headers = 'json' in r ? { 'content-type': 'application/json' } : 'text' in r ? { 'content-type': 'text/plain; charset=utf-8', ...r.headers } : r.headers;
      port.postMessage({ id, t: 'raw', status: r.status, body, headers } satisfies FromReader);
      return;
    }
    try {
      let batch: string[] = [];
      const flush = async (): Promise<void> => {
        const granted = new Promise<void>((resolve) => credit.set(id, resolve));
        port.postMessage({ id, t: 'lines', lines: batch } satisfies FromReader);
        batch = [];
        await granted;
      };
      for await (const l of r.ndjson) {
        batch.push(l);
        if (batch.length >= BATCH) await flush();
      }
      if (batch.length > 0) await flush();
      port.postMessage({ id, t: 'end' } satisfies FromReader);
    } catch (e) {
      port.postMessage({ id, t: 'end', error: (e as Error).message } satisfies FromReader);
    } finally {
      credit.delete(id);
    }
  }

  /** A chunked body: up to CHUNKS_AHEAD chunks in flight, so the next is made while one is written. */
  async function chunked(id: number, r: Extract<Reply, { chunks: unknown }>): Promise<void> {
    let ahead = 0;
    let wake: (() => void) | null = null;
    credit.set(id, () => {
      ahead--;
      wake?.();
      wake = null;
    });
    port.postMessage({ id, t: 'stream', status: r.status, headers: r.headers } satisfies FromReader);
    try {
      for await (const text of r.chunks) {
        while (ahead >= CHUNKS_AHEAD) await new Promise<void>((resolve) => (wake = resolve));
        ahead++;
        port.postMessage({ id, t: 'chunk', text } satisfies FromReader);
      }
      port.postMessage({ id, t: 'end' } satisfies FromReader);
    } catch (e) {
      port.postMessage({ id, t: 'end', error: (e as Error).message } satisfies FromReader);
    } finally {
      credit.delete(id);
    }
  }
}

if (!isMainThread && (workerData as { url?: string } | null)?.url !== undefined && parentPort) await serveReads();
