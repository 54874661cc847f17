// A secondary zone at run time: SOA refresh, retry and expire timers, NOTIFY, failover across
// primaries, and each transfer stored as one atomic append of transfer-in events.
//
// As BIND's zone.c and Knot's refresh event: a check asks each primary's SOA in turn; a newer
// serial brings an IXFR (AXFR when IXFR is off, or when the delta does not apply); success
// re-arms refresh and expire, failure arms retry. A burst of NOTIFYs during a check collapses
// into one more check.

import { randomInt } from 'node:crypto';
import { Class, Rcode, Type, rcodeName } from '../../shared/dns/constants.ts';
import { exchangeUdp } from '../../shared/dns/client.ts';
import { decodeMessage, emptyMessage, encodeMessage, type RR } from '../../shared/dns/message.ts';
import { nameKey } from '../../shared/dns/name.ts';
import { compareSerial } from '../../shared/dns/serial.ts';
import { signMessage, verifyMessage, type Keyring, type TsigKey } from '../../shared/dns/tsig.ts';
import type { Logger } from '../../shared/log.ts';
import { ConcurrencyError, type EventStore } from '../../shared/store/port.ts';
import { ApplyError } from '../../shared/zone/changeset.ts';
import { soaOf, soaSerial } from '../../shared/zone/zone.ts';
import type { PrimaryConfig, ZoneConfig } from '../config/types.ts';
import type { Projection } from '../projector/projection.ts';
import { transferEvents } from './apply.ts';
import type { Limiter } from './limiter.ts';
import { pullZone, TransferError, type Primary, type Pulled } from './transfer-in.ts';

export type SecondaryState = 'fresh' | 'stale' | 'refreshing' | 'expired';

export interface SecondaryStatus {
  zone: string;
  role: 'secondary';
  serial: number | null;
  state: SecondaryState;
  lastSuccess: string | null;
  lastCheck: string | null;
  nextCheck: string | null;
  lastError: string | null;
}

/**
 * Whether a zone's status calls for an operator: expired, stale (its last check failed), or
 * never transferred. A zone in the middle of a routine check that follows a good one is serving
 * current data: a monitor sampling it then must not see a fault.
 */
export function needsChecking(s: { state: string; lastSuccess?: string | null; lastError?: string | null }): boolean {
  if (s.state === 'fresh') return false;
  if (s.state === 'refreshing') return (s.lastSuccess ?? null) === null || (s.lastError ?? null) !== null;
  return true;
}

export interface SecondaryDeps {
  zone: ZoneConfig;
  store: EventStore;
  projection: Projection;
  keys: () => Keyring;
  log: Logger;
  onTransfer?: (zone: string, kind: Pulled['kind'] | 'failed') => void;
  onExpired?: (zone: string, expired: boolean) => void;
  /** Shared by all secondary zones: how many check at once. */
  limiter?: Limiter;
  /** Each check, whatever it found. */
  onCheck?: (zone: string, ok: boolean) => void;
}

/** SOA timers of a zone, read from its SOA rdata (refresh, retry, expire in seconds). */
function soaTimers(soa: RR): { refresh: number; retry: number; expire: number } {
  const b = Buffer.from(soa.rdata.buffer, soa.rdata.byteOffset, soa.rdata.length);
  const at = soa.rdata.length - 20;
  return { refresh: b.readUInt32BE(at + 4), retry: b.readUInt32BE(at + 8), expire: b.readUInt32BE(at + 12) };
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);

export class SecondaryZone {
  private readonly d: SecondaryDeps;
  private readonly key: string;
  state: SecondaryState = 'stale';
  private lastSuccess: number | null = null;
  private lastCheck: number | null = null;
  private nextCheck: number | null = null;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private expireTimer: NodeJS.Timeout | null = null;
  private checking = false;
  private again = false;
  private stopped = false;
  /** Set once the first refresh after the start has been placed at random in its period. */
  private spread = false;

  constructor(d: SecondaryDeps) {
    this.d = d;
    this.key = nameKey(d.zone.name);
  }

  /**
   * Checks at once, then on the zone's timers. Restarts resume from the stored zone: no AXFR.
   * The expire clock starts now for a stored zone, so one whose primaries never answer again
   * still expires.
   */
  start(): void {
    const live = this.d.projection.get(this.key);
    if (live) this.armExpire(soaTimers(soaOf(live.index.zone)!).expire * 1000);
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.expireTimer) clearTimeout(this.expireTimer);
  }

  /** A NOTIFY came in: check now, or once more after the check under way. */
  notified(): void {
    if (this.checking) this.again = true;
    else this.schedule(0);
  }

  status(): SecondaryStatus {
    const live = this.d.projection.get(this.key);
    const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
    return {
      zone: this.d.zone.name, role: 'secondary', serial: live ? live.index.serial : null, state: this.state,
      lastSuccess: iso(this.lastSuccess), lastCheck: iso(this.lastCheck), nextCheck: iso(this.nextCheck), lastError: this.lastError,
    };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextCheck = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.check();
    }, ms);
    this.timer.unref?.();
  }

  private transferKey(): TsigKey | null {
    const k = this.d.zone.transferKey;
    return k ? (this.d.keys().get(nameKey(k)) ?? null) : null;
  }

  private async check(): Promise<void> {
    if (this.checking || this.stopped) return;
    this.checking = true;
    this.again = false;
    this.lastCheck = Date.now();
    if (this.state !== 'expired') this.state = 'refreshing';
    const errors: string[] = [];
    let ok = false;
    const tryPrimaries = async (): Promise<void> => {
      for (const p of this.d.zone.primaries) {
        if (this.stopped) return;
        try {
          await this.refreshFrom(p);
          ok = true;
          return;
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          errors.push(`${p.address}#${p.port}: ${why}`);
          this.d.log.warn({ zone: this.d.zone.name, primary: `${p.address}#${p.port}`, reason: why }, 'refresh from primary failed');
        }
      }
    };
    await (this.d.limiter ? this.d.limiter.run(tryPrimaries) : tryPrimaries());
    if (this.stopped) {
      this.checking = false;
      return;
    }
    this.d.onCheck?.(this.key, ok);
    this.checking = false;
    const live = this.d.projection.get(this.key);
    const timers = live ? soaTimers(soaOf(live.index.zone)!) : null;
    const t = this.d.zone.timers;
    if (ok) {
      this.lastSuccess = Date.now();
      this.lastError = null;
      if (live?.expired) {
        live.expired = false;
        this.d.log.info({ zone: this.d.zone.name, serial: live.index.serial }, 'zone no longer expired: a primary answered');
        this.d.onExpired?.(this.key, false);
      }
      this.state = 'fresh';
      this.armExpire(timers ? timers.expire * 1000 : null);
      const refresh = timers ? clamp(timers.refresh * 1000, t.minRefresh, t.maxRefresh) : t.minRefresh;
      // Spread: the first refresh after a start falls anywhere in one refresh period, so zones
      // that synced together (thousands at startup) do not come due together; later ones at
      // 90–100 % of refresh, which keeps them spread.
      const share = this.spread ? 0.9 + Math.random() * 0.1 : Math.random();
      this.spread = true;
      this.schedule(this.again ? 0 : Math.round(refresh * share));
    } else {
      this.lastError = errors.join('; ') || 'no primaries';
      if (this.state !== 'expired') this.state = 'stale';
      const retry = timers ? clamp(timers.retry * 1000, t.minRetry, t.maxRetry) : t.minRetry;
      this.schedule(this.again ? 0 : Math.round(retry * (0.9 + Math.random() * 0.1)));
    }
  }

  private armExpire(ms: number | null): void {
    if (this.expireTimer) clearTimeout(this.expireTimer);
    if (ms === null) return;
    this.expireTimer = setTimeout(() => {
      const live = this.d.projection.get(this.key);
      if (!live || this.stopped) return;
      live.expired = true;
      this.state = 'expired';
      this.d.log.warn({ zone: this.d.zone.name, serial: live.index.serial, expireSeconds: ms / 1000, lastSuccess: this.lastSuccess && new Date(this.lastSuccess).toISOString() }, 'zone expired: no primary reached within the SOA expire; answering SERVFAIL');
      this.d.onExpired?.(this.key, true);
    }, ms);
    this.expireTimer.unref?.();
  }

  /** One primary: its SOA, and a transfer if it is ahead of us. Throws on any failure. */
  private async refreshFrom(pc: PrimaryConfig): Promise<void> {
    const key = this.transferKey();
    const p: Primary = { address: pc.address, port: pc.port, key, requestIxfr: pc.requestIxfr };
    const origin = this.d.zone.name;
    const theirs = await querySoa(origin, p);
    const live = this.d.projection.get(this.key);
    const have = live ? soaOf(live.index.zone)! : null;
    if (have) {
      const order = compareSerial(theirs, soaSerial(have.rdata));
      if (order === 'eq') return;
      if (order !== 'gt') throw new TransferError(`the primary's serial ${theirs} is ${order === 'lt' ? 'behind' : 'incomparable with'} ours (${soaSerial(have.rdata)}); refused`);
    }
    const t0 = performance.now();
    let pulled = await pullZone(origin, have, p);
    const actor = { peer: `${pc.address}#${pc.port}`, ...(key ? { key: key.name } : {}) };
    let applied;
    try {
      applied = transferEvents(live?.index.zone ?? null, origin, live?.index.zone.class ?? Class.IN, pulled, actor, new Date(), { zone: false });
    } catch (e) {
      // An incremental answer that does not apply strictly is refused whole; AXFR follows.
      if (!(e instanceof ApplyError) || pulled.kind !== 'ixfr') throw e;
      this.d.log.warn({ zone: origin, primary: actor.peer, reason: e.message }, 'IXFR refused whole: it does not apply to our zone; trying AXFR');
      pulled = await pullZone(origin, have, p, { axfr: true });
      applied = transferEvents(live?.index.zone ?? null, origin, live?.index.zone.class ?? Class.IN, pulled, actor, new Date(), { zone: false });
    }
    if (applied.events.length > 0) {
      try {
        await this.d.store.append(this.key, applied.events, live ? live.version : 'no-zone');
      } catch (e) {
        // Another server on the same store took it first: its events are the zone now.
        if (!(e instanceof ConcurrencyError)) throw e;
      }
      await this.d.projection.catchUp();
    }
    const now = this.d.projection.get(this.key);
    this.d.log.info({
      zone: origin, primary: actor.peer, kind: pulled.kind, serialFrom: have ? soaSerial(have.rdata) : null, serialTo: now ? now.index.serial : null,
      events: applied.events.length, messages: pulled.messages, bytes: pulled.bytes, ms: Math.round(performance.now() - t0),
    }, 'transfer in');
    this.d.onTransfer?.(this.key, pulled.kind);
  }
}

/** The primary's SOA serial, by a (signed) UDP query; its answer must verify. */
export async function querySoa(origin: string, p: Primary, timeoutMs = 2000): Promise<number> {
  let wire = encodeMessage(emptyMessage({ id: randomInt(0x10000), question: [{ name: origin, type: Type.SOA, class: Class.IN }] }));
  let mac: Uint8Array | null = null;
  if (p.key) {
    const s = signMessage(wire, p.key);
    wire = s.wire;
    mac = s.mac;
  }
  const d = decodeMessage(await exchangeUdp(p.address, p.port, wire, timeoutMs));
  if (!d.ok) throw new TransferError(`SOA answer does not parse: ${d.error.message}`);
  const m = d.value;
  if (p.key && mac) {
    const v = verifyMessage(m, new Map([[nameKey(p.key.name), p.key]]), { requestMac: mac });
    if (!v.ok) throw new TransferError(`SOA answer's TSIG: ${v.failure}: ${v.detail}`);
  }
  if (m.rcode !== Rcode.NOERROR) throw new TransferError(`SOA query answered ${rcodeName(m.rcode)}`);
  if (!m.aa) throw new TransferError('SOA answer is not authoritative');
  const soa = m.answer.find((rr) => rr.type === Type.SOA && nameKey(rr.name) === nameKey(origin));
  if (!soa) throw new TransferError('SOA answer without the SOA');
  return soaSerial(soa.rdata);
}
