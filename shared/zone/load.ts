// Loading a master file into a Zone: parse, then place each record under the zone's rules, with file:line errors.

import { Class, Type, typeName } from '../dns/constants.ts';
import { nameKey, type Name } from '../dns/name.ts';
import { rdataEqual } from '../dns/rdata.ts';
import { parseMasterFile, parseMasterText, type ParsedRecord, type ParseOptions, type ZoneFileIssue } from './parser.ts';
import { addConflict, addRecord, checkRecordPlacement, emptyZone, rrsetOf, type Zone } from './zone.ts';

export interface LoadResult {
  zone: Zone;
  errors: ZoneFileIssue[];
  warnings: ZoneFileIssue[];
}

/**
 * Places parsed records into a zone. Each record that breaks a rule is reported at its own
 * line and left out; the caller decides that any error means the zone is not loaded.
 */
export function buildZone(origin: Name, klass: number, records: Iterable<ParsedRecord>, issues: { errors: ZoneFileIssue[]; warnings: ZoneFileIssue[] }, firstFile: string): Zone {
  const z = emptyZone(origin, klass);
  let firstLine: { file: string; line: number } | undefined;
  let prevOwner: string | undefined;
  for (const r of records) {
    firstLine ??= { file: r.file, line: r.line };
    const err = (reason: string): void => {
      issues.errors.push({ file: r.file, line: r.line, reason });
    };
    const placement = checkRecordPlacement(z, r);
    if (placement) {
      err(placement);
      continue;
    }
    const conflict = addConflict(z, r);
    if (conflict) {
      err(conflict);
      continue;
    }
    const set = rrsetOf(z, r);
    let rr: ParsedRecord = r;
    // BIND compares the owner as spelled, so `Mixed` then `mixed` is a new run.
    const key = r.name;
    if (set && set.ttl !== r.ttl) {
      // RFC 2181 §5.2 wants one TTL per RRset. BIND's rule, which we follow so that the same
      // file means the same zone: within a run of records for one owner the first TTL wins;
      // when an RRset is resumed after other owners, the new TTL replaces the RRset's.
      if (key === prevOwner) {
        issues.warnings.push({ file: r.file, line: r.line, reason: `TTL ${r.ttl} differs from the ${typeName(r.type)} RRset's ${set.ttl}; using ${set.ttl}` });
        rr = { ...r, ttl: set.ttl };
      } else {
        issues.warnings.push({ file: r.file, line: r.line, reason: `TTL ${r.ttl} replaces the ${typeName(r.type)} RRset's earlier TTL ${set.ttl}` });
      }
    }
    prevOwner = key;
    if (!addRecord(z, rr)) {
      // A duplicate may differ in the case of names inside its data; the later spelling wins, as in BIND.
      const dup = rrsetOf(z, rr)!;
      const i = dup.rdata.findIndex((d) => rdataEqual(rr.type, d, rr.rdata));
      dup.rdata[i] = rr.rdata;
      issues.warnings.push({ file: r.file, line: r.line, reason: `duplicate ${typeName(r.type)} record for ${r.name} merged` });
    }
  }
  const at = firstLine ?? { file: firstFile, line: 1 };
  const apex = z.nodes.get(nameKey(origin));
  if (!apex?.rrsets.has(Type.SOA)) issues.errors.push({ ...at, reason: `zone ${origin} has no SOA record at its apex` });
  if (!apex?.rrsets.has(Type.NS)) issues.errors.push({ ...at, reason: `zone ${origin} has no NS records at its apex` });
  return z;
}

export function loadZoneFile(path: string, opts: ParseOptions): LoadResult {
  const parsed = parseMasterFile(path, opts);
  const issues = { errors: parsed.errors, warnings: parsed.warnings };
  const zone = buildZone(opts.origin, opts.class ?? Class.IN, parsed.records, issues, path);
  return { zone, ...issues };
}

export function loadZoneText(text: string, file: string, opts: ParseOptions): LoadResult {
  const parsed = parseMasterText(text, file, opts);
  const issues = { errors: parsed.errors, warnings: parsed.warnings };
  const zone = buildZone(opts.origin, opts.class ?? Class.IN, parsed.records, issues, file);
  return { zone, ...issues };
}
