// The PostgreSQL EventStore: zone streams in one schema, shared by any number of zonelog processes.
//
// Global order. A bigserial/identity value is taken when a row is inserted, not when its
// transaction commits, so two concurrent appends can commit out of order: position 11 becomes
// visible while 10 is still in flight, a reader following positions moves past 10, and never
// sees it. Every append therefore takes pg_advisory_xact_lock on one key (per schema) before it
// inserts. The lock is released only after the commit is visible, so the next append draws its
// positions after every earlier one is readable: positions become visible in order, and
// readAll(after) never skips. Appends are serialised across zones; that costs one commit's
// latency per append and is acceptable until group commit. (A counter row updated in the
// transaction would serialise the same way but rewrites one hot row on every append, and an
// advisory lock leaves no dead tuples behind.) Positions may have gaps (an aborted append has
// drawn its identity values) and are never reused.
//
// Concurrency. Under that lock the stream's version is read in a new statement, so its
// snapshot includes every append committed before the lock was granted, and compared with
// `expected`. UNIQUE (zone, version) is the backstop: a unique violation on it (23505) also
// becomes a ConcurrencyError.
//
// Durability: COMMIT returns once the commit record is flushed, with synchronous_commit at its
// default (on). A server configured with synchronous_commit = off would break the port's promise.

import { DatabaseError, escapeIdentifier, Pool, type PoolClient } from 'pg';
import { nameKey, type Name } from '../dns/name.ts';
import type { NewEvent, Snapshot, StoredEvent } from '../events/types.ts';
import { upcast } from '../events/upcast.ts';
import { indexedNames } from './names-index.ts';
import {
  ConcurrencyError, type AppendOptions, type AppendResult, type EventQuery, type EventStore, type ExpectedVersion, type WireSnapshot, type ZoneHead, type ZoneStorage,
} from './port.ts';
import {
  canonicalTime, checkExpected, duplicateIdError, eventInserts, LAST_VERSION, READ_PAGE, requireCanonicalTime, snapshotBody, snapshotFromBody,
  storedEvent, trimmedEvent, type EventInsert, type EventRow,
} from './rows.ts';
import { bucketRanges, checkQuery, checkRate, eventQuerySql, versionBounds } from './search.ts';

// Advisory lock classes ('zlog' and the next): the second key is hashtext(schema), so stores in
// different schemas of one database do not wait for each other.
const APPEND_LOCK = 0x7a6c6f67;
const DDL_LOCK = APPEND_LOCK + 1;

/** A schema step: SQL, or work done on the migration's connection (inside its transaction). */
type Step = string | ((c: PoolClient) => Promise<void>);

/** Events read per query while the name index is filled for stored events. */
const BACKFILL_PAGE = 1000;

/**
 * Schema steps, applied in order and recorded in schema_migrations. Never edit a shipped step.
 * Exported so a test can make a schema as an older zonelog left it.
 */
export function migrations(s: string): Step[] {
  return [
    `
    CREATE TABLE ${s}.events (
      position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id             uuid        NOT NULL,
      zone           text        NOT NULL,              -- nameKey form
      version        integer     NOT NULL CHECK (version > 0),
      type           text        NOT NULL,
      schema_version integer     NOT NULL,
      serial_from    bigint,
      serial_to      bigint      NOT NULL,
      time           timestamptz NOT NULL,
      data           json        NOT NULL,              -- json, not jsonb: kept as written, key order and all
      CONSTRAINT events_id UNIQUE (id),
      CONSTRAINT events_zone_version UNIQUE (zone, version)
    );
    CREATE INDEX events_zone_serial ON ${s}.events (zone, serial_to, version);
    CREATE INDEX events_zone_time ON ${s}.events (zone, time, version);
    CREATE TABLE ${s}.streams (
      zone    text    PRIMARY KEY,
      version integer NOT NULL,
      serial  bigint  NOT NULL
    );
    CREATE TABLE ${s}.snapshots (
      zone    text        NOT NULL,
      version integer     NOT NULL,
      serial  bigint      NOT NULL,
      time    timestamptz NOT NULL,
      body    bytea       NOT NULL,                      -- gzip-compressed JSON {soa, records}
      PRIMARY KEY (zone, version)
    );
    `,
    // 2: what history searches filter by. Columns for the cause and the actor, and the name
    // index (see names-index.ts), both filled for the events already stored. rname is compared
    // byte by byte (COLLATE "C"): the subtree ranges rely on "." < "/" and on nothing else.
    async (c) => {
      await c.query(`
        ALTER TABLE ${s}.events
          ADD COLUMN cause text,
          ADD COLUMN actor_key text,                     -- nameKey form
          ADD COLUMN actor_address text,
          ADD COLUMN actor_peer text,
          ADD COLUMN actor_user text;
        UPDATE ${s}.events SET
          cause = data->>'cause',
          actor_key = lower(data->'actor'->>'key'),
          actor_address = data->'actor'->>'address',
          actor_peer = data->'actor'->>'peer',
          actor_user = data->'actor'->>'user';
        CREATE TABLE ${s}.event_names (
          zone    text    NOT NULL,
          rname   text    COLLATE "C" NOT NULL,          -- the owner's labels reversed: com.example.www
          type    integer NOT NULL,                      -- RR type number
          version integer NOT NULL,
          PRIMARY KEY (zone, rname, type, version)
        );
      `);
      // A line an older zonelog stored that cannot be read is left out of the index rather
      // than keeping the store from opening; replaying that event fails on its own.
      const skip = (): void => {};
      for (let after = 0; ;) {
        const page = await c.query<{ position: string; zone: string; version: number; type: string; schema_version: number; data: Record<string, unknown> }>(
          `SELECT position, zone, version, type, schema_version, data FROM ${s}.events WHERE position > $1 ORDER BY position LIMIT ${BACKFILL_PAGE}`, [after],
        );
        const zones: string[] = [];
        const names: string[] = [];
        const types: number[] = [];
        const versions: number[] = [];
        for (const r of page.rows) {
          const index = indexedNames(upcast({ type: r.type, schemaVersion: r.schema_version, data: r.data }), skip);
          for (let i = 0; i < index.names.length; i++) {
            zones.push(r.zone);
            names.push(index.names[i]);
            types.push(index.types[i]);
            versions.push(r.version);
          }
        }
        if (names.length > 0) {
          await c.query(`INSERT INTO ${s}.event_names (zone, rname, type, version) SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[])`, [
            zones, names, types, versions,
          ]);
        }
        if (page.rows.length < BACKFILL_PAGE) break;
        after = Number(page.rows[page.rows.length - 1].position);
      }
      // Filters by type alone, in version order.
      await c.query(`CREATE INDEX event_names_zone_type ON ${s}.event_names (zone, type, version)`);
    },
  ];
}

/** The values of the insert statement's parameters after the zone and the version: one array per column. */
function insertParams(rows: EventInsert[]): unknown[] {
  const eventOf: number[] = [];
  const names: string[] = [];
  const types: number[] = [];
  rows.forEach((r, i) => {
    for (let k = 0; k < r.names.length; k++) {
      eventOf.push(i + 1);
      names.push(r.names[k]);
      types.push(r.types[k]);
    }
  });
  return [
    rows.map((e) => e.id), rows.map((e) => e.type), rows.map((e) => e.schemaVersion), rows.map((e) => e.serialFrom),
    rows.map((e) => e.serialTo), rows.map((e) => e.time), rows.map((e) => e.data),
    rows.map((e) => e.cause), rows.map((e) => e.actorKey), rows.map((e) => e.actorAddress), rows.map((e) => e.actorPeer), rows.map((e) => e.actorUser),
    eventOf, names, types,
  ];
}

export interface PostgresOptions {
  connectionString: string;
  /** The PostgreSQL schema holding zonelog's tables; created if absent. Default "zonelog". */
  schema?: string;
  /** Most connections the pool opens. */
  maxConnections?: number;
}

const COLUMNS = ['position', 'id', 'zone', 'version', 'type', 'schema_version', 'time', 'data'];

interface PgEventRow {
  position: string;
  id: string;
  zone: string;
  version: number;
  type: string;
  schema_version: number;
  time: Date;
  data: unknown;
}

function eventRow(r: PgEventRow): EventRow {
  return { ...rowHead(r), data: r.data };
}

function rowHead(r: PgEventRow): Omit<EventRow, 'data'> {
  return { position: Number(r.position), id: r.id, zone: r.zone, version: r.version, type: r.type, schemaVersion: r.schema_version, time: r.time.toISOString() };
}

/** The columns with the data as its text, not parsed by the driver (queryEvents with trimCreations). */
const TEXT_COLUMNS = COLUMNS.map((c) => (c === 'data' ? 'data::text AS data' : c));

interface PgHeadRow {
  zone: string;
  version: number;
  serial: string;
}

function zoneHead(r: PgHeadRow): ZoneHead {
  return { zone: r.zone, version: r.version, serial: Number(r.serial) };
}

function isUniqueViolation(e: unknown, constraint: string): boolean {
  return e instanceof DatabaseError && e.code === '23505' && e.constraint === constraint;
}

export class PostgresStore implements EventStore {
  readonly kind = 'postgres';
  readonly orderedAppends = false;
  readonly schema: string;
  readonly #pool: Pool;
  /**
   * Appends get connections of their own: an append waiting on the append lock holds its
   * connection, and must never take the last one a reader (or the lock holder's catch-up) needs.
   */
  readonly #writePool: Pool;
  readonly #sql: Record<
    | 'version' | 'insert' | 'range' | 'all' | 'head' | 'zones' | 'ofSerial' | 'at' | 'saveSnapshot' | 'loadSnapshot' | 'knownIds' | 'idAt'
    | 'atPosition' | 'storage' | 'snapshots',
    string
  >;

  /** Connects and creates or upgrades the schema. */
  static async connect(options: PostgresOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await store.#migrate();
    } catch (e) {
      await store.#pool.end();
      await store.#writePool.end();
      throw new Error(`postgres store (schema ${store.schema}): ${(e as Error).message}`, { cause: e });
    }
    return store;
  }

  private constructor(options: PostgresOptions) {
    this.schema = options.schema ?? 'zonelog';
    this.#pool = new Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 10, application_name: 'zonelog' });
    // An idle connection the server drops is reported here; the pool has already discarded it,
    // and the next query opens a new one. Without a listener the process would exit.
    this.#pool.on('error', () => {});
    this.#writePool = new Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 10, application_name: 'zonelog-append' });
    this.#writePool.on('error', () => {});
    const s = escapeIdentifier(this.schema);
    const cols = COLUMNS.join(', ');
    this.#sql = {
      version: `SELECT version FROM ${s}.streams WHERE zone = $1`,
      idAt: `SELECT id FROM ${s}.events WHERE zone = $1 AND version = $2`,
      // One statement writes the batch, its name index rows and moves the stream's head. ORDER
      // BY ordinality makes positions follow versions within the batch. A name row carries the
      // ordinal of its event in the batch ($13), so its version is $2 + that.
      insert: `
        WITH ins AS (
          INSERT INTO ${s}.events (id, zone, version, type, schema_version, serial_from, serial_to, time, data,
                                   cause, actor_key, actor_address, actor_peer, actor_user)
          SELECT e.id, $1, $2 + e.n, e.type, e.schema_version, e.serial_from, e.serial_to, e.time, e.data,
                 e.cause, e.actor_key, e.actor_address, e.actor_peer, e.actor_user
          FROM unnest($3::uuid[], $4::text[], $5::integer[], $6::bigint[], $7::bigint[], $8::timestamptz[], $9::json[],
                      $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
               WITH ORDINALITY AS e(id, type, schema_version, serial_from, serial_to, time, data,
                                    cause, actor_key, actor_address, actor_peer, actor_user, n)
          ORDER BY e.n
          RETURNING position, version, serial_to
        ), head AS (
          INSERT INTO ${s}.streams (zone, version, serial)
          SELECT $1, version, serial_to FROM ins ORDER BY version DESC LIMIT 1
          ON CONFLICT (zone) DO UPDATE SET version = excluded.version, serial = excluded.serial
        ), names AS (
          INSERT INTO ${s}.event_names (zone, rname, type, version)
          SELECT $1, x.rname, x.type, $2 + x.n FROM unnest($15::integer[], $16::text[], $17::integer[]) AS x(n, rname, type)
        )
        SELECT max(position) AS position FROM ins`,
      range: `SELECT ${cols} FROM ${s}.events WHERE zone = $1 AND version BETWEEN $2::bigint AND $3::bigint ORDER BY version LIMIT $4`,
      all: `SELECT ${cols} FROM ${s}.events WHERE position > $1 ORDER BY position LIMIT $2`,
      head: `SELECT zone, version, serial FROM ${s}.streams WHERE zone = $1`,
      zones: `SELECT zone, version, serial FROM ${s}.streams ORDER BY zone COLLATE "C"`,
      ofSerial: `SELECT version FROM ${s}.events WHERE zone = $1 AND serial_to = $2 ORDER BY version DESC LIMIT 1`,
      at: `SELECT version FROM ${s}.events WHERE zone = $1 AND time <= $2 ORDER BY time DESC, version DESC LIMIT 1`,
      saveSnapshot: `INSERT INTO ${s}.snapshots (zone, version, serial, time, body) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (zone, version) DO UPDATE SET serial = excluded.serial, time = excluded.time, body = excluded.body`,
      loadSnapshot: `SELECT zone, version, serial, time, body FROM ${s}.snapshots
                     WHERE zone = $1 AND version <= $2::bigint ORDER BY version DESC LIMIT 1`,
      knownIds: `SELECT id FROM ${s}.events WHERE id = ANY ($1::uuid[])`,
      atPosition: `SELECT zone, version FROM ${s}.events WHERE position = $1`,
      // octet_length of the text: the bytes of JSON stored, as SQLite counts them.
      storage: `
        SELECT s.zone, s.version, s.serial,
               coalesce(e.n, 0) AS events, coalesce(e.bytes, 0) AS event_bytes, e.first, e.last,
               coalesce(sn.n, 0) AS snapshots, coalesce(sn.bytes, 0) AS snapshot_bytes, coalesce(x.n, 0) AS index_rows
        FROM ${s}.streams AS s
        LEFT JOIN (SELECT zone, count(*) AS n, sum(octet_length(data::text)) AS bytes, min(time) AS first, max(time) AS last
                   FROM ${s}.events GROUP BY zone) AS e ON e.zone = s.zone
        LEFT JOIN (SELECT zone, count(*) AS n, sum(octet_length(body)) AS bytes FROM ${s}.snapshots GROUP BY zone) AS sn ON sn.zone = s.zone
        LEFT JOIN (SELECT zone, count(*) AS n FROM ${s}.event_names GROUP BY zone) AS x ON x.zone = s.zone
        ORDER BY s.zone COLLATE "C"`,
      snapshots: `SELECT version, serial, time FROM ${s}.snapshots WHERE zone = $1 ORDER BY version`,
    };
  }

  async #migrate(): Promise<void> {
    const s = escapeIdentifier(this.schema);
    const steps = migrations(s);
    await this.#transaction(async (c) => {
      // Two processes starting at once: the second waits here, then finds the work done.
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DDL_LOCK, this.schema]);
      // CREATE SCHEMA needs the CREATE privilege even with IF NOT EXISTS; look first.
      const exists = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
      if (exists.rowCount === 0) await c.query(`CREATE SCHEMA ${s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const current = (await c.query<{ v: number }>(`SELECT coalesce(max(version), 0) AS v FROM ${s}.schema_migrations`)).rows[0].v;
      if (current > steps.length) throw new Error(`schema version ${current} is newer than this zonelog knows (${steps.length})`);
      for (let v = current; v < steps.length; v++) {
        const step = steps[v];
        if (typeof step === 'string') await c.query(step);
        else await step(c);
        await c.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ($1)`, [v + 1]);
      }
    });
  }

  /** Runs `work` in a transaction on one connection; a connection left in doubt is discarded. */
  async #transaction<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.#writePool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const result = await work(c);
      await c.query('COMMIT');
      return result;
    } catch (e) {
      try {
        await c.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      throw e;
    } finally {
      c.release(broken);
    }
  }

  async #version(zone: string): Promise<number> {
    return (await this.#pool.query<{ version: number }>(this.#sql.version, [zone])).rows[0]?.version ?? 0;
  }

  async append(zone: Name, events: NewEvent[], expected: ExpectedVersion, opts: AppendOptions = {}): Promise<AppendResult> {
    const key = nameKey(zone);
    const rows = eventInserts(key, events);
    try {
      return await this.#transaction(async (c) => {
        // An append is acknowledged only once durable, whatever the server's default says.
        await c.query('SET LOCAL synchronous_commit = on');
        await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [APPEND_LOCK, this.schema]);
        // A separate statement: in READ COMMITTED its snapshot is taken after the lock is granted.
        const actual = (await c.query<{ version: number }>(this.#sql.version, [key])).rows[0]?.version ?? 0;
        checkExpected(key, expected, actual);
        if (opts.after !== undefined && (await c.query<{ id: string }>(this.#sql.idAt, [key, actual])).rows[0]?.id !== opts.after) {
          throw new ConcurrencyError(key, expected, actual);
        }
        const r = await c.query<{ position: string }>(this.#sql.insert, [key, actual, ...insertParams(rows)]);
        return { version: actual + rows.length, position: Number(r.rows[0].position) };
      });
    } catch (e) {
      if (isUniqueViolation(e, 'events_zone_version')) throw new ConcurrencyError(key, expected, await this.#version(key));
      if (isUniqueViolation(e, 'events_id')) {
        const known = await this.#pool.query<{ id: string }>(this.#sql.knownIds, [rows.map((r) => r.id)]);
        throw duplicateIdError(key, known.rows.map((r) => r.id));
      }
      throw e;
    }
  }

  async appendExclusive(zone: Name, decide: (version: number) => Promise<NewEvent[]>): Promise<AppendResult | null> {
    const key = nameKey(zone);
    return this.#transaction(async (c) => {
      await c.query('SET LOCAL synchronous_commit = on');
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [APPEND_LOCK, this.schema]);
      const actual = (await c.query<{ version: number }>(this.#sql.version, [key])).rows[0]?.version ?? 0;
      // Other writers wait on the lock from here on: what `decide` sees stays the head.
      const events = await decide(actual);
      if (events.length === 0) return null;
      const rows = eventInserts(key, events);
      const r = await c.query<{ position: string }>(this.#sql.insert, [key, actual, ...insertParams(rows)]);
      return { version: actual + rows.length, position: Number(r.rows[0].position) };
    });
  }

  async *readZone(zone: Name, from = 1, to = LAST_VERSION): AsyncIterable<StoredEvent> {
    const key = nameKey(zone);
    let next = Math.max(from, 1);
    while (next <= to) {
      const page = (await this.#pool.query<PgEventRow>(this.#sql.range, [key, next, to, READ_PAGE])).rows.map(eventRow);
      for (const r of page) yield storedEvent(r);
      if (page.length < READ_PAGE) return;
      next = page[page.length - 1].version + 1;
    }
  }

  async readAll(after: number, limit: number): Promise<StoredEvent[]> {
    if (limit <= 0) return [];
    const r = await this.#pool.query<PgEventRow>(this.#sql.all, [after, limit]);
    return r.rows.map((row) => storedEvent(eventRow(row)));
  }

  async head(zone: Name): Promise<ZoneHead | null> {
    const r = await this.#pool.query<PgHeadRow>(this.#sql.head, [nameKey(zone)]);
    return r.rows[0] ? zoneHead(r.rows[0]) : null;
  }

  async zones(): Promise<ZoneHead[]> {
    return (await this.#pool.query<PgHeadRow>(this.#sql.zones)).rows.map(zoneHead);
  }

  async versionOfSerial(zone: Name, serial: number): Promise<number | null> {
    const r = await this.#pool.query<{ version: number }>(this.#sql.ofSerial, [nameKey(zone), serial]);
    return r.rows[0]?.version ?? null;
  }

  async versionAt(zone: Name, time: string): Promise<number | null> {
    const r = await this.#pool.query<{ version: number }>(this.#sql.at, [nameKey(zone), canonicalTime(time, `zone ${zone}: versionAt`)]);
    return r.rows[0]?.version ?? null;
  }

  async queryEvents(query: EventQuery): Promise<StoredEvent[]> {
    const q = checkQuery(query);
    const at = async (position: number | undefined) => {
      if (position === undefined) return null;
      return (await this.#pool.query<{ zone: string; version: number }>(this.#sql.atPosition, [position])).rows[0] ?? null;
    };
    const bounds = q.zone === undefined ? {} : versionBounds(q, await at(q.before), await at(q.after));
    const s = escapeIdentifier(this.schema);
    const params: (string | number)[] = [];
    const owner = q.trimOwner;
    const sql = eventQuerySql(q, bounds, { table: (t) => `${s}.${t}`, nameTables: ['event_names'], join: 'JOIN' }, owner === undefined ? COLUMNS : TEXT_COLUMNS, (v) => {
      params.push(v);
      return `$${params.length}`;
    });
    const rows = (await this.#pool.query<PgEventRow>(sql, params)).rows;
    if (owner === undefined) return rows.map((r) => storedEvent(eventRow(r)));
    return rows.map((r) => trimmedEvent(rowHead(r), String(r.data), owner));
  }

  async storage(): Promise<ZoneStorage[]> {
    const r = await this.#pool.query<{
      zone: string; version: number; serial: string; events: string; event_bytes: string; first: Date | null; last: Date | null;
      snapshots: string; snapshot_bytes: string; index_rows: string;
    }>(this.#sql.storage);
    return r.rows.map((z) => ({
      zone: z.zone, events: Number(z.events), eventBytes: Number(z.event_bytes), snapshots: Number(z.snapshots),
      snapshotBytes: Number(z.snapshot_bytes), indexRows: Number(z.index_rows),
      firstTime: z.first?.toISOString() ?? null, lastTime: z.last?.toISOString() ?? null, version: z.version, serial: Number(z.serial),
    }));
  }

  async changeRate(query: { zone: Name; since?: string; until?: string; bucketMs: number }): Promise<{ start: string; count: number }[]> {
    const q = checkRate(query);
    const s = escapeIdentifier(this.schema);
    const params: (string | number)[] = [q.zone];
    let range = '';
    if (q.since !== undefined) range += ` AND time >= $${params.push(q.since)}`;
    if (q.until !== undefined) range += ` AND time < $${params.push(q.until)}`;
    const span = (await this.#pool.query<{ first: Date | null; last: Date | null }>(
      `SELECT min(time) AS first, max(time) AS last FROM ${s}.events WHERE zone = $1${range}`, params,
    )).rows[0];
    if (!span.first || !span.last) return [];
    const ranges = bucketRanges(q, span.first.toISOString(), span.last.toISOString());
    let rows: { start: string; n: string }[];
    if (ranges) {
      // Each bucket a count over a range of the (zone, time, version) index.
      rows = (await this.#pool.query<{ start: string; n: string }>(
        `SELECT r.start, (SELECT count(*) FROM ${s}.events WHERE zone = $1 AND time >= r.lo AND time < r.hi) AS n
         FROM unnest($2::bigint[], $3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY AS r(start, lo, hi, k) ORDER BY r.k`,
        [q.zone, ranges.map((r) => r.start), ranges.map((r) => r.lo), ranges.map((r) => r.hi)],
      )).rows.filter((r) => Number(r.n) > 0);
    } else {
      // extract(epoch) is numeric, exact to the microsecond: floor() puts an event at a
      // bucket's first millisecond into that bucket, not the one before.
      params.push(q.bucketMs);
      const b = `$${params.length}`;
      rows = (await this.#pool.query<{ start: string; n: string }>(
        `SELECT (floor(extract(epoch FROM time) * 1000 / ${b}) * ${b})::bigint AS start, count(*) AS n
         FROM ${s}.events WHERE zone = $1${range} GROUP BY 1 ORDER BY 1`,
        params,
      )).rows;
    }
    return rows.map((r) => ({ start: new Date(Number(r.start)).toISOString(), count: Number(r.n) }));
  }

  async snapshots(zone: Name): Promise<{ version: number; serial: number; time: string }[]> {
    const r = await this.#pool.query<{ version: number; serial: string; time: Date }>(this.#sql.snapshots, [nameKey(zone)]);
    return r.rows.map((x) => ({ version: x.version, serial: Number(x.serial), time: x.time.toISOString() }));
  }

  async saveSnapshot(s: Snapshot | WireSnapshot): Promise<void> {
    const time = requireCanonicalTime(s.time, `zone ${s.zone}: snapshot at version ${s.version}`);
    const body = await snapshotBody(s);
    await this.#pool.query(this.#sql.saveSnapshot, [nameKey(s.zone), s.version, s.serial, time, body]);
  }

  async loadSnapshot(zone: Name, maxVersion = LAST_VERSION, opts: { views?: boolean } = {}): Promise<Snapshot | null> {
    const r = await this.#pool.query<{ zone: string; version: number; serial: string; time: Date; body: Buffer }>(this.#sql.loadSnapshot, [nameKey(zone), maxVersion]);
    const row = r.rows[0];
    if (!row) return null;
    return snapshotFromBody(row.zone, row.version, Number(row.serial), row.time.toISOString(), row.body, opts.views);
  }

  #closing: Promise<void> | undefined;

  async close(): Promise<void> {
    this.#closing ??= Promise.all([this.#pool.end(), this.#writePool.end()]).then(() => undefined);
    await this.#closing;
  }
}
