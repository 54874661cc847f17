// Transfers in (RFC 1995, RFC 5936): ask a primary for IXFR (or AXFR), check every message and
// its TSIG, and read the answer strictly into changesets or a whole zone. Nothing is applied
// here: a transfer that breaks off, fails its MAC or does not parse is an error, whole.

import { randomInt } from 'node:crypto';
import { Class, Rcode, Type, rcodeName } from '../../shared/dns/constants.ts';
import { exchangeTcp } from '../../shared/dns/client.ts';
import { decodeMessage, emptyMessage, encodeMessage, type Decoded, type RR } from '../../shared/dns/message.ts';
import { namesEqual, type Name } from '../../shared/dns/name.ts';
import { rdataEqual } from '../../shared/dns/rdata.ts';
import { compareSerial } from '../../shared/dns/serial.ts';
import { signMessage, TsigStreamVerifier, type TsigKey } from '../../shared/dns/tsig.ts';
import type { Changeset } from '../../shared/zone/changeset.ts';
import { soaSerial } from '../../shared/zone/zone.ts';

/** A primary to pull from. */
export interface Primary {
  address: string;
  port: number;
  /** Signs the request; every answer message must then verify. */
  key?: TsigKey | null;
  /** False for primaries that cannot serve IXFR (BIND's request-ixfr no). */
  requestIxfr?: boolean;
}

/** What a primary sent, read in full. */
export type Pulled =
  | { kind: 'up-to-date'; soa: RR; messages: number; bytes: number }
  | { kind: 'ixfr'; soa: RR; changes: Changeset[]; messages: number; bytes: number }
  /** An AXFR, or an IXFR answered AXFR-style: the whole zone, its SOA first. */
  | { kind: 'axfr'; soa: RR; records: RR[]; messages: number; bytes: number };

export class TransferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransferError';
  }
}

/**
 * Reads the records of a transfer answer as they arrive and says when the answer is complete
 * (RFC 1995 §4, RFC 5936 §2.2). Pure: messages in, a verdict out.
 */
export class XfrReader {
  private readonly origin: Name;
  /** Our serial when we asked for IXFR; null for AXFR. */
  private readonly since: number | null;
  private readonly records: RR[] = [];
  private first: RR | null = null;
  private done = false;
  /** For an incremental answer: where the reader is. */
  private mode: 'start' | 'axfr' | 'ixfr' = 'start';
  private changes: Changeset[] = [];
  private current: Changeset | null = null;
  private phase: 'old-soa' | 'removed' | 'added' = 'old-soa';

  constructor(origin: Name, since: number | null) {
    this.origin = origin;
    this.since = since;
  }

  get complete(): boolean {
    return this.done;
  }

  /** The answer's first record: the primary's SOA. */
  get soa(): RR | null {
    return this.first;
  }

  /** Takes the next answer's records; throws TransferError on anything out of place. */
  push(rrs: readonly RR[]): void {
    for (const rr of rrs) {
      if (this.done) throw new TransferError(`records after the answer's final SOA (${rr.name} type ${rr.type})`);
      this.take(rr);
    }
  }

  private take(rr: RR): void {
    if (this.first === null) {
      if (rr.type !== Type.SOA || !namesEqual(rr.name, this.origin)) throw new TransferError(`the answer starts with ${rr.name} type ${rr.type}, not the zone's SOA`);
      this.first = rr;
      this.records.push(rr);
      return;
    }
    const finalSerial = soaSerial(this.first.rdata);
    const isSoa = rr.type === Type.SOA;
    if (this.mode === 'start') {
      // The second record tells an incremental answer (an SOA, at our serial) from a whole zone.
      if (this.since !== null && isSoa) {
        if (soaSerial(rr.rdata) !== this.since) throw new TransferError(`the incremental answer starts from serial ${soaSerial(rr.rdata)}, not ours (${this.since})`);
        this.mode = 'ixfr';
      } else {
        this.mode = 'axfr';
      }
    }
    if (this.mode === 'axfr') {
      if (isSoa) {
        if (!rdataEqual(Type.SOA, rr.rdata, this.first.rdata)) throw new TransferError(`an SOA (serial ${soaSerial(rr.rdata)}) inside the zone, unlike the first (serial ${finalSerial})`);
        this.done = true;
        return;
      }
      this.records.push(rr);
      return;
    }
    // Incremental: (old SOA, removed..., new SOA, added...)* then the final SOA.
    if (this.phase === 'old-soa') {
      if (!isSoa) throw new TransferError(`expected a difference sequence's SOA, got ${rr.name} type ${rr.type}`);
      const serial = soaSerial(rr.rdata);
      const expect = this.current ? soaSerial(this.current.soaTo.rdata) : this.since!;
      if (this.current && serial === finalSerial && expect === finalSerial && rdataEqual(Type.SOA, rr.rdata, this.first.rdata)) {
        this.changes.push(this.current);
        this.current = null;
        this.done = true;
        return;
      }
      if (this.current) this.changes.push(this.current);
      if (serial !== expect) throw new TransferError(`a difference sequence starts at serial ${serial}, but the one before ended at ${expect}`);
      this.current = { soaFrom: rr, soaTo: rr, removed: [], added: [] };
      this.phase = 'removed';
      return;
    }
    const c = this.current!;
    if (this.phase === 'removed') {
      if (isSoa) {
        if (compareSerial(soaSerial(rr.rdata), soaSerial(c.soaFrom!.rdata)) !== 'gt') throw new TransferError(`a difference sequence goes from serial ${soaSerial(c.soaFrom!.rdata)} to ${soaSerial(rr.rdata)}, not forward`);
        c.soaTo = rr;
        this.phase = 'added';
        return;
      }
      c.removed.push(rr);
      return;
    }
    // Added: until the next SOA, which starts the next sequence or ends the answer.
    if (isSoa) {
      this.phase = 'old-soa';
      this.take(rr);
      return;
    }
    c.added.push(rr);
  }

  /** The answer as read; call once `complete`. */
  result(messages: number, bytes: number): Pulled {
    if (!this.done || !this.first) throw new TransferError('the answer ended before its final SOA');
    if (this.mode === 'ixfr') return { kind: 'ixfr', soa: this.first, changes: this.changes, messages, bytes };
    return { kind: 'axfr', soa: this.first, records: this.records, messages, bytes };
  }
}

export interface PullOptions {
  timeoutMs?: number;
  /** Force AXFR even when we have a serial. */
  axfr?: boolean;
}

/**
 * Pulls `origin` from a primary: IXFR from our SOA when we have one (and the primary takes IXFR),
 * AXFR otherwise. Every message must carry the request's ID, NOERROR and, when signed, a MAC
 * that verifies in turn. Resolves only with a complete answer.
 */
export async function pullZone(origin: Name, have: RR | null, p: Primary, o: PullOptions = {}): Promise<Pulled> {
  const ixfr = have !== null && p.requestIxfr !== false && !o.axfr;
  const since = ixfr ? soaSerial(have.rdata) : null;
  let wire = encodeMessage(emptyMessage({ id: randomInt(0x10000), question: [{ name: origin, type: ixfr ? Type.IXFR : Type.AXFR, class: Class.IN }], authority: ixfr ? [have] : [] }));
  let verifier: TsigStreamVerifier | null = null;
  if (p.key) {
    const s = signMessage(wire, p.key);
    wire = s.wire;
    verifier = new TsigStreamVerifier(p.key, s.mac);
  }
  const reader = new XfrReader(origin, since);
  let failure: TransferError | null = null;
  let messages = 0;
  let bytes = 0;
  let upToDate = false;
  const where = `${p.address}#${p.port}`;
  const check = (d: Decoded, raw: Buffer): void => {
    messages++;
    bytes += raw.length;
    if (!d.qr) throw new TransferError('an answer without QR');
    if (d.rcode !== Rcode.NOERROR) throw new TransferError(`the primary answered ${rcodeName(d.rcode)}`);
    if (verifier) {
      const v = verifier.verify(d);
      if (!v.ok) throw new TransferError(`TSIG on message ${messages}: ${v.failure}: ${v.detail}`);
    }
    // The single SOA, at or behind our serial: nothing to transfer (RFC 1995 §4).
    if (messages === 1 && since !== null && d.answer.length === 1 && d.answer[0].type === Type.SOA && compareSerial(soaSerial(d.answer[0].rdata), since) !== 'gt') {
      upToDate = true;
      reader.push(d.answer);
      return;
    }
    reader.push(d.answer);
  };
  try {
    await exchangeTcp(p.address, p.port, wire, {
      timeoutMs: o.timeoutMs ?? 60_000,
      done: (raw) => {
        if (failure) return true;
        const d = decodeMessage(raw);
        try {
          if (!d.ok) throw new TransferError(`message ${messages + 1} does not parse: ${d.error.message}`);
          check(d.value, raw);
        } catch (e) {
          failure = e instanceof TransferError ? e : new TransferError(String(e));
          return true;
        }
        return upToDate || reader.complete;
      },
    });
  } catch (e) {
    throw new TransferError(`transfer from ${where}: ${(e as Error).message}`);
  }
  if (failure) throw new TransferError(`transfer from ${where}: ${(failure as TransferError).message}`);
  if (upToDate) return { kind: 'up-to-date', soa: reader.soa!, messages, bytes };
  if (!reader.complete) throw new TransferError(`transfer from ${where}: the connection closed before the answer's final SOA (${messages} messages)`);
  if (verifier && !verifier.finish()) throw new TransferError(`transfer from ${where}: the last message is not signed`);
  return reader.result(messages, bytes);
}
