// Structured logs (pino): one JSON line per event that matters, to stderr unless told otherwise.

import { pino, type Logger } from 'pino';

export type { Logger };

export function makeLogger(name: string, opts: { level?: string; destination?: number | string } = {}): Logger {
  const level = opts.level ?? process.env.ZONELOG_LOG_LEVEL ?? 'info';
  return pino({ name, level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: opts.destination ?? 2, sync: true }));
}
