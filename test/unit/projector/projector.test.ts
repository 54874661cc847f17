// The projector: replaying events gives the zone; as-of reads; snapshots change nothing but speed; lookup.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Type } from '../../../shared/dns/constants.ts';
import { snapshotOf, snapshotRecords, zoneChanged, zoneCreated } from '../../../shared/events/codec.ts';
import type { StoredEvent } from '../../../shared/events/types.ts';
import { snapshotBody, snapshotFromBody } from '../../../shared/store/rows.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';
import { diff } from '../../../shared/zone/changeset.ts';
import { loadZoneText } from '../../../shared/zone/load.ts';
import { printZone, recordToText } from '../../../shared/zone/printer.ts';
import type { Zone } from '../../../shared/zone/zone.ts';
import { ReplayError, evolve, replay } from '../../../services/projector/evolve.ts';
import { NotFound, materialize, materializeZone } from '../../../services/projector/materialize.ts';
import { printableAsOf } from '../../../services/projector/asof-lines.ts';
import { FIRST_SNAPSHOT_NAMES, Projection } from '../../../services/projector/projection.ts';
import { ZoneIndex } from '../../../services/projector/zone-index.ts';
import { decideReload } from '../../../services/primary/reload.ts';

const zone = (body: string, serial: number): Zone => {
  const r = loadZoneText(`$TTL 300\n@ SOA ns1 hostmaster ${serial} 2h 1h 2w 5m\n  NS ns1\nns1 A 192.0.2.1\n${body}`, 'z.zone', { origin: 'ex.test.' });
  assert.deepEqual(r.errors, []);
  return r.zone;
};
const stored = (e: ReturnType<typeof zoneCreated>, version: number): StoredEvent => ({ ...e, zone: 'ex.test.', version, position: version });

/** Saves a snapshot of ex.test. as the store now has it: text lines, or records in wire form. */
async function snapshotNow(store: SqliteStore, form: 'text' | 'wire'): Promise<void> {
  const m = await materialize(store, 'ex.test.');
  await store.saveSnapshot(form === 'text' ? snapshotOf(m.index.zone, m.version) : snapshotRecords(m.index.zone, m.version));
}

describe('replay', () => {
  it('ZoneCreated then ZoneChanged events give the zone they describe', async () => {
    const v1 = zone('a A 192.0.2.10\n', 1);
    const v2 = zone('a A 192.0.2.11\nb TXT "new"\n', 2);
    const v3 = zone('b TXT "new"\nc CNAME b\n', 3);
    const events = [zoneCreated(v1, 'import', {}), zoneChanged(diff(v1, v2), 'update', {}), zoneChanged(diff(v2, v3), 'api', {})].map(stored);
    const out = await replay(events);
    assert.equal(printZone(out!.zone), printZone(v3));
  });

  it('a change that does not start from the current serial names the event that broke the stream', () => {
    const v1 = zone('', 1);
    const idx = evolve(null, stored(zoneCreated(v1, 'import', {}), 1));
    const bad = stored(zoneChanged(diff(zone('', 5), zone('x A 192.0.2.1\n', 6)), 'update', {}), 2);
    assert.throws(() => evolve(idx, bad), (e: unknown) => e instanceof ReplayError && /version 2 .*serial 1, but the change starts from serial 5/.test(e.message));
  });

  it('a change before creation, or a second creation, is refused', () => {
    const c = stored(zoneCreated(zone('', 1), 'import', {}), 1);
    assert.throws(() => evolve(null, stored(zoneChanged(diff(zone('', 1), zone('', 2)), 'update', {}), 1)), /before the zone was created/);
    assert.throws(() => evolve(evolve(null, c), c), /already exists/);
  });
});

describe('materialize from a store', () => {
  let dir: string;
  let store: SqliteStore;
  const versions: Zone[] = [];
  const times: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zonelog-proj-'));
    store = new SqliteStore(join(dir, 's.db'));
    let prev = zone('h0 A 10.0.0.0\n', 100);
    versions.push(prev);
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    times.push(new Date(t0).toISOString());
    await store.append('ex.test.', [zoneCreated(prev, 'import', {}, new Date(t0))], 'no-zone');
    for (let i = 1; i <= 60; i++) {
      const next = zone(Array.from({ length: i + 1 }, (_, k) => `h${k} A 10.0.${i % 3}.${k}\n`).join(''), 100 + i);
      const t = new Date(t0 + i * 60_000);
      await store.append('ex.test.', [zoneChanged(diff(prev, next), 'update', { key: 'k.' }, t)], i);
      versions.push(next);
      times.push(t.toISOString());
      prev = next;
      if (i === 25) await snapshotNow(store, 'text');
      if (i === 45) await snapshotNow(store, 'wire');
    }
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the zone as of any version, serial or time', async () => {
    for (const v of [1, 10, 25, 26, 61]) {
      assert.equal(printZone((await materialize(store, 'ex.test.', { version: v })).index.zone), printZone(versions[v - 1]));
    }
    assert.equal(printZone((await materialize(store, 'ex.test.', { serial: 130 })).index.zone), printZone(versions[30]));
    assert.equal(printZone((await materialize(store, 'ex.test.', { time: times[40] })).index.zone), printZone(versions[40]));
    const between = new Date(Date.parse(times[40]) + 30_000).toISOString();
    assert.equal(printZone((await materialize(store, 'ex.test.', { time: between })).index.zone), printZone(versions[40]));
  });

  it('starting from a snapshot gives exactly what full replay gives', async () => {
    const withSnap = await materialize(store, 'ex.test.');
    const without = await materialize(store, 'ex.test.', 'head', { useSnapshot: false });
    assert.equal(withSnap.fromSnapshot, 46);
    assert.equal(without.fromSnapshot, null);
    assert.equal(printZone(withSnap.index.zone), printZone(without.index.zone));
    assert.equal((await materialize(store, 'ex.test.', { version: 20 })).fromSnapshot, null, 'a snapshot after the target is not used');
  });

  it('the bare zone (materializeZone) is the same zone, from text and wire snapshots, with views or copies', async () => {
    for (const v of [1, 10, 25, 26, 40, 45, 46, 61]) {
      const want = printZone(versions[v - 1]);
      for (const snapshotViews of [false, true]) {
        const m = await materializeZone(store, 'ex.test.', { version: v }, { snapshotViews });
        assert.equal(printZone(m.zone), want, `version ${v}, views ${snapshotViews}`);
        assert.equal(m.fromSnapshot, v >= 46 ? 46 : v >= 26 ? 26 : null);
      }
    }
    await assert.rejects(materializeZone(store, 'ex.test.', { serial: 99 }), NotFound);
  });

  it('unknown zones, serials and times are NotFound', async () => {
    await assert.rejects(materialize(store, 'nope.test.'), NotFound);
    await assert.rejects(materialize(store, 'ex.test.', { serial: 99 }), /never had serial 99/);
    await assert.rejects(materialize(store, 'ex.test.', { time: '2025-01-01T00:00:00Z' }), /did not exist yet/);
  });

  it('the live projection follows appends and snapshots as it goes', async () => {
    const p = new Projection(store, { snapshotEvery: 10, pageSize: 7 });
    await p.start();
    assert.equal(p.get('EX.test.')!.version, 61);
    let prev = versions[60];
    for (let i = 61; i <= 75; i++) {
      const next = zone(`late${i} A 192.0.2.${i}\n`, 100 + i);
      await store.append('ex.test.', [zoneChanged(diff(prev, next), 'reload', {})], i);
      prev = next;
    }
    assert.equal(await p.catchUp(), 15);
    assert.equal(printZone(p.get('ex.test.')!.index.zone), printZone(prev));
    // Snapshots are taken after each catch-up: at 61 (35 past the one at 26), then at 76.
    assert.equal((await store.loadSnapshot('ex.test.', 75))!.version, 61);
    assert.equal((await store.loadSnapshot('ex.test.'))!.version, 76);
    assert.equal(p.zoneFor('deep.host.ex.test.')?.version, 76);
    assert.equal(p.zoneFor('other.test.'), undefined);
  });

  it('a zone with few changes is snapshotted once snapshot-interval has passed, and an unchanged one never', async () => {
    const p = new Projection(store, { snapshotEvery: 1000, snapshotIntervalMs: 60_000 });
    await p.start();
    const live = p.get('ex.test.')!;
    const at = live.snapshotAt;
    const v0 = live.version;
    assert.equal(v0, live.snapshotVersion, 'loaded at its latest snapshot');
    assert.equal(await p.snapshotDue(at + 120_000), 0, 'nothing changed: no snapshot');
    const prev = p.get('ex.test.')!.index.zone;
    const next = zone('few A 192.0.2.99\n', 999);
    await store.append('ex.test.', [zoneChanged(diff(prev, next), 'reload', {})], v0);
    assert.equal(await p.catchUp(), 1);
    assert.equal(await p.snapshotDue(at + 30_000), 0, 'one change, and the interval has not passed');
    assert.equal(await p.snapshotDue(at + 61_000), 1, 'one change, and the interval has passed');
    assert.equal((await store.loadSnapshot('ex.test.'))!.version, v0 + 1);
  });
});

describe('a big zone without a snapshot', () => {
  it('gets its first one once snapshot-min-interval allows, without waiting for snapshot-every changes; a small one waits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zonelog-first-snap-'));
    const store = new SqliteStore(join(dir, 's.db'));
    try {
      const big = loadZoneText(`$TTL 300\n@ SOA ns1 hostmaster 7 2h 1h 2w 5m\n  NS ns1\nns1 A 192.0.2.1\n${Array.from({ length: FIRST_SNAPSHOT_NAMES }, (_, i) => `h${i} A 10.0.${i >> 8}.${i & 255}\n`).join('')}`, 'big.zone', { origin: 'big.test.' }).zone;
      await store.append('big.test.', [zoneCreated(big, 'import', {})], 'no-zone');
      await store.append('ex.test.', [zoneCreated(zone('a A 192.0.2.10\n', 1), 'import', {})], 'no-zone');
      const p = new Projection(store, { snapshotEvery: 1000, snapshotMinIntervalMs: 60_000 });
      await p.start();
      const at = p.get('big.test.')!.snapshotAt;
      assert.equal(await p.snapshotDue(at + 30_000), 0, 'not before snapshot-min-interval');
      assert.equal(await p.snapshotDue(at + 61_000), 1, 'the big zone, at once after it');
      assert.equal((await store.loadSnapshot('big.test.'))?.version, 1);
      assert.equal(await store.loadSnapshot('ex.test.'), null, 'a small zone waits for snapshot-every changes');
      assert.equal(await p.snapshotDue(at + 200_000), 0, 'and only once');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('as-of printing from an ordered snapshot', () => {
  // Owners that sort in surprising ways (escapes, a wildcard, digits, a hyphen, case, depth),
  // RRsets with several records, and random changes: adds to existing RRsets, new types at old
  // owners, new owners, deleted records and owners, TTL changes. Every version printed through
  // the ordered path must be byte for byte what the sorting path prints for the same zone.
  const owners = ['a', 'b.a', 'Mixed.Case', 'x\\.y', '\\065bc', '*', '*.w', 'deep.er.name.w', 'z', 'zz', '0', '-', 'mail', 'w'];
  const rdata: Record<string, string[]> = {
    A: ['10.0.0.3', '10.0.0.1', '10.0.0.2'], AAAA: ['2001:db8::2', '2001:db8::1'], TXT: ['"t2"', '"t1"', '"a b"'],
    MX: ['20 mx2', '10 mx1'], SRV: ['0 5 80 a', '1 5 80 b'],
  };
  let dir: string;
  let store: SqliteStore;
  const versions: Zone[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zonelog-order-'));
    store = new SqliteStore(join(dir, 's.db'));
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const lines = new Map<string, { name: string; type: string; data: string }>();
    const ttl = new Map<string, number>();
    const add = (name: string, type: string, data: string): void => {
      if (!ttl.has(`${name}|${type}`)) ttl.set(`${name}|${type}`, 300 + rand(3) * 60);
      lines.set(`${name}|${type}|${data}`, { name, type, data });
    };
    for (const o of owners) add(o, 'A', rdata.A[rand(3)]);
    const body = (): string => [...lines.values()].map((l) => `${l.name} ${ttl.get(`${l.name}|${l.type}`)} ${l.type} ${l.data}\n`).join('');
    let prev = zone(body(), 1);
    versions.push(prev);
    await store.append('ex.test.', [zoneCreated(prev, 'import', {})], 'no-zone');
    for (let v = 2; v <= 90; v++) {
      for (let k = 1 + rand(4); k > 0; k--) {
        const op = rand(6);
        const all = [...lines.keys()];
        if (op === 0 && all.length > 0) lines.delete(all[rand(all.length)]);
        else if (op === 1 && all.length > 0) {
          const gone = lines.get(all[rand(all.length)])!.name;
          for (const [key, l] of lines) if (l.name === gone) lines.delete(key);
        } else if (op === 2) owners.push(`n${v}-${k}.${owners[rand(owners.length)]}`);
        else if (op === 3) {
          const key = [...ttl.keys()][rand(ttl.size)];
          ttl.set(key, ttl.get(key)! + 1);
        } else {
          const type = Object.keys(rdata)[rand(5)];
          add(owners[rand(owners.length)], type, rdata[type][rand(rdata[type].length)]);
        }
      }
      // Types that arrive out of type order, at an owner made after the last snapshot (late1) and
      // at one the snapshot holds (late2): their RRsets must still print by type.
      if (v === 60) add('late2', 'TXT', '"late"');
      if (v === 75) add('late1', 'TXT', '"late"');
      if (v === 80) add('late1', 'A', '10.0.0.9');
      if (v === 85) add('late2', 'A', '10.0.0.9');
      const next = zone(body(), v);
      await store.append('ex.test.', [zoneChanged(diff(prev, next), 'update', { key: 'k.' })], v - 1);
      versions.push(next);
      prev = next;
      if (v === 30 || v === 70) await snapshotNow(store, 'wire');
      if (v === 50) await snapshotNow(store, 'text');
    }
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('wire snapshots are saved in print order, text ones are not marked', async () => {
    const ordered = (await store.loadSnapshot('ex.test.', 30))!;
    assert.equal(ordered.ordered, true);
    const lines = ordered.rrs!.map((rr) => recordToText(rr));
    assert.equal(lines.join('\n') + '\n', printZone(versions[29]), 'the records are the printed zone, line for line');
    assert.equal((await store.loadSnapshot('ex.test.', 50))!.ordered, undefined);
  });

  it('records the order thread cannot make a zone of (no SOA) are stored unordered, as they came', async () => {
    const rrs = ['z.ex.test.', 'a.ex.test.', 'm.ex.test.'].map((name, i) => ({ name, type: Type.A, class: 1, ttl: 60, rdata: Uint8Array.from([10, 0, 0, i]) }));
    const back = await snapshotFromBody('ex.test.', 5, 0, '', await snapshotBody({ zone: 'ex.test.', version: 5, serial: 0, time: '', rrs }));
    assert.equal(back.ordered, false);
    assert.deepEqual(back.rrs, rrs);
  });

  it('every version prints as the sorting path prints it, from each kind of snapshot', async () => {
    for (let v = 1; v <= 90; v++) {
      const p = await printableAsOf(store, 'ex.test.', { version: v });
      assert.equal(p.fromSnapshot, v >= 70 ? 70 : v >= 50 ? 50 : v >= 30 ? 30 : null);
      assert.equal(p.serial, v);
      // Small batches, so owners are printed across batch ends too.
      const printed = [...p.lineBatches(5)].map((b) => b.join('\n') + '\n').join('');
      assert.equal(printed, printZone(versions[v - 1]), `version ${v}`);
    }
    // The test must cover what it claims: owners added and removed after the ordered snapshot.
    const at70 = new Set(versions[69].nodes.keys());
    const at90 = new Set(versions[89].nodes.keys());
    assert.ok([...at90].some((k) => !at70.has(k)) && [...at70].some((k) => !at90.has(k)));
  });
});

describe('lookup (what the responder will ask)', () => {
  const idx = new ZoneIndex(zone([
    'www A 192.0.2.80', 'alias CNAME www', 'a.b.c A 192.0.2.3', '*.wild A 192.0.2.42', 'x.*.wild TXT "below the wildcard"',
    'sub NS ns.sub', 'ns.sub A 192.0.2.53', 'old DNAME new.ex.test.', 'deeper.sub TXT "occluded"',
  ].join('\n') + '\n', 1));
  const kind = (q: string, t: number): string => idx.lookup(q, t).kind;

  it('exact answers, CNAMEs, NODATA and NXDOMAIN', () => {
    assert.equal(kind('www.ex.test.', Type.A), 'answer');
    assert.equal(kind('WWW.EX.TEST.', Type.A), 'answer');
    assert.equal(kind('www.ex.test.', Type.AAAA), 'nodata');
    assert.equal(kind('alias.ex.test.', Type.A), 'cname');
    assert.equal(kind('alias.ex.test.', Type.CNAME), 'answer');
    assert.equal(kind('nothere.ex.test.', Type.A), 'nxdomain');
    assert.equal(kind('ex.test.', Type.SOA), 'answer');
    assert.equal(kind('other.test.', Type.A), 'out-of-zone');
  });

  it('empty non-terminals exist (NODATA, not NXDOMAIN)', () => {
    assert.equal(kind('b.c.ex.test.', Type.A), 'nodata');
    assert.equal(kind('c.ex.test.', Type.TXT), 'nodata');
    assert.equal(kind('z.b.c.ex.test.', Type.A), 'nxdomain');
  });

  it('wildcards match below their closest encloser only (RFC 4592)', () => {
    const l = idx.lookup('anything.wild.ex.test.', Type.A);
    assert.equal(l.kind, 'answer');
    assert.equal(l.kind === 'answer' && l.wildcard, '*.wild.ex.test.');
    assert.equal(kind('anything.wild.ex.test.', Type.MX), 'nodata');
    assert.equal(kind('wild.ex.test.', Type.A), 'nodata', 'the encloser itself is an empty non-terminal');
    assert.equal(kind('y.x.wild.ex.test.', Type.A), 'answer', 'x.wild does not exist, so wild is the closest encloser');
    assert.equal(kind('y.*.wild.ex.test.', Type.A), 'nxdomain', '*.wild exists, so it is the closest encloser, and *.*.wild does not exist');
    assert.equal(kind('x.*.wild.ex.test.', Type.TXT), 'answer');
  });

  it('a zone cut answers with a referral, for names at and below it; DS is the parent side', () => {
    assert.equal(kind('sub.ex.test.', Type.A), 'referral');
    assert.equal(kind('deeper.sub.ex.test.', Type.TXT), 'referral');
    assert.equal(kind('sub.ex.test.', Type.DS), 'nodata');
  });

  it('names below a DNAME are redirected', () => {
    assert.equal(kind('host.old.ex.test.', Type.A), 'dname');
    assert.equal(kind('old.ex.test.', Type.DNAME), 'answer');
  });

  it('the index follows changes: a name appears and disappears with its records', () => {
    const live = new ZoneIndex(zone('', 1));
    const v2 = zone('p.q.r A 192.0.2.1\n', 2);
    live.apply(diff(zone('', 1), v2));
    assert.equal(live.lookup('q.r.ex.test.', Type.A).kind, 'nodata');
    live.apply(diff(v2, zone('', 3)));
    assert.equal(live.lookup('q.r.ex.test.', Type.A).kind, 'nxdomain');
    assert.equal(live.serial, 3);
  });

  it('the rdata a change adds are kept in memory of the zone\'s own: a copy each for a small change, packed for a large one', () => {
    // Parsed from text, each rdata is a slice of Buffer's shared pool, among the parse's garbage.
    const held = (z: Zone, owners: string[]) => {
      const rdata = owners.flatMap((o) => [...z.nodes.get(`${o}.ex.test.`)!.rrsets.values()].flatMap((set) => set.rdata));
      const buffers = new Set(rdata.map((d) => d.buffer));
      let capacity = 0;
      for (const b of buffers) capacity += b.byteLength;
      return { rdata, buffers: buffers.size, capacity, used: rdata.reduce((n, d) => n + d.byteLength, 0) };
    };
    const small = new ZoneIndex(zone('', 1));
    small.apply(diff(zone('', 1), zone('a A 192.0.2.7\na TXT "lease"\n', 2)));
    const a = held(small.zone, ['a']);
    assert.equal(a.rdata.length, 2);
    for (const d of a.rdata) assert.equal(d.buffer.byteLength, d.byteLength, 'a copy of its own');
    let body = '';
    for (let i = 0; i < 1000; i++) body += `h${i} A 10.0.${i >> 8}.${i & 255}\n`;
    const large = new ZoneIndex(zone('', 1));
    large.apply(diff(zone('', 1), zone(body, 2)));
    const h = held(large.zone, Array.from({ length: 1000 }, (_, i) => `h${i}`));
    assert.equal(h.rdata.length, 1000);
    assert.ok(h.capacity - h.used < 8 * 1024, `${h.capacity} octets held for ${h.used} octets of rdata`);
    // Not a buffer each: every ArrayBuffer costs bookkeeping beyond its octets.
    assert.ok(h.buffers <= 2, `1,000 rdata in ${h.buffers} buffers`);
  });
});

describe('zone-file reload', () => {
  it('creates a new zone, records a changed file as one reload event, and sees an identical file as no change', () => {
    const v1 = zone('a A 192.0.2.1\n', 5);
    assert.equal(decideReload(null, v1, { user: 'op' }).kind, 'create');
    assert.equal(decideReload(v1, zone('a A 192.0.2.1\n', 5), {}).kind, 'unchanged');
    const d = decideReload(v1, zone('a A 192.0.2.2\n', 6), { user: 'op' });
    assert.equal(d.kind, 'change');
    assert.deepEqual(d.kind === 'change' && [d.serialFrom, d.serialTo, d.removed, d.added, d.bumped, d.event.data.cause], [5, 6, 1, 1, false, 'reload']);
  });

  it('changed data under an unchanged serial is stored with the serial bumped', () => {
    const d = decideReload(zone('a A 192.0.2.1\n', 5), zone('a A 192.0.2.2\n', 5), {});
    assert.deepEqual(d.kind === 'change' && [d.serialTo, d.bumped], [6, true]);
  });

  it('after a raised serial, the same file again is no change, and another edit under it is raised again', () => {
    const stored = zone('a A 192.0.2.2\n', 6); // the file said 5; zonelog stored 6 (fileSerial 5)
    assert.equal(decideReload(stored, zone('a A 192.0.2.2\n', 5), {}, { lastFileSerial: 5 }).kind, 'unchanged');
    const again = decideReload(stored, zone('a A 192.0.2.3\n', 5), {}, { lastFileSerial: 5 });
    assert.deepEqual(again.kind === 'change' && [again.serialTo, again.bumped, again.event.type === 'ZoneChanged' && again.event.data.fileSerial], [7, true, 5]);
  });

  it('a serial raised in the file without data changes is recorded (it forces secondaries to transfer)', () => {
    const d = decideReload(zone('a A 192.0.2.2\n', 5), zone('a A 192.0.2.2\n', 9), {});
    assert.deepEqual(d.kind === 'change' && [d.serialTo, d.removed, d.added], [9, 0, 0]);
  });

  it('a file for another zone is refused', () => {
    const other = loadZoneText('$TTL 1\n@ SOA a b 9 1 1 1 1\n NS a\n', 'o.zone', { origin: 'other.test.' }).zone;
    assert.match((decideReload(zone('', 5), other, {}) as { reason: string }).reason, /for other\.test\., not ex\.test\./);
  });

  it('a serial that goes backwards, or 2^31 away, is refused', () => {
    assert.match((decideReload(zone('', 5), zone('a A 192.0.2.2\n', 4), {}) as { reason: string }).reason, /behind/);
    assert.match((decideReload(zone('', 5), zone('a A 192.0.2.2\n', 5 + 2 ** 31), {}) as { reason: string }).reason, /incomparable/);
  });
});

describe('lookup corners', () => {
  it('a DNAME at the apex redirects the names below it', () => {
    const idx = new ZoneIndex(zone('@ DNAME target.example.\n', 1));
    assert.equal(idx.lookup('www.ex.test.', Type.A).kind, 'dname');
    assert.equal(idx.lookup('ex.test.', Type.SOA).kind, 'answer');
  });
  it('a query for RRSIG gets the signatures of every covered type', () => {
    const idx = new ZoneIndex(zone('s 60 A 192.0.2.1\ns 60 RRSIG A 8 3 60 20300101000000 20200101000000 1 ex.test. AAAA\ns 300 TXT "t"\ns 300 RRSIG TXT 8 3 300 20300101000000 20200101000000 1 ex.test. AAAA\n', 1));
    const l = idx.lookup('s.ex.test.', Type.RRSIG);
    assert.equal(l.kind, 'answer');
    assert.equal(l.kind === 'answer' && l.rrset.rdata.length, 2);
  });
});
