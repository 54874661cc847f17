// History benchmark (`npm run bench:history`, issue 6): the 100k-host zone (bench/peers/gen_zone.py)
// with 1,000,000 DHCP/AD-style changes in the embedded store, read back through a real `zonelog serve`:
//   - as-of a random serial (GET /api/v1/zones/Z/as-of): p50, p99 and max over --samples serials
//     spread over the whole history, and `zonelog export --serial N` for a few of them;
//   - blame for one name (GET /api/v1/zones/Z/blame): busy, middling and quiet names;
//   - the changes list's first page, unfiltered and by key;
//   - the history page's first load in headless Chromium, until the first change row is drawn.
// Targets (issue 6): as-of under 1 s, blame under 200 ms. BIND keeps no history, so there is no
// as-of to compare with; beside it stands the closest whole-zone read BIND has, a
// `named-checkzone -D` dump of the same zone file, labelled as what it is.
//
// The store is built once per parameter set (ZoneCreated, then the changes appended in large
// batches, a snapshot every `snapshot-every` versions as the server takes them) and cached under
// the bench data directory; reruns skip the build.
//
//   node bench/history.ts [--events 1000000] [--samples 50] [--batch 5000] [--rebuild] [--build-only]
//                         [--skip-browser] [--quick] [--dir DIR]
//
// Only loopback; every loop is bounded in count and time. Run it alone on the machine.

import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseSync } from 'node:sqlite';
import { Class, Type } from '../shared/dns/constants.ts';
import type { RR } from '../shared/dns/message.ts';
import { nameKey } from '../shared/dns/name.ts';
import { snapshotRecords, zoneChanged } from '../shared/events/codec.ts';
import type { Actor, ChangeCause, NewEvent, Snapshot } from '../shared/events/types.ts';
import { progress } from '../shared/progress.ts';
import { openStore } from '../shared/store/open.ts';
import { SqliteStore } from '../shared/store/sqlite.ts';
import { applyChangeset } from '../shared/zone/changeset.ts';
import { loadZoneFile } from '../shared/zone/load.ts';
import { parseRecordLine } from '../shared/zone/parser.ts';
import { rng } from '../test/support/rng.ts';
import { getRRset, recordCount, soaOf, withSerial, type Zone } from '../shared/zone/zone.ts';
import { parseConfig } from '../services/config/load.ts';
import { evolveZone } from '../services/projector/evolve.ts';
import { OrderedOverlay } from '../services/projector/asof-lines.ts';
import { zoneLineBatches } from '../shared/zone/printer.ts';
import { replayZone, resolveVersion } from '../services/projector/materialize.ts';
import { decideReload } from '../services/primary/reload.ts';
import { startZonelog, type ServerHandle } from '../test/support/server.ts';
import { benchZone } from './zone.ts';

const ZONE = 'bench.test.';
const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const BIN = fileURLToPath(new URL('../bin/zonelog.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const STORE_SRC = fileURLToPath(new URL('../shared/store/', import.meta.url));
/**
 * Bumped whenever what the build writes changes, so a cached store is never reused across it.
 * (1 added a PTR at every renewal and a DHCID at every grant, and the zone doubled over the
 * history; since 2 it stays near its imported size. 2 saved text snapshots; since 3 they are in
 * wire form, as the server saves them since d20ac63; since 4 in print order, as the server saves them.)
 */
const GENERATOR = 4;
const KEYS = { dhcp1: 'dhcp1-key.', dhcp2: 'dhcp2-key.', ad: 'ad-dc-key.' } as const;
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const { values: opt } = parseArgs({
  options: {
    events: { type: 'string' },
    hosts: { type: 'string' },
    samples: { type: 'string' },
    batch: { type: 'string' },
    rebuild: { type: 'boolean', default: false },
    'build-only': { type: 'boolean', default: false },
    'skip-browser': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    dir: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log('usage: node bench/history.ts [--events 1000000] [--hosts 100000] [--samples 50] [--batch 5000] [--rebuild] [--build-only] [--skip-browser] [--quick] [--dir DIR]');
  process.exit(0);
}
const quick = opt.quick;
const EVENTS = Number(opt.events ?? (quick ? 20_000 : 1_000_000));
const HOSTS = Number(opt.hosts ?? 100_000);
const SAMPLES = Number(opt.samples ?? (quick ? 10 : 50));
const BATCH = Number(opt.batch ?? 5000);
const DIR = opt.dir ?? process.env.BENCH_DIR ?? join(tmpdir(), 'zonelog-bench');
for (const [k, v] of Object.entries({ events: EVENTS, hosts: HOSTS, samples: SAMPLES, batch: BATCH })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
}
// The server's own defaults, read through its config loader rather than copied here.
const SERVER_DEFAULTS = parseConfig('listen: ["127.0.0.1:5300"]\nzones: [{ name: "defaults.test.", primaries: ["127.0.0.1:5301"] }]\n', 'defaults.yaml', tmpdir());
const SNAPSHOT_EVERY = SERVER_DEFAULTS.snapshotEvery;
/** Event times: about one change every 2.5 s, ending now (some 29 days for a million). */
const GAP_MS = 2500;

const log = (s: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const fmt = (n: number | undefined | null, d = 0): string => (n === undefined || n === null || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const load = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}


// ---------------------------------------------------------------- the churn

/** What the build knows about the history it wrote, kept beside the store. */
interface Meta {
  params: { events: number; hosts: number; snapshotEvery: number; batch: number; generator: number; schema: number };
  /** A hash of shared/store/*.ts when the store was built: a later adapter may index differently. */
  adapter: string;
  zoneFile: string;
  zoneFileBytes: number;
  records: { created: number; head: number };
  headVersion: number;
  headSerial: number;
  snapshots: number;
  firstTime: string;
  lastTime: string;
  causes: Record<string, number>;
  kinds: Record<string, number>;
  keys: Record<string, number>;
  build: { ms: number; eventsPerSec: number; generateMs: number; snapshotMs: number; appendMs: number; snapshotSaveWaitMs: number; loadavgAfter: number[]; appendMsPerTenth?: number[] };
  /** Names for blame, with how many stored events touch each (the ZoneCreated included when the name was in it). */
  blame: { name: string; why: string; events: number }[];
}

/**
 * DHCP/AD churn on a zone, one change at a time. Names are drawn with a skew (u²), so a few
 * laptops flap all day while most hosts change a handful of times. Each change is what a DHCP
 * server or a domain controller sends: a lease renewed at a new address (A and PTR replaced), a
 * lease granted (A, DHCID, PTR, sometimes an ISC-style TXT) or expired (all of them removed), the
 * TXT replaced, a DC registering or dropping a site SRV record; and now and then an operator's
 * reload of a static host.
 */
class Churn {
  readonly zone: Zone;
  readonly touched = new Map<string, number>();
  readonly kinds: Record<string, number> = {};
  private readonly rand: () => number;
  private readonly dynamic: string[];
  private readonly statics: string[];
  private readonly srv: string[];
  private readonly ttl = 1200;

  constructor(zone: Zone, seed: number) {
    this.zone = zone;
    this.rand = rng(seed);
    const dynamic: string[] = [];
    const statics: string[] = [];
    const srv: string[] = [];
    for (const node of zone.nodes.values()) {
      const first = node.name.split('.')[0];
      if (/^(ws|lap|voip)-/.test(first)) dynamic.push(node.name);
      else if (/^(srv|prn)-site/.test(first)) statics.push(node.name);
      else if (node.rrsets.has(Type.SRV) && node.name.includes('._sites.')) srv.push(node.name);
    }
    // A pool of names that come and go with their leases, one for every ten hosts.
    const pool = Math.max(1, Math.floor(dynamic.length / 10));
    for (let i = 0; i < pool; i++) dynamic.push(`dhcp-site-${String((i % 20) + 1).padStart(2, '0')}-${String(i).padStart(6, '0')}.${ZONE}`);
    // Shuffled, so the busy names are scattered over the sites and kinds of host.
    for (let i = dynamic.length - 1; i > 0; i--) {
      const j = Math.floor(this.rand() * (i + 1));
      [dynamic[i], dynamic[j]] = [dynamic[j], dynamic[i]];
    }
    this.dynamic = dynamic;
    this.statics = statics;
    this.srv = srv;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)];
  }

  private records(name: string, type: number): RR[] {
    const set = getRRset(this.zone, name, type);
    return set ? set.rdata.map((rdata) => ({ name: set.name, type: set.type, class: set.class, ttl: set.ttl, rdata })) : [];
  }

  private line(l: string): RR {
    return parseRecordLine(l, Class.IN);
  }

  private address(site: number): string {
    return `10.${200 + (site % 20)}.${Math.floor(this.rand() * 256)}.${1 + Math.floor(this.rand() * 254)}`;
  }

  private ptr(ip: string, host: string): RR {
    const [a, b, c, d] = ip.split('.');
    return this.line(`${d}.${c}.${b}.${a}.rev.${ZONE} ${this.ttl} IN PTR ${host}`);
  }

  private hex(octets: number): string {
    let s = '';
    for (let i = 0; i < octets; i++) s += Math.floor(this.rand() * 256).toString(16).padStart(2, '0');
    return s;
  }

  /** The PTR this host's address has, if a change of ours put it there. */
  private ptrOf(host: string): RR[] {
    const a = this.records(host, Type.A)[0];
    if (!a) return [];
    const ptr = this.ptr(Array.from(a.rdata).join('.'), host);
    return this.records(ptr.name, Type.PTR).some((r) => Buffer.compare(r.rdata, ptr.rdata) === 0) ? [ptr] : [];
  }

  /** The next change: records removed and added, who sent it and why. */
  next(): { removed: RR[]; added: RR[]; cause: ChangeCause; actor: Actor; owner: string } {
    const u = this.rand();
    if (u < 0.01) return this.reload();
    if (u < 0.04) return this.srvChange();
    const host = this.dynamic[Math.floor(this.dynamic.length * this.rand() ** 2)];
    const site = Number(/site-(\d\d)/.exec(host)?.[1] ?? 1);
    const server = site % 2 ? 1 : 2;
    // Most updates come from the two DHCP servers; some clients register their own A record, unsigned.
    const signed = this.rand() < 0.9;
    const a = this.records(host, Type.A);
    const ip = this.address(site);
    const actor: Actor = signed
      ? { key: server === 1 ? KEYS.dhcp1 : KEYS.dhcp2, address: `10.255.1.${server}`, port: 1024 + Math.floor(this.rand() * 64000) }
      : { address: a.length ? Array.from(a[0].rdata).join('.') : ip, port: 1024 + Math.floor(this.rand() * 64000) };
    const v = this.rand();
    const removed: RR[] = [];
    const added: RR[] = [];
    let kind: string;
    if (a.length === 0) {
      kind = 'grant';
      added.push(this.line(`${host} ${this.ttl} IN A ${ip}`));
      // A client new to the zone also gets its PTR, its DHCID and sometimes an ISC-style TXT;
      // a host of the imported zone gets back the A it had (the zone file gave it no PTR or DHCID).
      if (host.startsWith('dhcp-')) {
        added.push(this.ptr(ip, host), this.line(`${host} ${this.ttl} IN DHCID ${Buffer.from(this.hex(35), 'hex').toString('base64')}`));
        if (this.rand() < 0.3) added.push(this.line(`${host} ${this.ttl} IN TXT "31${this.hex(15)}"`));
      }
    } else if (v < 0.7) {
      kind = 'renew';
      const ptr = this.ptrOf(host);
      removed.push(...a, ...ptr);
      added.push(this.line(`${host} ${a[0].ttl} IN A ${ip}`));
      if (ptr.length) added.push(this.ptr(ip, host));
    } else if (v < 0.93) {
      kind = 'expire';
      removed.push(...a, ...this.ptrOf(host), ...this.records(host, Type.DHCID), ...this.records(host, Type.TXT));
    } else {
      kind = 'txt';
      removed.push(...this.records(host, Type.TXT));
      added.push(this.line(`${host} ${this.ttl} IN TXT "31${this.hex(15)}"`));
    }
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
    return { removed, added, cause: 'update', actor, owner: host };
  }

  /** A domain controller registers itself for a site, or drops a registration it no longer holds. */
  private srvChange(): { removed: RR[]; added: RR[]; cause: ChangeCause; actor: Actor; owner: string } {
    this.kinds.srv = (this.kinds.srv ?? 0) + 1;
    const name = this.pick(this.srv);
    const have = this.records(name, Type.SRV);
    const port = name.includes('_kerberos') ? 88 : name.includes('_gc') ? 3268 : 389;
    const dc = 1 + Math.floor(this.rand() * 10);
    const actor: Actor = { key: KEYS.ad, address: `10.254.0.${dc}`, port: 1024 + Math.floor(this.rand() * 64000) };
    const target = this.line(`${name} ${have[0]?.ttl ?? 3600} IN SRV 0 100 ${port} dc${String(dc).padStart(2, '0')}.${ZONE}`);
    const held = have.find((r) => Buffer.compare(r.rdata, target.rdata) === 0);
    if (held && have.length > 1) return { removed: [held], added: [], cause: 'update', actor, owner: name };
    if (held) {
      // The last registration of a site is moved to another DC, never dropped.
      const other = 1 + (dc % 10);
      return { removed: [held], added: [this.line(`${name} ${held.ttl} IN SRV 0 100 ${port} dc${String(other).padStart(2, '0')}.${ZONE}`)], cause: 'update', actor, owner: name };
    }
    return { removed: [], added: [target], cause: 'update', actor, owner: name };
  }

  /** An operator edits a static host's address in the zone file and reloads. */
  private reload(): { removed: RR[]; added: RR[]; cause: ChangeCause; actor: Actor; owner: string } {
    this.kinds.reload = (this.kinds.reload ?? 0) + 1;
    const host = this.pick(this.statics);
    const a = this.records(host, Type.A);
    const ip = `10.250.${Math.floor(this.rand() * 256)}.${1 + Math.floor(this.rand() * 254)}`;
    return { removed: a, added: [this.line(`${host} ${a[0]?.ttl ?? 3600} IN A ${ip}`)], cause: 'reload', actor: { user: 'zonelog serve (SIGHUP)' }, owner: host };
  }

  /** A host no change has touched: blame finds only its creation. */
  untouchedStatic(): string | undefined {
    return this.statics.find((n) => !this.touched.has(nameKey(n)));
  }
}

// ---------------------------------------------------------------- the store

/** The schema version the current SqliteStore writes, so a store built by an older adapter is rebuilt. */
async function storeSchema(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'zonelog-schema-'));
  try {
    const file = join(tmp, 's.db');
    await new SqliteStore(file).close();
    const db = new DatabaseSync(file);
    try {
      return Number(db.prepare('PRAGMA user_version').get()?.user_version ?? 0);
    } finally {
      db.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A hash of the store adapters' sources. */
function adapterHash(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(STORE_SRC).filter((f) => f.endsWith('.ts')).sort()) h.update(f).update(readFileSync(join(STORE_SRC, f)));
  return h.digest('hex').slice(0, 12);
}

function storeBytes(db: string): number {
  let n = 0;
  for (const f of [db, `${db}-wal`, `${db}-shm`]) if (existsSync(f)) n += statSync(f).size;
  return n;
}

async function build(dir: string, db: string, zoneFile: string, params: Meta['params']): Promise<Meta> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const r = loadZoneFile(zoneFile, { origin: ZONE });
  if (r.errors.length) throw new Error(`${zoneFile}: ${r.errors[0].reason}`);
  const zone = r.zone;
  const createdRecords = recordCount(zone);
  const gapMs = GAP_MS;
  const rand = rng(6);
  const start = Date.now() - EVENTS * gapMs - 60_000;
  const timeOf = (i: number): Date => new Date(start + i * gapMs + Math.floor(rand() * gapMs));
  const store = await openStore(`sqlite:${db}`);
  const causes: Record<string, number> = {};
  const keys: Record<string, number> = {};
  let generateMs = 0;
  let snapshotMs = 0;
  let appendMs = 0;
  let snapshotSaveWaitMs = 0;
  let snapshots = 0;
  const appendMsPerTenth: number[] = [];
  let firstTime = '';
  let lastTime = '';
  const churn = new Churn(zone, 6);
  try {
    const created = decideReload(null, zone, { user: 'bench' }, {}, timeOf(0));
    if (created.kind !== 'create') throw new Error(`import: ${created.kind}`);
    let version = (await store.append(ZONE, [created.event], 'no-zone')).version;
    firstTime = created.event.time;
    const p = progress(`building ${fmt(EVENTS)} changes`, EVENTS);
    const saving: Promise<void>[] = [];
    let batch: NewEvent[] = [];
    let snaps: Snapshot[] = [];
    let soa = soaOf(zone)!;
    for (let i = 1; i <= EVENTS; i++) {
      const g0 = performance.now();
      const c = churn.next();
      const soaTo = { ...soa, rdata: withSerial(soa.rdata, version + batch.length + 1) };
      const cs = { soaFrom: soa, soaTo, removed: c.removed, added: c.added };
      applyChangeset(zone, cs);
      soa = soaTo;
      const e = zoneChanged(cs, c.cause, c.actor, timeOf(i));
      batch.push(e);
      lastTime = e.time;
      const owner = nameKey(c.owner);
      churn.touched.set(owner, (churn.touched.get(owner) ?? 0) + 1);
      causes[c.cause] = (causes[c.cause] ?? 0) + 1;
      if (c.actor.key) keys[c.actor.key] = (keys[c.actor.key] ?? 0) + 1;
      const g1 = performance.now();
      generateMs += g1 - g0;
      const v = version + batch.length;
      // What Projection.snapshotDue saves once a zone is snapshotEvery versions past its last snapshot.
      if (v % SNAPSHOT_EVERY === 0) {
        snaps.push(snapshotRecords(zone, v, new Date(e.time)));
        snapshotMs += performance.now() - g1;
      }
      if (batch.length === BATCH || i === EVENTS) {
        const a0 = performance.now();
        version = (await store.append(ZONE, batch, version)).version;
        const took = performance.now() - a0;
        appendMs += took;
        // Append time by tenth of the build: does it grow with the store?
        const tenth = Math.min(9, Math.floor(((i - 1) * 10) / EVENTS));
        appendMsPerTenth[tenth] = (appendMsPerTenth[tenth] ?? 0) + took;
        p.tick(batch.length);
        batch = [];
        for (const s of snaps) {
          // At most two snapshots compressing at once: zlib runs beside the next batch.
          if (saving.length >= 2) {
            const w0 = performance.now();
            await saving.shift();
            snapshotSaveWaitMs += performance.now() - w0;
          }
          saving.push(store.saveSnapshot(s));
          snapshots++;
        }
        snaps = [];
      }
    }
    const w0 = performance.now();
    await Promise.all(saving);
    snapshotSaveWaitMs += performance.now() - w0;
    p.done();
    if (version !== EVENTS + 1) throw new Error(`the stream is at version ${version}, expected ${EVENTS + 1}`);
  } finally {
    await store.close();
  }
  const ms = performance.now() - t0;

  // Names for blame: the busiest, some middling, some touched once, one untouched, and a site SRV name.
  const ranked = [...churn.touched].filter(([n]) => !n.startsWith('_')).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const inCreated = (n: string): boolean => n.startsWith('dhcp-site-') === false;
  const blame: Meta['blame'] = [];
  const add = (name: string | undefined, why: string): void => {
    if (!name || blame.some((b) => b.name === name)) return;
    blame.push({ name, why, events: (churn.touched.get(name) ?? 0) + (inCreated(name) ? 1 : 0) });
  };
  for (const [n] of ranked.slice(0, 3)) add(n, 'busiest');
  const mid = Math.floor(ranked.length / 2);
  for (const [n] of ranked.slice(mid, mid + 3)) add(n, 'median');
  for (const [n] of ranked.filter(([, c]) => c === 1).slice(0, 2)) add(n, 'touched once');
  const still = churn.untouchedStatic();
  add(still && nameKey(still), 'never changed');
  const srv = [...churn.touched].filter(([n]) => n.startsWith('_')).sort((a, b) => b[1] - a[1])[0];
  add(srv?.[0], 'site SRV');

  const meta: Meta = {
    params, adapter: adapterHash(), zoneFile, zoneFileBytes: statSync(zoneFile).size,
    records: { created: createdRecords, head: recordCount(zone) },
    headVersion: EVENTS + 1, headSerial: EVENTS + 1, snapshots, firstTime, lastTime,
    causes, kinds: churn.kinds, keys,
    build: { ms, eventsPerSec: EVENTS / (ms / 1000), generateMs, snapshotMs, appendMs, snapshotSaveWaitMs, loadavgAfter: load(), appendMsPerTenth },
    blame,
  };
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
  return meta;
}

/** The cached store for these parameters, built if it is missing or incomplete. */
async function ensureStore(zoneFile: string): Promise<{ db: string; meta: Meta; built: boolean }> {
  const params: Meta['params'] = { events: EVENTS, hosts: HOSTS, snapshotEvery: SNAPSHOT_EVERY, batch: BATCH, generator: GENERATOR, schema: await storeSchema() };
  const dir = join(DIR, 'data', `history-h${HOSTS}-e${EVENTS}-every${SNAPSHOT_EVERY}-g${GENERATOR}-schema${params.schema}`);
  const db = join(dir, 'store.db');
  const metaFile = join(dir, 'meta.json');
  if (!opt.rebuild && existsSync(metaFile) && existsSync(db)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Meta;
    if (meta.zoneFileBytes === statSync(zoneFile).size) {
      log(`history store: reusing ${db} (built in ${fmt(meta.build.ms / 1000, 1)} s; --rebuild to build it again)`);
      if (meta.adapter !== adapterHash()) log('history store: note: shared/store has changed since it was built (same schema version); --rebuild if the change affects what is stored');
      return { db, meta, built: false };
    }
  }
  log(`history store: building ${db}: ${fmt(EVENTS)} changes in batches of ${fmt(BATCH)}, a snapshot every ${fmt(SNAPSHOT_EVERY)} versions (the server's snapshot-every default)`);
  const meta = await build(dir, db, zoneFile, params);
  return { db, meta, built: true };
}

// ---------------------------------------------------------------- where as-of spends its time

interface AsOfParts { serial: number; version: number; pastSnapshot: number; resolveMs: number; loadSnapshotMs: number; buildZoneMs: number; replayMs: number; linesMs: number; jsonMs: number; totalMs: number }

/** The steps of an as-of, timed one by one in this process on the same store (no HTTP). */
async function asOfParts(db: string, serials: number[]): Promise<AsOfParts[]> {
  const store = await openStore(`sqlite:${db}`);
  const out: AsOfParts[] = [];
  try {
    for (const serial of serials) {
      const t0 = performance.now();
      const version = await resolveVersion(store, ZONE, { serial });
      const t1 = performance.now();
      // The server's path (asof-lines.ts printableAsOf, then the as-of route's chunks): snapshot
      // rdata as views, the ordered snapshot's owners indexed (OrderedOverlay), the events replayed
      // onto the owners they touch, and the lines printed and serialized a batch at a time.
      const snap = await store.loadSnapshot(ZONE, version, { views: true });
      const t2 = performance.now();
      let t3: number;
      let batches: Iterable<string[]>;
      if (snap?.rrs && snap.ordered) {
        const overlay = new OrderedOverlay({ ...snap, rrs: snap.rrs });
        let zone: Zone = overlay.zone;
        t3 = performance.now();
        for await (const e of store.readZone(ZONE, snap.version + 1, version)) zone = evolveZone(zone, e, (c) => overlay.load(c));
        batches = overlay.lineBatches();
      } else {
        // Before the first snapshot: the whole zone, from ZoneCreated, and sorted to print.
        t3 = performance.now();
        batches = zoneLineBatches(await replayZone(store, ZONE, version, snap));
      }
      const t4 = performance.now();
      let linesMs = 0;
      let jsonMs = 0;
      let bytes = 0;
      let t = performance.now();
      for (const batch of batches) {
        const printed = performance.now();
        linesMs += printed - t;
        bytes += Buffer.byteLength(JSON.stringify(batch).slice(1, -1));
        t = performance.now();
        jsonMs += t - printed;
      }
      if (bytes === 0) throw new Error('empty');
      out.push({ serial, version, pastSnapshot: version - (snap?.version ?? 0), resolveMs: t1 - t0, loadSnapshotMs: t2 - t1, buildZoneMs: t3 - t2, replayMs: t4 - t3, linesMs, jsonMs, totalMs: t - t0 });
    }
  } finally {
    await store.close();
  }
  return out;
}

// ---------------------------------------------------------------- over HTTP

interface Fetched { status: number; ms: number; firstByteMs: number; bytes: number; text: string }

async function get(url: string, timeoutMs = 120_000): Promise<Fetched> {
  const t0 = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const firstByteMs = performance.now() - t0;
  const text = await res.text();
  return { status: res.status, ms: performance.now() - t0, firstByteMs, bytes: Buffer.byteLength(text), text };
}

function json<T>(f: Fetched, what: string): T {
  if (f.status !== 200) throw new Error(`${what}: HTTP ${f.status}: ${f.text.slice(0, 200)}`);
  return JSON.parse(f.text) as T;
}

/** `serials` random serials, one from each of as many equal slices of the history, in random order. */
function spreadSerials(head: number, n: number, seed: number): number[] {
  const rand = rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const lo = 1 + Math.floor(((head - 1) * i) / n);
    const hi = 1 + Math.floor(((head - 1) * (i + 1)) / n);
    out.push(lo + Math.floor(rand() * Math.max(1, hi - lo)));
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

interface AsOfSample { serial: number; version: number; fromSnapshot: number | null; pastSnapshot: number; records: number; ms: number; firstByteMs: number; bytes: number }

/** Wall time of a command, its stdout counted, not kept. */
function timed(cmd: string, args: string[], timeoutMs: number): Promise<{ ms: number; code: number | null; bytes: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (bytes += d.length));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, code, bytes, stderr });
    });
  });
}

/** CPU seconds a process (all its threads) has used so far, from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / HZ;
}

/**
 * Waits (bounded, 60 s) until the server's CPU falls below 0.05 cores over a second: after its
 * first answer zonelog still compiles the answers and GCs the import for a few seconds, and a
 * measure taken meanwhile times that too. The same rule as bench:serve's; the wait is reported.
 */
async function waitSettled(pid: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < 60_000) {
    const a = cpuSeconds(pid);
    await sleep(1000);
    if (cpuSeconds(pid) - a < 0.05) break;
  }
  return performance.now() - t0;
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

// Runs in the page before its own scripts (a string: this file is type-checked without the DOM).
const FIRST_ROW_SCRIPT = `
  new MutationObserver((_, obs) => {
    if (window.__firstRowMs === undefined && document.querySelector('[data-testid="change-row"]')) {
      window.__firstRowMs = performance.now();
      obs.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });`;

interface PageLoad { wallMs: number; inPageMs: number | null; rows: number; requests: { url: string; ms: number }[] }

/** The history page's first load in headless Chromium: navigation until the first change row is drawn. */
async function pageLoads(base: string, runs: number): Promise<{ how: string; launchMs: number; loads: PageLoad[] }> {
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return fetchPage(base, runs);
  }
  const l0 = performance.now();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  const launchMs = performance.now() - l0;
  const loads: PageLoad[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      // A fresh context each time: an empty cache, as a first visit has.
      const ctx = await browser.newContext();
      try {
        const page = await ctx.newPage();
        // The moment the first row is attached, by the page's own clock (from navigation start).
        await page.addInitScript(FIRST_ROW_SCRIPT);
        const requests: { url: string; ms: number }[] = [];
        page.on('requestfinished', (req) => {
          const t = req.timing();
          requests.push({ url: req.url().replace(base, ''), ms: Math.round(t.responseEnd) });
        });
        const t0 = performance.now();
        const nav = page.goto(`${base}/history?zone=${encodeURIComponent(ZONE)}`, { waitUntil: 'commit', timeout: 60_000 });
        await page.waitForSelector('[data-testid="change-row"]', { timeout: 60_000 });
        const wallMs = performance.now() - t0;
        await nav;
        const inPage = (await page.evaluate('window.__firstRowMs ?? null')) as number | null;
        const rows = await page.locator('[data-testid="change-row"]').count();
        loads.push({ wallMs, inPageMs: inPage, rows, requests });
      } finally {
        await ctx.close();
      }
    }
  } finally {
    await browser.close();
  }
  return { how: 'headless Chromium (playwright-core)', launchMs, loads };
}

/** Without a browser: the page itself, then the first API calls it makes, one after another. */
async function fetchPage(base: string, runs: number): Promise<{ how: string; launchMs: number; loads: PageLoad[] }> {
  const loads: PageLoad[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const requests: { url: string; ms: number }[] = [];
    for (const path of [`/history?zone=${encodeURIComponent(ZONE)}`, '/api/v1/zones', `/api/v1/changes?zone=${encodeURIComponent(ZONE)}&limit=50`]) {
      const f = await get(base + path);
      requests.push({ url: path, ms: Math.round(f.ms) });
    }
    loads.push({ wallMs: performance.now() - t0, inPageMs: null, rows: 0, requests });
  }
  return { how: 'no browser: GET /history, /api/v1/zones and the first changes page, in sequence (playwright-core missing)', launchMs: 0, loads };
}

// ---------------------------------------------------------------- the run

interface Timed { ms: number[]; status: number; bytes: number; count?: number; error?: string }

async function repeat(url: string, n: number, count: (body: unknown) => number): Promise<Timed> {
  const r: Timed = { ms: [], status: 0, bytes: 0 };
  for (let i = 0; i < n; i++) {
    const f = await get(url);
    r.status = f.status;
    r.bytes = f.bytes;
    if (f.status !== 200) {
      r.error = `HTTP ${f.status}: ${f.text.slice(0, 200).trim()}`;
      break;
    }
    r.ms.push(f.ms);
    r.count = count(JSON.parse(f.text));
  }
  return r;
}

async function measure(db: string, meta: Meta, zoneFile: string): Promise<Record<string, unknown>> {
  const res: Record<string, unknown> = {};
  const head = meta.headSerial;
  const serials = spreadSerials(head, SAMPLES, 60);

  log('as-of, step by step in this process (no HTTP) for 5 serials');
  res.asOfParts = await asOfParts(db, serials.slice(0, 5));

  mkdirSync(join(DIR, 'servers'), { recursive: true });
  const dir = mkdtempSync(join(DIR, 'servers', 'history-'));
  let h: ServerHandle | undefined;
  try {
    log(`starting zonelog serve on the built store (${fmt(meta.headVersion)} versions)`);
    const s0 = performance.now();
    h = await startZonelog({ dir, store: `sqlite:${db}`, logFile: join(dir, 'zonelog.log'), readyTimeoutMs: 600_000, zones: [{ name: ZONE, file: zoneFile }] });
    res.serverStartMs = performance.now() - s0;
    res.serverRssKiBAtStart = rssKiB(h.pid);
    res.serverSettleMs = await waitSettled(h.pid);
    const base = `http://127.0.0.1:${h.httpPort}`;
    const zp = encodeURIComponent(ZONE);
    log(`zonelog serve up in ${fmt(res.serverStartMs as number)} ms, settled ${fmt(res.serverSettleMs as number)} ms later, http on ${base}; load average ${load().join(' ')}`);
    res.loadavgBeforeMeasuring = load();

    const zones = await get(`${base}/api/v1/zones`);
    res.apiAvailable = zones.status === 200;
    if (zones.status !== 200) log(`GET /api/v1/zones: HTTP ${zones.status}: the history API is not there; its measures are skipped`);

    if (res.apiAvailable) {
      const st = await get(`${base}/api/v1/storage`);
      if (st.status === 200) res.storage = (JSON.parse(st.text) as { zones: Record<string, unknown>[] }).zones.find((z) => z.zone === ZONE);
      // as-of: one request first, not counted (JIT, first statements prepared)
      const warm = await get(`${base}/api/v1/zones/${zp}/as-of?serial=${head}&format=json`);
      res.asOfWarmupMs = warm.ms;
      const samples: AsOfSample[] = [];
      let failed: string | undefined;
      const p = progress('as-of over HTTP', serials.length);
      for (const serial of serials) {
        const f = await get(`${base}/api/v1/zones/${zp}/as-of?serial=${serial}&format=json`);
        if (f.status !== 200) {
          failed = `serial ${serial}: HTTP ${f.status}: ${f.text.slice(0, 200).trim()}`;
          break;
        }
        const b = JSON.parse(f.text) as { version: number; serial: number; fromSnapshot: number | null; records: string[] };
        if (b.serial !== serial) throw new Error(`as-of serial ${serial} answered serial ${b.serial}`);
        samples.push({ serial, version: b.version, fromSnapshot: b.fromSnapshot, pastSnapshot: b.version - (b.fromSnapshot ?? 0), records: b.records.length, ms: f.ms, firstByteMs: f.firstByteMs, bytes: f.bytes });
        p.tick();
      }
      p.done();
      res.asOf = { samples, error: failed, rssKiBAfter: rssKiB(h.pid) };
      if (failed) log(`as-of failed: ${failed}`);
      else {
        const ms = samples.map((s) => s.ms);
        log(`as-of (${samples.length}): p50 ${fmt(pct(ms, 50))} ms, p99 ${fmt(pct(ms, 99))} ms, max ${fmt(Math.max(...ms))} ms`);
      }
      // The same as master-file text, as `zonelog export` prints it, for five serials.
      const text: number[] = [];
      for (const serial of serials.slice(0, 5)) {
        const f = await get(`${base}/api/v1/zones/${zp}/as-of?serial=${serial}&format=text`);
        if (f.status === 200) text.push(f.ms);
      }
      res.asOfText = text;

      log('blame');
      const blame: { name: string; why: string; expected: number; changes: number | null; ms: number; bytes: number; error?: string }[] = [];
      for (const b of meta.blame) {
        const f = await get(`${base}/api/v1/zones/${zp}/blame?name=${encodeURIComponent(b.name)}`);
        const body = f.status === 200 ? (JSON.parse(f.text) as { changes: unknown[] }) : null;
        blame.push({ name: b.name, why: b.why, expected: b.events, changes: body ? body.changes.length : null, ms: f.ms, bytes: f.bytes, ...(body ? {} : { error: `HTTP ${f.status}: ${f.text.slice(0, 200).trim()}` }) });
      }
      res.blame = blame;

      log('changes list');
      const changes = (b: unknown): number => (b as { changes: unknown[] }).changes.length;
      const [common, rare] = Object.entries(meta.keys).sort((a, b) => b[1] - a[1]).map(([k]) => k).filter((_, i, a) => i === 0 || i === a.length - 1);
      const list: Record<string, Timed> = {};
      list['first page'] = await repeat(`${base}/api/v1/changes?zone=${zp}&limit=50`, 5, changes);
      const first = list['first page'].error ? null : json<{ next: string | null }>(await get(`${base}/api/v1/changes?zone=${zp}&limit=50`), 'changes');
      if (first?.next) list['second page (cursor)'] = await repeat(`${base}/api/v1/changes?zone=${zp}&limit=50&cursor=${encodeURIComponent(first.next)}`, 5, changes);
      list[`key ${common} (${fmt(meta.keys[common])} changes)`] = await repeat(`${base}/api/v1/changes?zone=${zp}&key=${encodeURIComponent(common)}&limit=50`, 5, changes);
      if (rare && rare !== common) list[`key ${rare} (${fmt(meta.keys[rare])} changes)`] = await repeat(`${base}/api/v1/changes?zone=${zp}&key=${encodeURIComponent(rare)}&limit=50`, 5, changes);
      res.list = list;

      if (!opt['skip-browser']) {
        log('history page');
        try {
          res.page = await pageLoads(base, 3);
        } catch (e) {
          res.page = { error: (e as Error).message.split('\n')[0] };
          log(`history page: ${(res.page as { error: string }).error}`);
        }
      }
    }

    log('zonelog export --serial (the CLI, a process each)');
    const cli: { serial: number; ms: number; bytes: number; error?: string }[] = [];
    const help = await timed(process.execPath, [BIN, '--help'], 60_000);
    res.cliStartMs = help.ms;
    for (const serial of serials.slice(0, 5)) {
      const r = await timed(process.execPath, [BIN, 'export', '--zone', ZONE, '--serial', String(serial), '--store', `sqlite:${db}`, '--quiet'], 300_000);
      cli.push({ serial, ms: r.ms, bytes: r.bytes, ...(r.code === 0 ? {} : { error: r.stderr.trim().split('\n').pop() }) });
    }
    res.export = cli;
    res.serverRssKiBAtEnd = rssKiB(h.pid);
  } finally {
    await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  // BIND has no as-of; its closest whole-zone read is loading a zone file and dumping it.
  log('named-checkzone -D (BIND tools) on the same zone file');
  const out = join(tmpdir(), `history-bench-dump-${process.pid}.zone`);
  const bind: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const t = await timed('named-checkzone', ['-D', '-o', out, ZONE, zoneFile], 300_000);
      if (t.code !== 0) throw new Error(`named-checkzone exited ${t.code}: ${t.stderr.trim()}`);
      bind.push(t.ms);
    }
    res.namedCheckzoneDumpMs = bind;
  } catch (e) {
    res.namedCheckzoneDumpMs = { error: (e as Error).message.split('\n')[0] };
  } finally {
    rmSync(out, { force: true });
  }
  return res;
}

// ---------------------------------------------------------------- report

function report(meta: Meta, storeSize: number, r: Record<string, unknown>): string {
  const L: string[] = [];
  const b = meta.build;
  L.push(`| measure | zonelog | target | notes |`, '|---|---|---|---|');
  L.push(`| store build, ${fmt(EVENTS)} changes | ${fmt(b.ms / 1000, 1)} s (${fmt(b.eventsPerSec)} events/s) | | generate+apply ${fmt(b.generateMs / 1000, 1)} s, snapshotRecords ${fmt(b.snapshotMs / 1000, 1)} s, append ${fmt(b.appendMs / 1000, 1)} s, waiting for snapshot saves ${fmt(b.snapshotSaveWaitMs / 1000, 1)} s |`);
  if (b.appendMsPerTenth?.length) L.push(`| append time by tenth of the build | ${b.appendMsPerTenth.map((x) => fmt(x / 1000, 1)).join(', ')} s | | does appending slow down as the store grows? |`);
  L.push(`| store on disk | ${fmt(storeSize / 2 ** 20)} MiB | | ${fmt(meta.headVersion)} events, ${fmt(meta.snapshots)} snapshots (every ${fmt(meta.params.snapshotEvery)} versions) |`);
  const st = r.storage as { events: number; eventBytes: number; snapshots: number; snapshotBytes: number; indexRows: number } | undefined;
  if (st) L.push(`| of which (GET /api/v1/storage) | events ${fmt(st.eventBytes / 2 ** 20)} MiB, snapshots ${fmt(st.snapshotBytes / 2 ** 20)} MiB (${fmt(st.snapshots)}), name index ${fmt(st.indexRows)} rows | | event and snapshot bodies only; the rest is indexes and columns |`);
  L.push(`| zonelog serve start on it | ${fmt(r.serverStartMs as number)} ms | | to the first SOA answer; RSS ${fmt((r.serverRssKiBAtStart as number) / 1024)} MiB; then settled (CPU < 0.05 cores over 1 s) in ${fmt(r.serverSettleMs as number)} ms before measuring |`);
  const asOf = r.asOf as { samples: AsOfSample[]; error?: string; rssKiBAfter: number } | undefined;
  if (asOf?.samples.length) {
    const ms = asOf.samples.map((s) => s.ms);
    const past = asOf.samples.map((s) => s.pastSnapshot);
    const holds = pct(ms, 99) < 1000 ? 'holds' : '**missed**';
    L.push(`| as-of a random serial, JSON over HTTP (n=${ms.length}${ms.length < 100 ? ', so p99 is the max' : ''}) | p50 ${fmt(pct(ms, 50))} ms, p99 ${fmt(pct(ms, 99))} ms, max ${fmt(Math.max(...ms))} ms | < 1 s: ${holds} | ${fmt(pct(past, 50))} versions past the snapshot at the median (min ${fmt(Math.min(...past))}, max ${fmt(Math.max(...past))}); ${fmt(asOf.samples[0].records)} records, ${fmt(asOf.samples[0].bytes / 2 ** 20, 1)} MiB; first byte p50 ${fmt(pct(asOf.samples.map((s) => s.firstByteMs), 50))} ms; server RSS after ${fmt(asOf.rssKiBAfter / 1024)} MiB |`);
  } else if (asOf?.error) L.push(`| as-of | failed: ${asOf.error} | < 1 s | |`);
  const text = r.asOfText as number[] | undefined;
  if (text?.length) L.push(`| as-of, master-file text over HTTP (n=${text.length}) | p50 ${fmt(pct(text, 50))} ms, max ${fmt(Math.max(...text))} ms | | format=text |`);
  const exp = (r.export as { ms: number; error?: string }[] | undefined) ?? [];
  const expOk = exp.filter((e) => !e.error).map((e) => e.ms);
  if (exp.length) L.push(`| zonelog export --serial N, a process each (n=${exp.length}) | ${expOk.length ? `p50 ${fmt(pct(expOk, 50))} ms, max ${fmt(Math.max(...expOk))} ms` : `failed: ${exp[0].error}`} | | includes Node start (${fmt(r.cliStartMs as number)} ms for \`zonelog --help\`) |`);
  const blame = r.blame as { name: string; why: string; expected: number; changes: number | null; ms: number; error?: string }[] | undefined;
  if (blame?.length) {
    const ok = blame.filter((x) => !x.error).map((x) => x.ms);
    const holds = ok.length && Math.max(...ok) < 200 ? 'holds' : '**missed**';
    L.push(`| blame one name (n=${blame.length}) | ${ok.length ? `p50 ${fmt(pct(ok, 50))} ms, max ${fmt(Math.max(...ok))} ms` : 'failed'} | < 200 ms: ${ok.length ? holds : '–'} | per name below |`);
  }
  const list = r.list as Record<string, Timed> | undefined;
  for (const [k, t] of Object.entries(list ?? {})) {
    L.push(`| changes list, ${k}, limit 50 | ${t.error ? `failed: ${t.error}` : `first ${fmt(t.ms[0], 1)} ms, median of ${t.ms.length} ${fmt(pct(t.ms, 50), 1)} ms`} | | ${t.count ?? '–'} rows, ${fmt(t.bytes / 1024, 1)} KiB |`);
  }
  const page = r.page as { how: string; launchMs: number; loads: PageLoad[] } | { error: string } | undefined;
  if (page && 'error' in page) L.push(`| history page first load | failed: ${page.error} | | |`);
  else if (page) {
    const w = page.loads.map((l) => l.wallMs);
    const inPage = page.loads.map((l) => l.inPageMs).filter((x): x is number => x !== null);
    const slow = [...(page.loads[0]?.requests ?? [])].sort((a, b) => b.ms - a.ms).slice(0, 3).map((q) => `${q.url} ${fmt(q.ms)} ms`).join(', ');
    L.push(`| history page first load (${page.how}, fresh context each, n=${w.length}) | first ${fmt(w[0])} ms, median ${fmt(pct(w, 50))} ms | | navigation to the first [data-testid="change-row"]${inPage.length ? `; by the page's clock ${fmt(pct(inPage, 50))} ms` : ''}; ${page.loads[0]?.rows ?? 0} rows; slowest requests of the first load: ${slow || '–'}; browser launch ${fmt(page.launchMs)} ms |`);
  }
  const bind = r.namedCheckzoneDumpMs as number[] | { error: string } | undefined;
  if (Array.isArray(bind)) {
    const bm = pct(bind, 50);
    L.push('', `BIND keeps no history: it has no "zone as of serial N". The closest whole-zone read its tools offer is`);
    L.push(`loading and dumping the current zone file (\`named-checkzone -D -o FILE ${ZONE} bench.test.zone\`, a process each, median of ${bind.length}): ${fmt(bm)} ms.`);
    L.push(`Set beside it, as the cost of reading a whole zone, not as like for like:`);
    if (asOf?.samples.length) L.push(`- zonelog as-of over HTTP (JSON), p50 ${fmt(pct(asOf.samples.map((s) => s.ms), 50))} ms ÷ named-checkzone -D = ${fmt(pct(asOf.samples.map((s) => s.ms), 50) / bm, 2)}`);
    if (text?.length) L.push(`- zonelog as-of over HTTP (text), p50 ${fmt(pct(text, 50))} ms ÷ named-checkzone -D = ${fmt(pct(text, 50) / bm, 2)}`);
    if (expOk.length) L.push(`- zonelog export --serial (both whole processes), p50 ${fmt(pct(expOk, 50))} ms ÷ named-checkzone -D = ${fmt(pct(expOk, 50) / bm, 2)}`);
  } else if (bind) L.push('', `named-checkzone -D: ${bind.error}`);
  if (blame?.length) {
    L.push('', '| blame name | why | changes returned | events touching it (built) | ms |', '|---|---|---|---|---|');
    for (const x of blame) L.push(`| ${x.name} | ${x.why} | ${x.error ? x.error : fmt(x.changes)} | ${fmt(x.expected)} | ${fmt(x.ms, 1)} |`);
  }
  const parts = r.asOfParts as AsOfParts[] | undefined;
  if (parts?.length) {
    L.push('', 'as-of step by step, in the bench process on the same store (no HTTP), ms:', '| serial | past snapshot | resolve | load snapshot (gunzip+decode, views) | index owners | replay onto touched owners | record lines (in order) | JSON | total |', '|---|---|---|---|---|---|---|---|---|');
    for (const p of parts) L.push(`| ${p.serial} | ${p.pastSnapshot} | ${fmt(p.resolveMs, 1)} | ${fmt(p.loadSnapshotMs)} | ${fmt(p.buildZoneMs)} | ${fmt(p.replayMs)} | ${fmt(p.linesMs)} | ${fmt(p.jsonMs)} | ${fmt(p.totalMs)} |`);
  }
  return L.join('\n');
}

async function main(): Promise<void> {
  const data = HOSTS === 100_000 ? join(DIR, 'data') : join(DIR, 'data', `hosts-${HOSTS}`);
  const zoneFile = benchZone(data, HOSTS);
  const loadStart = load();
  log(`history bench: zone ${zoneFile}; ${fmt(EVENTS)} changes; ${SAMPLES} as-of samples; ${cpus().length} CPUs; load average ${loadStart.join(' ')}`);
  const { db, meta, built } = await ensureStore(zoneFile);
  const size = storeBytes(db);
  log(`history store: ${built ? 'built' : 'cached'}: ${fmt(meta.headVersion)} versions, ${fmt(meta.snapshots)} snapshots, ${fmt(size / 2 ** 20)} MiB on disk; build ${fmt(meta.build.ms / 1000, 1)} s, ${fmt(meta.build.eventsPerSec)} events/s`);
  if (opt['build-only']) return;
  const r = await measure(db, meta, zoneFile);
  const table = report(meta, size, r);
  const loadEnd = load();
  const file = join(RESULTS, `history-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(file, JSON.stringify({ time: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, loadavgAtStart: loadStart, loadavgAtEnd: loadEnd, storeBuiltThisRun: built, storeBytes: size, meta, ...r, table }, null, 2));
  console.log(table);
  console.log(`\nload average: at start ${loadStart.join(' ')}, before measuring ${(r.loadavgBeforeMeasuring as number[] | undefined)?.join(' ') ?? '–'}, at end ${loadEnd.join(' ')} (${cpus().length} CPUs)`);
  const span = (SNAPSHOT_EVERY * GAP_MS) / 60_000;
  console.log(`store: ${db} (${built ? 'built this run' : 'cached'}). Snapshots every ${SNAPSHOT_EVERY} versions, the server's snapshot-every default. ` +
    `The server also waits snapshot-min-interval (${SERVER_DEFAULTS.snapshotMinIntervalMs / 1000} s) between snapshots and takes one after snapshot-interval (${SERVER_DEFAULTS.snapshotIntervalMs / 60_000} min) with any change; ` +
    `at the built pace of one change per ${GAP_MS / 1000} s, ${SNAPSHOT_EVERY} changes span ${fmt(span)} min, so ${span * 60_000 >= SERVER_DEFAULTS.snapshotMinIntervalMs && span * 60_000 < SERVER_DEFAULTS.snapshotIntervalMs ? 'neither rule moves them' : 'those rules would move them: the build follows snapshot-every only'}.`);
  log(`results in ${file}`);
}

await main();
