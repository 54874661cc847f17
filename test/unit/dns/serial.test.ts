// RFC 1982 serial arithmetic, with the incomparable case and serial 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareSerial, serialAdd, serialGt, serialLt, serialNext } from '../../../shared/dns/serial.ts';

describe('RFC 1982 serial arithmetic', () => {
  it('orders nearby serials, including across the 2^32 wrap', () => {
    assert.equal(compareSerial(1, 2), 'lt');
    assert.equal(compareSerial(2, 1), 'gt');
    assert.equal(compareSerial(7, 7), 'eq');
    assert.equal(compareSerial(0xffffffff, 0), 'lt');
    assert.equal(compareSerial(0xfffffff0, 5), 'lt');
    assert.ok(serialGt(3, 0xfffffffe));
    assert.ok(serialLt(0x7fffffff, 0x80000000));
  });

  it('serials exactly 2^31 apart are incomparable in both directions', () => {
    assert.equal(compareSerial(0, 0x80000000), 'incomparable');
    assert.equal(compareSerial(0x80000000, 0), 'incomparable');
    assert.equal(compareSerial(5, 0x80000005), 'incomparable');
    assert.equal(serialLt(0, 0x80000000), false);
    assert.equal(serialGt(0, 0x80000000), false);
  });

  it('one short of 2^31 apart is still ordered', () => {
    assert.equal(compareSerial(0, 0x7fffffff), 'lt');
    assert.equal(compareSerial(0, 0x80000001), 'gt');
  });

  it('addition wraps and refuses increments of 2^31 or more', () => {
    assert.equal(serialAdd(0xffffffff, 2), 1);
    assert.equal(serialAdd(10, 0x7fffffff), (10 + 0x7fffffff) % 2 ** 32);
    assert.throws(() => serialAdd(1, 0x80000000), RangeError);
    assert.throws(() => serialAdd(1, -1), RangeError);
  });

  it('the next serial skips 0', () => {
    assert.equal(serialNext(0xffffffff), 1);
    assert.equal(serialNext(41), 42);
  });
});
