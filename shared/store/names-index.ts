// The name index and the filter columns: what is written beside each event so it can be found.
//
// The name index holds one row per (owner, RR type) an event's records touch, keyed by the owner
// with its labels reversed: "Host42.Corp.Example." is "example.corp.host42", the root "". A
// subtree is then a key range: K itself, or keys from K + "." up to K + "/" ("/" follows "."),
// which holds exactly the names below K and never a sibling that merely ends in K's text
// ("xhost" is not below "host"). Labels keep their presentation escapes, so an escaped dot
// inside a label ("a\.b") sorts after "/" and stays out of the range too. Keys are ASCII
// (other bytes are \DDD escapes), so byte order (SQLite BINARY, PostgreSQL COLLATE "C") is the
// order this relies on.

import { typeFromName } from '../dns/constants.ts';
import { WireError } from '../dns/errors.ts';
import { nameKey, nameLabels, parseName, type Name } from '../dns/name.ts';
import type { ZoneEventBody } from '../events/types.ts';

/** The index key of an absolute name: lower-cased labels right to left, joined by dots. */
export function nameIndexKey(name: Name): string {
  return nameLabels(nameKey(name)).reverse().join('.');
}

/** The name index rows of one event, pairwise: names[i] (index key) with types[i]. */
export interface IndexedNames {
  names: string[];
  types: number[];
}

// `owner TTL CLASS TYPE rdata`: the owner and the type are all the index needs.
const RECORD_HEAD = /^(\S+)\s+\S+\s+\S+\s+(\S+)/;

/**
 * The distinct owners and types an event's records touch: a creation's SOA and records, a
 * change's removed and added records (not its SOA lines: every change has them, so they would
 * only index the apex on every event). A line that cannot be read goes to `bad`, which throws
 * on append (the event could not be replayed either) and skips while indexing stored events.
 */
export function indexedNames(e: ZoneEventBody, bad: (line: string, reason: string) => void): IndexedNames {
  const lines = e.type === 'ZoneCreated' ? [e.data.soa, ...e.data.records] : [...e.data.removed, ...e.data.added];
  const out: IndexedNames = { names: [], types: [] };
  const seen = new Set<string>();
  for (const line of lines) {
    const m = RECORD_HEAD.exec(line);
    if (!m) {
      bad(line, 'not an "owner TTL CLASS TYPE rdata" line');
      continue;
    }
    const type = typeFromName(m[2]);
    if (type === undefined) {
      bad(line, `"${m[2]}" is not an RR type`);
      continue;
    }
    let key: string;
    try {
      if (!m[1].endsWith('.')) throw new WireError('bad-name', `owner "${m[1]}" is not absolute`);
      key = nameIndexKey(parseName(m[1]));
    } catch (err) {
      bad(line, (err as Error).message);
      continue;
    }
    const k = `${type} ${key}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.names.push(key);
    out.types.push(type);
  }
  return out;
}

/** The columns events are filtered by, from the event's data (key names in nameKey form). */
export interface FilterColumns {
  cause: string | null;
  actorKey: string | null;
  actorAddress: string | null;
  actorPeer: string | null;
  actorUser: string | null;
}

export function filterColumns(e: ZoneEventBody): FilterColumns {
  const a = e.data.actor ?? {};
  const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const key = text(a.key);
  return {
    cause: text(e.data.cause), actorKey: key === null ? null : nameKey(key),
    actorAddress: text(a.address), actorPeer: text(a.peer), actorUser: text(a.user),
  };
}
