// An as-of printed straight from an ordered snapshot: only the owners replay touches become a zone.
//
// A snapshot in print order (Snapshot.ordered) already is the zone as printZone prints it. An
// as-of from one loads the snapshot, replays the events after it onto a small zone that holds
// only the apex and the owners those events touch (each copied out of the snapshot the first
// time an event names it), and prints by walking the snapshot's records, putting the touched
// owners in their places and leaving their old records out. The 100k-owner zone is never built:
// no node, map or RRset per owner, and no sort but of the touched owners.

import { Class, Type } from '../../shared/dns/constants.ts';
import type { RR } from '../../shared/dns/message.ts';
import { canonicalSortKey, nameKey, type Name } from '../../shared/dns/name.ts';
import { rdataToText } from '../../shared/dns/rdata.ts';
import type { Snapshot } from '../../shared/events/types.ts';
import type { EventStore } from '../../shared/store/port.ts';
import type { Changeset } from '../../shared/zone/changeset.ts';
import { nodeLines, recordHead, recordToText, zoneLineBatches } from '../../shared/zone/printer.ts';
import { addRecord, emptyZone, soaOf, soaSerial, sortedNodes, sortedRRsets, type Zone } from '../../shared/zone/zone.ts';
import { evolveZone } from './evolve.ts';
import { NotFound, replayZone, resolveVersion, type AsOf, type MaterializeOptions } from './materialize.ts';

/** A zone as of a version, ready to print: its lines come batch by batch, as zoneLineBatches gives them. */
export interface PrintableAsOf {
  version: number;
  serial: number;
  fromSnapshot: number | null;
  /** The zone's lines (printZone's, without the newlines), in batches of about `size`. */
  lineBatches(size?: number): Generator<string[]>;
}

/**
 * The zone as of a version, serial or time, for printing once: from an ordered snapshot through
 * OrderedOverlay, else by building the whole zone (replayZone) and sorting it to print
 * (zoneLineBatches). Either way the lines are byte for byte what printZone gives for that zone.
 */
export async function printableAsOf(store: EventStore, zone: Name, asOf: AsOf = 'head', opts: MaterializeOptions = {}): Promise<PrintableAsOf> {
  const key = nameKey(zone);
  const version = await resolveVersion(store, key, asOf);
  const snap = opts.useSnapshot === false ? null : await store.loadSnapshot(key, version, { views: true });
  if (!snap?.rrs || !snap.ordered) {
    const z = await replayZone(store, key, version, snap, opts.onEvent);
    const soa = soaOf(z);
    return { version, serial: soa ? soaSerial(soa.rdata) : 0, fromSnapshot: snap?.version ?? null, lineBatches: (size) => zoneLineBatches(z, size) };
  }
  const overlay = new OrderedOverlay(snap);
  let z: Zone = overlay.zone;
  const load = (c: Changeset): void => overlay.load(c);
  for await (const e of store.readZone(key, snap.version + 1, version)) {
    z = evolveZone(z, e, load);
    opts.onEvent?.(e);
  }
  const soa = soaOf(z);
  if (!soa) throw new NotFound(`zone ${zone} has no SOA at version ${version}`);
  return { version, serial: soaSerial(soa.rdata), fromSnapshot: snap.version, lineBatches: (size) => overlay.lineBatches(size) };
}

/**
 * An ordered snapshot's records (SOA first, then owner by owner in canonical order) and a zone
 * of the owners that replay touches: the apex from the start, any other owner from the first
 * change that names it (load). lineBatches prints the result.
 */
export class OrderedOverlay {
  /** The apex and the touched owners, as replay leaves them. */
  readonly zone: Zone;
  private readonly rrs: RR[];
  /** Where each owner's records start in `rrs` (after the SOA), and one past the last owner's end. */
  private readonly starts: number[] = [];
  /** Owners (indexes into `starts`) that are in `zone` and so are not printed from `rrs`. */
  private readonly taken = new Set<number>();
  private readonly loaded = new Set<string>();
  private readonly keys = new Map<number, string>();

  constructor(snap: Snapshot & { rrs: RR[] }) {
    this.rrs = snap.rrs;
    const rrs = this.rrs;
    if (rrs.length === 0 || rrs[0].type !== Type.SOA) throw new Error(`zone ${snap.zone}: snapshot at version ${snap.version} does not start with its SOA`);
    let prevName = '';
    let prevKey = '';
    for (let i = 1; i < rrs.length; i++) {
      const name = rrs[i].name;
      if (name === prevName) continue;
      const k = nameKey(name);
      if (k !== prevKey) this.starts.push(i);
      prevName = name;
      prevKey = k;
    }
    this.starts.push(rrs.length);
    this.zone = emptyZone(snap.zone, Class.IN);
    addRecord(this.zone, rrs[0]);
    this.loadOwner(rrs[0].name);
  }

  /** Brings the owners a change names into the zone, as the snapshot has them, before it is applied. */
  load(c: Changeset): void {
    for (const rr of c.removed) this.loadOwner(rr.name);
    for (const rr of c.added) this.loadOwner(rr.name);
  }

  private loadOwner(name: Name): void {
    const k = nameKey(name);
    if (this.loaded.has(k)) return;
    this.loaded.add(k);
    const i = this.find(canonicalSortKey(name));
    if (i === this.owners || nameKey(this.rrs[this.starts[i]].name) !== k) return;
    this.taken.add(i);
    for (let j = this.starts[i]; j < this.starts[i + 1]; j++) addRecord(this.zone, this.rrs[j]);
  }

  private get owners(): number {
    return this.starts.length - 1;
  }

  /** The canonical sort key of owner `i`, computed once and only when a search asks. */
  private keyAt(i: number): string {
    let k = this.keys.get(i);
    if (k === undefined) this.keys.set(i, (k = canonicalSortKey(this.rrs[this.starts[i]].name)));
    return k;
  }

  /** The first owner whose key is not below `key` (or `owners`, past the last). */
  private find(key: string, lo = 0): number {
    let hi = this.owners;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keyAt(mid) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The zone's lines: the SOA, then each owner in canonical order, the untouched ones as the
   * snapshot has them (already in print order) and the touched ones sorted as the printer sorts.
   */
  *lineBatches(size = 4096): Generator<string[]> {
    let out: string[] = [];
    const soa = soaOf(this.zone);
    if (soa) out.push(recordToText(soa));
    // The touched owners in order, each placed before the first snapshot owner not below it.
    const moved = sortedNodes(this.zone);
    const at: number[] = [];
    let lo = 0;
    for (const n of moved) at.push((lo = this.find(canonicalSortKey(n.name), lo)));
    const rrs = this.rrs;
    let j = 0;
    for (let i = 0; i <= this.owners; i++) {
      while (j < moved.length && at[j] === i) nodeLines(sortedRRsets(moved[j++]), out);
      if (i === this.owners || this.taken.has(i)) continue;
      let prefix = '';
      let last: RR | undefined;
      for (let r = this.starts[i]; r < this.starts[i + 1]; r++) {
        const rr = rrs[r];
        if (rr.type === Type.SOA) continue;
        if (!last || rr.name !== last.name || rr.type !== last.type || rr.ttl !== last.ttl || rr.class !== last.class) {
          prefix = recordHead(rr.name, rr.ttl, rr.class, rr.type);
          last = rr;
        }
        out.push(prefix + rdataToText(rr.type, rr.rdata));
      }
      if (out.length >= size) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  }
}
