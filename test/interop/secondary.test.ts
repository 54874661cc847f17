// zonelog as a secondary in a chain of real servers: BIND → zonelog → Knot, then Knot → zonelog
// → BIND. After 500 nsupdate changes at the primary every node holds the same zone, and zonelog
// took the changes by IXFR and served them onward by IXFR.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { LOOPBACK, dig, freePort, nsupdate, startBind, startKnot, waitForSerial, type PeerHandle, type TsigKey } from '../../infra/peers.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';

const secret = (label: string): string => createHash('sha256').update(label).digest('base64');
const DDNS: TsigKey = { name: 'ddns-key', algorithm: 'hmac-sha256', secret: secret('zonelog secondary interop: ddns-key') };
const XFR: TsigKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: secret('zonelog secondary interop: xfr-key') };
const ZONE = 'chain.test.';
const ZONE_TEXT = `$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n  NS ns1\nns1 A 127.0.0.1\n${Array.from({ length: 200 }, (_, i) => `h${i} A 10.0.0.${i}`).join('\n')}\n`;
const CHANGES = 500;
const y = (k: TsigKey): string => `${k.algorithm}:${k.name}:${k.secret}`;

async function axfr(port: number): Promise<string[]> {
  const r = await dig(['+tcp', '+noall', '+answer', '+nocmd', '+time=5', '+tries=1', '-y', y(XFR), `@${LOOPBACK}`, '-p', String(port), ZONE, 'AXFR'], { timeoutMs: 30_000 });
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';')).map((l) => l.split(/\s+/).join(' ').toLowerCase());
  assert.ok(lines.length > 2, `AXFR from ${port}: ${r.stdout}${r.stderr}`);
  return [...new Set(lines)].sort();
}

function changes(port: number): string {
  const out = [`server ${LOOPBACK} ${port}`, `zone ${ZONE}`];
  for (let i = 0; i < CHANGES; i++) {
    if (i % 2 === 0) out.push(`update add n${i}.${ZONE} 300 A 10.1.${i >> 8}.${i & 255}`);
    else out.push(`update delete h${i % 200}.${ZONE} A`, `update add h${i % 200}.${ZONE} 300 A 10.2.${i >> 8}.${i & 255}`);
    out.push('send');
  }
  return out.join('\n') + '\n';
}

describe('zonelog as a secondary between real servers', { timeout: 300_000 }, () => {
  const running: { stop(): Promise<void> }[] = [];
  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
  });

  for (const [primaryKind, downstreamKind] of [['bind', 'knot'], ['knot', 'bind']] as const) {
    it(`${primaryKind} → zonelog → ${downstreamKind}: 500 changes arrive everywhere, by IXFR in and out`, async () => {
      const [pPort, zPort, dPort] = [await freePort(), await freePort(), await freePort()];
      const zone = {
        name: ZONE, role: 'primary' as const, file: ZONE_TEXT, allowUpdate: DDNS.name, allowTransfer: [XFR.name],
        notify: [{ address: LOOPBACK, port: zPort, key: XFR.name }],
        // Both primaries coalesce NOTIFYs under this churn (BIND sent 2 for 500 changes, Knot
        // one a second), so each IXFR asked for spans up to hundreds of changes: enough history
        // to answer those incrementally (BIND: no max-ixfr-ratio; Knot: a deeper journal), NOTIFY
        // at once (BIND), and no zone-file rewrite per change (Knot, the kit's tuned settings).
        extra: primaryKind === 'bind' ? 'notify-delay 0;\nmax-ixfr-ratio unlimited;' : 'zonefile-sync: -1\njournal-content: all\njournal-max-depth: 1000',
      };
      const primary: PeerHandle = await (primaryKind === 'bind' ? startBind : startKnot)({ port: pPort, keys: [DDNS, XFR], zones: [zone] });
      running.push(primary);
      const z: ServerHandle = await startZonelog({
        port: zPort, keys: [DDNS, XFR],
        zones: [{
          name: ZONE, allowTransfer: [{ key: XFR.name }],
          notify: [{ to: `${LOOPBACK}:${dPort}`, key: XFR.name }],
          // As for the primaries: downstream deltas of hundreds of changes stay incremental.
          extra: { primaries: [`${LOOPBACK}:${pPort}`], 'transfer-key': XFR.name, 'min-refresh-time': 1, 'min-retry-time': 1, 'max-ixfr-ratio': 'unlimited' },
        }],
      });
      running.push(z);
      const down: PeerHandle = await (downstreamKind === 'bind' ? startBind : startKnot)({
        port: dPort, keys: [XFR], debugLevel: 3,
        zones: [{ name: ZONE, role: 'secondary', primaries: [{ address: LOOPBACK, port: zPort, key: XFR.name }] }],
      });
      running.push(down);
      await waitForSerial(zPort, ZONE, 1, 30_000);
      await waitForSerial(dPort, ZONE, 1, 30_000);

      const r = await nsupdate(changes(pPort), ['-y', y(DDNS), '-t', '10', '-u', '10', '-r', '0'], { timeoutMs: 240_000 });
      assert.equal(r.code, 0, r.stderr);
      const top = Number((await dig(['+short', `@${LOOPBACK}`, '-p', String(pPort), ZONE, 'SOA'])).stdout.trim().split(/\s+/)[2]);
      assert.ok(top >= 1 + CHANGES, `primary at serial ${top}`);
      await waitForSerial(zPort, ZONE, top, 60_000);
      await waitForSerial(dPort, ZONE, top, 60_000);
      const want = await axfr(pPort);
      assert.deepEqual(await axfr(zPort), want, 'zonelog holds the primary\'s zone');
      assert.deepEqual(await axfr(dPort), want, `${downstreamKind} holds the primary's zone`);

      const logs = z.logLines();
      const ins = logs.filter((l) => l.msg === 'transfer in' && l.events !== 0);
      assert.equal(ins[0].kind, 'axfr', 'the first transfer in is a full one');
      const warnings = logs.filter((l) => Number(l.level) >= 40).map((l) => `${String(l.msg)}: ${String(l.reason ?? '')}`);
      assert.ok(ins.length > 1 && ins.slice(1).every((l) => l.kind === 'ixfr'), `every later transfer in is IXFR: ${JSON.stringify(ins.map((l) => [l.kind, l.serialFrom, l.serialTo]))}\n${warnings.slice(0, 10).join('\n')}\nNOTIFY received ${logs.filter((l) => l.msg === 'NOTIFY received').length}, refused ${logs.filter((l) => l.msg === 'NOTIFY refused').length}`);
      const outs = logs.filter((l) => l.msg === 'transfer out' && l.key === 'xfr-key.' && l.port !== undefined);
      assert.ok(outs.some((l) => l.kind === 'ixfr'), 'served onward by IXFR');
      const downLog = readFileSync(down.logFile, 'utf8');
      if (downstreamKind === 'knot') assert.match(downLog, /IXFR, incoming, remote 127\.0\.0\.1@\d+.*finished/);
      else assert.match(downLog, /got incremental response/);
    });
  }
});
