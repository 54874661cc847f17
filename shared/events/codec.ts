// Between events and the zone model: changesets and zones to event bodies, and back.

import { Type } from '../dns/constants.ts';
import type { RR } from '../dns/message.ts';
import type { Changeset } from '../zone/changeset.ts';
import { parseRecordLine } from '../zone/parser.ts';
import { recordToText } from '../zone/printer.ts';
import { addRecord, emptyZone, recordsOf, soaOf, soaSerial, type Zone } from '../zone/zone.ts';
import { uuidv7 } from './id.ts';
import type { Actor, ChangeCause, CreateCause, NewEvent, Snapshot, ZoneEventBody } from './types.ts';

/** The serials an event moves between; `from` is null for a creation. */
export function eventSerials(e: ZoneEventBody): { from: number | null; to: number } {
  return e.type === 'ZoneCreated' ? { from: null, to: e.data.serial } : { from: e.data.serialFrom, to: e.data.serialTo };
}

function stamp(body: ZoneEventBody, now: Date): NewEvent {
  return { ...body, id: uuidv7(now.getTime()), time: now.toISOString() };
}

/** A whole zone as ZoneCreated and snapshots hold it: the serial, the SOA line, every other record's line. */
function wholeZone(z: Zone): { serial: number; soa: string; records: string[] } {
  const soa = soaOf(z);
  if (!soa) throw new Error(`zone ${z.origin} has no SOA`);
  const records: string[] = [];
  for (const rr of recordsOf(z)) if (rr.type !== Type.SOA) records.push(recordToText(rr));
  return { serial: soaSerial(soa.rdata), soa: recordToText(soa), records };
}

export function zoneCreated(z: Zone, cause: CreateCause, actor: Actor, now = new Date(), note?: string): NewEvent {
  return stamp({ type: 'ZoneCreated', schemaVersion: 1, data: { ...wholeZone(z), cause, actor, ...(note ? { note } : {}) } }, now);
}

export function zoneChanged(c: Changeset, cause: ChangeCause, actor: Actor, now = new Date(), extra: { revertTo?: number; fileSerial?: number; note?: string } = {}): NewEvent {
  if (!c.soaFrom) throw new Error('a ZoneChanged event needs the SOA it starts from');
  return stamp({
    type: 'ZoneChanged', schemaVersion: 1,
    data: {
      serialFrom: soaSerial(c.soaFrom.rdata), serialTo: soaSerial(c.soaTo.rdata),
      soaFrom: recordToText(c.soaFrom), soaTo: recordToText(c.soaTo),
      removed: c.removed.map(recordToText), added: c.added.map(recordToText),
      cause, actor, ...extra,
    },
  }, now);
}

function lines(ls: string[], klass: number): RR[] {
  return ls.map((l) => parseRecordLine(l, klass));
}

/** The changeset a ZoneChanged event records. */
export function changesetOf(e: ZoneEventBody & { type: 'ZoneChanged' }, klass: number): Changeset {
  return { soaFrom: parseRecordLine(e.data.soaFrom, klass), soaTo: parseRecordLine(e.data.soaTo, klass), removed: lines(e.data.removed, klass), added: lines(e.data.added, klass) };
}

/** A zone from a ZoneCreated event or a snapshot: an SOA and the other records. */
export function zoneFromRecords(origin: string, klass: number, soa: string, records: string[]): Zone {
  const z = emptyZone(origin, klass);
  addRecord(z, parseRecordLine(soa, klass));
  for (const l of records) addRecord(z, parseRecordLine(l, klass));
  return z;
}

/** A snapshot as text lines, the schema's form. */
export function snapshotOf(z: Zone, version: number, now = new Date()): Snapshot {
  return { zone: z.origin, version, time: now.toISOString(), ...wholeZone(z) };
}

/**
 * A snapshot as records in wire form, SOA first: what the server saves (no text to write or
 * parse). The store puts them in print order off this thread as it saves them (snapshotBody).
 */
export function snapshotRecords(z: Zone, version: number, now = new Date()): Snapshot {
  const soa = soaOf(z);
  if (!soa) throw new Error(`zone ${z.origin} has no SOA`);
  const rrs: RR[] = [soa];
  for (const rr of recordsOf(z)) if (rr.type !== Type.SOA) rrs.push(rr);
  return { zone: z.origin, version, serial: soaSerial(soa.rdata), time: now.toISOString(), rrs };
}

/** The zone a snapshot of either form holds. */
export function zoneFromSnapshot(s: Snapshot, klass: number): Zone {
  if (!s.rrs) return zoneFromRecords(s.zone, klass, s.soa, s.records);
  const z = emptyZone(s.zone, klass);
  for (const rr of s.rrs) addRecord(z, rr);
  return z;
}
