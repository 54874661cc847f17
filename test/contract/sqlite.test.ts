// Runs the EventStore contract against SqliteStore, one fresh file per test; then what only SQLite has.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { openStore } from '../../shared/store/open.ts';
import type { EventQuery } from '../../shared/store/port.ts';
import { MERGE_NAMES_AT, MIGRATIONS, SqliteStore } from '../../shared/store/sqlite.ts';
import { eventInserts } from '../../shared/store/rows.ts';
import { ConcurrencyError } from '../../shared/store/port.ts';
import { changed, created } from './events.ts';
import { checkUpgraded, LEGACY_COLUMNS, LEGACY_EVENTS, LEGACY_INDEX_ROWS, LEGACY_NAME_ROWS, LEGACY_ZONE, legacyRow } from './old-schema.ts';
import { storeContract } from './store.contract.ts';

const root = mkdtempSync(join(tmpdir(), 'zonelog-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh store file per test, opened as `zonelog serve` opens it or plainly. */
const fresh = (opts: { appendThread?: boolean }) => async () => {
  const dir = join(root, `store-${++n}`);
  // A directory that does not exist yet: openStore creates it.
  const url = `sqlite:${join(dir, 'zonelog.db')}`;
  const store = await openStore(url, opts);
  return {
    store,
    url,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

storeContract('sqlite', fresh({}));
// The same contract with appends on their own thread, as `zonelog serve` opens the store.
storeContract('sqlite (append thread)', fresh({ appendThread: true }));

describe('sqlite schema upgrade', () => {
  it('a file made by the first schema gets filter columns and a name index for the events it holds', async () => {
    const file = join(root, 'legacy.db');
    // As zonelog before the upgrade left it: step 1 only, events inserted with step 1's columns.
    const old = new DatabaseSync(file);
    old.exec('PRAGMA journal_mode = WAL');
    old.exec(MIGRATIONS[0] as string);
    old.exec('PRAGMA user_version = 1');
    const insert = old.prepare(`INSERT INTO events (id, zone, version, type, schema_version, serial_from, serial_to, time, data)
                                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    LEGACY_EVENTS.forEach((e, i) => {
      const r = legacyRow(e, i + 1);
      insert.run(r.id, r.zone, r.version, r.type, r.schemaVersion, r.serialFrom, r.serialTo, r.time, r.data);
    });
    old.prepare('INSERT INTO streams (zone, version, serial) VALUES (?, ?, ?)').run(LEGACY_ZONE, 4, 4);
    old.close();

    // Opened as the server opens it: the new event goes through the append thread.
    const store = await openStore(`sqlite:${file}`, { appendThread: true });
    try {
      await checkUpgraded(store);
    } finally {
      await store.close();
    }

    const db = new DatabaseSync(file);
    try {
      assert.equal(db.prepare('PRAGMA user_version').get()?.user_version, MIGRATIONS.length);
      const cols = db.prepare('SELECT version, cause, actor_key, actor_address, actor_peer, actor_user FROM events ORDER BY version').all().map((r) => ({ ...r }));
      assert.deepEqual(cols, LEGACY_COLUMNS);
      // The index as SQLite keeps it: merged rows and staged ones (the append went through the thread).
      const rows = db.prepare(`SELECT rname, type, version FROM (SELECT rname, type, version FROM event_names UNION ALL SELECT rname, type, version FROM event_names_recent)
                               ORDER BY version, rname, type`).all().map((r) => `${r.version} ${r.rname} ${r.type}`);
      assert.deepEqual(rows, LEGACY_NAME_ROWS);
    } finally {
      db.close();
    }

    // Opening again runs no step twice.
    const again = await openStore(`sqlite:${file}`);
    try {
      assert.equal((await again.storage())[0].indexRows, LEGACY_INDEX_ROWS + 1);
    } finally {
      await again.close();
    }
  });
});

describe('sqlite query plans', () => {
  it('a search by name or type starts from the name index and fetches each event by (zone, version), never scanning events', async () => {
    const store = new SqliteStore(join(root, 'plans.db'));
    try {
      const Z = 'example.com.';
      const events = [created(Z, 1)];
      for (let i = 1; i < 400; i++) events.push(changed(Z, i, i + 1, { records: [`h${i % 50}.sub${i % 5}.${Z} 300 IN ${i % 2 ? 'A 192.0.2.1' : 'TXT "x"'}`] }));
      await store.append(Z, events, 'no-zone');
      // The plan reads: events fetched by (zone, version) for a list of versions; the list made by
      // searching event_names (and, with other filters, checking each candidate's row by (zone, version)).
      const fromIndex = (q: Omit<EventQuery, 'limit'>, index: RegExp) => {
        const plan = store.queryPlan({ zone: Z, limit: 50, ...q });
        const detail = plan.join('\n');
        const byVersion = (alias: string) => new RegExp(`^SEARCH ${alias} USING (INDEX \\S+|PRIMARY KEY) \\(zone=\\? AND version=\\?`);
        assert.match(plan[0], byVersion('e'), `events fetched by (zone, version):\n${detail}`);
        const list = plan.findIndex((s) => /^LIST SUBQUERY/.test(s));
        const search = plan.findIndex((s) => index.test(s));
        assert.ok(list > 0 && search > list, `the versions listed from ${index}:\n${detail}`);
        const filtered = Object.keys(q).some((k) => !['zone', 'name', 'subtree', 'type', 'order'].includes(k));
        if (filtered) assert.ok(plan.slice(search).some((s) => byVersion('f').test(s)), `candidates checked by (zone, version):\n${detail}`);
        assert.ok(!plan.some((s) => /^SCAN (e|f|events|event_names)\b/.test(s)), `no scan:\n${detail}`);
      };
      const exact = /^SEARCH event_names USING PRIMARY KEY \(zone=\? AND rname=\?/;
      const range = /^SEARCH event_names USING PRIMARY KEY \(zone=\? AND rname>\? AND rname<\?\)/;
      const byType = /^SEARCH event_names USING COVERING INDEX event_names_zone_type \(zone=\? AND type=\?/;
      fromIndex({ name: `h7.sub2.${Z}` }, exact);
      fromIndex({ name: `h7.sub2.${Z}`, type: 1 }, /^SEARCH event_names USING PRIMARY KEY \(zone=\? AND rname=\? AND type=\?/);
      fromIndex({ name: `sub2.${Z}`, subtree: true }, range);
      fromIndex({ name: `sub2.${Z}`, subtree: true }, exact);
      fromIndex({ type: 16 }, byType);
      // Every other filter and a cursor change nothing about where the search starts.
      const all = { since: '2024-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z', key: 'update-key.', address: '127.0.0.1', peer: 'p', user: 'u', cause: 'update', before: 300 };
      fromIndex({ name: `sub2.${Z}`, subtree: true, ...all }, range);
      fromIndex({ name: `h7.sub2.${Z}`, order: 'asc', after: 20, ...all }, exact);
      fromIndex({ type: 16, ...all }, byType);
      // The events found are the ones the names say.
      assert.deepEqual((await store.queryEvents({ zone: Z, name: `h7.sub2.${Z}`, limit: 50 })).map((e) => e.version), [358, 308, 258, 208, 158, 108, 58, 8]);
    } finally {
      await store.close();
    }
  });
});

describe('sqlite group commit', () => {
  it('appends in one transaction each keep their own outcome: a refused one stores nothing, the ones after it still land', async () => {
    const store = new SqliteStore(join(root, 'group.db'));
    try {
      const A = 'a.example.', B = 'b.example.';
      const first = [created(A, 1)];
      const second = [changed(A, 1, 2)];
      // Expects version 1, but `second` comes before it in the same transaction: refused.
      const stale = [changed(A, 1, 3)];
      const third = [changed(A, 2, 3), changed(A, 3, 4)];
      const other = [created(B, 7)];
      const out = store.appendGroup([
        { zone: A, rows: eventInserts(A, first), expected: 'no-zone' },
        { zone: A, rows: eventInserts(A, second), expected: 1, after: first[0].id },
        { zone: A, rows: eventInserts(A, stale), expected: 1 },
        { zone: A, rows: eventInserts(A, third), expected: 2, after: second[0].id },
        { zone: B, rows: eventInserts(B, other), expected: 'no-zone' },
      ]);
      assert.deepEqual(out.map((o) => ('ok' in o ? o.ok.version : (o.err as Error).constructor.name)), [1, 2, 'ConcurrencyError', 4, 1]);
      assert.ok((out[2] as { err: unknown }).err instanceof ConcurrencyError);
      const ids = async (z: string) => { const r = []; for await (const e of store.readZone(z)) r.push(e.id); return r; };
      assert.deepEqual(await ids(A), [first[0].id, second[0].id, third[0].id, third[1].id]);
      assert.deepEqual(await ids(B), [other[0].id]);
      assert.equal((await store.head(A))?.serial, 4);
      // The refused append left no name index rows either.
      assert.deepEqual((await store.queryEvents({ zone: A, name: `host3.${A}`, limit: 10 })).map((e) => e.id), [third[0].id]);
    } finally {
      await store.close();
    }
  });
});

describe('sqlite staged name index', () => {
  it('a search finds names whether their rows are staged, merged, or some of each, in the same order', async () => {
    const file = join(root, 'staged.db');
    const store = new SqliteStore(file);
    const Z = 'example.com.';
    const search = async () => {
      const q = (x: Omit<EventQuery, 'limit' | 'zone'>) => store.queryEvents({ zone: Z, limit: 7, ...x }).then((r) => r.map((e) => e.version));
      return {
        name: await q({ name: `h3.sub1.${Z}` }),
        asc: await q({ name: `h3.sub1.${Z}`, order: 'asc' }),
        subtree: await q({ name: `sub1.${Z}`, subtree: true }),
        type: await q({ type: 16 }),
        typeFiltered: await q({ type: 16, cause: 'update' }),
        allZonesType: (await store.queryEvents({ type: 16, limit: 5 })).map((e) => e.version),
      };
    };
    try {
      const events = [created(Z, 1)];
      for (let i = 1; i < 120; i++) events.push(changed(Z, i, i + 1, { records: [`h${i % 10}.sub${i % 2}.${Z} 300 IN ${i % 2 ? 'A 192.0.2.1' : 'TXT "x"'}`] }));
      await store.append(Z, events.slice(0, 60), 'no-zone');
      assert.ok(store.stagedNames > 0);
      const before = await search();
      // Half merged, half staged: the answers are the same as the staged part grows.
      store.mergeNames();
      assert.equal(store.stagedNames, 0);
      assert.deepEqual(await search(), before);
      await store.append(Z, events.slice(60), 60);
      const mixed = await search();
      // events[i] is version i + 1 and names h(i % 10).sub(i % 2): an A record for odd i, TXT for even.
      assert.deepEqual(mixed.name, [114, 104, 94, 84, 74, 64, 54]);
      assert.deepEqual(mixed.asc, [4, 14, 24, 34, 44, 54, 64]);
      assert.deepEqual(mixed.type, [119, 117, 115, 113, 111, 109, 107]);
      assert.deepEqual(mixed.typeFiltered, mixed.type);
      assert.deepEqual(mixed.allZonesType, [119, 117, 115, 113, 111]);
      assert.deepEqual(mixed.subtree, [120, 118, 116, 114, 112, 110, 108]);
      const rows = (await store.storage())[0].indexRows;
      assert.ok(store.stagedNames > 0 && rows > store.stagedNames);
      store.mergeNames();
      assert.deepEqual(await search(), mixed);
      assert.equal((await store.storage())[0].indexRows, rows);
    } finally {
      await store.close();
    }
  });

  it('in the middle of a merge, with moved rows in both tables, searches answer as before', async () => {
    const store = new SqliteStore(join(root, 'mid-merge.db'));
    const Z = 'example.com.';
    try {
      const events = [created(Z, 1)];
      for (let i = 1; i < 3000; i++) events.push(changed(Z, i, i + 1, { records: [`h${i % 40}.sub${i % 2}.${Z} 300 IN ${i % 2 ? 'A 192.0.2.1' : 'TXT "x"'}`] }));
      // In appends of 100 events, each with fewer names than a merge step moves: all staged.
      for (let i = 0; i < events.length; i += 100) await store.append(Z, events.slice(i, i + 100), i === 0 ? 'no-zone' : i);
      assert.ok(store.stagedNames >= 3000);
      const search = async () => Promise.all([
        store.queryEvents({ zone: Z, name: `h7.sub1.${Z}`, limit: 30 }),
        store.queryEvents({ zone: Z, name: `sub0.${Z}`, subtree: true, limit: 30, order: 'asc' }),
        store.queryEvents({ zone: Z, type: 16, limit: 30 }),
        store.queryEvents({ zone: Z, type: 1, cause: 'update', limit: 30 }),
      ]).then((rs) => rs.map((r) => r.map((e) => e.version)));
      const before = await search();
      assert.equal(before[0].length, 30);
      assert.ok(store.mergeNamesStep(), 'more than one step for 3,000 rows');
      assert.ok(store.merging);
      assert.deepEqual(await search(), before);
      while (store.mergeNamesStep());
      assert.equal(store.merging, false);
      assert.equal(store.stagedNames, 0);
      assert.deepEqual(await search(), before);
    } finally {
      await store.close();
    }
  });

  it('a merge moves and deletes the staged rows a bounded slice per step, so no step holds appends up long', async () => {
    const file = join(root, 'merge-steps.db');
    const store = new SqliteStore(file);
    const peek = new DatabaseSync(file, { readOnly: true });
    const Z = 'example.com.';
    try {
      const events = [created(Z, 1)];
      for (let i = 1; i < 6000; i++) events.push(changed(Z, i, i + 1, { records: [`h${i % 997}.s${i % 3}.${Z} 300 IN A 192.0.2.${i % 250}`] }));
      for (let i = 0; i < events.length; i += 100) await store.append(Z, events.slice(i, i + 100), i === 0 ? 'no-zone' : i);
      const count = (table: string): number => Number(peek.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n);
      const staged = count('event_names_recent');
      assert.ok(staged >= 5999, `${staged} rows staged`);
      let steps = 0;
      let moved = count('event_names');
      let left = staged;
      for (let more = true; more; steps++) {
        more = store.mergeNamesStep();
        const nowMoved = count('event_names');
        const nowLeft = count('event_names_recent');
        // A key range from a sample of the keys holds about 256 rows; a deletion at most 2,048.
        assert.ok(nowMoved - moved <= 1024, `step ${steps} moved ${nowMoved - moved} rows`);
        assert.ok(left - nowLeft <= 2048, `step ${steps} deleted ${left - nowLeft} rows`);
        moved = nowMoved;
        left = nowLeft;
      }
      assert.equal(left, 0);
      assert.equal(moved, staged, 'every staged row moved, once');
      assert.ok(steps >= staged / 1024 + 3, `${steps} steps`);
      assert.equal(store.merging, false);
      assert.equal(store.stagedNames, 0);
    } finally {
      peek.close();
      await store.close();
    }
  });

  it('an append that stages enough name rows merges them; closing the store merges the rest', async () => {
    const file = join(root, 'merge-at.db');
    const Z = 'example.com.';
    const store = new SqliteStore(file);
    let rows = 0;
    try {
      // One append with many names (an import, say) writes them into the index, unstaged.
      const many = Array.from({ length: 5000 }, (_, i) => `m${i}.${Z} 300 IN A 192.0.2.1`);
      await store.append(Z, [created(Z, 1, { records: many })], 'no-zone');
      assert.equal(store.stagedNames, 0);
      // Appends of 1,000 names each are staged, until one brings the staged rows to the threshold.
      let v = 1;
      for (let staged = 0; staged < MERGE_NAMES_AT; staged += 1000, v++) {
        assert.equal(store.stagedNames, staged);
        await store.append(Z, [changed(Z, v, v + 1, { records: Array.from({ length: 1000 }, (_, i) => `n${v}-${i}.${Z} 300 IN A 192.0.2.1`) })], v);
      }
      assert.equal(store.stagedNames, 0, 'merged by the append that reached the threshold');
      await store.append(Z, [changed(Z, v, v + 1)], v);
      assert.equal(store.stagedNames, 1);
      rows = (await store.storage())[0].indexRows;
      assert.ok(rows > MERGE_NAMES_AT);
    } finally {
      await store.close();
    }
    const db = new DatabaseSync(file);
    try {
      assert.equal(db.prepare('SELECT count(*) AS n FROM event_names_recent').get()?.n, 0);
      assert.equal(db.prepare('SELECT count(*) AS n FROM event_names').get()?.n, rows);
    } finally {
      db.close();
    }
  });

  it('an append is acknowledged even when the merge it sets off fails; its names stay staged and are found', async () => {
    const file = join(root, 'merge-fails.db');
    const Z = 'example.com.';
    const store = new SqliteStore(file);
    const db = new DatabaseSync(file);
    try {
      // The merge's last step deletes the rows it moved: make that fail.
      db.exec("CREATE TRIGGER keep_staged BEFORE DELETE ON event_names_recent BEGIN SELECT RAISE(ABORT, 'kept for the test'); END");
      await store.append(Z, [created(Z, 1)], 'no-zone');
      let v = 1;
      for (let staged = 0; staged < MERGE_NAMES_AT; staged += 1000, v++) {
        await store.append(Z, [changed(Z, v, v + 1, { records: Array.from({ length: 1000 }, (_, i) => `n${v}-${i}.${Z} 300 IN A 192.0.2.1`) })], v);
      }
      assert.equal((await store.head(Z))?.version, v, 'every append acknowledged and stored');
      assert.ok(store.stagedNames >= MERGE_NAMES_AT, 'still staged');
      assert.deepEqual((await store.queryEvents({ zone: Z, name: `n${v - 1}-7.${Z}`, limit: 5 })).map((e) => e.version), [v]);
    } finally {
      db.exec('DROP TRIGGER keep_staged');
      db.close();
      await store.close();
    }
  });

  it('a store that only read leaves the staged rows to the writers when it closes', async () => {
    const file = join(root, 'reader-close.db');
    const Z = 'example.com.';
    const writer = new SqliteStore(file);
    await writer.append(Z, [created(Z, 1), changed(Z, 1, 2)], 'no-zone');
    const staged = writer.stagedNames;
    assert.ok(staged > 0);
    const reader = new SqliteStore(file);
    assert.equal((await reader.queryEvents({ zone: Z, name: `host2.${Z}`, limit: 5 })).length, 1);
    await reader.close();
    const db = new DatabaseSync(file);
    try {
      assert.equal(db.prepare('SELECT count(*) AS n FROM event_names_recent').get()?.n, staged);
    } finally {
      db.close();
    }
    await writer.close();
  });

  it('the append thread merges what it staged once appends pause, and searches find the names throughout', async () => {
    const file = join(root, 'idle-merge.db');
    const Z = 'example.com.';
    const store = await openStore(`sqlite:${file}`, { appendThread: true });
    const staged = () => {
      const db = new DatabaseSync(file);
      try {
        return Number(db.prepare('SELECT count(*) AS n FROM event_names_recent').get()?.n);
      } finally {
        db.close();
      }
    };
    try {
      await store.append(Z, [created(Z, 1), changed(Z, 1, 2, { records: [`busy.${Z} 300 IN A 192.0.2.7`] })], 'no-zone');
      assert.ok(staged() > 0, 'staged by the append');
      assert.deepEqual((await store.queryEvents({ zone: Z, name: `busy.${Z}`, limit: 5 })).map((e) => e.version), [2]);
      const deadline = Date.now() + 5000;
      while (staged() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(staged(), 0, 'merged within 5 s of the last append');
      assert.deepEqual((await store.queryEvents({ zone: Z, name: `busy.${Z}`, limit: 5 })).map((e) => e.version), [2]);
    } finally {
      await store.close();
    }
  });
});
