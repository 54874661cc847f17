// A zone in the live projection: its index, its version, and what cached answers need to stay fresh.

import { nameKey } from '../../shared/dns/name.ts';
import type { Changeset } from '../../shared/zone/changeset.ts';
import type { ZoneIndex } from './zone-index.ts';

/** A cached answer and the zone generation it is known to be good for. */
export interface CacheEntry {
  /** The cache key's octets (lower-cased name, type, class, variant), to tell hash collisions apart. */
  key: Buffer;
  zone: LiveZone;
  wire: Buffer;
  /** Its TC=1 form, made the first time a UDP client's buffer is too small. */
  truncated: Buffer | null;
  questionEnd: number;
  rcode: number;
  deps: string[];
  generation: number;
}

/**
 * Answers are compiled on first use and kept until a change touches something they were built
 * from. A change bumps the zone's generation and stamps the keys it touched with it; an entry
 * older than the zone is still good if none of its keys was stamped after it, and is then
 * re-stamped, so each entry is checked once per change at most.
 */
export class LiveZone {
  index: ZoneIndex;
  readonly apexKey: string;
  /** The stream version the zone reflects. */
  version: number;
  /** Version of the last snapshot saved or loaded, and when. */
  snapshotVersion: number;
  snapshotAt = Date.now();
  generation = 1;
  /** A secondary zone past its SOA expire without reaching a primary: answered SERVFAIL. */
  expired = false;
  private readonly touchedAt = new Map<string, number>();

  constructor(index: ZoneIndex, version: number, snapshotVersion = 0) {
    this.index = index;
    this.version = version;
    this.snapshotVersion = snapshotVersion;
    this.apexKey = nameKey(index.zone.origin);
  }

  apply(c: Changeset, version: number, derived = false): void {
    const keys = this.index.apply(c, derived);
    this.generation++;
    for (const k of keys) this.touchedAt.set(k, this.generation);
    this.version = version;
  }

  fresh(e: CacheEntry): boolean {
    if (e.generation === this.generation) return true;
    for (const d of e.deps) if ((this.touchedAt.get(d) ?? 0) > e.generation) return false;
    e.generation = this.generation;
    return true;
  }
}
