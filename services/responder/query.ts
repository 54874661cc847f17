// Answers queries: a fast path over cached wire answers, and the full path for everything else.

import { Opcode, Rcode, Type } from '../../shared/dns/constants.ts';
import { decodeMessage, encodeMessage, emptyMessage, type Decoded, type Message } from '../../shared/dns/message.ts';
import { nameKey, nameToWire, parentName, readName, type Name } from '../../shared/dns/name.ts';
import { ownCopy, Packed } from '../../shared/dns/kept.ts';
import { appendUnsignedTsig, nowSeconds, signMessage, verifyMessage, type Keyring, type TsigKey } from '../../shared/dns/tsig.ts';
import { OUR_UDP_SIZE, buildAnswer, truncatedCopy, type QueryEdns } from './answer.ts';
import type { CacheEntry, LiveZone } from '../projector/live-zone.ts';
import { MessageStream, type Answer } from './stream.ts';

export type Transport = 'udp' | 'tcp';

/** Where a request came from. */
export interface Peer {
  address: string;
  port: number;
  transport: Transport;
}

/** Handles what is not a plain query (UPDATE, NOTIFY, AXFR and IXFR): the primary and secondary services. */
export type OtherHandler = (m: Decoded, peer: Peer) => Promise<Answer> | Answer;


/** Cached entries beyond this are dropped wholesale; a busy zone refills what it needs. */
const MAX_CACHE = 1_000_000;

/** What the fast path could not take: a message for the full decoder. */
const FULL = Symbol('full');
const DO: QueryEdns = { do: true };
const NO_DO: QueryEdns = { do: false };
const EMPTY = Buffer.alloc(0);

/** FNV-1a over the first n octets: the same hash the fast path computes as it reads a question. */
function fnv1a(s: Uint8Array, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ s[i], 0x01000193);
  return h;
}

function sameKey(key: Buffer, s: Buffer, n: number): boolean {
  if (key.length !== n) return false;
  for (let i = 0; i < n; i++) if (key[i] !== s[i]) return false;
  return true;
}

export class Responder {
  /** The zones served, by lower-case origin: the live projection's own map. */
  private readonly zones: ReadonlyMap<string, LiveZone>;
  private readonly cache = new Map<number, CacheEntry>();
  /** Responses by RCODE (low 4 bits) since the last takeCounts(): counted inline, the hot path's only bookkeeping. */
  private readonly byRcode = new Float64Array(16);
  private readonly scratch = Buffer.allocUnsafe(300);
  /** Messages seen, wrapping: warm() watches it to give way to traffic. */
  private seen = 0;
  keys: Keyring;
  other: OtherHandler | null;

  constructor(zones: ReadonlyMap<string, LiveZone>, keys: Keyring, other: OtherHandler | null = null) {
    this.zones = zones;
    this.keys = keys;
    this.other = other;
  }

  /** Answers in the cache. */
  get cached(): number {
    return this.cache.size;
  }

  /** Call when a zone appears or goes: a cached answer may belong to another zone now. */
  clearCache(): void {
    this.cache.clear();
  }

  /** The zone with the longest origin containing `key` (a lower-case name). */
  zoneFor(key: string): LiveZone | undefined {
    for (let k = key; ; k = parentName(k)) {
      const z = this.zones.get(k);
      if (z) return z;
      if (k === '.') return undefined;
    }
  }

  /**
   * Answers one message. Returns the response, or null to stay silent (a response, or fewer than
   * 12 octets: nothing to answer to). Plain queries never leave the synchronous fast path.
   */
  handle(msg: Buffer, peer: Peer): Answer | Promise<Answer> {
    const fast = this.fast(msg, peer.transport === 'tcp');
    return fast === FULL ? this.full(msg, peer) : (fast as Buffer | null);
  }

  /**
   * The UDP fast path alone: an answer, null for silence, or undefined for the full path. Given
   * `dst`, an answer that fits is written there at `at` instead, and its length returned.
   */
  readonly udpFast = (msg: Buffer, dst?: Buffer, at?: number): Buffer | number | null | undefined => {
    const r = this.fast(msg, false, dst, at);
    return r === FULL ? undefined : r;
  };

  /** Responses by RCODE since the last call, and the counts reset. */
  takeCounts(): number[] {
    const out = [...this.byRcode];
    this.byRcode.fill(0);
    return out;
  }

  /**
   * A QUERY with one question, no records but an optional OPT, and an uncompressed name: the
   * shape of nearly every query. Its answer comes from the cache with the ID, RD, CD and the
   * question's spelling copied in, so 0x20 case is echoed without re-encoding.
   */
  private fast(msg: Buffer, tcp: boolean, dst?: Buffer, dstAt = 0): Buffer | number | null | typeof FULL {
    const len = msg.length;
    this.seen = (this.seen + 1) | 0;
    if (len < 12) return null;
    const f2 = msg[2];
    if ((f2 & 0x80) !== 0) return null;
    if ((f2 & 0x78) !== 0 || msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0 || msg[11] > 1) return FULL;
    const s = this.scratch;
    let p = 12;
    let n = 0;
    // FNV-1a over the lower-cased name, type, class and variant: the cache is keyed by number,
    // and an entry keeps its key octets to tell a collision from a hit.
    let h = 0x811c9dc5;
    for (;;) {
      if (p >= len) return FULL;
      const l = msg[p];
      if (l === 0) break;
      if (l > 63 || p + l + 1 > len || n + l + 1 > 255) return FULL;
      s[n++] = l;
      h = Math.imul(h ^ l, 0x01000193);
      for (let i = p + 1, end = p + 1 + l; i < end; i++) {
        let c = msg[i];
        if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        s[n++] = c;
        h = Math.imul(h ^ c, 0x01000193);
      }
      p += l + 1;
    }
    const qnameEnd = p + 1;
    if (qnameEnd + 4 > len) return FULL;
    const qtype = (msg[qnameEnd] << 8) | msg[qnameEnd + 1];
    const qclass = (msg[qnameEnd + 2] << 8) | msg[qnameEnd + 3];
    if (qtype === Type.AXFR || qtype === Type.IXFR || qtype === Type.OPT || qtype === Type.TSIG || qtype === 0) return FULL;
    let edns: QueryEdns | null = null;
    let limit = 512;
    const at = qnameEnd + 4;
    if (msg[11] === 1) {
      // OPT: root owner, type 41, then class = payload size, TTL = ext-rcode/version/flags.
      if (at + 11 > len || msg[at] !== 0 || msg[at + 1] !== 0 || msg[at + 2] !== 41 || msg[at + 6] !== 0) return FULL;
      if (at + 11 + ((msg[at + 9] << 8) | msg[at + 10]) !== len) return FULL;
      edns = (msg[at + 7] & 0x80) !== 0 ? DO : NO_DO;
      limit = Math.min(Math.max(512, (msg[at + 3] << 8) | msg[at + 4]), OUR_UDP_SIZE);
    } else if (at !== len) return FULL;
    s[n++] = 0;
    s[n++] = qtype >> 8;
    s[n++] = qtype & 0xff;
    s[n++] = qclass >> 8;
    s[n++] = qclass & 0xff;
    s[n++] = (tcp && qtype === Type.ANY ? 4 : 0) | (edns ? (edns.do ? 2 : 1) : 0);
    for (let i = n - 6; i < n; i++) h = Math.imul(h ^ s[i], 0x01000193);
    let e = this.cache.get(h);
    if (e === undefined || !sameKey(e.key, s, n) || !e.zone.fresh(e)) {
      const made = this.compile(msg, qnameEnd, qtype, qclass, edns, tcp);
      if (made === null) return FULL;
      // Kept until a change drops it: in memory of its own (see ownCopy), as is its wire.
      made.key = ownCopy(s.subarray(0, n));
      e = made;
      if (this.cache.size >= MAX_CACHE) this.cache.clear();
      this.cache.set(h, e);
    }
    if (e.zone.expired) return headerReply(msg, Rcode.SERVFAIL);
    let src = e.wire;
    // Over TCP the only limit is the 2-octet frame length; past it, TC as over UDP.
    if (src.length > (tcp ? 0xffff : limit)) src = e.truncated ??= truncatedCopy(e.wire, e.questionEnd, edns);
    // Straight into the caller's buffer if it has room (batched UDP), else a buffer of its own.
    const into = dst !== undefined && dstAt + src.length <= dst.length;
    const out = into ? dst : Buffer.allocUnsafe(src.length);
    const o = into ? dstAt : 0;
    src.copy(out, o);
    out[o] = msg[0];
    out[o + 1] = msg[1];
    out[o + 2] = (out[o + 2] & 0xfe) | (f2 & 0x01);
    out[o + 3] = (out[o + 3] & 0xef) | (msg[3] & 0x10);
    msg.copy(out, o + 12, 12, qnameEnd);
    this.byRcode[out[o + 3] & 0xf]++;
    return into ? src.length : out;
  }

  /**
   * Compiles, ahead of traffic, the answers every name of a zone is sure to be asked for: its
   * own types, plain UDP without EDNS, as the fast path keys them. Background work that gives way
   * to traffic: slices of `sliceMs` back to back while the server is idle, but while messages
   * are arriving only one short slice per `busyGapMs`, since a miss compiles its answer anyway
   * and updates must not share the CPU with a warm-up. Stops if the zone was replaced or the
   * cache is half full. Resolves with the number compiled.
   */
  async warm(zone: LiveZone, sliceMs = 5, busyGapMs = 50): Promise<number> {
    const index = zone.index;
    const s = Buffer.allocUnsafe(300);
    // Keys and answers side by side in chunks of their own, not each holding a pool (see kept.ts).
    const pack = new Packed();
    let n = 0;
    const nodes = index.zone.nodes.values();
    let seen = this.seen;
    for (;;) {
      const busy = this.seen !== seen;
      const until = performance.now() + (busy ? Math.min(1, sliceMs) : sliceMs);
      for (;;) {
        const next = nodes.next();
        if (next.done || zone.index !== index || this.cache.size >= MAX_CACHE / 2) return n;
        const node = next.value;
        const wire = nameToWire(nameKey(node.name));
        if (wire.length > 255) continue;
        for (const set of node.rrsets.values()) {
          if (set.type === Type.RRSIG) continue;
          // The fast path's key: the name's labels, then 0 (the root), type, class, variant 0.
          s.set(wire, 0);
          let k = wire.length - 1;
          s[k++] = 0;
          s[k++] = set.type >> 8;
          s[k++] = set.type & 0xff;
          s[k++] = set.class >> 8;
          s[k++] = set.class & 0xff;
          s[k++] = 0;
          const h = fnv1a(s, k);
          if (this.cache.has(h)) continue;
          const b = buildAnswer(index, nameKey(node.name), set.type, set.class, { edns: null, tcp: false });
          this.cache.set(h, { key: pack.copy(s.subarray(0, k)), zone, wire: pack.copy(b.wire), truncated: null, questionEnd: b.questionEnd, rcode: b.rcode, deps: b.deps, generation: zone.generation });
          n++;
        }
        if (performance.now() > until) break;
      }
      seen = this.seen;
      // Whatever arrives before the next slice (messages are handled only between slices) makes it a short one.
      await new Promise((r) => (busy ? setTimeout(r, busyGapMs) : setImmediate(r)));
    }
  }

  private compile(msg: Buffer, qnameEnd: number, qtype: number, qclass: number, edns: QueryEdns | null, tcp: boolean): CacheEntry | null {
    let qname: Name;
    try {
      qname = readName(msg, 12, false)[0];
    } catch {
      return null;
    }
    const zone = this.zoneFor(nameKey(qname));
    if (!zone || qclass !== zone.index.zone.class) return null;
    const b = buildAnswer(zone.index, qname, qtype, qclass, { edns, tcp });
    if (b.questionEnd !== qnameEnd + 4) return null;
    return { key: EMPTY, zone, wire: ownCopy(b.wire), truncated: null, questionEnd: b.questionEnd, rcode: b.rcode, deps: b.deps, generation: zone.generation };
  }

  /** Everything else: decoded whole, so every malformation gets FORMERR and TSIG is checked. */
  private async full(msg: Buffer, peer: Peer): Promise<Answer> {
    const reply = await this.fullReply(msg, peer);
    if (reply instanceof MessageStream) this.byRcode[Rcode.NOERROR]++;
    else if (reply !== null) this.byRcode[reply[3] & 0xf]++;
    return reply;
  }

  private async fullReply(msg: Buffer, peer: Peer): Promise<Answer> {
    const r = decodeMessage(msg);
    if (!r.ok) return headerReply(msg, Rcode.FORMERR);
    const m = r.value;
    if (m.qr) return null;
    if (m.edns && m.edns.version !== 0) {
      return encodeMessage(reply(m, { rcode: Rcode.BADVERS, question: m.question.slice(0, 1), edns: ourEdns(m) }));
    }
    if (m.opcode === Opcode.QUERY) {
      const t = m.question.length === 1 ? m.question[0].type : 0;
      if (this.other && (t === Type.AXFR || t === Type.IXFR)) return this.other(m, peer);
      return this.query(m, peer);
    }
    if (this.other && (m.opcode === Opcode.UPDATE || m.opcode === Opcode.NOTIFY)) return this.other(m, peer);
    return encodeMessage(reply(m, { rcode: Rcode.NOTIMP, question: m.question.slice(0, 1), edns: ourEdns(m) }));
  }

  private query(m: Decoded, peer: Peer): Buffer | null {
    if (m.question.length !== 1 || m.answer.length > 0 || m.authority.length > 0) {
      return encodeMessage(reply(m, { rcode: Rcode.FORMERR, edns: ourEdns(m) }));
    }
    const q = m.question[0];
    const t = checkRequestTsig(m, this.keys);
    if (!t.ok) return t.refusal;
    const key = t.key;
    let wire: Buffer;
    const zone = this.zoneFor(nameKey(q.name));
    if (q.type === Type.AXFR || q.type === Type.IXFR) {
      wire = encodeMessage(reply(m, { rcode: zone ? Rcode.NOTIMP : Rcode.REFUSED, question: [q], edns: ourEdns(m) }));
    } else if (!zone || q.class !== zone.index.zone.class || q.type === Type.OPT || q.type === Type.TSIG || q.type === 0) {
      wire = encodeMessage(reply(m, { rcode: zone && q.class === zone.index.zone.class ? Rcode.FORMERR : Rcode.REFUSED, question: [q], edns: ourEdns(m) }));
    } else if (zone.expired) {
      wire = encodeMessage(reply(m, { rcode: Rcode.SERVFAIL, question: [q], edns: ourEdns(m) }));
    } else {
      const edns = m.edns ? { do: (m.edns.flags & 0x8000) !== 0 } : null;
      const b = buildAnswer(zone.index, q.name, q.type, q.class, { edns, tcp: peer.transport === 'tcp' });
      wire = b.wire;
      wire.writeUInt16BE(m.id, 0);
      wire[2] |= m.rd ? 1 : 0;
      wire[3] |= m.cd ? 0x10 : 0;
      const limit = m.edns ? Math.min(Math.max(512, m.edns.udpSize), OUR_UDP_SIZE) : 512;
      // Leave room for the TSIG record when deciding whether a UDP answer fits.
      const room = key ? 100 + key.name.length + key.algorithm.name.length + key.algorithm.size : 0;
      if (wire.length + room > (peer.transport === 'udp' ? limit : 0xffff)) wire = truncatedCopy(wire, b.questionEnd, edns);
    }
    return t.sign(wire);
  }
}

/** A request's TSIG checked (RFC 8945 §5.2): the key and a signer for the answer, or the refusal to send. */
export type RequestTsig =
  | { ok: true; key: TsigKey | null; sign(wire: Buffer): Buffer }
  | { ok: false; rcode: number; reason: string; refusal: Buffer };

export function checkRequestTsig(m: Decoded, keys: Keyring): RequestTsig {
  if (!m.tsig) return { ok: true, key: null, sign: (wire) => wire };
  const v = verifyMessage(m, keys);
  if (!v.ok) return { ok: false, rcode: v.rcode, reason: `TSIG ${v.failure}: ${v.detail}`, refusal: tsigRefusal(m, v) };
  const mac = m.tsig.mac;
  return { ok: true, key: v.key, sign: (wire) => signMessage(wire, v.key, { requestMac: mac }).wire };
}

/** The OPT to answer with when the query had one. */
export function ourEdns(m: Message): Message['edns'] {
  return m.edns ? { udpSize: OUR_UDP_SIZE, version: 0, flags: m.edns.flags & 0x8000, options: [] } : null;
}

/** A response skeleton for a request: same ID, opcode, RD and CD. */
export function reply(m: Message, fields: Partial<Message>): Message {
  return emptyMessage({ id: m.id, qr: true, opcode: m.opcode, rd: m.rd, cd: m.cd, ...fields });
}

/**
 * An answer of the bare header with `rcode` and no sections: for a message that would not decode
 * (FORMERR) or whose handling failed (SERVFAIL). Nothing for a response, or a header too short
 * to answer to.
 */
export function headerReply(msg: Buffer, rcode: number): Buffer | null {
  if (msg.length < 12 || (msg[2] & 0x80) !== 0) return null;
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 4);
  out[2] = 0x80 | (msg[2] & 0x79);
  out[3] = rcode;
  return out;
}

/**
 * The answer to a request whose TSIG failed (RFC 8945 §5.2): NOTAUTH with the TSIG error. BADKEY
 * and BADSIG answers are unsigned; BADTIME is signed and carries our time.
 */
export function tsigRefusal(m: Decoded, v: Exclude<ReturnType<typeof verifyMessage>, { ok: true }>): Buffer {
  if (v.failure === 'FORMERR' || v.failure === 'UNSIGNED' || !m.tsig) return encodeMessage(reply(m, { rcode: Rcode.FORMERR, question: m.question.slice(0, 1) }));
  const base = encodeMessage(reply(m, { rcode: Rcode.NOTAUTH, question: m.question.slice(0, 1) }));
  return tsigErrorWire(base, m, v);
}

function tsigErrorWire(base: Buffer, m: Decoded, v: Exclude<ReturnType<typeof verifyMessage>, { ok: true }>): Buffer {
  if (v.key && v.failure === 'BADTIME') {
    // Our clock goes in Other Data so the client can see how far apart we are (RFC 8945 §5.2.3).
    const now = nowSeconds();
    const other = Buffer.alloc(6);
    other.writeUInt16BE(Math.floor(now / 0x100000000), 0);
    other.writeUInt32BE(now % 0x100000000, 2);
    return signMessage(base, v.key, { requestMac: m.tsig!.mac, error: v.tsigError, other, time: m.tsig!.timeSigned }).wire;
  }
  return appendUnsignedTsig(base, m.tsig!, v.tsigError);
}

