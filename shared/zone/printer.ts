// Printing zones and records in master-file format: one absolute record per line.

import { className, Type, typeName } from '../dns/constants.ts';
import type { RR } from '../dns/message.ts';
import { rdataToText } from '../dns/rdata.ts';
import { soaOf, sortedNodes, sortedRdata, sortedRRsets, sortedRecords, type RRset, type Zone } from './zone.ts';

/** `owner TTL CLASS TYPE rdata`, every name absolute: the form events and exports use. */
export function recordToText(rr: RR): string {
  return recordHead(rr.name, rr.ttl, rr.class, rr.type) + rdataToText(rr.type, rr.rdata);
}

/** `owner TTL CLASS TYPE `, trailing space included: a record line up to its rdata, made once for a run of records. */
export function recordHead(owner: string, ttl: number, klass: number, type: number): string {
  return `${owner} ${ttl} ${className(klass)} ${typeName(type)} `;
}

/**
 * The zone as a master file: SOA first, then owners in canonical order, one absolute record
 * per line. Names keep their case unless `canonical` asks for the canonical form.
 */
export function printZone(z: Zone, opts: { canonical?: boolean } = {}): string {
  const lines = opts.canonical ? sortedRecords(z, true).map(recordToText) : zoneToLines(z);
  return lines.join('\n') + (lines.length ? '\n' : '');
}

/**
 * The zone's records as recordToText lines, SOA first, in the order printZone uses, names as
 * they are. What an as-of prints, so it is built for size: an RRset's `owner TTL CLASS TYPE`
 * is made once for all its records, and no record objects are made.
 */
export function zoneToLines(z: Zone): string[] {
  const all: string[] = [];
  for (const batch of zoneLineBatches(z)) for (const l of batch) all.push(l);
  return all;
}

/** The zone's records in the order it prints in (SOA first): an ordered snapshot's records. */
export function printOrderRecords(z: Zone, soa: RR): RR[] {
  const out: RR[] = [soa];
  for (const n of sortedNodes(z)) {
    for (const set of sortedRRsets(n)) {
      if (set.type === Type.SOA) continue;
      if (set.rdata.length === 1) out.push({ name: set.name, type: set.type, class: set.class, ttl: set.ttl, rdata: set.rdata[0] });
      else for (const { d } of sortedRdata(set)) out.push({ name: set.name, type: set.type, class: set.class, ttl: set.ttl, rdata: d });
    }
  }
  return out;
}

/**
 * zoneToLines in batches of about `size` lines (a node's lines are never split), for writing a
 * zone out as it is printed: each batch can go and be dropped before the next is made.
 */
export function* zoneLineBatches(z: Zone, size = 4096): Generator<string[]> {
  let out: string[] = [];
  const soa = soaOf(z);
  if (soa) out.push(recordToText(soa));
  for (const n of sortedNodes(z)) {
    nodeLines(sortedRRsets(n), out);
    if (out.length >= size) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

/** A node's lines but the SOA, RRset by RRset, each RRset's rdata in canonical order. */
export function nodeLines(sets: Iterable<RRset>, out: string[]): void {
  for (const set of sets) {
    if (set.type === Type.SOA) continue;
    const prefix = recordHead(set.name, set.ttl, set.class, set.type);
    if (set.rdata.length === 1) out.push(prefix + rdataToText(set.type, set.rdata[0]));
    else for (const { d } of sortedRdata(set)) out.push(prefix + rdataToText(set.type, d));
  }
}
