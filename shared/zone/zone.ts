// The zone model: owner nodes holding RRsets, with the integrity rules every zone must keep.

import { Class, Type, isMetaType, typeName } from '../dns/constants.ts';
import type { RR } from '../dns/message.ts';
import { WireError } from '../dns/errors.ts';
import { canonicalSortKey, isSubdomain, nameKey, type Name } from '../dns/name.ts';
import { canonicalRdata, rdataEqual } from '../dns/rdata.ts';

export interface RRset {
  /** Owner name as the RRset's first record spelled it (BIND keeps case per RRset too). */
  name: Name;
  type: number;
  class: number;
  ttl: number;
  rdata: Uint8Array[];
}

export interface ZoneNode {
  /** Owner name with the case it was first given. */
  name: Name;
  /** Keyed by rrsetKey: the type, or for RRSIGs the covered type too. */
  rrsets: Map<number, RRset>;
}

export function newNode(name: Name): ZoneNode {
  return { name, rrsets: new Map() };
}

/**
 * The key of the RRset a record belongs to. RRSIGs form one set per covered type, each with
 * its own TTL (the TTL of what it covers, RFC 4034 §3), so they are keyed past 65535.
 */
export function rrsetKey(type: number, rdata?: Uint8Array): number {
  if (type !== Type.RRSIG || !rdata || rdata.length < 2) return type;
  return 0x10000 + ((rdata[0] << 8) | rdata[1]);
}

/** The RRset a record would belong to, if it exists. */
export function rrsetOf(z: Zone, rr: RR): RRset | undefined {
  return z.nodes.get(nameKey(rr.name))?.rrsets.get(rrsetKey(rr.type, rr.rdata));
}

/** The types present at a node (RRSIG once, whatever it covers). */
export function typesAt(node: ZoneNode): number[] {
  return [...new Set([...node.rrsets.values()].map((s) => s.type))];
}

export interface Zone {
  origin: Name;
  class: number;
  /** Keyed by case-folded owner name. */
  nodes: Map<string, ZoneNode>;
}

export function emptyZone(origin: Name, klass: number = Class.IN): Zone {
  return { origin, class: klass, nodes: new Map() };
}

export function getRRset(z: Zone, name: Name, type: number): RRset | undefined {
  return z.nodes.get(nameKey(name))?.rrsets.get(type);
}

export function soaOf(z: Zone): RR | undefined {
  return soaRecord(getRRset(z, z.origin, Type.SOA));
}

/** The SOA record an apex's SOA RRset holds. */
export function soaRecord(s: RRset | undefined): RR | undefined {
  if (!s || s.rdata.length === 0) return undefined;
  return { name: s.name, type: Type.SOA, class: s.class, ttl: s.ttl, rdata: s.rdata[0] };
}

/**
 * Offset of the serial in SOA rdata: the five 32-bit fields end it, so the serial starts 20
 * octets from the end. (Stored SOA rdata was checked when it was read: two uncompressed names,
 * then exactly those 20 octets.)
 */
function serialOffset(rdata: Uint8Array): number {
  if (rdata.length < 22) throw new WireError('bad-rdata', `SOA rdata of ${rdata.length} octets is too short`);
  return rdata.length - 20;
}

/** The serial field of SOA rdata. */
export function soaSerial(rdata: Uint8Array): number {
  const o = serialOffset(rdata);
  return ((rdata[o] << 24) | (rdata[o + 1] << 16) | (rdata[o + 2] << 8) | rdata[o + 3]) >>> 0;
}

/** SOA rdata with another serial. */
export function withSerial(rdata: Uint8Array, serial: number): Uint8Array {
  const out = Buffer.from(rdata);
  out.writeUInt32BE(serial >>> 0, serialOffset(rdata));
  return out;
}

export function hasRecord(z: Zone, rr: RR): boolean {
  const set = rrsetOf(z, rr);
  return set !== undefined && set.class === rr.class && set.rdata.some((d) => rdataEqual(rr.type, d, rr.rdata));
}

/**
 * Adds one record. Returns false (and changes nothing) if the same data is already there.
 * A record added to an RRset sets the TTL of the whole RRset, as RFC 2136 §3.4.2.2 does.
 */
export function addRecord(z: Zone, rr: RR): boolean {
  const key = nameKey(rr.name);
  let node = z.nodes.get(key);
  if (!node) {
    node = newNode(rr.name);
    z.nodes.set(key, node);
  }
  const k = rrsetKey(rr.type, rr.rdata);
  const set = node.rrsets.get(k);
  if (!set) {
    node.rrsets.set(k, { name: rr.name, type: rr.type, class: rr.class, ttl: rr.ttl, rdata: [rr.rdata] });
    return true;
  }
  if (set.rdata.some((d) => rdataEqual(rr.type, d, rr.rdata))) return false;
  set.rdata.push(rr.rdata);
  set.ttl = rr.ttl;
  return true;
}

/** Removes one record by its data (the TTL is not compared). Returns false if it was absent. */
export function removeRecord(z: Zone, rr: RR): boolean {
  const key = nameKey(rr.name);
  const node = z.nodes.get(key);
  const k = rrsetKey(rr.type, rr.rdata);
  const set = node?.rrsets.get(k);
  if (!node || !set) return false;
  const i = set.rdata.findIndex((d) => rdataEqual(rr.type, d, rr.rdata));
  if (i === -1) return false;
  set.rdata.splice(i, 1);
  if (set.rdata.length === 0) {
    node.rrsets.delete(k);
    if (node.rrsets.size === 0) z.nodes.delete(key);
  }
  return true;
}

export function* rrsetsOf(z: Zone): Generator<RRset> {
  for (const node of z.nodes.values()) yield* node.rrsets.values();
}

export function* recordsOf(z: Zone): Generator<RR> {
  for (const set of rrsetsOf(z)) {
    for (const rdata of set.rdata) yield { name: set.name, type: set.type, class: set.class, ttl: set.ttl, rdata };
  }
}

export function recordCount(z: Zone): number {
  let n = 0;
  for (const set of rrsetsOf(z)) n += set.rdata.length;
  return n;
}

/** A deep copy that shares only the immutable rdata bytes. */
export function cloneZone(z: Zone): Zone {
  const nodes = new Map<string, ZoneNode>();
  for (const [k, node] of z.nodes) {
    const copy = newNode(node.name);
    for (const [t, s] of node.rrsets) copy.rrsets.set(t, { ...s, rdata: [...s.rdata] });
    nodes.set(k, copy);
  }
  return { origin: z.origin, class: z.class, nodes };
}

/**
 * Records sorted by owner in RFC 4034 §6.1 order, then by type (RRSIGs by what they cover),
 * then by canonical rdata, with the SOA first. With `fold`, this is the canonical form: owners
 * lower-cased and rdata in RFC 4034 §6.2 canonical form, so two zones with the same data give
 * the same list. Without it, names keep their case.
 */
export function sortedRecords(z: Zone, fold: boolean): RR[] {
  const out: RR[] = [];
  const soa = soaOf(z);
  if (soa) out.push(fold ? { ...soa, name: nameKey(soa.name), rdata: canonicalRdata(Type.SOA, soa.rdata) } : soa);
  for (const n of sortedNodes(z)) {
    for (const set of sortedRRsets(n)) {
      if (set.type === Type.SOA) continue;
      const owner = fold ? nameKey(set.name) : set.name;
      if (set.rdata.length === 1 && !fold) {
        out.push({ name: owner, type: set.type, class: set.class, ttl: set.ttl, rdata: set.rdata[0] });
        continue;
      }
      for (const { d, c } of sortedRdata(set)) out.push({ name: owner, type: set.type, class: set.class, ttl: set.ttl, rdata: fold ? c : d });
    }
  }
  return out;
}

/** The zone's nodes in canonical order (RFC 4034 §6.1). */
export function sortedNodes(z: Zone): ZoneNode[] {
  // The keys alone sort with the engine's own string order (no comparator called per pair),
  // which is the order `<` gives. Names are kept in one spelling (\065 is read as A), so two
  // nodes should never share a key; if they ever did, the comparator sort keeps both.
  const byKey = new Map<string, ZoneNode>();
  for (const n of z.nodes.values()) byKey.set(canonicalSortKey(n.name), n);
  if (byKey.size === z.nodes.size) return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
  const keyed = [...z.nodes.values()].map((n) => ({ n, k: canonicalSortKey(n.name) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.n);
}

/** A node's RRsets by type number (an RRSIG set after the others, by the type it covers). */
export function sortedRRsets(n: ZoneNode): RRset[] {
  if (n.rrsets.size === 1) return [...n.rrsets.values()];
  return [...n.rrsets.keys()].sort((a, b) => a - b).map((k) => n.rrsets.get(k)!);
}

/** An RRset's rdata in canonical order (RFC 4034 §6.3), each with its canonical form. */
export function sortedRdata(set: RRset): { d: Uint8Array; c: Buffer }[] {
  return set.rdata.map((d) => ({ d, c: Buffer.from(canonicalRdata(set.type, d)) })).sort((a, b) => Buffer.compare(a.c, b.c));
}

export function canonicalRecords(z: Zone): RR[] {
  return sortedRecords(z, true);
}

/**
 * Integrity rules a loaded zone must keep (the ones BIND's named-checkzone enforces as errors,
 * plus out-of-zone data, which BIND only ignores with a warning and we refuse).
 */
export function checkRecordPlacement(z: Zone, rr: RR): string | undefined {
  if (!isSubdomain(rr.name, z.origin)) return `out of zone: ${rr.name} is outside ${z.origin}`;
  if (rr.class !== z.class) return `class ${rr.class} differs from the zone's class ${z.class}`;
  if (isMetaType(rr.type)) return `type ${typeName(rr.type)} cannot appear in a zone`;
  if (rr.type === Type.SOA && nameKey(rr.name) !== nameKey(z.origin)) return `SOA record at ${rr.name}, not at the zone apex ${z.origin}`;
  return undefined;
}

// Types that may sit beside a CNAME (RFC 2181 §10.1, RFC 4035 §2.5).
function besideCname(t: number): boolean {
  return t === Type.CNAME || t === Type.RRSIG || t === Type.NSEC || t === Type.KEY || t === Type.SIG || t === Type.NXT;
}

/**
 * Why adding `rr` to its owner node would break the node rules (CNAME and other data, a second
 * CNAME, DNAME or SOA), or undefined if it would not.
 */
export function addConflict(z: Zone, rr: RR): string | undefined {
  const node = z.nodes.get(nameKey(rr.name));
  if (!node) return undefined;
  if (rr.type === Type.CNAME) {
    const others = typesAt(node).filter((t) => !besideCname(t));
    if (others.length > 0) return `CNAME and other data: ${rr.name} already has ${others.map(typeName).join(', ')}`;
  } else if (!besideCname(rr.type) && node.rrsets.has(Type.CNAME)) {
    return `CNAME and other data: ${rr.name} has a CNAME, so it cannot have ${typeName(rr.type)}`;
  }
  if (rr.type === Type.CNAME || rr.type === Type.DNAME || rr.type === Type.SOA) {
    const existing = node.rrsets.get(rr.type);
    if (existing && !existing.rdata.some((d) => rdataEqual(rr.type, d, rr.rdata))) return `multiple ${typeName(rr.type)} records: ${rr.name} already has one`;
  }
  return undefined;
}
