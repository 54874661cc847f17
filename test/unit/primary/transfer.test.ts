// Outbound AXFR and IXFR from a real SQLite store: RFC 1995 answer construction (incremental,
// condensed, single SOA, AXFR-style), serial wrap-around, UDP, and TSIG on every message.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Class, Opcode, Rcode, Type } from '../../../shared/dns/constants.ts';
import { decodeMessage, emptyMessage, encodeMessage, type Decoded, type Message, type RR } from '../../../shared/dns/message.ts';
import { keyring, makeKey, signMessage, TsigStreamVerifier } from '../../../shared/dns/tsig.ts';
import { zoneCreated } from '../../../shared/events/codec.ts';
import { makeLogger } from '../../../shared/log.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';
import { loadZoneText } from '../../../shared/zone/load.ts';
import { recordToText } from '../../../shared/zone/printer.ts';
import { soaSerial, withSerial } from '../../../shared/zone/zone.ts';
import type { IxfrPolicy, ZoneConfig } from '../../../services/config/types.ts';
import { condense } from '../../../services/primary/ixfr.ts';
import { answerTransfer, type TransferAudit } from '../../../services/primary/transfer-out.ts';
import { ZoneWriter } from '../../../services/primary/writer.ts';
import { Projection } from '../../../services/projector/projection.ts';
import type { Peer } from '../../../services/responder/query.ts';
import { MessageStream, type Answer } from '../../../services/responder/stream.ts';

const root = mkdtempSync(join(tmpdir(), 'zonelog-xfr-'));
after(() => rmSync(root, { recursive: true, force: true }));
const log = makeLogger('test', { level: 'silent' });
const ORIGIN = 'ex.test.';
const KEY = makeKey('xfr-key', 'hmac-sha256', Buffer.alloc(32, 9).toString('base64'));
const OTHER = makeKey('other-key', 'hmac-sha256', Buffer.alloc(32, 3).toString('base64'));
const keys = keyring([KEY, OTHER]);
const TCP: Peer = { address: '127.0.0.1', port: 40000, transport: 'tcp' };
const UDP: Peer = { ...TCP, transport: 'udp' };

const a = (owner: string, ip: string, ttl = 300): RR => ({ name: `${owner}.${ORIGIN}`, type: Type.A, class: Class.IN, ttl, rdata: new Uint8Array(ip.split('.').map(Number)) });
const del = (rr: RR): RR => ({ ...rr, class: Class.NONE, ttl: 0 });
const update = (...upd: RR[]): Message => emptyMessage({ opcode: Opcode.UPDATE, question: [{ name: ORIGIN, type: Type.SOA, class: Class.IN }], authority: upd });
const from = { key: null, address: '127.0.0.1', port: 5353 };

let n = 0;
async function setup(o: { serial?: number; body?: string; ixfr?: Partial<IxfrPolicy>; allowTransfer?: ZoneConfig['allowTransfer'] } = {}) {
  const store = new SqliteStore(join(root, `x${++n}.db`));
  const z = loadZoneText(`$TTL 300\n@ SOA ns1 hostmaster ${o.serial ?? 10} 2h 1h 2w 5m\n NS ns1\nns1 A 192.0.2.1\n${o.body ?? ''}`, 'z', { origin: ORIGIN }).zone;
  await store.append(ORIGIN, [zoneCreated(z, 'import', {})], 'no-zone');
  const projection = new Projection(store);
  await projection.start();
  const writer = new ZoneWriter({ zone: ORIGIN, store, projection, log, policy: { grants: [{ address: '127.0.0.0/8' }], serialPolicy: 'increment' } });
  const cfg: ZoneConfig = {
    name: ORIGIN, serialPolicy: 'increment', allowUpdate: [], notify: [], notifyNs: false, notifyDelayMs: 0,
    primaries: [], allowNotify: [], timers: { minRefresh: 0, maxRefresh: 0, minRetry: 0, maxRetry: 0 },
    allowTransfer: o.allowTransfer ?? [{ address: '127.0.0.0/8' }],
    ixfr: { condensed: true, maxRatio: null, horizonChanges: null, horizonAgeMs: null, axfrOnly: [], ...o.ixfr },
  };
  const audits: TransferAudit[] = [];
  const apply = async (...upd: RR[]): Promise<void> => {
    const r = await writer.submit(update(...upd), from);
    assert.equal(r.rcode, Rcode.NOERROR);
  };
  const ask = async (req: Decoded, peer: Peer = TCP): Promise<Answer> =>
    answerTransfer(req, peer, { store, zones: projection.zones, config: () => cfg, keys: () => keys, log, onTransfer: (t) => audits.push(t) });
  return { store, projection, cfg, audits, apply, ask, serial: () => projection.get(ORIGIN)!.index.serial };
}

let id = 100;
/** A transfer request, decoded as the server sees it; signed with `key` if given. */
function request(type: number, clientSerial?: number, key = null as typeof KEY | null, edns = false): { req: Decoded; mac: Uint8Array | null } {
  const soa: RR[] = clientSerial === undefined ? [] : [{ name: ORIGIN, type: Type.SOA, class: Class.IN, ttl: 300, rdata: withSerial(soaRdata, clientSerial) }];
  let wire = encodeMessage(emptyMessage({ id: ++id, question: [{ name: ORIGIN, type, class: Class.IN }], authority: soa, edns: edns ? { udpSize: 1232, version: 0, flags: 0, options: [] } : null }));
  let mac: Uint8Array | null = null;
  if (key) {
    const s = signMessage(wire, key);
    wire = s.wire;
    mac = s.mac;
  }
  const d = decodeMessage(wire);
  assert.ok(d.ok);
  return { req: d.value, mac };
}
const soaRdata = loadZoneText('@ 300 SOA ns1 hostmaster 1 2h 1h 2w 5m\n', 'z', { origin: ORIGIN }).zone.nodes.get(ORIGIN)!.rrsets.get(Type.SOA)!.rdata[0];

/** Every message of an answer, decoded. */
async function messages(ans: Answer): Promise<Decoded[]> {
  assert.ok(ans !== null);
  const bufs: Buffer[] = [];
  if (ans instanceof MessageStream) for await (const b of ans.messages) bufs.push(b);
  else bufs.push(ans);
  return bufs.map((b) => {
    const d = decodeMessage(b);
    assert.ok(d.ok, 'every message decodes');
    return d.value;
  });
}

/** The answer's records as text lines, SOAs shown by their serial. */
async function lines(ans: Answer): Promise<string[]> {
  const ms = await messages(ans);
  for (const m of ms) assert.equal(m.rcode, Rcode.NOERROR);
  return ms.flatMap((m) => m.answer).map((rr) => (rr.type === Type.SOA ? `SOA ${soaSerial(rr.rdata)}` : recordToText(rr).replace(/\s+/g, ' ')));
}

describe('IXFR answers built from events', () => {
  it('one difference sequence per change when not condensed', async () => {
    const z = await setup({ ixfr: { condensed: false } });
    await z.apply(a('h1', '10.0.0.1'));
    await z.apply(del(a('h1', '10.0.0.1')), a('h1', '10.0.0.2'));
    await z.apply(a('h2', '10.0.0.3'));
    assert.deepEqual(await lines(await z.ask(request(Type.IXFR, 10).req)), [
      'SOA 13',
      'SOA 10', 'SOA 11', 'h1.ex.test. 300 IN A 10.0.0.1',
      'SOA 11', 'h1.ex.test. 300 IN A 10.0.0.1', 'SOA 12', 'h1.ex.test. 300 IN A 10.0.0.2',
      'SOA 12', 'SOA 13', 'h2.ex.test. 300 IN A 10.0.0.3',
      'SOA 13',
    ]);
    assert.deepEqual(z.audits.map((t) => [t.kind, t.serialFrom, t.serialTo, t.complete]), [['ixfr', 10, 13, true]]);
    // From the middle of history, only the changes after it.
    assert.deepEqual(await lines(await z.ask(request(Type.IXFR, 12).req)), ['SOA 13', 'SOA 12', 'SOA 13', 'h2.ex.test. 300 IN A 10.0.0.3', 'SOA 13']);
    await z.store.close();
  });

  it('condensed: one sequence, a record added then removed cancels out, a TTL change stays', async () => {
    const z = await setup({ body: 'old A 10.9.9.9\nttl A 10.8.8.8\n' });
    await z.apply(a('h1', '10.0.0.1'));
    await z.apply(del(a('h1', '10.0.0.1')), a('h2', '10.0.0.2'));
    await z.apply(del(a('old', '10.9.9.9')));
    await z.apply(a('old', '10.9.9.9'));
    await z.apply(del(a('ttl', '10.8.8.8')), a('ttl', '10.8.8.8', 60));
    assert.deepEqual(await lines(await z.ask(request(Type.IXFR, 10).req)), [
      'SOA 15',
      'SOA 10', 'ttl.ex.test. 300 IN A 10.8.8.8',
      'SOA 15', 'h2.ex.test. 300 IN A 10.0.0.2', 'ttl.ex.test. 60 IN A 10.8.8.8',
      'SOA 15',
    ]);
    await z.store.close();
  });

  it('a client at our serial, or ahead of it, gets the single current SOA', async () => {
    const z = await setup();
    await z.apply(a('h1', '10.0.0.1'));
    assert.deepEqual(await lines(await z.ask(request(Type.IXFR, 11).req)), ['SOA 11']);
    assert.deepEqual(await lines(await z.ask(request(Type.IXFR, 12).req)), ['SOA 11']);
    assert.deepEqual(z.audits.map((t) => t.kind), ['up-to-date', 'up-to-date']);
    await z.store.close();
  });

  it('falls back to AXFR-style for an unknown serial, past the horizon, past max-ixfr-ratio, and for axfr-only peers', async () => {
    const axfrStyle = ['SOA 13', 'h1.ex.test. 300 IN A 10.0.0.1', 'h2.ex.test. 300 IN A 10.0.0.2', 'h3.ex.test. 300 IN A 10.0.0.3', 'ex.test. 300 IN NS ns1.ex.test.', 'ns1.ex.test. 300 IN A 192.0.2.1', 'SOA 13'];
    const sorted = (l: string[]): string[] => [l[0], ...l.slice(1, -1).sort(), l[l.length - 1]];
    const cases: [Partial<IxfrPolicy>, number, RegExp][] = [
      [{}, 7, /not in the zone's history/],
      [{ horizonChanges: 2 }, 10, /beyond the IXFR horizon of 2/],
      [{ maxRatio: 0.5 }, 10, /exceeds max-ixfr-ratio 0.5/],
      [{ axfrOnly: [{ address: '127.0.0.1' }] }, 10, /axfr-only/],
    ];
    for (const [ixfr, client, why] of cases) {
      const z = await setup({ ixfr });
      for (let i = 1; i <= 3; i++) await z.apply(a(`h${i}`, `10.0.0.${i}`));
      assert.deepEqual(sorted(await lines(await z.ask(request(Type.IXFR, client).req))), sorted(axfrStyle), JSON.stringify(ixfr));
      assert.equal(z.audits[0].kind, 'ixfr-axfr-style');
      assert.match(z.audits[0].reason!, why);
      await z.store.close();
    }
    // Within the horizon, still incremental.
    const z = await setup({ ixfr: { horizonChanges: 2 } });
    for (let i = 1; i <= 3; i++) await z.apply(a(`h${i}`, `10.0.0.${i}`));
    assert.equal((await lines(await z.ask(request(Type.IXFR, 11).req))).length, 6);
    assert.equal(z.audits[0].kind, 'ixfr');
    await z.store.close();
  });

  it('follows serials across 2^32 (RFC 1982)', async () => {
    const z = await setup({ serial: 4294967294, ixfr: { condensed: false } });
    for (let i = 1; i <= 3; i++) await z.apply(a(`h${i}`, `10.0.0.${i}`));
    // increment skips 0, as BIND does: 4294967294 → 4294967295 → 1 → 2.
    assert.deepEqual((await lines(await z.ask(request(Type.IXFR, 4294967294).req))).filter((l) => l.startsWith('SOA')), [
      'SOA 2', 'SOA 4294967294', 'SOA 4294967295', 'SOA 4294967295', 'SOA 1', 'SOA 1', 'SOA 2', 'SOA 2',
    ]);
    // 4294967295 is numerically larger than 2 but behind it in serial arithmetic: it gets the changes since.
    assert.deepEqual((await lines(await z.ask(request(Type.IXFR, 4294967295).req))).filter((l) => l.startsWith('SOA')), ['SOA 2', 'SOA 4294967295', 'SOA 1', 'SOA 1', 'SOA 2', 'SOA 2']);
    assert.deepEqual(z.audits.map((t) => [t.kind, t.serialFrom, t.serialTo]), [['ixfr', 4294967294, 2], ['ixfr', 4294967295, 2]]);
    await z.store.close();
  });
});

describe('transfers over UDP', () => {
  it('an IXFR that fits is answered whole, one that does not gets the SOA alone, and AXFR is refused', async () => {
    const z = await setup();
    await z.apply(a('h1', '10.0.0.1'));
    const small = await z.ask(request(Type.IXFR, 10).req, UDP);
    assert.ok(Buffer.isBuffer(small));
    assert.deepEqual(await lines(small), ['SOA 11', 'SOA 10', 'SOA 11', 'h1.ex.test. 300 IN A 10.0.0.1', 'SOA 11']);
    const many = Array.from({ length: 60 }, (_, i) => a(`big${i}`, `10.2.0.${i}`));
    await z.apply(...many);
    assert.deepEqual(await lines(await z.ask(request(Type.IXFR, 10).req, UDP)), ['SOA 12'], 'too large for 512 octets');
    assert.deepEqual(z.audits.map((t) => [t.kind, t.transport]), [['ixfr', 'udp'], ['udp-soa-only', 'udp']]);
    const viaTcp = await lines(await z.ask(request(Type.IXFR, 10).req, TCP));
    assert.equal(viaTcp.length, 65);
    const axfr = await messages(await z.ask(request(Type.AXFR).req, UDP));
    assert.equal(axfr[0].rcode, Rcode.REFUSED);
    await z.store.close();
  });
});

describe('AXFR', () => {
  it('spans several messages, the question only in the first, every message signed and verifiable in turn', async () => {
    const body = Array.from({ length: 3000 }, (_, i) => `host${i} A 10.3.${i >> 8}.${i & 255}\n`).join('');
    const z = await setup({ body });
    const { req, mac } = request(Type.AXFR, undefined, KEY);
    const ms = await messages(await z.ask(req));
    assert.ok(ms.length >= 3, `${ms.length} messages`);
    assert.deepEqual(ms.map((m) => m.question.length), [1, ...ms.slice(1).map(() => 0)]);
    assert.ok(ms.every((m) => m.aa && m.qr && m.id === req.id && m.tsig !== null));
    const v = new TsigStreamVerifier(KEY, mac!);
    for (const m of ms) assert.equal(v.verify(m).ok, true, 'each message verifies, chained to the one before');
    assert.ok(v.finish());
    const all = ms.flatMap((m) => m.answer);
    assert.equal(all.length, 1 + 3000 + 2 + 1, 'SOA, the hosts, NS and ns1 A, SOA');
    assert.equal(all[0].type, Type.SOA);
    assert.equal(all[all.length - 1].type, Type.SOA);
    // A message tampered with breaks the chain from there on.
    const v2 = new TsigStreamVerifier(KEY, mac!);
    assert.equal(v2.verify(ms[0]).ok, true);
    const bad = decodeMessage(Buffer.from(ms[1].wire).fill(0x41, 40, 41));
    assert.ok(bad.ok);
    assert.equal(v2.verify(bad.value).ok, false);
    assert.deepEqual(z.audits.map((t) => [t.kind, t.messages, t.key, t.complete]), [['axfr', ms.length, 'xfr-key.', true]]);
    await z.store.close();
  });

  it('is one serial\'s view even when updates land while it is being sent', async () => {
    const body = Array.from({ length: 2000 }, (_, i) => `host${i} A 10.3.${i >> 8}.${i & 255}\n`).join('');
    const z = await setup({ body });
    const ans = await z.ask(request(Type.AXFR).req);
    assert.ok(ans instanceof MessageStream);
    const got: RR[] = [];
    let k = 0;
    for await (const b of ans.messages) {
      const d = decodeMessage(b);
      assert.ok(d.ok);
      got.push(...d.value.answer);
      // Between messages: delete one record that is still to come and add a new one.
      await z.apply(del(a(`host${1999 - k}`, `10.3.${(1999 - k) >> 8}.${(1999 - k) & 255}`)), a(`new${k}`, '10.4.0.1'));
      k++;
    }
    assert.ok(k >= 2);
    assert.equal(soaSerial(got[0].rdata), 10);
    assert.equal(got.length, 1 + 2000 + 2 + 1, 'every record of serial 10, nothing of later serials');
    assert.ok(!got.some((rr) => rr.name.startsWith('new')));
    await z.store.close();
  });

  it('refuses who allow-transfer does not list, and zones we do not serve', async () => {
    const z = await setup({ allowTransfer: [{ key: KEY.name }] });
    assert.equal((await messages(await z.ask(request(Type.AXFR).req)))[0].rcode, Rcode.REFUSED, 'unsigned');
    assert.equal((await messages(await z.ask(request(Type.AXFR, undefined, OTHER).req)))[0].rcode, Rcode.REFUSED, 'another key');
    assert.equal((await messages(await z.ask(request(Type.AXFR, undefined, KEY).req))).length, 1);
    const other = decodeMessage(encodeMessage(emptyMessage({ id: 5, question: [{ name: 'other.test.', type: Type.AXFR, class: Class.IN }] })));
    assert.ok(other.ok);
    assert.equal((await messages(await z.ask(other.value)))[0].rcode, Rcode.NOTAUTH);
    await z.store.close();
  });
});

describe('condense', () => {
  it('turns the first changeset\'s zone into the last\'s', () => {
    const soa = (s: number): RR => ({ name: ORIGIN, type: Type.SOA, class: Class.IN, ttl: 300, rdata: withSerial(soaRdata, s) });
    const c = condense([
      { soaFrom: soa(1), soaTo: soa(2), removed: [a('x', '1.1.1.1')], added: [a('y', '2.2.2.2')] },
      { soaFrom: soa(2), soaTo: soa(3), removed: [a('y', '2.2.2.2')], added: [a('x', '1.1.1.1'), a('z', '3.3.3.3')] },
    ]);
    assert.deepEqual([soaSerial(c.soaFrom!.rdata), soaSerial(c.soaTo.rdata), c.removed.length, c.added.map((r) => r.name)], [1, 3, 0, ['z.ex.test.']]);
  });
});
