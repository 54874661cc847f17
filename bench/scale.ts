// Secondary scale (`npm run bench:scale`): one zonelog secondary of N small zones (default
// 10,000) from one BIND primary. Reports the time to the first full sync, zonelog's CPU and
// memory, the most checks that ran at once (transfers-in), and then, over a window of their SOA
// refresh timers, how evenly the refresh checks spread: checks per second, mean and maximum.
//
//   node bench/scale.ts [--zones 10000] [--refresh 20] [--window 40] [--transfers-in 10] [--quick]
//
// Only loopback; every wait is bounded.

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK, freePort, startBind } from '../infra/peers.ts';
import { startZonelog } from '../test/support/server.ts';

const { values: opt } = parseArgs({
  options: {
    zones: { type: 'string' },
    refresh: { type: 'string' },
    window: { type: 'string' },
    'transfers-in': { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const N = Number(opt.zones ?? (opt.quick ? 500 : 10_000));
const REFRESH = Number(opt.refresh ?? 20);
const WINDOW = Number(opt.window ?? (opt.quick ? 25 : 2 * REFRESH));
const TRANSFERS_IN = Number(opt['transfers-in'] ?? 10);
const DIR = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'zonelog-scale-'));
const log = (s: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

const HZ = 100;
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / HZ;
}
function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}
async function metric(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://${LOOPBACK}:${httpPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}

async function main(): Promise<void> {
  const names = Array.from({ length: N }, (_, i) => `z${i}.scale.test.`);
  const zoneText = (i: number): string => `$TTL 300\n@ SOA ns1 hostmaster ${i + 1} ${REFRESH} 10 86400 300\n NS ns1\nns1 A 127.0.0.1\nwww A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\n`;
  log(`starting BIND with ${N} zones`);
  const bind = await startBind({
    dir: join(DIR, 'bind'), readyTimeoutMs: 600_000, readyZones: [names[0], names[N - 1]],
    zones: names.map((name, i) => ({ name, role: 'primary' as const, file: zoneText(i), allowTransfer: [{ address: '127.0.0.0/8' }] })),
  });
  mkdirSync(join(DIR, 'zonelog'), { recursive: true });
  log(`starting zonelog as the secondary of all ${N}, transfers-in ${TRANSFERS_IN}`);
  const t0 = performance.now();
  const z = await startZonelog({
    dir: join(DIR, 'zonelog'), port: await freePort(), noWait: true, logFile: join(DIR, 'zonelog', 'zonelog.log'),
    extra: { 'transfers-in': TRANSFERS_IN },
    zones: names.map((name) => ({ name, extra: { primaries: [`${LOOPBACK}:${bind.port}`], 'min-refresh-time': 1, 'min-retry-time': 1 } })),
  });
  let fresh = 0;
  const deadline = Date.now() + 900_000;
  while (Date.now() < deadline) {
    await sleep(500);
    try {
      const st = (await (await fetch(`http://${LOOPBACK}:${z.httpPort}/zones`)).json()) as { state: string; serial: number | null }[];
      fresh = st.filter((s) => s.state === 'fresh' && s.serial !== null).length;
    } catch {
      continue;
    }
    if (fresh === N) break;
  }
  const syncS = (performance.now() - t0) / 1000;
  const cpuSync = cpuSeconds(z.pid);
  const rssSync = rssKiB(z.pid);
  const health = (await (await fetch(`http://${LOOPBACK}:${z.httpPort}/healthz`)).json()) as { secondaryChecks: { peak: number } };
  log(`first full sync: ${fresh}/${N} zones fresh after ${syncS.toFixed(1)} s; CPU ${cpuSync.toFixed(1)} s; RSS ${rssSync} KiB; peak concurrent checks ${health.secondaryChecks.peak}`);

  // Refresh checks over the window, second by second.
  const perSecond: number[] = [];
  let last = await metric(z.httpPort!, 'zonelog_secondary_checks_total');
  const cpu0 = cpuSeconds(z.pid);
  for (let s = 0; s < WINDOW; s++) {
    await sleep(1000);
    const now = await metric(z.httpPort!, 'zonelog_secondary_checks_total');
    perSecond.push(now - last);
    last = now;
  }
  const total = perSecond.reduce((a, b) => a + b, 0);
  const mean = total / perSecond.length;
  const max = Math.max(...perSecond);
  const cpuWindow = cpuSeconds(z.pid) - cpu0;
  log(`refresh window ${WINDOW} s (SOA refresh ${REFRESH} s; first refresh spread over a period, then 90–100 %): ${total} checks, ${mean.toFixed(0)}/s on average, at most ${max}/s; CPU ${(cpuWindow / WINDOW * 100).toFixed(1)} % of a core`);
  console.log(`| measure | value |\n|---|---|\n| zones | ${N} |\n| time to first full sync | ${syncS.toFixed(1)} s |\n| zonelog CPU to first full sync | ${cpuSync.toFixed(1)} s |\n| zonelog RSS after sync | ${(rssSync / 1024).toFixed(0)} MiB |\n| most checks at once (transfers-in ${TRANSFERS_IN}) | ${health.secondaryChecks.peak} |\n| refresh checks per second over ${WINDOW} s, mean / max (ideal mean ${(N / REFRESH).toFixed(0)}) | ${mean.toFixed(0)} / ${max} |\n| zonelog CPU while refreshing | ${(cpuWindow / WINDOW * 100).toFixed(1)} % of a core |`);
  await z.stop();
  await bind.stop();
  rmSync(DIR, { recursive: true, force: true });
}

await main();
