// AXFR (RFC 5936) and IXFR (RFC 1995) answered for our zones: IXFR straight from the range of
// events between the client's serial and ours, so there is no journal to fall out of step.

import { Rcode, Type, rcodeName } from '../../shared/dns/constants.ts';
import { encodeMessage, type Decoded, type RR } from '../../shared/dns/message.ts';
import { nameKey, namesEqual } from '../../shared/dns/name.ts';
import { compareSerial } from '../../shared/dns/serial.ts';
import { TsigStreamSigner, type Keyring, type TsigKey } from '../../shared/dns/tsig.ts';
import { changesetOf } from '../../shared/events/codec.ts';
import type { Logger } from '../../shared/log.ts';
import type { EventStore } from '../../shared/store/port.ts';
import type { Changeset } from '../../shared/zone/changeset.ts';
import { recordCount, soaOf, soaSerial } from '../../shared/zone/zone.ts';
import type { ZoneConfig } from '../config/types.ts';
import type { LiveZone } from '../projector/live-zone.ts';
import { OUR_UDP_SIZE } from '../responder/answer.ts';
import { checkRequestTsig, reply, type Peer } from '../responder/query.ts';
import { MessageStream, type Answer } from '../responder/stream.ts';
import { axfrRecords, captureZone, condense, ixfrRecords, ixfrSize, packMessages } from './ixfr.ts';
import { allowedBy } from './policy.ts';

/**
 * What an outbound transfer turned out to be. `udp-soa-only`: an IXFR over UDP whose answer would
 * not fit, answered with the current SOA so the client asks again over TCP (RFC 1995 §2).
 */
export type TransferKind = 'axfr' | 'ixfr' | 'ixfr-axfr-style' | 'up-to-date' | 'udp-soa-only';

/** One outbound transfer, for the audit log line and the metrics. */
export interface TransferAudit {
  zone: string;
  address: string;
  port: number;
  transport: 'udp' | 'tcp';
  key: string | null;
  kind: TransferKind;
  /** The client's serial (IXFR) and the one sent. */
  serialFrom: number | null;
  serialTo: number;
  /** Why an IXFR was answered AXFR-style. */
  reason?: string;
  messages: number;
  bytes: number;
  ms: number;
  /** False when the connection went away before the last message. */
  complete: boolean;
}

export interface TransferDeps {
  store: EventStore;
  zones: ReadonlyMap<string, LiveZone>;
  config: (zoneKey: string) => ZoneConfig | undefined;
  keys: () => Keyring;
  log: Logger;
  onTransfer?: (a: TransferAudit) => void;
  onRefused?: (zone: string, rcode: number) => void;
  now?: () => number;
}

/** Answers an AXFR or IXFR request. */
export async function answerTransfer(m: Decoded, peer: Peer, d: TransferDeps): Promise<Answer> {
  const t0 = performance.now();
  const q = m.question[0];
  const qtype = q.type === Type.AXFR ? 'AXFR' : 'IXFR';
  const t = checkRequestTsig(m, d.keys());
  const key: TsigKey | null = t.ok ? t.key : null;
  const audit = (rcode: number, reason: string): void => {
    d.log.warn({ zone: q.name, qtype, rcode: rcodeName(rcode), reason, key: key?.name ?? m.tsig?.key, address: peer.address, port: peer.port, transport: peer.transport }, 'transfer refused');
    d.onRefused?.(nameKey(q.name), rcode);
  };
  if (!t.ok) {
    audit(t.rcode, t.reason);
    return t.refusal;
  }
  const sign = t.sign;
  const refuse = (rcode: number, reason: string): Buffer => {
    audit(rcode, reason);
    return sign(encodeMessage(reply(m, { rcode, question: [q] })));
  };
  const live = d.zones.get(nameKey(q.name));
  const cfg = d.config(nameKey(q.name));
  if (!live || !cfg || q.class !== live.index.zone.class) return refuse(Rcode.NOTAUTH, `not authoritative for ${q.name}`);
  const who = { key: key?.name ?? null, address: peer.address };
  if (!allowedBy(cfg.allowTransfer, who)) return refuse(Rcode.REFUSED, 'not allowed by allow-transfer');

  // One serial's view throughout: the SOA and version are read together, synchronously.
  const soa = soaOf(live.index.zone)!;
  const serial = soaSerial(soa.rdata);
  const base = { zone: live.index.zone.origin, address: peer.address, port: peer.port, transport: peer.transport, key: key?.name ?? null };
  const finish = (a: Omit<TransferAudit, keyof typeof base | 'ms'>): void => {
    const audit: TransferAudit = { ...base, ...a, ms: Math.round((performance.now() - t0) * 10) / 10 };
    d.log.info(audit, a.complete ? 'transfer out' : 'transfer out broken off');
    d.onTransfer?.(audit);
  };

  if (q.type === Type.AXFR) {
    // RFC 5936 §4.2: AXFR is a TCP exchange.
    if (peer.transport === 'udp') return refuse(Rcode.REFUSED, 'AXFR over UDP');
    if (m.authority.length > 0) return refuse(Rcode.FORMERR, 'AXFR request with records in authority');
    const view = captureZone(live.index.zone);
    return streamed(axfrRecords(view), m, key, (messages, bytes, complete) =>
      finish({ kind: 'axfr', serialFrom: null, serialTo: soaSerial(view.soa.rdata), messages, bytes, complete }));
  }

  // IXFR: the client's serial is the SOA in the authority section (RFC 1995 §3).
  const theirs = m.authority.length === 1 && m.authority[0].type === Type.SOA && namesEqual(m.authority[0].name, q.name) ? m.authority[0] : null;
  if (!theirs || theirs.rdata.length < 20) return refuse(Rcode.FORMERR, 'IXFR request without the client\'s SOA in authority');
  const clientSerial = soaSerial(theirs.rdata);
  const order = compareSerial(clientSerial, serial);
  const udpLimit = m.edns ? Math.min(Math.max(512, m.edns.udpSize), OUR_UDP_SIZE) : 512;

  if (order === 'eq' || order === 'gt') {
    // Up to date, or (by serial arithmetic) ahead of us: the single current SOA (RFC 1995 §4).
    const wire = sign(single(m, [soa]));
    finish({ kind: 'up-to-date', serialFrom: clientSerial, serialTo: serial, messages: 1, bytes: wire.length, complete: true });
    return wire;
  }

  const plan = await planIncremental(d, live, cfg, who, clientSerial, serial);
  if (plan.diffs === null) {
    // AXFR-style: the whole zone, as one IXFR answer (RFC 1995 §4), from the zone as it is now.
    const view = captureZone(live.index.zone);
    const to = soaSerial(view.soa.rdata);
    if (peer.transport === 'udp') {
      const wire = sign(single(m, [view.soa]));
      finish({ kind: 'udp-soa-only', serialFrom: clientSerial, serialTo: to, reason: `AXFR-style (${plan.reason}), which UDP cannot carry`, messages: 1, bytes: wire.length, complete: true });
      return wire;
    }
    return streamed(axfrRecords(view), m, key, (messages, bytes, complete) =>
      finish({ kind: 'ixfr-axfr-style', serialFrom: clientSerial, serialTo: to, reason: plan.reason, messages, bytes, complete }));
  }

  const records = ixfrRecords(soa, plan.diffs);
  if (peer.transport === 'udp') {
    // RFC 1995 §2: over UDP the whole answer if it fits, otherwise the current SOA alone, which
    // tells the client to ask again over TCP.
    // A datagram holds a few dozen records at most: larger answers are not even encoded.
    const packed = ixfrSize(plan.diffs) <= 200 ? [...packMessages(records, { id: m.id, question: q, flags: requestFlags(m), target: Infinity })] : [];
    const room = key ? 100 + key.name.length + key.algorithm.name.length + key.algorithm.size : 0;
    const fits = packed.length === 1 && packed[0].length + room <= udpLimit;
    const wire = sign(fits ? packed[0] : single(m, [soa]));
    finish({ kind: fits ? 'ixfr' : 'udp-soa-only', serialFrom: clientSerial, serialTo: serial, ...(fits ? {} : { reason: 'the incremental answer does not fit in a datagram' }), messages: 1, bytes: wire.length, complete: true });
    return wire;
  }
  return streamed(records, m, key, (messages, bytes, complete) =>
    finish({ kind: 'ixfr', serialFrom: clientSerial, serialTo: serial, messages, bytes, complete }));
}

type Plan = { diffs: Changeset[]; reason?: undefined } | { diffs: null; reason: string };

/**
 * The difference sequences from the client's serial to ours, read from the store, or why the
 * answer must be AXFR-style instead.
 */
async function planIncremental(d: TransferDeps, live: LiveZone, cfg: ZoneConfig, who: { key: string | null; address: string }, clientSerial: number, serial: number): Promise<Plan> {
  const x = cfg.ixfr;
  if (x.axfrOnly.length > 0 && allowedBy(x.axfrOnly, who)) return { diffs: null, reason: 'peer listed in axfr-only' };
  const zone = live.index.zone.origin;
  const head = live.version;
  const from = await d.store.versionOfSerial(zone, clientSerial);
  if (from === null) return { diffs: null, reason: `serial ${clientSerial} is not in the zone's history` };
  if (from >= head) return { diffs: null, reason: `serial ${clientSerial} was last seen at a version not before ours` };
  if (x.horizonChanges !== null && head - from > x.horizonChanges) return { diffs: null, reason: `${head - from} changes behind, beyond the IXFR horizon of ${x.horizonChanges}` };
  const changes: Changeset[] = [];
  let expect = clientSerial;
  const oldest = x.horizonAgeMs === null ? null : (d.now?.() ?? Date.now()) - x.horizonAgeMs;
  for await (const e of d.store.readZone(zone, from + 1, head)) {
    if (e.type !== 'ZoneChanged') return { diffs: null, reason: `the zone was created anew at version ${e.version}` };
    if (changes.length === 0 && oldest !== null && Date.parse(e.time) < oldest) return { diffs: null, reason: `the change after serial ${clientSerial} is older than the IXFR horizon` };
    if (e.data.serialFrom !== expect) return { diffs: null, reason: `history is not contiguous at version ${e.version} (serial ${e.data.serialFrom}, expected ${expect})` };
    expect = e.data.serialTo;
    changes.push(changesetOf(e, live.index.zone.class));
    // A long range is read and parsed a slice at a time, so updates and queries go on meanwhile.
    if (changes.length % 256 === 0) await new Promise((r) => setImmediate(r));
  }
  if (changes.length !== head - from || expect !== serial) return { diffs: null, reason: `the store's history ends at serial ${expect}, not ${serial}` };
  const diffs = x.condensed ? [condense(changes)] : changes;
  if (x.maxRatio !== null) {
    const size = ixfrSize(diffs);
    // Every name holds a record, so the name count is a free lower bound on the zone's size;
    // the records are counted (a walk of the whole zone) only when that bound is not enough.
    if (size > x.maxRatio * live.index.zone.nodes.size) {
      const records = recordCount(live.index.zone);
      if (size > x.maxRatio * records) return { diffs: null, reason: `the incremental answer (${size} records) exceeds max-ixfr-ratio ${x.maxRatio} of the zone's ${records}` };
    }
  }
  return { diffs };
}

/** A one-message answer holding `answer` (the single-SOA IXFR answer). */
function single(m: Decoded, answer: RR[]): Buffer {
  return encodeMessage(reply(m, { aa: true, question: [m.question[0]], answer }));
}

/** The request's RD and CD bits, for packMessages. */
function requestFlags(m: Decoded): number {
  return (m.rd ? 0x0100 : 0) | (m.cd ? 0x0010 : 0);
}

/** The answer as a stream of messages, each signed when the request was; `done` sees how it ended. */
function streamed(records: Iterable<RR>, m: Decoded, key: TsigKey | null, done: (messages: number, bytes: number, complete: boolean) => void): MessageStream {
  const signer = key && m.tsig ? new TsigStreamSigner(key, m.tsig.mac) : null;
  const gen = function* (): Generator<Buffer> {
    let messages = 0;
    let bytes = 0;
    let complete = false;
    try {
      for (const b of packMessages(records, { id: m.id, question: m.question[0], flags: requestFlags(m), signer })) {
        messages++;
        bytes += b.length;
        yield b;
      }
      complete = true;
    } finally {
      done(messages, bytes, complete);
    }
  };
  return new MessageStream(gen());
}
