// Printing zones and records in master-file format: one absolute record per line.

import { className, typeName } from '../dns/constants.ts';
import type { RR } from '../dns/message.ts';
import { rdataToText } from '../dns/rdata.ts';
import { sortedRecords, type Zone } from './zone.ts';

/** `owner TTL CLASS TYPE rdata`, every name absolute: the form events and exports use. */
export function recordToText(rr: RR): string {
  return `${rr.name} ${rr.ttl} ${className(rr.class)} ${typeName(rr.type)} ${rdataToText(rr.type, rr.rdata)}`;
}

/**
 * The zone as a master file: SOA first, then owners in canonical order, one absolute record
 * per line. Names keep their case unless `canonical` asks for the canonical form.
 */
export function printZone(z: Zone, opts: { canonical?: boolean } = {}): string {
  const lines = sortedRecords(z, opts.canonical ?? false).map(recordToText);
  return lines.join('\n') + (lines.length ? '\n' : '');
}
