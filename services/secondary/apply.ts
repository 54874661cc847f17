// What a transfer in becomes: events of cause `transfer-in`, checked strictly against the zone
// they follow. Pure: a transfer that does not apply throws, and the zone given is left as it was.

import type { RR } from '../../shared/dns/message.ts';
import { nameKey, type Name } from '../../shared/dns/name.ts';
import { compareSerial } from '../../shared/dns/serial.ts';
import { zoneChanged, zoneCreated } from '../../shared/events/codec.ts';
import type { Actor, NewEvent } from '../../shared/events/types.ts';
import { ApplyError, applyChangeset, diff, isEmptyChange, type Changeset } from '../../shared/zone/changeset.ts';
import { addConflict, addRecord, cloneZone, emptyZone, soaOf, soaSerial, type Zone } from '../../shared/zone/zone.ts';
import { TransferError, type Pulled } from './transfer-in.ts';

export interface TransferApplied {
  /** One per IXFR difference sequence, or one for an AXFR (ZoneCreated for the first). */
  events: NewEvent[];
  /** The zone after them (a new object; the one given is untouched). */
  zone: Zone;
}

export interface ApplyOptions {
  /**
   * Build the whole zone after the transfer (default true). Without it an IXFR is checked on
   * copies of the names it touches only, which costs nothing like a copy of a large zone.
   */
  zone?: boolean;
  /**
   * Take an AXFR whose serial is not newer than ours (a primary reset or rolled back). Off by
   * default: such a transfer is refused, and the caller logs why.
   */
  allowSerialReset?: boolean;
}

/** The zone an AXFR carries, with the same placement rules as a zone file. */
export function zoneFromTransfer(origin: Name, klass: number, soa: RR, records: readonly RR[]): Zone {
  const z = emptyZone(origin, klass);
  addRecord(z, soa);
  const problems: string[] = [];
  for (const rr of records.slice(1)) {
    const conflict = addConflict(z, rr);
    if (conflict) problems.push(conflict);
    else if (!addRecord(z, rr)) problems.push(`${rr.name} type ${rr.type}: the same record twice`);
  }
  if (problems.length > 0) throw new ApplyError(problems);
  return z;
}

/**
 * A zone holding copies of only the apex and the names the changes touch: every check that
 * applyChangeset makes looks at the owner's node and the SOA, nothing else.
 */
function touchedOnly(z: Zone, changes: readonly Changeset[]): Zone {
  const out: Zone = { origin: z.origin, class: z.class, nodes: new Map() };
  const copy = (k: string): void => {
    if (out.nodes.has(k)) return;
    const node = z.nodes.get(k);
    if (node) out.nodes.set(k, { name: node.name, rrsets: new Map([...node.rrsets].map(([t, set]) => [t, { ...set, rdata: [...set.rdata] }])) });
  };
  copy(nameKey(z.origin));
  for (const c of changes) for (const rr of [...c.removed, ...c.added]) copy(nameKey(rr.name));
  return out;
}

/**
 * Turns a transfer into events. IXFR: every difference sequence must apply strictly to the
 * zone as the one before left it (no removing what is absent, no adding what is present, an
 * unbroken SOA chain), or none is taken. AXFR: diffed against the current zone, so a secondary
 * that took a full transfer still has a change history to serve IXFR from.
 */
export function transferEvents(current: Zone | null, origin: Name, klass: number, pulled: Pulled, actor: Actor, now: Date, o: ApplyOptions & { zone: false }): { events: NewEvent[]; zone?: Zone };
export function transferEvents(current: Zone | null, origin: Name, klass: number, pulled: Pulled, actor: Actor, now?: Date, o?: ApplyOptions): TransferApplied;
export function transferEvents(current: Zone | null, origin: Name, klass: number, pulled: Pulled, actor: Actor, now = new Date(), o: ApplyOptions = {}): { events: NewEvent[]; zone?: Zone } {
  if (pulled.kind === 'up-to-date') {
    if (!current) throw new TransferError('the primary says we are up to date, but we have no zone');
    return { events: [], zone: current };
  }
  if (pulled.kind === 'ixfr') {
    if (!current) throw new TransferError('an incremental answer, but we have no zone to apply it to');
    const z = o.zone === false ? touchedOnly(current, pulled.changes) : cloneZone(current);
    const events: NewEvent[] = [];
    pulled.changes.forEach((c, i) => {
      try {
        applyChangeset(z, c);
      } catch (e) {
        if (e instanceof ApplyError) throw new ApplyError(e.problems.map((p) => `difference sequence ${i + 1} of ${pulled.changes.length}: ${p}`));
        throw e;
      }
      events.push(zoneChanged(c, 'transfer-in', actor, now));
    });
    return o.zone === false ? { events } : { events, zone: z };
  }
  const next = zoneFromTransfer(origin, klass, pulled.soa, pulled.records);
  if (!current) return { events: [zoneCreated(next, 'transfer-in', actor, now)], zone: next };
  const ours = soaSerial(soaOf(current)!.rdata);
  const theirs = soaSerial(pulled.soa.rdata);
  const order = compareSerial(theirs, ours);
  const c = diff(current, next);
  if (order === 'eq' && isEmptyChange(c)) return { events: [], zone: current };
  if (order !== 'gt' && !o.allowSerialReset) {
    throw new TransferError(`the primary's serial ${theirs} is not newer than ours (${ours}): ${order === 'eq' ? 'same serial, different data' : order === 'lt' ? 'it went backwards' : 'incomparable (2^31 apart)'}; refused (allow a serial reset to take it)`);
  }
  return { events: [zoneChanged(c, 'transfer-in', actor, now, order === 'gt' ? {} : { note: `serial reset by the primary: ${ours} -> ${theirs}` })], zone: next };
}
