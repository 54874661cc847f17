// `zonelog serve`: every service in one process — store, projection, writers, listeners, query threads, HTTP.

import type http from 'node:http';
import type net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { Opcode, Rcode, rcodeName } from '../shared/dns/constants.ts';
import type { RR } from '../shared/dns/message.ts';
import { nameKey } from '../shared/dns/name.ts';
import { keyring, makeKey, type Keyring } from '../shared/dns/tsig.ts';
import type { Logger } from '../shared/log.ts';
import { Registry } from '../shared/metrics.ts';
import { progress } from '../shared/progress.ts';
import { openStore } from '../shared/store/open.ts';
import { ConcurrencyError, type EventStore } from '../shared/store/port.ts';
import type { Changeset } from '../shared/zone/changeset.ts';
import { loadZoneFile } from '../shared/zone/load.ts';
import { formatIssue } from '../shared/zone/parser.ts';
import { recordCount, soaOf, type Zone } from '../shared/zone/zone.ts';
import type { ServerConfig, ZoneConfig } from './config/types.ts';
import { listenHttp } from './api/http.ts';
import { historyRoutes, type ServedZone } from './api/history.ts';
import { startHistoryReader } from './api/history-reader.ts';
import { HistoryError, zoneAsOf } from './history/history.ts';
import type { Actor } from '../shared/events/types.ts';
import { handleUpdate } from './primary/handler.ts';
import { Notifier, nsTargets } from './primary/notify.ts';
import { decideReload } from './primary/reload.ts';
import { answerTransfer } from './primary/transfer-out.ts';
import { answerNotify } from './secondary/notify-in.ts';
import { SecondaryZone } from './secondary/secondary.ts';
import { Limiter } from './secondary/limiter.ts';
import { entryKey, readRuntimeZones, writeRuntimeZones } from './secondary/runtime-zones.ts';
import { ConfigError, loadConfig, parseZoneEntry } from './config/load.ts';
import { ZoneWriter } from './primary/writer.ts';
import { Projection, type Applied } from './projector/projection.ts';
import { closeTcp, listenTcp, listenUdp, type UdpListener } from './responder/listen.ts';
import { batchedUdpUnavailable } from '../shared/native/udp-batch.ts';
import type { FromQueryThread, QueryThreadData, ToQueryThread } from './responder/query-thread.ts';
import { Responder, type Peer } from './responder/query.ts';

/** Startup failed before anything was served; the message says what and where. */
export class StartupError extends Error {}

export interface Server {
  config: ServerConfig;
  /** Reads every zone file again; each difference becomes a reload event. */
  reload(why: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

function metricsFor(registry: Registry) {
  return {
    queries: registry.counter('zonelog_queries_total', 'Responses sent to queries and other requests, by RCODE.', ['rcode']),
    updates: registry.counter('zonelog_updates_total', 'Dynamic updates by zone and result (applied, unchanged, refused, failed).', ['zone', 'result']),
    append: registry.histogram('zonelog_append_seconds', 'Time to make one batch of update events durable.', ['zone'], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]),
    batch: registry.histogram('zonelog_append_events', 'Events per durable append (group commit size).', ['zone'], [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]),
    version: registry.gauge('zonelog_zone_version', 'Events in the zone\'s stream (its version) as served.', ['zone']),
    serial: registry.gauge('zonelog_zone_serial', 'SOA serial served.', ['zone']),
    records: registry.gauge('zonelog_zone_records', 'Records in the zone as served.', ['zone']),
    transfers: registry.counter('zonelog_transfers_out_total', 'Outbound zone transfers by zone, kind (axfr, ixfr, ixfr-axfr-style, up-to-date, refused) and result.', ['zone', 'kind', 'result']),
    transferBytes: registry.counter('zonelog_transfer_out_bytes_total', 'Octets sent in outbound zone transfers.', ['zone']),
    notifies: registry.counter('zonelog_notify_out_total', 'NOTIFY messages sent, by zone and result (answered, refused, unanswered).', ['zone', 'result']),
    notifiesIn: registry.counter('zonelog_notify_in_total', 'NOTIFY messages received for secondary zones, by zone and result (accepted, refused).', ['zone', 'result']),
    transfersIn: registry.counter('zonelog_transfers_in_total', 'Transfers into secondary zones by kind (ixfr, axfr, up-to-date).', ['zone', 'kind']),
    checks: registry.counter('zonelog_secondary_checks_total', 'Refresh checks of secondary zones (SOA query, and a transfer when behind), by result.', ['result']),
    expired: registry.gauge('zonelog_zone_expired', '1 while a secondary zone is expired (answered SERVFAIL).', ['zone']),
  };
}

/** Makes sure every configured zone has a stream: a missing one is imported from its file, whole. */
/** Zones this start imported, as parsed, so the projection need not read them back. */
type Imported = Map<string, { zone: Zone; version: number }>;

async function ensureZones(cfg: ServerConfig, store: EventStore, log: Logger): Promise<Imported> {
  const imported: Imported = new Map();
  const missing: { z: ZoneConfig; zone: ReturnType<typeof loadZoneFile>['zone'] }[] = [];
  const problems: string[] = [];
  for (const z of cfg.zones) {
    // Secondary zones come from their primaries, not from a file.
    if (z.file === undefined || (await store.head(nameKey(z.name)))) continue;
    const p = progress(`reading ${z.file}`, undefined);
    const r = loadZoneFile(z.file!, { origin: z.name, onRecord: () => p.tick() });
    p.done();
    for (const e of r.errors) problems.push(formatIssue(e));
    if (r.errors.length === 0) missing.push({ z, zone: r.zone });
  }
  // Nothing is imported unless every file is good: the server never starts half-configured.
  if (problems.length > 0) throw new StartupError(`zone file errors; nothing was imported or served:\n${problems.join('\n')}`);
  for (const { z, zone } of missing) {
    const d = decideReload(null, zone, { user: 'zonelog serve' });
    if (d.kind !== 'create') throw new StartupError(`zone ${z.name}: ${d.kind === 'refused' ? d.reason : 'cannot be created'}`);
    try {
      const res = await store.append(nameKey(z.name), [d.event], 'no-zone');
      imported.set(nameKey(z.name), { zone, version: res.version });
      log.info({ zone: z.name, serial: d.serial, records: recordCount(zone), version: res.version, file: z.file, cause: 'import' }, 'zone created');
    } catch (e) {
      // Another server on the same store imported it first; its copy is the zone now.
      if (!(e instanceof ConcurrencyError)) throw e;
    }
  }
  return imported;
}

/**
 * One full collection once the zones are loaded: parsing and importing leave hundreds of MB
 * behind, and collecting them now costs a pause before the first query rather than during the
 * first burst of traffic.
 */
function compact(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/**
 * A changeset whose rdata are exact-size copies. A record's rdata is often a view into the
 * message it arrived in, and posting a view to a thread copies its whole underlying buffer.
 */
function compactChangeset(c: Changeset): Changeset {
  const rr = (r: RR): RR => ({ name: r.name, type: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata.slice() });
  return { soaFrom: c.soaFrom && rr(c.soaFrom), soaTo: rr(c.soaTo), removed: c.removed.map(rr), added: c.added.map(rr) };
}

export async function serve(fileCfg: ServerConfig, log: Logger): Promise<Server> {
  // Zones added at run time in an earlier run are served again, after the config file's own.
  let runtime: ReturnType<typeof readRuntimeZones>;
  try {
    runtime = readRuntimeZones(fileCfg);
  } catch (e) {
    throw new StartupError(`${fileCfg.runtimeZones}: ${(e as Error).message}`);
  }
  const fileZones = new Set(fileCfg.zones.map((z) => nameKey(z.name)));
  const runtimeEntries = runtime.entries.filter((_, i) => !fileZones.has(nameKey(runtime.zones[i].name)));
  const cfg: ServerConfig = { ...fileCfg, zones: [...fileCfg.zones, ...runtime.zones.filter((z) => !fileZones.has(nameKey(z.name)))] };
  const registry = new Registry();
  const m = metricsFor(registry);
  const store = await openStore(cfg.store, { appendThread: true });
  const closers: (() => Promise<void> | void)[] = [() => store.close()];
  const stop = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const imported = await ensureZones(cfg, store, log);
    const keys: Keyring = keyring(cfg.keys.map((k) => makeKey(k.name, k.algorithm, k.secret)));
    const threads: Worker[] = [];
    // Changes go to the query threads together, once per turn: one message per change would
    // cost the main thread more than the change itself under update load.
    let pending: Extract<ToQueryThread, { t: 'changes' }>['items'] = [];
    const flushChanges = (): void => {
      if (pending.length === 0) return;
      const msg: ToQueryThread = { t: 'changes', items: pending };
      pending = [];
      for (const t of threads) t.postMessage(msg);
    };
    const broadcast = (msg: ToQueryThread): void => {
      if (threads.length === 0) return;
      if (msg.t === 'changes') {
        if (pending.length === 0) setImmediate(flushChanges);
        pending.push(...msg.items);
        return;
      }
      flushChanges();
      for (const t of threads) t.postMessage(msg);
    };
    const projection = new Projection(store, {
      snapshotEvery: cfg.snapshotEvery,
      snapshotMinIntervalMs: cfg.snapshotMinIntervalMs,
      snapshotIntervalMs: cfg.snapshotIntervalMs,
    });
    let replaying: ReturnType<typeof progress> | null = null;
    let replayed = 0;
    await projection.start(imported, () => {
      replayed++;
      if (replayed === 1000) replaying = progress('replaying events', undefined);
      replaying?.tick();
    });
    (replaying as ReturnType<typeof progress> | null)?.done();
    const served = new Set(cfg.zones.map((z) => nameKey(z.name)));
    const observe = (zone: string): void => {
      const live = projection.get(zone);
      if (!live) return;
      m.version.set({ zone }, live.version);
      m.serial.set({ zone }, live.index.serial);
    };
    for (const z of served) {
      observe(z);
      const live = projection.get(z);
      if (live) m.records.set({ zone: z }, recordCount(live.index.zone));
    }
    let responder: Responder | null = null;

    const writers = new Map<string, ZoneWriter>();
    const writerFor = (z: ZoneConfig): ZoneWriter => new ZoneWriter({
      zone: nameKey(z.name), store, projection, log, maxBatch: cfg.maxBatch,
      policy: { grants: z.allowUpdate, serialPolicy: z.serialPolicy },
      hooks: {
        onAppend: (zn, secs, n) => {
          m.append.observe({ zone: zn }, secs);
          m.batch.observe({ zone: zn }, n);
        },
        onOutcome: (zn, o) => m.updates.inc({ zone: zn, result: o.applied ? 'applied' : o.rcode === Rcode.NOERROR ? 'unchanged' : o.rcode === Rcode.SERVFAIL ? 'failed' : 'refused' }),
      },
    });
    for (const z of cfg.zones) if (z.file !== undefined) writers.set(nameKey(z.name), writerFor(z));
    const secondaries = new Map<string, SecondaryZone>();
    const limiter = new Limiter(cfg.transfersIn);
    const secondaryFor = (z: ZoneConfig): SecondaryZone => new SecondaryZone({
      zone: z, store, projection, keys: () => keys, log, limiter,
      onCheck: (_zone, ok) => m.checks.inc({ result: ok ? 'ok' : 'failed' }),
      onTransfer: (zone, kind) => m.transfersIn.inc({ zone, kind }),
      onExpired: (zone, expired) => m.expired.set({ zone }, expired ? 1 : 0),
    });
    for (const z of cfg.zones) if (z.primaries.length > 0) secondaries.set(nameKey(z.name), secondaryFor(z));
    // Only zones in the config are served, even if the store holds others.
    const zones = new Map([...projection.zones].filter(([k]) => served.has(k)));
    // A primary zone was imported above; a secondary zone may have no events until its first transfer.
    for (const z of cfg.zones) if (z.file !== undefined && !zones.has(nameKey(z.name))) throw new StartupError(`zone ${z.name} has no events in ${cfg.store}`);
    // Query threads follow every change; a zone created anew (by another writer) is served whole.
    const zoneConfigs = new Map(cfg.zones.map((z) => [nameKey(z.name), z]));
    const notifier = new Notifier({
      log, keys: () => keys,
      onResult: (zone, _to, result) => m.notifies.inc({ zone, result }),
    });
    closers.push(() => notifier.close());
    projection.onApplied = (a: Applied) => {
      if (!served.has(a.zone)) return;
      const zc = zoneConfigs.get(a.zone);
      if (zc && (zc.notify.length > 0 || zc.notifyNs)) {
        const live = projection.get(a.zone);
        const soa = live ? soaOf(live.index.zone) : undefined;
        const targets = zc.notifyNs && live ? [...zc.notify, ...nsTargets(live.index.zone)] : zc.notify;
        if (soa) notifier.changed(zc.name, soa, targets, zc.notifyDelayMs);
      }
      if (a.kind === 'changed') {
        if (threads.length > 0) broadcast({ t: 'changes', items: [{ zone: a.zone, version: a.version, changeset: compactChangeset(a.changeset) }] });
      } else {
        zones.set(a.zone, a.live);
        broadcast({ t: 'zone', zone: a.live.index.zone, version: a.version });
        responder?.clearCache();
      }
    };

    responder = new Responder(zones, keys, (msg, peer) => {
      if (msg.opcode === Opcode.UPDATE) {
        return handleUpdate(msg, peer, { writers, isSecondary: (z) => secondaries.has(z), keys: () => keys, log, onRefused: (zone) => m.updates.inc({ zone: nameKey(zone), result: 'refused' }) });
      }
      if (msg.opcode === Opcode.QUERY) {
        // AXFR and IXFR: the only queries the responder hands over.
        return answerTransfer(msg, peer, {
          store, zones, config: (z) => zoneConfigs.get(z), keys: () => keys, log,
          onTransfer: (t) => {
            m.transfers.inc({ zone: nameKey(t.zone), kind: t.kind, result: t.complete ? 'complete' : 'broken' });
            m.transferBytes.inc({ zone: nameKey(t.zone) }, t.bytes);
            if (t.complete) notifier.transferred(t.zone, t.address, t.serialTo);
          },
          onRefused: (zone) => m.transfers.inc({ zone, kind: 'refused', result: 'refused' }),
        });
      }
      return answerNotify(msg, peer, { secondaries, config: (z) => zoneConfigs.get(z), keys: () => keys, log, onNotify: (zone, result) => m.notifiesIn.inc({ zone, result }) });
    });
    const flushCounts = (counts: number[]): void => {
      counts.forEach((n, r) => {
        if (n > 0) m.queries.inc({ rcode: rcodeName(r) }, n);
      });
    };
    // Gauges follow the zones once a second, not once per change.
    const countTimer = setInterval(() => {
      flushCounts(responder!.takeCounts());
      for (const z of served) observe(z);
    }, 1000);
    countTimer.unref();
    closers.push(() => clearInterval(countTimer));

    const handler = (msg: Buffer, peer: Peer) => responder!.handle(msg, peer);
    const udp: UdpListener[] = [];
    const tcp: net.Server[] = [];
    for (const ep of cfg.listen) {
      // TCP first: its bind is exclusive, so a port another server holds is found here, before
      // the UDP socket (which shares the port with our query threads) could join it.
      try {
        tcp.push(await listenTcp(ep, handler, log, { idleMs: cfg.tcpIdleTimeoutMs }));
        udp.push(await listenUdp(ep, handler, log, responder.udpFast, cfg.udpIo));
      } catch (e) {
        throw new StartupError(`cannot listen on ${ep.address}:${ep.port}: ${(e as Error).message}`);
      }
    }
    closers.push(async () => {
      for (const s of udp) s.close();
      await Promise.all(tcp.map(closeTcp));
    });

    // Query threads share the UDP ports (SO_REUSEPORT) and answer from replicas of the zones.
    const data: QueryThreadData = { listen: cfg.listen, keys: cfg.keys, logLevel: cfg.logLevel, udpIo: cfg.udpIo };
    const readies: Promise<void>[] = [];
    for (let i = 0; i < cfg.queryThreads; i++) {
      const t = new Worker(new URL('./responder/query-thread.ts', import.meta.url), { workerData: data });
      threads.push(t);
      for (const [, live] of zones) t.postMessage({ t: 'zone', zone: live.index.zone, version: live.version } satisfies ToQueryThread);
      readies.push(new Promise((resolve, reject) => {
        t.once('error', reject);
        t.on('message', (msg: FromQueryThread) => {
          if (msg.t === 'ready') resolve();
          else if (msg.t === 'counts') flushCounts(msg.byRcode);
          else if (msg.t === 'forward') {
            const sock = udp[msg.endpoint];
            const peer: Peer = { address: msg.address, port: msg.port, transport: 'udp' };
            Promise.resolve(responder!.handle(Buffer.from(msg.msg), peer)).then(
              (b) => Buffer.isBuffer(b) && sock.send(b, msg.port, msg.address),
              (e: unknown) => log.error({ err: e }, 'internal error answering a forwarded message'),
            );
          }
        });
      }));
      t.on('error', (e) => log.error({ err: e }, 'query thread failed'));
    }
    await Promise.all(readies);
    closers.push(() => Promise.all(threads.map((t) => t.terminate())).then(() => undefined));

    // Other writers on a shared store: their events reach us through the global feed.
    let polling = false;
    const poll = setInterval(() => {
      if (polling) return;
      polling = true;
      projection.catchUp().then(
        () => (polling = false),
        (e: unknown) => {
          polling = false;
          log.error({ err: e }, 'reading the store feed failed');
        },
      );
    }, cfg.pollMs);
    poll.unref();
    closers.push(() => clearInterval(poll));
    const snap = setInterval(() => {
      projection.snapshotDue().then(
        (n) => n > 0 && log.info({ snapshots: n }, 'snapshots saved'),
        (e: unknown) => log.error({ err: e }, 'saving a snapshot failed'),
      );
    }, 5000);
    snap.unref();
    closers.push(() => clearInterval(snap));

    const reload = async (why: string): Promise<Record<string, string>> => {
      const out: Record<string, string> = {};
      await reloadZoneList(out);
      for (const z of cfg.zones) {
        if (out[nameKey(z.name)] === 'added') continue;
        if (z.file === undefined) continue;
        const r = loadZoneFile(z.file, { origin: z.name });
        if (r.errors.length > 0) {
          const errors = r.errors.map(formatIssue);
          log.warn({ zone: z.name, file: z.file, errors }, 'reload refused: the zone file has errors; the zone is unchanged');
          out[z.name] = `refused: ${errors.join('; ')}`;
          continue;
        }
        const d = await writers.get(nameKey(z.name))!.reload(r.zone, { user: `zonelog serve (${why})` });
        if (d.kind === 'unchanged') log.info({ zone: z.name, serial: d.serial }, 'reload: no change');
        out[z.name] = d.kind === 'change' ? `serial ${d.serialFrom} -> ${d.serialTo}, -${d.removed} +${d.added}` : d.kind === 'unchanged' ? `unchanged at serial ${d.serial}` : d.kind === 'refused' ? `refused: ${d.reason}` : d.kind;
      }
      return out;
    };
    // Zones that come and go while serving: POST /zones and DELETE /zones/NAME (kept in
    // cfg.runtimeZones), and zones added to or removed from the config file before a SIGHUP.
    const startServing = async (zc: ZoneConfig): Promise<string | null> => {
      const key = nameKey(zc.name);
      if (zc.file !== undefined) {
        if (!(await store.head(key))) {
          const r = loadZoneFile(zc.file, { origin: zc.name });
          if (r.errors.length > 0) return `the zone file has errors: ${r.errors.map(formatIssue).join('; ')}`;
          const d = decideReload(null, r.zone, { user: 'zonelog serve' });
          if (d.kind !== 'create') return d.kind === 'refused' ? d.reason : `cannot be created (${d.kind})`;
          try {
            await store.append(key, [d.event], 'no-zone');
            log.info({ zone: zc.name, serial: d.serial, records: recordCount(r.zone), file: zc.file, cause: 'import' }, 'zone created');
          } catch (e) {
            if (!(e instanceof ConcurrencyError)) throw e;
          }
        }
        await projection.catchUp();
        writers.set(key, writerFor(zc));
      }
      cfg.zones.push(zc);
      zoneConfigs.set(key, zc);
      served.add(key);
      // A zone served before and removed continues its history.
      const known = projection.get(key);
      if (known) zones.set(key, known);
      responder!.clearCache();
      if (zc.primaries.length > 0) {
        const sec = secondaryFor(zc);
        secondaries.set(key, sec);
        sec.start();
      }
      log.info({ zone: zc.name, role: zc.primaries.length > 0 ? 'secondary' : 'primary', version: known?.version ?? 0 }, 'zone added');
      return null;
    };
    const stopServing = (key: string): void => {
      secondaries.get(key)?.stop();
      secondaries.delete(key);
      writers.delete(key);
      zoneConfigs.delete(key);
      served.delete(key);
      zones.delete(key);
      const at = cfg.zones.findIndex((z) => nameKey(z.name) === key);
      if (at >= 0) cfg.zones.splice(at, 1);
      responder!.clearCache();
      log.info({ zone: key, version: projection.get(key)?.version ?? 0 }, 'zone removed; its history stays in the store');
    };
    const status = (key: string): unknown => secondaries.get(key)?.status() ?? { zone: key, role: 'primary', serial: projection.get(key)?.index.serial ?? null, state: 'fresh' };
    const addZone = async (entry: unknown): Promise<{ status: number; body: unknown }> => {
      let zc: ZoneConfig;
      try {
        zc = parseZoneEntry(entry, cfg, 'POST /zones');
      } catch (e) {
        if (e instanceof ConfigError) return { status: 400, body: { errors: e.errors } };
        throw e;
      }
      const key = nameKey(zc.name);
      if (zoneConfigs.has(key)) return { status: 409, body: { error: `zone ${zc.name} is already served` } };
      const err = await startServing(zc);
      if (err) return { status: 400, body: { error: `zone ${zc.name}: ${err}` } };
      runtimeEntries.push(entry);
      writeRuntimeZones(cfg.runtimeZones, runtimeEntries);
      return { status: 201, body: status(key) };
    };
    const removeZone = async (name: string): Promise<{ status: number; body: unknown }> => {
      const key = nameKey(name.endsWith('.') ? name : `${name}.`);
      if (!zoneConfigs.has(key)) return { status: 404, body: { error: `zone ${name} is not served` } };
      const at = runtimeEntries.findIndex((e) => entryKey(e) === key);
      if (at < 0) return { status: 409, body: { error: `zone ${name} is in ${cfg.source}; remove it there and reload` } };
      runtimeEntries.splice(at, 1);
      writeRuntimeZones(cfg.runtimeZones, runtimeEntries);
      stopServing(key);
      return { status: 200, body: { removed: name } };
    };
    /** The config file's zones since the last reload: a SIGHUP adds and removes zones to match it. */
    const fileZoneKeys = new Set(fileCfg.zones.map((z) => nameKey(z.name)));
    const reloadZoneList = async (out: Record<string, string>): Promise<void> => {
      let fresh: ServerConfig;
      try {
        fresh = loadConfig(cfg.source);
      } catch (e) {
        const lines = e instanceof ConfigError ? e.errors : [(e as Error).message];
        log.warn({ config: cfg.source, errors: lines }, 'reload: the configuration has errors; the zone list is unchanged');
        out[cfg.source] = `refused: ${lines.join('; ')}`;
        return;
      }
      const want = new Map(fresh.zones.map((z) => [nameKey(z.name), z]));
      for (const key of [...fileZoneKeys]) {
        if (want.has(key)) continue;
        fileZoneKeys.delete(key);
        if (!zoneConfigs.has(key)) continue;
        stopServing(key);
        out[key] = 'removed (its history stays in the store)';
      }
      for (const [key, z] of want) {
        if (fileZoneKeys.has(key)) continue;
        if (zoneConfigs.has(key)) {
          out[key] = 'already served (added through the API)';
          continue;
        }
        const err = await startServing(z);
        out[key] = err ? `refused: ${err}` : 'added';
        if (!err) fileZoneKeys.add(key);
      }
    };
    const servedZones = (): ServedZone[] => cfg.zones.flatMap((z) => {
      const key = nameKey(z.name);
      const live = projection.get(key);
      return live ? [{ zone: key, version: live.version, serial: live.index.serial, role: secondaries.has(key) ? 'secondary' as const : 'primary' as const }] : [];
    });
    /** A revert through the zone's writer, so it queues behind updates and goes out by NOTIFY and IXFR. */
    const revert = async (zone: string, serial: number, actor: Actor, note?: string) => {
      if (secondaries.has(zone)) {
        const from = zoneConfigs.get(zone)!.primaries.map((p) => `${p.address}:${p.port}`).join(', ');
        throw new HistoryError(409, 'secondary-zone', `zone ${zone} is a secondary of ${from}: only its primary can change it; revert it there`);
      }
      const w = writers.get(zone);
      if (!w) throw new HistoryError(409, 'not-served', `zone ${zone} is in the store but not served here; use zonelog revert --store, or serve the zone`);
      const target = await zoneAsOf(store, zone, { serial });
      const d = await w.revert(target.zone, serial, actor, note);
      if (d.kind === 'unchanged') return { status: 200, body: { zone, unchanged: true, serial: d.serial } };
      if (d.kind !== 'change') throw new HistoryError(409, 'refused', `zone ${zone}: revert refused: ${d.kind === 'refused' ? d.reason : d.kind}`);
      return { status: 201, body: { zone, revertTo: serial, serialFrom: d.serialFrom, serialTo: d.serialTo, version: projection.get(zone)?.version ?? null, removed: d.removed, added: d.added } };
    };
    // History reads run on a thread of their own (an in-memory SQLite store has no second connection).
    const reader = cfg.http && cfg.store !== 'sqlite::memory:' ? startHistoryReader(cfg.store) : null;
    if (reader) closers.push(() => reader.close());
    if (cfg.http) {
      const h: http.Server = await listenHttp(cfg.http, registry, async () => {
        const out: Record<string, { serial: number; version: number; pendingUpdates: number }> = {};
        for (const [k, live] of zones) out[k] = { serial: live.index.serial, version: live.version, pendingUpdates: writers.get(k)?.pending ?? 0 };
        await store.head(cfg.zones[0] ? nameKey(cfg.zones[0].name) : '.');
        return { ok: true, store: store.kind, queryThreads: threads.length, zones: out, secondaryChecks: { limit: cfg.transfersIn, queued: limiter.queued, peak: limiter.peak } };
      }, { reload, zones: () => zoneStatus(), addZone, removeZone }, historyRoutes({ store, zones: servedZones, revert }, reader?.reader));
      closers.push(() => new Promise<void>((r) => {
        h.close(() => r());
        h.closeAllConnections();
      }));
    }
    const zoneStatus = (): unknown[] => cfg.zones.map((z) => {
      const sec = secondaries.get(nameKey(z.name));
      if (sec) return sec.status();
      const live = projection.get(nameKey(z.name));
      return { zone: z.name, role: 'primary', serial: live?.index.serial ?? null, state: 'fresh', version: live?.version ?? null };
    });
    for (const sec of secondaries.values()) sec.start();
    closers.push(() => {
      for (const sec of secondaries.values()) sec.stop();
    });
    compact();
    // Answers for every name's own types are compiled in the background, a slice at a time.
    for (const [zone, live] of zones) {
      const t0 = performance.now();
      void responder.warm(live).then((n) => log.info({ zone, answers: n, ms: Math.round(performance.now() - t0) }, 'answers compiled'));
    }
    log.info({
      listen: cfg.listen.map((e) => `${e.address}:${e.port}`), http: cfg.http ? `${cfg.http.address}:${cfg.http.port}` : null, store: store.kind,
      zones: [...zones].map(([k, z]) => ({ zone: k, serial: z.index.serial, version: z.version })), queryThreads: threads.length,
      udpIo: udp[0]?.io ?? null, ...(udp[0]?.io === 'dgram' && cfg.udpIo === 'auto' ? { udpIoWhy: batchedUdpUnavailable() } : {}),
    }, 'serving');
    return { config: cfg, reload, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

