// Upcasting: events written under an older schema version are read in the current shape.

import { CURRENT_SCHEMA, type ZoneEventBody } from './types.ts';

type EventType = keyof typeof CURRENT_SCHEMA;
type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

/**
 * UPCASTERS[type][n] turns version n's data into version n+1's. Empty while every schema is
 * at version 1; see schemas/README.md for how a new version is added.
 */
export const UPCASTERS: Record<EventType, Record<number, Upcaster>> = {
  ZoneCreated: {},
  ZoneChanged: {},
  Snapshot: {},
};

export class SchemaError extends Error {}

/** Brings `data` of `type` from `schemaVersion` up to the current version, one step at a time. */
export function upcastData(
  type: string, schemaVersion: number, data: Record<string, unknown>,
  upcasters: Record<EventType, Record<number, Upcaster>> = UPCASTERS, currentVersions: Record<EventType, number> = CURRENT_SCHEMA,
): Record<string, unknown> {
  if (!(type in currentVersions)) throw new SchemaError(`unknown event type ${type}`);
  const t = type as EventType;
  const current = currentVersions[t];
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > current) {
    throw new SchemaError(`${type} schema version ${schemaVersion} is not one this zonelog reads (1..${current})`);
  }
  let d = data;
  for (let v = schemaVersion; v < current; v++) {
    const step = upcasters[t][v];
    if (!step) throw new SchemaError(`no upcaster for ${type} v${v} -> v${v + 1}`);
    d = step(d);
  }
  return d;
}

/** An event body as read from storage, in the current schema. */
export function upcast(raw: { type: string; schemaVersion: number; data: Record<string, unknown> }): ZoneEventBody {
  const data = upcastData(raw.type, raw.schemaVersion, raw.data);
  return { type: raw.type, schemaVersion: CURRENT_SCHEMA[raw.type as EventType], data } as unknown as ZoneEventBody;
}
