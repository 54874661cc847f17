// Runs the EventStore contract against PostgresStore: a fresh database per run, a schema per test; then the upgrade.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../../shared/store/open.ts';
import { migrations } from '../../shared/store/postgres.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { checkUpgraded, LEGACY_COLUMNS, LEGACY_EVENTS, LEGACY_NAME_ROWS, LEGACY_ZONE, legacyRow } from './old-schema.ts';
import { storeContract } from './store.contract.ts';

const db = await createTestDatabase();
after(() => db.drop());

let n = 0;
storeContract('postgres', async () => {
  const url = `${db.url}?schema=contract_${++n}`;
  const store = await openStore(url);
  return { store, url, cleanup: () => store.close() };
});

describe('postgres schema upgrade', () => {
  it('a schema made by the first step gets filter columns and a name index for the events it holds', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      // As zonelog before the upgrade left it: step 1 only, recorded, and events with step 1's columns.
      await c.query('CREATE SCHEMA legacy');
      await c.query(migrations('legacy')[0] as string);
      await c.query('CREATE TABLE legacy.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      await c.query('INSERT INTO legacy.schema_migrations (version) VALUES (1)');
      for (const [i, e] of LEGACY_EVENTS.entries()) {
        const r = legacyRow(e, i + 1);
        await c.query(
          `INSERT INTO legacy.events (id, zone, version, type, schema_version, serial_from, serial_to, time, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [r.id, r.zone, r.version, r.type, r.schemaVersion, r.serialFrom, r.serialTo, r.time, r.data],
        );
      }
      await c.query('INSERT INTO legacy.streams (zone, version, serial) VALUES ($1, 4, 4)', [LEGACY_ZONE]);

      const store = await openStore(`${db.url}?schema=legacy`);
      try {
        await checkUpgraded(store);
      } finally {
        await store.close();
      }

      assert.deepEqual((await c.query('SELECT max(version) AS v FROM legacy.schema_migrations')).rows, [{ v: 2 }]);
      const cols = await c.query('SELECT version, cause, actor_key, actor_address, actor_peer, actor_user FROM legacy.events ORDER BY version');
      assert.deepEqual(cols.rows, LEGACY_COLUMNS);
      const rows = await c.query(`SELECT version || ' ' || rname || ' ' || type AS r FROM legacy.event_names ORDER BY version, rname, type`);
      assert.deepEqual(rows.rows.map((r: { r: string }) => r.r), LEGACY_NAME_ROWS);
    } finally {
      await c.end();
    }
  });
});
