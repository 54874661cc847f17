// A store as the first schema left it, and what the upgrade must make of it, for each adapter's test.

import assert from 'node:assert/strict';
import type { NewEvent, StoredEvent } from '../../shared/events/types.ts';
import type { EventStore } from '../../shared/store/port.ts';
import { changed, created, withCause } from './events.ts';

export const LEGACY_ZONE = 'legacy.example.';
const L = LEGACY_ZONE;
const t = (s: number) => new Date(Date.UTC(2023, 0, 1) + s * 1000).toISOString();

/**
 * The events an older zonelog stored (it did not read record lines, so version 4 holds one that
 * cannot be read). The rows to insert are the first schema's columns.
 */
export const LEGACY_EVENTS: NewEvent[] = [
  created(L, 1, { time: t(0), records: [`${L} 3600 IN NS ns1.${L}`, `ns1.${L} 3600 IN A 192.0.2.53`, `Mail.Legacy.Example. 300 IN MX 10 ns1.${L}`], actor: { user: 'importer' } }),
  changed(L, 1, 2, { time: t(10), removed: [`ns1.${L} 3600 IN A 192.0.2.53`], records: [`ns1.${L} 3600 IN A 192.0.2.54`, `www.${L} 300 IN A 192.0.2.80`], actor: { key: 'Old-Key.', address: '192.0.2.10', port: 5300 } }),
  withCause(changed(L, 2, 3, { time: t(20), records: [`a.www.${L} 300 IN TXT "x"`], actor: { peer: '192.0.2.1:53' } }), 'transfer-in'),
  changed(L, 3, 4, { time: t(30), records: ['bad line', `ok.${L} 300 IN A 192.0.2.4`], actor: { user: 'ops' } }),
];

/** Index rows the upgrade makes: SOA, NS, ns1 A, mail MX; ns1 A, www A; a.www TXT; ok A (not the bad line). */
export const LEGACY_INDEX_ROWS = 8;

/** The filter columns the upgrade backfills, and the one the append after it writes (version 5). */
export const LEGACY_COLUMNS = [
  { version: 1, cause: 'import', actor_key: null, actor_address: null, actor_peer: null, actor_user: 'importer' },
  { version: 2, cause: 'update', actor_key: 'old-key.', actor_address: '192.0.2.10', actor_peer: null, actor_user: null },
  { version: 3, cause: 'transfer-in', actor_key: null, actor_address: null, actor_peer: '192.0.2.1:53', actor_user: null },
  { version: 4, cause: 'update', actor_key: null, actor_address: null, actor_peer: null, actor_user: 'ops' },
  { version: 5, cause: 'update', actor_key: 'new-key.', actor_address: null, actor_peer: null, actor_user: null },
];

/** The name index rows after the upgrade and that append, as "version rname type". */
export const LEGACY_NAME_ROWS = [
  '1 example.legacy 2', '1 example.legacy 6', '1 example.legacy.mail 15', '1 example.legacy.ns1 1',
  '2 example.legacy.ns1 1', '2 example.legacy.www 1',
  '3 example.legacy.www.a 16',
  '4 example.legacy.ok 1',
  '5 example.legacy.www.new 1',
];

/** The first schema's row for a legacy event: the columns its INSERT named. */
export function legacyRow(e: NewEvent, version: number): { id: string; zone: string; version: number; type: string; schemaVersion: number; serialFrom: number | null; serialTo: number; time: string; data: string } {
  const from = e.type === 'ZoneCreated' ? null : e.data.serialFrom;
  const to = e.type === 'ZoneCreated' ? e.data.serial : e.data.serialTo;
  return { id: e.id, zone: L, version, type: e.type, schemaVersion: e.schemaVersion, serialFrom: from, serialTo: to, time: e.time, data: JSON.stringify(e.data) };
}

async function collect(events: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

/** The upgraded store answers searches over the events it already held, and indexes new ones. */
export async function checkUpgraded(store: EventStore): Promise<void> {
  const versions = async (q: Record<string, unknown>) => (await store.queryEvents({ zone: L, limit: 100, ...q })).map((e) => e.version);
  const before = await collect(store.readZone(L));
  assert.deepEqual(before.map((e) => e.id), LEGACY_EVENTS.map((e) => e.id), 'the events themselves are untouched');
  assert.deepEqual(before.map((e) => e.data), LEGACY_EVENTS.map((e) => e.data));
  assert.deepEqual(await versions({ name: `ns1.${L}` }), [2, 1]);
  assert.deepEqual(await versions({ name: `mail.${L}` }), [1]);
  assert.deepEqual(await versions({ name: `www.${L}`, subtree: true }), [3, 2]);
  assert.deepEqual(await versions({ name: `ok.${L}` }), [4], 'a bad line does not keep the rest of its event out of the index');
  assert.deepEqual(await versions({ type: 15 }), [1]);
  assert.deepEqual(await versions({ type: 6 }), [1]);
  assert.deepEqual(await versions({ key: 'old-key.' }), [2], 'key names lower-cased when backfilled');
  assert.deepEqual(await versions({ address: '192.0.2.10' }), [2]);
  assert.deepEqual(await versions({ peer: '192.0.2.1:53' }), [3]);
  assert.deepEqual(await versions({ user: 'ops' }), [4]);
  assert.deepEqual(await versions({ cause: 'transfer-in' }), [3]);
  assert.deepEqual(await versions({ cause: 'import', user: 'importer' }), [1]);
  const [s] = await store.storage();
  assert.equal(s.zone, L);
  assert.equal(s.events, 4);
  assert.equal(s.indexRows, LEGACY_INDEX_ROWS);

  await store.append(L, [changed(L, 4, 5, { records: [`new.www.${L} 300 IN A 192.0.2.5`], actor: { key: 'New-Key.' } })], 4);
  assert.deepEqual(await versions({ name: `www.${L}`, subtree: true }), [5, 3, 2]);
  assert.deepEqual(await versions({ key: 'new-key.' }), [5]);
  assert.equal((await store.storage())[0].indexRows, LEGACY_INDEX_ROWS + 1);
}
