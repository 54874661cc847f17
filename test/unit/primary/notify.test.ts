// NOTIFY out: one in flight per target, later changes coalesced into the next, retries when
// unanswered, TSIG when a key is set, and the zone's own NS hosts as targets.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import { Class, Opcode, Type } from '../../../shared/dns/constants.ts';
import { decodeMessage, emptyMessage, encodeMessage, type Decoded, type RR } from '../../../shared/dns/message.ts';
import { keyring, makeKey, signMessage, verifyMessage } from '../../../shared/dns/tsig.ts';
import { makeLogger } from '../../../shared/log.ts';
import { loadZoneText } from '../../../shared/zone/load.ts';
import { soaSerial, withSerial } from '../../../shared/zone/zone.ts';
import { Notifier, nsTargets } from '../../../services/primary/notify.ts';

const log = makeLogger('test', { level: 'silent' });
const ORIGIN = 'ex.test.';
const KEY = makeKey('notify-key', 'hmac-sha256', Buffer.alloc(32, 5).toString('base64'));
const zone = loadZoneText('$TTL 300\n@ SOA ns1 hostmaster 1 2h 1h 2w 5m\n NS ns1\n NS ns2\n NS ns3\n NS ns.elsewhere.test.\nns1 A 192.0.2.1\nns2 A 192.0.2.2\nns2 AAAA 2001:db8::2\nns3 A 192.0.2.3\n', 'z', { origin: ORIGIN }).zone;
const soaRdata = zone.nodes.get(ORIGIN)!.rrsets.get(Type.SOA)!.rdata[0];
const soa = (serial: number): RR => ({ name: ORIGIN, type: Type.SOA, class: Class.IN, ttl: 300, rdata: withSerial(soaRdata, serial) });

/** A secondary on loopback that records each NOTIFY and answers it unless told to stay silent. */
async function secondary(o: { silentFirst?: number; delayMs?: number; sign?: boolean } = {}) {
  const sock: Socket = createSocket('udp4');
  const got: Decoded[] = [];
  let silent = o.silentFirst ?? 0;
  sock.on('message', (msg, r) => {
    const d = decodeMessage(msg);
    if (!d.ok) return;
    got.push(d.value);
    if (silent-- > 0) return;
    setTimeout(() => {
      let out = encodeMessage(emptyMessage({ id: d.value.id, qr: true, aa: true, opcode: Opcode.NOTIFY, question: d.value.question }));
      if (o.sign && d.value.tsig) out = signMessage(out, KEY, { requestMac: d.value.tsig.mac }).wire;
      sock.send(out, r.port, r.address);
    }, o.delayMs ?? 0);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  after(() => sock.close());
  return { port: sock.address().port, got };
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('NOTIFY out', () => {
  it('a burst of changes is covered by the NOTIFY in flight and one more with the newest serial', async () => {
    const s = await secondary({ delayMs: 50 });
    const results: string[] = [];
    const n = new Notifier({ log, keys: () => keyring([]), onResult: (_z, _t, r) => results.push(r) });
    after(() => n.close());
    const target = [{ address: '127.0.0.1', port: s.port }];
    n.changed(ORIGIN, soa(2), target);
    await until(() => s.got.length === 1);
    for (let i = 3; i <= 100; i++) n.changed(ORIGIN, soa(i), target);
    await until(() => results.length === 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(s.got.map((m) => soaSerial(m.answer[0].rdata)), [2, 100], 'the first, then the newest: nothing queued in between');
    const m = s.got[0];
    assert.equal(m.opcode, Opcode.NOTIFY);
    assert.ok(m.aa);
    assert.deepEqual(m.question, [{ name: ORIGIN, type: Type.SOA, class: Class.IN }]);
    assert.deepEqual(results, ['answered', 'answered']);
  });

  it('retries with a growing timeout until answered, each try a fresh ID', async () => {
    const s = await secondary({ silentFirst: 2 });
    const results: string[] = [];
    const n = new Notifier({ log, keys: () => keyring([]), timeoutsMs: [50, 100, 200, 400], onResult: (_z, _t, r) => results.push(r) });
    after(() => n.close());
    n.changed(ORIGIN, soa(7), [{ address: '127.0.0.1', port: s.port }]);
    await until(() => results.length === 1);
    assert.equal(s.got.length, 3);
    assert.equal(new Set(s.got.map((m) => m.id)).size, 3);
    assert.deepEqual(results, ['answered']);
  });

  it('gives up after the last try, and a later change is announced afresh', async () => {
    const s = await secondary({ silentFirst: 3 });
    const results: string[] = [];
    const n = new Notifier({ log, keys: () => keyring([]), timeoutsMs: [30, 30, 30], onResult: (_z, _t, r) => results.push(r) });
    after(() => n.close());
    const target = [{ address: '127.0.0.1', port: s.port }];
    n.changed(ORIGIN, soa(8), target);
    await until(() => results.length === 1);
    assert.deepEqual(results, ['unanswered']);
    n.changed(ORIGIN, soa(9), target);
    await until(() => results.length === 2);
    assert.deepEqual(results, ['unanswered', 'answered']);
    assert.deepEqual(s.got.map((m) => soaSerial(m.answer[0].rdata)), [8, 8, 8, 9]);
  });

  it('signs with the target\'s key and checks the signed answer', async () => {
    const s = await secondary({ sign: true });
    const results: string[] = [];
    const n = new Notifier({ log, keys: () => keyring([KEY]), onResult: (_z, _t, r) => results.push(r) });
    after(() => n.close());
    n.changed(ORIGIN, soa(3), [{ address: '127.0.0.1', port: s.port, key: KEY.name }]);
    await until(() => results.length === 1);
    assert.deepEqual(results, ['answered']);
    assert.ok(s.got[0].tsig);
    assert.equal(verifyMessage(s.got[0], keyring([KEY])).ok, true);
  });

  it('tells a secondary again when it finishes a transfer behind the zone, and not when it is current', async () => {
    const s = await secondary();
    const results: string[] = [];
    const n = new Notifier({ log, keys: () => keyring([]), onResult: (_z, _t, r) => results.push(r) });
    after(() => n.close());
    n.changed(ORIGIN, soa(5), [{ address: '127.0.0.1', port: s.port }]);
    await until(() => results.length === 1);
    n.transferred(ORIGIN, '127.0.0.1', 5);
    n.transferred(ORIGIN, '127.0.0.2', 4);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.got.length, 1, 'current, or another host: nothing sent');
    n.transferred(ORIGIN, '::ffff:127.0.0.1', 4);
    await until(() => results.length === 2);
    assert.deepEqual(s.got.map((m) => soaSerial(m.answer[0].rdata)), [5, 5]);
  });

  it('waits notify-delay, and the changes made meanwhile share one NOTIFY', async () => {
    const s = await secondary();
    const n = new Notifier({ log, keys: () => keyring([]) });
    after(() => n.close());
    const target = [{ address: '127.0.0.1', port: s.port }];
    const t0 = performance.now();
    for (let i = 2; i <= 20; i++) n.changed(ORIGIN, soa(i), target, 150);
    await until(() => s.got.length === 1);
    assert.ok(performance.now() - t0 >= 140, 'not before the delay');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(s.got.map((m) => soaSerial(m.answer[0].rdata)), [20]);
  });
});

describe('the zone\'s NS hosts as targets', () => {
  it('every in-zone NS host but the MNAME, by its A and AAAA records, port 53', () => {
    assert.deepEqual(nsTargets(zone), [
      { address: '192.0.2.2', port: 53 },
      { address: '2001:db8::2', port: 53 },
      { address: '192.0.2.3', port: 53 },
    ]);
  });
});
