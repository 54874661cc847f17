// Builds the full response to one question from a zone (RFC 1034 §4.3.2), recording what it read.

import { Rcode, Type } from '../../shared/dns/constants.ts';
import { writeOpt, writeRR, type RR } from '../../shared/dns/message.ts';
import { isSubdomain, nameKey, readName, type Name } from '../../shared/dns/name.ts';
import { WireWriter } from '../../shared/dns/wire.ts';
import { dep, type ZoneIndex } from '../projector/zone-index.ts';
import type { RRset, ZoneNode } from '../../shared/zone/zone.ts';

/** The UDP payload size we advertise and the most we send over UDP (the DNS Flag Day 2020 value). */
export const OUR_UDP_SIZE = 1232;
/** CNAME and DNAME links followed within a zone before giving up (BIND follows 16 as well). */
const MAX_CHAIN = 16;

export interface QueryEdns {
  /** DNSSEC OK: include the RRSIGs the zone holds. */
  do: boolean;
}

export interface AnswerOptions {
  edns: QueryEdns | null;
  /** ANY gets every RRset over TCP and one over UDP (RFC 8482 §4.1). */
  tcp: boolean;
}

export interface Built {
  /**
   * A whole response with ID 0 and RD clear: the sender patches ID, RD, CD and the question case.
   * The encoder's own buffer, not a copy: a caller that keeps it copies it (see kept.ts).
   */
  wire: Buffer;
  rcode: number;
  /** Offset just past the question, so a truncated copy can be cut from the front. */
  questionEnd: number;
  /** What the answer was built from (zone-index `dep` keys). */
  deps: string[];
}

interface Sections {
  answer: RR[];
  authority: RR[];
  additional: RR[];
  aa: boolean;
  rcode: number;
}

function records(set: RRset, owner: Name, ttl = set.ttl): RR[] {
  return set.rdata.map((rdata) => ({ name: owner, type: set.type, class: set.class, ttl, rdata }));
}

function signatures(node: ZoneNode, type: number, owner: Name): RR[] {
  const sigs = node.rrsets.get(0x10000 + type);
  return sigs ? records(sigs, owner) : [];
}

/** The target name of an NS, CNAME, DNAME, MX or SRV record, for chasing and additional data. */
function targetOf(type: number, rdata: Uint8Array): Name | null {
  switch (type) {
    case Type.NS:
    case Type.CNAME:
    case Type.DNAME:
      return readName(rdata, 0, false)[0];
    case Type.MX:
      return readName(rdata, 2, false)[0];
    case Type.SRV:
      return readName(rdata, 6, false)[0];
    default:
      return null;
  }
}

/** The negative-caching SOA (RFC 2308 §3): TTL is the lesser of the SOA's TTL and its MINIMUM. */
function negativeSoa(index: ZoneIndex, deps: string[]): RR[] {
  const node = index.zone.nodes.get(nameKey(index.zone.origin));
  deps.push(dep.node(nameKey(index.zone.origin)));
  const soa = node?.rrsets.get(Type.SOA);
  if (!soa || soa.rdata.length === 0) return [];
  const d = soa.rdata[0];
  const minimum = ((d[d.length - 4] << 24) | (d[d.length - 3] << 16) | (d[d.length - 2] << 8) | d[d.length - 1]) >>> 0;
  return records(soa, soa.name, Math.min(soa.ttl, minimum));
}

/** A and AAAA for names below `within` (glue, or in-zone targets of MX, SRV and NS). */
function addressesFor(index: ZoneIndex, targets: Name[], within: Name, deps: string[], out: RR[]): void {
  const seen = new Set<string>();
  for (const t of targets) {
    const k = nameKey(t);
    if (seen.has(k) || !isSubdomain(k, nameKey(within))) continue;
    seen.add(k);
    deps.push(dep.node(k));
    const node = index.zone.nodes.get(k);
    if (!node) continue;
    for (const type of [Type.A, Type.AAAA]) {
      const set = node.rrsets.get(type);
      if (set) out.push(...records(set, set.name));
    }
  }
}

function targetsOf(rrs: RR[]): Name[] {
  const out: Name[] = [];
  for (const rr of rrs) {
    const t = targetOf(rr.type, rr.rdata);
    if (t !== null) out.push(t);
  }
  return out;
}

/** Replaces the DNAME owner suffix of `name` with the DNAME target (RFC 6672 §2.2); null when too long. */
function substitute(name: Name, owner: Name, target: Name): Name | null {
  const prefix = name.slice(0, name.length - owner.length);
  const out = target === '.' ? prefix : prefix + target;
  let wire = 1;
  for (const l of out.split('.')) if (l) wire += l.length + 1;
  return wire > 255 ? null : out;
}

/** Works out the sections for one question, following CNAME and DNAME links inside the zone. */
export function resolve(index: ZoneIndex, qname: Name, qtype: number, o: AnswerOptions, deps: string[]): Sections {
  const s: Sections = { answer: [], authority: [], additional: [], aa: true, rcode: Rcode.NOERROR };
  const origin = index.zone.origin;
  const seen = new Set<string>();
  let name = qname;
  for (let hop = 0; hop <= MAX_CHAIN; hop++) {
    if (seen.has(nameKey(name))) return s;
    seen.add(nameKey(name));
    const r = index.lookup(name, qtype, deps);
    switch (r.kind) {
      case 'answer': {
        s.answer.push(...records(r.rrset, name));
        if (o.edns?.do && r.rrset.type !== Type.RRSIG) s.answer.push(...signatures(r.node, r.rrset.type, name));
        if (r.rrset.type === Type.MX || r.rrset.type === Type.SRV || r.rrset.type === Type.NS) {
          addressesFor(index, targetsOf(s.answer.filter((rr) => rr.type === r.rrset.type)), origin, deps, s.additional);
        }
        return s;
      }
      case 'any': {
        const sets = [...r.node.rrsets.values()].filter((set) => set.type !== Type.RRSIG || o.edns?.do);
        // Over UDP one RRset is enough to answer ANY (RFC 8482 §4.1); the lowest type is stable.
        const chosen = o.tcp ? sets : sets.filter((set) => set.type !== Type.RRSIG).sort((a, b) => a.type - b.type).slice(0, 1);
        for (const set of chosen) {
          s.answer.push(...records(set, name));
          if (!o.tcp && o.edns?.do) s.answer.push(...signatures(r.node, set.type, name));
        }
        return s;
      }
      case 'cname': {
        s.answer.push(...records(r.rrset, name));
        if (o.edns?.do) s.answer.push(...signatures(r.node, Type.CNAME, name));
        const target = targetOf(Type.CNAME, r.rrset.rdata[0]);
        if (target === null || !isSubdomain(target, origin)) return s;
        name = target;
        continue;
      }
      case 'dname': {
        s.answer.push(...records(r.rrset, r.rrset.name));
        if (o.edns?.do) s.answer.push(...signatures(r.node, Type.DNAME, r.rrset.name));
        const target = substitute(name, r.node.name, targetOf(Type.DNAME, r.rrset.rdata[0])!);
        if (target === null) {
          s.rcode = Rcode.YXDOMAIN;
          return s;
        }
        s.answer.push({ name, type: Type.CNAME, class: r.rrset.class, ttl: r.rrset.ttl, rdata: nameWire(target) });
        if (!isSubdomain(target, origin)) return s;
        name = target;
        continue;
      }
      case 'referral': {
        // A referral answers nothing itself: no AA unless a CNAME led here (RFC 1034 §4.3.2 step 3b).
        if (s.answer.length === 0) s.aa = false;
        s.authority.push(...records(r.ns, r.ns.name));
        const ds = r.node.rrsets.get(Type.DS);
        if (o.edns?.do && ds) s.authority.push(...records(ds, ds.name), ...signatures(r.node, Type.DS, ds.name));
        addressesFor(index, targetsOf(s.authority.filter((rr) => rr.type === Type.NS)), r.ns.name, deps, s.additional);
        return s;
      }
      case 'nodata':
        s.authority.push(...negativeSoa(index, deps));
        return s;
      case 'nxdomain':
        s.rcode = Rcode.NXDOMAIN;
        s.authority.push(...negativeSoa(index, deps));
        return s;
      case 'out-of-zone':
        return s;
    }
  }
  return s;
}

function nameWire(n: Name): Uint8Array {
  const w = new WireWriter(false, 64);
  w.name(n, false, false);
  return w.finish();
}

/** Encodes the response to one question; the question is written as the query spelled it. */
export function buildAnswer(index: ZoneIndex, qname: Name, qtype: number, qclass: number, o: AnswerOptions): Built {
  const deps: string[] = [];
  const s = resolve(index, qname, qtype, o, deps);
  const w = new WireWriter(true, 512);
  w.u16(0);
  w.u16(0x8000 | (s.aa ? 0x0400 : 0) | (s.rcode & 0xf));
  w.u16(1);
  w.u16(s.answer.length);
  w.u16(s.authority.length);
  w.u16(s.additional.length + (o.edns ? 1 : 0));
  w.name(qname);
  w.u16(qtype);
  w.u16(qclass);
  const questionEnd = w.len;
  for (const rr of s.answer) writeRR(w, rr);
  for (const rr of s.authority) writeRR(w, rr);
  for (const rr of s.additional) writeRR(w, rr);
  if (o.edns) writeOpt(w, { udpSize: OUR_UDP_SIZE, version: 0, flags: o.edns.do ? 0x8000 : 0, options: [] }, s.rcode);
  return { wire: w.view(), rcode: s.rcode, questionEnd, deps };
}

/** The TC=1 form of a response: header and question (and OPT) only, for a client to retry over TCP. */
export function truncatedCopy(full: Buffer, questionEnd: number, edns: QueryEdns | null): Buffer {
  const opt = edns ? 11 : 0;
  const out = Buffer.alloc(questionEnd + opt);
  full.copy(out, 0, 0, questionEnd);
  out[2] |= 0x02;
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(edns ? 1 : 0, 10);
  if (edns) {
    out[questionEnd] = 0;
    out.writeUInt16BE(Type.OPT, questionEnd + 1);
    out.writeUInt16BE(OUR_UDP_SIZE, questionEnd + 3);
    out.writeUInt32BE(edns.do ? 0x8000 : 0, questionEnd + 5);
    out.writeUInt16BE(0, questionEnd + 9);
  }
  return out;
}
