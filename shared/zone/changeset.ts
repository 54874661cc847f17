// Changesets: SOA from, SOA to, records removed, records added — the one change type every path uses.

import { Type } from '../dns/constants.ts';
import type { RR } from '../dns/message.ts';
import { nameKey } from '../dns/name.ts';
import { canonicalRdata, rdataEqual } from '../dns/rdata.ts';
import { recordToText } from './printer.ts';
import { addConflict, addRecord, checkRecordPlacement, hasRecord, newNode, removeRecord, soaOf, soaSerial, type RRset, type Zone, type ZoneNode } from './zone.ts';

/**
 * One version step of a zone, as Knot's changesets and RFC 1995's difference sequences have it.
 * The SOA records are kept apart from `removed` and `added`; `soaFrom` is null only when a
 * zone is created.
 */
export interface Changeset {
  soaFrom: RR | null;
  soaTo: RR;
  removed: RR[];
  added: RR[];
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

// The diff is exact: a change of case in an owner or in a name inside rdata is a change, so
// that applying diff(a, b) to a gives b byte for byte and the history keeps every spelling.
function sameData(set: RRset, other: RRset | undefined): boolean {
  if (!other || set.name !== other.name || set.ttl !== other.ttl || set.class !== other.class || set.rdata.length !== other.rdata.length) return false;
  return set.rdata.every((d) => other.rdata.some((e) => bytesEqual(d, e)));
}

/**
 * The changeset that turns zone a into zone b. An RRset whose TTL or owner spelling changed is
 * removed and added whole, since IXFR and UPDATE can only express those through the records.
 * `soa` gives the two SOA records when a and b are parts of zones that may leave out the apex.
 */
export function diff(a: Zone, b: Zone, soa?: { from: RR | undefined; to: RR | undefined }): Changeset {
  const soaA = soa ? soa.from : soaOf(a);
  const soaB = soa ? soa.to : soaOf(b);
  if (!soaB) throw new Error(`diff: zone ${b.origin} has no SOA`);
  const removed: RR[] = [];
  const added: RR[] = [];
  const push = (to: RR[], set: RRset, only?: (d: Uint8Array) => boolean): void => {
    for (const d of set.rdata) if (!only || only(d)) to.push({ name: set.name, type: set.type, class: set.class, ttl: set.ttl, rdata: d });
  };
  for (const [key, na] of a.nodes) {
    const nb = b.nodes.get(key);
    for (const [k, sa] of na.rrsets) {
      if (sa.type === Type.SOA) continue;
      const sb = nb?.rrsets.get(k);
      if (sameData(sa, sb)) continue;
      if (!sb || sb.ttl !== sa.ttl || sb.class !== sa.class || sb.name !== sa.name) {
        push(removed, sa);
        if (sb) push(added, sb);
        continue;
      }
      push(removed, sa, (d) => !sb.rdata.some((e) => bytesEqual(d, e)));
      push(added, sb, (d) => !sa.rdata.some((e) => bytesEqual(d, e)));
    }
  }
  for (const nb of b.nodes.values()) {
    const na = a.nodes.get(nameKey(nb.name));
    for (const [k, sb] of nb.rrsets) {
      if (sb.type === Type.SOA || na?.rrsets.has(k)) continue;
      push(added, sb);
    }
  }
  return { soaFrom: soaA ?? null, soaTo: soaB, removed, added };
}

export function isEmptyChange(c: Changeset): boolean {
  return c.removed.length === 0 && c.added.length === 0 && c.soaFrom !== null &&
    c.soaFrom.ttl === c.soaTo.ttl && bytesEqual(c.soaFrom.rdata, c.soaTo.rdata);
}

export class ApplyError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`);
    this.name = 'ApplyError';
    this.problems = problems;
  }
}

function recordKey(rr: RR): string {
  return `${nameKey(rr.name)}\u0000${rr.type}\u0000${rr.class}\u0000${Buffer.from(canonicalRdata(rr.type, rr.rdata)).toString('latin1')}`;
}

/**
 * Applies a changeset strictly: the zone's SOA must be `soaFrom`, every removed record must be
 * present, every added record absent (after the removals), and the result must keep the node
 * rules. Everything is checked before anything changes, so a failing apply leaves the zone
 * exactly as it was. Mutates and returns `z`.
 */
export function applyChangeset(z: Zone, c: Changeset): Zone {
  const problems: string[] = [];
  const soa = soaOf(z);
  if (c.soaFrom === null) {
    if (soa) problems.push(`zone ${z.origin} already exists at serial ${soaSerial(soa.rdata)}`);
  } else if (!soa) {
    problems.push(`zone ${z.origin} has no SOA, but the change starts from serial ${soaSerial(c.soaFrom.rdata)}`);
  } else if (!rdataEqual(Type.SOA, soa.rdata, c.soaFrom.rdata)) {
    problems.push(`zone ${z.origin} is at serial ${soaSerial(soa.rdata)}, but the change starts from serial ${soaSerial(c.soaFrom.rdata)}`);
  }
  const removedKeys = new Set<string>();
  for (const rr of c.removed) {
    const k = recordKey(rr);
    if (rr.type === Type.SOA) problems.push('the SOA is changed through soaFrom/soaTo, not removed');
    else if (removedKeys.has(k)) problems.push(`removes ${recordToText(rr)} twice`);
    else if (!hasRecord(z, rr)) problems.push(`removes ${recordToText(rr)}, which is not in the zone`);
    removedKeys.add(k);
  }
  const addedKeys = new Set<string>();
  for (const rr of c.added) {
    const k = recordKey(rr);
    const placement = checkRecordPlacement(z, rr);
    if (placement) problems.push(placement);
    else if (rr.type === Type.SOA) problems.push('the SOA is changed through soaFrom/soaTo, not added');
    else if (addedKeys.has(k)) problems.push(`adds ${recordToText(rr)} twice`);
    else if (!removedKeys.has(k) && hasRecord(z, rr)) problems.push(`adds ${recordToText(rr)}, which is already in the zone`);
    addedKeys.add(k);
  }
  if (problems.length > 0) throw new ApplyError(problems);

  // Apply on the touched owners only, checking the node rules as we go. On a conflict the
  // touched nodes are put back exactly as they were: names, TTLs, record order and bytes.
  const saved = new Map<string, ZoneNode | undefined>();
  for (const rr of [...c.removed, ...c.added]) {
    const k = nameKey(rr.name);
    if (saved.has(k)) continue;
    const node = z.nodes.get(k);
    saved.set(k, node && { name: node.name, rrsets: new Map([...node.rrsets].map(([t, s]) => [t, { ...s, rdata: [...s.rdata] }])) });
  }
  try {
    for (const rr of c.removed) removeRecord(z, rr);
    for (const rr of c.added) {
      const conflict = addConflict(z, rr);
      if (conflict) throw new ApplyError([conflict]);
      addRecord(z, rr);
    }
  } catch (e) {
    for (const [k, node] of saved) {
      if (node) z.nodes.set(k, node);
      else z.nodes.delete(k);
    }
    throw e;
  }
  setSoa(z, c.soaTo);
  return z;
}

/**
 * Applies a changeset without the checks: for a changeset just derived from this very zone
 * (a decision on a scratch view), where the checks would only repeat what made it.
 */
export function applyDerivedChangeset(z: Zone, c: Changeset): Zone {
  for (const rr of c.removed) removeRecord(z, rr);
  for (const rr of c.added) addRecord(z, rr);
  setSoa(z, c.soaTo);
  return z;
}

function setSoa(z: Zone, soa: RR): void {
  const key = nameKey(z.origin);
  let node = z.nodes.get(key);
  if (!node) {
    node = newNode(soa.name);
    z.nodes.set(key, node);
  }
  node.rrsets.set(Type.SOA, { name: node.name, type: Type.SOA, class: soa.class, ttl: soa.ttl, rdata: [soa.rdata] });
}

