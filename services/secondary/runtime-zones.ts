// Zones added and removed while the server runs (POST /zones, DELETE /zones/NAME), kept in a
// file of their own (the runtime-zones key) so that a restart serves them again: as BIND's
// rndc addzone keeps its NZF file. Removing a zone keeps its history in the store.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { nameKey } from '../../shared/dns/name.ts';
import { ConfigError, parseZoneEntry } from '../config/load.ts';
import type { ServerConfig, ZoneConfig } from '../config/types.ts';

export interface RuntimeZoneFile {
  /** The entries as they were given, in the shape of the config's `zones:` entries. */
  zones: unknown[];
}

/** The zones kept from earlier runs, each checked as the config file is. */
export function readRuntimeZones(cfg: ServerConfig): { entries: unknown[]; zones: ZoneConfig[] } {
  if (!existsSync(cfg.runtimeZones)) return { entries: [], zones: [] };
  let data: RuntimeZoneFile;
  try {
    data = JSON.parse(readFileSync(cfg.runtimeZones, 'utf8')) as RuntimeZoneFile;
  } catch (e) {
    throw new ConfigError([`${cfg.runtimeZones}: ${(e as Error).message}`]);
  }
  const entries = Array.isArray(data?.zones) ? data.zones : [];
  return { entries, zones: entries.map((e) => parseZoneEntry(e, cfg, cfg.runtimeZones)) };
}

/** Writes the runtime zones whole, through a rename, so a crash leaves the old file or the new one. */
export function writeRuntimeZones(path: string, entries: unknown[]): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify({ zones: entries } satisfies RuntimeZoneFile, null, 2) + '\n');
  renameSync(tmp, path);
}

/** The name an entry gives, lower-cased and absolute, for matching a DELETE. */
export function entryKey(entry: unknown): string | null {
  const name = typeof entry === 'object' && entry !== null ? (entry as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? nameKey(name.endsWith('.') ? name : `${name}.`) : null;
}
