// One zone's update writer: decides queued updates in order, makes a batch durable in one append.

import { Rcode, rcodeName } from '../../shared/dns/constants.ts';
import type { Message } from '../../shared/dns/message.ts';
import { nameKey, type Name } from '../../shared/dns/name.ts';
import { changesetOf, zoneChanged } from '../../shared/events/codec.ts';
import type { Actor, NewEvent } from '../../shared/events/types.ts';
import type { Logger } from '../../shared/log.ts';
import { ConcurrencyError, type EventStore } from '../../shared/store/port.ts';
import { applyDerivedChangeset, type Changeset } from '../../shared/zone/changeset.ts';
import { soaSerial, type Zone, type ZoneNode } from '../../shared/zone/zone.ts';
import type { LiveZone } from '../projector/live-zone.ts';
import type { Projection } from '../projector/projection.ts';
import { decideReload, type ReloadDecision } from './reload.ts';
import { decideUpdate, type UpdatePolicy, type ZoneView } from './update.ts';
import { decideRevert, type RevertDecision } from '../history/history.ts';

/** A revert decision in the shape reloads share. */
function revertDecision(d: RevertDecision): ReloadDecision {
  return d.kind === 'unchanged' ? d : { ...d, bumped: false };
}

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
/** Batches sent to the store and not yet durable, at most (one for stores whose appends can overtake each other). */
const MAX_IN_FLIGHT = 3;
/** Updates decided before the first part of a burst is sent to an idle store. */
const EARLY_PART = 8;

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
  /** The store has answered: durable (err null) or not. */
  done: boolean;
  err: Error | null;
}

/**
 * A change to the whole zone (a zone-file reload, a revert), queued with the updates so it never
 * races them, and decided against the zone as it stands when its turn comes.
 */
interface PendingReload {
  reload: Zone;
  actor: Actor;
  resolve: (d: ReloadDecision) => void;
  /** For a revert: the serial `reload` is the zone as of, and the note. */
  revert?: { serial: number; note?: string };
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
    // decideUpdate derived c from this view, so it applies as is; the live zone checks it again.
    applyDerivedChangeset(this.overlay, c);
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
  /** Batches sent to the store, oldest first; each builds on the one before it. */
  private inflight: Decided[] = [];
  /** The batch being decided on top of them, appended as soon as there is room. */
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

  /**
   * Queues a revert: `target` is the zone as of serial `serial`; its difference from the zone
   * as it then stands becomes one `revert` event under the zone's serial policy.
   */
  revert(target: Zone, serial: number, actor: Actor, note?: string): Promise<ReloadDecision> {
    return new Promise((resolve) => {
      this.queue.push({ reload: target, actor, resolve, revert: { serial, note } });
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
   * Group commit, pipelined: arriving updates are decided at once on top of the batches already
   * sent to the store, into the open batch, and the open batch is sent as soon as fewer than
   * MAX_IN_FLIGHT are under way. Each batch names the last event of the one before it, so it can
   * only land on top of it; the store works through them in order, one sync each, never waiting
   * for this thread between them. An update is answered only when its own batch is durable, and
   * if a batch fails, every batch after it is decided again.
   */
  private pump(): void {
    if (this.busy) return;
    // Settle finished batches in order; the first failure stops the line.
    while (this.inflight.length > 0 && this.inflight[0].done) {
      const d = this.inflight.shift()!;
      if (d.err === null) this.durable(d);
      else {
        void this.recover(d);
        return;
      }
    }
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
        if (this.viewBatches >= 64 && this.inflight.length > 0) break;
        if (!this.view || this.viewBatches >= 64) {
          this.view = new BatchView(live.index.zone);
          this.viewBatches = 0;
        }
        const last = this.inflight.at(-1);
        this.open = {
          batch: [], outcomes: [], changes: [], events: [],
          expected: last ? last.expected + last.events.length : live.version,
          serial: last ? last.serial : live.index.serial, started: 0n, done: false, err: null,
        };
        this.viewBatches++;
      }
      if (this.open.batch.length >= this.maxBatch) break;
      this.decideInto(this.open, this.queue.shift() as Pending, this.view!);
      // With nothing being synced, send a first part early: its sync then overlaps the
      // decisions on the rest of the queue, instead of the store idling until all are decided.
      if (this.open.events.length >= EARLY_PART && this.queue.length > 0 && this.inflight.length === 0) {
        const d = this.open;
        this.open = null;
        this.send(d);
      }
    }
    if (this.open && this.inflight.length < (this.store.orderedAppends ? MAX_IN_FLIGHT : 1)) {
      const d = this.open;
      this.open = null;
      if (d.events.length === 0 && this.inflight.length === 0) d.batch.forEach((p, i) => this.finish(p, d.outcomes[i]));
      else this.send(d);
    }
    if (this.inflight.length > 0 || this.open) return;
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

  /** Sends a batch to the store behind the ones in flight (a batch without events just waits its turn). */
  private send(d: Decided): void {
    let after: string | undefined;
    for (let i = this.inflight.length - 1; i >= 0 && after === undefined; i--) after = this.inflight[i].events.at(-1)?.id;
    this.inflight.push(d);
    d.started = process.hrtime.bigint();
    const settled = (err: Error | null): void => {
      d.done = true;
      d.err = err;
      this.pump();
    };
    if (d.events.length === 0) {
      queueMicrotask(() => settled(null));
      return;
    }
    this.store.append(this.zone, d.events, d.expected, after === undefined ? {} : { after }).then((r) => {
      d.position = r.position;
      settled(null);
    }, (e: unknown) => settled(e as Error));
  }

  /** A batch is durable: the projection takes it and its clients get their answers. */
  private durable(d: Decided): void {
    if (d.events.length > 0) {
      this.hooks.onAppend?.(this.zone, Number(process.hrtime.bigint() - d.started) / 1e9, d.events.length);
      this.projection.applyLocal(this.zone, d.expected + 1, d.changes, d.position);
    }
    d.batch.forEach((p, i) => this.finish(p, d.outcomes[i]));
  }

  /**
   * A batch failed. The batches after it were decided on top of it and cannot land (each names
   * its predecessor); once they have come back, the failed batch is decided again or answered
   * SERVFAIL, and everything after it goes back to the head of the queue.
   */
  private async recover(failed: Decided): Promise<void> {
    this.busy = true;
    try {
      const later = this.inflight;
      this.inflight = [];
      await Promise.all(later.map((d) => new Promise<void>((resolve) => {
        const wait = (): void => (d.done ? resolve() : void setTimeout(wait, 1));
        wait();
      })));
      const again = [...later.flatMap((d) => d.batch), ...(this.open?.batch ?? [])];
      this.open = null;
      this.view = null;
      const how = await this.settle(failed);
      this.queue.unshift(...(how === 'retry' ? failed.batch : []), ...again);
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
    const d: Decided = { batch: [], outcomes: [], changes: [], events: [], expected, serial: serialBefore, started: 0n, done: false, err: null };
    const now = new Date();
    for (const p of batch) this.decideInto(d, p, view, now);
    return d;
  }

  /**
   * What to do with a batch whose append failed. Beaten by another writer: catch up and decide it
   * again (on PostgreSQL inside the append lock, so it cannot lose twice; elsewhere back at the
   * head of the queue, up to MAX_ATTEMPTS). Any other failure: SERVFAIL, and nothing changed.
   */
  private async settle(d: Decided): Promise<'redecided' | 'retry' | 'failed'> {
    const err = d.err!;
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
      const d: ReloadDecision = r.revert
        ? revertDecision(decideRevert(live.index.zone, r.reload, r.revert.serial, this.policy.serialPolicy, r.actor, new Date(), r.revert.note))
        : decideReload(live.index.zone, r.reload, r.actor, { lastFileSerial });
      const what = r.revert ? 'revert' : 'reload';
      if (d.kind === 'refused') this.log.warn({ zone: this.zone, reason: d.reason }, `${what} refused`);
      if (d.kind !== 'change') return d;
      try {
        await this.store.append(this.zone, [d.event], live.version);
      } catch (e) {
        if (e instanceof ConcurrencyError && attempt < 10) {
          await this.projection.catchUp();
          continue;
        }
        this.log.error({ zone: this.zone, reason: (e as Error).message }, `${what} failed; nothing was applied`);
        return { kind: 'refused', reason: (e as Error).message };
      }
      if (d.event.type !== 'ZoneChanged') throw new Error('a reload of an existing zone must be a ZoneChanged');
      this.projection.applyLocal(this.zone, live.version + 1, [changesetOf(d.event, live.index.zone.class)]);
      if (r.revert) this.log.info({ zone: this.zone, serialFrom: d.serialFrom, serialTo: d.serialTo, revertTo: r.revert.serial, removed: d.removed, added: d.added, cause: 'revert', actor: r.actor }, 'zone reverted');
      else this.log.info({ zone: this.zone, serialFrom: d.serialFrom, serialTo: d.serialTo, removed: d.removed, added: d.added, cause: 'reload', actor: r.actor }, 'zone reloaded');
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
