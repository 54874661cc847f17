// Searching stored events: a query checked once, and the one SELECT both SQL adapters run for it.

import { nameKey, parseName, type Name } from '../dns/name.ts';
import { WireError } from '../dns/errors.ts';
import { nameIndexKey } from './names-index.ts';
import type { EventQuery } from './port.ts';
import { canonicalTime } from './rows.ts';

/** The most events one queryEvents call returns. */
export const MAX_QUERY_LIMIT = 10_000;

/**
 * An EventQuery checked and in the stores' terms: the zone and key in nameKey form, the name as
 * its index key, times canonical, the order chosen.
 */
export type CheckedQuery = Omit<EventQuery, 'name' | 'subtree' | 'order' | 'trimCreations'> & {
  /** The name's index key, with `subtree`. */
  rname?: string;
  subtree: boolean;
  order: 'asc' | 'desc';
  /** With trimCreations: the name whose lines a creation keeps, in nameKey form. */
  trimOwner?: string;
};

function position(v: number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`queryEvents: ${what} ${v} is not a position`);
  return v;
}

/** Throws RangeError for a query no store can answer as asked. */
export function checkQuery(q: EventQuery): CheckedQuery {
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_QUERY_LIMIT) {
    throw new RangeError(`queryEvents: limit ${q.limit} is not between 1 and ${MAX_QUERY_LIMIT}`);
  }
  if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc') throw new RangeError(`queryEvents: order "${String(q.order)}" is not asc or desc`);
  const out: CheckedQuery = { subtree: q.subtree === true, order: q.order ?? 'desc', limit: q.limit };
  if (q.zone !== undefined) out.zone = nameKey(q.zone);
  if (q.name !== undefined) {
    if (out.zone === undefined) throw new RangeError(`queryEvents: a name filter (${q.name}) needs a zone`);
    try {
      if (!q.name.endsWith('.')) throw new WireError('bad-name', 'not absolute');
      out.rname = nameIndexKey(parseName(q.name));
    } catch (e) {
      throw new RangeError(`queryEvents: name "${q.name}": ${(e as Error).message}`);
    }
  } else if (out.subtree) throw new RangeError('queryEvents: subtree needs a name');
  if (q.trimCreations === true) {
    if (q.name === undefined || out.subtree) throw new RangeError('queryEvents: trimCreations needs a name, without subtree');
    out.trimOwner = nameKey(q.name);
  }
  if (q.type !== undefined) {
    if (!Number.isInteger(q.type) || q.type < 0 || q.type > 0xffff) throw new RangeError(`queryEvents: type ${q.type} is not an RR type number`);
    out.type = q.type;
  }
  if (q.since !== undefined) out.since = canonicalTime(q.since, 'queryEvents: since');
  if (q.until !== undefined) out.until = canonicalTime(q.until, 'queryEvents: until');
  if (q.key !== undefined) out.key = nameKey(q.key);
  for (const f of ['address', 'peer', 'user', 'cause'] as const) if (q[f] !== undefined) out[f] = q[f];
  out.before = position(q.before, 'before');
  out.after = position(q.after, 'after');
  return out;
}

/**
 * Version bounds equivalent to the position cursors, for a query in one zone. Within a zone,
 * positions grow with versions (appends to a zone are serialised and draw increasing positions),
 * so when a cursor is one of the zone's events, `position < P` is `version < its version`:
 * the index on (zone, version) and the name index can then start at the cursor instead of
 * skipping everything after it.
 */
export interface VersionBounds {
  below?: number;
  above?: number;
}

export type NameTable = 'event_names' | 'event_names_recent';

/** How one SQL dialect writes what the query needs. */
export interface Dialect {
  /** The table's name as the adapter qualifies it. */
  table(name: 'events' | NameTable): string;
  /**
   * The tables that hold name index rows: event_names, and for SQLite also the rows appends
   * staged and no merge has moved yet. All of one event's rows are in the same table.
   */
  nameTables: readonly NameTable[];
  /** SQLite: CROSS JOIN, which makes the left side the outer loop; PostgreSQL: JOIN. */
  join: string;
}

/**
 * The SELECT for a checked query. With a name or a type in a zone it is driven from the name
 * index: the distinct versions that match, narrowed by the other filters and cut to `limit` in
 * version order, and only then are those events read whole by (zone, version). The zone's
 * events are never scanned, and a name found in 20,000 events costs 20,000 index entries and
 * `limit` event bodies. `param` records a value and returns its placeholder, in the order the
 * placeholders appear in the text (SQLite's are positional).
 */
export function eventQuerySql(q: CheckedQuery, bounds: VersionBounds, d: Dialect, columns: string[], param: (v: string | number) => string): string {
  const cols = columns.map((c) => `e.${c}`).join(', ');
  const events = d.table('events');
  const dir = q.order === 'asc' ? 'ASC' : 'DESC';
  // A cursor that became a version bound needs no position filter besides.
  const before = bounds.below === undefined ? q.before : undefined;
  const after = bounds.above === undefined ? q.after : undefined;
  const filters = (t: string, where: string[]): string[] => {
    if (q.since !== undefined) where.push(`${t}.time >= ${param(q.since)}`);
    if (q.until !== undefined) where.push(`${t}.time < ${param(q.until)}`);
    if (q.key !== undefined) where.push(`${t}.actor_key = ${param(q.key)}`);
    if (q.address !== undefined) where.push(`${t}.actor_address = ${param(q.address)}`);
    if (q.peer !== undefined) where.push(`${t}.actor_peer = ${param(q.peer)}`);
    if (q.user !== undefined) where.push(`${t}.actor_user = ${param(q.user)}`);
    if (q.cause !== undefined) where.push(`${t}.cause = ${param(q.cause)}`);
    if (before !== undefined) where.push(`${t}.position < ${param(before)}`);
    if (after !== undefined) where.push(`${t}.position > ${param(after)}`);
    return where;
  };
  const versionBound = (t: string, where: string[]): string[] => {
    if (bounds.below !== undefined) where.push(`${t}version < ${param(bounds.below)}`);
    if (bounds.above !== undefined) where.push(`${t}version > ${param(bounds.above)}`);
    return where;
  };

  if (q.zone !== undefined && (q.rname !== undefined || q.type !== undefined)) {
    const zone = q.zone;
    const outer = `SELECT ${cols} FROM ${events} AS e WHERE e.zone = ${param(zone)} AND e.version IN`;
    const filtered = [q.since, q.until, q.key, q.address, q.peer, q.user, q.cause, before, after].some((v) => v !== undefined);
    // The first `limit` versions found through one table of name rows.
    const inner = (names: string): string => {
      // A subtree is two ranges of the index's (zone, rname) prefix, K and K.…K/: one range with
      // an OR in it is read as a scan of the zone's rows, and one range from K itself would also
      // read every sibling sorting just after it (K-1 … K-99999). The root's subtree is everything.
      const arm = (name?: () => string): string => {
        const w = [`zone = ${param(zone)}`];
        if (name) w.push(name());
        if (q.type !== undefined) w.push(`type = ${param(q.type)}`);
        return `SELECT DISTINCT version FROM ${names} WHERE ${versionBound('', w).join(' AND ')}`;
      };
      const k = q.rname;
      let driver: string;
      if (k === undefined || (q.subtree && k === '')) driver = arm();
      else if (!q.subtree) driver = arm(() => `rname = ${param(k)}`);
      else driver = `${arm(() => `rname = ${param(k)}`)} UNION ${arm(() => `rname >= ${param(`${k}.`)} AND rname < ${param(`${k}/`)}`)}`;
      // Without them, the index alone answers (and for a type, in the order it is kept).
      if (!filtered) return `${driver} ORDER BY version ${dir} LIMIT ${param(q.limit)}`;
      // The other filters need each candidate's row, but not its body.
      const on = `f.zone = ${param(zone)} AND f.version = n.version`;
      return `SELECT n.version FROM (${driver}) AS n ${d.join} ${events} AS f ON ${on} WHERE ${filters('f', []).join(' AND ')} ORDER BY n.version ${dir} LIMIT ${param(q.limit)}`;
    };
    // Each table gives its own first `limit`, in its own index order, and the first `limit` of
    // those are the answer: one union of both tables would have to be sorted whole.
    const parts = d.nameTables.map((t) => inner(d.table(t)));
    const list = parts.length === 1 ? parts[0] : parts.map((p) => `SELECT version FROM (${p})`).join(' UNION ALL ');
    return `${outer} (${list}) ORDER BY e.version ${dir} LIMIT ${param(q.limit)}`;
  }
  const where: string[] = [];
  if (q.zone !== undefined) where.push(`e.zone = ${param(q.zone)}`);
  versionBound('e.', where);
  filters('e', where);
  if (q.type !== undefined) {
    const type = q.type;
    const exists = (t: NameTable) => `EXISTS (SELECT 1 FROM ${d.table(t)} AS n WHERE n.zone = e.zone AND n.type = ${param(type)} AND n.version = e.version)`;
    where.push(`(${d.nameTables.map(exists).join(' OR ')})`);
  }
  // Within one zone, version order is position order, and (zone, version) is indexed.
  const by = q.zone !== undefined ? 'e.version' : 'e.position';
  return `SELECT ${cols} FROM ${events} AS e ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${by} ${dir} LIMIT ${param(q.limit)}`;
}

/** The version bounds of a zone query from the events its cursors name (null: not in the zone). */
export function versionBounds(q: CheckedQuery, before: { zone: string; version: number } | null, after: { zone: string; version: number } | null): VersionBounds {
  const b: VersionBounds = {};
  if (before && before.zone === q.zone) b.below = before.version;
  if (after && after.zone === q.zone) b.above = after.version;
  return b;
}

/** A checked changeRate request. */
export interface RateQuery {
  zone: string;
  since?: string;
  until?: string;
  bucketMs: number;
}

export function checkRate(q: { zone: Name; since?: string; until?: string; bucketMs: number }): RateQuery {
  if (!Number.isSafeInteger(q.bucketMs) || q.bucketMs < 1) throw new RangeError(`changeRate: bucket of ${q.bucketMs} ms is not a positive whole number of milliseconds`);
  const out: RateQuery = { zone: nameKey(q.zone), bucketMs: q.bucketMs };
  if (q.since !== undefined) out.since = canonicalTime(q.since, 'changeRate: since');
  if (q.until !== undefined) out.until = canonicalTime(q.until, 'changeRate: until');
  return out;
}

/** The most buckets changeRate counts one by one; past that, every event's bucket is computed. */
export const MAX_COUNTED_BUCKETS = 4096;

/** One bucket's range: its start (ms since the epoch) and the times counted, [lo, hi). */
export interface BucketRange {
  start: number;
  lo: string;
  hi: string;
}

/**
 * The buckets between a zone's first and last event in the range asked for, or null when there
 * are more than MAX_COUNTED_BUCKETS. Counting a few thousand index ranges is cheaper than
 * computing the bucket of each of a million events; with finer buckets than that, it is not.
 */
export function bucketRanges(q: RateQuery, first: string, last: string): BucketRange[] | null {
  const b = q.bucketMs;
  const from = Math.floor(Date.parse(first) / b);
  const to = Math.floor(Date.parse(last) / b);
  if (to - from + 1 > MAX_COUNTED_BUCKETS) return null;
  const out: BucketRange[] = [];
  for (let k = from; k <= to; k++) {
    const start = k * b;
    const lo = new Date(start).toISOString();
    const hi = new Date(start + b).toISOString();
    out.push({ start, lo: q.since !== undefined && q.since > lo ? q.since : lo, hi: q.until !== undefined && q.until < hi ? q.until : hi });
  }
  return out;
}
