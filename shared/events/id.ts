// Event ids: UUIDv7 (RFC 9562), time-ordered so ids sort the way events happened.

import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let seq = 0;
// Random octets drawn in bulk: one system call per 512 ids instead of one per id.
const pool = Buffer.alloc(4096);
let used = pool.length;

export function uuidv7(now = Date.now()): string {
  // Within one millisecond a counter in rand_a keeps ids from one process increasing.
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff;
    if (seq === 0) lastMs++;
    now = lastMs;
  } else {
    lastMs = now;
    seq = 0;
  }
  if (used + 8 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const b = Buffer.allocUnsafe(16);
  pool.copy(b, 8, used, used + 8);
  used += 8;
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
