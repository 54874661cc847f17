// The SQLite append thread: takes appends off the main thread, so an fsync never stalls queries.

import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ConcurrencyError, type AppendResult, type ExpectedVersion } from './port.ts';
import { MERGE_NAMES_AT, SqliteStore, warnMergeFailed, type GroupAppend, type GroupOutcome } from './sqlite.ts';

export interface AppendRequest extends GroupAppend {
  id: number;
}

export type AppendReply =
  | { id: number; ok: AppendResult }
  | { id: number; concurrency: { zone: string; expected: ExpectedVersion; actual: number } }
  | { id: number; error: string };

/** Without appends for this long, the staged name rows are merged however few they are. */
const IDLE_MERGE_MS = 1000;

const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs?: number };
const store = new SqliteStore(path, { busyTimeoutMs });
const port = parentPort!;

function reply(id: number, o: GroupOutcome): AppendReply {
  if ('ok' in o) return { id, ok: o.ok };
  const e = o.err;
  return e instanceof ConcurrencyError
    ? { id, concurrency: { zone: e.zone, expected: e.expected, actual: e.actual } }
    : { id, error: (e as Error).message };
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
  const group = [first];
  for (let m; (m = receiveMessageOnPort(port)); ) group.push(m.message as AppendRequest);
  const outcomes = store.appendGroup(group);
  for (let i = 0; i < group.length; i++) port.postMessage(reply(group[i].id, outcomes[i]));
  // After the answers, and after any request that came meanwhile: never ahead of an append.
  if (store.stagedNames >= MERGE_NAMES_AT || store.merging) mergeSteps();
  idle.refresh();
});
