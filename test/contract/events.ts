// Fake but well-formed zone-change events for the store contract and its child processes.

import { uuidv7 } from '../../shared/events/id.ts';
import type { Actor, NewEvent } from '../../shared/events/types.ts';

const SOA = (zone: string, serial: number) => `${zone} 3600 IN SOA ns1.${zone} hostmaster.${zone} ${serial} 7200 3600 1209600 300`;

export interface EventOptions {
  id?: string;
  time?: string;
  records?: string[];
  actor?: Actor;
  note?: string;
}

export function created(zone: string, serial: number, o: EventOptions = {}): NewEvent {
  return {
    type: 'ZoneCreated', schemaVersion: 1, id: o.id ?? uuidv7(), time: o.time ?? new Date().toISOString(),
    data: {
      serial, soa: SOA(zone, serial), records: o.records ?? [`${zone} 3600 IN NS ns1.${zone}`, `ns1.${zone} 3600 IN A 192.0.2.53`],
      cause: 'import', actor: o.actor ?? { user: 'contract-test' }, ...(o.note ? { note: o.note } : {}),
    },
  };
}

export function changed(zone: string, serialFrom: number, serialTo: number, o: EventOptions & { removed?: string[]; revertTo?: number } = {}): NewEvent {
  return {
    type: 'ZoneChanged', schemaVersion: 1, id: o.id ?? uuidv7(), time: o.time ?? new Date().toISOString(),
    data: {
      serialFrom, serialTo, soaFrom: SOA(zone, serialFrom), soaTo: SOA(zone, serialTo),
      removed: o.removed ?? [], added: o.records ?? [`host${serialTo}.${zone} 300 IN A 192.0.2.${serialTo % 256}`],
      cause: o.revertTo === undefined ? 'update' : 'revert', actor: o.actor ?? { key: 'update-key.', address: '127.0.0.1', port: 53000 },
      ...(o.revertTo === undefined ? {} : { revertTo: o.revertTo }), ...(o.note ? { note: o.note } : {}),
    },
  };
}

/** The event with another cause (the helpers above pick import, update or revert). */
export function withCause(e: NewEvent, cause: string): NewEvent {
  return { ...e, data: { ...e.data, cause } } as NewEvent;
}

/** `count` events continuing a stream whose last serial is `serial` (0: a new zone). */
export function chain(zone: string, serial: number, count: number): NewEvent[] {
  const out: NewEvent[] = [];
  for (let i = 0; i < count; i++) {
    out.push(serial === 0 ? created(zone, 1) : changed(zone, serial, serial + 1));
    serial++;
  }
  return out;
}

const T0 = Date.UTC(2024, 0, 1);

/**
 * The event at version `v` of a crash-test stream, the same in every process, so the parent can
 * check what a killed writer acknowledged without being told the events.
 */
export function eventForVersion(zone: string, v: number): NewEvent {
  const o = { id: `00000000-0000-7000-8000-${v.toString(16).padStart(12, '0')}`, time: new Date(T0 + v * 1000).toISOString() };
  if (v === 1) return created(zone, 1, o);
  const records = [`h${v}.${zone} 300 IN TXT "version ${v} \\"ü\\" 🦊"`];
  // Events of the three-event batches carry ~100 KB, so their commit takes long enough for a
  // kill to land inside it.
  if (v % 6 <= 2) for (let i = 0; i < 1500; i++) records.push(`bulk-${v}-${i}.${zone} 300 IN TXT "padding to make a slow commit ${i}"`);
  return changed(zone, v - 1, v, { ...o, records });
}

/**
 * How many events the crash-test writer appends after `version`: mostly one, and a batch of three
 * every fourth append. It depends only on the version, so a writer restarted at any head carries
 * on the same pattern.
 */
export function crashBatchSize(version: number): number {
  return version % 6 === 5 ? 3 : 1;
}

/** The versions at which the crash-test writer's appends end: 1, 2, 3, 4, 5, 8, 9, … */
export function crashBoundaries(upTo: number): Set<number> {
  const out = new Set<number>([0]);
  for (let v = 0; v <= upTo; ) out.add((v += crashBatchSize(v)));
  return out;
}
