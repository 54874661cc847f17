// The live projection: every zone current in memory, kept up by following the store's global order.

import { nameKey, parentName, type Name } from '../../shared/dns/name.ts';
import { changesetOf } from '../../shared/events/codec.ts';
import { zoneSnapshot } from '../../shared/store/rows.ts';
import type { StoredEvent } from '../../shared/events/types.ts';
import type { EventStore } from '../../shared/store/port.ts';
import type { Changeset } from '../../shared/zone/changeset.ts';
import { evolve } from './evolve.ts';
import { LiveZone } from './live-zone.ts';
import { materialize } from './materialize.ts';
import { ZoneIndex } from './zone-index.ts';
import type { Zone } from '../../shared/zone/zone.ts';

export type ProjectedZone = LiveZone;

/** What changed in one zone: a new or replaced zone (index given), or a changeset. */
export type Applied =
  | { zone: Name; version: number; kind: 'created'; live: LiveZone }
  | { zone: Name; version: number; kind: 'changed'; changeset: Changeset; event: StoredEvent | null };

export interface ProjectionOptions {
  /** Save a snapshot once a zone is this many versions past its last one (default 1000; 0 never). */
  snapshotEvery?: number;
  /** ...but no sooner than this long after the previous one (default 0), since a snapshot costs the whole zone. */
  snapshotMinIntervalMs?: number;
  /** Also snapshot a zone that has changed at all once this long has passed since its last one (default 0: never). */
  snapshotIntervalMs?: number;
  /** Events read per page from the global feed. */
  pageSize?: number;
  onApplied?: (a: Applied) => void;
}

/** Names at which a zone with no snapshot gets its first one without waiting for snapshot-every changes. */
export const FIRST_SNAPSHOT_NAMES = 10_000;

export class Projection {
  private readonly store: EventStore;
  /** Live zones by lower-case origin; the responder reads this map directly. */
  readonly zones = new Map<string, LiveZone>();
  private readonly snapshotEvery: number;
  private readonly snapshotMinIntervalMs: number;
  private readonly snapshotIntervalMs: number;
  private readonly pageSize: number;
  onApplied: ((a: Applied) => void) | undefined;
  /** Global position up to which the feed has been read. */
  private position = 0;
  private snapshotting = false;

  constructor(store: EventStore, opts: ProjectionOptions = {}) {
    this.store = store;
    this.snapshotEvery = opts.snapshotEvery ?? 1000;
    this.snapshotMinIntervalMs = opts.snapshotMinIntervalMs ?? 0;
    this.snapshotIntervalMs = opts.snapshotIntervalMs ?? 0;
    this.pageSize = opts.pageSize ?? 1000;
    this.onApplied = opts.onApplied;
  }

  /**
   * Loads every zone from its latest snapshot and the events after it, then reads the global
   * feed from the oldest zone head on, skipping what each zone already reflects.
   */
  async start(preloaded: ReadonlyMap<string, { zone: Zone; version: number }> = new Map(), onEvent?: (e: StoredEvent) => void): Promise<void> {
    let from = Number.POSITIVE_INFINITY;
    for (const h of await this.store.zones()) {
      // A zone the caller has just built and stored (an import) need not be read back.
      const pre = preloaded.get(h.zone);
      if (pre && pre.version === h.version) this.zones.set(h.zone, new LiveZone(new ZoneIndex(pre.zone), h.version, 0));
      else {
        const m = await materialize(this.store, h.zone, { version: h.version }, { onEvent });
        this.zones.set(h.zone, new LiveZone(m.index, m.version, m.fromSnapshot ?? 0));
      }
      for await (const e of this.store.readZone(h.zone, h.version, h.version)) from = Math.min(from, e.position);
    }
    this.position = Number.isFinite(from) ? from - 1 : 0;
    await this.catchUp();
  }

  /** Applies everything appended since the last call. Returns how many events were applied. */
  async catchUp(): Promise<number> {
    let applied = 0;
    for (;;) {
      const page = await this.store.readAll(this.position, this.pageSize);
      for (const e of page) {
        const cur = this.zones.get(e.zone);
        if (cur && e.version <= cur.version) {
          this.position = e.position;
          continue;
        }
        if (cur && e.version !== cur.version + 1) throw new Error(`zone ${e.zone}: feed jumps from version ${cur.version} to ${e.version}`);
        // The position moves only once the event is applied: an event that fails is retried
        // (and fails loudly) on the next call instead of being skipped for good.
        if (cur && e.type === 'ZoneChanged') {
          const c = changesetOf(e, cur.index.zone.class);
          cur.apply(c, e.version);
          this.onApplied?.({ zone: e.zone, version: e.version, kind: 'changed', changeset: c, event: e });
        } else {
          const live = new LiveZone(evolve(cur?.index ?? null, e), e.version, cur?.snapshotVersion ?? 0);
          this.zones.set(e.zone, live);
          this.onApplied?.({ zone: e.zone, version: e.version, kind: 'created', live });
        }
        this.position = e.position;
        applied++;
      }
      if (page.length < this.pageSize) break;
    }
    await this.snapshotDue();
    return applied;
  }

  /**
   * Applies changes this process just made durable, without reading them back. The feed position
   * stays put: catchUp later skips these by version, and still sees other writers' events.
   */
  applyLocal(zone: Name, firstVersion: number, changesets: Changeset[], lastPosition?: number): void {
    const live = this.zones.get(nameKey(zone));
    if (!live) throw new Error(`zone ${zone} is not in the projection`);
    changesets.forEach((c, i) => {
      const version = firstVersion + i;
      // The feed may have brought it already, if a catch-up ran while the append was finishing.
      if (version <= live.version) return;
      if (version !== live.version + 1) throw new Error(`zone ${zone}: local change at version ${version}, projection at ${live.version}`);
      // Decided here, on the state these versions follow: the checks were the decision's.
      live.apply(c, version, true);
      this.onApplied?.({ zone: live.apexKey, version, kind: 'changed', changeset: c, event: null });
    });
    // When nothing else was appended since what the feed has read, the feed can skip these.
    if (lastPosition !== undefined && lastPosition === this.position + changesets.length) this.position = lastPosition;
  }

  /** Saves a snapshot of each zone far enough past its last one; one at a time. */
  async snapshotDue(now = Date.now()): Promise<number> {
    if (this.snapshotEvery <= 0 || this.snapshotting) return 0;
    this.snapshotting = true;
    let saved = 0;
    try {
      for (const z of this.zones.values()) {
        const behind = z.version - z.snapshotVersion;
        if (behind === 0 || now - z.snapshotAt < this.snapshotMinIntervalMs) continue;
        // N events since the last snapshot, or any change and T since it, or a big zone that has
        // none yet (just imported, or from a store without one): until it has, every start
        // parses the creation's text (about a second for 150k records) instead of a snapshot.
        const first = z.snapshotVersion === 0 && z.index.zone.nodes.size >= FIRST_SNAPSHOT_NAMES;
        if (behind < this.snapshotEvery && !first && !(this.snapshotIntervalMs > 0 && now - z.snapshotAt >= this.snapshotIntervalMs)) continue;
        const version = z.version;
        await this.store.saveSnapshot(zoneSnapshot(z.index.zone, version));
        z.snapshotVersion = version;
        z.snapshotAt = now;
        saved++;
      }
    } finally {
      this.snapshotting = false;
    }
    return saved;
  }

  get(zone: Name): LiveZone | undefined {
    return this.zones.get(nameKey(zone));
  }

  names(): Name[] {
    return [...this.zones.keys()];
  }

  /** The zone with the longest origin that contains `qname`. */
  zoneFor(qname: Name): LiveZone | undefined {
    for (let k = nameKey(qname); ; k = parentName(k)) {
      const z = this.zones.get(k);
      if (z) return z;
      if (k === '.') return undefined;
    }
  }
}
