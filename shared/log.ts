// Structured logs (pino): one JSON line per event that matters, to stderr unless told otherwise.

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * `sync: false` (for the server) writes lines in the background, so a burst of updates costs one
 * write per burst, not one blocking write per line; the lines still go out in order, and within
 * milliseconds. Flush before exiting. Commands keep synchronous writes.
 */
export function makeLogger(name: string, opts: { level?: string; destination?: number | string; sync?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.ZONELOG_LOG_LEVEL ?? 'info';
  return pino({ name, level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: opts.destination ?? 2, sync: opts.sync ?? true }));
}
