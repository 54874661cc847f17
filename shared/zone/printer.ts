// Printing zones and records in master-file format: one absolute record per line.

import { className, Type, typeName } from '../dns/constants.ts';
import type { RR } from '../dns/message.ts';
import { canonicalSortKey } from '../dns/name.ts';
import { rdataToText } from '../dns/rdata.ts';
import { soaOf, sortedNodes, sortedRdata, sortedRRsets, sortedRecords, type RRset, type Zone, type ZoneNode } from './zone.ts';

/** `owner TTL CLASS TYPE rdata`, every name absolute: the form events and exports use. */
export function recordToText(rr: RR): string {
  return `${rr.name} ${rr.ttl} ${className(rr.class)} ${typeName(rr.type)} ${rdataToText(rr.type, rr.rdata)}`;
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

/**
 * Zones whose nodes are in print order, except the ones named here: a zone built from an
 * ordered snapshot (Snapshot.ordered) keeps its owners, their RRsets and their rdata in the
 * order the snapshot had them, and replay changes only the owners it touches (their nameKeys).
 */
const printOrder = new WeakMap<Zone, Set<string>>();

/**
 * Marks `z` as built from an ordered snapshot, with replay about to touch the owners it then
 * adds to `touched`: zoneLineBatches prints the others as they stand and sorts only those.
 * Only for a zone that is printed and dropped; any other change to it afterwards must also go
 * into `touched`.
 */
export function markPrintOrder(z: Zone, touched: Set<string>): void {
  printOrder.set(z, touched);
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
  const touched = printOrder.get(z);
  for (const [n, inOrder] of touched ? printOrderNodes(z, touched) : unorderedNodes(z)) {
    if (inOrder) nodeLines(n.rrsets.values(), false, out);
    else nodeLines(sortedRRsets(n), true, out);
    if (out.length >= size) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

function* unorderedNodes(z: Zone): Generator<readonly [ZoneNode, boolean]> {
  for (const n of sortedNodes(z)) yield [n, false];
}

/** A node's lines but the SOA, RRset by RRset; `sortRdata`: put each RRset's rdata in canonical order. */
function nodeLines(sets: Iterable<RRset>, sortRdata: boolean, out: string[]): void {
  for (const set of sets) {
    if (set.type === Type.SOA) continue;
    const prefix = `${set.name} ${set.ttl} ${className(set.class)} ${typeName(set.type)} `;
    if (set.rdata.length === 1) out.push(prefix + rdataToText(set.type, set.rdata[0]));
    else if (sortRdata) for (const { d } of sortedRdata(set)) out.push(prefix + rdataToText(set.type, d));
    else for (const d of set.rdata) out.push(prefix + rdataToText(set.type, d));
  }
}

/**
 * The nodes of a zone marked by markPrintOrder, in canonical order, each with whether it is
 * already in print order inside (untouched) or must be sorted (touched). The untouched ones are
 * in order as they stand; the touched ones are sorted by themselves and each is placed by a
 * binary search among the untouched, so only a few of those need a sort key.
 */
function* printOrderNodes(z: Zone, touched: Set<string>): Generator<readonly [ZoneNode, boolean]> {
  const base: ZoneNode[] = [];
  const moved: { k: string; n: ZoneNode }[] = [];
  for (const [key, n] of z.nodes) {
    if (touched.has(key)) moved.push({ k: canonicalSortKey(n.name), n });
    else base.push(n);
  }
  moved.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const keys = new Map<number, string>();
  const keyAt = (i: number): string => {
    let k = keys.get(i);
    if (k === undefined) keys.set(i, (k = canonicalSortKey(base[i].name)));
    return k;
  };
  // Where each touched node goes: before the first untouched node with a greater key.
  const at: number[] = [];
  let lo = 0;
  for (const m of moved) {
    let hi = base.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keyAt(mid) < m.k) lo = mid + 1;
      else hi = mid;
    }
    at.push(lo);
  }
  let j = 0;
  for (let i = 0; i <= base.length; i++) {
    while (j < moved.length && at[j] === i) yield [moved[j++].n, false];
    if (i < base.length) yield [base[i], true];
  }
}
