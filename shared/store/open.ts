// Opens the EventStore a URL names: `sqlite:PATH` (the embedded default) or `postgres://…`.

import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { EventStore } from './port.ts';

/**
 * `sqlite:PATH`, PATH relative to the working directory or absolute; its directory is created.
 * `postgres://…` or `postgresql://…`, a libpq-style URL; the extra parameter `schema=NAME`
 * picks the PostgreSQL schema (default "zonelog").
 */
export interface OpenOptions {
  /** SQLite only: make appends on a thread of their own (see SqliteOptions.appendThread). */
  appendThread?: boolean;
}

export async function openStore(url: string, opts: OpenOptions = {}): Promise<EventStore> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new Error(`store URL "${url}": sqlite: needs a file path, as in sqlite:data/zonelog.db`);
    const { SqliteStore } = await import('./sqlite.ts');
    if (path === ':memory:') return new SqliteStore(path);
    const file = resolve(path);
    mkdirSync(dirname(file), { recursive: true });
    return new SqliteStore(file, { appendThread: opts.appendThread });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`store URL "${redact(url)}" is not a valid URL`);
    }
    const schema = parsed.searchParams.get('schema') ?? undefined;
    parsed.searchParams.delete('schema');
    const { PostgresStore } = await import('./postgres.ts');
    return PostgresStore.connect({ connectionString: parsed.toString(), schema });
  }
  throw new Error(`store URL "${redact(url)}" is not supported: use sqlite:PATH or postgres://user@host:port/database`);
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
