// Serving benchmark (`npm run bench:serve`): zonelog's queries and dynamic updates beside BIND and Knot, in one run.
//
// Same machine, same 100k-host zone (bench/peers/gen_zone.py), same query file and the team kit's
// exact dnsperf settings (../shared/bench/peers: run_query_bench.sh, run_update_bench.sh):
//   queries  `dnsperf -s 127.0.0.1 -p PORT -d queries.txt -l DURATION -c 8 -T 1 -q 100`, unlimited
//            rate, RUNS runs per server interleaved per round, median qps; then latency percentiles
//            at a fixed offered rate (`-Q 20000 -v`, through bench/peers/latency_pct.py).
//   updates  `dnsperf -u -s 127.0.0.1 -p PORT -y hmac-sha256:bench-key:SECRET -d updates.txt -n 1 -c 1
//            -q N -t 30` for N = 20 and 100 (then a quarter as many again with -v, for percentiles), UPDATES messages from bench/peers/gen_updates.py, each
//            run on a freshly started server (fresh zone, fresh store; with --warmup W, after W
//            updates at the same settings, not counted, on every server alike), then verified: the marker
//            record, all rcodes NOERROR, every new dyn-* A record answered, and for zonelog one durable
//            update event in the store per acknowledged update (counted after kill -9).
//   memory   VmRSS (and PSS) of each server's process tree after load, after queries, after updates.
// Prints a Markdown table (absolute numbers, zonelog ÷ BIND and zonelog ÷ Knot) and writes every
// raw figure to bench/results/serve-<timestamp>.json.
//
//   node bench/serve.ts [--duration 15] [--runs 3] [--updates 20000] [--threads 1]
//                       [--servers bind,knot,zonelog] [--quick] [--quiet-wait 90] ...
// --quick (duration 3, runs 1, updates 3000, no quiet wait) is a smoke run, not a measurement.
// Only 2 cores here: run the full benchmark alone on the machine, since dnsperf and the server share them.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK, dig, run, soaSerial, startBind, startKnot } from '../infra/peers.ts';
import { openStore } from '../shared/store/open.ts';
import { startZonelog } from '../test/support/server.ts';
import { benchZone } from './zone.ts';

const ZONE = 'bench.test.';
// The kit's test-only TSIG key (common.sh), so commands and results line up with the baselines.
const KEY = { name: 'bench-key', algorithm: 'hmac-sha256', secret: 'qF9qDp8lIKIrYFXxNPSL99gPbztVUXr1i2QBQsjmBRM=' };
const TSIG_Y = `${KEY.algorithm}:${KEY.name}:${KEY.secret}`;
const PEERS = fileURLToPath(new URL('./peers/', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
// The kit's dnsperf query load: 8 clients, 1 thread, 100 outstanding.
const CLIENTS = 8;
const DNSPERF_THREADS = 1;
const OUTSTANDING = 100;
// The kit's quiet-machine threshold: other processes below 0.2 cores over 2 s.
const QUIET_CORES = 0.2;
/** A server counts as settled after its start once its own CPU is below this over a second (waited for up to SETTLE_WAIT_MS). */
const SETTLED_CORES = 0.05;
const SETTLE_WAIT_MS = 60_000;

const KINDS = ['bind', 'knot', 'knot-tuned', 'zonelog'] as const;
type Kind = (typeof KINDS)[number];
const LABEL: Record<Kind, string> = { bind: 'BIND', knot: 'Knot', 'knot-tuned': 'Knot tuned', zonelog: 'zonelog' };

// ---------------------------------------------------------------- options

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string' },
    runs: { type: 'string' },
    updates: { type: 'string' },
    threads: { type: 'string' },
    servers: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'update-runs': { type: 'string' },
    warmup: { type: 'string' },
    inflight: { type: 'string' },
    'lat-rates': { type: 'string' },
    'lat-duration': { type: 'string' },
    'quiet-wait': { type: 'string' },
    'log-level': { type: 'string' },
    dir: { type: 'string' },
    'skip-queries': { type: 'boolean', default: false },
    'skip-updates': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (opt.help) {
  console.log(`usage: node bench/serve.ts [options]
  --duration S        seconds per unlimited-rate query run (15; --quick 3)
  --runs N            query runs per server, interleaved per round (3; --quick 1)
  --updates N         update messages per dnsperf -u run (20000; --quick 3000)
  --update-runs N     runs per server and in-flight setting, each on a fresh server (--runs)
  --warmup N          before each measured update run, N updates at the same settings, not
                      measured, for every server alike: the sustained rate, past a fresh
                      server's first seconds (0: the run starts on the freshly settled server)
  --inflight LIST     dnsperf -u -q values (20,100)
  --threads N         zonelog query-threads (0, the default)
  --servers LIST      bind,knot,zonelog (also: knot-tuned = zonefile-sync -1, journal-content all)
  --lat-rates LIST    offered qps for the -v latency runs (20000)
  --lat-duration S    seconds per latency run (10; --quick 3)
  --quiet-wait S      wait up to S s for other processes to use < ${QUIET_CORES} cores before each run (90; --quick 0)
  --log-level L       zonelog's ZONELOG_LOG_LEVEL (info: it logs each update, as BIND does)
  --dir DIR           scratch dir (BENCH_DIR or $TMPDIR/zonelog-bench; the zone is generated once there)
  --skip-queries / --skip-updates / --keep (keep server dirs and stores)
  --quick             smoke run: checks that everything works; its numbers mean nothing`);
  process.exit(0);
}

function num(v: string | undefined, def: number, what: string): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${what}: expected a number, got "${v}"`);
  return n;
}
const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

const quick = opt.quick;
const DURATION = num(opt.duration, quick ? 3 : 15, 'duration');
const RUNS = Math.max(1, Math.floor(num(opt.runs, quick ? 1 : 3, 'runs')));
const UPDATES = Math.max(2, Math.floor(num(opt.updates, quick ? 3000 : 20000, 'updates')));
/** Updates in the separate -v run that gives the latency percentiles. */
const LAT_UPDATES = Math.max(100, Math.floor(UPDATES / 4));
const UPDATE_RUNS = Math.max(1, Math.floor(num(opt['update-runs'], RUNS, 'update-runs')));
const WARMUP = Math.max(0, Math.floor(num(opt.warmup, 0, 'warmup')));
const INFLIGHT = list(opt.inflight ?? '20,100').map((s) => num(s, 0, 'inflight'));
const THREADS = Math.floor(num(opt.threads, 0, 'threads'));
const LAT_RATES = list(opt['lat-rates'] ?? '20000').map((s) => num(s, 0, 'lat-rates'));
const LAT_DURATION = num(opt['lat-duration'], quick ? 3 : 10, 'lat-duration');
const QUIET_WAIT = num(opt['quiet-wait'], quick ? 0 : 90, 'quiet-wait');
const LOG_LEVEL = opt['log-level'] ?? 'info';
const DIR = opt.dir ?? process.env.BENCH_DIR ?? join(tmpdir(), 'zonelog-bench');
const SERVERS = list(opt.servers ?? 'bind,knot,zonelog').map((s) => {
  if (!(KINDS as readonly string[]).includes(s)) throw new Error(`--servers: unknown server "${s}" (known: ${KINDS.join(', ')})`);
  return s as Kind;
});

// ---------------------------------------------------------------- small helpers

const log = (msg: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const redact = (s: string): string => s.split(KEY.secret).join('<secret>');

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function loadavgText(): string {
  return readFileSync('/proc/loadavg', 'utf8').trim();
}

// ---------------------------------------------------------------- /proc: CPU and memory

const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

type Proc = { comm: string; ppid: number; ticks: number };

function procs(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let s: string;
    try {
      s = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // exited between readdir and read
    }
    // comm may contain spaces and parentheses; the fields after the last ')' are fixed.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    out.set(Number(d), { comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
  }
  return out;
}

/** A process and all its descendants. */
function tree(root: number, table: Map<number, Proc>): Set<number> {
  const ours = new Set([root]);
  for (let depth = 0, grew = true; grew && depth < 32; depth++) {
    grew = false;
    for (const [pid, p] of table) {
      if (!ours.has(pid) && ours.has(p.ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  return ours;
}

function busyTicks(): number {
  const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] ?? 0); // user nice system irq softirq steal
}

type Snap = { t: number; busy: number; procs: Map<number, Proc> };
const snap = (): Snap => ({ t: performance.now(), busy: busyTicks(), procs: procs() });

/**
 * Where the machine's CPU went since `a`, in cores. total comes from /proc/stat, so it includes the
 * kernel's loopback softirq work that no process is charged for; "other" is every process outside
 * this benchmark's tree (other sessions), which is what makes a run noisy.
 */
type CpuSplit = { totalBusyCores: number; serverCores: number; harnessCores: number; kthreadCores: number; otherCores: number; topOther: string };

function cpuSince(a: Snap, serverPid?: number): CpuSplit {
  const b = snap();
  const wall = (b.t - a.t) / 1000;
  const server = serverPid === undefined ? new Set<number>() : tree(serverPid, b.procs);
  const mine = tree(process.pid, b.procs);
  let sv = 0, me = 0, kt = 0, other = 0;
  const per = new Map<string, number>();
  for (const [pid, p] of b.procs) {
    const old = a.procs.get(pid);
    const d = p.ticks - (old && old.comm === p.comm ? old.ticks : 0);
    if (server.has(pid)) sv += d;
    else if (mine.has(pid)) me += d;
    else if (pid === 2 || p.ppid === 2) kt += d;
    else {
      other += d;
      if (d > 0) per.set(p.comm, (per.get(p.comm) ?? 0) + d);
    }
  }
  const cores = (ticks: number): number => Math.round((ticks / HZ / wall) * 100) / 100;
  const top = [...per].sort((x, y) => y[1] - x[1]).slice(0, 3).map(([c, t]) => `${c}:${cores(t)}`).join(',');
  return { totalBusyCores: cores(b.busy - a.busy), serverCores: cores(sv), harnessCores: cores(me), kthreadCores: cores(kt), otherCores: cores(other), topOther: top || '-' };
}

type Mem = { rssKiB: number; pssKiB: number };

/** VmRSS and PSS summed over the process tree (PSS so that pages shared after fork count once). */
function memKiB(pid: number): Mem {
  let rss = 0, pss = 0;
  for (const p of tree(pid, procs())) {
    try {
      rss += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return { rssKiB: rss, pssKiB: pss };
}

/** The kit's wait_quiet: bounded wait until processes outside this benchmark use < QUIET_CORES. */
async function waitQuiet(): Promise<string> {
  if (QUIET_WAIT <= 0) return 'not waited';
  const start = Date.now();
  for (let i = 0; i < Math.ceil(QUIET_WAIT / 5) + 1; i++) {
    const a = snap();
    await sleep(2000);
    const c = cpuSince(a);
    const notOurs = c.totalBusyCores - c.harnessCores;
    if (notOurs < QUIET_CORES) return `quiet after ${((Date.now() - start) / 1000).toFixed(0)} s`;
    if (Date.now() - start >= QUIET_WAIT * 1000) break;
    log(`waiting for a quiet machine: ${notOurs.toFixed(2)} busy cores not ours (top ${c.topOther}); load ${loadavgText()}`);
    await sleep(3000);
  }
  log(`machine not quiet after ${QUIET_WAIT} s; measuring anyway (see otherCores in the results)`);
  return `not quiet after ${QUIET_WAIT} s`;
}

// ---------------------------------------------------------------- servers

type Server = {
  kind: Kind;
  port: number;
  pid: number;
  dir: string;
  /** zonelog only: the store URL. */
  store?: string;
  /** zonelog only: the HTTP port, for /metrics. */
  httpPort?: number;
  loadMs: number;
  /** From the first answer until the server's own CPU settled (waitSettled). */
  settleMs?: number;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  logTail(): string;
};

const live = new Set<Server>();

async function startServer(kind: Kind, zoneFile: string): Promise<Server> {
  mkdirSync(join(DIR, 'servers'), { recursive: true });
  const dir = mkdtempSync(join(DIR, 'servers', `${kind}-`));
  const t0 = performance.now();
  let s: Server;
  if (kind === 'zonelog') {
    const h = await startZonelog({
      dir,
      zones: [{ name: ZONE, file: zoneFile, allowUpdate: [{ key: KEY.name }], allowTransfer: [{ address: '127.0.0.0/8' }] }],
      keys: [KEY],
      extra: { 'query-threads': THREADS },
      env: { ZONELOG_LOG_LEVEL: LOG_LEVEL },
      logFile: join(dir, 'zonelog.log'),
      readyTimeoutMs: 600_000,
    });
    s = {
      kind, port: h.port, pid: h.pid, dir, store: h.store, httpPort: h.httpPort ?? undefined, loadMs: performance.now() - t0,
      stop: () => h.stop(), kill9: () => h.kill9(),
      logTail: () => h.logs().trimEnd().split('\n').slice(-20).join('\n'),
    };
  } else {
    const h = await (kind === 'bind' ? startBind : startKnot)({
      dir,
      keys: [KEY],
      // Knot tuned as in the kit: no zone-file rewrite per change, the whole zone kept in the journal.
      zones: [{ name: ZONE, role: 'primary', file: zoneFile, allowUpdate: KEY.name, extra: kind === 'knot-tuned' ? 'zonefile-sync: -1\njournal-content: all' : undefined }],
      readyTimeoutMs: 180_000,
    });
    s = {
      kind, port: h.port, pid: h.pid, dir, loadMs: performance.now() - t0,
      stop: () => h.stop(),
      kill9: async () => { h.kill9(); await h.stop(); },
      logTail: () => readFileSync(h.logFile, 'utf8').trimEnd().split('\n').slice(-20).join('\n'),
    };
  }
  live.add(s);
  s.settleMs = await waitSettled(s);
  return s;
}

/**
 * Waits (bounded) until the server's own CPU falls below SETTLED_CORES over a second, so a run
 * measures the steady state and not what a server still does after its first answer (zonelog
 * compiles the answers and GCs the import in the background; BIND and Knot load before they
 * answer). The same for every server; the time it took is reported beside the load time.
 */
async function waitSettled(s: Server): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < SETTLE_WAIT_MS) {
    const a = snap();
    await sleep(1000);
    if (cpuSince(a, s.pid).serverCores < SETTLED_CORES) break;
  }
  return performance.now() - t0;
}

async function stopServer(s: Server, how: 'stop' | 'kill9' = 'stop'): Promise<void> {
  try {
    await (how === 'kill9' ? s.kill9() : s.stop());
  } finally {
    live.delete(s);
  }
}

function removeDir(s: Server): void {
  if (!opt.keep) rmSync(s.dir, { recursive: true, force: true });
}

async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((s) => stopServer(s)));
}

// ---------------------------------------------------------------- dnsperf

type Perf = {
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  sent: number;
  completed: number;
  lost: number;
  rcodes: Record<string, number>;
  perSecond: number;
  avgLatencyMs: number;
  stddevMs: number;
  runTimeS: number;
  responseBytes: number;
  dnsperfCores: number;
  stdout: string;
};

/** Runs dnsperf under /usr/bin/time (as the kit does, for its own CPU use) and reads its statistics. */
async function dnsperf(args: string[], timeoutMs: number): Promise<Perf> {
  const r = await run('/usr/bin/time', ['-f', 'DNSPERF_CPU user=%U sys=%S wall=%e', 'dnsperf', ...args], { timeoutMs });
  const o = r.stdout;
  const n = (re: RegExp): number => {
    const m = re.exec(o);
    return m ? Number(m[1]) : NaN;
  };
  const rcodes: Record<string, number> = {};
  const rc = /Response codes:\s+(.*)/.exec(o)?.[1] ?? '';
  for (const m of rc.matchAll(/([A-Z]+) (\d+) \(/g)) rcodes[m[1]] = Number(m[2]);
  const cpu = /DNSPERF_CPU user=([\d.]+) sys=([\d.]+) wall=([\d.]+)/.exec(r.stderr);
  const perf: Perf = {
    command: redact(`dnsperf ${args.join(' ')}`),
    exitCode: r.code,
    timedOut: r.timedOut,
    sent: n(/(?:Queries|Updates) sent:\s+(\d+)/),
    completed: n(/(?:Queries|Updates) completed:\s+(\d+)/),
    lost: n(/(?:Queries|Updates) lost:\s+(\d+)/),
    rcodes,
    perSecond: n(/(?:Queries|Updates) per second:\s+([\d.]+)/),
    avgLatencyMs: n(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    stddevMs: n(/Latency StdDev \(s\):\s+([\d.]+)/) * 1000,
    runTimeS: n(/Run time \(s\):\s+([\d.]+)/),
    responseBytes: n(/Average packet size:.*response (\d+)/),
    dnsperfCores: cpu && Number(cpu[3]) > 0 ? Math.round(((Number(cpu[1]) + Number(cpu[2])) / Number(cpu[3])) * 100) / 100 : NaN,
    stdout: o,
  };
  if (r.code !== 0 || r.timedOut || !Number.isFinite(perf.perSecond)) {
    throw new Error(`${perf.command} failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}):\n${redact(o).slice(-1500)}\n${redact(r.stderr).slice(-1500)}`);
  }
  return perf;
}

type Percentiles = { samples: number; p50Ms: number; p90Ms: number; p99Ms: number; p999Ms: number; maxMs: number; meanMs: number; rcodes: string };

/** Per-message latencies from `dnsperf -v`, through the kit's own latency_pct.py. */
async function percentiles(verbose: string): Promise<Percentiles> {
  const r = await run('python3', [join(PEERS, 'latency_pct.py')], { input: verbose, timeoutMs: 120_000 });
  const kv = Object.fromEntries(r.stdout.trim().split(/\s+/).map((f) => f.split('=') as [string, string]));
  if (r.code !== 0 || kv.p50_ms === undefined) throw new Error(`latency_pct.py: ${r.stdout.trim()} ${r.stderr.trim()}`);
  return {
    samples: Number(kv.samples), p50Ms: Number(kv.p50_ms), p90Ms: Number(kv.p90_ms), p99Ms: Number(kv.p99_ms),
    p999Ms: Number(kv['p99.9_ms']), maxMs: Number(kv.max_ms), meanMs: Number(kv.mean_ms), rcodes: kv.rcodes ?? '',
  };
}

const withoutStdout = (p: Perf): Omit<Perf, 'stdout'> => {
  const { stdout: _stdout, ...rest } = p;
  return rest;
};

// ---------------------------------------------------------------- queries

type QueryRun = Omit<Perf, 'stdout'> & { server: Kind; round: number; cpu: CpuSplit; quiet: string };
type LatencyRun = { server: Kind; rate: number; achievedQps: number; command: string; percentiles: Percentiles; cpu: CpuSplit; quiet: string };
type ServerFacts = { loadMs: number; settleMs?: number; afterLoad: Mem; afterQueries?: Mem; error?: string };

type QueryResults = { facts: Partial<Record<Kind, ServerFacts>>; runs: QueryRun[]; latency: LatencyRun[]; problems: string[] };

/** A failed run is recorded and the others go on; a server that died leaves the rest of the phase. */
async function measure(s: Server, up: Server[], out: QueryResults, what: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const alive = procs().has(s.pid);
    out.problems.push(`${LABEL[s.kind]} ${what}: ${(e as Error).message}${alive ? '' : `\nthe server died; last log lines:\n${s.logTail()}`}`);
    log(out.problems.at(-1)!);
    if (!alive) up.splice(up.indexOf(s), 1);
  }
}

// Answers that are neither NOERROR nor NXDOMAIN mean the server is not serving the zone as the
// peers do (REFUSED, SERVFAIL...), so its qps would not be comparable.
function checkAnswers(kind: Kind, p: Perf, out: QueryResults): void {
  const good = (p.rcodes.NOERROR ?? 0) + (p.rcodes.NXDOMAIN ?? 0);
  if (good < p.completed * 0.99) out.problems.push(`${LABEL[kind]}: only ${good} of ${p.completed} answers are NOERROR or NXDOMAIN: ${JSON.stringify(p.rcodes)}`);
  if (p.lost > p.sent * 0.01) out.problems.push(`${LABEL[kind]}: ${p.lost} of ${p.sent} queries lost`);
}

async function queryPhase(zoneFile: string, queries: string, out: QueryResults): Promise<void> {
  const up: Server[] = [];
  try {
    // All servers stay up through the phase so the rounds can alternate between them; the idle
    // ones cost nothing measurable.
    for (const kind of SERVERS) {
      log(`queries: starting ${LABEL[kind]} with the 100k zone`);
      try {
        const s = await startServer(kind, zoneFile);
        up.push(s);
        await sleep(2000); // as the kit: memory a moment after the first authoritative answer
        out.facts[kind] = { loadMs: s.loadMs, settleMs: s.settleMs, afterLoad: memKiB(s.pid) };
        log(`${LABEL[kind]} on port ${s.port}: loaded in ${fmt(s.loadMs)} ms, settled ${fmt(s.settleMs ?? NaN)} ms later, RSS ${fmt(out.facts[kind]!.afterLoad.rssKiB)} KiB`);
      } catch (e) {
        out.facts[kind] = { loadMs: NaN, afterLoad: { rssKiB: NaN, pssKiB: NaN }, error: (e as Error).message };
        log(`${LABEL[kind]} did not start: ${(e as Error).message}`);
      }
    }
    for (let round = 1; round <= RUNS; round++) {
      for (const s of [...up]) {
        await measure(s, up, out, `query round ${round}`, async () => {
          const quiet = await waitQuiet();
          const a = snap();
          const p = await dnsperf(['-s', LOOPBACK, '-p', String(s.port), '-d', queries, '-l', String(DURATION), '-c', String(CLIENTS), '-T', String(DNSPERF_THREADS), '-q', String(OUTSTANDING)], (DURATION + 30) * 1000);
          const cpu = cpuSince(a, s.pid);
          out.runs.push({ server: s.kind, round, ...withoutStdout(p), cpu, quiet });
          checkAnswers(s.kind, p, out);
          log(`${LABEL[s.kind]} round ${round}/${RUNS}: ${fmt(p.perSecond)} qps, avg ${p.avgLatencyMs.toFixed(3)} ms, lost ${p.lost}, rcodes ${JSON.stringify(p.rcodes)}; server ${cpu.serverCores} cores, dnsperf ${p.dnsperfCores}, other ${cpu.otherCores} (${cpu.topOther}); load ${loadavgText()}`);
        });
      }
    }
    for (const rate of LAT_RATES) {
      for (const s of [...up]) {
        await measure(s, up, out, `latency @${rate}`, async () => {
          const quiet = await waitQuiet();
          const a = snap();
          const p = await dnsperf(['-s', LOOPBACK, '-p', String(s.port), '-d', queries, '-l', String(LAT_DURATION), '-c', String(CLIENTS), '-T', String(DNSPERF_THREADS), '-q', String(OUTSTANDING), '-Q', String(rate), '-v'], (LAT_DURATION + 30) * 1000);
          const cpu = cpuSince(a, s.pid);
          const pct = await percentiles(p.stdout);
          out.latency.push({ server: s.kind, rate, achievedQps: p.perSecond, command: p.command, percentiles: pct, cpu, quiet });
          log(`${LABEL[s.kind]} @${fmt(rate)} qps offered (${fmt(p.perSecond)} achieved): p50 ${pct.p50Ms.toFixed(3)} ms, p99 ${pct.p99Ms.toFixed(3)} ms, max ${pct.maxMs.toFixed(3)} ms; other ${cpu.otherCores} cores`);
        });
      }
    }
    for (const s of up) out.facts[s.kind]!.afterQueries = memKiB(s.pid);
  } finally {
    for (const s of [...live]) {
      await stopServer(s);
      removeDir(s);
    }
  }
}

// ---------------------------------------------------------------- updates

type Verification = {
  markerVisible: boolean;
  marker: string;
  allNoerror: boolean;
  serialBefore?: number;
  serialAfter?: number;
  dynExpected: number;
  dynAnswered: number;
  /** zonelog only: read from the store after kill -9. */
  storeHeadVersion?: number;
  updateEvents?: number;
  updateEventsWithKey?: number;
  /** zonelog only: its own count of updates that changed the zone and of those that changed nothing (NOERROR, no event), read before kill -9. */
  updatesApplied?: number;
  updatesUnchanged?: number;
  /** Updates acknowledged by the warm-up (--warmup), and zonelog's counts after it. */
  warmupAcked?: number;
  warmupApplied?: number;
  everyAckDurable?: boolean;
  ok: boolean;
  problems: string[];
};

type UpdateRun = {
  server: Kind;
  inflight: number;
  round: number;
  tag: string;
  loadMs?: number;
  settleMs?: number;
  perf?: Omit<Perf, 'stdout'>;
  percentiles?: Percentiles;
  cpu?: CpuSplit;
  afterUpdates?: Mem;
  quiet?: string;
  verify?: Verification;
  error?: string;
};

/**
 * How many of the new clients' A records the server answers. The kit counted them in an AXFR; this
 * asks for each name instead (one dig process in batch mode), so it also works for a server that
 * does not serve AXFR yet, and it checks the same query path the clients use.
 */
async function countDynAnswered(port: number, names: string[], scratch: string): Promise<number> {
  const file = join(scratch, `dyn-queries-${port}.txt`);
  writeFileSync(file, names.map((n) => `${n}.bench.test A\n`).join(''));
  try {
    const r = await dig([`@${LOOPBACK}`, '-p', String(port), '+norec', '+noall', '+answer', '+time=2', '+tries=2', '-f', file], { timeoutMs: 600_000 });
    const wanted = new Set(names.map((n) => `${n}.bench.test.`.toLowerCase()));
    const seen = new Set<string>();
    for (const line of r.stdout.split('\n')) {
      const f = line.split(/\s+/);
      if (f[3] === 'A' && wanted.has(f[0].toLowerCase())) seen.add(f[0].toLowerCase());
    }
    return seen.size;
  } finally {
    rmSync(file, { force: true });
  }
}

/** zonelog's own counts of the zone's updates, from /metrics (zonelog_updates_total). */
async function updateCounts(httpPort: number): Promise<{ applied: number; unchanged: number }> {
  const text = await (await fetch(`http://${LOOPBACK}:${httpPort}/metrics`)).text();
  const count = (result: string): number => {
    const line = text.split('\n').find((l) => l.startsWith('zonelog_updates_total{') && l.includes(`zone="${ZONE}"`) && l.includes(`result="${result}"`));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { applied: count('applied'), unchanged: count('unchanged') };
}

/** Every applied update must be one ZoneChanged event (cause update, naming the key) on disk. */
async function countStoreEvents(url: string): Promise<{ head: number; updates: number; withKey: number }> {
  const store = await openStore(url);
  try {
    const head = (await store.head(ZONE))?.version ?? 0;
    let updates = 0, withKey = 0;
    for await (const e of store.readZone(ZONE)) {
      if (e.type !== 'ZoneChanged' || e.data.cause !== 'update') continue;
      updates++;
      if (e.data.actor.key?.replace(/\.$/, '').toLowerCase() === KEY.name) withKey++;
    }
    return { head, updates, withKey };
  } finally {
    await store.close();
  }
}

async function updateRun(kind: Kind, zoneFile: string, updatesFile: string, tag: string, inflight: number, round: number): Promise<UpdateRun> {
  const r: UpdateRun = { server: kind, inflight, round, tag };
  let s: Server | undefined;
  try {
    s = await startServer(kind, zoneFile);
    r.loadMs = s.loadMs;
    r.settleMs = s.settleMs;
    let warm = { acked: 0, applied: 0 };
    if (WARMUP > 0) {
      // Same settings, its own names: what it adds is checked with the rest after kill -9.
      const warmFile = join(dirname(updatesFile), `updates-${tag}-warm.txt`);
      execFileSync('python3', [join(PEERS, 'gen_updates.py'), '--count', String(WARMUP), '--tag', `${tag}w`, '--n', '100000', '--out', warmFile], { stdio: ['ignore', 'ignore', 'inherit'] });
      const pw = await dnsperf(['-u', '-s', LOOPBACK, '-p', String(s.port), '-y', TSIG_Y, '-d', warmFile, '-n', '1', '-c', '1', '-q', String(inflight), '-t', '30'], 900_000);
      rmSync(warmFile, { force: true });
      warm = { acked: pw.rcodes.NOERROR ?? 0, applied: s.httpPort === undefined ? 0 : (await updateCounts(s.httpPort)).applied };
      log(`${LABEL[kind]} q${inflight} round ${round}: warm-up of ${WARMUP} at ${fmt(pw.perSecond, 1)} updates/s (not counted)`);
      await waitSettled(s);
    }
    const serialBefore = await soaSerial(s.port, ZONE);
    r.quiet = await waitQuiet();
    const a = snap();
    // Throughput exactly as the kit measures it: no -v, whose line per update costs dnsperf
    // (and so the machine) CPU that the server would otherwise get.
    const p = await dnsperf(['-u', '-s', LOOPBACK, '-p', String(s.port), '-y', TSIG_Y, '-d', updatesFile, '-n', '1', '-c', '1', '-q', String(inflight), '-t', '30'], 900_000);
    r.cpu = cpuSince(a, s.pid);
    r.perf = withoutStdout(p);
    r.afterUpdates = memKiB(s.pid);
    // Latency percentiles from a second, shorter run with -v at the same concurrency.
    const latFile = join(dirname(updatesFile), `updates-${tag}-lat.txt`);
    execFileSync('python3', [join(PEERS, 'gen_updates.py'), '--count', String(LAT_UPDATES), '--tag', `${tag}l`, '--n', '100000', '--out', latFile], { stdio: ['ignore', 'ignore', 'inherit'] });
    const pl = await dnsperf(['-u', '-s', LOOPBACK, '-p', String(s.port), '-y', TSIG_Y, '-d', latFile, '-n', '1', '-c', '1', '-q', String(inflight), '-t', '30', '-v'], 900_000);
    rmSync(latFile, { force: true });
    r.percentiles = await percentiles(pl.stdout);

    const problems: string[] = [];
    const marker = (await dig(['+short', '+norec', `@${LOOPBACK}`, '-p', String(s.port), `last-${tag}.bench.test`, 'TXT'])).stdout.trim();
    const markerVisible = marker === `"${tag}-${UPDATES}"`;
    if (!markerVisible) problems.push(`marker last-${tag} TXT is ${marker || 'missing'}`);
    const allNoerror = p.completed === UPDATES && p.rcodes.NOERROR === UPDATES;
    if (!allNoerror) problems.push(`sent ${p.sent}, completed ${p.completed}, rcodes ${JSON.stringify(p.rcodes)}`);
    const serialAfter = await soaSerial(s.port, ZONE);
    const dynNames = readFileSync(updatesFile, 'utf8').split('\n').filter((l) => l.startsWith(`add dyn-${tag}-`) && l.split(' ')[3] === 'A').map((l) => l.split(' ')[1]);
    const dynAnswered = await countDynAnswered(s.port, dynNames, dirname(updatesFile));
    if (dynAnswered !== dynNames.length) problems.push(`${dynAnswered} of ${dynNames.length} new dyn-* A records answered`);
    const v: Verification = { markerVisible, marker, allNoerror, serialBefore, serialAfter, dynExpected: dynNames.length, dynAnswered, ok: false, problems };
    if (WARMUP > 0) {
      v.warmupAcked = warm.acked;
      if (kind === 'zonelog') v.warmupApplied = warm.applied;
      if (warm.acked !== WARMUP) problems.push(`warm-up: ${warm.acked} of ${WARMUP} updates acknowledged`);
    }
    if (kind === 'zonelog') {
      // An update that changes nothing (its delete and add name the address the host already
      // has: about one in 65,536 of the generator's) is NOERROR without an event or a new serial,
      // in BIND as in zonelog. So the server's own counts of applied and unchanged updates must
      // add up to the NOERROR answers, the serial must have moved once per applied update, and
      // the store must hold one event per applied update.
      const counted = await updateCounts(s.httpPort!);
      v.updatesApplied = counted.applied;
      v.updatesUnchanged = counted.unchanged;
      // kill -9 next: what the store holds then is what survived without a clean shutdown.
      await stopServer(s, 'kill9');
      const c = await countStoreEvents(s.store!);
      v.storeHeadVersion = c.head;
      v.updateEvents = c.updates;
      v.updateEventsWithKey = c.withKey;
      const acked = warm.acked + (p.rcodes.NOERROR ?? 0) + (pl.rcodes.NOERROR ?? 0);
      if (counted.applied + counted.unchanged !== acked) problems.push(`${acked} updates acknowledged, the server counted ${counted.applied} applied and ${counted.unchanged} unchanged`);
      // serialBefore was read after the warm-up.
      const moved = serialAfter === undefined || serialBefore === undefined ? NaN : serialAfter - serialBefore;
      if (moved !== counted.applied - warm.applied) problems.push(`serial moved by ${moved}, the server counted ${counted.applied - warm.applied} applied updates after the warm-up`);
      v.everyAckDurable = c.updates === counted.applied && c.withKey === counted.applied && counted.applied + counted.unchanged === acked;
      if (c.updates !== counted.applied || c.withKey !== counted.applied) problems.push(`${counted.applied} updates applied, store has ${c.updates} update events (${c.withKey} naming ${KEY.name}), head version ${c.head}`);
    }
    v.ok = problems.length === 0;
    r.verify = v;
    log(`${LABEL[kind]} q${inflight} round ${round}: ${fmt(p.perSecond, 1)} updates/s, avg ${p.avgLatencyMs.toFixed(2)} ms, p50 ${r.percentiles.p50Ms.toFixed(2)} ms, p99 ${r.percentiles.p99Ms.toFixed(2)} ms, serial ${serialBefore} → ${serialAfter}, settled ${fmt(s.settleMs ?? NaN)} ms after start` +
      `${v.updateEvents === undefined ? '' : `, ${v.updateEvents} update events in the store`}; ${v.ok ? 'verified' : `PROBLEMS: ${problems.join('; ')}`}; server ${r.cpu.serverCores} cores, other ${r.cpu.otherCores}`);
  } catch (e) {
    r.error = (e as Error).message + (s ? `\nlast log lines:\n${s.logTail()}` : '');
    log(`${LABEL[kind]} q${inflight} round ${round} failed: ${r.error}`);
  } finally {
    if (s) {
      await stopServer(s);
      removeDir(s);
    }
  }
  return r;
}

async function updatePhase(zoneFile: string, dataDir: string, out: UpdateRun[]): Promise<void> {
  const stamp = Date.now().toString(36);
  for (let round = 1; round <= UPDATE_RUNS; round++) {
    for (const inflight of INFLIGHT) {
      // One file per round and setting, sent to every server: the same load for each.
      const tag = `u${stamp}r${round}q${inflight}`;
      const file = join(dataDir, `updates-${tag}.txt`);
      execFileSync('python3', [join(PEERS, 'gen_updates.py'), '--count', String(UPDATES), '--tag', tag, '--n', '100000', '--out', file], { stdio: ['ignore', 'ignore', 'inherit'] });
      try {
        for (const kind of SERVERS) out.push(await updateRun(kind, zoneFile, file, tag, inflight, round));
      } finally {
        rmSync(file, { force: true });
      }
    }
  }
}

// ---------------------------------------------------------------- report

function report(res: Results): string {
  const cols = SERVERS;
  const ratioTo = (['bind', 'knot'] as const).filter((k) => SERVERS.includes(k) && SERVERS.includes('zonelog'));
  const head = `| measure | ${cols.map((k) => LABEL[k]).join(' | ')} |${ratioTo.map((k) => ` zonelog ÷ ${LABEL[k]} |`).join('')}`;
  const lines = [head, `|---|${cols.map(() => '---|').join('')}${ratioTo.map(() => '---|').join('')}`];
  const row = (what: string, value: (k: Kind) => number | undefined, digits = 0, note?: (k: Kind) => string, ratios = true): void => {
    const v = Object.fromEntries(cols.map((k) => [k, value(k)])) as Record<Kind, number | undefined>;
    const cells = cols.map((k) => `${fmt(v[k], digits)}${note ? note(k) : ''}`);
    const rs = ratioTo.map((k) => {
      const z = v.zonelog, b = v[k];
      return ratios && z !== undefined && b !== undefined && Number.isFinite(z) && Number.isFinite(b) && b !== 0 ? (z / b).toFixed(2) : '';
    });
    lines.push(`| ${what} | ${cells.join(' | ')} |${rs.map((x) => ` ${x} |`).join('')}`);
  };
  const text = (what: string, value: (k: Kind) => string): void => {
    lines.push(`| ${what} | ${cols.map(value).join(' | ')} |${ratioTo.map(() => ' |').join('')}`);
  };

  if (res.queries) {
    const q = res.queries;
    const runsOf = (k: Kind): QueryRun[] => q.runs.filter((r) => r.server === k);
    const range = (k: Kind): string => {
      const xs = runsOf(k).map((r) => r.perSecond);
      return xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : '';
    };
    row(`queries/s, median of ${RUNS} × ${DURATION} s (min–max)`, (k) => median(runsOf(k).map((r) => r.perSecond)), 0, range);
    row('server CPU during query runs, cores', (k) => median(runsOf(k).map((r) => r.cpu.serverCores)), 2);
    row('queries/s per server core', (k) => median(runsOf(k).map((r) => r.perSecond / r.cpu.serverCores)));
    row('other processes during query runs, max cores (noise; want < 0.2)', (k) => Math.max(...runsOf(k).map((r) => r.cpu.otherCores)), 2, undefined, false);
    text('answers (first run)', (k) => {
      const r = runsOf(k)[0];
      if (!r) return q.facts[k]?.error ? 'did not start' : '–';
      const tot = Object.values(r.rcodes).reduce((a, b) => a + b, 0);
      return `${Object.entries(r.rcodes).map(([c, n]) => `${c} ${((n / tot) * 100).toFixed(1)} %`).join(', ')}; lost ${r.lost}; ${r.responseBytes} B`;
    });
    for (const rate of LAT_RATES) {
      const lat = (k: Kind): LatencyRun | undefined => q.latency.find((l) => l.server === k && l.rate === rate);
      row(`query latency p50 ms @ ${fmt(rate)} qps offered`, (k) => lat(k)?.percentiles.p50Ms, 3);
      row(`query latency p99 ms @ ${fmt(rate)} qps offered`, (k) => lat(k)?.percentiles.p99Ms, 3, (k) => {
        const l = lat(k);
        return l && l.achievedQps < rate * 0.98 ? ` (only ${fmt(l.achievedQps)} qps achieved)` : '';
      });
    }
    row('load: start to first authoritative SOA, ms', (k) => q.facts[k]?.loadMs);
    row('load: first SOA until the server\'s own CPU settles (< 0.05 cores over 1 s), ms', (k) => q.facts[k]?.settleMs);
    row('RSS after load, KiB', (k) => q.facts[k]?.afterLoad.rssKiB);
    row('RSS after the query runs, KiB', (k) => q.facts[k]?.afterQueries?.rssKiB);
  }
  if (res.updates) {
    for (const n of INFLIGHT) {
      const ok = (k: Kind): UpdateRun[] => res.updates!.filter((r) => r.server === k && r.inflight === n && r.perf);
      row(`updates/s, -q ${n}, median of ${UPDATE_RUNS} × ${fmt(UPDATES)}`, (k) => median(ok(k).map((r) => r.perf!.perSecond)), 1);
      row(`update latency avg ms, -q ${n}`, (k) => median(ok(k).map((r) => r.perf!.avgLatencyMs)), 2);
      row(`update latency p50 ms, -q ${n}`, (k) => median(ok(k).map((r) => r.percentiles!.p50Ms)), 2);
      row(`update latency p99 ms, -q ${n}`, (k) => median(ok(k).map((r) => r.percentiles!.p99Ms)), 2);
      row(`server CPU during updates, cores, -q ${n}`, (k) => median(ok(k).map((r) => r.cpu!.serverCores)), 2);
      row(`RSS after updates, KiB, -q ${n}`, (k) => median(ok(k).map((r) => r.afterUpdates!.rssKiB)));
      row(`other processes during updates, max cores, -q ${n} (noise; want < 0.2)`, (k) => Math.max(...ok(k).map((r) => r.cpu!.otherCores)), 2, undefined, false);
      text(`verified, -q ${n} (marker, all NOERROR, dyn-* A answered; zonelog: events in store after kill -9)`, (k) => {
        const all = res.updates!.filter((r) => r.server === k && r.inflight === n);
        if (all.length === 0) return '–';
        const good = all.filter((r) => r.verify?.ok).length;
        const serials = all.filter((r) => r.verify).map((r) => `${r.verify!.serialBefore}→${r.verify!.serialAfter}`).join(', ');
        const events = k === 'zonelog' ? `; events ${all.map((r) => r.verify?.updateEvents ?? '?').join(', ')}` : '';
        return `${good}/${all.length} ok; serial ${serials}${events}`;
      });
    }
  }
  if (ratioTo.length) lines.push('', 'Ratios above 1 favour zonelog for queries/s and updates/s; below 1 favour it for latency, CPU, memory and load time.');
  if (quick) lines.unshift('**--quick smoke run: these numbers only show that the benchmark works; they are not measurements.**', '');
  return lines.join('\n');
}

type Results = {
  time: string;
  options: Record<string, unknown>;
  machine: Record<string, unknown>;
  commands: Record<string, string>;
  queries?: QueryResults;
  updates?: UpdateRun[];
  loadavgAtStart: string;
  loadavgAtEnd?: string;
  markdown?: string;
};

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
  } catch (e) {
    return `(${cmd}: ${(e as Error).message.split('\n')[0]})`;
  }
}

function gitRevision(): string {
  try {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${rev} + uncommitted changes` : rev;
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const dataDir = join(DIR, 'data');
  const zoneFile = benchZone(dataDir);
  const queries = join(dataDir, 'queries.txt');
  const res: Results = {
    time: new Date().toISOString(),
    options: { quick, duration: DURATION, runs: RUNS, updates: UPDATES, updateRuns: UPDATE_RUNS, inflight: INFLIGHT, threads: THREADS, servers: SERVERS, latRates: LAT_RATES, latDuration: LAT_DURATION, quietWait: QUIET_WAIT, logLevel: LOG_LEVEL },
    machine: {
      nproc: cpus().length, cpu: cpus()[0]?.model, node: process.version, revision: gitRevision(),
      named: version('named', ['-v']), knotd: version('knotd', ['-V']), dnsperf: dnsperfVersion(),
    },
    commands: {
      queries: `dnsperf -s ${LOOPBACK} -p PORT -d queries.txt -l ${DURATION} -c ${CLIENTS} -T ${DNSPERF_THREADS} -q ${OUTSTANDING}`,
      latency: `dnsperf -s ${LOOPBACK} -p PORT -d queries.txt -l ${LAT_DURATION} -c ${CLIENTS} -T ${DNSPERF_THREADS} -q ${OUTSTANDING} -Q RATE -v | bench/peers/latency_pct.py`,
      updates: `dnsperf -u -s ${LOOPBACK} -p PORT -y ${KEY.algorithm}:${KEY.name}:<secret> -d updates.txt -n 1 -c 1 -q N -t 30  (updates.txt: gen_updates.py --count ${UPDATES} --tag TAG --n 100000); percentiles from a second run of ${LAT_UPDATES} with -v${WARMUP > 0 ? `; each after a warm-up of ${WARMUP} updates at the same settings on the same server, not counted` : ''}`,
      zonelog: `zonelog serve (test/support/server.ts), fresh sqlite store, query-threads ${THREADS}, ZONELOG_LOG_LEVEL=${LOG_LEVEL}`,
    },
    loadavgAtStart: loadavgText(),
  };
  log(`serve bench: zone ${zoneFile}; servers ${SERVERS.join(', ')}; ${quick ? 'QUICK smoke run (numbers mean nothing); ' : ''}load average ${res.loadavgAtStart}`);
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `serve-${res.time.replace(/[:.]/g, '-')}.json`);
  const save = (): void => writeFileSync(file, JSON.stringify(res, null, 2) + '\n');
  try {
    if (!opt['skip-queries']) {
      res.queries = { facts: {}, runs: [], latency: [], problems: [] };
      await queryPhase(zoneFile, queries, res.queries);
      save();
    }
    if (!opt['skip-updates']) {
      res.updates = [];
      await updatePhase(zoneFile, dataDir, res.updates);
    }
  } finally {
    await stopAll();
    res.loadavgAtEnd = loadavgText();
    res.markdown = report(res);
    save();
  }
  console.log(res.markdown);
  console.log(`\nCommands:\n- queries: \`${res.commands.queries}\`\n- latency: \`${res.commands.latency}\`\n- updates: \`${res.commands.updates}\`\n- ${res.commands.zonelog}`);
  log(`results in ${file}; load average at end ${res.loadavgAtEnd}`);
  const failed = (res.updates ?? []).filter((r) => r.error || !r.verify?.ok);
  const notStarted = Object.entries(res.queries?.facts ?? {}).filter(([, f]) => f?.error);
  const queryProblems = res.queries?.problems ?? [];
  if (failed.length || notStarted.length || queryProblems.length) {
    for (const [k, f] of notStarted) log(`${k} did not start for the query runs: ${f!.error}`);
    for (const p of queryProblems) log(`queries: ${p}`);
    for (const r of failed) log(`${r.server} q${r.inflight} round ${r.round}: ${r.error ?? r.verify!.problems.join('; ')}`);
    process.exitCode = 1;
  }
}

// dnsperf prints its version only inside -h, on stderr.
function dnsperfVersion(): string {
  const r = /Version\s+(\S+)/.exec(execFileSync('sh', ['-c', 'dnsperf -h 2>&1 || true'], { encoding: 'utf8' }));
  return r ? `dnsperf ${r[1]}` : 'unknown';
}

// Ctrl-C still stops every server this run started.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping servers`);
    void stopAll().finally(() => process.exit(130));
  });
}

await main();
