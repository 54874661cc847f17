// RFC 1982 serial number arithmetic for SOA serials, including the incomparable case.

export type SerialOrder = 'lt' | 'eq' | 'gt' | 'incomparable';

const HALF = 0x80000000;
const MOD = 0x100000000;

/**
 * Orders two 32-bit serials. Two serials exactly 2^31 apart are incomparable (RFC 1982 §3.2):
 * we say so rather than guess, where NSD and PowerDNS each pick a side.
 */
export function compareSerial(a: number, b: number): SerialOrder {
  a >>>= 0;
  b >>>= 0;
  if (a === b) return 'eq';
  const d = (b - a + MOD) % MOD;
  if (d === HALF) return 'incomparable';
  return d < HALF ? 'lt' : 'gt';
}

export function serialLt(a: number, b: number): boolean {
  return compareSerial(a, b) === 'lt';
}

export function serialGt(a: number, b: number): boolean {
  return compareSerial(a, b) === 'gt';
}

/** s + n in serial space; n must be in [0, 2^31 - 1] (RFC 1982 §3.1). */
export function serialAdd(s: number, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > HALF - 1) throw new RangeError(`serial increment ${n} outside [0, 2^31-1]`);
  return ((s >>> 0) + n) % MOD;
}

/**
 * The next serial after `s`, skipping 0: some implementations treat serial 0 as "unset", so we
 * never produce it (FIELD.md; BIND does the same in its serial update methods).
 */
export function serialNext(s: number, step = 1): number {
  const n = serialAdd(s, step);
  return n === 0 ? 1 : n;
}
