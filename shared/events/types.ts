// Zone-change events: the immutable facts zonelog stores, one per change, naming who made it.

import type { RR } from '../dns/message.ts';
import type { Name } from '../dns/name.ts';

/** What caused a change, in the words operators use. */
export type ChangeCause = 'update' | 'reload' | 'transfer-in' | 'api' | 'revert';
export type CreateCause = 'import' | 'transfer-in' | 'api';

/** Who made a change and from where. Fields that do not apply are left out. */
export interface Actor {
  /** TSIG key name that signed the request. */
  key?: string;
  /** Source address and port of the request. */
  address?: string;
  port?: number;
  /** The primary a transfer came from, as host:port. */
  peer?: string;
  /** A person or tool, for API edits, imports and reverts. */
  user?: string;
}

/** A zone born whole at its first serial. Records are absolute `owner TTL CLASS TYPE rdata` lines. */
export interface ZoneCreatedData {
  serial: number;
  soa: string;
  /** Every record but the SOA (read with EventQuery.trimCreations: only those at one name). */
  records: string[];
  /** Read with EventQuery.trimCreations only: how many records the stored event holds. Never stored. */
  recordCount?: number;
  cause: CreateCause;
  actor: Actor;
  note?: string;
}

/** One version step: what was removed and added between two serials. */
export interface ZoneChangedData {
  serialFrom: number;
  serialTo: number;
  soaFrom: string;
  soaTo: string;
  removed: string[];
  added: string[];
  cause: ChangeCause;
  actor: Actor;
  /** For a revert: the serial the zone's data was returned to. */
  revertTo?: number;
  /** For a reload stored under a serial other than the file's: the serial the file carried. */
  fileSerial?: number;
  note?: string;
}

export const CURRENT_SCHEMA = { ZoneCreated: 1, ZoneChanged: 1, Snapshot: 1 } as const;

export type ZoneEventBody =
  | { type: 'ZoneCreated'; schemaVersion: 1; data: ZoneCreatedData }
  | { type: 'ZoneChanged'; schemaVersion: 1; data: ZoneChangedData };

/** An event ready to append: its id (UUIDv7) and the time it was decided. */
export type NewEvent = ZoneEventBody & { id: string; time: string };

/** An event as stored: its zone, its version in the zone's stream and its global position. */
export type StoredEvent = NewEvent & { zone: Name; version: number; position: number };

/**
 * A zone's full contents at one version of its stream, so replay can start there. Either as
 * text (`soa` and the other `records` as lines: the form schemas/events/Snapshot.v1.json
 * describes) or as records in wire form (`rrs`, SOA first), which the stores keep in a binary
 * body that loads without parsing text. Snapshots are derived data: either form gives the same zone.
 * `ordered`: the `rrs` are in the order a zone prints in (SOA, then owners in canonical order,
 * each owner's RRsets by type and their rdata in canonical order), so an as-of prints them as
 * they are and sorts only the owners replay touched (asof-lines.ts OrderedOverlay).
 */
export type Snapshot = {
  zone: Name;
  version: number;
  serial: number;
  time: string;
} & ({ soa: string; records: string[]; rrs?: undefined; ordered?: undefined } | { rrs: RR[]; soa?: undefined; records?: undefined; ordered?: boolean });
