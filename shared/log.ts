// Structured logs (pino): one JSON line per event that matters, to stderr unless told otherwise.

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * `sync: false` (for the server) buffers lines and writes them in the background, up to 4 KiB
 * at a time, so a burst of updates costs a write per burst, not a blocking write per line; a
 * timer flushes every 100 ms, so a line is never later than that. Flush before exiting.
 * Commands keep synchronous writes.
 */
export function makeLogger(name: string, opts: { level?: string; destination?: number | string; sync?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.ZONELOG_LOG_LEVEL ?? 'info';
  const sync = opts.sync ?? true;
  const log = pino({ name, level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: opts.destination ?? 2, sync, minLength: sync ? 0 : 4096 }));
  if (!sync) setInterval(() => log.flush(), 100).unref();
  return log;
}
