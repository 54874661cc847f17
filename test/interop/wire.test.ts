// The message layer against live peers: our signed UPDATE and AXFR with named, and fresh captures of nsupdate, dig and kdig.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LOOPBACK, dig, kdig, nsupdate, startBind, type PeerHandle } from '../../infra/peers.ts';
import { exchangeTcp, exchangeUdp } from '../../shared/dns/client.ts';
import { Class, Opcode, Rcode, TsigError, Type } from '../../shared/dns/constants.ts';
import { decodeMessage, emptyMessage, encodeMessage, type Decoded } from '../../shared/dns/message.ts';
import { TsigStreamVerifier, keyring, makeKey, signMessage, verifyMessage } from '../../shared/dns/tsig.ts';
import { parseRecordLine } from '../../shared/zone/parser.ts';
import { startCaptureProxy, type CaptureProxy } from '../support/capture-proxy.ts';

const secret = createHash('sha256').update('zonelog wire interop test key').digest('base64');
const KEY = { name: 'wire-test', algorithm: 'hmac-sha256', secret };
const key = makeKey(KEY.name, KEY.algorithm, KEY.secret);
const ZONE = 'wire.test.';

function zoneText(): string {
  const lines = ['$TTL 300', '@ SOA ns1 hostmaster 1 3600 600 86400 300', '  NS ns1', 'ns1 A 192.0.2.1', 'mail A 192.0.2.25', '@ MX 10 mail'];
  // enough data that an AXFR spans several messages
  for (let i = 0; i < 3000; i++) lines.push(`host-${i} A 10.${(i >> 8) & 255}.${i & 255}.1`, `host-${i} TXT "DHCP client ${i}"`);
  return lines.join('\n') + '\n';
}

function decoded(b: Uint8Array): Decoded {
  const r = decodeMessage(b);
  if (!r.ok) throw r.error;
  return r.value;
}

describe('wire layer with live peers', () => {
  let named: PeerHandle;
  let proxy: CaptureProxy;
  before(async () => {
    named = await startBind({ keys: [KEY], zones: [{ name: ZONE, role: 'primary', file: zoneText(), allowUpdate: KEY.name }] });
    proxy = await startCaptureProxy({ upstreamPort: named.port });
  });
  after(async () => {
    await proxy?.close();
    await named?.stop();
  });

  it('named accepts an UPDATE we build and sign, with every prerequisite kind, and its signed reply verifies', async () => {
    const rr = (line: string, klass?: number) => ({ ...parseRecordLine(line), ...(klass !== undefined ? { class: klass } : {}) });
    const empty = (name: string, type: number, klass: number) => ({ name, type, class: klass, ttl: 0, rdata: new Uint8Array(0) });
    const msg = emptyMessage({
      id: 4321, opcode: Opcode.UPDATE,
      question: [{ name: ZONE, type: Type.SOA, class: Class.IN }],
      answer: [
        empty(`mail.${ZONE}`, Type.ANY, Class.ANY),            // name is in use
        empty(`free.${ZONE}`, Type.ANY, Class.NONE),           // name is not in use
        empty(`mail.${ZONE}`, Type.A, Class.ANY),              // RRset exists (value independent)
        { ...rr(`mail.${ZONE} 0 IN A 192.0.2.25`), ttl: 0 },   // RRset exists (value dependent)
        empty(`mail.${ZONE}`, Type.AAAA, Class.NONE),          // RRset does not exist
      ],
      authority: [
        rr(`free.${ZONE} 600 IN A 192.0.2.99`),
        empty(`host-1.${ZONE}`, Type.TXT, Class.ANY),           // delete an RRset
        empty(`host-2.${ZONE}`, Type.ANY, Class.ANY),           // delete a name
        { ...rr(`host-3.${ZONE} 0 IN A 10.0.3.1`), class: Class.NONE, ttl: 0 }, // delete one RR
      ],
    });
    const req = signMessage(encodeMessage(msg), key);
    const reply = decoded(await exchangeUdp(LOOPBACK, named.port, req.wire));
    assert.equal(reply.rcode, Rcode.NOERROR);
    const v = verifyMessage(reply, keyring([key]), { requestMac: req.mac });
    assert.ok(v.ok, v.ok ? '' : v.detail);

    const look = async (name: string, type: string) => (await dig(['+short', '+norec', `@${LOOPBACK}`, '-p', String(named.port), name, type])).stdout.trim();
    assert.equal(await look(`free.${ZONE}`, 'A'), '192.0.2.99');
    assert.equal(await look(`host-1.${ZONE}`, 'TXT'), '');
    assert.equal(await look(`host-2.${ZONE}`, 'A'), '');
    assert.equal(await look(`host-3.${ZONE}`, 'A'), '');
  });

  it('named answers a wrong secret with NOTAUTH/BADSIG and a wrong key name with NOTAUTH/BADKEY', async () => {
    const q = encodeMessage(emptyMessage({ id: 99, opcode: Opcode.UPDATE, question: [{ name: ZONE, type: Type.SOA, class: Class.IN }] }));
    const badSecret = decoded(await exchangeUdp(LOOPBACK, named.port, signMessage(q, makeKey(KEY.name, KEY.algorithm, Buffer.from('wrong').toString('base64'))).wire));
    assert.equal(badSecret.rcode, Rcode.NOTAUTH);
    assert.equal(badSecret.tsig?.error, TsigError.BADSIG);
    const badKey = decoded(await exchangeUdp(LOOPBACK, named.port, signMessage(q, makeKey('no-such-key', KEY.algorithm, secret)).wire));
    assert.equal(badKey.rcode, Rcode.NOTAUTH);
    assert.equal(badKey.tsig?.error, TsigError.BADKEY);
  });

  it('named accepts our signed AXFR request, and every message of its answer verifies in order', async () => {
    const q = encodeMessage(emptyMessage({ id: 777, question: [{ name: ZONE, type: Type.AXFR, class: Class.IN }] }));
    const req = signMessage(q, key);
    let soas = 0;
    const replies = await exchangeTcp(LOOPBACK, named.port, req.wire, {
      timeoutMs: 20_000,
      done: (m) => (soas += decoded(m).answer.filter((r) => r.type === Type.SOA).length) >= 2,
    });
    assert.ok(replies.length > 1, `${replies.length} messages`);
    const stream = new TsigStreamVerifier(key, req.mac);
    let records = 0;
    for (const m of replies) {
      const d = decoded(m);
      const v = stream.verify(d);
      assert.ok(v.ok, v.ok ? '' : v.detail);
      records += d.answer.length;
      assert.deepEqual(encodeMessage(decoded(encodeMessage(d))), encodeMessage(d));
    }
    assert.ok(stream.finish());
    assert.ok(records > 6000);
  });

  it('fresh nsupdate traffic decodes, re-encodes and verifies', async () => {
    proxy.clear();
    const script = `server ${LOOPBACK} ${proxy.port}\nzone ${ZONE}\nprereq yxdomain mail.${ZONE}\nprereq nxrrset mail.${ZONE} AAAA\nupdate delete host-10.${ZONE} A 10.0.10.1\nupdate add new.${ZONE} 300 TXT "from nsupdate"\nsend\n`;
    const r = await nsupdate(script, ['-y', `${KEY.algorithm}:${KEY.name}:${KEY.secret}`]);
    assert.equal(r.code, 0, r.stderr);
    const msgs = proxy.messages();
    assert.equal(msgs.length, 2);
    const req = decoded(msgs[0].bytes);
    assert.equal(req.opcode, Opcode.UPDATE);
    assert.deepEqual(encodeMessage(req), msgs[0].bytes);
    const v = verifyMessage(req, keyring([key]));
    assert.ok(v.ok, v.ok ? '' : v.detail);
    const reply = decoded(msgs[1].bytes);
    assert.ok(verifyMessage(reply, keyring([key]), { requestMac: v.mac }).ok);
    assert.ok(req.authority.some((x) => x.class === Class.NONE && x.type === Type.A && x.rdata.length === 4));
  });

  it('fresh dig and kdig queries decode and re-encode byte for byte, EDNS options included', async () => {
    proxy.clear();
    await dig(['+norec', `@${LOOPBACK}`, '-p', String(proxy.port), `mail.${ZONE}`, 'MX']);
    await kdig([`@${LOOPBACK}`, '-p', String(proxy.port), '+nsid', `${ZONE}`, 'MX']);
    const msgs = proxy.messages();
    assert.equal(msgs.length, 4);
    for (const m of msgs) assert.deepEqual(encodeMessage(decoded(m.bytes)), m.bytes);
    assert.ok(decoded(msgs[0].bytes).edns?.options.some((o) => o.code === 10), 'dig sends a cookie');
    assert.ok(decoded(msgs[2].bytes).edns?.options.some((o) => o.code === 3), 'kdig +nsid asks for NSID');
    assert.equal(decoded(msgs[3].bytes).answer[0]?.type, Type.MX);
  });
});
