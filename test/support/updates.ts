// Builds TSIG-signed RFC 2136 UPDATE messages and sends many of them, a bounded number in flight, reporting each outcome.
import { randomInt } from 'node:crypto';
import { LOOPBACK } from '../../infra/peers.ts';
import { exchangeTcp, exchangeUdp } from '../../shared/dns/client.ts';
import { Class, Opcode, Type, rcodeName } from '../../shared/dns/constants.ts';
import { decodeMessage, emptyMessage, encodeMessage, type Decoded, type RR } from '../../shared/dns/message.ts';
import type { Name } from '../../shared/dns/name.ts';
import { keyring, makeKey, signMessage, verifyMessage, type TsigKey } from '../../shared/dns/tsig.ts';
import { parseRecordLine } from '../../shared/zone/parser.ts';

/** A key as the server config and infra/peers.ts write it. */
export interface KeySpec {
  name: string;
  algorithm: string;
  secret: string;
}

export function tsigKey(k: KeySpec): TsigKey {
  return makeKey(k.name, k.algorithm, k.secret);
}

export interface UpdateRequest {
  /** The zone section's name (RFC 2136 §2.3). */
  zone: Name;
  /** The prerequisite section (RFC 2136 §2.4). */
  prerequisite?: RR[];
  /** The update section (RFC 2136 §2.5). */
  update: RR[];
}

/** An RR to add, from an absolute `owner TTL CLASS TYPE rdata` line: `record('h1.example.test. 300 IN A 10.0.0.1')`. */
export function record(line: string): RR {
  return parseRecordLine(line);
}

/** Prerequisite "name is not in use" (RFC 2136 §2.4.5). */
export function nameNotInUse(name: Name): RR {
  return { name, type: Type.ANY, class: Class.NONE, ttl: 0, rdata: new Uint8Array(0) };
}

export interface BuiltUpdate {
  id: number;
  wire: Buffer;
  /** The request MAC, to verify the signed reply; absent when unsigned. */
  mac?: Buffer;
}

/** Encodes an UPDATE and signs it with `key` (when given) at the current time. */
export function buildUpdate(req: UpdateRequest, key?: TsigKey, id: number = randomInt(0x10000)): BuiltUpdate {
  const msg = emptyMessage({
    id, opcode: Opcode.UPDATE,
    question: [{ name: req.zone, type: Type.SOA, class: Class.IN }],
    answer: req.prerequisite ?? [],
    authority: req.update,
  });
  const wire = encodeMessage(msg);
  if (!key) return { id, wire };
  const signed = signMessage(wire, key);
  return { id, wire: signed.wire, mac: signed.mac };
}

export interface UpdateOutcome {
  /** The reply's RCODE, or null when none came (timeout, connection error, unparsable reply). */
  rcode: number | null;
  /** The reply's TSIG error field, when the reply carries a TSIG. */
  tsigError?: number;
  /** True when the reply carries a TSIG that verifies against our request MAC. */
  signed: boolean;
  /** Why there is no rcode. */
  error?: string;
  /** Milliseconds from send to answer (or failure). */
  ms: number;
}

export interface SendOptions {
  key?: TsigKey;
  transport?: 'udp' | 'tcp';
  /** Requests in flight at once (default 20). */
  inFlight?: number;
  /** Per request; no retries, so a lost datagram is an unanswered update (default 10 s). */
  timeoutMs?: number;
  host?: string;
}

/** Sends one update once and reports what came back. */
export async function sendUpdate(port: number, req: UpdateRequest, o: SendOptions = {}): Promise<UpdateOutcome> {
  const host = o.host ?? LOOPBACK;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const built = buildUpdate(req, o.key);
  const t0 = performance.now();
  let reply: Buffer;
  try {
    reply = o.transport === 'tcp'
      ? (await exchangeTcp(host, port, built.wire, { timeoutMs }))[0]
      : await exchangeUdp(host, port, built.wire, timeoutMs);
  } catch (e) {
    return { rcode: null, signed: false, error: (e as Error).message, ms: performance.now() - t0 };
  }
  const ms = performance.now() - t0;
  const d = decodeMessage(reply);
  if (!d.ok) return { rcode: null, signed: false, error: `unparsable reply: ${d.error.message}`, ms };
  const out: UpdateOutcome = { rcode: d.value.rcode, signed: false, ms };
  if (d.value.tsig) {
    out.tsigError = d.value.tsig.error;
    if (o.key && built.mac) out.signed = verifyMessage(d.value, keyring([o.key]), { requestMac: built.mac }).ok;
  }
  return out;
}

/**
 * Sends every update once, at most `inFlight` at a time, and resolves with the outcomes in
 * request order. `onOutcome` sees each as it arrives (e.g. to act right after the last ack).
 */
export function sendUpdates(port: number, reqs: UpdateRequest[], o: SendOptions & { onOutcome?: (i: number, r: UpdateOutcome) => void } = {}): Promise<UpdateOutcome[]> {
  return inParallel(reqs, o.inFlight ?? 20, async (req, i) => {
    const r = await sendUpdate(port, req, o);
    o.onOutcome?.(i, r);
    return r;
  });
}

/** Maps `fn` over `items` with at most `limit` calls pending; results in item order. */
export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** One plain query over UDP (no RD, no EDNS); throws when no answer comes or it does not parse. */
export async function query(port: number, name: Name, type: number, o: { host?: string; timeoutMs?: number } = {}): Promise<Decoded> {
  const wire = encodeMessage(emptyMessage({ id: randomInt(0x10000), question: [{ name, type, class: Class.IN }] }));
  const reply = await exchangeUdp(o.host ?? LOOPBACK, port, wire, o.timeoutMs ?? 3000);
  const d = decodeMessage(reply);
  if (!d.ok) throw new Error(`reply to ${name} ${type} does not parse: ${d.error.message}`);
  return d.value;
}

/** The IPv4 addresses in an answer's A records owned by `name` (case-insensitive). */
export function addressesOf(d: Decoded, name: Name): string[] {
  return d.answer.filter((rr) => rr.type === Type.A && rr.name.toLowerCase() === name.toLowerCase()).map((rr) => Array.from(rr.rdata).join('.'));
}

/** How many of `xs` fall under each key, for log lines and assertion messages. */
export function countBy<T>(xs: readonly T[], key: (x: T) => string): Record<string, number> {
  const t: Record<string, number> = {};
  for (const x of xs) t[key(x)] = (t[key(x)] ?? 0) + 1;
  return t;
}

/** Outcomes counted by RCODE name, `none` for no answer. */
export function tally(outcomes: readonly UpdateOutcome[]): Record<string, number> {
  return countBy(outcomes, (r) => (r.rcode === null ? 'none' : rcodeName(r.rcode)));
}

/** Latency percentile of answered outcomes, in ms. */
export function percentile(outcomes: readonly UpdateOutcome[], p: number): number {
  const ms = outcomes.filter((r) => r.rcode !== null).map((r) => r.ms).sort((a, b) => a - b);
  if (ms.length === 0) return NaN;
  return ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))];
}
