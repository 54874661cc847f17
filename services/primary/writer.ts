// One zone's update writer: decides queued updates in order, makes a batch durable in one append.

import { Rcode, rcodeName } from '../../shared/dns/constants.ts';
import type { Message } from '../../shared/dns/message.ts';
import { nameKey, type Name } from '../../shared/dns/name.ts';
import { changesetOf, zoneChanged } from '../../shared/events/codec.ts';
import type { Actor, NewEvent } from '../../shared/events/types.ts';
import type { Logger } from '../../shared/log.ts';
import { ConcurrencyError, type EventStore } from '../../shared/store/port.ts';
import { applyChangeset, type Changeset } from '../../shared/zone/changeset.ts';
import { soaSerial, type Zone, type ZoneNode } from '../../shared/zone/zone.ts';
import type { LiveZone } from '../projector/live-zone.ts';
import type { Projection } from '../projector/projection.ts';
import { decideReload, type ReloadDecision } from './reload.ts';
import { decideUpdate, type UpdatePolicy, type ZoneView } from './update.ts';

/** Who sent an update: the TSIG key that verified, and the source address. */
export interface UpdateSender {
  key: Name | null;
  address: string;
  port: number;
}

export interface UpdateOutcome {
  rcode: number;
  /** The zone's serial after the update (applied) or as it stood (refused or no change). */
  serial: number;
  applied: boolean;
  reason?: string;
  removed?: number;
  added?: number;
}

export interface WriterHooks {
  /** After a batch is durable: how long the append took, in seconds, and how many events it held. */
  onAppend?: (zone: Name, seconds: number, events: number) => void;
  onOutcome?: (zone: Name, o: UpdateOutcome) => void;
}

interface Pending {
  msg: Message;
  from: UpdateSender;
  resolve: (o: UpdateOutcome) => void;
  /** Times the update was decided and then beaten by another writer's append. */
  attempts: number;
}

/** Decisions over several appends before an update is answered SERVFAIL. */
const MAX_ATTEMPTS = 10;

/** A decided batch: the answers it will get and the events that must become durable first. */
interface Decided {
  batch: Pending[];
  outcomes: UpdateOutcome[];
  changes: Changeset[];
  events: NewEvent[];
  /** The stream version the append expects. */
  expected: number;
  /** The zone's serial after this batch. */
  serial: number;
  started: bigint;
  /** Global position of the batch's last event, once durable. */
  position?: number;
  /** Resolves to null once durable, or to why not. */
  result: Promise<Error | null> | null;
}

/** A zone-file reload, queued with the updates so it never races them. */
interface PendingReload {
  reload: Zone;
  actor: Actor;
  resolve: (d: ReloadDecision) => void;
}

/** The live zone plus the updates decided ahead of it in the current batch. */
class BatchView implements ZoneView {
  readonly origin: Name;
  readonly class: number;
  private readonly base: Zone;
  private readonly overlay: Zone;
  private readonly touched = new Set<string>();

  constructor(base: Zone) {
    this.base = base;
    this.origin = base.origin;
    this.class = base.class;
    this.overlay = { origin: base.origin, class: base.class, nodes: new Map() };
    this.copy(nameKey(base.origin));
  }

  node(key: string): ZoneNode | undefined {
    return this.touched.has(key) ? this.overlay.nodes.get(key) : this.base.nodes.get(key);
  }

  private copy(key: string): void {
    if (this.touched.has(key)) return;
    this.touched.add(key);
    const n = this.base.nodes.get(key);
    if (!n) return;
    const c: ZoneNode = { name: n.name, rrsets: new Map() };
    for (const [k, s] of n.rrsets) c.rrsets.set(k, { ...s, rdata: [...s.rdata] });
    this.overlay.nodes.set(key, c);
  }

  apply(c: Changeset): void {
    for (const rr of c.removed) this.copy(nameKey(rr.name));
    for (const rr of c.added) this.copy(nameKey(rr.name));
    applyChangeset(this.overlay, c);
  }
}

export class ZoneWriter {
  readonly zone: Name;
  private readonly store: EventStore;
  private readonly projection: Projection;
  private readonly policy: UpdatePolicy;
  private readonly log: Logger;
  private readonly hooks: WriterHooks;
  private readonly maxBatch: number;
  private queue: (Pending | PendingReload)[] = [];
  private running = false;

  constructor(o: { zone: Name; store: EventStore; projection: Projection; policy: UpdatePolicy; log: Logger; hooks?: WriterHooks; maxBatch?: number }) {
    this.zone = o.zone;
    this.store = o.store;
    this.projection = o.projection;
    this.policy = o.policy;
    this.log = o.log;
    this.hooks = o.hooks ?? {};
    this.maxBatch = o.maxBatch ?? 1000;
  }

  /** Queues an update; resolves with its own outcome once its batch is durable (or refused). */
  submit(msg: Message, from: UpdateSender): Promise<UpdateOutcome> {
    return new Promise((resolve) => {
      this.queue.push({ msg, from, resolve, attempts: 0 });
      if (!this.running) {
        this.running = true;
        // Let the rest of this turn's arrivals join the batch before deciding.
        setImmediate(() => void this.drain());
      }
    });
  }

  /** Queues the zone as a file now has it; its difference from the zone becomes one reload event. */
  reload(file: Zone, actor: Actor): Promise<ReloadDecision> {
    return new Promise((resolve) => {
      this.queue.push({ reload: file, actor, resolve });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  private live(): LiveZone {
    const z = this.projection.get(this.zone);
    if (!z) throw new Error(`zone ${this.zone} is not loaded`);
    return z;
  }

  /**
   * Two batches at most are under way: one being made durable while the next is decided on top
   * of it, so the fsync of one overlaps the work of the other. The second is answered only after
   * the first is durable, and decided again if the first fails.
   */
  private async drain(): Promise<void> {
    let inflight: Decided | null = null;
    let view: BatchView | null = null;
    let viewBatches = 0;
    try {
      while (this.queue.length > 0 || inflight) {
        let next: Decided | null = null;
        // A view is kept for a run of batches only, so its copied nodes stay few.
        if (this.queue.length > 0 && !('reload' in this.queue[0]) && viewBatches < 32) {
          let n = 0;
          while (n < this.queue.length && n < this.maxBatch && !('reload' in this.queue[n])) n++;
          const batch = this.queue.splice(0, n) as Pending[];
          let live: LiveZone;
          try {
            live = this.live();
          } catch (e) {
            this.fail(batch, (e as Error).message);
            continue;
          }
          if (!view) view = new BatchView(live.index.zone);
          const expected = inflight ? inflight.expected + inflight.events.length : live.version;
          const serial = inflight ? inflight.serial : live.index.serial;
          next = this.decide(batch, view, expected, serial);
          viewBatches++;
        }
        if (inflight) {
          const how = await this.settle(inflight);
          const retried = how === 'retry' ? inflight.batch : [];
          inflight = null;
          if (how !== 'durable') {
            // The next batch was decided on changes that are not (or not alone) in the stream: decide it again.
            this.queue.unshift(...retried, ...(next?.batch ?? []));
            view = null;
            viewBatches = 0;
            continue;
          }
        }
        if (next) {
          if (next.events.length > 0) {
            next.started = process.hrtime.bigint();
            next.result = this.store.append(this.zone, next.events, next.expected).then((r) => {
              next.position = r.position;
              return null;
            }, (e: unknown) => e as Error);
            inflight = next;
          } else next.batch.forEach((p, i) => this.finish(p, next.outcomes[i]));
          continue;
        }
        view = null;
        viewBatches = 0;
        const head = this.queue[0];
        if (head && 'reload' in head) {
          this.queue.shift();
          head.resolve(await this.commitReload(head));
        }
      }
    } finally {
      this.running = false;
      if (this.queue.length > 0) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    }
  }

  /** Decides every update of the batch in arrival order, each seeing the ones before it. */
  private decide(batch: Pending[], view: BatchView, expected: number, serialBefore: number): Decided {
    const now = new Date();
    const outcomes: UpdateOutcome[] = [];
    const changes: Changeset[] = [];
    const events: NewEvent[] = [];
    let serial = serialBefore;
    for (const p of batch) {
      let d;
      try {
        d = decideUpdate(view, p.msg, { key: p.from.key, address: p.from.address }, this.policy, now);
      } catch (e) {
        d = { ok: false as const, rcode: Rcode.SERVFAIL, reason: `internal error: ${(e as Error).message}` };
      }
      if (!d.ok) {
        outcomes.push({ rcode: d.rcode, serial, applied: false, reason: d.reason });
        continue;
      }
      if (!d.changeset) {
        outcomes.push({ rcode: Rcode.NOERROR, serial, applied: false, reason: 'no change' });
        continue;
      }
      view.apply(d.changeset);
      serial = soaSerial(d.changeset.soaTo.rdata);
      changes.push(d.changeset);
      const actor: Actor = { address: p.from.address, port: p.from.port };
      if (p.from.key) actor.key = p.from.key;
      events.push(zoneChanged(d.changeset, 'update', actor, now));
      outcomes.push({ rcode: Rcode.NOERROR, serial, applied: true, removed: d.changeset.removed.length, added: d.changeset.added.length });
    }
    return { batch, outcomes, changes, events, expected, serial, started: 0n, result: null };
  }

  /**
   * Waits for a batch's append. Durable: the projection takes the changes and every client gets
   * its answer. Beaten by another writer: the projection catches up and the batch goes back to
   * the head of the queue, to be decided again (nothing lost or reordered). Otherwise SERVFAIL.
   */
  private async settle(d: Decided): Promise<'durable' | 'redecided' | 'retry' | 'failed'> {
    const err = await d.result;
    if (!err) {
      this.hooks.onAppend?.(this.zone, Number(process.hrtime.bigint() - d.started) / 1e9, d.events.length);
      this.projection.applyLocal(this.zone, d.expected + 1, d.changes, d.position);
      d.batch.forEach((p, i) => this.finish(p, d.outcomes[i]));
      return 'durable';
    }
    if (err instanceof ConcurrencyError && this.store.appendExclusive) return this.decideExclusively(d.batch);
    const retry = d.batch.filter((p) => ++p.attempts < MAX_ATTEMPTS);
    if (err instanceof ConcurrencyError && retry.length === d.batch.length) {
      this.log.info({ zone: this.zone, expected: err.expected, actual: err.actual, updates: d.batch.length }, 'another writer appended first; deciding the batch again');
      try {
        await this.projection.catchUp();
      } catch (ce) {
        this.fail(d.batch, `catching up after a concurrent append failed: ${(ce as Error).message}`);
        return 'failed';
      }
      return 'retry';
    }
    this.fail(d.batch, `append failed: ${err.message}`);
    return 'failed';
  }

  /**
   * After losing a race: catch up and decide the batch again inside the store's append lock, so
   * it cannot lose twice, however busy the other writer is.
   */
  private async decideExclusively(batch: Pending[]): Promise<'redecided' | 'failed'> {
    this.log.info({ zone: this.zone, updates: batch.length }, 'another writer appended first; deciding the batch again under the append lock');
    let decided: Decided | null = null;
    const started = process.hrtime.bigint();
    let res;
    try {
      res = await this.store.appendExclusive!(this.zone, async (version) => {
        await this.projection.catchUp();
        const live = this.live();
        if (live.version !== version) throw new Error(`the projection is at version ${live.version}, the stream at ${version}`);
        decided = this.decide(batch, new BatchView(live.index.zone), live.version, live.index.serial);
        return decided.events;
      });
    } catch (e) {
      this.fail(batch, `append failed: ${(e as Error).message}`);
      return 'failed';
    }
    const d = decided as Decided | null;
    if (!d) {
      this.fail(batch, 'append failed: nothing was decided');
      return 'failed';
    }
    if (res) {
      this.hooks.onAppend?.(this.zone, Number(process.hrtime.bigint() - started) / 1e9, d.events.length);
      this.projection.applyLocal(this.zone, d.expected + 1, d.changes, res.position);
    }
    batch.forEach((p, i) => this.finish(p, d.outcomes[i]));
    return 'redecided';
  }

  private async commitReload(r: PendingReload): Promise<ReloadDecision> {
    for (let attempt = 1; ; attempt++) {
      const live = this.live();
      let lastFileSerial: number | undefined;
      for await (const e of this.store.readZone(this.zone, live.version, live.version)) if (e.type === 'ZoneChanged') lastFileSerial = e.data.fileSerial;
      const d = decideReload(live.index.zone, r.reload, r.actor, { lastFileSerial });
      if (d.kind === 'refused') this.log.warn({ zone: this.zone, reason: d.reason }, 'reload refused');
      if (d.kind !== 'change') return d;
      try {
        await this.store.append(this.zone, [d.event], live.version);
      } catch (e) {
        if (e instanceof ConcurrencyError && attempt < 10) {
          await this.projection.catchUp();
          continue;
        }
        this.log.error({ zone: this.zone, reason: (e as Error).message }, 'reload failed; nothing was applied');
        return { kind: 'refused', reason: (e as Error).message };
      }
      if (d.event.type !== 'ZoneChanged') throw new Error('a reload of an existing zone must be a ZoneChanged');
      this.projection.applyLocal(this.zone, live.version + 1, [changesetOf(d.event, live.index.zone.class)]);
      this.log.info({ zone: this.zone, serialFrom: d.serialFrom, serialTo: d.serialTo, removed: d.removed, added: d.added, cause: 'reload', actor: r.actor }, 'zone reloaded');
      return d;
    }
  }

  private fail(batch: Pending[], reason: string): void {
    const serial = this.projection.get(this.zone)?.index.serial ?? 0;
    this.log.error({ zone: this.zone, updates: batch.length, reason }, 'update batch failed; nothing was applied');
    for (const p of batch) this.finish(p, { rcode: Rcode.SERVFAIL, serial, applied: false, reason });
  }

  private finish(p: Pending, o: UpdateOutcome): void {
    const base = { zone: this.zone, key: p.from.key ?? undefined, address: p.from.address, port: p.from.port, serial: o.serial };
    if (o.applied) this.log.info({ ...base, removed: o.removed, added: o.added }, 'update applied');
    else if (o.rcode === Rcode.NOERROR) this.log.info({ ...base, reason: o.reason }, 'update changed nothing');
    else this.log.warn({ ...base, rcode: rcodeName(o.rcode), reason: o.reason }, 'update refused');
    this.hooks.onOutcome?.(this.zone, o);
    p.resolve(o);
  }
}
