// Transfers in, against a test primary on loopback that can tear its stream, break a MAC or send
// a delta that does not apply: each is refused whole, and a good transfer becomes events.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { Class, Type } from '../../../shared/dns/constants.ts';
import { decodeMessage, type RR } from '../../../shared/dns/message.ts';
import { FrameDecoder, frame } from '../../../shared/dns/tcp.ts';
import { makeKey, TsigStreamSigner } from '../../../shared/dns/tsig.ts';
import { loadZoneText } from '../../../shared/zone/load.ts';
import { ApplyError, type Changeset } from '../../../shared/zone/changeset.ts';
import { canonicalRecords, soaOf, soaSerial, withSerial, type Zone } from '../../../shared/zone/zone.ts';
import { recordToText } from '../../../shared/zone/printer.ts';
import { axfrRecords, captureZone, ixfrRecords, packMessages } from '../../../services/primary/ixfr.ts';
import { transferEvents } from '../../../services/secondary/apply.ts';
import { pullZone, TransferError, type Primary } from '../../../services/secondary/transfer-in.ts';

const ORIGIN = 'in.test.';
const KEY = makeKey('xfr-key', 'hmac-sha256', Buffer.alloc(32, 7).toString('base64'));
const zoneAt = (serial: number, body: string): Zone =>
  loadZoneText(`$TTL 300\n@ SOA ns1 hostmaster ${serial} 2h 1h 2w 5m\n NS ns1\nns1 A 192.0.2.1\n${body}`, 'z', { origin: ORIGIN }).zone;
const soaOfZone = (z: Zone): RR => soaOf(z)!;
const a = (owner: string, ip: string): RR => ({ name: `${owner}.${ORIGIN}`, type: Type.A, class: Class.IN, ttl: 300, rdata: new Uint8Array(ip.split('.').map(Number)) });
const text = (z: Zone): string[] => canonicalRecords(z).map(recordToText);

type Script = {
  /** The records to answer with, given the request's SOA serial (null for AXFR). */
  records: (since: number | null) => RR[];
  /** Close the connection after this many octets of the answer. */
  cutAt?: number;
  /** Sign with the request's key; spoil the MAC of message `badMac` (1-based). */
  sign?: boolean;
  badMac?: number;
};

/** A primary that answers each transfer request with a scripted answer. */
async function testPrimary(script: Script): Promise<{ p: Primary; asked: string[] }> {
  const asked: string[] = [];
  const server: Server = createServer((sock) => {
    const frames = new FrameDecoder();
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk) => {
      for (const m of frames.push(chunk)) {
        const d = decodeMessage(m);
        assert.ok(d.ok);
        const q = d.value.question[0];
        const since = q.type === Type.IXFR ? soaSerial(d.value.authority[0].rdata) : null;
        asked.push(q.type === Type.IXFR ? `IXFR ${since}` : 'AXFR');
        const signer = script.sign && d.value.tsig ? new TsigStreamSigner(KEY, d.value.tsig.mac) : null;
        // Small messages, so that an answer spans several.
        const msgs = [...packMessages(script.records(since), { id: d.value.id, question: q, target: 200, signer })];
        if (script.badMac) msgs[script.badMac - 1][msgs[script.badMac - 1].length - 30] ^= 0xff;
        let out = Buffer.concat(msgs.map(frame));
        if (script.cutAt !== undefined) out = out.subarray(0, script.cutAt);
        sock.end(out);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const addr = server.address() as { port: number };
  return { p: { address: '127.0.0.1', port: addr.port, key: script.sign ? KEY : null }, asked };
}

// Serial 10, then three changes: h1 added; h1 replaced by h2; old removed.
const v10 = zoneAt(10, 'old A 10.9.9.9\n');
const soaAt = (serial: number): RR => ({ ...soaOfZone(v10), rdata: withSerial(soaOfZone(v10).rdata, serial) });
const changes: Changeset[] = [
  { soaFrom: soaAt(10), soaTo: soaAt(11), removed: [], added: [a('h1', '10.0.0.1')] },
  { soaFrom: soaAt(11), soaTo: soaAt(12), removed: [a('h1', '10.0.0.1')], added: [a('h2', '10.0.0.2')] },
  { soaFrom: soaAt(12), soaTo: soaAt(13), removed: [a('old', '10.9.9.9')], added: [] },
];
const v13 = zoneAt(13, 'h2 A 10.0.0.2\n');
const soa13 = soaOfZone(v13);
const actor = { peer: '127.0.0.1#5300' };

describe('transfer in', () => {
  it('reads an incremental answer across messages into changesets that apply to give the primary\'s zone', async () => {
    const { p, asked } = await testPrimary({ records: () => [...ixfrRecords(soa13, changes)], sign: true });
    const got = await pullZone(ORIGIN, soaOfZone(v10), p);
    assert.equal(got.kind, 'ixfr');
    assert.ok(got.messages > 2, `${got.messages} messages`);
    assert.deepEqual(asked, ['IXFR 10']);
    const r = transferEvents(v10, ORIGIN, Class.IN, got, actor);
    assert.deepEqual(text(r.zone), text(v13));
    assert.deepEqual(r.events.map((e) => e.type === 'ZoneChanged' && [e.data.serialFrom, e.data.serialTo, e.data.cause, e.data.actor.peer]), [[10, 11, 'transfer-in', actor.peer], [11, 12, 'transfer-in', actor.peer], [12, 13, 'transfer-in', actor.peer]]);
    assert.deepEqual(text(v10).length, 4, 'the zone given is untouched');
    const light = transferEvents(v10, ORIGIN, Class.IN, got, actor, new Date(), { zone: false });
    assert.deepEqual(light.events.map((e) => e.type === 'ZoneChanged' && e.data.added), r.events.map((e) => e.type === 'ZoneChanged' && e.data.added));
    assert.equal(light.zone, undefined);
  });

  it('a stream cut before the final SOA is refused, wherever it is cut', async () => {
    const full = Buffer.concat([...packMessages([...ixfrRecords(soa13, changes)], { id: 1, question: { name: ORIGIN, type: Type.IXFR, class: Class.IN }, target: 200 })].map(frame)).length;
    for (const cutAt of [5, 60, Math.floor(full / 2), full - 3]) {
      const { p } = await testPrimary({ records: () => [...ixfrRecords(soa13, changes)], cutAt });
      await assert.rejects(pullZone(ORIGIN, soaOfZone(v10), p), (e: Error) => e instanceof TransferError && /closed|final SOA|without answering/.test(e.message), `cut at ${cutAt} of ${full}`);
    }
  });

  it('a message whose MAC does not verify fails the whole transfer', async () => {
    const { p } = await testPrimary({ records: () => [...ixfrRecords(soa13, changes)], sign: true, badMac: 2 });
    await assert.rejects(pullZone(ORIGIN, soaOfZone(v10), p), /TSIG on message 2: BADSIG/);
  });

  it('a delta that removes an absent record is refused whole, and the zone stays at its serial', async () => {
    const bad = [changes[0], { ...changes[1], removed: [a('nosuch', '10.1.1.1')] }, changes[2]];
    const { p } = await testPrimary({ records: () => [...ixfrRecords(soa13, bad)] });
    const got = await pullZone(ORIGIN, soaOfZone(v10), p);
    const before = text(v10);
    assert.throws(() => transferEvents(v10, ORIGIN, Class.IN, got, actor), (e: Error) => e instanceof ApplyError && /difference sequence 2 of 3: removes nosuch\.in\.test\. 300 IN A 10\.1\.1\.1, which is not in the zone/.test(e.message));
    assert.deepEqual(text(v10), before);
    // Checked on copies of the touched names only (as the secondary does for a large zone): as strict.
    assert.throws(() => transferEvents(v10, ORIGIN, Class.IN, got, actor, new Date(), { zone: false }), /difference sequence 2 of 3: removes nosuch/);
    const adding = [changes[0], { ...changes[1], removed: [], added: [a('h2', '10.0.0.2'), a('old', '10.9.9.9')] }];
    assert.throws(() => transferEvents(v10, ORIGIN, Class.IN, { kind: 'ixfr', soa: changes[1].soaTo, changes: adding, messages: 1, bytes: 0 }, actor, new Date(), { zone: false }), /adds old\.in\.test\. 300 IN A 10\.9\.9\.9, which is already in the zone/);
    assert.deepEqual(text(v10), before);
  });

  it('a broken SOA chain is refused while reading', async () => {
    const gap = [changes[0], changes[2]];
    const { p } = await testPrimary({ records: () => [...ixfrRecords(soa13, gap)] });
    await assert.rejects(pullZone(ORIGIN, soaOfZone(v10), p), /starts at serial 12, but the one before ended at 11/);
  });

  it('takes an AXFR-style answer to IXFR as the whole zone, stored as the difference', async () => {
    const { p } = await testPrimary({ records: () => [...axfrRecords(captureZone(v13))] });
    const got = await pullZone(ORIGIN, soaOfZone(v10), p);
    assert.equal(got.kind, 'axfr');
    const r = transferEvents(v10, ORIGIN, Class.IN, got, actor);
    assert.deepEqual(text(r.zone), text(v13));
    assert.equal(r.events.length, 1);
    const e = r.events[0];
    assert.ok(e.type === 'ZoneChanged');
    assert.deepEqual([e.data.serialFrom, e.data.serialTo, e.data.removed, e.data.added], [10, 13, ['old.in.test. 300 IN A 10.9.9.9'], ['h2.in.test. 300 IN A 10.0.0.2']]);
  });

  it('the single SOA means up to date; an AXFR with no zone yet becomes ZoneCreated', async () => {
    const { p } = await testPrimary({ records: () => [soa13] });
    assert.equal((await pullZone(ORIGIN, soa13, p)).kind, 'up-to-date');
    const { p: p2, asked } = await testPrimary({ records: () => [...axfrRecords(captureZone(v13))] });
    const got = await pullZone(ORIGIN, null, p2);
    assert.deepEqual(asked, ['AXFR']);
    const r = transferEvents(null, ORIGIN, Class.IN, got, actor);
    assert.equal(r.events[0].type, 'ZoneCreated');
    assert.deepEqual(text(r.zone), text(v13));
  });

  it('an AXFR whose serial went backwards is refused unless a reset is allowed', async () => {
    const { p } = await testPrimary({ records: () => [...axfrRecords(captureZone(v10))] });
    const got = await pullZone(ORIGIN, soa13, p, { axfr: true });
    assert.throws(() => transferEvents(v13, ORIGIN, Class.IN, got, actor), /serial 10 is not newer than ours \(13\): it went backwards/);
    const r = transferEvents(v13, ORIGIN, Class.IN, got, actor, new Date(), { allowSerialReset: true });
    assert.deepEqual(text(r.zone), text(v10));
  });
});
