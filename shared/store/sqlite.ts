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

import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { AppendReply, AppendRequest } from './sqlite-append-thread.ts';
import { nameKey, type Name } from '../dns/name.ts';
import type { NewEvent, Snapshot, StoredEvent } from '../events/types.ts';
import { ConcurrencyError, type AppendOptions, type AppendResult, type EventStore, type ExpectedVersion, type ZoneHead } from './port.ts';
import {
  canonicalTime, checkExpected, duplicateIdError, eventInserts, LAST_VERSION, READ_PAGE, requireCanonicalTime, snapshotBody, snapshotFromBody, storedEvent,
  type EventInsert, type EventRow,
} from './rows.ts';

/** Schema steps; user_version is the number applied. Append only: never edit a shipped step. */
const MIGRATIONS: string[] = [
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
];

const EVENT_COLUMNS = 'position, id, zone, version, type, schema_version, time, data';

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
  return {
    position: Number(r.position), id: String(r.id), zone: String(r.zone), version: Number(r.version),
    type: String(r.type), schemaVersion: Number(r.schema_version), time: String(r.time), data: JSON.parse(String(r.data)),
  };
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
    'streamVersion' | 'insert' | 'upsertStream' | 'range' | 'all' | 'head' | 'zones' | 'ofSerial' | 'at' | 'saveSnapshot' | 'loadSnapshot' | 'knownIds' | 'idAt',
    StatementSync
  >;

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
      insert: p(`INSERT INTO events (id, zone, version, type, schema_version, serial_from, serial_to, time, data)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
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
    };
    if (options.appendThread && path !== ':memory:') {
      const w = new Worker(new URL('./sqlite-append-thread.ts', import.meta.url), { workerData: { path, busyTimeoutMs: options.busyTimeoutMs } });
      w.on('message', (r: AppendReply) => {
        const waiter = this.#waiting.get(r.id);
        if (!waiter) return;
        this.#waiting.delete(r.id);
        if ('ok' in r) waiter.resolve(r.ok);
        else if ('concurrency' in r) waiter.reject(new ConcurrencyError(r.concurrency.zone, r.concurrency.expected, r.concurrency.actual));
        else waiter.reject(new Error(r.error));
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
  }

  #migrate(): void {
    // BEGIN IMMEDIATE: two processes opening a new file at once apply each step exactly once.
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const current = Number(this.#db.prepare('PRAGMA user_version').get()?.user_version ?? 0);
      if (current > MIGRATIONS.length) throw new Error(`schema version ${current} is newer than this zonelog knows (${MIGRATIONS.length})`);
      for (let v = current; v < MIGRATIONS.length; v++) this.#db.exec(MIGRATIONS[v]);
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
    // Checked and encoded here either way: bad input gets the same errors with or without the thread.
    const rows = eventInserts(key, events);
    if (this.#writer) {
      const id = this.#nextId++;
      return new Promise((resolve, reject) => {
        this.#waiting.set(id, { resolve, reject });
        this.#writer!.postMessage({ id, zone: key, rows, expected, after: opts.after } satisfies AppendRequest);
      });
    }
    return this.appendRows(key, rows, expected, opts.after);
  }

  /** The append transaction itself, for rows eventInserts made. */
  async appendRows(key: string, rows: EventInsert[], expected: ExpectedVersion, after?: string): Promise<AppendResult> {
    const db = this.#db;
    db.exec('BEGIN IMMEDIATE');
    try {
      let version = this.#version(key);
      checkExpected(key, expected, version);
      if (after !== undefined && String(this.#q.idAt.get(key, version)?.id ?? '') !== after) throw new ConcurrencyError(key, expected, version);
      let position = 0;
      for (const r of rows) {
        version++;
        position = Number(this.#q.insert.run(r.id, key, version, r.type, r.schemaVersion, r.serialFrom, r.serialTo, r.time, r.data).lastInsertRowid);
      }
      this.#q.upsertStream.run(key, version, rows[rows.length - 1].serialTo);
      db.exec('COMMIT');
      return { version, position };
    } catch (e) {
      if (db.isTransaction) db.exec('ROLLBACK');
      if (isUniqueViolation(e, 'events.zone, events.version')) throw new ConcurrencyError(key, expected, this.#version(key));
      if (isUniqueViolation(e, 'events.id')) {
        const known = this.#q.knownIds.all(JSON.stringify(rows.map((r) => r.id))).map((r) => String(r.id));
        throw duplicateIdError(key, known);
      }
      throw e;
    }
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

  async saveSnapshot(s: Snapshot): Promise<void> {
    const time = requireCanonicalTime(s.time, `zone ${s.zone}: snapshot at version ${s.version}`);
    const body = await snapshotBody(s);
    this.#q.saveSnapshot.run(nameKey(s.zone), s.version, s.serial, time, body);
  }

  async loadSnapshot(zone: Name, maxVersion = LAST_VERSION): Promise<Snapshot | null> {
    const r = this.#q.loadSnapshot.get(nameKey(zone), maxVersion);
    if (!r) return null;
    return snapshotFromBody(String(r.zone), Number(r.version), Number(r.serial), String(r.time), r.body as Uint8Array);
  }

  async close(): Promise<void> {
    if (this.#writer) await this.#writer.terminate();
    if (this.#db.isOpen) this.#db.close();
  }
}
