// The EventStore port: append-only zone streams with optimistic concurrency, a global order, and snapshots.

import type { Name } from '../dns/name.ts';
import type { NewEvent, Snapshot, StoredEvent } from '../events/types.ts';

/**
 * A snapshot to save, its records already laid out as the stores' unordered binary body
 * (rows.ts zoneSnapshot): made from a live zone in one pass, with no object per record, on
 * the thread that answers queries. Saving puts it in print order on a thread of its own, as
 * for a Snapshot with `rrs`; it loads back as one.
 */
export interface WireSnapshot {
  zone: Name;
  version: number;
  serial: number;
  time: string;
  wire: Buffer;
}

/**
 * What the appender believes the zone's stream is at: a version (the last event's), 'no-zone'
 * (the stream must not exist yet), or 'any' (no check).
 */
export type ExpectedVersion = number | 'no-zone' | 'any';

export class ConcurrencyError extends Error {
  readonly zone: Name;
  readonly expected: ExpectedVersion;
  readonly actual: number;
  constructor(zone: Name, expected: ExpectedVersion, actual: number) {
    super(`zone ${zone}: expected version ${expected}, but the stream is at ${actual}`);
    this.name = 'ConcurrencyError';
    this.zone = zone;
    this.expected = expected;
    this.actual = actual;
  }
}

export interface AppendOptions {
  /**
   * The id of the event the batch must follow: the stream's event at `expected` must be this
   * one, or the append fails with ConcurrencyError. A writer that sends a batch before the one
   * it builds on is durable uses it, so that if the first fails the second can never land on
   * top of someone else's events that happen to reach the same version.
   */
  after?: string;
}

export interface AppendResult {
  /** Version of the last event written (the stream's new head). */
  version: number;
  /** Global position of the last event written. */
  position: number;
}

export interface ZoneHead {
  zone: Name;
  version: number;
  serial: number;
}

/**
 * A search of the stored events, newest first by default. Every filter given must hold. Names
 * are in nameKey form (lower case, absolute); a name filter needs `zone`.
 */
export interface EventQuery {
  zone?: Name;
  /** Events whose removed or added records (or, for a creation, records) have this owner. */
  name?: Name;
  /** With `name`: the name and every name below it. */
  subtree?: boolean;
  /** Events that removed or added a record of this RR type (with `name`: at that name). */
  type?: number;
  /** Events recorded at or after this ISO 8601 time... */
  since?: string;
  /** ...and before this one. */
  until?: string;
  /** Actor and cause, matched exactly (key names in nameKey form). */
  key?: string;
  address?: string;
  peer?: string;
  user?: string;
  cause?: string;
  /** 'desc' (default): newest first, continuing below `before`; 'asc': oldest first, above `after`. */
  order?: 'asc' | 'desc';
  /** Global positions to continue from (exclusive): the cursor of a paginated list. Either applies whatever the order. */
  before?: number;
  after?: number;
  /** At most this many events (1..10,000). */
  limit: number;
  /**
   * With `name` (not `subtree`): a creation comes back with `records` cut to the lines whose
   * owner is that name, and `recordCount` set to how many it holds in all. Blame asks this way:
   * one name's lines are then found without a whole zone's lines being parsed into strings.
   */
  trimCreations?: boolean;
}

/** What one zone's history costs in the store. */
export interface ZoneStorage {
  zone: Name;
  events: number;
  /** Octets of stored event data (the JSON bodies). */
  eventBytes: number;
  snapshots: number;
  /** Octets of stored snapshot bodies (compressed). */
  snapshotBytes: number;
  /** Rows in the name index that serves blame and name filters. */
  indexRows: number;
  firstTime: string | null;
  lastTime: string | null;
  version: number;
  serial: number;
}

export interface EventStore {
  /** Which adapter this is, for logs. */
  readonly kind: string;

  /**
   * True when appends made one after another by one caller are carried out in that order, so a
   * caller may send the next before the last is durable (with `after`). False when they can
   * overtake each other (separate connections), and a caller should wait for each.
   */
  readonly orderedAppends: boolean;

  /**
   * Appends events to a zone's stream atomically: all of them or none. Resolves only when they
   * are durable (on disk, or committed by the database). Throws ConcurrencyError when the stream
   * is not at `expected`.
   */
  append(zone: Name, events: NewEvent[], expected: ExpectedVersion, opts?: AppendOptions): Promise<AppendResult>;

  /**
   * Optional. Appends what `decide` returns, calling it while holding the store's append lock,
   * so no other writer can append between the decision and the write. `decide` gets the
   * stream's version and may read the store meanwhile; returning no events appends nothing
   * (null). For a writer that keeps losing the race to another one on the same stream.
   */
  appendExclusive?(zone: Name, decide: (version: number) => Promise<NewEvent[]>): Promise<AppendResult | null>;

  /** A zone's events with from <= version <= to, in version order. */
  readZone(zone: Name, from?: number, to?: number): AsyncIterable<StoredEvent>;

  /** Up to `limit` events of any zone with a global position after `after`, in position order. */
  readAll(after: number, limit: number): Promise<StoredEvent[]>;

  /** The zone's last version and serial, or null when it has no stream. */
  head(zone: Name): Promise<ZoneHead | null>;

  /** Every zone with a stream. */
  zones(): Promise<ZoneHead[]>;

  /** The latest version whose resulting serial is `serial`, or null. */
  versionOfSerial(zone: Name, serial: number): Promise<number | null>;

  /** The last version recorded at or before `time` (ISO 8601), or null. */
  versionAt(zone: Name, time: string): Promise<number | null>;

  /**
   * Events matching `q`, in the order asked for. Throws RangeError for a limit outside 1..10,000,
   * a name without a zone or not absolute, a subtree without a name, or a time that is not ISO 8601.
   */
  queryEvents(q: EventQuery): Promise<StoredEvent[]>;

  /** Storage used by each zone's events, snapshots and name index. */
  storage(): Promise<ZoneStorage[]>;

  /**
   * Events per time bucket (aligned to multiples of bucketMs since the epoch), non-empty buckets
   * only, oldest first; since inclusive, until exclusive. bucketMs is a whole number >= 1 (else RangeError).
   */
  changeRate(q: { zone: Name; since?: string; until?: string; bucketMs: number }): Promise<{ start: string; count: number }[]>;

  /** The snapshots a zone has, by version (newest last), without their bodies. */
  snapshots(zone: Name): Promise<{ version: number; serial: number; time: string }[]>;

  saveSnapshot(s: Snapshot | WireSnapshot): Promise<void>;

  /**
   * The latest snapshot with version <= maxVersion (default: any), or null. With `views`, a
   * wire-form snapshot's rdata are views into one buffer instead of a copy each: several times
   * faster to load, for a read that prints or compares the zone and drops it. Never for a zone
   * that is kept or sent to another thread (a view travels with its whole buffer).
   */
  loadSnapshot(zone: Name, maxVersion?: number, opts?: { views?: boolean }): Promise<Snapshot | null>;

  close(): Promise<void>;
}
