// The embedded EventStore: zone streams in one SQLite file through node:sqlite.
//
// Durability: WAL with synchronous=FULL. In WAL mode a commit is one append to the -wal file and
// one fsync of it, where a rollback journal needs the journal written and synced, the database
// written and synced, and the journal deleted: three or more syncs per append. WAL also lets
// readers (projector, responder, API) keep reading while the primary appends, and a commit
// never waits for them. synchronous=NORMAL would be faster but only survives a process crash,
// not a power cut: the last commits may be lost, which breaks the port's "durable when the
// promise resolves". FULL syncs the WAL on every commit. (WAL needs a local filesystem with
// shared memory; SQLite on NFS is not supported anyway.)
//
// Concurrency: every append is one BEGIN IMMEDIATE transaction, which takes the file's write
// lock before reading the stream's version, so the check and the inserts are atomic even with
// several processes on one file. Other writers wait up to the busy timeout. node:sqlite is
// synchronous, so an append runs start to finish without yielding; within one process two
// handles can never interleave, and across processes the write lock orders them.

import { DatabaseSync, type SQLInputValue, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { AppendReply, AppendRequest } from './sqlite-append-thread.ts';
import { nameKey, type Name } from '../dns/name.ts';
import type { NewEvent, Snapshot, StoredEvent } from '../events/types.ts';
import { upcast } from '../events/upcast.ts';
import { indexedNames } from './names-index.ts';
import {
  ConcurrencyError, type AppendOptions, type AppendResult, type EventQuery, type EventStore, type ExpectedVersion, type WireSnapshot, type ZoneHead, type ZoneStorage,
} from './port.ts';
import {
  canonicalTime, checkExpected, duplicateIdError, eventInserts, LAST_VERSION, READ_PAGE, requireCanonicalTime, snapshotBody, snapshotFromBody, storedEvent, trimmedEvent,
  type EventInsert, type EventRow,
} from './rows.ts';
import { bucketRanges, checkQuery, checkRate, eventQuerySql, versionBounds, type Dialect } from './search.ts';

/** A schema step: SQL, or work in TypeScript (inside the same migration transaction). */
type Step = string | ((db: DatabaseSync) => void);

/**
 * Schema steps; user_version is the number applied. Append only: never edit a shipped step.
 * Exported so a test can make a store as an older zonelog left it.
 */
export const MIGRATIONS: readonly Step[] = [
  `
  CREATE TABLE events (
    position       INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a position is never reused
    id             TEXT    NOT NULL UNIQUE,
    zone           TEXT    NOT NULL,                   -- nameKey form
    version        INTEGER NOT NULL CHECK (version > 0),
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    serial_from    INTEGER,
    serial_to      INTEGER NOT NULL,
    time           TEXT    NOT NULL,                   -- canonical ISO 8601, so text order is time order
    data           TEXT    NOT NULL,                   -- JSON
    UNIQUE (zone, version)                             -- the backstop for the version check
  );
  CREATE INDEX events_zone_serial ON events (zone, serial_to, version);
  CREATE INDEX events_zone_time ON events (zone, time, version);
  CREATE TABLE streams (
    zone    TEXT    PRIMARY KEY,
    version INTEGER NOT NULL,
    serial  INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE snapshots (
    zone    TEXT    NOT NULL,
    version INTEGER NOT NULL,
    serial  INTEGER NOT NULL,
    time    TEXT    NOT NULL,
    body    BLOB    NOT NULL,                          -- gzip-compressed JSON {soa, records}
    PRIMARY KEY (zone, version)
  ) WITHOUT ROWID;
  `,
  // 2: what history searches filter by. Columns for the cause and the actor, and the name
  // index (see names-index.ts), both filled for the events already stored.
  (db) => {
    db.exec(`
      ALTER TABLE events ADD COLUMN cause TEXT;
      ALTER TABLE events ADD COLUMN actor_key TEXT;                -- nameKey form
      ALTER TABLE events ADD COLUMN actor_address TEXT;
      ALTER TABLE events ADD COLUMN actor_peer TEXT;
      ALTER TABLE events ADD COLUMN actor_user TEXT;
      UPDATE events SET
        cause = json_extract(data, '$.cause'),
        actor_key = lower(json_extract(data, '$.actor.key')),
        actor_address = json_extract(data, '$.actor.address'),
        actor_peer = json_extract(data, '$.actor.peer'),
        actor_user = json_extract(data, '$.actor.user');
      CREATE TABLE event_names (
        zone    TEXT    NOT NULL,
        rname   TEXT    NOT NULL,                      -- the owner's labels reversed: com.example.www
        type    INTEGER NOT NULL,                      -- RR type number
        version INTEGER NOT NULL,
        PRIMARY KEY (zone, rname, type, version)
      ) WITHOUT ROWID;
    `);
    const insert = db.prepare('INSERT INTO event_names (zone, rname, type, version) VALUES (?, ?, ?, ?)');
    // A line an older zonelog stored that cannot be read is left out of the index rather than
    // keeping the store from opening; replaying that event fails on its own.
    const skip = (): void => {};
    for (const r of db.prepare('SELECT zone, version, type, schema_version, data FROM events').iterate()) {
      const body = upcast({ type: String(r.type), schemaVersion: Number(r.schema_version), data: JSON.parse(String(r.data)) as Record<string, unknown> });
      const { names, types } = indexedNames(body, skip);
      for (let i = 0; i < names.length; i++) insert.run(String(r.zone), names[i], types[i], Number(r.version));
    }
    // Filters by type alone, in version order.
    db.exec('CREATE INDEX event_names_zone_type ON event_names (zone, type, version)');
  },
  // 3: the name index is written in two steps, as a log-structured tree is. An append puts its
  // rows here, at the end of an unindexed table: a page or two per commit, where inserting them
  // into event_names dirties a leaf page per name, far apart, and every page dirtied is written
  // to the WAL and synced with the commit. mergeNamesStep moves them into event_names in key
  // order, thousands at a time, so each leaf is written once for many rows. Searches read both
  // tables. AUTOINCREMENT: a merge deletes the rows up to a rowid it noted when it began, so a
  // rowid must never be handed out again (its counter shares the page the events' counter dirties).
  `
  CREATE TABLE event_names_recent (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    zone    TEXT    NOT NULL,
    rname   TEXT    NOT NULL,
    type    INTEGER NOT NULL,
    version INTEGER NOT NULL
  );
  -- A search by type alone looks a candidate event up here by version; versions only grow, so
  -- this index is written at its end, a page per commit.
  CREATE INDEX event_names_recent_version ON event_names_recent (zone, version, type);
  `,
];

/** Staged name rows (event_names_recent) at which an append, or the append thread, merges them. */
export const MERGE_NAMES_AT = 16_384;
/**
 * Staged rows a merge step moves, about: one key range's worth, so a step rewrites only that
 * range's leaves and holds the write lock for a few milliseconds, not the whole index's worth.
 * Appends wait behind a step: 256 rather than 1,024 gave 3,988 against 3,577 updates/s at 20 in
 * flight (four interleaved pairs on 2026-12-03's machine) and no change at 100.
 */
const MERGE_STEP_ROWS = 256;
/**
 * The key bounds of a merge's steps come from every MERGE_SAMPLE-th staged row (by id), sorted:
 * sorting all of them, 16,384 at the threshold, took a first step of 28 ms while every append
 * waited.
 */
const MERGE_SAMPLE = 16;
/**
 * Moved rows leave the staging table this many ids per step: deleting all 16,384 at once (with
 * their index entries) was a step of 16–34 ms.
 */
const CLEAR_STEP_ROWS = 2048;
/**
 * Name rows from one append at which they go straight into the index, in key order, instead of
 * being staged: an import, a transfer or a reload gains nothing from the detour.
 */
const DIRECT_INDEX_ROWS = 1024;

const DIALECT: Dialect = { table: (t) => t, nameTables: ['event_names', 'event_names_recent'], join: 'CROSS JOIN' };

const COLUMNS = ['position', 'id', 'zone', 'version', 'type', 'schema_version', 'time', 'data'];
const EVENT_COLUMNS = COLUMNS.join(', ');

export interface SqliteOptions {
  /** How long an append waits for another process's write lock, in ms. */
  busyTimeoutMs?: number;
  /**
   * Run appends on their own thread and connection. The commit's fsync then no longer blocks
   * this thread, so a server keeps answering and deciding the next batch meanwhile. Reads stay
   * here; WAL lets them proceed beside the writer.
   */
  appendThread?: boolean;
}

type Row = Record<string, SQLOutputValue>;

function eventRow(r: Row): EventRow {
  return { ...rowHead(r), data: JSON.parse(String(r.data)) };
}

function rowHead(r: Row): Omit<EventRow, 'data'> {
  return {
    position: Number(r.position), id: String(r.id), zone: String(r.zone), version: Number(r.version),
    type: String(r.type), schemaVersion: Number(r.schema_version), time: String(r.time),
  };
}

/** One append of a group (appendGroup): the zone's key, rows eventInserts made, and its preconditions. */
export interface GroupAppend {
  zone: string;
  rows: EventInsert[];
  expected: ExpectedVersion;
  after?: string;
}

export type GroupOutcome = { ok: AppendResult } | { err: unknown };

/** A merge of staged name rows failed: nothing is lost, since searches read the staged rows too. */
export function warnMergeFailed(e: unknown): void {
  process.emitWarning(`merging the staged name index rows failed; they stay staged: ${(e as Error).message}`);
}

function isUniqueViolation(e: unknown, columns: string): boolean {
  return e instanceof Error && (e as { errcode?: number }).errcode === 2067 /* SQLITE_CONSTRAINT_UNIQUE */ && e.message.includes(columns);
}

export class SqliteStore implements EventStore {
  readonly kind = 'sqlite';
  readonly orderedAppends = true;
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #q: Record<
    | 'streamVersion' | 'insert' | 'insertName' | 'stageName' | 'upsertStream' | 'range' | 'all' | 'head' | 'zones' | 'ofSerial' | 'at' | 'saveSnapshot' | 'loadSnapshot'
    | 'knownIds' | 'idAt' | 'atPosition' | 'storage' | 'snapshots' | 'countRanges' | 'staged' | 'mergeKeys' | 'mergeRange' | 'merge' | 'mergeTail' | 'clearStaged',
    StatementSync
  >;
  /** Statements for the shapes of query asked so far (a few dozen at most in practice). */
  readonly #shapes = new Map<string, StatementSync>();

  /** Name rows this connection knows to be staged, not yet merged (other connections stage too). */
  #staged = 0;
  /**
   * A merge under way: the staged rows up to id `upto` move to event_names one key range at a
   * time, [bounds[i], bounds[i + 1]); then steps delete them from the staging table, ids
   * (cleared, cleared + CLEAR_STEP_ROWS] at a time. Until then a moved row is in both tables,
   * which searches allow for (they select versions IN a list).
   */
  #merging: { upto: number; rows: number; bounds: string[]; next: number; cleared: number } | null = null;
  /** This connection has appended: only then does close() merge (a reader never takes the write lock). */
  #appended = false;

  readonly #writer: Worker | null = null;
  readonly #waiting = new Map<number, { resolve: (r: AppendResult) => void; reject: (e: Error) => void }>();
  #nextId = 1;

  constructor(path: string, options: SqliteOptions = {}) {
    this.path = path;
    this.#db = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      this.#configure();
      this.#migrate();
    } catch (e) {
      this.#db.close();
      throw new Error(`sqlite store ${path}: ${(e as Error).message}`, { cause: e });
    }
    const p = (sql: string) => this.#db.prepare(sql);
    this.#q = {
      streamVersion: p('SELECT version FROM streams WHERE zone = ?'),
      insert: p(`INSERT INTO events (id, zone, version, type, schema_version, serial_from, serial_to, time, data,
                                     cause, actor_key, actor_address, actor_peer, actor_user)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertName: p('INSERT INTO event_names (zone, rname, type, version) VALUES (?, ?, ?, ?)'),
      stageName: p('INSERT INTO event_names_recent (zone, rname, type, version) VALUES (?, ?, ?, ?)'),
      staged: p('SELECT count(*) AS n FROM event_names_recent'),
      mergeKeys: p('SELECT rname FROM event_names_recent WHERE id <= ? AND id % ? = 0 ORDER BY rname'),
      mergeRange: p('SELECT min(id) AS first, max(id) AS last, count(*) AS n FROM event_names_recent'),
      // OR IGNORE: a step an earlier process began and did not finish may have moved some already.
      merge: p(`INSERT OR IGNORE INTO event_names (zone, rname, type, version)
                SELECT zone, rname, type, version FROM event_names_recent
                WHERE id <= ? AND rname >= ? AND rname < ? ORDER BY zone, rname, type, version`),
      mergeTail: p(`INSERT OR IGNORE INTO event_names (zone, rname, type, version)
                    SELECT zone, rname, type, version FROM event_names_recent
                    WHERE id <= ? AND rname >= ? ORDER BY zone, rname, type, version`),
      clearStaged: p('DELETE FROM event_names_recent WHERE id > ? AND id <= ?'),
      upsertStream: p(`INSERT INTO streams (zone, version, serial) VALUES (?, ?, ?)
                       ON CONFLICT (zone) DO UPDATE SET version = excluded.version, serial = excluded.serial`),
      range: p(`SELECT ${EVENT_COLUMNS} FROM events WHERE zone = ? AND version BETWEEN ? AND ? ORDER BY version LIMIT ?`),
      all: p(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`),
      head: p('SELECT zone, version, serial FROM streams WHERE zone = ?'),
      zones: p('SELECT zone, version, serial FROM streams ORDER BY zone'),
      ofSerial: p('SELECT version FROM events WHERE zone = ? AND serial_to = ? ORDER BY version DESC LIMIT 1'),
      at: p('SELECT version FROM events WHERE zone = ? AND time <= ? ORDER BY time DESC, version DESC LIMIT 1'),
      saveSnapshot: p(`INSERT INTO snapshots (zone, version, serial, time, body) VALUES (?, ?, ?, ?, ?)
                       ON CONFLICT (zone, version) DO UPDATE SET serial = excluded.serial, time = excluded.time, body = excluded.body`),
      loadSnapshot: p('SELECT zone, version, serial, time, body FROM snapshots WHERE zone = ? AND version <= ? ORDER BY version DESC LIMIT 1'),
      knownIds: p('SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?))'),
      idAt: p('SELECT id FROM events WHERE zone = ? AND version = ?'),
      atPosition: p('SELECT zone, version FROM events WHERE position = ?'),
      // octet_length: the bytes stored, where length() would count characters.
      storage: p(`
        SELECT s.zone, s.version, s.serial,
               coalesce(e.n, 0) AS events, coalesce(e.bytes, 0) AS event_bytes, e.first, e.last,
               coalesce(sn.n, 0) AS snapshots, coalesce(sn.bytes, 0) AS snapshot_bytes, coalesce(x.n, 0) AS index_rows
        FROM streams AS s
        LEFT JOIN (SELECT zone, count(*) AS n, sum(octet_length(data)) AS bytes, min(time) AS first, max(time) AS last FROM events GROUP BY zone) AS e ON e.zone = s.zone
        LEFT JOIN (SELECT zone, count(*) AS n, sum(length(body)) AS bytes FROM snapshots GROUP BY zone) AS sn ON sn.zone = s.zone
        LEFT JOIN (SELECT zone, count(*) AS n FROM (SELECT zone FROM event_names UNION ALL SELECT zone FROM event_names_recent) GROUP BY zone) AS x ON x.zone = s.zone
        ORDER BY s.zone`),
      snapshots: p('SELECT version, serial, time FROM snapshots WHERE zone = ? ORDER BY version'),
      // The ranges come as JSON [[start, lo, hi], ...]: one statement for all of them.
      countRanges: p(`SELECT r.value ->> 0 AS start, (SELECT count(*) FROM events WHERE zone = ? AND time >= r.value ->> 1 AND time < r.value ->> 2) AS n
                      FROM json_each(?) AS r ORDER BY r.key`),
    };
    this.#staged = Number(this.#q.staged.get()?.n ?? 0);
    if (options.appendThread && path !== ':memory:') {
      const w = new Worker(new URL('./sqlite-append-thread.ts', import.meta.url), { workerData: { path, busyTimeoutMs: options.busyTimeoutMs } });
      w.on('message', (r: AppendReply) => {
        const waiter = this.#waiting.get(r.id);
        if (!waiter) return;
        this.#waiting.delete(r.id);
        if ('ok' in r) waiter.resolve(r.ok);
        else if ('concurrency' in r) waiter.reject(new ConcurrencyError(r.concurrency.zone, r.concurrency.expected, r.concurrency.actual));
        else waiter.reject(r.range ? new RangeError(r.error) : new Error(r.error));
      });
      const failAll = (e: Error): void => {
        for (const w of this.#waiting.values()) w.reject(new Error(`sqlite append thread: ${e.message}`));
        this.#waiting.clear();
      };
      w.on('error', failAll);
      w.on('exit', (code) => failAll(new Error(`exited with code ${code}`)));
      this.#writer = w;
    }
  }

  #configure(): void {
    // journal_mode is a property of the file and needs a moment of exclusive access; the busy
    // timeout covers another process opening at the same time. synchronous is per connection.
    const mode = this.#db.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode;
    if (mode !== 'wal' && this.path !== ':memory:') throw new Error(`cannot use WAL (journal_mode is ${String(mode)})`);
    this.#db.exec('PRAGMA synchronous = FULL');
    // Savepoints (one per append in a group commit) keep their undo records in a statement
    // journal: in memory, not in a temporary file written through the kernel on every commit.
    this.#db.exec('PRAGMA temp_store = MEMORY');
  }

  #migrate(): void {
    // BEGIN IMMEDIATE: two processes opening a new file at once apply each step exactly once.
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const current = Number(this.#db.prepare('PRAGMA user_version').get()?.user_version ?? 0);
      if (current > MIGRATIONS.length) throw new Error(`schema version ${current} is newer than this zonelog knows (${MIGRATIONS.length})`);
      for (let v = current; v < MIGRATIONS.length; v++) {
        const step = MIGRATIONS[v];
        if (typeof step === 'string') this.#db.exec(step);
        else step(this.#db);
      }
      this.#db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`);
      this.#db.exec('COMMIT');
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw e;
    }
  }

  #version(zone: string): number {
    return Number(this.#q.streamVersion.get(zone)?.version ?? 0);
  }

  async append(zone: Name, events: NewEvent[], expected: ExpectedVersion, opts: AppendOptions = {}): Promise<AppendResult> {
    const key = nameKey(zone);
    if (this.#writer) {
      // The thread checks and encodes the events (eventInserts), and a bad one is refused with
      // the same RangeError as without it, before any transaction.
      const id = this.#nextId++;
      return new Promise((resolve, reject) => {
        this.#waiting.set(id, { resolve, reject });
        this.#writer!.postMessage({ id, zone: key, events, expected, after: opts.after } satisfies AppendRequest);
      });
    }
    const rows = eventInserts(key, events);
    const [r] = this.appendGroup([{ zone: key, rows, expected, after: opts.after }]);
    if ('err' in r) throw r.err;
    // The append is durable whatever happens here: a merge that fails leaves the rows staged,
    // where searches find them, and the next append tries again.
    if (this.#staged >= MERGE_NAMES_AT) {
      try {
        this.mergeNames();
      } catch (e) {
        warnMergeFailed(e);
      }
    }
    return r.ok;
  }

  /**
   * Several appends in one transaction, so one sync makes all of them durable: group commit
   * across batches, for the append thread, which takes every request waiting for it at once.
   * Each append runs in its own savepoint, in order, so it sees the ones before it, and a
   * failure undoes only its own rows and gets the error it would have got alone.
   */
  appendGroup(group: readonly GroupAppend[]): GroupOutcome[] {
    const db = this.#db;
    const out: GroupOutcome[] = [];
    let staged = 0;
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const a of group) {
        db.exec('SAVEPOINT append');
        try {
          const r = this.#insert(a);
          out.push({ ok: r.result });
          staged += r.staged;
        } catch (e) {
          db.exec('ROLLBACK TO append');
          out.push({ err: this.#appendError(e, a) });
        }
        db.exec('RELEASE append');
      }
      db.exec('COMMIT');
    } catch (e) {
      // Only the transaction itself fails here (BEGIN, a savepoint, COMMIT): nothing is stored.
      if (db.isTransaction) db.exec('ROLLBACK');
      return group.map(() => ({ err: e }));
    }
    if (out.some((o) => 'ok' in o)) this.#appended = true;
    this.#staged += staged;
    return out;
  }

  /** Name rows staged by appends on this connection and not merged since. */
  get stagedNames(): number {
    return this.#staged;
  }

  /** A merge of the staged name rows is under way (mergeNamesStep has steps left). */
  get merging(): boolean {
    return this.#merging !== null;
  }

  /**
   * One step of moving the staged name rows into event_names: the rows in one key range, in key
   * order, in one transaction, so each leaf page of the index is written once for all the rows
   * that land on it. A merge covers the rows staged when it began, in key ranges of about
   * MERGE_STEP_ROWS rows each, then deletes them from the staging table CLEAR_STEP_ROWS ids at a
   * time, so no step holds the write lock for long. Returns true while steps remain.
   */
  mergeNamesStep(): boolean {
    if (!this.#merging) {
      const r = this.#q.mergeRange.get();
      const upto = Number(r?.last ?? 0);
      if (upto === 0) return false;
      const keys = this.#q.mergeKeys.all(upto, MERGE_SAMPLE).map((k) => String(k.rname));
      const bounds = [''];
      const every = MERGE_STEP_ROWS / MERGE_SAMPLE;
      for (let i = every; i < keys.length; i += every) if (keys[i] > bounds[bounds.length - 1]) bounds.push(keys[i]);
      this.#merging = { upto, rows: Number(r?.n ?? 0), bounds, next: 0, cleared: Number(r?.first ?? 1) - 1 };
    }
    const m = this.#merging;
    const db = this.#db;
    const moving = m.next < m.bounds.length;
    db.exec('BEGIN IMMEDIATE');
    try {
      if (moving && m.next < m.bounds.length - 1) this.#q.merge.run(m.upto, m.bounds[m.next], m.bounds[m.next + 1]);
      else if (moving) this.#q.mergeTail.run(m.upto, m.bounds[m.next]);
      else this.#q.clearStaged.run(m.cleared, Math.min(m.cleared + CLEAR_STEP_ROWS, m.upto));
      db.exec('COMMIT');
    } catch (e) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw e;
    }
    if (moving) m.next++;
    else m.cleared = Math.min(m.cleared + CLEAR_STEP_ROWS, m.upto);
    if (m.cleared < m.upto) return true;
    this.#merging = null;
    this.#staged = Math.max(0, this.#staged - m.rows);
    return false;
  }

  /** Merges everything staged, step by step, until nothing is. */
  mergeNames(): void {
    while (this.mergeNamesStep() || Number(this.#q.staged.get()?.n ?? 0) > 0);
  }

  /** One append's rows, inside the caller's savepoint; `staged` is how many name rows it staged. */
  #insert({ zone: key, rows, expected, after }: GroupAppend): { result: AppendResult; staged: number } {
    let version = this.#version(key);
    checkExpected(key, expected, version);
    if (after !== undefined && String(this.#q.idAt.get(key, version)?.id ?? '') !== after) throw new ConcurrencyError(key, expected, version);
    let position = 0;
    // A few names are staged (see MIGRATIONS step 3). Many (an import, a transfer, a reload)
    // go straight into the index, in key order (DIRECT_INDEX_ROWS).
    let count = 0;
    for (const r of rows) count += r.names.length;
    const staged = count < DIRECT_INDEX_ROWS;
    const names = staged ? this.#q.stageName : this.#q.insertName;
    for (const r of rows) {
      version++;
      position = Number(this.#q.insert.run(
        r.id, key, version, r.type, r.schemaVersion, r.serialFrom, r.serialTo, r.time, r.data,
        r.cause, r.actorKey, r.actorAddress, r.actorPeer, r.actorUser,
      ).lastInsertRowid);
      const order = staged ? null : r.names.map((_, i) => i).sort((a, b) => (r.names[a] < r.names[b] ? -1 : r.names[a] > r.names[b] ? 1 : r.types[a] - r.types[b]));
      for (let j = 0; j < r.names.length; j++) {
        const i = order ? order[j] : j;
        names.run(key, r.names[i], r.types[i], version);
      }
    }
    this.#q.upsertStream.run(key, version, rows[rows.length - 1].serialTo);
    return { result: { version, position }, staged: staged ? count : 0 };
  }

  /** The port's error for a failed append, read inside its transaction. */
  #appendError(e: unknown, { zone: key, rows, expected }: GroupAppend): unknown {
    if (isUniqueViolation(e, 'events.zone, events.version')) return new ConcurrencyError(key, expected, this.#version(key));
    if (isUniqueViolation(e, 'events.id')) {
      const known = this.#q.knownIds.all(JSON.stringify(rows.map((r) => r.id))).map((r) => String(r.id));
      return duplicateIdError(key, known);
    }
    return e;
  }

  async *readZone(zone: Name, from = 1, to = LAST_VERSION): AsyncIterable<StoredEvent> {
    const key = nameKey(zone);
    let next = Math.max(from, 1);
    while (next <= to) {
      const page = this.#q.range.all(key, next, to, READ_PAGE).map(eventRow);
      for (const r of page) yield storedEvent(r);
      if (page.length < READ_PAGE) return;
      next = page[page.length - 1].version + 1;
    }
  }

  async readAll(after: number, limit: number): Promise<StoredEvent[]> {
    if (limit <= 0) return [];
    return this.#q.all.all(after, limit).map((r) => storedEvent(eventRow(r)));
  }

  async head(zone: Name): Promise<ZoneHead | null> {
    const r = this.#q.head.get(nameKey(zone));
    return r ? { zone: String(r.zone), version: Number(r.version), serial: Number(r.serial) } : null;
  }

  async zones(): Promise<ZoneHead[]> {
    return this.#q.zones.all().map((r) => ({ zone: String(r.zone), version: Number(r.version), serial: Number(r.serial) }));
  }

  async versionOfSerial(zone: Name, serial: number): Promise<number | null> {
    const r = this.#q.ofSerial.get(nameKey(zone), serial);
    return r ? Number(r.version) : null;
  }

  async versionAt(zone: Name, time: string): Promise<number | null> {
    const r = this.#q.at.get(nameKey(zone), canonicalTime(time, `zone ${zone}: versionAt`));
    return r ? Number(r.version) : null;
  }

  async queryEvents(query: EventQuery): Promise<StoredEvent[]> {
    const { statement, params, trimOwner } = this.#eventQuery(query);
    const rows = statement.all(...params);
    if (trimOwner === undefined) return rows.map((r) => storedEvent(eventRow(r)));
    return rows.map((r) => trimmedEvent(rowHead(r), String(r.data), trimOwner));
  }

  /** How SQLite carries out queryEvents(query): EXPLAIN QUERY PLAN's details, one per step. */
  queryPlan(query: EventQuery): string[] {
    const { statement, params } = this.#eventQuery(query);
    return this.#db.prepare(`EXPLAIN QUERY PLAN ${statement.sourceSQL}`).all(...params).map((r) => String(r.detail));
  }

  #eventQuery(query: EventQuery): { statement: StatementSync; params: SQLInputValue[]; trimOwner?: string } {
    const q = checkQuery(query);
    const at = (position: number | undefined) => {
      const r = position === undefined ? undefined : this.#q.atPosition.get(position);
      return r ? { zone: String(r.zone), version: Number(r.version) } : null;
    };
    const bounds = q.zone === undefined ? {} : versionBounds(q, at(q.before), at(q.after));
    const params: SQLInputValue[] = [];
    const sql = eventQuerySql(q, bounds, DIALECT, COLUMNS, (v) => {
      params.push(v);
      return '?';
    });
    return { statement: this.#shape(sql), params, trimOwner: q.trimOwner };
  }

  #shape(sql: string): StatementSync {
    let s = this.#shapes.get(sql);
    if (!s) {
      if (this.#shapes.size >= 256) this.#shapes.clear();
      s = this.#db.prepare(sql);
      this.#shapes.set(sql, s);
    }
    return s;
  }

  async storage(): Promise<ZoneStorage[]> {
    return this.#q.storage.all().map((r) => ({
      zone: String(r.zone), events: Number(r.events), eventBytes: Number(r.event_bytes), snapshots: Number(r.snapshots),
      snapshotBytes: Number(r.snapshot_bytes), indexRows: Number(r.index_rows),
      firstTime: r.first === null ? null : String(r.first), lastTime: r.last === null ? null : String(r.last),
      version: Number(r.version), serial: Number(r.serial),
    }));
  }

  async changeRate(query: { zone: Name; since?: string; until?: string; bucketMs: number }): Promise<{ start: string; count: number }[]> {
    const q = checkRate(query);
    const params: SQLInputValue[] = [q.zone];
    let range = '';
    if (q.since !== undefined) {
      range += ' AND time >= ?';
      params.push(q.since);
    }
    if (q.until !== undefined) {
      range += ' AND time < ?';
      params.push(q.until);
    }
    const first = this.#shape(`SELECT time FROM events WHERE zone = ?${range} ORDER BY time LIMIT 1`).get(...params);
    const last = this.#shape(`SELECT time FROM events WHERE zone = ?${range} ORDER BY time DESC LIMIT 1`).get(...params);
    if (!first || !last) return [];
    const ranges = bucketRanges(q, String(first.time), String(last.time));
    let rows: Record<string, SQLOutputValue>[];
    if (ranges) {
      // Each bucket a count over a range of the (zone, time, version) index.
      rows = this.#q.countRanges.all(q.zone, JSON.stringify(ranges.map((r) => [r.start, r.lo, r.hi]))).filter((r) => Number(r.n) > 0);
    } else {
      // Milliseconds since the epoch from the canonical text (unixepoch() drops the fraction,
      // which stands at characters 21..23), read from the same index alone. The bucket is
      // floored, also before 1970, where % alone would round towards zero.
      const b = q.bucketMs;
      rows = this.#shape(`
        SELECT ms - ((ms % ?) + ?) % ? AS start, count(*) AS n
        FROM (SELECT unixepoch(time) * 1000 + CAST(substr(time, 21, 3) AS INTEGER) AS ms FROM events WHERE zone = ?${range})
        GROUP BY start ORDER BY start`).all(b, b, b, ...params);
    }
    return rows.map((r) => ({ start: new Date(Number(r.start)).toISOString(), count: Number(r.n) }));
  }

  async snapshots(zone: Name): Promise<{ version: number; serial: number; time: string }[]> {
    return this.#q.snapshots.all(nameKey(zone)).map((r) => ({ version: Number(r.version), serial: Number(r.serial), time: String(r.time) }));
  }

  async saveSnapshot(s: Snapshot | WireSnapshot): Promise<void> {
    const time = requireCanonicalTime(s.time, `zone ${s.zone}: snapshot at version ${s.version}`);
    const body = await snapshotBody(s);
    this.#q.saveSnapshot.run(nameKey(s.zone), s.version, s.serial, time, body);
  }

  async loadSnapshot(zone: Name, maxVersion = LAST_VERSION, opts: { views?: boolean } = {}): Promise<Snapshot | null> {
    const r = this.#q.loadSnapshot.get(nameKey(zone), maxVersion);
    if (!r) return null;
    return snapshotFromBody(String(r.zone), Number(r.version), Number(r.serial), String(r.time), r.body as Uint8Array, opts.views);
  }

  async close(): Promise<void> {
    if (this.#writer) await this.#writer.terminate();
    if (this.#db.isOpen) {
      // A writer leaves the index whole for whoever opens the file next (a reader, such as the
      // CLI beside a running server, leaves it to the writers). A failure here loses nothing,
      // since searches read the staged rows too.
      try {
        if (this.#appended && Number(this.#q.staged.get()?.n ?? 0) > 0) this.mergeNames();
      } catch {
        // busy with another process's write, or read-only: the rows stay staged
      }
      this.#db.close();
    }
  }
}
