// The live projection: every zone current in memory, kept up by following the store's global order.

import { nameKey, parentName, type Name } from '../../shared/dns/name.ts';
import { snapshotOf } from '../../shared/events/codec.ts';
import type { StoredEvent } from '../../shared/events/types.ts';
import type { EventStore } from '../../shared/store/port.ts';
import { evolve } from './evolve.ts';
import { materialize } from './materialize.ts';
import type { ZoneIndex } from './zone-index.ts';

export interface ProjectedZone {
  index: ZoneIndex;
  /** The stream version the zone reflects. */
  version: number;
  /** Version of the last snapshot saved or loaded. */
  snapshotVersion: number;
}

export interface ProjectionOptions {
  /** Save a snapshot once a zone is this many versions past its last one (default 1000; 0 never). */
  snapshotEvery?: number;
  /** Events read per page from the global feed. */
  pageSize?: number;
  onApplied?: (zone: Name, e: StoredEvent) => void;
}

export class Projection {
  private readonly store: EventStore;
  private readonly zones = new Map<string, ProjectedZone>();
  private readonly snapshotEvery: number;
  private readonly pageSize: number;
  private readonly onApplied: ((zone: Name, e: StoredEvent) => void) | undefined;
  /** Global position up to which the feed has been read. */
  private position = 0;

  constructor(store: EventStore, opts: ProjectionOptions = {}) {
    this.store = store;
    this.snapshotEvery = opts.snapshotEvery ?? 1000;
    this.pageSize = opts.pageSize ?? 1000;
    this.onApplied = opts.onApplied;
  }

  /**
   * Loads every zone from its latest snapshot and the events after it, then reads the global
   * feed from the oldest zone head on, skipping what each zone already reflects.
   */
  async start(): Promise<void> {
    let from = Number.POSITIVE_INFINITY;
    for (const h of await this.store.zones()) {
      const m = await materialize(this.store, h.zone, { version: h.version });
      this.zones.set(h.zone, { index: m.index, version: m.version, snapshotVersion: m.fromSnapshot ?? 0 });
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
        const index = evolve(cur?.index ?? null, e);
        const next = { index, version: e.version, snapshotVersion: cur?.snapshotVersion ?? 0 };
        this.zones.set(e.zone, next);
        this.position = e.position;
        applied++;
        this.onApplied?.(e.zone, e);
        if (this.snapshotEvery > 0 && next.version - next.snapshotVersion >= this.snapshotEvery) {
          await this.store.saveSnapshot(snapshotOf(index.zone, next.version));
          next.snapshotVersion = next.version;
        }
      }
      if (page.length < this.pageSize) return applied;
    }
  }

  get(zone: Name): ProjectedZone | undefined {
    return this.zones.get(nameKey(zone));
  }

  names(): Name[] {
    return [...this.zones.keys()];
  }

  /** The zone with the longest origin that contains `qname`. */
  zoneFor(qname: Name): ProjectedZone | undefined {
    for (let k = nameKey(qname); ; k = parentName(k)) {
      const z = this.zones.get(k);
      if (z) return z;
      if (k === '.') return undefined;
    }
  }
}
