// zonelog as the primary of a real BIND 9 and a real Knot: NOTIFY out, AXFR then IXFR in, TSIG
// on every transfer; after 1,000 nsupdate changes both secondaries hold exactly zonelog's zone,
// and after a restart they resume by IXFR. `dig IXFR=N` shows the difference sequences.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { LOOPBACK, dig, freePort, nsupdate, startBind, startKnot, waitForSerial, type PeerHandle, type PeerOptions, type TsigKey } from '../../infra/peers.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';

const secret = (label: string): string => createHash('sha256').update(label).digest('base64');
const DDNS: TsigKey = { name: 'ddns-key', algorithm: 'hmac-sha256', secret: secret('zonelog transfer interop: ddns-key') };
const XFR: TsigKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: secret('zonelog transfer interop: xfr-key') };
const ZONE = 'xfr.test.';
const ZONE_TEXT = `$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
  NS ns1
ns1 A 127.0.0.1
keep A 192.0.2.1
${Array.from({ length: 50 }, (_, i) => `r${i} TXT "start ${i}"`).join('\n')}
`;

const y = (k: TsigKey): string => `${k.algorithm}:${k.name}:${k.secret}`;

/** A zone's AXFR through dig, as sorted lines with the SOA once: what "holds exactly" compares. */
async function axfr(port: number, key?: TsigKey): Promise<string[]> {
  const r = await dig(['+tcp', '+noall', '+answer', '+nocmd', '+time=5', '+tries=1', ...(key ? ['-y', y(key)] : []), `@${LOOPBACK}`, '-p', String(port), ZONE, 'AXFR'], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';')).map((l) => l.split(/\s+/).join(' ').toLowerCase());
  assert.ok(lines.length > 2, `AXFR from port ${port}: ${r.stdout}${r.stderr}`);
  assert.equal(lines[0], lines[lines.length - 1], 'an AXFR starts and ends with the SOA');
  return [...new Set(lines)].sort();
}

/** 1,000 changes in one nsupdate run, each its own message: adds, deletes and RRset replacements. */
function changes(count: number, tag: string): string {
  const out = [`server ${LOOPBACK} PORT`, `zone ${ZONE}`];
  for (let i = 0; i < count; i++) {
    if (i % 3 === 0) out.push(`update add ${tag}${i}.${ZONE} 300 A 10.${i >> 16 & 255}.${(i >> 8) & 255}.${i & 255}`);
    else if (i % 3 === 1) out.push(`update delete ${tag}${i - 1}.${ZONE} A`, `update add ${tag}${i}.${ZONE} 600 AAAA 2001:db8::${i.toString(16)}`);
    else out.push(`update delete r${i % 50}.${ZONE} TXT`, `update add r${i % 50}.${ZONE} 300 TXT "${tag} ${i}"`);
    out.push('send');
  }
  return out.join('\n') + '\n';
}

describe('zonelog as the primary of BIND and Knot', { timeout: 240_000 }, () => {
  let z: ServerHandle;
  let bind: PeerHandle;
  let knot: PeerHandle;
  let bindOpts: PeerOptions;
  let knotOpts: PeerOptions;

  const update = async (script: string): Promise<void> => {
    const r = await nsupdate(script.replace('PORT', String(z.port)), ['-y', y(DDNS), '-t', '10', '-u', '10', '-r', '0'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `nsupdate: ${r.stderr}`);
  };
  const serial = async (): Promise<number> => {
    const r = await dig(['+short', `@${LOOPBACK}`, '-p', String(z.port), ZONE, 'SOA']);
    return Number(r.stdout.trim().split(/\s+/)[2]);
  };
  const bothAt = async (s: number): Promise<void> => {
    await Promise.all([waitForSerial(bind.port, ZONE, s, 30_000), waitForSerial(knot.port, ZONE, s, 30_000)]);
  };

  before(async () => {
    const [bindPort, knotPort] = [await freePort(), await freePort()];
    z = await startZonelog({
      keys: [DDNS, XFR],
      zones: [{
        name: ZONE, file: ZONE_TEXT,
        allowUpdate: [{ key: DDNS.name }],
        // Transfers only with the key: the secondaries' TSIG is what lets them in.
        allowTransfer: [{ key: XFR.name }],
        notify: [{ to: `${LOOPBACK}:${bindPort}`, key: XFR.name }, { to: `${LOOPBACK}:${knotPort}`, key: XFR.name }],
        // The zone is small beside 1,000 changes: a secondary that falls a few hundred behind
        // would get AXFR-style answers under the default max-ixfr-ratio (unit-tested apart).
        extra: { 'max-ixfr-ratio': 'unlimited' },
      }],
    });
    const secondary = { name: ZONE, role: 'secondary' as const, primaries: [{ address: LOOPBACK, port: z.port, key: XFR.name }] };
    bindOpts = { port: bindPort, keys: [XFR], zones: [secondary], debugLevel: 3 };
    knotOpts = { port: knotPort, keys: [XFR], zones: [secondary] };
    [bind, knot] = await Promise.all([startBind(bindOpts), startKnot(knotOpts)]);
    bindOpts.dir = bind.dir;
    knotOpts.dir = knot.dir;
    await bothAt(1);
  });

  after(async () => {
    await Promise.all([bind?.stop(), knot?.stop(), z?.stop()]);
  });

  it('after 1,000 changes both secondaries hold exactly zonelog\'s zone, having followed by IXFR', async () => {
    await update(changes(1000, 'h'));
    const s = await serial();
    assert.equal(s, 1001, 'one serial per change');
    await bothAt(s);
    const ours = await axfr(z.port, XFR);
    assert.deepEqual(await axfr(bind.port), ours, 'BIND holds zonelog\'s zone');
    assert.deepEqual(await axfr(knot.port), ours, 'Knot holds zonelog\'s zone');

    const bindLog = readFileSync(bind.logFile, 'utf8');
    const knotLog = readFileSync(knot.logFile, 'utf8');
    // BIND logs each transfer's kind as "Transfer status" lines and names IXFR for incremental ones.
    assert.match(bindLog, /transfer of 'xfr\.test\/IN' from 127\.0\.0\.1#\d+: Transfer completed/);
    // At debug level 3 BIND says what each transfer in was.
    assert.match(bindLog, /transfer of 'xfr\.test\/IN' from 127\.0\.0\.1#\d+: got incremental response/, `BIND's log shows IXFR:\n${bindLog.slice(-3000)}`);
    assert.equal((bindLog.match(/requesting AXFR/g) ?? []).length, 1, 'BIND: one AXFR request, the initial one');
    assert.equal((bindLog.match(/got nonincremental response/g) ?? []).length, 1, 'BIND: one full answer, the initial AXFR');
    assert.match(knotLog, /\[xfr\.test\.\] IXFR, incoming, remote 127\.0\.0\.1@\d+.*finished/, `Knot's log shows IXFR:\n${knotLog.slice(-3000)}`);
    // Only the first transfer was a full one.
    assert.equal((knotLog.match(/AXFR, incoming.*finished/g) ?? []).length, 1, 'Knot: one AXFR');
    const out = z.logLines().filter((l) => l.msg === 'transfer out');
    assert.ok(out.some((l) => l.kind === 'ixfr' && l.key === 'xfr-key.'), 'zonelog served IXFR, signed');
    assert.deepEqual(out.filter((l) => l.kind === 'ixfr-axfr-style'), [], 'no IXFR answered AXFR-style');
    assert.ok(out.every((l) => l.key === 'xfr-key.'), 'every transfer was TSIG-signed');
    assert.ok(z.logLines().some((l) => l.msg === 'NOTIFY sent'), 'NOTIFY went out');
  });

  it('restarted secondaries resume by IXFR, not AXFR', async () => {
    await Promise.all([bind.stop(), knot.stop()]);
    // Log lines reach us up to 100 ms late (pino buffers), so the restart is marked by time.
    const restartedAt = new Date().toISOString();
    const logAt = { bind: readFileSync(bind.logFile, 'utf8').length, knot: readFileSync(knot.logFile, 'utf8').length };
    [bind, knot] = await Promise.all([startBind(bindOpts), startKnot(knotOpts)]);
    // Each comes back with the zone it had, and at zonelog's serial.
    const s0 = await serial();
    await bothAt(s0);
    await update(changes(30, 'after'));
    const s = await serial();
    assert.equal(s, s0 + 30);
    await bothAt(s);
    // What the secondaries asked for since the restart (before our own AXFRs below).
    await new Promise((r) => setTimeout(r, 300));
    const since = z.logLines().filter((l) => l.msg === 'transfer out' && String(l.time) >= restartedAt);
    const ours = await axfr(z.port, XFR);
    assert.deepEqual(await axfr(bind.port), ours);
    assert.deepEqual(await axfr(knot.port), ours);
    assert.ok(since.length >= 2, `transfers after the restart: ${JSON.stringify(since)}`);
    assert.deepEqual(since.filter((l) => l.kind === 'axfr' || l.kind === 'ixfr-axfr-style'), [], 'no full transfer after the restart');
    assert.ok(since.some((l) => l.kind === 'ixfr'));
    // And in their own words, from the restart on.
    const bindLog = readFileSync(bind.logFile, 'utf8').slice(logAt.bind);
    const knotLog = readFileSync(knot.logFile, 'utf8').slice(logAt.knot);
    assert.match(bindLog, /got incremental response/);
    assert.doesNotMatch(bindLog, /requesting AXFR|got nonincremental response/);
    assert.match(knotLog, /IXFR, incoming, remote 127\.0\.0\.1@\d+, finished/);
    assert.doesNotMatch(knotLog, /AXFR, incoming/);
  });

  it('dig IXFR=N gives the difference sequences, condensed', async () => {
    const s = await serial();
    await update(`server ${LOOPBACK} PORT\nzone ${ZONE}\nupdate add ix1.${ZONE} 300 A 10.9.0.1\nsend\nupdate delete ix1.${ZONE} A\nupdate add ix1.${ZONE} 300 A 10.9.0.2\nupdate delete keep.${ZONE} A\nsend\n`);
    const r = await dig(['+noall', '+answer', '+nocmd', '-y', y(XFR), `@${LOOPBACK}`, '-p', String(z.port), ZONE, `IXFR=${s}`], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    const got = r.stdout.split('\n').filter((l) => l.trim() && !l.startsWith(';')).map((l) => {
      const f = l.split(/\s+/);
      return f[3] === 'SOA' ? `SOA ${f[6]}` : `${f[0]} ${f[3]} ${f.slice(4).join(' ')}`;
    });
    assert.deepEqual(got, [`SOA ${s + 2}`, `SOA ${s}`, 'keep.xfr.test. A 192.0.2.1', `SOA ${s + 2}`, 'ix1.xfr.test. A 10.9.0.2', `SOA ${s + 2}`]);
    // Up to date: the single SOA.
    const same = await dig(['+noall', '+answer', '-y', y(XFR), `@${LOOPBACK}`, '-p', String(z.port), ZONE, `IXFR=${s + 2}`]);
    assert.equal(same.stdout.trim().split('\n').filter((l) => l && !l.startsWith(';')).length, 1);
    // Unsigned: refused by allow-transfer.
    const unsigned = await dig(['+noall', '+answer', `@${LOOPBACK}`, '-p', String(z.port), ZONE, 'AXFR']);
    assert.match(unsigned.stdout + unsigned.stderr, /Transfer failed/);
  });
});
