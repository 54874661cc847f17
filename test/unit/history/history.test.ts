// History over a real SQLite store: as-of, diff (condensed and by comparison), blame, change lists, revert decisions, input checks.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Class, Type } from '../../../shared/dns/constants.ts';
import { changesetOf, zoneChanged, zoneCreated } from '../../../shared/events/codec.ts';
import type { Actor } from '../../../shared/events/types.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';
import { applyChangeset, diff } from '../../../shared/zone/changeset.ts';
import { loadZoneText } from '../../../shared/zone/load.ts';
import { printZone, recordToText, zoneToLines } from '../../../shared/zone/printer.ts';
import { cloneZone, soaOf, soaSerial, type Zone } from '../../../shared/zone/zone.ts';
import {
  blame, decideRevert, diffSerials, getChange, HistoryError, knownZone, listChanges, nameIn, parseTime, zoneAsOf,
} from '../../../services/history/history.ts';

const ORIGIN = 'ex.test.';
const zone = (body: string, serial: number): Zone => {
  const r = loadZoneText(`$TTL 300\n@ SOA ns1 hostmaster ${serial} 2h 1h 2w 5m\n  NS ns1\nns1 A 192.0.2.1\n${body}`, 'z.zone', { origin: ORIGIN });
  assert.deepEqual(r.errors, []);
  return r.zone;
};

/** Version i (1-based) holds hosts h0..h(i%7) with addresses that move, and `busy` in every third. */
function body(i: number): string {
  let b = '';
  for (let k = 0; k <= i % 7; k++) b += `h${k} A 10.0.${i % 3}.${k}\n`;
  if (i % 3 === 0) b += `busy TXT "v${i}"\n`;
  return b;
}

const rejectsWith = (status: number, code: string) => (e: unknown) => e instanceof HistoryError && e.status === status && e.code === code;

describe('history over a store', () => {
  let dir: string;
  let store: SqliteStore;
  const versions: Zone[] = [];
  const actors: Actor[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zonelog-history-'));
    store = new SqliteStore(join(dir, 'h.db'));
    let prev = zone(body(1), 1001);
    versions.push(prev);
    actors.push({ user: 'importer' });
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    await store.append(ORIGIN, [zoneCreated(prev, 'import', actors[0], new Date(t0))], 'no-zone');
    for (let i = 2; i <= 40; i++) {
      const next = zone(body(i), 1000 + i);
      const actor: Actor = i % 2 === 0 ? { key: 'alpha.', address: '127.0.0.2', port: 5000 + i } : { key: 'beta.', address: '127.0.0.3', port: 6000 + i };
      await store.append(ORIGIN, [zoneChanged(diff(prev, next), 'update', actor, new Date(t0 + i * 60_000))], i - 1);
      versions.push(next);
      actors.push(actor);
      prev = next;
    }
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the zone as of a serial, a version or a time is exactly the zone then', async () => {
    for (const i of [1, 2, 17, 40]) {
      const r = await zoneAsOf(store, ORIGIN, { serial: 1000 + i });
      assert.equal(printZone(r.zone), printZone(versions[i - 1]));
      assert.equal(r.version, i);
      assert.equal(r.serial, 1000 + i);
      assert.deepEqual(zoneToLines(r.zone), printZone(versions[i - 1]).trimEnd().split('\n'));
    }
    const between = new Date(Date.parse('2026-01-01T00:00:00Z') + 20 * 60_000 + 30_000).toISOString();
    assert.equal((await zoneAsOf(store, ORIGIN, { time: between })).serial, 1020);
  });

  it('a serial never reached, a time before the zone and an unknown zone are 404s with their own codes', async () => {
    await assert.rejects(zoneAsOf(store, ORIGIN, { serial: 77 }), rejectsWith(404, 'unknown-serial'));
    await assert.rejects(zoneAsOf(store, ORIGIN, { time: '2025-01-01T00:00:00.000Z' }), rejectsWith(404, 'unknown-version'));
    await assert.rejects(knownZone(store, 'nope.test'), rejectsWith(404, 'unknown-zone'));
    assert.equal(await knownZone(store, 'EX.test'), ORIGIN);
    await assert.rejects(getChange(store, ORIGIN, 41), rejectsWith(404, 'unknown-change'));
  });

  it('a diff between serials is the condensed change, the same whether condensed from events or by comparing zones, and reverses', async () => {
    for (const [a, b] of [[3, 9], [9, 3], [1, 40], [12, 13]]) {
      const expected = diff(versions[a - 1], versions[b - 1]);
      for (const limit of [0, 10_000]) {
        const d = await diffSerials(store, ORIGIN, 1000 + a, 1000 + b, limit);
        assert.equal(d.from, 1000 + a);
        assert.equal(d.to, 1000 + b);
        const text = (rrs: typeof expected.removed) => rrs.map(recordToText).sort();
        assert.deepEqual(d.removed, text(expected.removed), `removed ${a}->${b} limit ${limit}`);
        assert.deepEqual(d.added, text(expected.added), `added ${a}->${b} limit ${limit}`);
      }
    }
    const none = await diffSerials(store, ORIGIN, 1040);
    assert.deepEqual([none.removed, none.added, none.from, none.to], [[], [], 1040, 1040]);
  });

  it('blame lists exactly the changes that touched a name, or a name and type, with who made them', async () => {
    // busy TXT exists in versions divisible by 3: it is added at each multiple of 3 and removed right after.
    const touched: number[] = [];
    for (let i = 2; i <= 40; i++) if (i % 3 === 0 || (i - 1) % 3 === 0) touched.push(i);
    const b = await blame(store, ORIGIN, 'busy.ex.test.');
    assert.deepEqual(b.map((e) => e.version), touched);
    for (const e of b) {
      assert.deepEqual(e.actor, actors[e.version - 1]);
      assert.ok(e.removedRecords.every((l) => l.startsWith('busy.ex.test. ')) && e.addedRecords.every((l) => l.startsWith('busy.ex.test. ')));
      assert.equal(e.removedRecords.length + e.addedRecords.length, 1);
    }
    assert.deepEqual((await blame(store, ORIGIN, 'busy.ex.test.', Type.A)).map((e) => e.version), []);
    // h6 exists only in versions where i % 7 === 6: added there, removed in the next.
    const h6 = await blame(store, ORIGIN, 'h6.ex.test.', Type.A);
    const expected: number[] = [];
    for (let i = 2; i <= 40; i++) if (i % 7 === 6 || (i - 1) % 7 === 6) expected.push(i);
    assert.deepEqual(h6.map((e) => e.version), expected);
    // The creation counts: h0 is in version 1.
    assert.equal((await blame(store, ORIGIN, 'h0.ex.test.'))[0].version, 1);
  });

  it('a change list pages newest first without gaps and narrows by key, name subtree and time', async () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const p = await listChanges(store, { zone: 'ex.test' }, 7, cursor);
      seen.push(...p.changes.map((c) => c.version));
      if (p.next === null) break;
      cursor = p.next;
    }
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => 40 - i));
    const alpha = await listChanges(store, { zone: 'ex.test', key: 'alpha' }, 100);
    assert.deepEqual(alpha.changes.map((c) => c.version), seen.filter((v) => v > 1 && v % 2 === 0));
    assert.ok(alpha.changes.every((c) => c.actor.key === 'alpha.'));
    const since = await listChanges(store, { zone: 'ex.test', since: '2026-01-01T00:30:00Z', until: '2026-01-01T00:33:00Z' }, 100);
    assert.deepEqual(since.changes.map((c) => c.version), [32, 31, 30]);
    const busy = await listChanges(store, { zone: 'ex.test', name: 'busy' }, 100);
    assert.equal(busy.changes.length, (await blame(store, ORIGIN, 'busy.ex.test.')).length);
    await assert.rejects(listChanges(store, { name: 'busy' }, 10), rejectsWith(400, 'bad-parameter'));
    await assert.rejects(listChanges(store, { zone: 'ex.test', cause: 'whim' }, 10), rejectsWith(400, 'bad-parameter'));
    await assert.rejects(listChanges(store, { zone: 'ex.test', since: 'yesterdayish' }, 10), rejectsWith(400, 'bad-time'));
    await assert.rejects(listChanges(store, { zone: 'ex.test' }, 10, 'abc'), rejectsWith(400, 'bad-parameter'));
  });

  it('one change in full gives its SOA step and records', async () => {
    const c = await getChange(store, ORIGIN, 12);
    const expected = changesetOf((await collect(store, 12)), Class.IN);
    assert.equal(c.serialFrom, 1011);
    assert.equal(c.serialTo, 1012);
    assert.equal(c.removedRecords.length, expected.removed.length);
    assert.equal(c.addedRecords.length, expected.added.length);
    assert.deepEqual(c.actor, actors[11]);
  });
});

async function collect(store: SqliteStore, version: number) {
  for await (const e of store.readZone(ORIGIN, version, version)) if (e.type === 'ZoneChanged') return e;
  throw new Error('no such change');
}

describe('revert decisions', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  it('returns the zone to the target with a serial newer than the current one, as one revert event', () => {
    const current = zone('a A 192.0.2.10\nb TXT "later"\n', 20);
    const target = zone('a A 192.0.2.9\n', 7);
    const d = decideRevert(current, target, 7, 'increment', { user: 'alice' }, now, 'undo the bulk change');
    assert.equal(d.kind, 'change');
    if (d.kind !== 'change') return;
    assert.equal(d.serialFrom, 20);
    assert.equal(d.serialTo, 21);
    assert.equal(d.event.type, 'ZoneChanged');
    if (d.event.type !== 'ZoneChanged') return;
    assert.equal(d.event.data.cause, 'revert');
    assert.equal(d.event.data.revertTo, 7);
    assert.equal(d.event.data.note, 'undo the bulk change');
    assert.deepEqual(d.event.data.actor, { user: 'alice' });
    // Applied to the current zone, the event gives the target with the new serial.
    const after = applyChangeset(cloneZone(current), changesetOf(d.event, Class.IN));
    assert.equal(printZone(after), printZone(zone('a A 192.0.2.9\n', 21)));
    assert.equal(soaSerial(soaOf(after)!.rdata), 21);
  });

  it('a zone already like the target apart from its serial is unchanged; dateserial policy picks today', () => {
    assert.deepEqual(decideRevert(zone('a A 192.0.2.9\n', 20), zone('a A 192.0.2.9\n', 7), 7, 'increment', {}, now), { kind: 'unchanged', serial: 20 });
    const d = decideRevert(zone('a A 192.0.2.10\n', 2026010101), zone('a A 192.0.2.9\n', 2026010100), 2026010100, 'dateserial', {}, now);
    assert.equal(d.kind === 'change' && d.serialTo, 2026112200);
  });
});

describe('what users type', () => {
  it('names are absolute with a dot or the zone suffix, else relative; outside the zone is refused', () => {
    assert.equal(nameIn(ORIGIN, 'host42'), 'host42.ex.test.');
    assert.equal(nameIn(ORIGIN, 'Host42.Ex.Test'), 'host42.ex.test.');
    assert.equal(nameIn(ORIGIN, 'host42.ex.test.'), 'host42.ex.test.');
    assert.equal(nameIn(ORIGIN, '@'), ORIGIN);
    assert.throws(() => nameIn(ORIGIN, 'other.example.'), rejectsWith(400, 'bad-parameter'));
  });
  it('times are ISO 8601; anything else is bad-time', () => {
    assert.equal(parseTime('2026-11-22'), '2026-11-22T00:00:00.000Z');
    assert.equal(parseTime('2026-11-22T10:00:00+02:00'), '2026-11-22T08:00:00.000Z');
    for (const t of ['yesterdayish', '22/11/2026', '2026-13-45T99:00:00Z', '']) assert.throws(() => parseTime(t), rejectsWith(400, 'bad-time'), t);
  });
});

describe('blame matches the owner exactly', () => {
  it('whatever its case, and not a longer or shorter name that shares its first characters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zonelog-blame-'));
    const store = new SqliteStore(join(dir, 'b.db'));
    try {
      const z1 = zone('Host A 10.0.0.1\nhost2 A 10.0.0.2\nhos A 10.0.0.3\nhost.sub A 10.0.0.4\n', 1);
      await store.append(ORIGIN, [zoneCreated(z1, 'import', { user: 'importer' })], 'no-zone');
      const z2 = zone('HOST A 10.0.0.9\nhost2 A 10.0.0.2\nhos A 10.0.0.3\nhost.sub A 10.0.0.4\n', 2);
      await store.append(ORIGIN, [zoneChanged(diff(z1, z2), 'update', { key: 'k.' })], 1);
      const b = await blame(store, ORIGIN, 'hOsT.ex.test.');
      assert.deepEqual(b.map((e) => [e.version, e.removedRecords, e.addedRecords]), [
        [1, [], ['Host.ex.test. 300 IN A 10.0.0.1']],
        [2, ['Host.ex.test. 300 IN A 10.0.0.1'], ['HOST.ex.test. 300 IN A 10.0.0.9']],
      ]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
