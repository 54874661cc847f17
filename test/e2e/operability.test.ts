// What an operator watches: /metrics and /healthz follow queries and updates; a bad config or zone file stops startup cleanly.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dig, nsupdate, waitUntil } from '../../infra/peers.ts';
import { zonelog } from '../support/cli.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';

const KEY = { name: 'ops-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 7).toString('base64') };
const ZONE = '$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 300\n  NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n';

describe('/metrics and /healthz', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startZonelog({ zones: [{ name: 'ops.test', file: ZONE, allowUpdate: [{ key: KEY.name }] }], keys: [KEY] });
  });
  after(() => server.stop());

  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  const value = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('counts queries by RCODE, updates by result, append latency, and each zone\'s version and serial', async () => {
    for (let i = 0; i < 5; i++) await dig(['+short', '@127.0.0.1', '-p', String(server.port), 'www.ops.test', 'A']);
    await dig(['+short', '@127.0.0.1', '-p', String(server.port), 'nope.ops.test', 'A']);
    const ok = await nsupdate(`server 127.0.0.1 ${server.port}\nzone ops.test\nupdate add h1.ops.test 300 A 192.0.2.9\nsend\n`, ['-y', `hmac-sha256:${KEY.name}:${KEY.secret}`]);
    assert.equal(ok.code, 0, ok.stderr);
    const refused = await nsupdate(`server 127.0.0.1 ${server.port}\nzone ops.test\nupdate add h2.ops.test 300 A 192.0.2.9\nsend\n`);
    assert.match(refused.stderr, /REFUSED/);
    // Counters reach the registry once a second.
    const text = await waitUntil('the counters on /metrics', async () => {
      const t = await metrics();
      return (value(t, 'zonelog_queries_total{rcode="NOERROR"}') ?? 0) >= 5 && value(t, 'zonelog_zone_version{zone="ops.test."}') === 2 ? t : undefined;
    }, { timeoutMs: 5_000, intervalMs: 200 });
    assert.ok((value(text, 'zonelog_queries_total{rcode="NXDOMAIN"}') ?? 0) >= 1);
    assert.equal(value(text, 'zonelog_updates_total{zone="ops.test.",result="applied"}'), 1);
    assert.equal(value(text, 'zonelog_updates_total{zone="ops.test.",result="refused"}'), 1);
    assert.equal(value(text, 'zonelog_append_seconds_count{zone="ops.test."}'), 1);
    assert.equal(value(text, 'zonelog_zone_serial{zone="ops.test."}'), 2);
    assert.match(text, /# TYPE zonelog_append_seconds histogram/);
  });

  it('/healthz says ok, with each zone\'s serial and version', async () => {
    const r = await fetch(`http://127.0.0.1:${server.httpPort}/healthz`);
    assert.equal(r.status, 200);
    const h = (await r.json()) as { ok: boolean; zones: Record<string, { serial: number; version: number }> };
    assert.equal(h.ok, true);
    assert.deepEqual([h.zones['ops.test.'].serial, h.zones['ops.test.'].version], [2, 2]);
  });
});

describe('startup that cannot succeed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zonelog-badstart-'));

  it('a config mistake names the key and the reason, exits 2, and touches nothing', async () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, `listen: ["127.0.0.1:1"]\nstore: "sqlite:${join(dir, 'never.db')}"\nzones:\n  - name: x.test\n    file: ${join(dir, 'missing.zone')}\n    serial-policy: sometimes\n`);
    const r = await zonelog(['serve', '--config', cfg]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /zones\[0\]\.serial-policy: must be one of increment, unixtime, dateserial/);
    assert.match(r.stderr, /zones\[0\]\.file: /);
    assert.equal(existsSync(join(dir, 'never.db')), false);
  });

  it('a zone file error gives file:line: reason, exits 1, and imports nothing', async () => {
    const zone = join(dir, 'bad.zone');
    writeFileSync(zone, `${ZONE}bad A 300.1.1.1\n`);
    const cfg = join(dir, 'badzone.yaml');
    const store = join(dir, 'store.db');
    writeFileSync(cfg, `listen: ["127.0.0.1:1"]\nstore: "sqlite:${store}"\nzones:\n  - name: bad.test\n    file: ${zone}\n`);
    const r = await zonelog(['serve', '--config', cfg]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${zone.replace(/[.]/g, '\\.')}:6: `));
    const h = await zonelog(['history', '--zone', 'bad.test', '--store', `sqlite:${store}`]);
    assert.notEqual(h.code, 0, 'the zone was not created');
  });
});
