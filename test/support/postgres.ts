// Test support: a reachable PostgreSQL (started if need be) and a fresh database for each test run.
//
// Suites that need PostgreSQL fail when it cannot be reached; they never skip, so CI runs all.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client } from 'pg';

/** The server and an administrative database on it; override with ZONELOG_TEST_POSTGRES. */
export const ADMIN_URL = process.env.ZONELOG_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const START_WAIT_MS = 30_000;

async function tryConnect(url: string): Promise<Error | null> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (e) {
    return e as Error;
  } finally {
    await c.end().catch(() => {});
  }
}

let reachable: Promise<void> | undefined;

/** Resolves once PostgreSQL answers at ADMIN_URL, starting the local cluster (infra/postgres.sh) if it does not. */
export function ensurePostgres(): Promise<void> {
  reachable ??= (async () => {
    const first = await tryConnect(ADMIN_URL);
    if (!first) return;
    const script = fileURLToPath(new URL('../../infra/postgres.sh', import.meta.url));
    const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: START_WAIT_MS });
    const last = await tryConnect(ADMIN_URL);
    if (!last) return;
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_URL} (${last.message}; before starting: ${first.message}).\n` +
        `infra/postgres.sh exited ${r.status}: ${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim()}\n` +
        'The PostgreSQL suites need a server: start one with trust auth for user postgres, or set ZONELOG_TEST_POSTGRES.',
    );
  })();
  return reachable;
}

export interface TestDatabase {
  /** URL of the fresh database, e.g. postgres://postgres@127.0.0.1:5432/zonelog_test_1a2b3c4d. */
  url: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

/** A database of its own for one test run, so runs in parallel never see each other's rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  await ensurePostgres();
  const name = `zonelog_test_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: ADMIN_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
