#!/usr/bin/env node
// The zonelog command: check, import, export and history of zones kept as events.

import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { nameKey, parseName, type Name } from '../shared/dns/name.ts';
import { WireError } from '../shared/dns/errors.ts';
import type { StoredEvent } from '../shared/events/types.ts';
import { makeLogger } from '../shared/log.ts';
import { progress } from '../shared/progress.ts';
import { openStore } from '../shared/store/open.ts';
import { ConcurrencyError, type EventStore } from '../shared/store/port.ts';
import { zoneSnapshot } from '../shared/store/rows.ts';
import { loadZoneFile } from '../shared/zone/load.ts';
import { formatIssue } from '../shared/zone/parser.ts';
import { printZone } from '../shared/zone/printer.ts';
import { recordCount } from '../shared/zone/zone.ts';
import { printableAsOf } from '../services/projector/asof-lines.ts';
import { materialize, materializeZone, NotFound, type AsOf } from '../services/projector/materialize.ts';
import { decideReload } from '../services/primary/reload.ts';
import { ConfigError, loadConfig } from '../services/config/load.ts';
import type { ServerConfig } from '../services/config/types.ts';
import { serve, StartupError } from '../services/serve.ts';
import { needsChecking } from '../services/secondary/secondary.ts';
import type { SerialPolicy } from '../services/config/types.ts';
import {
  auditEvents, blame, decideRevert, diffSerials, getChange, HistoryError, isTransferredZone, knownZone, listChanges, nameIn, parseLimit, parseSerial,
  parseType, parseVersion, summarize, zoneAsOf, type ChangeFilterText, type ChangeSummary,
} from '../services/history/history.ts';

const USAGE = `usage: zonelog <command> [options]

  check FILE [--origin NAME]                    validate a zone file; exit 1 with file:line: reason
  import --zone NAME FILE [--store URL]         create the zone, or append the file's difference as a reload
  export --zone NAME [--serial N | --at TIME | --version N] [--canonical] [--store URL]
                                                the zone as a master file on stdout
  history --zone NAME [filters] [--limit N] [--json] [--store URL]
                                                one line per change, oldest first: serial from->to, time, cause, actor, -/+
                                                filters: --name NAME [--subtree] --type TYPE --since TIME --until TIME
                                                         --key KEY --address ADDR --peer HOST:PORT --user NAME --cause CAUSE
  show --zone NAME --version N [--json]         one change in full: its SOA step and the records removed (-) and added (+)
  diff --zone NAME --from SERIAL [--to SERIAL] [--json]
                                                the condensed difference between two serials (--to: the current one)
  blame --zone NAME --name OWNER [--type TYPE] [--json]
                                                every change that touched OWNER (and TYPE), with who made it
  revert --zone NAME --serial N [--note TEXT] [--config FILE] [--store URL]
                                                return the zone to serial N as one new change (cause revert); a running
                                                server picks it up and tells its secondaries. Refused for a secondary zone
  audit [--zone NAME] [filters] [--store URL]   every matching event as NDJSON, oldest first, for a SIEM
  storage [--json] [--store URL]                events, snapshots and index rows each zone keeps, and their size
  snapshot --zone NAME [--store URL]            save a snapshot of the zone's current version
  demo [--store URL]                            import examples/*.zone and show their history
  serve --config FILE                           answer queries and dynamic updates for the configured zones
                                                (SIGHUP re-reads the config's zone list and the zone files; SIGTERM stops)
  status --config FILE [--json]                 each zone of a running server: role, serial, state, last
                                                and next check (from its http listener's GET /zones)

  --store URL   sqlite:PATH (the embedded default, sqlite:data/zonelog.db) or postgres://...
                (also from ZONELOG_STORE)
  --user NAME   import, revert: who is acting, recorded in the event (default: the login name);
                history, audit: only the changes that user made
  --quiet       no progress display`;

class UsageError extends Error {}

const options = {
  origin: { type: 'string' },
  zone: { type: 'string' },
  store: { type: 'string' },
  serial: { type: 'string' },
  at: { type: 'string' },
  version: { type: 'string' },
  canonical: { type: 'boolean' },
  json: { type: 'boolean' },
  user: { type: 'string' },
  note: { type: 'string' },
  quiet: { type: 'boolean' },
  config: { type: 'string' },
  name: { type: 'string' },
  subtree: { type: 'boolean' },
  type: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  key: { type: 'string' },
  address: { type: 'string' },
  peer: { type: 'string' },
  cause: { type: 'string' },
  limit: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Opts = { [K in keyof typeof options]?: (typeof options)[K]['type'] extends 'boolean' ? boolean : string };

function storeUrl(o: Opts): string {
  return o.store ?? process.env.ZONELOG_STORE ?? 'sqlite:data/zonelog.db';
}

function zoneArg(o: Opts): Name {
  if (!o.zone) throw new UsageError('--zone NAME is required');
  try {
    return nameKey(parseName(o.zone.endsWith('.') ? o.zone : o.zone + '.'));
  } catch (e) {
    throw new UsageError(`--zone ${o.zone}: ${(e as Error).message}`);
  }
}

function originFor(file: string, o: Opts): Name {
  const text = o.origin ?? o.zone ?? basename(file).replace(/\.(zone|db|txt)$/i, '');
  try {
    return parseName(text.endsWith('.') ? text : text + '.');
  } catch (e) {
    throw new UsageError(`origin ${text}: ${(e as Error).message}`);
  }
}

function actorUser(o: Opts): string {
  if (o.user) return o.user;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function load(file: string, origin: Name, quiet = true) {
  const p = progress(`reading ${file}`, undefined, process.stderr, quiet);
  const r = loadZoneFile(file, { origin, onRecord: () => p.tick() });
  p.done();
  for (const e of r.errors) process.stderr.write(`${formatIssue(e)}\n`);
  for (const w of r.warnings) process.stderr.write(`${formatIssue(w)} (warning)\n`);
  return r;
}

async function cmdCheck(args: string[], o: Opts): Promise<number> {
  if (args.length !== 1) throw new UsageError('check takes one FILE');
  const origin = originFor(args[0], o);
  const r = load(args[0], origin);
  if (r.errors.length > 0) {
    process.stderr.write(`zone ${origin}: ${r.errors.length} error(s); not loaded\n`);
    return 1;
  }
  process.stdout.write(`zone ${origin}: loaded, ${recordCount(r.zone)} records${r.warnings.length ? `, ${r.warnings.length} warning(s)` : ''}\n`);
  return 0;
}

async function withStore<T>(o: Opts, fn: (s: EventStore) => Promise<T>): Promise<T> {
  const store = await openStore(storeUrl(o));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function importFile(store: EventStore, zone: Name, file: string, o: Opts): Promise<number> {
  const log = makeLogger('zonelog');
  const r = load(file, originFor(file, { ...o, origin: o.origin ?? zone }), o.quiet ?? false);
  if (r.errors.length > 0) {
    process.stderr.write(`zone ${zone}: ${r.errors.length} error(s) in ${file}; the store is unchanged\n`);
    return 1;
  }
  const actor = { user: actorUser(o) };
  // Another writer may append between our read and our append: decide again on a conflict.
  for (let attempt = 1; ; attempt++) {
    const head = await store.head(zone);
    const replaying = head && head.version > 1000 && !o.quiet ? progress(`replaying ${zone}`, head.version) : null;
    const current = head ? await materialize(store, zone, { version: head.version }, { onEvent: () => replaying?.tick() }) : null;
    replaying?.done();
    let lastFileSerial: number | undefined;
    if (head) for await (const e of store.readZone(zone, head.version, head.version)) if (e.type === 'ZoneChanged') lastFileSerial = e.data.fileSerial;
    const d = decideReload(current?.index.zone ?? null, r.zone, actor, { lastFileSerial });
    try {
      switch (d.kind) {
        case 'refused':
          process.stderr.write(`${file}: ${d.reason}; the store is unchanged\n`);
          log.warn({ zone, file, reason: d.reason }, 'reload refused');
          return 1;
        case 'unchanged':
          process.stdout.write(`zone ${zone}: no change (serial ${d.serial})\n`);
          return 0;
        case 'create': {
          const res = await store.append(zone, [d.event], 'no-zone');
          log.info({ zone, serial: d.serial, records: recordCount(r.zone), version: res.version, cause: 'import', actor }, 'zone created');
          process.stdout.write(`zone ${zone}: created at serial ${d.serial} with ${recordCount(r.zone)} records\n`);
          return 0;
        }
        case 'change': {
          const res = await store.append(zone, [d.event], head!.version);
          log.info({ zone, serialFrom: d.serialFrom, serialTo: d.serialTo, removed: d.removed, added: d.added, version: res.version, cause: 'reload', actor }, 'zone reloaded');
          if (d.bumped) process.stderr.write(`${file}: data changed but the serial did not; stored as serial ${d.serialTo}\n`);
          process.stdout.write(`zone ${zone}: serial ${d.serialFrom} -> ${d.serialTo}, -${d.removed} +${d.added}\n`);
          return 0;
        }
      }
    } catch (e) {
      if (e instanceof ConcurrencyError && attempt < 5) continue;
      throw e;
    }
  }
}

async function cmdImport(args: string[], o: Opts): Promise<number> {
  if (args.length !== 1) throw new UsageError('import takes one FILE');
  const zone = zoneArg(o);
  if (o.origin !== undefined && nameKey(originFor(args[0], o)) !== zone) throw new UsageError(`--origin ${o.origin} differs from --zone ${o.zone}: a zone file is imported as the zone it describes`);
  return withStore(o, (store) => importFile(store, zone, args[0], o));
}

function asOf(o: Opts): AsOf {
  const given = [o.serial, o.at, o.version].filter((x) => x !== undefined).length;
  if (given > 1) throw new UsageError('give at most one of --serial, --at, --version');
  if (o.serial !== undefined) {
    if (!/^\d+$/.test(o.serial) || Number(o.serial) > 0xffffffff) throw new UsageError(`--serial ${o.serial} is not a serial`);
    return { serial: Number(o.serial) };
  }
  if (o.version !== undefined) {
    if (!/^\d+$/.test(o.version)) throw new UsageError(`--version ${o.version} is not a number`);
    return { version: Number(o.version) };
  }
  if (o.at !== undefined) {
    const t = new Date(o.at);
    if (Number.isNaN(t.getTime())) throw new UsageError(`--at ${o.at} is not a time (use ISO 8601, e.g. 2026-11-22T10:00:00Z)`);
    return { time: t.toISOString() };
  }
  return 'head';
}

async function cmdExport(args: string[], o: Opts): Promise<number> {
  if (args.length !== 0) throw new UsageError('export takes no FILE; it writes to stdout');
  const zone = zoneArg(o);
  const at = asOf(o);
  return withStore(o, async (store) => {
    const head = await store.head(zone);
    const p = head && head.version > 1000 && !o.quiet ? progress(`replaying ${zone}`, undefined) : null;
    const onEvent = (): void => p?.tick();
    if (o.canonical) {
      // Printed and dropped: the snapshot may load as views (see materializeZone).
      const m = await materializeZone(store, zone, at, { onEvent, snapshotViews: true });
      p?.done();
      process.stdout.write(printZone(m.zone, { canonical: true }));
      return 0;
    }
    const z = await printableAsOf(store, zone, at, { onEvent });
    p?.done();
    for (const b of z.lineBatches()) if (!process.stdout.write(b.join('\n') + '\n')) await new Promise((r) => process.stdout.once('drain', r));
    return 0;
  });
}

function actorText(a: StoredEvent['data']['actor']): string {
  const parts: string[] = [];
  if (a.key) parts.push(`key ${a.key}`);
  if (a.address) parts.push(a.port ? `${a.address}#${a.port}` : a.address);
  if (a.peer) parts.push(`peer ${a.peer}`);
  if (a.user) parts.push(`user ${a.user}`);
  return parts.join(' ') || '-';
}

export function historyLine(e: StoredEvent): string {
  if (e.type === 'ZoneCreated') {
    return `${'-'.padStart(10)} -> ${String(e.data.serial).padEnd(10)}  ${e.time}  ${'create/' + e.data.cause}  ${actorText(e.data.actor)}  +${e.data.records.length + 1}`;
  }
  const d = e.data;
  return `${String(d.serialFrom).padStart(10)} -> ${String(d.serialTo).padEnd(10)}  ${e.time}  ${d.cause}  ${actorText(d.actor)}  -${d.removed.length} +${d.added.length}`;
}

function filterText(o: Opts, zone?: Name): ChangeFilterText {
  return {
    zone, name: o.name, subtree: o.subtree, type: o.type, since: o.since, until: o.until,
    key: o.key, address: o.address, peer: o.peer, user: o.user, cause: o.cause,
  };
}

function summaryJson(c: ChangeSummary): string {
  return JSON.stringify(c);
}

function summaryLine(c: ChangeSummary): string {
  const from = c.serialFrom === null ? '-' : String(c.serialFrom);
  const cause = c.type === 'ZoneCreated' ? `create/${c.cause}` : c.revertTo !== undefined ? `revert(to ${c.revertTo})` : c.cause;
  return `${String(c.version).padStart(7)}  ${from.padStart(10)} -> ${String(c.serialTo).padEnd(10)}  ${c.time}  ${cause}  ${actorText(c.actor)}  -${c.removed} +${c.added}`;
}

async function cmdHistory(args: string[], o: Opts): Promise<number> {
  if (args.length !== 0) throw new UsageError('history takes no FILE');
  const zone = zoneArg(o);
  return withStore(o, async (store) => {
    let changes: AsyncIterable<ChangeSummary>;
    if (o.limit !== undefined) {
      const page = await listChanges(store, filterText(o, zone), parseLimit(o.limit, 50, 1000));
      changes = (async function* () {
        yield* page.changes.reverse();
      })();
    } else {
      const events = auditEvents(store, filterText(o, zone));
      changes = (async function* () {
        for await (const e of events) yield summarize(e);
      })();
    }
    for await (const c of changes) process.stdout.write((o.json ? summaryJson(c) : summaryLine(c)) + '\n');
    return 0;
  });
}

async function cmdShow(args: string[], o: Opts): Promise<number> {
  if (args.length !== 0) throw new UsageError('show takes no FILE');
  const zone = zoneArg(o);
  if (o.version === undefined) throw new UsageError('show needs --version N (the first column of zonelog history)');
  return withStore(o, async (store) => {
    await knownZone(store, zone);
    const c = await getChange(store, zone, parseVersion(o.version!, '--version'));
    if (o.json) {
      process.stdout.write(JSON.stringify(c, null, 2) + '\n');
      return 0;
    }
    process.stdout.write(`; ${summaryLine(c).trim()}\n`);
    if (c.note) process.stdout.write(`; note: ${c.note}\n`);
    if (c.soaFrom) process.stdout.write(`- ${c.soaFrom}\n`);
    process.stdout.write(`+ ${c.soaTo}\n`);
    for (const l of c.removedRecords) process.stdout.write(`- ${l}\n`);
    for (const l of c.addedRecords) if (l !== c.soaTo) process.stdout.write(`+ ${l}\n`);
    return 0;
  });
}

async function cmdDiff(args: string[], o: Opts): Promise<number> {
  if (args.length !== 0) throw new UsageError('diff takes no FILE');
  const zone = zoneArg(o);
  if (o.from === undefined) throw new UsageError('diff needs --from SERIAL');
  return withStore(o, async (store) => {
    await knownZone(store, zone);
    const d = await diffSerials(store, zone, parseSerial(o.from!, '--from'), o.to === undefined ? undefined : parseSerial(o.to, '--to'));
    if (o.json) {
      process.stdout.write(JSON.stringify(d, null, 2) + '\n');
      return 0;
    }
    process.stdout.write(`; zone ${zone}: serial ${d.from} -> ${d.to}, -${d.removed.length} +${d.added.length}\n- ${d.soaFrom}\n+ ${d.soaTo}\n`);
    for (const l of d.removed) process.stdout.write(`- ${l}\n`);
    for (const l of d.added) process.stdout.write(`+ ${l}\n`);
    return 0;
  });
}

async function cmdBlame(args: string[], o: Opts): Promise<number> {
  if (args.length !== 0) throw new UsageError('blame takes no FILE');
  const zone = zoneArg(o);
  if (o.name === undefined) throw new UsageError('blame needs --name OWNER');
  return withStore(o, async (store) => {
    await knownZone(store, zone);
    const name = nameIn(zone, o.name!);
    const entries = await blame(store, zone, name, o.type === undefined ? undefined : parseType(o.type));
    for (const b of entries) {
      if (o.json) {
        process.stdout.write(JSON.stringify(b) + '\n');
        continue;
      }
      process.stdout.write(summaryLine(b) + '\n');
      for (const l of b.removedRecords) process.stdout.write(`    - ${l}\n`);
      for (const l of b.addedRecords) process.stdout.write(`    + ${l}\n`);
    }
    if (!o.json && entries.length === 0) process.stderr.write(`no change in zone ${zone} touched ${name}${o.type ? ` ${o.type.toUpperCase()}` : ''}\n`);
    return 0;
  });
}

async function cmdRevert(args: string[], o: Opts): Promise<number> {
  if (args.length !== 0) throw new UsageError('revert takes no FILE');
  const zone = zoneArg(o);
  if (o.serial === undefined) throw new UsageError('revert needs --serial N: the serial to return the zone to');
  const serial = parseSerial(o.serial, '--serial');
  let policy: SerialPolicy = 'increment';
  if (o.config) {
    const cfg = configOf(o, 'revert');
    if (!cfg) return 2;
    const zc = cfg.zones.find((z) => nameKey(z.name) === zone);
    if (zc?.primaries.length) throw new HistoryError(409, 'secondary-zone', `zone ${zone} is a secondary in ${cfg.source}: only its primary can change it; revert it there`);
    if (zc) policy = zc.serialPolicy;
    if (o.store === undefined && !process.env.ZONELOG_STORE) o = { ...o, store: cfg.store };
  }
  const log = makeLogger('zonelog');
  const actor = { user: actorUser(o) };
  return withStore(o, async (store) => {
    await knownZone(store, zone);
    if (await isTransferredZone(store, zone)) throw new HistoryError(409, 'secondary-zone', `zone ${zone} is a secondary's copy (its changes come by transfer): only its primary can change it; revert it there`);
    const target = await zoneAsOf(store, zone, { serial });
    for (let attempt = 1; ; attempt++) {
      const head = (await store.head(zone))!;
      const current = await zoneAsOf(store, zone, { version: head.version });
      const d = decideRevert(current.zone, target.zone, serial, policy, actor, new Date(), o.note);
      if (d.kind === 'unchanged') {
        process.stdout.write(`zone ${zone}: already as at serial ${serial} (serial ${d.serial}); nothing to revert\n`);
        return 0;
      }
      try {
        const res = await store.append(zone, [d.event], head.version);
        log.info({ zone, serialFrom: d.serialFrom, serialTo: d.serialTo, revertTo: serial, removed: d.removed, added: d.added, version: res.version, cause: 'revert', actor }, 'zone reverted');
        process.stdout.write(`zone ${zone}: reverted to serial ${serial} as serial ${d.serialFrom} -> ${d.serialTo}, -${d.removed} +${d.added} (version ${res.version})\n`);
        return 0;
      } catch (e) {
        if (e instanceof ConcurrencyError && attempt < 5) continue;
        throw e;
      }
    }
  });
}

async function cmdAudit(args: string[], o: Opts): Promise<number> {
  if (args.length !== 0) throw new UsageError('audit takes no FILE; it writes NDJSON to stdout');
  const zone = o.zone === undefined ? undefined : zoneArg(o);
  return withStore(o, async (store) => {
    for await (const e of auditEvents(store, filterText(o, zone))) {
      if (!process.stdout.write(JSON.stringify(e) + '\n')) await new Promise((r) => process.stdout.once('drain', r));
    }
    return 0;
  });
}

function bytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

async function cmdStorage(args: string[], o: Opts): Promise<number> {
  if (args.length !== 0) throw new UsageError('storage takes no FILE');
  return withStore(o, async (store) => {
    const zones = await store.storage();
    if (o.json) {
      process.stdout.write(JSON.stringify(zones, null, 2) + '\n');
      return 0;
    }
    for (const z of zones) {
      process.stdout.write(`${z.zone}  serial ${z.serial}  ${z.events} events (${bytes(z.eventBytes)})  ${z.snapshots} snapshots (${bytes(z.snapshotBytes)})  ${z.indexRows} index rows  ${z.firstTime ?? '-'} .. ${z.lastTime ?? '-'}\n`);
    }
    return 0;
  });
}

async function cmdSnapshot(args: string[], o: Opts): Promise<number> {
  if (args.length !== 0) throw new UsageError('snapshot takes no FILE');
  const zone = zoneArg(o);
  return withStore(o, async (store) => {
    const m = await materialize(store, zone);
    await store.saveSnapshot(zoneSnapshot(m.index.zone, m.version));
    process.stdout.write(`zone ${zone}: snapshot at version ${m.version} (serial ${m.index.serial})\n`);
    return 0;
  });
}

async function cmdDemo(o: Opts): Promise<number> {
  const dir = join(import.meta.dirname, '..', 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.zone')).sort();
  process.stdout.write(`store ${storeUrl(o)}\n`);
  return withStore(o, async (store) => {
    for (const f of files) {
      const zone = nameKey(originFor(f, {}));
      const rc = await importFile(store, zone, join(dir, f), o);
      if (rc !== 0) return rc;
      for await (const e of store.readZone(zone)) process.stdout.write(`  ${historyLine(e)}\n`);
    }
    process.stdout.write('edit a file under examples/ and run npm start again: the difference is stored as a reload event.\n');
    return 0;
  });
}

/** The configuration --config names, or null after printing why it was refused (exit 2). */
function configOf(o: Opts, cmd: string): ServerConfig | null {
  if (!o.config) throw new UsageError(`${cmd} needs --config FILE`);
  try {
    return loadConfig(o.config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`zonelog: ${e.message}\n`);
    return null;
  }
}

async function cmdServe(o: Opts): Promise<number> {
  const cfg = configOf(o, 'serve');
  if (!cfg) return 2;
  const log = makeLogger('zonelog', { level: process.env.ZONELOG_LOG_LEVEL ?? cfg.logLevel, sync: false });
  let server;
  try {
    server = await serve(cfg, log);
  } catch (e) {
    if (!(e instanceof StartupError) && !(e instanceof NotFound)) throw e;
    process.stderr.write(`zonelog: ${e.message}\n`);
    log.error({ reason: e.message }, 'not started');
    log.flush();
    return 1;
  }
  process.on('SIGHUP', () => void server.reload('SIGHUP'));
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'stopping');
  await server.stop();
  log.info({}, 'stopped');
  log.flush();
  return 0;
}

interface ZoneStatusLine {
  zone: string;
  role: string;
  serial: number | null;
  state: string;
  lastSuccess?: string | null;
  nextCheck?: string | null;
  lastError?: string | null;
}

async function cmdStatus(o: Opts): Promise<number> {
  const cfg = configOf(o, 'status');
  if (!cfg) return 2;
  if (!cfg.http) {
    process.stderr.write(`zonelog: ${cfg.source} has no http listener to ask\n`);
    return 2;
  }
  const host = cfg.http.address.includes(':') ? `[${cfg.http.address}]` : cfg.http.address;
  let zones: ZoneStatusLine[];
  try {
    zones = (await (await fetch(`http://${host}:${cfg.http.port}/zones`)).json()) as ZoneStatusLine[];
  } catch (e) {
    process.stderr.write(`zonelog: no answer from http://${host}:${cfg.http.port}/zones: ${(e as Error).message}\n`);
    return 1;
  }
  if (o.json) {
    process.stdout.write(JSON.stringify(zones, null, 2) + '\n');
  } else {
    const bad = zones.filter(needsChecking);
    const secondaries = zones.filter((z) => z.role === 'secondary');
    process.stdout.write(`${secondaries.length === 0 ? 'No secondary zones' : bad.length === 0 ? `All ${secondaries.length} secondary zone${secondaries.length === 1 ? ' is' : 's are'} fresh` : `${bad.length} zone${bad.length === 1 ? ' needs' : 's need'} checking`}.\n`);
    for (const z of zones) {
      const extra = z.role === 'secondary' ? `  last ok ${z.lastSuccess ?? 'never'}  next ${z.nextCheck ?? '-'}${z.lastError ? `  error: ${z.lastError}` : ''}` : '';
      process.stdout.write(`${z.zone}  ${z.role}  serial ${z.serial ?? '-'}  ${z.state}${extra}\n`);
    }
  }
  return zones.some((z) => z.state === 'expired') ? 1 : 0;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [cmd, ...args] = parsed.positionals;
  const o = parsed.values as Opts;
  if (o.help || !cmd) {
    process.stdout.write(USAGE + '\n');
    return cmd || o.help ? 0 : 2;
  }
  try {
    switch (cmd) {
      case 'check': return await cmdCheck(args, o);
      case 'import': return await cmdImport(args, o);
      case 'export': return await cmdExport(args, o);
      case 'history': return await cmdHistory(args, o);
      case 'show': return await cmdShow(args, o);
      case 'diff': return await cmdDiff(args, o);
      case 'blame': return await cmdBlame(args, o);
      case 'revert': return await cmdRevert(args, o);
      case 'audit': return await cmdAudit(args, o);
      case 'storage': return await cmdStorage(args, o);
      case 'snapshot': return await cmdSnapshot(args, o);
      case 'demo': return await cmdDemo(o);
      case 'serve': return await cmdServe(o);
      case 'status': return await cmdStatus(o);
      default: throw new UsageError(`unknown command ${cmd}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`zonelog: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    // A value the options could not take (a time that is not one, a bad type) is a usage
    // mistake, as the options parser's own are; what the store lacks or refuses is a failure.
    if ((e instanceof HistoryError && (e.code === 'bad-time' || e.code === 'bad-parameter')) || e instanceof RangeError) {
      process.stderr.write(`zonelog: ${e.message}\n`);
      return 2;
    }
    if (e instanceof NotFound || e instanceof WireError || e instanceof ConcurrencyError || e instanceof HistoryError) {
      process.stderr.write(`zonelog: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) {
  if (Number(process.versions.node.split('.')[0]) < 24) {
    process.stderr.write(`zonelog needs Node 24; this is ${process.version}. Use npx zonelog or npm run zonelog, which run the project's own Node 24.\n`);
    process.exit(1);
  }
  process.exitCode = await main(process.argv.slice(2));
}
