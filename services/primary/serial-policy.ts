// The SOA serial a change gets under the zone's serial policy: increment, unixtime or dateserial.

import { compareSerial, serialNext } from '../../shared/dns/serial.ts';
import type { SerialPolicy } from '../config/types.ts';

/**
 * The serial after `current` for one change made at `now`. Every policy yields a serial newer
 * than `current` in RFC 1982 space, so secondaries always see the change, and never 0.
 *
 * - increment: current + 1 (wrapping past 2^32 - 1 to 1).
 * - unixtime: the seconds since 1970 at `now`, if that is newer than `current`; otherwise
 *   current + 1 (several changes within one second, or a clock behind the zone).
 * - dateserial: YYYYMMDD00 of `now`'s UTC date, if that is newer than `current`; otherwise
 *   current + 1. As in BIND, the 100th change of a day overflows into the next day's numbers
 *   (2026112299 → 2026112300), and later days then count on from there until their own
 *   YYYYMMDD00 catches up. A serial already ahead of today (say, set by hand to a future date,
 *   or a unixtime serial) simply increments.
 *
 * The date is UTC so that every server sharing a store computes the same serial.
 */
export function nextSerial(policy: SerialPolicy, current: number, now: Date): number {
  switch (policy) {
    case 'increment':
      return serialNext(current);
    case 'unixtime':
      return newerOrNext(Math.floor(now.getTime() / 1000), current);
    case 'dateserial':
      return newerOrNext(now.getUTCFullYear() * 1_000_000 + (now.getUTCMonth() + 1) * 10_000 + now.getUTCDate() * 100, current);
  }
}

function newerOrNext(candidate: number, current: number): number {
  // Only a candidate inside 32 bits can be a serial; a clock that far off falls back to counting.
  if (Number.isInteger(candidate) && candidate > 0 && candidate <= 0xffffffff && compareSerial(candidate, current) === 'gt') return candidate;
  return serialNext(current);
}
