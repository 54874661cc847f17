// The SQLite append thread: takes appends off the main thread, so an fsync never stalls queries.

import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { NewEvent } from '../events/types.ts';
import { ConcurrencyError, type AppendResult, type ExpectedVersion } from './port.ts';
import { eventInserts } from './rows.ts';
import { MERGE_NAMES_AT, SqliteStore, warnMergeFailed, type GroupAppend, type GroupOutcome } from './sqlite.ts';

/**
 * An append as the main thread sends it: the events themselves. They are checked and encoded
 * into rows (eventInserts: JSON, the name index rows) here, off the thread that answers queries
 * and decides updates.
 */
export interface AppendRequest {
  id: number;
  zone: string;
  events: NewEvent[];
  expected: ExpectedVersion;
  after?: string;
}

export type AppendReply =
  | { id: number; ok: AppendResult }
  | { id: number; concurrency: { zone: string; expected: ExpectedVersion; actual: number } }
  /** `range`: a RangeError, bad input refused before any transaction, as without the thread. */
  | { id: number; error: string; range?: true };

/** Without appends for this long, the staged name rows are merged however few they are. */
const IDLE_MERGE_MS = 1000;

const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs?: number };
const store = new SqliteStore(path, { busyTimeoutMs });
const port = parentPort!;

function reply(id: number, o: GroupOutcome): AppendReply {
  if ('ok' in o) return { id, ok: o.ok };
  const e = o.err;
  if (e instanceof ConcurrencyError) return { id, concurrency: { zone: e.zone, expected: e.expected, actual: e.actual } };
  return e instanceof RangeError ? { id, error: e.message, range: true } : { id, error: (e as Error).message };
}

/**
 * Merges the staged name rows (see MIGRATIONS step 3) one step per turn, so an append waits at
 * most for one step. A failure leaves them staged, where searches still find them, and the next
 * append or pause tries again.
 */
let stepping = false;
function mergeSteps(): void {
  if (stepping) return;
  stepping = true;
  setImmediate(function step() {
    try {
      if (store.mergeNamesStep()) return void setImmediate(step);
    } catch (e) {
      warnMergeFailed(e);
    }
    stepping = false;
  });
}

const idle = setTimeout(() => {
  if (store.stagedNames > 0 || store.merging) mergeSteps();
}, IDLE_MERGE_MS);
idle.unref();

// node:sqlite is synchronous, so requests queue here while a commit syncs. Everything waiting
// when a commit ends goes into the next transaction together, in arrival order, so under load
// one sync covers several batches instead of one each.
port.on('message', (first: AppendRequest) => {
  const requests = [first];
  for (let m; (m = receiveMessageOnPort(port)); ) requests.push(m.message as AppendRequest);
  const group: (GroupAppend & { id: number })[] = [];
  for (const r of requests) {
    try {
      group.push({ id: r.id, zone: r.zone, rows: eventInserts(r.zone, r.events), expected: r.expected, after: r.after });
    } catch (e) {
      port.postMessage(reply(r.id, { err: e }));
    }
  }
  const outcomes = group.length > 0 ? store.appendGroup(group) : [];
  for (let i = 0; i < group.length; i++) port.postMessage(reply(group[i].id, outcomes[i]));
  // After the answers, and after any request that came meanwhile: never ahead of an append.
  if (store.stagedNames >= MERGE_NAMES_AT || store.merging) mergeSteps();
  idle.refresh();
});
