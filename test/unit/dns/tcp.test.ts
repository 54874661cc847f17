// TCP framing: a stream split anywhere yields the same messages in the same order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameDecoder, frame } from '../../../shared/dns/tcp.ts';

describe('DNS over TCP framing', () => {
  it('returns every message of a chunk, and messages that span chunks', () => {
    const msgs = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(70000 - 70000 + 600, 7), Buffer.from('last')];
    const stream = Buffer.concat(msgs.map(frame));
    for (const cut of [1, 2, 3, 7, 100, stream.length]) {
      const d = new FrameDecoder();
      const got: Buffer[] = [];
      for (let o = 0; o < stream.length; o += cut) got.push(...d.push(stream.subarray(o, o + cut)).map((b) => Buffer.from(b)));
      assert.deepEqual(got, msgs, `chunks of ${cut}`);
      assert.equal(d.pending, 0);
    }
  });

  it('refuses to frame a message longer than 65535 octets', () => {
    assert.throws(() => frame(Buffer.alloc(65536)), /does not fit/);
  });
});
