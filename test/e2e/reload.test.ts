// Zone-file reload while serving: SIGHUP or POST /reload; the difference becomes one reload event.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dig, soaSerial, waitUntil } from '../../infra/peers.ts';
import { zonelog } from '../support/cli.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';

const zoneText = (serial: number, extra = ''): string =>
  `$TTL 300\n@ SOA ns1 hostmaster ${serial} 3600 900 1209600 300\n  NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n${extra}`;

describe('reloading zone files while serving', () => {
  let server: ServerHandle;
  let file: string;
  before(async () => {
    server = await startZonelog({ zones: [{ name: 'reload.test', file: zoneText(10) }] });
    file = join(server.dir, 'zone0.db');
  });
  after(() => server.stop());

  const txt = async (name: string): Promise<string> => (await dig(['+short', '@127.0.0.1', '-p', String(server.port), name, 'TXT'])).stdout.trim();

  it('SIGHUP loads an edited file and stores the difference as a reload event', async () => {
    writeFileSync(file, zoneText(11, 'new TXT "after sighup"\n'));
    process.kill(server.pid, 'SIGHUP');
    await waitUntil('the edited zone served', async () => ((await soaSerial(server.port, 'reload.test')) === 11 ? true : undefined), { timeoutMs: 10_000 });
    assert.equal(await txt('new.reload.test'), '"after sighup"');
  });

  it('POST /reload with changed data but the same serial raises the serial, as Knot does', async () => {
    writeFileSync(file, zoneText(11, 'new TXT "after sighup"\nmore TXT "same serial"\n'));
    const r = await fetch(`http://127.0.0.1:${server.httpPort}/reload`, { method: 'POST' });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { 'reload.test.': 'serial 11 -> 12, -0 +1' });
    assert.equal(await soaSerial(server.port, 'reload.test'), 12);
    assert.equal(await txt('more.reload.test'), '"same serial"');
  });

  it('a file with an error is refused with file:line: reason, and the zone stays as it was', async () => {
    writeFileSync(file, zoneText(13, 'broken A 999.1.1.1\n'));
    const r = await fetch(`http://127.0.0.1:${server.httpPort}/reload`, { method: 'POST' });
    const body = (await r.json()) as Record<string, string>;
    assert.match(body['reload.test.'], /^refused: .*zone0\.db:6: /);
    assert.equal(await soaSerial(server.port, 'reload.test'), 12);
  });

  it('the history holds the import and the two reloads', async () => {
    await server.stop();
    const h = await zonelog(['history', '--zone', 'reload.test', '--store', server.store, '--json']);
    assert.equal(h.code, 0, h.stderr);
    const events = h.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; cause: string; serialTo: number });
    assert.deepEqual(events.map((e) => [e.cause, e.serialTo]), [['import', 10], ['reload', 11], ['reload', 12]]);
  });
});
