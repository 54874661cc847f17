// NOTIFY out (RFC 1996): tell secondaries at once that the zone changed.
//
// One NOTIFY per zone and target is in flight at a time. Changes made while it is unanswered
// are covered by the next one, sent as soon as it is answered (or, with a delay configured,
// that long after the first change): under heavy churn a secondary gets one NOTIFY per round
// trip, never a queue. Unanswered NOTIFYs are retried with a doubling timeout, as BIND and
// Knot do, and then given up with a log line.

import { randomInt } from 'node:crypto';
import { Class, Opcode, Rcode, Type, rcodeName } from '../../shared/dns/constants.ts';
import { exchangeUdp } from '../../shared/dns/client.ts';
import { decodeMessage, emptyMessage, encodeMessage, type RR } from '../../shared/dns/message.ts';
import { isSubdomain, nameKey, namesEqual, readName, type Name } from '../../shared/dns/name.ts';
import { signMessage, verifyMessage, type Keyring } from '../../shared/dns/tsig.ts';
import type { Logger } from '../../shared/log.ts';
import { getRRset, soaOf, soaSerial, type Zone } from '../../shared/zone/zone.ts';
import { formatIPv4, formatIPv6 } from '../../shared/dns/text.ts';
import type { NotifyTarget } from '../config/types.ts';

/**
 * The zone's own name servers as NOTIFY targets (BIND's `notify yes`): each apex NS host but
 * the SOA's MNAME (the primary itself), at port 53, by the A and AAAA records the zone holds
 * for it. Hosts outside the zone are left out: resolving them would need a resolver.
 */
export function nsTargets(z: Zone): NotifyTarget[] {
  const ns = getRRset(z, z.origin, Type.NS);
  const soa = soaOf(z);
  if (!ns || !soa) return [];
  const mname = readName(soa.rdata, 0, false)[0];
  const out: NotifyTarget[] = [];
  for (const rd of ns.rdata) {
    const host = readName(rd, 0, false)[0];
    if (namesEqual(host, mname) || !isSubdomain(host, z.origin)) continue;
    for (const a of getRRset(z, host, Type.A)?.rdata ?? []) out.push({ address: formatIPv4(a, 0), port: 53 });
    for (const a of getRRset(z, host, Type.AAAA)?.rdata ?? []) out.push({ address: formatIPv6(a, 0), port: 53 });
  }
  return out;
}

export type NotifyResult = 'answered' | 'refused' | 'unanswered';

export interface NotifierOptions {
  log: Logger;
  keys: () => Keyring;
  /** Per try, how long to wait for the answer (ms); one try per entry. Default 1, 2, 4, 8, 16 s. */
  timeoutsMs?: number[];
  onResult?: (zone: string, target: string, result: NotifyResult) => void;
}

interface TargetState {
  zone: Name;
  target: NotifyTarget;
  delayMs: number;
  /** The newest SOA to announce. */
  soa: RR;
  /** The serial last announced and answered. */
  answered: number | null;
  sending: boolean;
  timer: NodeJS.Timeout | null;
}

export class Notifier {
  private readonly o: NotifierOptions;
  private readonly states = new Map<string, TargetState>();
  private closed = false;

  constructor(o: NotifierOptions) {
    this.o = o;
  }

  /** The zone now has `soa`: announce it to each target. */
  changed(zone: Name, soa: RR, targets: readonly NotifyTarget[], delayMs = 0): void {
    if (this.closed) return;
    for (const target of targets) {
      const id = `${nameKey(zone)}|${target.address}|${target.port}`;
      let st = this.states.get(id);
      if (!st) {
        st = { zone, target, delayMs, soa, answered: null, sending: false, timer: null };
        this.states.set(id, st);
      }
      st.soa = soa;
      st.delayMs = delayMs;
      this.schedule(st);
    }
  }

  /**
   * A secondary at `address` has just transferred the zone up to `serial`. If the zone has moved
   * on meanwhile, it is told again at once: a NOTIFY that reached it in the middle of that
   * transfer may have been set aside (Knot does), and it would otherwise wait for its refresh
   * timer.
   */
  transferred(zone: Name, address: string, serial: number): void {
    const from = address.replace(/^::ffff:/, '');
    for (const st of this.states.values()) {
      if (nameKey(st.zone) !== nameKey(zone) || st.target.address !== from) continue;
      if (soaSerial(st.soa.rdata) === serial) continue;
      if (!st.sending) st.answered = serial;
      this.schedule(st);
    }
  }

  /** Stops sending; NOTIFYs in flight are left to time out unheard. */
  close(): void {
    this.closed = true;
    for (const st of this.states.values()) if (st.timer) clearTimeout(st.timer);
    this.states.clear();
  }

  private schedule(st: TargetState): void {
    if (st.sending || st.timer || this.closed) return;
    if (st.answered !== null && st.answered === soaSerial(st.soa.rdata)) return;
    st.timer = setTimeout(() => {
      st.timer = null;
      void this.send(st);
    }, st.delayMs);
  }

  private async send(st: TargetState): Promise<void> {
    if (this.closed) return;
    st.sending = true;
    const soa = st.soa;
    const serial = soaSerial(soa.rdata);
    const to = `${st.target.address}:${st.target.port}`;
    const t0 = performance.now();
    const timeouts = this.o.timeoutsMs ?? [1000, 2000, 4000, 8000, 16000];
    const key = st.target.key ? this.o.keys().get(nameKey(st.target.key)) : undefined;
    let result: NotifyResult = 'unanswered';
    let detail = '';
    try {
      for (let i = 0; i < timeouts.length && !this.closed; i++) {
        const m = emptyMessage({ id: randomInt(0x10000), opcode: Opcode.NOTIFY, aa: true, question: [{ name: st.zone, type: Type.SOA, class: Class.IN }], answer: [soa] });
        let wire = encodeMessage(m);
        let mac: Buffer | null = null;
        if (st.target.key && !key) {
          detail = `key ${st.target.key} is not configured`;
          break;
        }
        if (key) {
          const s = signMessage(wire, key);
          wire = s.wire;
          mac = s.mac;
        }
        let answer: Buffer;
        try {
          answer = await exchangeUdp(st.target.address, st.target.port, wire, timeouts[i]);
        } catch (e) {
          detail = (e as Error).message;
          continue;
        }
        const d = decodeMessage(answer);
        if (!d.ok || !d.value.qr || d.value.opcode !== Opcode.NOTIFY) {
          detail = 'malformed answer';
          continue;
        }
        if (key && mac) {
          const v = verifyMessage(d.value, this.o.keys(), { requestMac: mac });
          if (!v.ok) {
            detail = `answer's TSIG ${v.failure}: ${v.detail}`;
            continue;
          }
        }
        result = d.value.rcode === Rcode.NOERROR ? 'answered' : 'refused';
        this.o.log.info({ zone: st.zone, serial, to, rcode: rcodeName(d.value.rcode), tries: i + 1, ms: Math.round(performance.now() - t0), key: key?.name }, result === 'answered' ? 'NOTIFY sent' : 'NOTIFY refused');
        break;
      }
      if (result === 'unanswered' && !this.closed) {
        this.o.log.warn({ zone: st.zone, serial, to, tries: timeouts.length, reason: detail }, 'NOTIFY unanswered; giving up until the next change');
      }
      this.o.onResult?.(nameKey(st.zone), to, result);
    } finally {
      st.sending = false;
      // Answered or given up: either way this serial is done with; a newer one goes out next.
      st.answered = serial;
      this.schedule(st);
    }
  }
}
