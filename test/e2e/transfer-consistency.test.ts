// A secondary that transfers while updates stream in gets one serial's view, never a mix: every
// AXFR and IXFR taken during 1,500 updates (50 in flight) is checked against an invariant that
// holds at each serial and at no mix of two.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { LOOPBACK } from '../../infra/peers.ts';
import { exchangeTcp } from '../../shared/dns/client.ts';
import { Class, Rcode, Type } from '../../shared/dns/constants.ts';
import { decodeMessage, emptyMessage, encodeMessage, type RR } from '../../shared/dns/message.ts';
import { soaSerial, withSerial } from '../../shared/zone/zone.ts';
import { startZonelog } from '../support/server.ts';
import { record, sendUpdates, tsigKey, type UpdateRequest } from '../support/updates.ts';

const ZONE = 'mix.test.';
const DDNS = { name: 'ddns-key', algorithm: 'hmac-sha256', secret: createHash('sha256').update('zonelog transfer consistency').digest('base64') };
const UPDATES = 1500;

/** Every record of a transfer answer, reading messages until the answer is complete. */
async function transfer(port: number, type: number, clientSoa?: RR): Promise<RR[]> {
  const msg = encodeMessage(emptyMessage({ id: 4242, question: [{ name: ZONE, type, class: Class.IN }], authority: clientSoa ? [clientSoa] : [] }));
  const records: RR[] = [];
  let current = -1;
  let seen = 0;
  let axfrStyle = type === Type.AXFR;
  let bad = '';
  await exchangeTcp(LOOPBACK, port, msg, {
    timeoutMs: 30_000,
    done: (reply) => {
      const d = decodeMessage(reply);
      if (!d.ok || d.value.rcode !== Rcode.NOERROR) {
        bad = d.ok ? `RCODE ${d.value.rcode}` : d.error.message;
        return true;
      }
      for (const rr of d.value.answer) {
        if (records.length === 0) current = soaSerial(rr.rdata);
        else if (records.length === 1 && rr.type !== Type.SOA) axfrStyle = true;
        records.push(rr);
        if (rr.type === Type.SOA && soaSerial(rr.rdata) === current) seen++;
      }
      // AXFR (or AXFR-style): SOA ... SOA. Incremental: SOA, (old SOA, -, new SOA, +)*, SOA;
      // condensed, the current serial appears three times. Up to date: the SOA alone.
      return records.length === 1 || seen >= (axfrStyle ? 2 : 3);
    },
  });
  assert.equal(bad, '', 'every message decodes, NOERROR');
  return records;
}

/** The a-N and b-N names in some records: each update adds both, so a view of one serial has equal sets. */
function pairs(rrs: RR[]): { a: Set<string>; b: Set<string> } {
  const a = new Set<string>();
  const b = new Set<string>();
  for (const rr of rrs) {
    const m = /^([ab])-(\d+)\./.exec(rr.name);
    if (m && rr.type === Type.A) (m[1] === 'a' ? a : b).add(m[2]);
  }
  return { a, b };
}

describe('transfers during a stream of updates', { timeout: 180_000 }, () => {
  it('every AXFR and IXFR is one serial\'s view', async () => {
    const z = await startZonelog({
      keys: [DDNS],
      zones: [{ name: ZONE, file: `$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n NS ns1\nns1 A 127.0.0.1\n`, allowUpdate: [{ key: DDNS.name }], allowTransfer: [{ address: '127.0.0.0/8' }] }],
    });
    try {
      const reqs: UpdateRequest[] = Array.from({ length: UPDATES }, (_, i) => ({
        zone: ZONE,
        update: [record(`a-${i}.${ZONE} 300 IN A 10.0.${i >> 8}.${i & 255}`), record(`b-${i}.${ZONE} 300 IN A 10.1.${i >> 8}.${i & 255}`)],
      }));
      let streaming = true;
      const sent = sendUpdates(z.port, reqs, { key: tsigKey(DDNS), inFlight: 50, timeoutMs: 2000 }).finally(() => (streaming = false));
      let axfrs = 0;
      let ixfrs = 0;
      let earlier: RR | null = null;
      // Transfers back to back while the updates go on (bounded: the updates end, or 2,000 transfers).
      while ((streaming || axfrs < 3) && axfrs + ixfrs < 2000) {
        const all = await transfer(z.port, Type.AXFR);
        const serial = soaSerial(all[0].rdata);
        const { a, b } = pairs(all);
        // Serial 1 + n holds exactly the n updates applied by then: n a-names, the same n b-names.
        assert.equal(a.size, serial - 1, `AXFR at serial ${serial}: ${a.size} a-names`);
        assert.deepEqual([...b].sort(), [...a].sort(), `AXFR at serial ${serial}: a and b names match`);
        axfrs++;
        if (earlier) {
          const inc = await transfer(z.port, Type.IXFR, earlier);
          const to = soaSerial(inc[0].rdata);
          const from = soaSerial(earlier.rdata);
          if (inc.length > 1 && inc[1].type === Type.SOA) {
            // Incremental (condensed): the records added since the client's serial.
            assert.equal(soaSerial(inc[1].rdata), from, 'an incremental answer from the client\'s serial');
            const added = pairs(inc);
            assert.equal(added.a.size, to - from, `IXFR ${from} → ${to}: one a-name per update`);
            assert.deepEqual([...added.b].sort(), [...added.a].sort(), `IXFR ${from} → ${to}: a and b names match`);
            ixfrs++;
          } else if (inc.length > 1) {
            // AXFR-style (the delta outweighed the zone, max-ixfr-ratio): the whole zone at `to`.
            const whole = pairs(inc);
            assert.equal(whole.a.size, to - 1, `AXFR-style IXFR at serial ${to}`);
            assert.deepEqual([...whole.b].sort(), [...whole.a].sort());
          }
        }
        earlier = { ...all[0], rdata: withSerial(all[0].rdata, serial) };
      }
      const outcomes = await sent;
      assert.ok(outcomes.every((o) => o.rcode === Rcode.NOERROR), 'every update applied');
      assert.ok(axfrs >= 3 && ixfrs >= 2, `transfers taken while updates streamed: ${axfrs} AXFR, ${ixfrs} IXFR`);
      const last = await transfer(z.port, Type.AXFR);
      assert.equal(soaSerial(last[0].rdata), 1 + UPDATES);
    } finally {
      await z.stop();
    }
  });
});
