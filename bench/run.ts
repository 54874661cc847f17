// Foundation benchmarks (`npm run bench`): zonelog beside BIND and Knot on the same zone, in one run.
//
// Measures, on the team's 100k-host DHCP/AD zone (153,630 records):
//   - import: zone file to a durable ZoneCreated event, against BIND's and Knot's load time;
//   - replay: the zone rebuilt from 100k small ZoneChanged events, without and with a snapshot;
//   - memory: resident memory of the projection per record, against BIND's and Knot's RSS.
// Environment: BENCH_DIR (scratch, default $TMPDIR/zonelog-bench), RUNS (default 3),
// REPLAY_EVENTS (default 100000), BENCH_POSTGRES (a postgres:// URL to also time imports there).

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBind, startKnot, type PeerHandle } from '../infra/peers.ts';
import { benchZone } from './zone.ts';

const DIR = process.env.BENCH_DIR ?? join(tmpdir(), 'zonelog-bench');
const RUNS = Number(process.env.RUNS ?? 3);
const REPLAY_EVENTS = Number(process.env.REPLAY_EVENTS ?? 100_000);
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

function worker(args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', WORKER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`worker ${args[0]} exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function peer(kind: 'bind' | 'knot', zoneFile: string): Promise<{ loadMs: number; rssKiB: number }> {
  const start = performance.now();
  const h: PeerHandle = await (kind === 'bind' ? startBind : startKnot)({ zones: [{ name: 'bench.test.', role: 'primary', file: zoneFile }], readyTimeoutMs: 120_000 });
  const loadMs = performance.now() - start;
  try {
    return { loadMs, rssKiB: rssKiB(h.pid) };
  } finally {
    await h.stop();
  }
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const zoneFile = benchZone(join(DIR, 'data'));
  const records = 153_630;
  const results: Record<string, unknown> = { time: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, loadavgAtStart: loadavg() };
  console.error(`bench: zone ${zoneFile}; ${RUNS} runs each; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  // Peers first: load time (start to first authoritative SOA) and resident memory with the zone.
  const peers: Record<string, { loadMs: number; rssKiB: number }[]> = { bind: [], knot: [] };
  for (let i = 0; i < RUNS; i++) for (const k of ['bind', 'knot'] as const) peers[k].push(await peer(k, zoneFile));
  results.peers = peers;

  // Import into a fresh embedded store each run.
  const imports: Record<string, number>[] = [];
  for (let i = 0; i < RUNS; i++) {
    const db = join(DIR, `import-${i}.db`);
    rmSync(db, { force: true });
    imports.push(await worker(['import', `sqlite:${db}`, zoneFile]));
    rmSync(db, { force: true });
  }
  results.importSqlite = imports;
  if (process.env.BENCH_POSTGRES) {
    const pg: Record<string, number>[] = [];
    for (let i = 0; i < RUNS; i++) pg.push(await worker(['import', `${process.env.BENCH_POSTGRES}${process.env.BENCH_POSTGRES.includes('?') ? '&' : '?'}schema=bench_import_${Date.now()}_${i}`, zoneFile]));
    results.importPostgres = pg;
  }

  // Replay: the zone plus REPLAY_EVENTS lease renewals, rebuilt without and with a snapshot.
  const replayDb = join(DIR, 'replay.db');
  rmSync(replayDb, { force: true });
  results.replaySetup = await worker(['setup-replay', `sqlite:${replayDb}`, zoneFile, String(REPLAY_EVENTS)]);
  const full: Record<string, number>[] = [];
  const snap: Record<string, number>[] = [];
  for (let i = 0; i < RUNS; i++) {
    full.push(await worker(['replay', `sqlite:${replayDb}`, 'none']));
    snap.push(await worker(['replay', `sqlite:${replayDb}`, 'snapshot']));
  }
  results.replayFull = full;
  results.replaySnapshot = snap;
  const mem: Record<string, number>[] = [];
  for (let i = 0; i < RUNS; i++) mem.push(await worker(['memory', `sqlite:${replayDb}`]));
  results.memory = mem;
  results.loadavgAtEnd = loadavg();
  writeFileSync(join(DIR, 'results.json'), JSON.stringify(results, null, 2));

  const bindLoad = median(peers.bind.map((p) => p.loadMs));
  const knotLoad = median(peers.knot.map((p) => p.loadMs));
  const bindRss = median(peers.bind.map((p) => p.rssKiB));
  const knotRss = median(peers.knot.map((p) => p.rssKiB));
  const imp = median(imports.map((r) => r.totalMs));
  const fullMs = median(full.map((r) => r.ms));
  const snapMs = median(snap.map((r) => r.ms));
  const rssAfter = median(mem.map((r) => r.rssAfterKiB));
  const perRecord = median(mem.map((r) => r.bytesPerRecord));
  const heapPerRecord = median(mem.map((r) => r.heapBytesPerRecord));
  const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const lines = [
    `| measure (median of ${RUNS}) | zonelog | BIND 9 | Knot | zonelog ÷ BIND | zonelog ÷ Knot |`,
    '|---|---|---|---|---|---|',
    `| 100k zone (153,630 records) to serving/stored, ms | ${f(imp)} (import, durable) | ${f(bindLoad)} (load) | ${f(knotLoad)} (load) | ${(imp / bindLoad).toFixed(2)} | ${(imp / knotLoad).toFixed(2)} |`,
    `| import rate, records/s | ${f(records / (imp / 1000))} | ${f(records / (bindLoad / 1000))} | ${f(records / (knotLoad / 1000))} | ${(bindLoad / imp).toFixed(2)} | ${(knotLoad / imp).toFixed(2)} |`,
    `| resident memory with the zone, KiB | ${f(rssAfter)} (process) | ${f(bindRss)} | ${f(knotRss)} | ${(rssAfter / bindRss).toFixed(2)} | ${(rssAfter / knotRss).toFixed(2)} |`,
    `| resident bytes per record | ${f(perRecord)} (projection only; heap ${f(heapPerRecord)}) | ${f((bindRss * 1024) / records)} (whole server) | ${f((knotRss * 1024) / records)} (whole server) | ${(perRecord / ((bindRss * 1024) / records)).toFixed(2)} | ${(perRecord / ((knotRss * 1024) / records)).toFixed(2)} |`,
    `| replay ${f(REPLAY_EVENTS)} ZoneChanged events, no snapshot, ms | ${f(fullMs)} (${f(median(full.map((r) => r.eventsPerSec)))} events/s) | | | | |`,
    `| replay from the latest snapshot (${f(median(snap.map((r) => r.eventsReplayed)))} events after it), ms | ${f(snapMs)} | | | | |`,
  ];
  if (results.importPostgres) lines.push(`| import into PostgreSQL, ms | ${f(median((results.importPostgres as Record<string, number>[]).map((r) => r.totalMs)))} | | | | |`);
  console.log(lines.join('\n'));
  console.error(`bench: raw results in ${join(DIR, 'results.json')}; load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

await main();
