// Bytes kept for long (a zone's rdata, compiled answers), copied so they hold no more memory than their own.
//
// Buffer.from and Buffer.allocUnsafe cut small buffers from a shared 8 KiB pool, and a slice
// kept keeps its whole pool alive, with everything else that was cut from it meanwhile: an
// update's few kept octets would hold the pool its decoding and answer used.

/** A copy in memory of its own: for a few bytes kept among much that is not. */
export function ownCopy(bytes: Uint8Array): Buffer {
  const b = Buffer.allocUnsafeSlow(bytes.length);
  b.set(bytes);
  return b;
}

/**
 * Copies for many small buffers made together and kept about as long as each other (the answers
 * compiled ahead of traffic): side by side in chunks that hold nothing else, so they cost their
 * own size and not a pool each. A chunk lives while any copy in it does.
 */
export class Packed {
  private chunk = Buffer.allocUnsafeSlow(0);
  private used = 0;
  private readonly chunkSize: number;

  constructor(chunkSize = 64 * 1024) {
    this.chunkSize = chunkSize;
  }

  copy(bytes: Uint8Array): Buffer {
    if (bytes.length > this.chunkSize / 8) return ownCopy(bytes);
    if (this.used + bytes.length > this.chunk.length) {
      this.chunk = Buffer.allocUnsafeSlow(this.chunkSize);
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + bytes.length);
    out.set(bytes);
    this.used += bytes.length;
    return out;
  }
}
