// Serial policies: increment, unixtime and dateserial, each always newer in RFC 1982 space and never 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareSerial } from '../../../shared/dns/serial.ts';
import { nextSerial } from '../../../services/primary/serial-policy.ts';

const at = (iso: string) => new Date(iso);
const noon = at('2026-11-22T12:00:00Z');

describe('serial policies', () => {
  it('increment adds one, and wraps past 2^32 - 1 to 1, never 0', () => {
    assert.equal(nextSerial('increment', 2026112201, noon), 2026112202);
    assert.equal(nextSerial('increment', 0xfffffffe, noon), 0xffffffff);
    assert.equal(nextSerial('increment', 0xffffffff, noon), 1);
  });

  it('increment ignores the clock', () => {
    assert.equal(nextSerial('increment', 5, at('1970-01-01T00:00:00Z')), 6);
    assert.equal(nextSerial('increment', 5, at('2100-01-01T00:00:00Z')), 6);
  });

  it('unixtime uses the seconds since 1970 when that is newer', () => {
    assert.equal(nextSerial('unixtime', 1795000000, at('2026-11-22T12:00:00.999Z')), 1795348800);
    assert.equal(nextSerial('unixtime', 1, noon), 1795348800);
  });

  it('unixtime counts on by one for a second change within the same second', () => {
    const first = nextSerial('unixtime', 1, noon);
    assert.equal(nextSerial('unixtime', first, at('2026-11-22T12:00:00.500Z')), first + 1);
  });

  it('unixtime counts on by one when the zone is ahead of the clock', () => {
    assert.equal(nextSerial('unixtime', 1795348900, noon), 1795348901);
  });

  it('dateserial starts a new day at YYYYMMDD00', () => {
    assert.equal(nextSerial('dateserial', 2026112105, noon), 2026112200);
    assert.equal(nextSerial('dateserial', 1, noon), 2026112200);
    // A zone moving from unixtime (1.79e9 today) to dateserial (2.03e9) jumps forward.
    assert.equal(nextSerial('dateserial', 1795348800, noon), 2026112200);
  });

  it('dateserial counts changes within a day in the last two digits', () => {
    assert.equal(nextSerial('dateserial', 2026112200, noon), 2026112201);
    assert.equal(nextSerial('dateserial', 2026112241, noon), 2026112242);
  });

  it('dateserial overflows into the next day after 99 changes, and the next day counts on from there', () => {
    assert.equal(nextSerial('dateserial', 2026112299, noon), 2026112300);
    assert.equal(nextSerial('dateserial', 2026112300, noon), 2026112301);
    const nextDay = at('2026-11-23T08:00:00Z');
    assert.equal(nextSerial('dateserial', 2026112301, nextDay), 2026112302);
    assert.equal(nextSerial('dateserial', 2026112301, at('2026-11-24T08:00:00Z')), 2026112400);
  });

  it('dateserial just increments a serial already ahead of today', () => {
    assert.equal(nextSerial('dateserial', 2030010100, noon), 2030010101);
    // 3e9 is ahead of 2026112200 in RFC 1982 space (less than 2^31 behind it going forward).
    assert.equal(nextSerial('dateserial', 3_000_000_000, noon), 3_000_000_001);
  });

  it('dateserial takes the UTC date, so every server on a shared store agrees', () => {
    assert.equal(nextSerial('dateserial', 1, at('2026-11-22T23:30:00-05:00')), 2026112300);
    assert.equal(nextSerial('dateserial', 1, at('2026-01-01T00:30:00+01:00')), 2025123100);
  });

  it('a clock value exactly 2^31 from the serial (incomparable) is not used; the serial counts on', () => {
    const t = 1795348800;
    const current = (t + 0x80000000) % 0x100000000;
    assert.equal(compareSerial(t, current), 'incomparable');
    assert.equal(nextSerial('unixtime', current, noon), current + 1);
  });

  it('every policy yields a serial newer than the current one, across the whole serial space', () => {
    for (const policy of ['increment', 'unixtime', 'dateserial'] as const) {
      for (let current = 0; current <= 0xffffffff; current += 0x0fffffff) {
        const next = nextSerial(policy, current, noon);
        assert.equal(compareSerial(next, current), 'gt', `${policy} after ${current}: ${next}`);
        assert.notEqual(next, 0);
      }
    }
    // At the epoch the clock gives 0, which is never a serial.
    assert.equal(nextSerial('unixtime', 0xffffffff, at('1970-01-01T00:00:00Z')), 1);
  });
});
