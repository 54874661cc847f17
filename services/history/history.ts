// History and audit over the event store: changes, one change, zone as of a point, diff, blame, revert.
//
// Everything here reads the store (or decides an event from zones already read); the CLI and the
// HTTP API are thin layers over it, so both answer the same questions the same way.

import { Class, typeFromName, typeName } from '../../shared/dns/constants.ts';
import { isSubdomain, nameKey, parseName, type Name } from '../../shared/dns/name.ts';
import { compareSerial } from '../../shared/dns/serial.ts';
import { changesetOf, eventSerials, zoneChanged } from '../../shared/events/codec.ts';
import type { Actor, NewEvent, StoredEvent } from '../../shared/events/types.ts';
import type { EventQuery, EventStore } from '../../shared/store/port.ts';
import { diff, type Changeset } from '../../shared/zone/changeset.ts';
import { recordToText } from '../../shared/zone/printer.ts';
import { soaOf, soaSerial, withSerial, type Zone } from '../../shared/zone/zone.ts';
import { condense } from '../primary/ixfr.ts';
import { nextSerial } from '../primary/serial-policy.ts';
import type { SerialPolicy } from '../config/types.ts';
import { printableAsOf, type PrintableAsOf } from '../projector/asof-lines.ts';
import { materializeZone, NotFound, resolveVersion, type AsOf } from '../projector/materialize.ts';

/** A request history cannot answer: an HTTP status, a stable code, and a one-line reason. */
export class HistoryError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'HistoryError';
    this.status = status;
    this.code = code;
  }
}

const badParameter = (message: string) => new HistoryError(400, 'bad-parameter', message);

/** One line of a change list. */
export interface ChangeSummary {
  zone: Name;
  version: number;
  position: number;
  id: string;
  time: string;
  type: 'ZoneCreated' | 'ZoneChanged';
  serialFrom: number | null;
  serialTo: number;
  cause: string;
  actor: Actor;
  removed: number;
  added: number;
  revertTo?: number;
  fileSerial?: number;
  note?: string;
}

/** One change in full: its SOA step and every record removed and added, as master-file lines. */
export interface ChangeDetail extends ChangeSummary {
  soaFrom: string | null;
  soaTo: string;
  removedRecords: string[];
  addedRecords: string[];
}

export function summarize(e: StoredEvent): ChangeSummary {
  const base = { zone: e.zone, version: e.version, position: e.position, id: e.id, time: e.time, type: e.type };
  if (e.type === 'ZoneCreated') {
    const d = e.data;
    return { ...base, serialFrom: null, serialTo: d.serial, cause: d.cause, actor: d.actor, removed: 0, added: (d.recordCount ?? d.records.length) + 1, ...(d.note ? { note: d.note } : {}) };
  }
  const d = e.data;
  return {
    ...base, serialFrom: d.serialFrom, serialTo: d.serialTo, cause: d.cause, actor: d.actor, removed: d.removed.length, added: d.added.length,
    ...(d.revertTo !== undefined ? { revertTo: d.revertTo } : {}), ...(d.fileSerial !== undefined ? { fileSerial: d.fileSerial } : {}), ...(d.note ? { note: d.note } : {}),
  };
}

export function detailOf(e: StoredEvent): ChangeDetail {
  if (e.type === 'ZoneCreated') return { ...summarize(e), soaFrom: null, soaTo: e.data.soa, removedRecords: [], addedRecords: [e.data.soa, ...e.data.records] };
  return { ...summarize(e), soaFrom: e.data.soaFrom, soaTo: e.data.soaTo, removedRecords: e.data.removed, addedRecords: e.data.added };
}

// ---- parsing what users type -------------------------------------------------------------

/** A zone the store holds, from text with or without the trailing dot. */
export async function knownZone(store: EventStore, text: string): Promise<Name> {
  let zone: Name;
  try {
    zone = nameKey(parseName(text.endsWith('.') ? text : `${text}.`));
  } catch (e) {
    throw badParameter(`zone "${text}": ${(e as Error).message}`);
  }
  if (!(await store.head(zone))) throw new HistoryError(404, 'unknown-zone', `zone ${zone} is not in the store`);
  return zone;
}

/** An owner name in `zone`: absolute if it ends in a dot or in the zone's name, else relative to it. */
export function nameIn(zone: Name, text: string): Name {
  if (text === '' || text === '@') return zone;
  let name: Name;
  try {
    const absolute = text.endsWith('.') ? text : isSubdomain(`${text}.`, zone) ? `${text}.` : `${text}.${zone === '.' ? '' : zone}`;
    name = nameKey(parseName(absolute));
  } catch (e) {
    throw badParameter(`name "${text}": ${(e as Error).message}`);
  }
  if (!isSubdomain(name, zone)) throw badParameter(`name ${name} is not in zone ${zone}`);
  return name;
}

export function parseSerial(text: string, what = 'serial'): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) throw badParameter(`${what} "${text}" is not a serial (0 to 4294967295)`);
  return Number(text);
}

export function parseVersion(text: string, what = 'version'): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) throw badParameter(`${what} "${text}" is not a version (1 or more)`);
  return Number(text);
}

/** An ISO 8601 time (a date alone means its midnight UTC), in the canonical form the stores compare. */
export function parseTime(text: string, what = 'time'): string {
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
  const ms = iso.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new HistoryError(400, 'bad-time', `${what} "${text}" is not an ISO 8601 time (e.g. 2026-11-22T10:00:00Z)`);
  return new Date(ms).toISOString();
}

export function parseType(text: string): number {
  const t = typeFromName(text);
  if (t === undefined) throw badParameter(`type "${text}" is not an RR type`);
  return t;
}

export function parseLimit(text: string | undefined, dflt: number, max: number): number {
  if (text === undefined) return dflt;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) throw badParameter(`limit "${text}" must be 1 to ${max}`);
  return Number(text);
}

// ---- changes -------------------------------------------------------------------------------

/** What a change list may be narrowed by; text as users give it, checked here. */
export interface ChangeFilterText {
  zone?: string;
  name?: string;
  subtree?: boolean;
  type?: string;
  since?: string;
  until?: string;
  key?: string;
  address?: string;
  peer?: string;
  user?: string;
  cause?: string;
}

const CAUSES = new Set(['update', 'reload', 'transfer-in', 'api', 'revert', 'import']);

export async function changeQuery(store: EventStore, f: ChangeFilterText): Promise<Omit<EventQuery, 'limit'>> {
  const q: Omit<EventQuery, 'limit'> = {};
  if (f.zone !== undefined) q.zone = await knownZone(store, f.zone);
  if (f.name !== undefined) {
    if (!q.zone) throw badParameter('a name filter needs a zone');
    q.name = nameIn(q.zone, f.name);
    if (f.subtree) q.subtree = true;
  } else if (f.subtree) throw badParameter('subtree needs a name');
  if (f.type !== undefined) {
    if (!q.zone) throw badParameter('a type filter needs a zone');
    q.type = parseType(f.type);
  }
  if (f.since !== undefined) q.since = parseTime(f.since, 'since');
  if (f.until !== undefined) q.until = parseTime(f.until, 'until');
  if (f.key !== undefined) {
    try {
      q.key = nameKey(parseName(f.key.endsWith('.') ? f.key : `${f.key}.`));
    } catch (e) {
      throw badParameter(`key "${f.key}": ${(e as Error).message}`);
    }
  }
  if (f.address !== undefined) q.address = f.address;
  if (f.peer !== undefined) q.peer = f.peer;
  if (f.user !== undefined) q.user = f.user;
  if (f.cause !== undefined) {
    if (!CAUSES.has(f.cause)) throw badParameter(`cause "${f.cause}" is not one of ${[...CAUSES].join(', ')}`);
    q.cause = f.cause;
  }
  return q;
}

/** A page of changes, newest first; `next` continues the list. */
export async function listChanges(store: EventStore, f: ChangeFilterText, limit: number, cursor?: string): Promise<{ changes: ChangeSummary[]; next: string | null }> {
  const q = await changeQuery(store, f);
  let before: number | undefined;
  if (cursor !== undefined && cursor !== '') {
    if (!/^\d{1,15}$/.test(cursor)) throw badParameter(`cursor "${cursor}" is not one this API gave`);
    before = Number(cursor);
  }
  const events = await store.queryEvents({ ...q, order: 'desc', before, limit: limit + 1 });
  const page = events.slice(0, limit);
  return { changes: page.map(summarize), next: events.length > limit ? String(page[page.length - 1].position) : null };
}

/** Every event matching the filter, oldest first, a page at a time: the audit export. */
export async function* auditEvents(store: EventStore, f: ChangeFilterText): AsyncGenerator<StoredEvent> {
  const q = await changeQuery(store, f);
  let after = 0;
  for (let pages = 0; pages < 1_000_000; pages++) {
    const page = await store.queryEvents({ ...q, order: 'asc', after, limit: 1000 });
    for (const e of page) yield e;
    if (page.length < 1000) return;
    after = page[page.length - 1].position;
  }
}

export async function getChange(store: EventStore, zone: Name, version: number): Promise<ChangeDetail> {
  for await (const e of store.readZone(zone, version, version)) return detailOf(e);
  throw new HistoryError(404, 'unknown-change', `zone ${zone} has no version ${version}`);
}

// ---- zone as of a point --------------------------------------------------------------------

export interface AsOfResult {
  zone: Zone;
  version: number;
  serial: number;
  time: string;
  fromSnapshot: number | null;
}

/** A version, serial or time as text (exactly one), checked. */
export function asOfFrom(p: { serial?: string; time?: string; version?: string }): AsOf {
  const given = [p.serial, p.time, p.version].filter((x) => x !== undefined);
  if (given.length > 1) throw badParameter('give one of serial, time and version');
  if (p.serial !== undefined) return { serial: parseSerial(p.serial) };
  if (p.version !== undefined) return { version: parseVersion(p.version) };
  if (p.time !== undefined) return { time: parseTime(p.time) };
  return 'head';
}

function notFound(e: unknown): never {
  if (e instanceof NotFound) {
    const code = /never had serial/.test(e.message) ? 'unknown-serial' : /not in the store/.test(e.message) ? 'unknown-zone' : 'unknown-version';
    throw new HistoryError(404, code, e.message);
  }
  throw e;
}

/**
 * The zone as of a serial, time or version. `toPrint`: the zone is only read (compared, printed)
 * and then dropped, so its snapshot may be loaded as views (see materializeZone); not for a
 * revert, whose records go on into the live zone. An as-of that is only printed is faster
 * through printAsOf.
 */
export async function zoneAsOf(store: EventStore, zone: Name, at: AsOf, onEvent?: () => void, opts: { toPrint?: boolean } = {}): Promise<AsOfResult> {
  try {
    const m = await materializeZone(store, zone, at, { onEvent, snapshotViews: opts.toPrint === true });
    const soa = soaOf(m.zone);
    return { zone: m.zone, version: m.version, serial: soa ? soaSerial(soa.rdata) : 0, time: await versionTime(store, zone, m.version), fromSnapshot: m.fromSnapshot };
  } catch (e) {
    notFound(e);
  }
}

/** When the event that made `version` was stored. */
async function versionTime(store: EventStore, zone: Name, version: number): Promise<string> {
  let time = '';
  for await (const e of store.readZone(zone, version, version)) time = e.time;
  return time;
}

/** A zone as of a serial, time or version, to print once: its lines come batch by batch. */
export interface PrintAsOfResult extends Omit<AsOfResult, 'zone'> {
  lineBatches: PrintableAsOf['lineBatches'];
}

/**
 * The zone as of a serial, time or version, to be printed once (an as-of over HTTP, an export):
 * from an ordered snapshot, only the owners replay touches are built (see printableAsOf).
 */
export async function printAsOf(store: EventStore, zone: Name, at: AsOf, onEvent?: () => void): Promise<PrintAsOfResult> {
  try {
    const p = await printableAsOf(store, zone, at, { onEvent });
    return { ...p, time: await versionTime(store, zone, p.version) };
  } catch (e) {
    notFound(e);
  }
}

// ---- diff ----------------------------------------------------------------------------------

/** Above this many events between two serials, a diff compares the two zones instead of condensing. */
const CONDENSE_LIMIT = 5000;

export interface SerialDiff {
  zone: Name;
  from: number;
  to: number;
  soaFrom: string;
  soaTo: string;
  removed: string[];
  added: string[];
}

function textDiff(zone: Name, c: Changeset): SerialDiff {
  return {
    zone, from: soaSerial(c.soaFrom!.rdata), to: soaSerial(c.soaTo.rdata), soaFrom: recordToText(c.soaFrom!), soaTo: recordToText(c.soaTo),
    removed: c.removed.map(recordToText).sort(), added: c.added.map(recordToText).sort(),
  };
}

/** The condensed change from serial `from` to serial `to` (either may be the older). */
export async function diffSerials(store: EventStore, zone: Name, from: number, to?: number, condenseLimit = CONDENSE_LIMIT): Promise<SerialDiff> {
  let vFrom: number;
  let vTo: number;
  try {
    vFrom = await resolveVersion(store, zone, { serial: from });
    vTo = await resolveVersion(store, zone, to === undefined ? 'head' : { serial: to });
  } catch (e) {
    notFound(e);
  }
  if (vFrom === vTo) {
    // No change between them: the SOA that version's event left is the whole answer.
    for await (const e of store.readZone(zone, vFrom, vFrom)) {
      const soa = e.type === 'ZoneCreated' ? e.data.soa : e.data.soaTo;
      const serial = eventSerials(e).to;
      return { zone, from: serial, to: serial, soaFrom: soa, soaTo: soa, removed: [], added: [] };
    }
    throw new HistoryError(404, 'unknown-version', `zone ${zone} has no version ${vFrom}`);
  }
  const [lo, hi] = vFrom < vTo ? [vFrom, vTo] : [vTo, vFrom];
  let forward: Changeset;
  if (hi - lo <= condenseLimit) {
    const changes: Changeset[] = [];
    for await (const e of store.readZone(zone, lo + 1, hi)) {
      if (e.type !== 'ZoneChanged') throw new HistoryError(409, 'not-contiguous', `zone ${zone} was created again at version ${e.version}; diff across it compares whole zones`);
      changes.push(changesetOf(e, Class.IN));
    }
    forward = condense(changes);
  } else {
    const [a, b] = await Promise.all([zoneAsOf(store, zone, { version: lo }, undefined, { toPrint: true }), zoneAsOf(store, zone, { version: hi }, undefined, { toPrint: true })]);
    forward = diff(a.zone, b.zone);
  }
  const c = vFrom < vTo ? forward : { soaFrom: forward.soaTo, soaTo: forward.soaFrom!, removed: forward.added, added: forward.removed };
  return textDiff(zone, c);
}

// ---- blame ---------------------------------------------------------------------------------

export interface BlameEntry extends ChangeSummary {
  removedRecords: string[];
  addedRecords: string[];
}

/** The owner and type of an absolute record line `owner TTL CLASS TYPE rdata`. */
function ownerAndType(line: string): [string, string] {
  const parts = line.split(/\s+/, 4);
  return [parts[0].toLowerCase(), parts[3]?.toUpperCase() ?? ''];
}

/** Every change that touched `name` (and `type`), oldest first, with the records it changed there. */
export async function blame(store: EventStore, zone: Name, name: Name, type?: number): Promise<BlameEntry[]> {
  const owner = nameKey(name);
  const tname = type === undefined ? undefined : typeName(type);
  const n = owner.length;
  const at = (l: string): boolean => {
    // A change's other lines are rejected by their first characters, compared case-folded,
    // without splitting the line. Anything not plain ASCII goes to the full comparison.
    for (let i = 0; i < n; i++) {
      let c = l.charCodeAt(i);
      if (c >= 0x80 || Number.isNaN(c)) break;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== owner.charCodeAt(i)) return false;
    }
    const [o, t] = ownerAndType(l);
    return o === owner && (tname === undefined || t === tname);
  };
  const out: BlameEntry[] = [];
  let after = 0;
  for (let pages = 0; pages < 10_000; pages++) {
    // A creation holds the whole zone: the store cuts it to the lines at the name.
    const page = await store.queryEvents({ zone, name: owner, type, order: 'asc', after, limit: 1000, trimCreations: true });
    for (const e of page) {
      if (e.type === 'ZoneCreated') {
        const added = e.data.records.filter(at);
        if (at(e.data.soa)) added.unshift(e.data.soa);
        out.push({ ...summarize(e), removedRecords: [], addedRecords: added });
      } else out.push({ ...summarize(e), removedRecords: e.data.removed.filter(at), addedRecords: e.data.added.filter(at) });
    }
    if (page.length < 1000) break;
    after = page[page.length - 1].position;
  }
  return out;
}

// ---- revert --------------------------------------------------------------------------------

export type RevertDecision =
  | { kind: 'change'; event: NewEvent; serialFrom: number; serialTo: number; removed: number; added: number }
  | { kind: 'unchanged'; serial: number };

/**
 * Returning `current` to `target` (the zone as of serial `revertTo`): the difference as one new
 * change, whose SOA is the target's but for a serial newer than the current one under the zone's
 * serial policy, so that secondaries follow it like any other change. Nothing is rewritten.
 */
export function decideRevert(current: Zone, target: Zone, revertTo: number, policy: SerialPolicy, actor: Actor, now = new Date(), note?: string): RevertDecision {
  const c = diff(current, target);
  const curSerial = soaSerial(c.soaFrom!.rdata);
  const sameSoa = c.soaFrom!.ttl === c.soaTo.ttl && Buffer.compare(withSerial(c.soaTo.rdata, curSerial), c.soaFrom!.rdata) === 0;
  if (c.removed.length === 0 && c.added.length === 0 && sameSoa) return { kind: 'unchanged', serial: curSerial };
  const serialTo = nextSerial(policy, curSerial, now);
  if (compareSerial(serialTo, curSerial) !== 'gt') throw new Error(`revert: serial ${serialTo} is not newer than ${curSerial}`);
  const stored: Changeset = { ...c, soaTo: { ...c.soaTo, rdata: withSerial(c.soaTo.rdata, serialTo) } };
  return {
    kind: 'change', event: zoneChanged(stored, 'revert', actor, now, { revertTo, ...(note ? { note } : {}) }),
    serialFrom: curSerial, serialTo, removed: c.removed.length, added: c.added.length,
  };
}

/**
 * True when the zone's copy in this store comes from transfers: a secondary's zone, which only
 * its primary may change.
 */
export async function isTransferredZone(store: EventStore, zone: Name): Promise<boolean> {
  const head = await store.head(zone);
  if (!head) return false;
  for await (const e of store.readZone(zone, head.version, head.version)) return e.data.cause === 'transfer-in';
  return false;
}

