// The SQLite append thread: takes appends off the main thread, so an fsync never stalls queries.

import { parentPort, workerData } from 'node:worker_threads';
import { ConcurrencyError, type AppendResult, type ExpectedVersion } from './port.ts';
import type { EventInsert } from './rows.ts';
import { SqliteStore } from './sqlite.ts';

export interface AppendRequest {
  id: number;
  /** The zone's key (nameKey form). */
  zone: string;
  /** Checked and encoded on the sending side (eventInserts), name index rows and all. */
  rows: EventInsert[];
  expected: ExpectedVersion;
  after?: string;
}

export type AppendReply =
  | { id: number; ok: AppendResult }
  | { id: number; concurrency: { zone: string; expected: ExpectedVersion; actual: number } }
  | { id: number; error: string };

const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs?: number };
const store = new SqliteStore(path, { busyTimeoutMs });
const port = parentPort!;
// node:sqlite is synchronous: requests run one at a time in arrival order, each its own transaction.
port.on('message', (r: AppendRequest) => {
  store.appendRows(r.zone, r.rows, r.expected, r.after).then(
    (ok) => port.postMessage({ id: r.id, ok } satisfies AppendReply),
    (e: unknown) => {
      const reply: AppendReply = e instanceof ConcurrencyError
        ? { id: r.id, concurrency: { zone: e.zone, expected: e.expected, actual: e.actual } }
        : { id: r.id, error: (e as Error).message };
      port.postMessage(reply);
    },
  );
});
