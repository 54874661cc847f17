// Cached wire answers: every change that could alter an answer drops it, and nothing else does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Class, Rcode, Type } from '../../../shared/dns/constants.ts';
import { decodeMessage, encodeMessage, emptyMessage, type RR } from '../../../shared/dns/message.ts';
import { keyring } from '../../../shared/dns/tsig.ts';
import { diff } from '../../../shared/zone/changeset.ts';
import { loadZoneText } from '../../../shared/zone/load.ts';
import { cloneZone, soaSerial, withSerial, type Zone } from '../../../shared/zone/zone.ts';
import { LiveZone, type CacheEntry } from '../../../services/projector/live-zone.ts';
import { ZoneIndex } from '../../../services/projector/zone-index.ts';
import { Responder } from '../../../services/responder/query.ts';

const ORIGIN = 'ex.test.';
const load = (body: string): Zone => {
  const r = loadZoneText(`$TTL 300\n@ SOA ns1 hostmaster 1 2h 1h 2w 60\n NS ns1\nns1 A 192.0.2.1\n${body}`, 'z', { origin: ORIGIN });
  assert.deepEqual(r.errors, []);
  return r.zone;
};

function serve(body: string) {
  let current = load(body);
  const live = new LiveZone(new ZoneIndex(cloneZone(current)), 1);
  const responder = new Responder(new Map([[live.apexKey, live]]), keyring([]));
  let id = 0;
  const ask = (name: string, type: number) => {
    const q = encodeMessage(emptyMessage({ id: ++id, question: [{ name, type, class: Class.IN }] }));
    const out = responder.handle(q, { address: '127.0.0.1', port: 1, transport: 'udp' }) as Buffer;
    const m = decodeMessage(out);
    assert.ok(m.ok);
    return { rcode: m.value.rcode, answer: m.value.answer.map((rr: RR) => `${rr.name} ${rr.type}`), authority: m.value.authority.map((rr: RR) => rr.type) };
  };
  const negativeSerial = (name: string): number => {
    const q = encodeMessage(emptyMessage({ id: ++id, question: [{ name, type: Type.A, class: Class.IN }] }));
    const m = decodeMessage(responder.handle(q, { address: '127.0.0.1', port: 1, transport: 'udp' }) as Buffer);
    assert.ok(m.ok && m.value.authority[0]?.type === Type.SOA);
    return soaSerial(m.value.authority[0].rdata);
  };
  /** Moves the zone to the given body at the next serial, as one change. */
  const change = (next: string) => {
    const to = load(next);
    const bumped = cloneZone(to);
    const s = bumped.nodes.get(ORIGIN)!.rrsets.get(Type.SOA)!;
    s.rdata = [withSerial(s.rdata[0], live.version + 1)];
    live.apply(diff(current, bumped), live.version + 1);
    current = bumped;
  };
  const raw = (name: string, type: number): Buffer => {
    const q = encodeMessage(emptyMessage({ id: 7, question: [{ name, type, class: Class.IN }] }));
    return responder.handle(q, { address: '127.0.0.1', port: 1, transport: 'udp' }) as Buffer;
  };
  // The entries themselves, for what the cache keeps (a private field, read as tests may).
  const entries = (): CacheEntry[] => [...(responder['cache'] as Map<number, CacheEntry>).values()];
  return { ask, change, negativeSerial, raw, warm: (sliceMs?: number, busyGapMs?: number) => responder.warm(live, sliceMs, busyGapMs), cached: () => responder.cached, entries };
}

describe('answers compiled ahead of traffic', () => {
  it('give the same bytes as answers compiled on demand, and still follow changes', async () => {
    const body = 'www A 192.0.2.1\nwww AAAA 2001:db8::1\nalias CNAME www\nmail MX 10 www\n*.w TXT "wild"\n';
    const cold = serve(body);
    const warm = serve(body);
    const compiled = await warm.warm();
    assert.ok(compiled >= 8);
    assert.equal(warm.cached(), compiled);
    for (const [name, type] of [['www.ex.test.', Type.A], ['www.ex.test.', Type.AAAA], ['alias.ex.test.', Type.CNAME], ['mail.ex.test.', Type.MX], ['ex.test.', Type.SOA], ['ex.test.', Type.NS]] as const) {
      assert.deepEqual(warm.raw(name, type), cold.raw(name, type), `${name} ${type}`);
    }
    assert.equal(warm.cached(), compiled, 'every one of those questions was answered from what warm() compiled');
    warm.change(body.replace('192.0.2.1', '192.0.2.99'));
    cold.change(body.replace('192.0.2.1', '192.0.2.99'));
    assert.deepEqual(warm.raw('www.ex.test.', Type.A), cold.raw('www.ex.test.', Type.A));
  });
});

describe('compiling ahead of traffic gives way to traffic', () => {
  it('still compiles every answer while queries keep arriving', async () => {
    const body = Array.from({ length: 2000 }, (_, i) => `h${i} A 192.0.2.${i % 250}\n`).join('');
    const idle = serve(body);
    const all = await idle.warm(0.05, 1);
    const busy = serve(body);
    let done = false;
    let asked = 0;
    const compiled = busy.warm(0.05, 1).finally(() => { done = true; });
    // A query on every turn of the event loop, bounded, until the warm-up is over.
    while (!done && asked < 200_000) {
      busy.ask(`h${asked % 2000}.ex.test.`, Type.AAAA);
      asked++;
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(done, 'the warm-up finished under continuous traffic');
    assert.ok(asked > 10, `queries were answered while it ran (${asked})`);
    // The AAAA questions asked are NODATA answers, not the names' own types, so the count is the idle one.
    assert.equal(await compiled, all);
    assert.equal(busy.cached(), all + Math.min(asked, 2000));
  });
});

describe('memory the cache keeps', () => {
  it('answers compiled ahead of traffic sit side by side in chunks of their own, holding little more than their size', async () => {
    let body = '';
    for (let i = 0; i < 2000; i++) body += `h${i} A 10.0.${i >> 8}.${i & 255}\nh${i} TXT "lease ${i}"\n`;
    const z = serve(body);
    assert.ok((await z.warm()) >= 4000);
    const held = new Set<ArrayBufferLike>();
    let used = 0;
    for (const e of z.entries()) {
      for (const b of [e.key, e.wire]) {
        held.add(b.buffer);
        used += b.byteLength;
      }
    }
    let capacity = 0;
    for (const b of held) capacity += b.byteLength;
    assert.ok(capacity - used < 64 * 1024, `${capacity} octets held for ${used} octets of keys and answers`);
  });

  it('an answer compiled on a miss keeps its key and wire in memory of their own, not slices of a shared pool', () => {
    const z = serve('www A 192.0.2.1\n');
    z.ask('www.ex.test.', Type.A);
    z.ask('none.ex.test.', Type.A);
    z.change('www A 192.0.2.2\n');
    z.ask('www.ex.test.', Type.A);
    const entries = z.entries();
    assert.equal(entries.length, 2);
    for (const e of entries) {
      assert.equal(e.key.buffer.byteLength, e.key.byteLength, 'the key owns its memory');
      assert.equal(e.wire.buffer.byteLength, e.wire.byteLength, 'the wire owns its memory');
    }
  });
});

describe('answer cache invalidation', () => {
  it('an NXDOMAIN answered from the cache turns into the record once the name is added', () => {
    const z = serve('');
    assert.equal(z.ask('new.ex.test.', Type.A).rcode, Rcode.NXDOMAIN);
    assert.equal(z.ask('new.ex.test.', Type.A).rcode, Rcode.NXDOMAIN);
    z.change('new A 192.0.2.7\n');
    assert.deepEqual(z.ask('new.ex.test.', Type.A), { rcode: Rcode.NOERROR, answer: ['new.ex.test. 1'], authority: [] });
  });

  it('a name below a new record turns an NXDOMAIN parent into an empty non-terminal (NODATA)', () => {
    const z = serve('');
    assert.equal(z.ask('b.ex.test.', Type.A).rcode, Rcode.NXDOMAIN);
    z.change('a.b A 192.0.2.8\n');
    assert.deepEqual(z.ask('b.ex.test.', Type.A), { rcode: Rcode.NOERROR, answer: [], authority: [Type.SOA] });
    z.change('');
    assert.equal(z.ask('b.ex.test.', Type.A).rcode, Rcode.NXDOMAIN, 'and back when the child goes');
  });

  it('a wildcard answer gives way to a record added at the exact name, and a new wildcard is seen', () => {
    const z = serve('*.w A 192.0.2.9\n');
    assert.deepEqual(z.ask('x.w.ex.test.', Type.A).answer, ['x.w.ex.test. 1']);
    z.change('*.w A 192.0.2.9\nx.w TXT "here"\n');
    assert.deepEqual(z.ask('x.w.ex.test.', Type.A), { rcode: Rcode.NOERROR, answer: [], authority: [Type.SOA] });
    assert.equal(z.ask('y.v.ex.test.', Type.A).rcode, Rcode.NXDOMAIN);
    z.change('*.w A 192.0.2.9\nx.w TXT "here"\n*.v A 192.0.2.10\n');
    assert.deepEqual(z.ask('y.v.ex.test.', Type.A).answer, ['y.v.ex.test. 1']);
  });

  it('a delegation added above a cached answer turns it into a referral', () => {
    const z = serve('h.sub A 192.0.2.11\n');
    assert.deepEqual(z.ask('h.sub.ex.test.', Type.A).answer, ['h.sub.ex.test. 1']);
    z.change('h.sub A 192.0.2.11\nsub NS ns.other.test.\n');
    const r = z.ask('h.sub.ex.test.', Type.A);
    assert.deepEqual([r.rcode, r.answer, r.authority], [Rcode.NOERROR, [], [Type.NS]]);
  });

  it('a CNAME chain follows a change at its target', () => {
    const z = serve('alias CNAME target\ntarget A 192.0.2.12\n');
    assert.deepEqual(z.ask('alias.ex.test.', Type.A).answer, ['alias.ex.test. 5', 'target.ex.test. 1']);
    z.change('alias CNAME target\n');
    const r = z.ask('alias.ex.test.', Type.A);
    assert.deepEqual([r.rcode, r.answer], [Rcode.NXDOMAIN, ['alias.ex.test. 5']]);
  });

  it('the SOA in a cached negative answer follows the serial of any change', () => {
    const z = serve('');
    assert.equal(z.negativeSerial('none.ex.test.'), 1);
    assert.equal(z.negativeSerial('none.ex.test.'), 1);
    z.change('other TXT "x"\n');
    assert.equal(z.negativeSerial('none.ex.test.'), 2);
  });
});

describe('the UDP fast path writing into a batch buffer', () => {
  it('writes the bytes it would return, at the offset given, and falls back to its own buffer when there is no room', () => {
    const zone = load('www A 192.0.2.1\nwww AAAA 2001:db8::1\n');
    const live = new LiveZone(new ZoneIndex(zone), 1);
    const responder = new Responder(new Map([[live.apexKey, live]]), keyring([]));
    // 0x20 case and an ID of its own, so the patched header and question show in the bytes.
    const q = encodeMessage(emptyMessage({ id: 0x1234, question: [{ name: 'wWw.Ex.TeSt.', type: Type.AAAA, class: Class.IN }] }));
    const alone = responder.udpFast(q) as Buffer;
    assert.ok(Buffer.isBuffer(alone));
    const dst = Buffer.alloc(alone.length + 20, 0xee);
    const n = responder.udpFast(q, dst, 7);
    assert.equal(n, alone.length);
    assert.deepEqual(dst.subarray(7, 7 + alone.length), alone);
    assert.ok(dst.subarray(0, 7).every((b) => b === 0xee) && dst.subarray(7 + alone.length).every((b) => b === 0xee), 'nothing written outside the answer');
    const full = responder.udpFast(q, dst, dst.length - alone.length + 1);
    assert.ok(Buffer.isBuffer(full) && full.equals(alone), 'no room: an answer of its own');
    assert.equal(responder.udpFast(Buffer.from(q.subarray(0, 5)), dst, 0), null, 'too short to answer: silence');
  });
});
