// Putting a snapshot's records in print order, on a thread of its own.
//
// A snapshot whose records are in the order the zone prints in lets an as-of print every owner
// that replay left alone without sorting it (asof-lines.ts OrderedOverlay). Sorting a 150k-record
// zone takes a few hundred milliseconds, too long for the thread that answers queries and
// decides updates, so the server hands the snapshot over unordered, already packed, and this
// thread unpacks, orders, repacks and compresses it.

import { Worker } from 'node:worker_threads';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

export interface OrderRequest {
  id: number;
  /** An unpacked "ZLS2" body (rows.ts encodeSnapshotRecords). */
  raw: Uint8Array;
}
export type OrderReply = { id: number; body: Uint8Array } | { id: number; error: string };

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./snapshot-order-thread.ts', import.meta.url));
  // Idle between snapshots, it never keeps a process alive; busy, it does (see orderedSnapshotBody).
  w.unref();
  w.on('message', (r: OrderReply) => {
    const p = waiting.get(r.id);
    if (!p) return;
    waiting.delete(r.id);
    if (waiting.size === 0) w.unref();
    if ('body' in r) p.resolve(Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength));
    else p.reject(new Error(r.error));
  });
  const gone = (e: Error): void => {
    if (worker === w) worker = null;
    for (const p of waiting.values()) p.reject(e);
    waiting.clear();
  };
  w.on('error', gone);
  w.on('exit', (code) => gone(new Error(`snapshot order thread exited with code ${code}`)));
  worker = w;
  return w;
}

/**
 * The stored (gzip-compressed) body of an unpacked "ZLS2" body, its records put in print order
 * ("ZLS3") on the order thread. Should the thread fail, the records are stored as they came:
 * a valid snapshot that an as-of sorts as it prints.
 */
export async function orderedSnapshotBody(raw: Buffer): Promise<Buffer> {
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      const w = thread();
      w.ref();
      w.postMessage({ id, raw } satisfies OrderRequest);
    });
  } catch {
    return gzipAsync(raw);
  }
}
