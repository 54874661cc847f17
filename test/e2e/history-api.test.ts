// The history API against a real `zonelog serve`: every route's answers match schemas/api/openapi.yaml, and a revert is a new change the zone serves.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { Class, Type } from '../../shared/dns/constants.ts';
import { waitUntil } from '../../infra/peers.ts';
import { loadZoneText } from '../../shared/zone/load.ts';
import { recordToText } from '../../shared/zone/printer.ts';
import { sortedRecords } from '../../shared/zone/zone.ts';
import { ROOT } from '../support/cli.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';
import { addressesOf, query, record, sendUpdate, tsigKey } from '../support/updates.ts';

const KEYS = [
  { name: 'alpha-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 1).toString('base64') },
  { name: 'beta-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 2).toString('base64') },
];
const ZONE = '$TTL 300\n@ SOA ns1 hostmaster 100 3600 900 1209600 300\n  NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n';
const Z = 'hist.test.';

const doc = parse(readFileSync(`${ROOT}schemas/api/openapi.yaml`, 'utf8')) as Record<string, unknown>;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema(doc, 'openapi');

/** JSON pointer escaping for a path key. */
const esc = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Checks a body against the documented response schema of a route. */
function conforms(route: string, method: string, status: number, body: unknown, type = 'application/json'): void {
  const paths = doc.paths as Record<string, Record<string, { responses: Record<string, { $ref?: string; content?: Record<string, unknown> }> }>>;
  const resp = paths[route]?.[method]?.responses[String(status)];
  assert.ok(resp, `${method.toUpperCase()} ${route} ${status} is documented`);
  const ref = resp.$ref
    ? `openapi#${resp.$ref.slice(1)}/content/${esc(type)}/schema`
    : `openapi#/paths/${esc(route)}/${method}/responses/${status}/content/${esc(type)}/schema`;
  const validate = ajv.getSchema(ref);
  assert.ok(validate, `schema ${ref}`);
  assert.ok(validate(body), `${method.toUpperCase()} ${route} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
}

describe('history API', () => {
  let server: ServerHandle;
  let base: string;
  const serials: number[] = [];
  const soa = async (): Promise<number> => {
    const d = await query(server.port, Z, Type.SOA);
    return new DataView(d.answer[0].rdata.buffer, d.answer[0].rdata.byteOffset + d.answer[0].rdata.length - 20).getUint32(0);
  };
  const get = async (path: string): Promise<{ status: number; body: unknown; type: string }> => {
    const r = await fetch(`${base}${path}`);
    const type = r.headers.get('content-type') ?? '';
    return { status: r.status, type, body: type.startsWith('application/json') ? await r.json() : await r.text() };
  };
  const post = async (path: string, body: string): Promise<{ status: number; body: unknown }> => {
    const r = await fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    return { status: r.status, body: await r.json() };
  };

  before(async () => {
    server = await startZonelog({ zones: [{ name: 'hist.test', file: ZONE, allowUpdate: [{ key: 'alpha-key' }, { key: 'beta-key' }] }], keys: KEYS });
    base = `http://127.0.0.1:${server.httpPort}`;
    serials.push(await soa());
    // Six updates, alternating keys: laptop gets a new address each time; printer appears at the third.
    for (let i = 1; i <= 6; i++) {
      const key = tsigKey(KEYS[i % 2]);
      const update = [{ name: `laptop.${Z}`, type: Type.A, class: Class.ANY, ttl: 0, rdata: new Uint8Array(0) }, record(`laptop.${Z} 300 IN A 192.0.2.${10 + i}`)];
      if (i === 3) update.push(record(`printer.${Z} 300 IN A 192.0.2.99`));
      const r = await sendUpdate(server.port, { zone: Z, update }, { key });
      assert.equal(r.rcode, 0);
      serials.push(await soa());
    }
  });
  after(() => server.stop());

  it('lists changes newest first with a cursor, narrowed by key, each matching the documented schema', async () => {
    const all = await get(`/api/v1/changes?zone=hist.test&limit=4`);
    assert.equal(all.status, 200);
    conforms('/api/v1/changes', 'get', 200, all.body);
    const page1 = all.body as { changes: { version: number; actor: { key?: string } }[]; next: string };
    assert.deepEqual(page1.changes.map((c) => c.version), [7, 6, 5, 4]);
    const page2 = (await get(`/api/v1/zones/hist.test./changes?limit=4&cursor=${page1.next}`)).body as typeof page1;
    assert.deepEqual(page2.changes.map((c) => c.version), [3, 2, 1]);
    assert.equal(page2.next, null);
    const beta = (await get(`/api/v1/zones/hist.test/changes?key=beta-key`)).body as typeof page1;
    assert.deepEqual(beta.changes.map((c) => c.version), [6, 4, 2], 'odd updates were signed by beta-key');
    assert.ok(beta.changes.every((c) => c.actor.key === 'beta-key.'));
    const printer = (await get(`/api/v1/changes?zone=hist.test&name=printer`)).body as typeof page1;
    assert.deepEqual(printer.changes.map((c) => c.version), [4]);
  });

  it('one change in full, the zone as of a serial (JSON and text), a diff and blame', async () => {
    const one = await get('/api/v1/zones/hist.test/changes/4');
    conforms('/api/v1/zones/{zone}/changes/{version}', 'get', 200, one.body);
    const c = one.body as { removedRecords: string[]; addedRecords: string[]; serialFrom: number; serialTo: number; actor: { key: string } };
    assert.deepEqual([c.serialFrom, c.serialTo], [serials[2], serials[3]]);
    assert.deepEqual(c.removedRecords, [`laptop.${Z} 300 IN A 192.0.2.12`]);
    assert.deepEqual(c.addedRecords.sort(), [`laptop.${Z} 300 IN A 192.0.2.13`, `printer.${Z} 300 IN A 192.0.2.99`]);

    const asOf = await get(`/api/v1/zones/hist.test/as-of?serial=${serials[1]}`);
    conforms('/api/v1/zones/{zone}/as-of', 'get', 200, asOf.body);
    const a = asOf.body as { serial: number; version: number; records: string[] };
    assert.equal(a.serial, serials[1]);
    assert.equal(a.version, 2);
    assert.ok(a.records.includes(`laptop.${Z} 300 IN A 192.0.2.11`));
    assert.ok(!a.records.some((l) => l.startsWith('printer.')));
    const text = await get(`/api/v1/zones/hist.test/as-of?serial=${serials[1]}&format=text`);
    assert.match(text.type, /^text\/plain/);
    assert.equal(text.body, a.records.join('\n') + '\n');

    const d = await get(`/api/v1/zones/hist.test/diff?from=${serials[1]}&to=${serials[4]}`);
    conforms('/api/v1/zones/{zone}/diff', 'get', 200, d.body);
    assert.deepEqual({ ...(d.body as object), soaFrom: undefined, soaTo: undefined }, {
      zone: Z, from: serials[1], to: serials[4], soaFrom: undefined, soaTo: undefined,
      removed: [`laptop.${Z} 300 IN A 192.0.2.11`], added: [`laptop.${Z} 300 IN A 192.0.2.14`, `printer.${Z} 300 IN A 192.0.2.99`],
    });

    const b = await get('/api/v1/zones/hist.test/blame?name=laptop&type=A');
    conforms('/api/v1/zones/{zone}/blame', 'get', 200, b.body);
    const entries = (b.body as { changes: { version: number; actor: { key?: string }; addedRecords: string[] }[] }).changes;
    assert.deepEqual(entries.map((e) => [e.version, e.actor.key]), [[2, 'beta-key.'], [3, 'alpha-key.'], [4, 'beta-key.'], [5, 'alpha-key.'], [6, 'beta-key.'], [7, 'alpha-key.']]);
    assert.deepEqual(entries[2].addedRecords, [`laptop.${Z} 300 IN A 192.0.2.13`], 'blame shows only the records at that name');
  });

  it('the rate, the storage report, the zone list, the audit export and the page', async () => {
    const rate = await get('/api/v1/zones/hist.test/rate?bucket=3600');
    conforms('/api/v1/zones/{zone}/rate', 'get', 200, rate.body);
    assert.equal((rate.body as { buckets: { count: number }[] }).buckets.reduce((n, x) => n + x.count, 0), 7);
    const storage = await get('/api/v1/storage');
    conforms('/api/v1/storage', 'get', 200, storage.body);
    const zs = (storage.body as { zones: { zone: string; events: number }[] }).zones;
    assert.deepEqual(zs.map((z) => [z.zone, z.events]), [[Z, 7]]);
    const zones = await get('/api/v1/zones');
    conforms('/api/v1/zones', 'get', 200, zones.body);
    assert.deepEqual((zones.body as { zones: unknown[] }).zones, [{ zone: Z, version: 7, serial: serials[6], role: 'primary' }]);
    const audit = await get('/api/v1/audit?zone=hist.test&cause=update');
    assert.match(audit.type, /^application\/x-ndjson/);
    const lines = (audit.body as string).trimEnd().split('\n').map((l) => JSON.parse(l) as { version: number; type: string; data: { actor: { key: string } } });
    assert.deepEqual(lines.map((l) => l.version), [2, 3, 4, 5, 6, 7]);
    assert.ok(lines.every((l) => l.type === 'ZoneChanged' && l.data.actor.key));
    const page = await get('/history');
    assert.equal(page.status, 200);
    assert.match(page.type, /^text\/html/);
  });

  it('bad requests get 4xx with { error, code } and change nothing', async () => {
    const cases: [string, number, string, string][] = [
      ['/api/v1/zones/nope.test/changes', 404, 'unknown-zone', '/api/v1/zones/{zone}/changes'],
      ['/api/v1/zones/hist.test/as-of?serial=4242', 404, 'unknown-serial', '/api/v1/zones/{zone}/as-of'],
      ['/api/v1/zones/hist.test/as-of?time=yesterdayish', 400, 'bad-time', '/api/v1/zones/{zone}/as-of'],
      ['/api/v1/zones/hist.test/as-of?serial=1&time=2026-01-01', 400, 'bad-parameter', '/api/v1/zones/{zone}/as-of'],
      ['/api/v1/changes?zone=hist.test&limit=0', 400, 'bad-parameter', '/api/v1/changes'],
      ['/api/v1/changes?name=laptop', 400, 'bad-parameter', '/api/v1/changes'],
      ['/api/v1/changes?zone=hist.test&colour=blue', 400, 'bad-parameter', '/api/v1/changes'],
      ['/api/v1/zones/hist.test/changes/99', 404, 'unknown-change', '/api/v1/zones/{zone}/changes/{version}'],
      ['/api/v1/zones/hist.test/blame?name=other.example.', 400, 'bad-parameter', '/api/v1/zones/{zone}/blame'],
      ['/api/v1/zones/hist.test/diff?from=100&to=99999', 404, 'unknown-serial', '/api/v1/zones/{zone}/diff'],
    ];
    for (const [path, status, code, route] of cases) {
      const r = await get(path);
      assert.equal(r.status, status, path);
      assert.equal((r.body as { code: string }).code, code, path);
      conforms(route, 'get', status, r.body);
    }
    for (const [body, code] of [['{"serial": 4242}', 'unknown-serial'], ['{"serial": "x"}', 'bad-parameter'], ['{"serial": 100, "colour": 1}', 'bad-parameter'], ['{not json', 'bad-json']]) {
      const r = await post('/api/v1/zones/hist.test/revert', body);
      assert.equal((r.body as { code: string }).code, code, body);
      conforms('/api/v1/zones/{zone}/revert', 'post', r.status, r.body);
    }
    assert.equal(await soa(), serials[6], 'nothing changed');
    assert.equal(((await get('/api/v1/zones')).body as { zones: { version: number }[] }).zones[0].version, 7);
  });

  it('a revert is one new change with the requesting user, and the zone serves the old data under a newer serial', async () => {
    const r = await post('/api/v1/zones/hist.test/revert', JSON.stringify({ serial: serials[1], user: 'alice', note: 'undo the laptop churn' }));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    conforms('/api/v1/zones/{zone}/revert', 'post', 201, r.body);
    assert.deepEqual(r.body, { zone: Z, revertTo: serials[1], serialFrom: serials[6], serialTo: serials[6] + 1, version: 8, removed: 2, added: 1 });
    assert.equal(await soa(), serials[6] + 1);
    assert.deepEqual(addressesOf(await query(server.port, `laptop.${Z}`, Type.A), `laptop.${Z}`), ['192.0.2.11']);
    assert.equal((await query(server.port, `printer.${Z}`, Type.A)).rcode, 3);
    const head = (await get('/api/v1/zones/hist.test/changes/8')).body as { cause: string; revertTo: number; actor: { user: string; address: string }; note: string };
    assert.deepEqual([head.cause, head.revertTo, head.actor.user, head.note], ['revert', serials[1], 'alice', 'undo the laptop churn']);
    // The same revert again changes nothing, and says so.
    const again = await post('/api/v1/zones/hist.test/revert', JSON.stringify({ serial: serials[1] }));
    assert.equal(again.status, 200);
    conforms('/api/v1/zones/{zone}/revert', 'post', 200, again.body);
    assert.deepEqual(again.body, { zone: Z, unchanged: true, serial: serials[6] + 1 });
    // Log lines are written in batches: wait for it.
    const line = await waitUntil('the revert audit line', async () => server.logLines().find((l) => l.msg === 'zone reverted'), { timeoutMs: 5_000, intervalMs: 100 });
    assert.equal(line.revertTo, serials[1]);
  });
});

describe('history API: a zone larger than one chunk', () => {
  it('as-of streams the same JSON and text a whole-zone print gives, through the reader thread', async () => {
    // 12,000 hosts in mixed case, some with two addresses and a TXT: many chunks, sets of several records.
    let file = '$TTL 300\n@ SOA ns1 hostmaster 7 3600 900 1209600 300\n  NS ns1\nns1 A 192.0.2.1\n';
    for (let i = 0; i < 12_000; i++) {
      file += `${i % 3 === 0 ? 'Host' : 'host'}-${i} A 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}\n`;
      if (i % 5 === 0) file += `host-${i} A 10.200.${(i >> 8) & 255}.${i & 255}\nhost-${i} TXT "n=${i}" "x\\"y"\n`;
    }
    const big = await startZonelog({ zones: [{ name: 'big.test', file }] });
    try {
      const url = `http://127.0.0.1:${big.httpPort}/api/v1/zones/big.test/as-of?serial=7`;
      const jsonText = await (await fetch(url)).text();
      const text = await (await fetch(`${url}&format=text`)).text();
      const z = loadZoneText(file, 'big.zone', { origin: 'big.test.' }).zone;
      // The independent path: record objects in canonical order, each printed on its own.
      const want = sortedRecords(z, false).map(recordToText);
      assert.equal(want.length, 3 + 12_000 + 2 * 2_400);
      assert.equal(text, want.join('\n') + '\n');
      const body = JSON.parse(jsonText) as { zone: string; serial: number; version: number; records: string[] };
      assert.deepEqual([body.zone, body.serial, body.version], ['big.test.', 7, 1]);
      assert.deepEqual(body.records, want);
      assert.equal(jsonText, JSON.stringify(body) + '\n', 'the streamed JSON is what JSON.stringify writes');
    } finally {
      await big.stop();
    }
  });
});
