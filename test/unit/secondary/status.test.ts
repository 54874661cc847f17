// What `zonelog status` counts as needing an operator's look.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { needsChecking } from '../../../services/secondary/secondary.ts';

describe('zone status', () => {
  const ok = '2026-12-02T17:41:15.400Z';
  it('a fresh zone, or one in a routine check after a good one, needs no look', () => {
    assert.equal(needsChecking({ state: 'fresh', lastSuccess: ok, lastError: null }), false);
    assert.equal(needsChecking({ state: 'refreshing', lastSuccess: ok, lastError: null }), false);
    // A primary zone's line: fresh, with no secondary fields.
    assert.equal(needsChecking({ state: 'fresh' }), false);
  });
  it('a check after a failed one, a zone never transferred, a stale or an expired zone all need one', () => {
    assert.equal(needsChecking({ state: 'refreshing', lastSuccess: ok, lastError: '127.0.0.1#53: timed out' }), true);
    assert.equal(needsChecking({ state: 'refreshing', lastSuccess: null, lastError: null }), true);
    assert.equal(needsChecking({ state: 'stale', lastSuccess: ok, lastError: 'refused' }), true);
    assert.equal(needsChecking({ state: 'expired', lastSuccess: ok, lastError: 'no primaries' }), true);
  });
});
