// Growable output buffer for DNS messages, with RFC 1035 §4.1.4 name compression.

import { WireError } from './errors.ts';
import { nameLabels, type Name } from './name.ts';

const MAX_POINTER = 0x3fff;

export class WireWriter {
  buf: Buffer;
  len = 0;
  /**
   * Suffix text → offset of its first occurrence. Keys keep their case, so compression never
   * changes the case of a later name (RFC 4343 asks that case be preserved).
   */
  private readonly table: Map<string, number> | null;

  constructor(compress = true, initial = 512) {
    this.buf = Buffer.allocUnsafe(initial);
    this.table = compress ? new Map() : null;
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v & 0xff;
  }

  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, this.len);
    this.len += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  /** A 48-bit unsigned integer (TSIG time signed). */
  u48(v: number): void {
    this.u16(Math.floor(v / 0x100000000));
    this.u32(v % 0x100000000);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  setU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }

  /**
   * Writes a name. With `compress`, the longest suffix already written becomes a pointer. With
   * `remember`, the suffixes written here become targets for later names.
   */
  name(name: Name, compress = true, remember = true): void {
    const labels = nameLabels(name);
    const table = this.table;
    let suffixes: string[] | null = null;
    if (table !== null) {
      suffixes = new Array<string>(labels.length);
      let s = '.';
      for (let i = labels.length - 1; i >= 0; i--) {
        s = s === '.' ? labels[i] + '.' : labels[i] + '.' + s;
        suffixes[i] = s;
      }
    }
    for (let i = 0; i < labels.length; i++) {
      if (table !== null && suffixes !== null) {
        if (compress) {
          const at = table.get(suffixes[i]);
          if (at !== undefined) {
            this.u16(0xc000 | at);
            return;
          }
        }
        if (remember && this.len <= MAX_POINTER && !table.has(suffixes[i])) table.set(suffixes[i], this.len);
      }
      this.label(labels[i]);
    }
    this.u8(0);
  }

  private label(text: string): void {
    if (!text.includes('\\')) {
      this.room(text.length + 1);
      this.buf[this.len++] = text.length;
      for (let i = 0; i < text.length; i++) this.buf[this.len++] = text.charCodeAt(i);
      return;
    }
    const start = this.len;
    this.u8(0);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0x30 && d <= 0x39) {
          this.u8(Number(text.slice(i + 1, i + 4)));
          i += 3;
        } else {
          this.u8(d);
          i += 1;
        }
      } else this.u8(c);
    }
    const n = this.len - start - 1;
    if (n > 63) throw new WireError('bad-name', `label "${text}" longer than 63 octets`);
    this.buf[start] = n;
  }

  /** The bytes written so far (a view, valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** A copy of the bytes written so far. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** Bounds-checked big-endian reads over a message, throwing WireError('truncated'). */
export class WireReader {
  readonly msg: Uint8Array;
  readonly view: DataView;
  pos: number;
  constructor(msg: Uint8Array, pos = 0) {
    this.msg = msg;
    this.view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    this.pos = pos;
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.msg.length) throw new WireError('truncated', `${what} at offset ${this.pos} needs ${n} octets, ${this.msg.length - this.pos} left`);
  }
  u8(what = 'octet'): number {
    this.need(1, what);
    return this.msg[this.pos++];
  }
  u16(what = '16-bit field'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what = '32-bit field'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  u48(what = '48-bit field'): number {
    const hi = this.u16(what);
    return hi * 0x100000000 + this.u32(what);
  }
  bytes(n: number, what = 'field'): Uint8Array {
    this.need(n, what);
    const b = this.msg.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}
