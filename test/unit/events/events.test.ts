// Zone-change events: built from changesets, valid against their JSON Schemas, upcast from old versions.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { changesetOf, eventSerials, snapshotOf, zoneChanged, zoneCreated, zoneFromRecords } from '../../../shared/events/codec.ts';
import { uuidv7 } from '../../../shared/events/id.ts';
import { UPCASTERS, upcast, upcastData } from '../../../shared/events/upcast.ts';
import { diff } from '../../../shared/zone/changeset.ts';
import { loadZoneText } from '../../../shared/zone/load.ts';
import { printZone, recordToText } from '../../../shared/zone/printer.ts';
import type { Zone } from '../../../shared/zone/zone.ts';

const addFormats = addFormatsModule as unknown as (a: Ajv2020) => void;
const dir = new URL('../../../schemas/events/', import.meta.url);
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
for (const f of readdirSync(dir)) ajv.addSchema(JSON.parse(readFileSync(new URL(f, dir), 'utf8')), f);
const valid = (schema: string, v: unknown): string[] => {
  const check = ajv.getSchema(schema)!;
  return check(v) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
};

const zone = (body: string, serial: number): Zone => {
  const r = loadZoneText(`$TTL 300\n@ SOA ns1 hostmaster ${serial} 2h 1h 2w 5m\n  NS ns1\nns1 A 192.0.2.1\n${body}`, 'z.zone', { origin: 'ex.test.' });
  assert.deepEqual(r.errors, []);
  return r.zone;
};

describe('zone-change events', () => {
  const a = zone('www A 192.0.2.80\nt TXT "with \\"quotes\\" and \\200 bytes"\nweird\\.label A 192.0.2.9\n', 10);
  const b = zone('www A 192.0.2.81\nt TXT "changed"\nx TYPE65280 \\# 2 ABCD\n', 11);
  const created = zoneCreated(a, 'import', { user: 'alice' }, new Date('2026-11-22T10:00:00Z'));
  const changed = zoneChanged(diff(a, b), 'update', { key: 'ddns-key.', address: '192.0.2.44', port: 5353 }, new Date('2026-11-22T10:00:01Z'));

  it('ZoneCreated and ZoneChanged match their JSON Schemas', () => {
    assert.deepEqual(valid('ZoneCreated.v1.json', created), []);
    assert.deepEqual(valid('ZoneChanged.v1.json', changed), []);
    assert.deepEqual(valid('Snapshot.v1.json', snapshotOf(b, 2)), []);
  });

  it('the schemas refuse what is not an event', () => {
    assert.notDeepEqual(valid('ZoneChanged.v1.json', { ...changed, data: { ...changed.data, cause: 'magic' } }), []);
    assert.notDeepEqual(valid('ZoneChanged.v1.json', { ...changed, data: { ...changed.data, serialTo: 2 ** 32 } }), []);
    assert.notDeepEqual(valid('ZoneCreated.v1.json', { ...created, extra: 1 }), []);
  });

  it('a ZoneChanged holds serial from and to, what was removed and added, cause and actor', () => {
    assert.equal(changed.type, 'ZoneChanged');
    if (changed.type !== 'ZoneChanged') return;
    assert.deepEqual(eventSerials(changed), { from: 10, to: 11 });
    assert.equal(changed.data.cause, 'update');
    assert.deepEqual(changed.data.actor, { key: 'ddns-key.', address: '192.0.2.44', port: 5353 });
    assert.deepEqual([changed.data.removed.length, changed.data.added.length], [3, 3]);
  });

  it('the changeset read back from an event is the one written, byte for byte', () => {
    if (changed.type !== 'ZoneChanged') return assert.fail();
    const c = diff(a, b);
    const back = changesetOf(changed, 1);
    assert.deepEqual(back.removed.map(recordToText), c.removed.map(recordToText));
    assert.deepEqual(back.added.map(recordToText), c.added.map(recordToText));
    assert.deepEqual(Buffer.from(back.soaTo.rdata), Buffer.from(c.soaTo.rdata));
  });

  it('a ZoneCreated rebuilds the same zone, escapes and unknown types included', () => {
    if (created.type !== 'ZoneCreated') return assert.fail();
    assert.equal(printZone(zoneFromRecords('ex.test.', 1, created.data.soa, created.data.records)), printZone(a));
  });

  it('event ids are UUIDv7 and increase within a process', () => {
    const ids = Array.from({ length: 1000 }, () => uuidv7());
    assert.deepEqual([...ids].sort(), ids);
    assert.match(ids[0], /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('upcasting', () => {
  it('current events pass through unchanged', () => {
    assert.deepEqual(upcast(JSON.parse(JSON.stringify(zoneChanged(diff(zone('', 1), zone('a A 192.0.2.1\n', 2)), 'api', { user: 'bob' })))).type, 'ZoneChanged');
  });

  it('an old version is brought forward one step at a time', () => {
    const chain = { ...UPCASTERS, ZoneChanged: {
      1: (d: Record<string, unknown>) => ({ ...d, actor: { user: String(d.who) }, who: undefined }),
      2: (d: Record<string, unknown>) => ({ ...d, note: 'from v2' }),
    } };
    const current = { ZoneCreated: 1, ZoneChanged: 3, Snapshot: 1 };
    assert.deepEqual(upcastData('ZoneChanged', 1, { who: 'carol' }, chain, current), { actor: { user: 'carol' }, who: undefined, note: 'from v2' });
    assert.deepEqual(upcastData('ZoneChanged', 2, { actor: {} }, chain, current), { actor: {}, note: 'from v2' });
    assert.deepEqual(upcastData('ZoneChanged', 3, { x: 1 }, chain, current), { x: 1 });
    assert.throws(() => upcastData('ZoneChanged', 1, {}, { ...UPCASTERS }, current), /no upcaster for ZoneChanged v1 -> v2/);
  });

  it('unknown types and versions are refused with a clear error', () => {
    assert.throws(() => upcastData('ZoneDeleted', 1, {}), /unknown event type ZoneDeleted/);
    assert.throws(() => upcastData('ZoneChanged', 0, {}), /schema version 0/);
    assert.throws(() => upcastData('ZoneChanged', 2, {}), /schema version 2 is not one this zonelog reads/);
  });
});
