// Zones added and removed while the server runs: a secondary zone added through POST /zones is
// serving the primary's data within 5 s, survives a restart, and DELETE keeps its history.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LOOPBACK, dig, freePort, soaSerial, startBind, waitUntil, type PeerHandle } from '../../infra/peers.ts';
import { zonelog } from '../support/cli.ts';
import { startZonelog, type ServeOptions, type ServerHandle } from '../support/server.ts';

const RT = 'rt.test.';

async function api(z: ServerHandle, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> | Record<string, unknown>[] }> {
  const r = await fetch(`http://${LOOPBACK}:${z.httpPort}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

const status = async (port: number, name: string): Promise<string> => /status: (\w+)/.exec((await dig(['+time=1', '+tries=1', `@${LOOPBACK}`, '-p', String(port), name, 'A'])).stdout)?.[1] ?? '?';

describe('zones added and removed at run time', { timeout: 120_000 }, () => {
  const running: { stop(): Promise<void> }[] = [];
  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
  });

  it('a secondary zone added by POST /zones serves within 5 s, survives a restart, and DELETE keeps its history', async () => {
    const bind: PeerHandle = await startBind({ zones: [{ name: RT, role: 'primary', file: `$TTL 300\n@ SOA ns1 hostmaster 5 3600 600 86400 300\n NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.55\n` }] });
    running.push(bind);
    const opts: ServeOptions = { port: await freePort(), httpPort: await freePort(), zones: [{ name: 'base.test.', file: `$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n NS ns1\nns1 A 127.0.0.1\n` }] };
    let z = await startZonelog(opts);
    running.push({ stop: () => z.stop() });
    const entry = { name: 'rt.test', primaries: [`${LOOPBACK}:${bind.port}`], 'min-refresh-time': 1 };

    const t0 = performance.now();
    const added = await api(z, 'POST', '/zones', entry);
    assert.equal(added.status, 201, JSON.stringify(added.body));
    await waitUntil('the added zone answered', async () => ((await soaSerial(z.port, RT)) === 5 ? true : undefined), { timeoutMs: 5000, intervalMs: 50 });
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `serving after ${Math.round(ms)} ms`);
    assert.equal((await dig(['+short', `@${LOOPBACK}`, '-p', String(z.port), `www.${RT}`, 'A'])).stdout.trim(), '192.0.2.55');
    const listed = (await api(z, 'GET', '/zones')).body as Record<string, unknown>[];
    assert.deepEqual(listed.map((s) => [s.zone, s.role, s.serial]), [['base.test.', 'primary', 1], ['rt.test.', 'secondary', 5]]);

    // Refused: the same zone again, a primary zone, and a mistake in the entry (named like the config's).
    assert.equal((await api(z, 'POST', '/zones', entry)).status, 409);
    assert.equal((await api(z, 'POST', '/zones', { name: 'p.test', file: 'x.zone' })).status, 400);
    const bad = await api(z, 'POST', '/zones', { name: 'b.test', primaries: ['127.0.0.1:99999'], refresh: 3 });
    assert.equal(bad.status, 400);
    const errors = (bad.body as { errors: string[] }).errors;
    assert.equal(errors.length, 2, JSON.stringify(errors));
    assert.match(errors[0], /^POST \/zones: zones\[0\]\.refresh: unknown key \(known keys: name, file, /);
    assert.equal(errors[1], 'POST /zones: zones[0].primaries[0]: "127.0.0.1:99999": port "99999" is not in 1..65535');
    assert.ok(existsSync(join(z.dir, 'zonelog.zones.json')));

    // A restart serves it again from the store: no new transfer from BIND.
    await z.stop();
    const bindLogBefore = readFileSync(bind.logFile, 'utf8').length;
    z = await startZonelog({ ...opts, dir: z.dir, store: z.store });
    assert.equal(await soaSerial(z.port, RT), 5);
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(readFileSync(bind.logFile, 'utf8').slice(bindLogBefore), /AXFR started/);

    // DELETE: no longer served, history kept; added again, the history continues.
    const removed = await api(z, 'DELETE', '/zones/rt.test');
    assert.equal(removed.status, 200);
    assert.equal(await status(z.port, `www.${RT}`), 'REFUSED');
    assert.equal((await api(z, 'DELETE', '/zones/base.test')).status, 409, 'a zone of the config file stays');
    const history = await zonelog(['history', '--zone', RT, '--store', z.store]);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /transfer-in/);
    assert.equal((await api(z, 'POST', '/zones', entry)).status, 201);
    await waitUntil('served again', async () => ((await soaSerial(z.port, RT)) === 5 ? true : undefined), { timeoutMs: 5000, intervalMs: 50 });
    const again = await zonelog(['history', '--zone', RT, '--store', z.store]);
    assert.equal(again.stdout, history.stdout, 'the same history: nothing transferred anew');

    // A primary zone from a file, through the API too.
    const file = join(z.dir, 'api.zone');
    writeFileSync(file, `$TTL 300\n@ SOA ns1 hostmaster 3 3600 600 86400 300\n NS ns1\nns1 A 127.0.0.1\napi A 192.0.2.3\n`);
    assert.equal((await api(z, 'POST', '/zones', { name: 'api.test', file })).status, 201);
    assert.equal(await soaSerial(z.port, 'api.test.'), 3);
    assert.equal((await api(z, 'DELETE', '/zones/api.test')).status, 200);
    assert.equal(await status(z.port, 'api.api.test.'), 'REFUSED');
  });

  it('a SIGHUP serves the zones the config file now lists, and stops serving those it no longer does', async () => {
    const bind: PeerHandle = await startBind({ zones: [{ name: 'hup.test.', role: 'primary', file: `$TTL 300\n@ SOA ns1 hostmaster 9 3600 600 86400 300\n NS ns1\nns1 A 127.0.0.1\n` }] });
    running.push(bind);
    const z = await startZonelog({ zones: [{ name: 'old.test.', file: `$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n NS ns1\nns1 A 127.0.0.1\n` }] });
    running.push(z);
    // The config's zones line, rewritten: old.test. out, the secondary hup.test. in.
    const lines = readFileSync(z.configFile, 'utf8').split('\n').map((l) => (l.startsWith('zones: ') ? `zones: ${JSON.stringify([{ name: 'hup.test.', primaries: [`${LOOPBACK}:${bind.port}`] }])}` : l));
    writeFileSync(z.configFile, lines.join('\n'));
    process.kill(z.pid, 'SIGHUP');
    await waitUntil('hup.test. served', async () => ((await soaSerial(z.port, 'hup.test.')) === 9 ? true : undefined), { timeoutMs: 5000, intervalMs: 50 });
    assert.equal(await status(z.port, 'old.test.'), 'REFUSED');
    // A config with a mistake changes nothing.
    writeFileSync(z.configFile, lines.join('\n').replace('"primaries"', '"primarys"'));
    process.kill(z.pid, 'SIGHUP');
    await waitUntil('the refusal logged', async () => (z.logLines().some((l) => l.msg === 'reload: the configuration has errors; the zone list is unchanged') ? true : undefined), { timeoutMs: 3000 });
    assert.equal(await soaSerial(z.port, 'hup.test.'), 9);
  });
});
