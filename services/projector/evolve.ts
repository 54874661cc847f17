// The fold at the heart of the projector: a zone, plus one event, gives the next zone.

import { Class } from '../../shared/dns/constants.ts';
import { changesetOf, zoneFromRecords } from '../../shared/events/codec.ts';
import type { StoredEvent } from '../../shared/events/types.ts';
import { ApplyError, applyChangeset, type Changeset } from '../../shared/zone/changeset.ts';
import type { Zone } from '../../shared/zone/zone.ts';
import { ZoneIndex } from './zone-index.ts';

export class ReplayError extends Error {
  readonly event: StoredEvent;
  constructor(event: StoredEvent, why: string) {
    super(`zone ${event.zone} version ${event.version} (${event.type}, event ${event.id}): ${why}`);
    this.name = 'ReplayError';
    this.event = event;
  }
}

/**
 * Applies one stored event to the zone's index, in place. A ZoneCreated starts a new zone; a
 * ZoneChanged must start from the zone's current SOA. The store accepted the event only after
 * the same checks passed when it was decided, so a failure here means the stream is corrupt,
 * and it is reported with the event that broke it.
 */
export function evolve(state: ZoneIndex | null, e: StoredEvent): ZoneIndex {
  if (e.type === 'ZoneCreated') {
    if (state !== null) throw new ReplayError(e, 'the zone already exists');
    return new ZoneIndex(zoneFromRecords(e.zone, Class.IN, e.data.soa, e.data.records));
  }
  if (state === null) throw new ReplayError(e, 'a change before the zone was created');
  const index = state;
  applying(e, () => index.apply(changesetOf(e, index.zone.class)));
  return state;
}

/**
 * evolve for a bare zone, without the query index: for reads that print or compare it.
 * `before` sees each change before it is applied (see OrderedOverlay.load).
 */
export function evolveZone(state: Zone | null, e: StoredEvent, before?: (c: Changeset) => void): Zone {
  if (e.type === 'ZoneCreated') {
    if (state !== null) throw new ReplayError(e, 'the zone already exists');
    return zoneFromRecords(e.zone, Class.IN, e.data.soa, e.data.records);
  }
  if (state === null) throw new ReplayError(e, 'a change before the zone was created');
  const zone = state;
  const c = changesetOf(e, zone.class);
  before?.(c);
  applying(e, () => applyChangeset(zone, c));
  return state;
}

function applying(e: StoredEvent, apply: () => void): void {
  try {
    apply();
  } catch (err) {
    if (err instanceof ApplyError) throw new ReplayError(e, err.message);
    throw err;
  }
}

/** Folds a sequence of events, from an optional starting zone (a snapshot). */
export async function replay(events: AsyncIterable<StoredEvent> | Iterable<StoredEvent>, start: Zone | null = null, onEvent?: (e: StoredEvent) => void): Promise<ZoneIndex | null> {
  let state = start ? new ZoneIndex(start) : null;
  for await (const e of events) {
    state = evolve(state, e);
    onEvent?.(e);
  }
  return state;
}
