// Outbound transfers, the pure part: what goes into an AXFR (RFC 5936) or an IXFR (RFC 1995)
// answer, and how the records are packed into messages.
//
// As in Knot's ixfr.c and BIND's xfrout.c: an answer is a stream of records (SOA first and last)
// cut into messages of a bounded size, each with its own compression table and, when the request
// was signed, its own TSIG, chained to the one before (RFC 8945 §5.3.1).

import { Opcode, Type } from '../../shared/dns/constants.ts';
import { writeRR, type Question, type RR } from '../../shared/dns/message.ts';
import type { Changeset } from '../../shared/zone/changeset.ts';
import { soaOf, soaSerial, type Zone } from '../../shared/zone/zone.ts';
import { WireWriter } from '../../shared/dns/wire.ts';
import type { TsigStreamSigner } from '../../shared/dns/tsig.ts';

/**
 * A zone's records at one version, copied so that changes made while the transfer is being sent
 * cannot reach it: the RRsets' record lists are copied, the records themselves are immutable.
 * A shallow copy of a 100k-record zone takes a few milliseconds, and nothing is encoded yet.
 */
export interface ZoneView {
  soa: RR;
  sets: { name: string; type: number; class: number; ttl: number; rdata: Uint8Array[] }[];
  records: number;
}

export function captureZone(z: Zone): ZoneView {
  const soa = soaOf(z);
  if (!soa) throw new Error(`zone ${z.origin} has no SOA`);
  const sets: ZoneView['sets'] = [];
  let records = 0;
  for (const node of z.nodes.values()) {
    for (const s of node.rrsets.values()) {
      if (s.type === Type.SOA) continue;
      sets.push({ name: s.name, type: s.type, class: s.class, ttl: s.ttl, rdata: s.rdata.slice() });
      records += s.rdata.length;
    }
  }
  return { soa, sets, records: records + 1 };
}

/** The AXFR record stream (RFC 5936 §2.2): the SOA, every other record, the SOA again. */
export function* axfrRecords(v: ZoneView): Generator<RR> {
  yield v.soa;
  for (const s of v.sets) for (const rdata of s.rdata) yield { name: s.name, type: s.type, class: s.class, ttl: s.ttl, rdata };
  yield v.soa;
}

/**
 * An incremental answer (RFC 1995 §4): the current SOA, then for each difference sequence the
 * old SOA, the records removed, the new SOA and the records added, and the current SOA again.
 */
export function* ixfrRecords(current: RR, diffs: Iterable<Changeset>): Generator<RR> {
  yield current;
  for (const d of diffs) {
    if (!d.soaFrom) throw new Error('an incremental transfer cannot start from a zone creation');
    yield d.soaFrom;
    yield* d.removed;
    yield d.soaTo;
    yield* d.added;
  }
  yield current;
}

/** Records in an incremental answer, SOAs included: what max-ixfr-ratio weighs against the zone. */
export function ixfrSize(diffs: readonly Changeset[]): number {
  let n = 2;
  for (const d of diffs) n += 2 + d.removed.length + d.added.length;
  return n;
}

// A record's identity for condensing: exact owner spelling, type, class, TTL and rdata, so that a
// change of case or of TTL survives as a removal and an addition, as the events recorded it.
function recordKey(rr: RR): string {
  return `${rr.name}\u0000${rr.type}\u0000${rr.class}\u0000${rr.ttl}\u0000${Buffer.from(rr.rdata).toString('latin1')}`;
}

/**
 * Merges consecutive changesets into one (the "condensed" IXFR that BIND's ixfr-from-differences
 * and Knot's journal merging give): a record added and later removed again disappears, as does
 * one removed and later restored. The result turns the first changeset's zone into the last's.
 */
export function condense(changes: readonly Changeset[]): Changeset {
  if (changes.length === 0) throw new Error('condense: no changes');
  if (changes.length === 1) return changes[0];
  const removed = new Map<string, RR>();
  const added = new Map<string, RR>();
  for (const c of changes) {
    for (const rr of c.removed) {
      const k = recordKey(rr);
      if (added.has(k)) added.delete(k);
      else removed.set(k, rr);
    }
    for (const rr of c.added) {
      const k = recordKey(rr);
      if (removed.has(k)) removed.delete(k);
      else added.set(k, rr);
    }
  }
  return { soaFrom: changes[0].soaFrom, soaTo: changes[changes.length - 1].soaTo, removed: [...removed.values()], added: [...added.values()] };
}

/** The serial a changeset starts from and the one it ends at. */
export function serialsOf(c: Changeset): { from: number; to: number } {
  return { from: c.soaFrom ? soaSerial(c.soaFrom.rdata) : NaN, to: soaSerial(c.soaTo.rdata) };
}

export interface PackOptions {
  /** The request's ID and question; the question goes in the first message only. */
  id: number;
  question: Question;
  /** Start a new message once one reaches this many octets (default 16 KiB, as Knot does). */
  target?: number;
  /** Header bits to set besides QR and AA: the request's RD and CD. */
  flags?: number;
  /** Signs each message (TSIG over the stream), or null. */
  signer?: TsigStreamSigner | null;
}

/** Largest message: the TCP frame's 16-bit length, less room for a TSIG record. */
const MAX_MESSAGE = 0xffff - 512;

/**
 * Packs records into response messages (AA set, NOERROR), lazily: each message is encoded only
 * when the consumer asks for it, so a large zone is never encoded whole in memory.
 */
export function* packMessages(records: Iterable<RR>, o: PackOptions): Generator<Buffer> {
  const target = o.target ?? 16_384;
  let w: WireWriter | null = null;
  let count = 0;
  let first = true;
  const start = (): WireWriter => {
    const x = new WireWriter(true, Math.min(target, MAX_MESSAGE) + 1024);
    x.u16(o.id);
    x.u16(0x8000 | (Opcode.QUERY << 11) | 0x0400 | (o.flags ?? 0));
    x.u16(first ? 1 : 0);
    x.u16(0);
    x.u16(0);
    x.u16(0);
    if (first) {
      x.name(o.question.name);
      x.u16(o.question.type);
      x.u16(o.question.class);
    }
    first = false;
    count = 0;
    return x;
  };
  const finish = (x: WireWriter): Buffer => {
    x.setU16(6, count);
    const b = x.finish();
    return o.signer ? o.signer.sign(b) : b;
  };
  for (const rr of records) {
    // An upper bound on the record's encoded size: owner, fixed fields, rdata uncompressed.
    const bound = 255 + 10 + rr.rdata.length;
    if (w !== null && count > 0 && (w.len >= target || w.len + bound > MAX_MESSAGE)) {
      yield finish(w);
      w = null;
    }
    w ??= start();
    writeRR(w, rr);
    count++;
  }
  if (w !== null) yield finish(w);
}
