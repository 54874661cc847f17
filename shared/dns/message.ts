// DNS messages (RFC 1035 §4, RFC 2136 §2, RFC 6891, RFC 8945): decode, encode, and section views.

import { Class, Opcode, Type } from './constants.ts';
import { WireError, attempt, type Result } from './errors.ts';
import { readName, type Name } from './name.ts';
import { readRdata, writeRdata } from './rdata.ts';
import { WireReader, WireWriter } from './wire.ts';

export interface Question {
  name: Name;
  type: number;
  class: number;
}

export interface RR {
  name: Name;
  type: number;
  class: number;
  ttl: number;
  rdata: Uint8Array;
}

export interface EdnsOption {
  code: number;
  data: Uint8Array;
}

/** EDNS(0) pseudo-record contents (RFC 6891 §6.1). */
export interface Edns {
  udpSize: number;
  version: number;
  /** The 16 flag bits of the OPT TTL; bit 15 is DO. */
  flags: number;
  options: EdnsOption[];
}

/** A TSIG record (RFC 8945 §4.2). */
export interface Tsig {
  key: Name;
  algorithm: Name;
  timeSigned: number;
  fudge: number;
  mac: Uint8Array;
  originalId: number;
  error: number;
  other: Uint8Array;
}

export interface Message {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** Full RCODE: the header's 4 bits plus OPT's extended 8 bits when EDNS is present. */
  rcode: number;
  /** For UPDATE (RFC 2136 §2.3): the zone section. */
  question: Question[];
  /** For UPDATE: the prerequisite section. */
  answer: RR[];
  /** For UPDATE: the update section. */
  authority: RR[];
  /** Without OPT and TSIG, which are lifted into `edns` and `tsig`. */
  additional: RR[];
  edns: Edns | null;
  tsig: Tsig | null;
}

/** A decoded message with what TSIG verification needs from the original bytes. */
export interface Decoded extends Message {
  /** The bytes the message was decoded from. */
  wire: Uint8Array;
  /** Offset of the TSIG RR in `wire`, or -1. */
  tsigStart: number;
}

export function emptyMessage(fields: Partial<Message> = {}): Message {
  return {
    id: 0, qr: false, opcode: Opcode.QUERY, aa: false, tc: false, rd: false, ra: false, z: false, ad: false, cd: false,
    rcode: 0, question: [], answer: [], authority: [], additional: [], edns: null, tsig: null,
    ...fields,
  };
}

export const HEADER_SIZE = 12;

/** Names the RFC 2136 sections of an UPDATE message. */
export function updateSections(m: Message): { zone: Question[]; prerequisite: RR[]; update: RR[]; additional: RR[] } {
  return { zone: m.question, prerequisite: m.answer, update: m.authority, additional: m.additional };
}

function readTsigRdata(msg: Uint8Array, pos: number, len: number): Tsig {
  const end = pos + len;
  const r = new WireReader(msg, pos);
  const [algorithm, next] = readName(msg, pos);
  r.pos = next;
  const t: Tsig = {
    key: '.', algorithm,
    timeSigned: r.u48('TSIG time'),
    fudge: r.u16('TSIG fudge'),
    mac: new Uint8Array(0), originalId: 0, error: 0, other: new Uint8Array(0),
  };
  t.mac = Buffer.from(r.bytes(r.u16('TSIG MAC size'), 'TSIG MAC'));
  t.originalId = r.u16('TSIG original id');
  t.error = r.u16('TSIG error');
  t.other = Buffer.from(r.bytes(r.u16('TSIG other length'), 'TSIG other data'));
  if (r.pos !== end) throw new WireError('bad-tsig', 'TSIG rdata length does not match its fields');
  return t;
}

/** Wire form of TSIG rdata; the algorithm name is never compressed (RFC 8945 §4.2). */
export function writeTsigRdata(w: WireWriter, t: Tsig): void {
  w.name(t.algorithm, false, false);
  w.u48(t.timeSigned);
  w.u16(t.fudge);
  w.u16(t.mac.length);
  w.bytes(t.mac);
  w.u16(t.originalId);
  w.u16(t.error);
  w.u16(t.other.length);
  w.bytes(t.other);
}

/** Decodes a message. Any malformation comes back as a WireError value. */
export function decodeMessage(buf: Uint8Array): Result<Decoded> {
  return attempt(() => decodeOrThrow(buf));
}

function decodeOrThrow(buf: Uint8Array): Decoded {
  if (buf.length < HEADER_SIZE) throw new WireError('truncated', `message of ${buf.length} octets is shorter than a header`);
  const r = new WireReader(buf);
  const id = r.u16();
  const flags = r.u16();
  const qd = r.u16();
  const an = r.u16();
  const ns = r.u16();
  const ar = r.u16();
  // Each question needs 5 octets and each RR 11: reject impossible counts before looping.
  if (qd * 5 + (an + ns + ar) * 11 > buf.length - HEADER_SIZE) {
    throw new WireError('truncated', `counts ${qd}/${an}/${ns}/${ar} cannot fit in ${buf.length} octets`);
  }
  const m: Decoded = {
    id,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    z: (flags & 0x0040) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    question: [], answer: [], authority: [], additional: [],
    edns: null, tsig: null, wire: buf, tsigStart: -1,
  };
  for (let i = 0; i < qd; i++) {
    const [name, next] = readName(buf, r.pos);
    r.pos = next;
    m.question.push({ name, type: r.u16('QTYPE'), class: r.u16('QCLASS') });
  }
  const sections = [m.answer, m.authority, m.additional];
  const counts = [an, ns, ar];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]; i++) {
      const start = r.pos;
      const [name, next] = readName(buf, r.pos);
      r.pos = next;
      const type = r.u16('TYPE');
      const klass = r.u16('CLASS');
      const ttl = r.u32('TTL');
      const rdlen = r.u16('RDLENGTH');
      r.need(rdlen, 'RDATA');
      const rdpos = r.pos;
      r.pos += rdlen;
      if (type === Type.OPT) {
        if (s !== 2) throw new WireError('bad-opt', 'OPT outside the additional section');
        if (m.edns) throw new WireError('bad-opt', 'more than one OPT record');
        if (name !== '.') throw new WireError('bad-opt', 'OPT owner is not the root');
        const options: EdnsOption[] = [];
        const or = new WireReader(buf, rdpos);
        while (or.pos < rdpos + rdlen) {
          const code = or.u16('EDNS option code');
          const len = or.u16('EDNS option length');
          if (or.pos + len > rdpos + rdlen) throw new WireError('bad-opt', `EDNS option ${code} overruns the OPT rdata`);
          options.push({ code, data: Buffer.from(or.bytes(len)) });
        }
        m.edns = { udpSize: klass, version: (ttl >>> 16) & 0xff, flags: ttl & 0xffff, options };
        m.rcode |= (ttl >>> 24) << 4;
        continue;
      }
      if (type === Type.TSIG) {
        if (s !== 2 || i !== counts[2] - 1) throw new WireError('bad-tsig', 'TSIG is not the last record of the additional section');
        if (klass !== Class.ANY) throw new WireError('bad-tsig', 'TSIG class is not ANY');
        m.tsig = { ...readTsigRdata(buf, rdpos, rdlen), key: name };
        m.tsigStart = start;
        continue;
      }
      sections[s].push({ name, type, class: klass, ttl, rdata: readRdata(type, buf, rdpos, rdlen) });
    }
  }
  if (r.pos !== buf.length) throw new WireError('trailing-data', `${buf.length - r.pos} octets after the last record`);
  return m;
}

export interface EncodeOptions {
  /** Compress names (default true). */
  compress?: boolean;
}

/** Encodes a message, OPT and TSIG (if set) last in the additional section, in that order. */
export function encodeMessage(m: Message, opts: EncodeOptions = {}): Buffer {
  if (m.rcode > 15 && !m.edns) throw new WireError('bad-header', `RCODE ${m.rcode} needs EDNS: its upper bits live in the OPT record`);
  const w = new WireWriter(opts.compress ?? true);
  writeHeader(w, m);
  for (const q of m.question) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const rr of m.answer) writeRR(w, rr);
  for (const rr of m.authority) writeRR(w, rr);
  for (const rr of m.additional) writeRR(w, rr);
  if (m.edns) writeOpt(w, m.edns, m.rcode);
  if (m.tsig) writeTsigRR(w, m.tsig);
  return w.finish();
}

export function writeHeader(w: WireWriter, m: Message): void {
  w.u16(m.id);
  w.u16(headerFlags(m));
  w.u16(m.question.length);
  w.u16(m.answer.length);
  w.u16(m.authority.length);
  w.u16(m.additional.length + (m.edns ? 1 : 0) + (m.tsig ? 1 : 0));
}

export function headerFlags(m: Message): number {
  return (m.qr ? 0x8000 : 0) | ((m.opcode & 0xf) << 11) | (m.aa ? 0x0400 : 0) | (m.tc ? 0x0200 : 0) |
    (m.rd ? 0x0100 : 0) | (m.ra ? 0x0080 : 0) | (m.z ? 0x0040 : 0) | (m.ad ? 0x0020 : 0) |
    (m.cd ? 0x0010 : 0) | (m.rcode & 0xf);
}

export function writeRR(w: WireWriter, rr: RR): void {
  w.name(rr.name);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  const at = w.len;
  w.u16(0);
  writeRdata(w, rr.type, rr.rdata);
  w.setU16(at, w.len - at - 2);
}

export function writeOpt(w: WireWriter, e: Edns, rcode: number): void {
  w.u8(0);
  w.u16(Type.OPT);
  w.u16(e.udpSize);
  w.u32((((rcode >> 4) & 0xff) << 24) | ((e.version & 0xff) << 16) | (e.flags & 0xffff));
  let len = 0;
  for (const o of e.options) len += 4 + o.data.length;
  w.u16(len);
  for (const o of e.options) {
    w.u16(o.code);
    w.u16(o.data.length);
    w.bytes(o.data);
  }
}

export function writeTsigRR(w: WireWriter, t: Tsig): void {
  w.name(t.key, false, false);
  w.u16(Type.TSIG);
  w.u16(Class.ANY);
  w.u32(0);
  const at = w.len;
  w.u16(0);
  writeTsigRdata(w, t);
  w.setU16(at, w.len - at - 2);
}
