// Transfer benchmark (`npm run bench:xfr`): BIND, Knot and zonelog as primaries of the same
// 100k-host zone (bench/peers/gen_zone.py) after the same changes (bench/peers/gen_updates.py),
// in one run on one machine:
//   - a full AXFR: time and bytes (dig +tcp AXFR, wall time of the whole transfer);
//   - IXFR of the last 1, 100 and 1,000 changes: time, records, bytes, and whether the answer
//     really was incremental;
//   - replication latency to a Knot secondary: from each update's acknowledgement at the
//     primary until the secondary answers its serial (SOA polled every 2 ms), p50 and p99 over
//     --samples updates sent one at a time, --gap-ms apart. zonelog → Knot is compared with
//     BIND → Knot, both at default settings and tuned (BIND notify-delay 0; Knot zonefile-sync -1,
//     journal-content all), as the kit's run_repl_bench.sh does.
//
//   node bench/xfr.ts [--changes 1000] [--samples 200] [--gap-ms 50] [--quick] [--skip-repl] [--skip-xfr]
//                     [--pairs zonelog:knot-tuned,bind-tuned:knot-tuned]
//
// To try other Knot settings as "Knot tuned": KNOT_TUNED_ZONE (zone: lines, replacing the two
// above) and KNOT_TUNED_DB (database: lines, e.g. "journal-db-mode: asynchronous").
//
// Only loopback; every loop is bounded in count and time. Run it alone on the machine.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK, dig, freePort, run, soaSerial, startBind, startKnot, waitForSerial } from '../infra/peers.ts';
import { Class, Rcode, Type } from '../shared/dns/constants.ts';
import { exchangeUdp } from '../shared/dns/client.ts';
import { decodeMessage, emptyMessage, encodeMessage } from '../shared/dns/message.ts';
import { soaSerial as serialOf } from '../shared/zone/zone.ts';
import { startZonelog } from '../test/support/server.ts';
import { record, sendUpdate, tsigKey } from '../test/support/updates.ts';
import { benchZone } from './zone.ts';

const ZONE = 'bench.test.';
// The kit's test-only TSIG key (common.sh), so commands line up with its baselines.
const KEY = { name: 'bench-key', algorithm: 'hmac-sha256', secret: 'qF9qDp8lIKIrYFXxNPSL99gPbztVUXr1i2QBQsjmBRM=' };
const TSIG_Y = `${KEY.algorithm}:${KEY.name}:${KEY.secret}`;
const PEERS = fileURLToPath(new URL('./peers/', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const KNOT_TUNED = process.env.KNOT_TUNED_ZONE ?? 'zonefile-sync: -1\njournal-content: all';
const KNOT_TUNED_DB = process.env.KNOT_TUNED_DB;

const { values: opt } = parseArgs({
  options: {
    changes: { type: 'string' },
    samples: { type: 'string' },
    'gap-ms': { type: 'string' },
    'axfr-reps': { type: 'string' },
    quick: { type: 'boolean', default: false },
    'skip-repl': { type: 'boolean', default: false },
    'skip-xfr': { type: 'boolean', default: false },
    servers: { type: 'string' },
    pairs: { type: 'string' },
    dir: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log('usage: node bench/xfr.ts [--changes 1000] [--samples 200] [--gap-ms 50] [--axfr-reps 3] [--servers bind,knot,knot-tuned,zonelog] [--quick] [--skip-repl] [--skip-xfr] [--pairs P:S,...] [--dir DIR]');
  process.exit(0);
}
const quick = opt.quick;
const CHANGES = Number(opt.changes ?? (quick ? 100 : 1000));
const SAMPLES = Number(opt.samples ?? (quick ? 20 : 200));
const GAP_MS = Number(opt['gap-ms'] ?? 50);
const AXFR_REPS = Number(opt['axfr-reps'] ?? (quick ? 1 : 3));
const DIR = opt.dir ?? process.env.BENCH_DIR ?? join(tmpdir(), 'zonelog-bench');
const KINDS = ['bind', 'knot', 'knot-tuned', 'zonelog'] as const;
type Kind = (typeof KINDS)[number];
const SERVERS = (opt.servers ?? KINDS.join(',')).split(',').map((s) => s.trim()) as Kind[];
for (const s of SERVERS) if (!KINDS.includes(s)) throw new Error(`--servers: unknown ${s}`);
const LABEL: Record<Kind, string> = { bind: 'BIND', knot: 'Knot', 'knot-tuned': 'Knot tuned', zonelog: 'zonelog' };

const log = (s: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const fmt = (n: number | undefined, d = 0): string => (n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));

type Primary = { kind: Kind; port: number; dir: string; stop(): Promise<void> };

/** A primary of the bench zone that takes signed updates and notifies `notify` (a Knot secondary's port). */
async function startPrimary(kind: Kind | 'bind-tuned', zoneFile: string, notify?: number): Promise<Primary> {
  mkdirSync(join(DIR, 'servers'), { recursive: true });
  const dir = mkdtempSync(join(DIR, 'servers', `xfr-${kind}-`));
  if (kind === 'zonelog') {
    const h = await startZonelog({
      dir, keys: [KEY], logFile: join(dir, 'zonelog.log'), readyTimeoutMs: 600_000,
      zones: [{ name: ZONE, file: zoneFile, allowUpdate: [{ key: KEY.name }], allowTransfer: [{ address: '127.0.0.0/8' }], ...(notify ? { notify: [`${LOOPBACK}:${notify}`] } : {}) }],
    });
    return { kind, port: h.port, dir, stop: () => h.stop() };
  }
  const remote = notify ? [{ address: LOOPBACK, port: notify }] : undefined;
  const zone = {
    name: ZONE, role: 'primary' as const, file: zoneFile, allowUpdate: KEY.name, notify: remote,
    extra: kind === 'knot-tuned' ? KNOT_TUNED : kind === 'bind-tuned' ? 'notify-delay 0;' : undefined,
  };
  const h = await (kind === 'bind' || kind === 'bind-tuned' ? startBind : startKnot)({ dir, keys: [KEY], zones: [zone], readyTimeoutMs: 180_000 });
  return { kind: kind === 'bind-tuned' ? 'bind' : kind, port: h.port, dir, stop: () => h.stop() };
}

// ---------------------------------------------------------------- transfers

type Xfr = { ms: number; records: number; messages: number; bytes: number; incremental: boolean; rcodeOk: boolean };

/** One transfer through dig: wall time, and the size dig reports. */
async function digXfr(port: number, qtype: string): Promise<Xfr> {
  const t0 = performance.now();
  const r = await dig(['+tcp', '+noall', '+answer', '+stats', '+time=30', '+tries=1', `@${LOOPBACK}`, '-p', String(port), ZONE, qtype], { timeoutMs: 120_000 });
  const ms = performance.now() - t0;
  const size = /XFR size: (\d+) records \(messages (\d+), bytes (\d+)\)/.exec(r.stdout);
  const rrs = r.stdout.split('\n').filter((l) => l && !l.startsWith(';'));
  // Incremental: the second record is an SOA (the start of a difference sequence).
  const second = rrs[1]?.split(/\s+/)[3];
  return { ms, records: size ? Number(size[1]) : rrs.length, messages: size ? Number(size[2]) : 0, bytes: size ? Number(size[3]) : 0, incremental: second === 'SOA', rcodeOk: r.code === 0 && !/Transfer failed/.test(r.stdout) };
}

type XfrResult = { server: Kind; axfr: Xfr[]; changesApplied: number; serial: number; ixfr: Record<string, Xfr>; applyMs: number; error?: string };

async function xfrPhase(zoneFile: string, changesFile: string): Promise<XfrResult[]> {
  const out: XfrResult[] = [];
  for (const kind of SERVERS) {
    const r: XfrResult = { server: kind, axfr: [], changesApplied: 0, serial: 0, ixfr: {}, applyMs: 0 };
    let p: Primary | undefined;
    try {
      p = await startPrimary(kind, zoneFile);
      for (let i = 0; i < AXFR_REPS; i++) r.axfr.push(await digXfr(p.port, 'AXFR'));
      const s0 = (await soaSerial(p.port, ZONE))!;
      // The same changes, one at a time, so every server gives each its own serial.
      const t0 = performance.now();
      const up = await run('dnsperf', ['-u', '-s', LOOPBACK, '-p', String(p.port), '-y', TSIG_Y, '-d', changesFile, '-n', '1', '-c', '1', '-q', '1', '-t', '30'], { timeoutMs: 900_000 });
      r.applyMs = performance.now() - t0;
      r.changesApplied = Number(/NOERROR (\d+)/.exec(up.stdout)?.[1] ?? 0);
      r.serial = (await soaSerial(p.port, ZONE))!;
      for (const back of [1, 100, 1000].filter((n) => n <= CHANGES)) {
        r.ixfr[`last ${back}`] = await digXfr(p.port, `IXFR=${r.serial - back}`);
      }
      log(`${LABEL[kind]}: AXFR ${fmt(r.axfr[0].ms)} ms, ${fmt(r.axfr[0].bytes)} B; ${r.changesApplied} changes in ${fmt(r.applyMs)} ms, serial ${s0} → ${r.serial}; ` +
        Object.entries(r.ixfr).map(([k, x]) => `IXFR ${k}: ${fmt(x.ms, 1)} ms, ${x.records} RRs, ${x.incremental ? 'incremental' : 'FULL'}`).join('; '));
    } catch (e) {
      r.error = (e as Error).message;
      log(`${LABEL[kind]}: failed: ${r.error}`);
    } finally {
      await p?.stop();
      if (p) rmSync(p.dir, { recursive: true, force: true });
    }
    out.push(r);
  }
  return out;
}

// ---------------------------------------------------------------- replication

type Repl = { pair: string; samples: number[]; lost: number; p50: number; p99: number; max: number; error?: string };

async function serialAt(port: number): Promise<number | null> {
  const q = encodeMessage(emptyMessage({ id: Math.floor(Math.random() * 0x10000), question: [{ name: ZONE, type: Type.SOA, class: Class.IN }] }));
  try {
    const d = decodeMessage(await exchangeUdp(LOOPBACK, port, q, 500));
    const soa = d.ok && d.value.rcode === Rcode.NOERROR ? d.value.answer.find((rr) => rr.type === Type.SOA) : undefined;
    return soa ? serialOf(soa.rdata) : null;
  } catch {
    return null;
  }
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

type SecondaryKind = 'knot' | 'knot-tuned' | 'zonelog';

/** A secondary of the bench zone pulling from `primaryPort`, up once it holds the first copy. */
async function startSecondary(kind: SecondaryKind, port: number, primaryPort: number): Promise<{ port: number; dir: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(DIR, 'servers', `xfr-${kind}-secondary-`));
  if (kind === 'zonelog') {
    const h = await startZonelog({
      dir, port, logFile: join(dir, 'zonelog.log'), readyTimeoutMs: 300_000,
      zones: [{ name: ZONE, extra: { primaries: [`${LOOPBACK}:${primaryPort}`] } }],
    });
    return { port: h.port, dir, stop: () => h.stop() };
  }
  const k = await startKnot({
    port, dir, readyTimeoutMs: 180_000,
    zones: [{ name: ZONE, role: 'secondary', primaries: [{ address: LOOPBACK, port: primaryPort }], ...(kind === 'knot-tuned' ? { extra: KNOT_TUNED } : {}) }],
    ...(kind === 'knot-tuned' && KNOT_TUNED_DB ? { databaseOptions: KNOT_TUNED_DB } : {}),
  });
  return { port: k.port, dir, stop: () => k.stop() };
}

async function replPair(primaryKind: 'zonelog' | 'bind' | 'bind-tuned', secondaryKind: SecondaryKind, zoneFile: string): Promise<Repl> {
  const pair = `${primaryKind === 'zonelog' ? 'zonelog' : primaryKind === 'bind' ? 'BIND' : 'BIND tuned'} → ${secondaryKind === 'zonelog' ? 'zonelog' : secondaryKind === 'knot' ? 'Knot' : 'Knot tuned'}`;
  const res: Repl = { pair, samples: [], lost: 0, p50: NaN, p99: NaN, max: NaN };
  let p: Primary | undefined;
  let k: { port: number; dir: string; stop(): Promise<void> } | undefined;
  try {
    const secondaryPort = await freePort();
    p = await startPrimary(primaryKind, zoneFile, secondaryPort);
    k = await startSecondary(secondaryKind, secondaryPort, p.port);
    const s0 = (await soaSerial(p.port, ZONE))!;
    await waitForSerial(k.port, ZONE, s0, 300_000);
    await sleep(1000);
    // Poll the secondary while updates go to the primary, one at a time, GAP_MS apart.
    const acked = new Map<number, number>();
    const seen = new Map<number, number>();
    let polling = true;
    let highest = s0;
    const poller = (async () => {
      const deadline = Date.now() + SAMPLES * (GAP_MS + 200) + 60_000;
      while ((polling || highest < s0 + SAMPLES) && Date.now() < deadline) {
        const s = await serialAt(k!.port);
        const now = performance.now();
        if (s !== null && s > highest) {
          for (let x = highest + 1; x <= s; x++) seen.set(x, now);
          highest = s;
        }
        await sleep(2);
      }
    })();
    const key = tsigKey(KEY);
    for (let i = 1; i <= SAMPLES; i++) {
      const o = await sendUpdate(p.port, { zone: ZONE, update: [record(`lat-${i}.${ZONE} 300 IN A 10.250.${i >> 8}.${i & 255}`)] }, { key });
      if (o.rcode === Rcode.NOERROR) acked.set(s0 + i, performance.now());
      await sleep(GAP_MS);
    }
    polling = false;
    await poller;
    for (const [s, t] of acked) {
      const at = seen.get(s);
      if (at === undefined) res.lost++;
      else res.samples.push(Math.max(0, at - t));
    }
    res.p50 = pct(res.samples, 50);
    res.p99 = pct(res.samples, 99);
    res.max = Math.max(...res.samples);
    log(`${pair}: ${res.samples.length} samples, p50 ${fmt(res.p50, 1)} ms, p99 ${fmt(res.p99, 1)} ms, max ${fmt(res.max, 1)} ms, not seen ${res.lost}`);
  } catch (e) {
    res.error = (e as Error).message;
    log(`${pair}: failed: ${res.error}`);
  } finally {
    await k?.stop();
    await p?.stop();
    if (k) rmSync(k.dir, { recursive: true, force: true });
    if (p) rmSync(p.dir, { recursive: true, force: true });
  }
  return res;
}

// ---------------------------------------------------------------- report

function report(xfr: XfrResult[], repl: Repl[]): string {
  const lines: string[] = [];
  const z = xfr.find((r) => r.server === 'zonelog');
  if (xfr.length) {
    const others = xfr.filter((r) => r.server !== 'zonelog');
    lines.push(`| measure | ${xfr.map((r) => LABEL[r.server]).join(' | ')} |${others.map((o) => ` zonelog ÷ ${LABEL[o.server]} |`).join('')}`);
    lines.push(`|---|${xfr.map(() => '---|').join('')}${others.map(() => '---|').join('')}`);
    const row = (name: string, f: (r: XfrResult) => number | undefined, d = 0, ratio = true): void => {
      lines.push(`| ${name} | ${xfr.map((r) => fmt(f(r), d)).join(' | ')} |${others.map((o) => ` ${ratio && z ? fmt((f(z) ?? NaN) / (f(o) ?? NaN), 2) : ''} |`).join('')}`);
    };
    const med = (xs: number[]): number => pct(xs, 50);
    row(`AXFR ms (median of ${AXFR_REPS})`, (r) => med(r.axfr.map((a) => a.ms)), 1);
    row('AXFR bytes', (r) => r.axfr[0]?.bytes);
    row('AXFR messages', (r) => r.axfr[0]?.messages);
    row('AXFR records', (r) => r.axfr[0]?.records, 0, false);
    // Setup, not a measure: dnsperf -q 1 paces itself, and fast answers can wait on its own wakeups.
    row(`${CHANGES} changes applied one at a time (setup; dnsperf -q 1), ms`, (r) => r.applyMs, 0, false);
    for (const k of Object.keys(z?.ixfr ?? xfr[0]?.ixfr ?? {})) {
      row(`IXFR ${k}: ms`, (r) => r.ixfr[k]?.ms, 1);
      row(`IXFR ${k}: records`, (r) => r.ixfr[k]?.records, 0, false);
      row(`IXFR ${k}: bytes`, (r) => r.ixfr[k]?.bytes);
      lines.push(`| IXFR ${k}: incremental? | ${xfr.map((r) => (r.ixfr[k] ? (r.ixfr[k].incremental ? 'yes' : '**no, full zone**') : '–')).join(' | ')} |${others.map(() => ' |').join('')}`);
    }
  }
  if (repl.length) {
    lines.push('', `| replication, ${SAMPLES} updates ${GAP_MS} ms apart | p50 ms | p99 ms | max ms | not seen |`, '|---|---|---|---|---|');
    for (const r of repl) lines.push(`| ${r.pair} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.max, 1)} | ${r.error ? `failed: ${r.error.split('\n')[0]}` : r.lost} |`);
    const zl = repl.find((r) => r.pair === 'zonelog → Knot tuned');
    const bt = repl.find((r) => r.pair === 'BIND tuned → Knot tuned');
    const zd = repl.find((r) => r.pair === 'zonelog → Knot');
    const bd = repl.find((r) => r.pair === 'BIND → Knot');
    lines.push('');
    if (zl && bt) lines.push(`zonelog → Knot tuned ÷ BIND tuned → Knot tuned: p50 ${fmt(zl.p50 / bt.p50, 2)}, p99 ${fmt(zl.p99 / bt.p99, 2)}`);
    if (zd && bd) lines.push(`zonelog → Knot ÷ BIND → Knot (defaults): p50 ${fmt(zd.p50 / bd.p50, 2)}, p99 ${fmt(zd.p99 / bd.p99, 2)}`);
    const bz = repl.find((r) => r.pair === 'BIND tuned → zonelog');
    if (bz && bt) lines.push(`BIND tuned → zonelog ÷ BIND tuned → Knot tuned (zonelog as the secondary): p50 ${fmt(bz.p50 / bt.p50, 2)}, p99 ${fmt(bz.p99 / bt.p99, 2)}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const data = join(DIR, 'data');
  const zoneFile = benchZone(data);
  log(`xfr bench: zone ${zoneFile}; ${CHANGES} changes; ${SAMPLES} replication samples ${GAP_MS} ms apart`);
  const changesFile = join(data, `changes-${CHANGES}.txt`);
  execFileSync('python3', [join(PEERS, 'gen_updates.py'), '--count', String(CHANGES), '--tag', 'x', '--n', '100000', '--out', changesFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  const xfr = opt['skip-xfr'] ? [] : await xfrPhase(zoneFile, changesFile);
  const repl: Repl[] = [];
  if (!opt['skip-repl']) {
    // zonelog as the primary of Knot against BIND as the primary of Knot, at defaults and tuned;
    // then zonelog as the secondary of BIND (NOTIFY at once) against Knot tuned in that place.
    const pairs = [['zonelog', 'knot'], ['bind', 'knot'], ['zonelog', 'knot-tuned'], ['bind-tuned', 'knot-tuned'], ['bind-tuned', 'zonelog']] as const;
    // --pairs zonelog:knot-tuned,bind-tuned:knot-tuned runs only those.
    const only = opt.pairs?.split(',').map((p) => p.trim());
    for (const [primary, secondary] of pairs) if (!only || only.includes(`${primary}:${secondary}`)) repl.push(await replPair(primary, secondary, zoneFile));
  }
  const table = report(xfr, repl);
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `xfr-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ changes: CHANGES, samples: SAMPLES, gapMs: GAP_MS, xfr, repl: repl.map((r) => ({ ...r, samples: undefined })), table }, null, 2));
  console.log(table);
  console.log(`\nCommands:\n- AXFR/IXFR: \`dig +tcp +noall +answer +stats @${LOOPBACK} -p PORT ${ZONE} AXFR\` and \`... IXFR=SERIAL\` (wall time of dig)\n- changes: \`dnsperf -u -s ${LOOPBACK} -p PORT -y ${KEY.algorithm}:${KEY.name}:<secret> -d changes.txt -n 1 -c 1 -q 1\` (changes.txt: gen_updates.py --count ${CHANGES} --tag x --n 100000)\n- replication: one signed UPDATE at a time to the primary, ${GAP_MS} ms apart; the Knot secondary's SOA polled over UDP every 2 ms`);
  log(`results in ${file}`);
}

await main();
