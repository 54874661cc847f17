// DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): a 2-octet length before each message.

import { WireError } from './errors.ts';

export function frame(msg: Uint8Array): Buffer {
  if (msg.length > 0xffff) throw new WireError('too-long', `message of ${msg.length} octets does not fit a TCP frame`);
  const out = Buffer.allocUnsafe(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  out.set(msg, 2);
  return out;
}

/**
 * Splits a TCP byte stream into messages. A chunk may hold many frames and a frame may span
 * chunks; `push` returns every message completed by the chunk, in order.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Uint8Array): Buffer[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    let o = 0;
    while (this.buf.length - o >= 2) {
      const len = this.buf.readUInt16BE(o);
      if (this.buf.length - o - 2 < len) break;
      out.push(this.buf.subarray(o + 2, o + 2 + len));
      o += 2 + len;
    }
    this.buf = this.buf.subarray(o);
    return out;
  }
  /** Octets of an incomplete frame still waiting for the rest. */
  get pending(): number {
    return this.buf.length;
  }
}
