// A zonelog secondary under faults: a transfer cut off mid-stream, a delta that deletes an
// absent record, and a primary that goes away past the SOA expire and comes back.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { LOOPBACK, dig, freePort, soaSerial, startBind, waitUntil, type PeerHandle } from '../../infra/peers.ts';
import { Class, Rcode, Type } from '../../shared/dns/constants.ts';
import type { RR } from '../../shared/dns/message.ts';
import type { Changeset } from '../../shared/zone/changeset.ts';
import { loadZoneText } from '../../shared/zone/load.ts';
import { soaOf, withSerial, type Zone } from '../../shared/zone/zone.ts';
import { zonelog } from '../support/cli.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';
import { startTestPrimary } from '../support/test-primary.ts';
import { record, sendUpdate } from '../support/updates.ts';

const ORIGIN = 'faults.test.';
const zoneAt = (serial: number, body: string, timers = '1 1 3600 60'): Zone =>
  loadZoneText(`$TTL 300\n@ SOA ns1 hostmaster ${serial} ${timers}\n NS ns1\nns1 A 127.0.0.1\n${body}`, 'z', { origin: ORIGIN }).zone;
const a = (owner: string, ip: string): RR => ({ name: `${owner}.${ORIGIN}`, type: Type.A, class: Class.IN, ttl: 300, rdata: new Uint8Array(ip.split('.').map(Number)) });
const body10 = Array.from({ length: 100 }, (_, i) => `h${i} A 10.0.0.${i}`).join('\n') + '\n';
const v10 = zoneAt(10, body10);
// Serial 11 adds new and 60 more names: its IXFR spans several messages, so a cut can fall mid-stream.
const more = Array.from({ length: 60 }, (_, i) => a(`more${i}`, `10.7.0.${i}`));
const v11 = zoneAt(11, body10 + 'new A 10.9.0.1\n' + more.map((r) => `${r.name} A 10.7.0.${r.rdata[3]}`).join('\n') + '\n');
const soaAt = (serial: number): RR => ({ ...soaOf(v10)!, rdata: withSerial(soaOf(v10)!.rdata, serial) });
const good: Changeset[] = [{ soaFrom: soaAt(10), soaTo: soaAt(11), removed: [], added: [a('new', '10.9.0.1'), ...more] }];
const bad: Changeset[] = [{ soaFrom: soaAt(10), soaTo: soaAt(11), removed: [a('nosuch', '10.8.0.1')], added: [a('new', '10.9.0.1'), ...more] }];

const answers = async (port: number, name: string): Promise<string> => (await dig(['+short', '+time=1', '+tries=1', `@${LOOPBACK}`, '-p', String(port), name, 'A'])).stdout.trim();
const status = async (port: number, name: string): Promise<string> => /status: (\w+)/.exec((await dig(['+time=1', '+tries=1', `@${LOOPBACK}`, '-p', String(port), name, 'A'])).stdout)?.[1] ?? '?';

describe('a secondary under faults', { timeout: 120_000 }, () => {
  const running: { stop(): Promise<void> }[] = [];
  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
  });

  async function secondaryOf(primaryPort: number): Promise<ServerHandle> {
    const z = await startZonelog({
      zones: [{ name: ORIGIN, extra: { primaries: [`${LOOPBACK}:${primaryPort}`], 'min-refresh-time': 1, 'min-retry-time': 1 } }],
    });
    running.push(z);
    return z;
  }

  for (const fault of ['torn', 'bad-delta'] as const) {
    it(fault === 'torn' ? 'a transfer cut off mid-stream changes nothing, and the next attempt succeeds' : 'a delta deleting an absent record is refused whole; AXFR follows and the zone converges', async () => {
      const p = await startTestPrimary(await freePort(), { zone: v10, ixfr: () => (fault === 'bad-delta' ? bad : good) });
      running.push(p);
      const z = await secondaryOf(p.port);
      assert.equal(await soaSerial(z.port, ORIGIN), 10);
      // The primary moves to 11; with `torn`, its next answer is cut in the middle.
      if (fault === 'torn') p.script.cutNextAt = 1200;
      p.script.zone = v11;
      await waitUntil('the secondary at serial 11', async () => ((await soaSerial(z.port, ORIGIN)) === 11 ? true : undefined), { timeoutMs: 20_000 });
      assert.equal(await answers(z.port, `new.${ORIGIN}`), '10.9.0.1');
      assert.equal(await answers(z.port, `h5.${ORIGIN}`), '10.0.0.5');
      // Log lines reach us up to 100 ms late (pino buffers): wait for the one of this transfer.
      await waitUntil('the transfer logged', async () => (z.logLines().some((l) => l.msg === 'transfer in' && l.serialTo === 11) ? true : undefined), { timeoutMs: 2000 });
      const logs = z.logLines();
      const ins = logs.filter((l) => l.msg === 'transfer in').map((l) => [l.kind, l.serialFrom, l.serialTo]);
      if (fault === 'torn') {
        assert.ok(logs.some((l) => l.msg === 'refresh from primary failed' && /closed before the answer's final SOA/.test(String(l.reason))), `the torn attempt is logged: ${JSON.stringify(logs.filter((l) => Number(l.level) >= 40))}`);
        assert.deepEqual(p.asked, ['AXFR', 'IXFR 10', 'IXFR 10']);
        assert.deepEqual(ins, [['axfr', null, 10], ['ixfr', 10, 11]]);
      } else {
        assert.ok(logs.some((l) => l.msg === 'IXFR refused whole: it does not apply to our zone; trying AXFR' && /removes nosuch\.faults\.test\..*not in the zone/.test(String(l.reason))));
        assert.deepEqual(p.asked, ['AXFR', 'IXFR 10', 'AXFR']);
        assert.deepEqual(ins, [['axfr', null, 10], ['axfr', 10, 11]]);
      }
      if (fault === 'torn') {
        // Updates go to the primary: a secondary refuses them, as BIND does without forwarding.
        const up = await sendUpdate(z.port, { zone: ORIGIN, update: [record(`x.${ORIGIN} 300 IN A 10.5.5.5`)] });
        assert.equal(up.rcode, Rcode.REFUSED);
      }
      // Nothing in between was ever served: one event for the initial copy, one for serial 11.
      const events = logs.filter((l) => l.msg === 'transfer in').reduce((n, l) => n + Number(l.events), 0);
      assert.equal(events, 2);
    });
  }

  it('kill -9 in the middle of a 100k-record AXFR: after a restart never a partial zone, and it converges', async () => {
    const big = zoneAt(42, Array.from({ length: 100_000 }, (_, i) => `host${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).join('\n') + '\n');
    const p = await startTestPrimary(await freePort(), { zone: big, pauseNextAt: { at: 2_000_000, ms: 60_000 } });
    running.push(p);
    const z1 = await startZonelog({ noWait: true, zones: [{ name: ORIGIN, extra: { primaries: [`${LOOPBACK}:${p.port}`], 'min-refresh-time': 1, 'min-retry-time': 1 } }] });
    running.push(z1);
    // The primary has sent about 40 % of the zone and holds the rest back: the transfer is under way.
    await waitUntil('the AXFR under way', async () => (p.asked.includes('AXFR') ? true : undefined), { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 500));
    await z1.kill9();
    const z2 = await startZonelog({ dir: z1.dir, store: z1.store, port: z1.port, noWait: true, zones: [{ name: ORIGIN, extra: { primaries: [`${LOOPBACK}:${p.port}`], 'min-refresh-time': 1, 'min-retry-time': 1 } }] });
    running.push(z2);
    // Until the zone is whole it is not served at all; a name from the far end is never NXDOMAIN.
    const seen = new Set<string>();
    await waitUntil('the whole zone served', async () => {
      const st = await status(z2.port, `host99999.${ORIGIN}`);
      seen.add(st);
      return st === 'NOERROR' ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 50 });
    assert.ok(!seen.has('NXDOMAIN'), `answers seen while converging: ${[...seen].join(', ')}`);
    assert.equal(await soaSerial(z2.port, ORIGIN), 42);
    assert.equal(await answers(z2.port, `host0.${ORIGIN}`), '10.0.0.0');
    assert.equal(await answers(z2.port, `host54321.${ORIGIN}`), '10.0.212.49');
    await waitUntil('the transfer logged', async () => (z2.logLines().some((l) => l.msg === 'transfer in') ? true : undefined), { timeoutMs: 2000 });
    const created = z2.logLines().filter((l) => l.msg === 'transfer in');
    assert.deepEqual(created.map((l) => [l.kind, l.serialTo, l.events]), [['axfr', 42, 1]], 'one whole transfer, stored as one event');
  });

  it('expires after the SOA expire without a primary, answering SERVFAIL, and recovers when it returns', async () => {
    const secret = createHash('sha256').update('zonelog expiry').digest('base64');
    const port = await freePort();
    // refresh 1, retry 1, expire 4 (seconds)
    const text = `$TTL 300\n@ SOA ns1 hostmaster 7 1 1 4 60\n NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.80\n`;
    let bind: PeerHandle = await startBind({ port, keys: [{ name: 'k', algorithm: 'hmac-sha256', secret }], zones: [{ name: ORIGIN, role: 'primary', file: text }] });
    const dir = bind.dir;
    running.push({ stop: () => bind.stop() });
    const z = await secondaryOf(port);
    assert.equal(await answers(z.port, `www.${ORIGIN}`), '192.0.2.80');
    await bind.stop();
    await waitUntil('SERVFAIL after expire', async () => ((await status(z.port, `www.${ORIGIN}`)) === 'SERVFAIL' ? true : undefined), { timeoutMs: 15_000 });
    // Log lines reach the file up to 100 ms after the fact (pino buffers).
    const logged = (msg: string) => waitUntil(`the log line "${msg}"`, async () => (z.logLines().some((l) => l.msg === msg) ? true : undefined), { timeoutMs: 2000 });
    await logged('zone expired: no primary reached within the SOA expire; answering SERVFAIL');
    const during = await zonelog(['status', '--config', z.configFile]);
    assert.equal(during.code, 1, during.stderr);
    assert.match(during.stdout, /^1 zone needs checking\.\nfaults\.test\.  secondary  serial 7  expired  last ok \S+  next \S+  error: 127\.0\.0\.1#\d+: /);
    bind = await startBind({ port, dir, keys: [{ name: 'k', algorithm: 'hmac-sha256', secret }], zones: [{ name: ORIGIN, role: 'primary', file: text }] });
    await waitUntil('answers again', async () => ((await answers(z.port, `www.${ORIGIN}`)) === '192.0.2.80' ? true : undefined), { timeoutMs: 15_000 });
    await logged('zone no longer expired: a primary answered');
    // With a refresh of 1 s the zone may be in a routine check at any moment: fresh either way.
    const st = await fetch(`http://${LOOPBACK}:${z.httpPort}/zones`).then((r) => r.json()) as { zone: string; state: string; serial: number; lastError: string | null }[];
    assert.deepEqual(st.map((s) => [s.zone, s.state === 'refreshing' ? 'fresh' : s.state, s.serial, s.lastError]), [[ORIGIN, 'fresh', 7, null]]);
    const now = await zonelog(['status', '--config', z.configFile]);
    assert.equal(now.code, 0, now.stderr);
    assert.match(now.stdout, /^All 1 secondary zone is fresh\.\nfaults\.test\.  secondary  serial 7  (fresh|refreshing)  last ok /);
  });
});
