// What the SQL adapters share: the append rules, the event row and the compressed snapshot body.

import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Name } from '../dns/name.ts';
import { eventSerials } from '../events/codec.ts';
import type { RR } from '../dns/message.ts';
import { CURRENT_SCHEMA, type NewEvent, type Snapshot, type StoredEvent } from '../events/types.ts';
import { upcast } from '../events/upcast.ts';
import { ConcurrencyError, type ExpectedVersion, type WireSnapshot } from './port.ts';
import { Type } from '../dns/constants.ts';
import { getRRset, soaSerial, type RRset, type Zone } from '../zone/zone.ts';
import { filterColumns, indexedNames, type FilterColumns, type IndexedNames } from './names-index.ts';
import { orderedSnapshotBody } from './snapshot-order.ts';

/** The `to` of an open-ended readZone. */
export const LAST_VERSION = Number.MAX_SAFE_INTEGER;

/** Events fetched per query while a readZone is iterated, so no statement outlives a yield. */
export const READ_PAGE = 500;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * An ISO 8601 time in the one form Date.toISOString writes. Stores compare times as text
 * (SQLite) or parse them (PostgreSQL); one form makes both orders agree and lets an event
 * come back byte for byte.
 */
export function canonicalTime(time: string, what: string): string {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) throw new RangeError(`${what}: "${time}" is not an ISO 8601 time`);
  return new Date(ms).toISOString();
}

/** Refuses a time that would not come back as written. */
export function requireCanonicalTime(time: string, what: string): string {
  if (canonicalTime(time, what) !== time) throw new RangeError(`${what}: time "${time}" must be UTC as Date.toISOString() writes it`);
  return time;
}

/**
 * An event as both adapters write it: the body's fields as columns, its data as JSON text, and
 * its name index rows, all made before the transaction (and, for SQLite, sent as they are to
 * the append thread).
 */
export interface EventInsert extends FilterColumns, IndexedNames {
  id: string;
  type: string;
  schemaVersion: number;
  serialFrom: number | null;
  serialTo: number;
  time: string;
  data: string;
}

/** Checks a batch before its transaction starts, so a bad event never costs a lock. */
export function eventInserts(zone: Name, events: NewEvent[]): EventInsert[] {
  if (events.length === 0) throw new RangeError(`zone ${zone}: an append needs at least one event`);
  const seen = new Set<string>();
  return events.map((e, i) => {
    const where = `zone ${zone}: event ${i} of the batch`;
    if (!UUID.test(e.id)) throw new RangeError(`${where}: id "${e.id}" is not a lower-case UUID`);
    if (seen.has(e.id)) throw new RangeError(`${where}: id ${e.id} appears twice in the batch`);
    seen.add(e.id);
    requireCanonicalTime(e.time, where);
    if (e.type !== 'ZoneCreated' && e.type !== 'ZoneChanged') throw new RangeError(`${where}: unknown type "${(e as { type: string }).type}"`);
    if (!Number.isInteger(e.schemaVersion) || e.schemaVersion < 1) throw new RangeError(`${where}: bad schemaVersion ${e.schemaVersion}`);
    const { from, to } = eventSerials(e);
    const index = indexedNames(e, (line, reason) => {
      throw new RangeError(`${where}: record "${line}": ${reason}`);
    });
    return {
      id: e.id, type: e.type, schemaVersion: e.schemaVersion, serialFrom: from, serialTo: to, time: e.time, data: JSON.stringify(e.data),
      ...filterColumns(e), ...index,
    };
  });
}

/** The optimistic concurrency rule: a number is the stream's version, and no stream is version 0. */
export function checkExpected(zone: Name, expected: ExpectedVersion, actual: number): void {
  if (expected === 'any') return;
  const want = expected === 'no-zone' ? 0 : expected;
  if (want !== actual) throw new ConcurrencyError(zone, expected, actual);
}

export function duplicateIdError(zone: Name, ids: string[]): Error {
  return new Error(`zone ${zone}: already stored, and an event is appended only once: ${ids.join(', ')}`);
}

/** An event row read back, with `data` already parsed and `time` as text. */
export interface EventRow {
  position: number;
  id: string;
  zone: string;
  version: number;
  type: string;
  schemaVersion: number;
  time: string;
  data: unknown;
}

/** A stored event in the current schema: rows written under older versions are upcast on read. */
export function storedEvent(r: EventRow): StoredEvent {
  const body = upcast({ type: r.type, schemaVersion: r.schemaVersion, data: r.data as Record<string, unknown> });
  return { ...body, id: r.id, time: r.time, zone: r.zone, version: r.version, position: r.position };
}

/** The owner of a record line `owner TTL CLASS TYPE rdata`, lower-cased. */
function lineOwner(line: string): string {
  return line.split(/\s/, 1)[0].toLowerCase();
}

/**
 * An event read by queryEvents with trimCreations (`owner` in nameKey form), from its row with
 * the data still JSON text: a creation keeps only its lines at `owner`, and says in
 * `recordCount` how many it holds. A creation in the current schema, as JSON.stringify wrote it,
 * is walked rather than parsed, so a zone's worth of lines never becomes strings; anything else
 * is parsed and upcast whole, then cut.
 */
export function trimmedEvent(r: Omit<EventRow, 'data'>, text: string, owner: string): StoredEvent {
  if (r.type === 'ZoneCreated' && r.schemaVersion === CURRENT_SCHEMA.ZoneCreated) {
    const data = walkedCreation(text, owner);
    if (data) return storedEvent({ ...r, data });
  }
  const e = storedEvent({ ...r, data: JSON.parse(text) });
  if (e.type !== 'ZoneCreated') return e;
  const records = e.data.records;
  return { ...e, data: { ...e.data, records: records.filter((l) => lineOwner(l) === owner), recordCount: records.length } };
}

const RECORDS_KEY = '"records":[';

/**
 * A creation's data from its JSON text, its records cut to those at `owner`, or null when the
 * text is not laid out as JSON.stringify writes it. Within a JSON string every quote is
 * escaped, so the records key, and each element's closing quote, are found by searching for
 * quotes: an element whose first characters cannot be `owner` is counted and skipped unread.
 * Exported for its tests.
 */
export function walkedCreation(text: string, owner: string): Record<string, unknown> | null {
  const key = text.indexOf(RECORDS_KEY);
  if (key < 0) return null;
  const want = JSON.stringify(owner).slice(1, -1);
  const kept: string[] = [];
  let count = 0;
  let i = key + RECORDS_KEY.length;
  let end: number;
  if (text.charCodeAt(i) === 0x5d /* ] */) end = i;
  else {
    for (;;) {
      if (text.charCodeAt(i) !== 0x22 /* " */) return null;
      let close = i + 1;
      for (;;) {
        close = text.indexOf('"', close);
        if (close < 0) return null;
        let slashes = 0;
        while (text.charCodeAt(close - 1 - slashes) === 0x5c /* \ */) slashes++;
        if (slashes % 2 === 0) break;
        close++;
      }
      count++;
      if (mayStartWith(text, i + 1, close, want)) {
        const line = JSON.parse(text.slice(i, close + 1)) as string;
        if (lineOwner(line) === owner) kept.push(line);
      }
      const next = text.charCodeAt(close + 1);
      if (next === 0x2c /* , */) i = close + 2;
      else if (next === 0x5d) {
        end = close + 1;
        break;
      } else return null;
    }
  }
  const rest = JSON.parse(`${text.slice(0, key)}${RECORDS_KEY}]${text.slice(end + 1)}`) as Record<string, unknown>;
  return { ...rest, records: kept, recordCount: count };
}

/**
 * Whether the JSON string text in [from, to) may begin with `want` (lower case, as JSON
 * writes it): ASCII letters compared case-folded. An escape or a non-ASCII character before
 * the answer is certain says yes, and the caller decodes the line and looks again. Text
 * shorter than `want` cannot: JSON has no shorter way to write a character than JSON.stringify's.
 */
function mayStartWith(text: string, from: number, to: number, want: string): boolean {
  const n = want.length;
  if (to - from < n) return false;
  for (let k = 0; k < n; k++) {
    let c = text.charCodeAt(from + k);
    if (c === 0x5c || c >= 0x80) return true;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== want.charCodeAt(k)) return false;
  }
  return true;
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The first octets of a binary snapshot body (after gunzip); a JSON body starts with "{". */
const WIRE_MAGIC = Buffer.from('ZLS2');
/** The same layout, its records in print order (Snapshot.ordered). */
const ORDERED_MAGIC = Buffer.from('ZLS3');

/**
 * A snapshot body, gzip-compressed: JSON `{soa, records}` for a text snapshot, or for one in
 * wire form "ZLS2", a record count, and each record as owner (length-prefixed presentation
 * text, case kept), type, class, TTL, rdata length and rdata. "ZLS3" is the same with the
 * records in print order (Snapshot.ordered): records that are not yet are put in that order on
 * a thread of their own (snapshot-order.ts), so a snapshot of a big zone costs the thread that
 * answers queries no sort. A 150k-record zone is ~8 MB of JSON; the binary form is smaller and
 * loads several times faster, with no text to parse. zlib runs on the thread pool, so the event
 * loop keeps answering.
 */
export async function snapshotBody(s: Snapshot | WireSnapshot): Promise<Buffer> {
  if ('wire' in s) return orderedSnapshotBody(s.wire);
  if (!s.rrs) return gzipAsync(JSON.stringify({ soa: s.soa, records: s.records }));
  if (s.ordered) return gzipAsync(encodeSnapshotRecords(s.rrs, true));
  return orderedSnapshotBody(encodeSnapshotRecords(s.rrs, false));
}

/**
 * A snapshot of a zone as it stands, for saving: its records encoded straight from the zone
 * into the unpacked "ZLS2" body, SOA first, then every other record in the zone's own order
 * (what encodeSnapshotRecords makes of snapshotRecords' list). A snapshot is taken on the
 * thread that answers; an object per record (150k for the bench zone) cost it 80–210 ms and a
 * young generation full of them to copy, where this costs one buffer.
 */
export function zoneSnapshot(z: Zone, version: number, now = new Date()): WireSnapshot {
  const soa = getRRset(z, z.origin, Type.SOA);
  if (!soa || soa.rdata.length === 0) throw new Error(`zone ${z.origin} has no SOA`);
  // A name is ASCII text (name.ts escapes every other octet): one octet per character.
  let count = 1;
  let size = 8 + 2 + soa.name.length + 10 + soa.rdata[0].length;
  for (const node of z.nodes.values()) {
    for (const set of node.rrsets.values()) {
      if (set.type === Type.SOA) continue;
      for (const d of set.rdata) size += 2 + set.name.length + 10 + d.length;
      count += set.rdata.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  WIRE_MAGIC.copy(out, 0);
  out.writeUInt32BE(count, 4);
  let o = 8;
  // Each RRset's owner is encoded once; its other records copy those octets.
  const put = (set: RRset, only?: Uint8Array): void => {
    const nameAt = o + 2;
    for (const d of only ? [only] : set.rdata) o = putRecord(out, o, set.name, o + 2 === nameAt ? -1 : nameAt, set.type, set.class, set.ttl, d);
  };
  put(soa, soa.rdata[0]);
  for (const node of z.nodes.values()) for (const set of node.rrsets.values()) if (set.type !== Type.SOA) put(set);
  if (o !== size) throw new Error(`zone ${z.origin}: snapshot body of ${o} octets, ${size} expected`);
  return { zone: z.origin, version, serial: soaSerial(soa.rdata[0]), time: now.toISOString(), wire: out };
}

/** The unpacked binary body ("ZLS3" if `ordered`, else "ZLS2") of wire-form records. */
export function encodeSnapshotRecords(rrs: readonly RR[], ordered: boolean): Buffer {
  // A name is ASCII text (name.ts escapes every other octet): one octet per character.
  let size = 8;
  for (const rr of rrs) size += 2 + rr.name.length + 10 + rr.rdata.length;
  const out = Buffer.allocUnsafe(size);
  (ordered ? ORDERED_MAGIC : WIRE_MAGIC).copy(out, 0);
  out.writeUInt32BE(rrs.length, 4);
  let o = 8;
  let last: string | null = null;
  let lastAt = -1;
  for (const rr of rrs) {
    const at = o + 2;
    o = putRecord(out, o, rr.name, rr.name === last ? lastAt : -1, rr.type, rr.class, rr.ttl, rr.rdata);
    if (rr.name !== last) {
      last = rr.name;
      lastAt = at;
    }
  }
  return out.subarray(0, o);
}

/**
 * One record of a binary body at `o`: the owner's length and octets (copied from `nameAt` when
 * the same name was written there, else encoded), type, class, TTL, rdata length and rdata.
 * Octet by octet: for records of a few octets, cheaper than a call per field. Returns the end.
 */
function putRecord(out: Buffer, o: number, name: string, nameAt: number, type: number, klass: number, ttl: number, d: Uint8Array): number {
  const n = name.length;
  out[o] = n >> 8;
  out[o + 1] = n;
  if (nameAt < 0) for (let i = 0; i < n; i++) out[o + 2 + i] = name.charCodeAt(i);
  else for (let i = 0; i < n; i++) out[o + 2 + i] = out[nameAt + i];
  o += 2 + n;
  out[o] = type >> 8;
  out[o + 1] = type;
  out[o + 2] = klass >> 8;
  out[o + 3] = klass;
  out[o + 4] = ttl >>> 24;
  out[o + 5] = ttl >>> 16;
  out[o + 6] = ttl >>> 8;
  out[o + 7] = ttl;
  out[o + 8] = d.length >> 8;
  out[o + 9] = d.length;
  o += 10;
  if (d.length <= 16) for (let i = 0; i < d.length; i++) out[o + i] = d[i];
  else out.set(d, o);
  return o + d.length;
}

/** A snapshot from its stored body; `views`: rdata as views into the unpacked body (see EventStore.loadSnapshot). */
export async function snapshotFromBody(zone: Name, version: number, serial: number, time: string, body: Uint8Array, views = false): Promise<Snapshot> {
  const raw = await gunzipAsync(body);
  const wire = decodeSnapshotRecords(raw, `zone ${zone}: snapshot at version ${version}`, views);
  if (wire) return { zone, version, serial, time, ...wire };
  const { soa, records } = JSON.parse(raw.toString('utf8')) as { soa: string; records: string[] };
  return { zone, version, serial, time, soa, records };
}

/** The records of an unpacked binary body, or null for a JSON one; `what` names it in errors. */
export function decodeSnapshotRecords(raw: Buffer, what: string, views = false): { rrs: RR[]; ordered: boolean } | null {
  const ordered = raw.length >= 8 && raw.compare(ORDERED_MAGIC, 0, 4, 0, 4) === 0;
  if (!ordered && (raw.length < 8 || raw.compare(WIRE_MAGIC, 0, 4, 0, 4) !== 0)) return null;
  const count = raw.readUInt32BE(4);
  const rrs: RR[] = new Array(count);
  let o = 8;
  const bad = (): never => {
    throw new Error(`${what} is cut short at octet ${o}`);
  };
  for (let i = 0; i < count; i++) {
    if (o + 2 > raw.length) bad();
    const n = raw.readUInt16BE(o);
    if (o + 2 + n + 10 > raw.length) bad();
    const name = raw.toString('latin1', o + 2, o + 2 + n);
    o += 2 + n;
    const len = raw.readUInt16BE(o + 8);
    if (o + 10 + len > raw.length) bad();
    // A copy per record unless asked: views would keep the whole body alive and travel whole
    // to query threads.
    let rdata: Uint8Array;
    if (views) rdata = raw.subarray(o + 10, o + 10 + len);
    else {
      rdata = new Uint8Array(len);
      rdata.set(raw.subarray(o + 10, o + 10 + len));
    }
    rrs[i] = { name, type: raw.readUInt16BE(o), class: raw.readUInt16BE(o + 2), ttl: raw.readUInt32BE(o + 4), rdata };
    o += 10 + len;
  }
  if (o !== raw.length) throw new Error(`${what} has ${raw.length - o} octets after its ${count} records`);
  return { rrs, ordered };
}
