// Building a zone from the store: the latest snapshot at or before the target, plus the events after it.

import { Class } from '../../shared/dns/constants.ts';
import { nameKey, type Name } from '../../shared/dns/name.ts';
import { zoneFromSnapshot } from '../../shared/events/codec.ts';
import type { Snapshot, StoredEvent } from '../../shared/events/types.ts';
import type { EventStore } from '../../shared/store/port.ts';
import type { Zone } from '../../shared/zone/zone.ts';
import { evolveZone, replay } from './evolve.ts';
import type { ZoneIndex } from './zone-index.ts';

/** Which version of a zone: a stream version, the version that produced a serial, or a time. */
export type AsOf = { version: number } | { serial: number } | { time: string } | 'head';

export class NotFound extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFound';
  }
}

/** The stream version `asOf` designates, or throws NotFound. */
export async function resolveVersion(store: EventStore, zone: Name, asOf: AsOf): Promise<number> {
  const head = await store.head(zone);
  if (!head) throw new NotFound(`zone ${zone} is not in the store`);
  if (asOf === 'head') return head.version;
  if ('version' in asOf) {
    if (asOf.version < 1 || asOf.version > head.version) throw new NotFound(`zone ${zone} has versions 1..${head.version}, not ${asOf.version}`);
    return asOf.version;
  }
  if ('serial' in asOf) {
    const v = await store.versionOfSerial(zone, asOf.serial);
    if (v === null) throw new NotFound(`zone ${zone} never had serial ${asOf.serial}`);
    return v;
  }
  const v = await store.versionAt(zone, asOf.time);
  if (v === null) throw new NotFound(`zone ${zone} did not exist yet at ${asOf.time}`);
  return v;
}

export interface MaterializeOptions {
  /** Start from the latest snapshot at or before the target (default true). */
  useSnapshot?: boolean;
  onEvent?: (e: StoredEvent) => void;
}

/** The zone as of a version, serial or time. */
export async function materialize(store: EventStore, zone: Name, asOf: AsOf = 'head', opts: MaterializeOptions = {}): Promise<{ index: ZoneIndex; version: number; fromSnapshot: number | null }> {
  const key = nameKey(zone);
  const version = await resolveVersion(store, key, asOf);
  const snap = opts.useSnapshot === false ? null : await store.loadSnapshot(key, version);
  const start = snap ? zoneFromSnapshot(snap, Class.IN) : null;
  const index = await replay(store.readZone(key, (snap?.version ?? 0) + 1, version), start, opts.onEvent);
  if (!index) throw new NotFound(`zone ${zone} has no events up to version ${version}`);
  return { index, version, fromSnapshot: snap?.version ?? null };
}

/**
 * The bare zone as of a version, serial or time, without the index queries need: for reads
 * that compare it (a diff, a revert's target) or print it whole. `snapshotViews` loads the
 * snapshot's rdata as views (see EventStore.loadSnapshot): only for a zone that is read and then
 * dropped, never one whose records go on into the live zone or to another thread. (An as-of
 * that is only printed goes through printableAsOf, which is faster from an ordered snapshot.)
 */
export async function materializeZone(store: EventStore, zone: Name, asOf: AsOf = 'head', opts: MaterializeOptions & { snapshotViews?: boolean } = {}): Promise<{ zone: Zone; version: number; fromSnapshot: number | null }> {
  const key = nameKey(zone);
  const version = await resolveVersion(store, key, asOf);
  const snap = opts.useSnapshot === false ? null : await store.loadSnapshot(key, version, { views: opts.snapshotViews === true });
  return { zone: await replayZone(store, key, version, snap, opts.onEvent), version, fromSnapshot: snap?.version ?? null };
}

/** The bare zone at `version`: `snap` (if any) plus the events after it. */
export async function replayZone(store: EventStore, key: string, version: number, snap: Snapshot | null, onEvent?: (e: StoredEvent) => void): Promise<Zone> {
  let z = snap ? zoneFromSnapshot(snap, Class.IN) : null;
  for await (const e of store.readZone(key, (snap?.version ?? 0) + 1, version)) {
    z = evolveZone(z, e);
    onEvent?.(e);
  }
  if (!z) throw new NotFound(`zone ${key} has no events up to version ${version}`);
  return z;
}
