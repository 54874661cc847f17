// The update writer: group commit with an outcome per client, and re-deciding after another writer.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Class, Opcode, Rcode, Type } from '../../../shared/dns/constants.ts';
import { decodeMessage, emptyMessage, encodeMessage, type Message, type RR } from '../../../shared/dns/message.ts';
import { zoneCreated } from '../../../shared/events/codec.ts';
import { makeLogger } from '../../../shared/log.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';
import { loadZoneText } from '../../../shared/zone/load.ts';
import { Projection } from '../../../services/projector/projection.ts';
import { ZoneWriter, type UpdateOutcome } from '../../../services/primary/writer.ts';

const root = mkdtempSync(join(tmpdir(), 'zonelog-writer-'));
after(() => rmSync(root, { recursive: true, force: true }));
const log = makeLogger('test', { level: 'silent' });
const ORIGIN = 'ex.test.';
const a = (owner: string, ip: string, klass: number = Class.IN, ttl = 300): RR => ({
  name: `${owner}.${ORIGIN}`, type: Type.A, class: klass, ttl, rdata: klass === Class.IN ? new Uint8Array(ip.split('.').map(Number)) : new Uint8Array(0),
});
const update = (prereq: RR[], upd: RR[]): Message => emptyMessage({ opcode: Opcode.UPDATE, question: [{ name: ORIGIN, type: Type.SOA, class: Class.IN }], answer: prereq, authority: upd });
const nameInUse = (owner: string): RR => ({ name: `${owner}.${ORIGIN}`, type: Type.ANY, class: Class.ANY, ttl: 0, rdata: new Uint8Array(0) });
const from = { key: 'k.', address: '127.0.0.1', port: 5353 };

let n = 0;
async function setup(path = join(root, `w${++n}.db`)) {
  const store = new SqliteStore(path, { appendThread: true });
  if (!(await store.head(ORIGIN))) {
    const z = loadZoneText('$TTL 300\n@ SOA ns1 hostmaster 10 2h 1h 2w 5m\n NS ns1\nns1 A 192.0.2.1\n', 'z', { origin: ORIGIN }).zone;
    await store.append(ORIGIN, [zoneCreated(z, 'import', {})], 'no-zone');
  }
  const projection = new Projection(store);
  await projection.start();
  const writer = new ZoneWriter({ zone: ORIGIN, store, projection, log, policy: { grants: [{ key: 'k.' }], serialPolicy: 'increment' } });
  return { store, projection, writer, path };
}

describe('group commit', () => {
  it('updates arriving together are one append, and one failing prerequisite fails only its own update', async () => {
    const { store, projection, writer } = await setup();
    const outcomes = await Promise.all([
      writer.submit(update([], [a('h1', '10.0.0.1')]), from),
      writer.submit(update([nameInUse('missing')], [a('h2', '10.0.0.2')]), from),
      writer.submit(update([], [a('h3', '10.0.0.3')]), from),
    ]);
    assert.deepEqual(outcomes.map((o) => o.rcode), [Rcode.NOERROR, Rcode.NXDOMAIN, Rcode.NOERROR]);
    assert.deepEqual(outcomes.map((o) => o.serial), [11, 11, 12], 'each applied update takes the next serial; a refused one reports the serial it saw');
    const head = await store.head(ORIGIN);
    assert.deepEqual([head!.version, head!.serial], [3, 12], 'two events, no event for the refused update');
    const live = projection.get(ORIGIN)!;
    assert.ok(live.index.zone.nodes.has('h1.ex.test.') && live.index.zone.nodes.has('h3.ex.test.'));
    assert.ok(!live.index.zone.nodes.has('h2.ex.test.'));
    await store.close();
  });

  it('later updates in a batch see the earlier ones', async () => {
    const { store, writer } = await setup();
    const [first, second] = await Promise.all([
      writer.submit(update([], [a('dup', '10.0.0.9')]), from),
      writer.submit(update([{ ...nameInUse('dup'), class: Class.NONE }], [a('dup', '10.0.0.10')]), from),
    ]);
    assert.equal(first.rcode, Rcode.NOERROR);
    assert.equal(second.rcode, Rcode.YXDOMAIN, 'the name the first update created is in use for the second');
    await store.close();
  });

  it('a queue deeper than one batch is applied in arrival order with strictly rising serials', async () => {
    const { store, writer } = await setup();
    const outs: Promise<UpdateOutcome>[] = [];
    for (let i = 0; i < 300; i++) outs.push(writer.submit(update([], [a(`n${i}`, `10.1.${i >> 8}.${i & 255}`)]), from));
    const got = await Promise.all(outs);
    assert.ok(got.every((o) => o.rcode === Rcode.NOERROR));
    assert.deepEqual(got.map((o) => o.serial), got.map((_, i) => 11 + i));
    const versions: number[] = [];
    for await (const e of store.readZone(ORIGIN, 2)) versions.push(e.type === 'ZoneChanged' ? e.data.serialTo : -1);
    assert.deepEqual(versions, got.map((o) => o.serial));
    await store.close();
  });

  it('the zone keeps its own copy of the rdata an update adds, not a slice of memory the decoding shared', async () => {
    const { store, projection, writer } = await setup();
    try {
      // Decoded from the wire, as the server does: each rdata is a few octets cut from a shared pool.
      const txt: RR = { name: `kept.${ORIGIN}`, type: Type.TXT, class: Class.IN, ttl: 300, rdata: Buffer.from('\x05lease') };
      const decoded = decodeMessage(encodeMessage(update([], [a('kept', '10.0.0.7'), txt, a('ns1', '192.0.2.2')])));
      assert.ok(decoded.ok);
      const sent = decoded.value.authority.map((rr) => rr.rdata);
      assert.ok(sent.every((d) => d.buffer.byteLength > d.byteLength), 'the decoded rdata share a larger buffer');
      assert.equal((await writer.submit(decoded.value, from)).rcode, Rcode.NOERROR);
      // Applied here as decided, and by another projection from the stored event.
      const other = new Projection(store);
      await other.start();
      for (const p of [projection, other]) {
        const zone = p.get(ORIGIN)!.index.zone;
        const rdata = (owner: string) => [...zone.nodes.get(`${owner}.${ORIGIN}`)!.rrsets.values()].flatMap((set) => set.rdata);
        const added = [...rdata('kept'), ...rdata('ns1').filter((d) => Buffer.from(d).equals(Buffer.from([192, 0, 2, 2])))];
        assert.equal(added.length, 3, 'A and TXT at kept, and the second address at ns1');
        for (const d of added) assert.equal(d.buffer.byteLength, d.byteLength, `rdata ${Buffer.from(d).toString('hex')} owns its memory`);
      }
    } finally {
      await store.close();
    }
  });
});

describe('two writers on one store', () => {
  it('an append beaten by the other writer is decided again, so neither loses an update', async () => {
    const one = await setup();
    const two = await setup(one.path);
    const outs: Promise<UpdateOutcome>[] = [];
    for (let i = 0; i < 50; i++) {
      outs.push(one.writer.submit(update([], [a(`one${i}`, '10.2.0.1')]), from));
      outs.push(two.writer.submit(update([], [a(`two${i}`, '10.3.0.1')]), from));
    }
    const got = await Promise.all(outs);
    assert.ok(got.every((o) => o.rcode === Rcode.NOERROR), `rcodes: ${got.map((o) => o.rcode).join(',')}`);
    const head = await one.store.head(ORIGIN);
    assert.equal(head!.version, 101);
    const serials: number[] = [];
    for await (const e of one.store.readZone(ORIGIN, 2)) if (e.type === 'ZoneChanged') serials.push(e.data.serialTo);
    assert.deepEqual(serials, serials.map((_, i) => 11 + i), 'serials rise by one per event, with no gap and no repeat');
    await one.projection.catchUp();
    await two.projection.catchUp();
    for (const p of [one.projection, two.projection]) {
      const z = p.get(ORIGIN)!.index.zone;
      for (let i = 0; i < 50; i++) assert.ok(z.nodes.has(`one${i}.ex.test.`) && z.nodes.has(`two${i}.ex.test.`));
    }
    await one.store.close();
    await two.store.close();
  });
});
