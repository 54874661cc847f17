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
  private scheduled = false;
  /** An asynchronous step (settling an append, an exclusive re-decision, a reload) is running. */
  private busy = false;
  /** The batch being made durable. */
  private inflight: Decided | null = null;
  /** The batch being decided on top of it, to be appended the moment it is durable. */
  private open: Decided | null = null;
  private view: BatchView | null = null;
  private viewBatches = 0;

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
      this.kick();
    });
  }

  /** Queues the zone as a file now has it; its difference from the zone becomes one reload event. */
  reload(file: Zone, actor: Actor): Promise<ReloadDecision> {
    return new Promise((resolve) => {
      this.queue.push({ reload: file, actor, resolve });
      this.kick();
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

  /** Decides what is queued once this turn's arrivals are in. */
  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /**
   * Group commit, two deep: while one batch is being made durable, arriving updates are decided
   * at once on top of it, into the open batch; the moment the first is durable the open one is
   * appended. So the fsync of one overlaps the decisions of the next, and no update waits for
   * more than one append behind it. An update is answered only when its own batch is durable.
   */
  private pump(): void {
    if (this.busy) return;
    let live: LiveZone;
    try {
      live = this.live();
    } catch (e) {
      const waiting = this.queue.filter((q): q is Pending => !('reload' in q));
      this.queue = this.queue.filter((q) => 'reload' in q);
      this.fail(waiting, (e as Error).message);
      return;
    }
    while (this.queue.length > 0 && !('reload' in this.queue[0])) {
      if (!this.open) {
        // A view serves a run of batches only, so its copied nodes stay few.
        if (this.viewBatches >= 32 && this.inflight) break;
        if (!this.view || this.viewBatches >= 32) {
          this.view = new BatchView(live.index.zone);
          this.viewBatches = 0;
        }
        const after = this.inflight;
        this.open = {
          batch: [], outcomes: [], changes: [], events: [],
          expected: after ? after.expected + after.events.length : live.version,
          serial: after ? after.serial : live.index.serial, started: 0n, result: null,
        };
        this.viewBatches++;
      }
      if (this.open.batch.length >= this.maxBatch) break;
      this.decideInto(this.open, this.queue.shift() as Pending, this.view!);
    }
    if (!this.inflight && this.open) {
      const d = this.open;
      this.open = null;
      if (d.events.length === 0) d.batch.forEach((p, i) => this.finish(p, d.outcomes[i]));
      else {
        d.started = process.hrtime.bigint();
        d.result = this.store.append(this.zone, d.events, d.expected).then((r) => {
          d.position = r.position;
          return null;
        }, (e: unknown) => e as Error);
        this.inflight = d;
        void d.result.then(() => this.settled(d));
      }
    }
    if (this.inflight || this.open) return;
    this.view = null;
    const head = this.queue[0];
    if (head && 'reload' in head) {
      this.queue.shift();
      this.busy = true;
      this.commitReload(head).then(head.resolve, (e: unknown) => head.resolve({ kind: 'refused', reason: (e as Error).message })).finally(() => {
        this.busy = false;
        this.pump();
      });
    } else if (this.queue.length > 0) this.kick();
  }

  private async settled(d: Decided): Promise<void> {
    this.busy = true;
    try {
      const how = await this.settle(d);
      this.inflight = null;
      if (how !== 'durable') {
        // The open batch was decided on changes that are not (or not alone) in the stream: decide it again.
        this.queue.unshift(...(how === 'retry' ? d.batch : []), ...(this.open?.batch ?? []));
        this.open = null;
        this.view = null;
      }
    } finally {
      this.busy = false;
      this.pump();
    }
  }

  /** Decides one update on top of everything decided before it, adding it to the batch. */
  private decideInto(d: Decided, p: Pending, view: BatchView, now = new Date()): void {
    let r;
    try {
      r = decideUpdate(view, p.msg, { key: p.from.key, address: p.from.address }, this.policy, now);
    } catch (e) {
      r = { ok: false as const, rcode: Rcode.SERVFAIL, reason: `internal error: ${(e as Error).message}` };
    }
    d.batch.push(p);
    if (!r.ok) {
      d.outcomes.push({ rcode: r.rcode, serial: d.serial, applied: false, reason: r.reason });
      return;
    }
    if (!r.changeset) {
      d.outcomes.push({ rcode: Rcode.NOERROR, serial: d.serial, applied: false, reason: 'no change' });
      return;
    }
    view.apply(r.changeset);
    d.serial = soaSerial(r.changeset.soaTo.rdata);
    d.changes.push(r.changeset);
    const actor: Actor = { address: p.from.address, port: p.from.port };
    if (p.from.key) actor.key = p.from.key;
    d.events.push(zoneChanged(r.changeset, 'update', actor, now));
    d.outcomes.push({ rcode: Rcode.NOERROR, serial: d.serial, applied: true, removed: r.changeset.removed.length, added: r.changeset.added.length });
  }

  /** Decides a whole batch on a fresh view (after losing a race). */
  private decide(batch: Pending[], view: BatchView, expected: number, serialBefore: number): Decided {
    const d: Decided = { batch: [], outcomes: [], changes: [], events: [], expected, serial: serialBefore, started: 0n, result: null };
    const now = new Date();
    for (const p of batch) this.decideInto(d, p, view, now);
    return d;
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
