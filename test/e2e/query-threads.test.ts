// With query threads, every thread answers from a replica that follows each change, and an
// update that reaches a query thread's socket is handed to the main thread and applied: with
// batched datagram I/O (the default where the addon is built) and with node:dgram alike.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Rcode, Type, rcodeName } from '../../shared/dns/constants.ts';
import { startZonelog } from '../support/server.ts';
import { addressesOf, query, record, sendUpdates, tsigKey, type UpdateRequest } from '../support/updates.ts';

const ZONE = 'threads.test.';
const DDNS = { name: 'ddns-key', algorithm: 'hmac-sha256', secret: createHash('sha256').update('zonelog query threads').digest('base64') };

describe('query threads', { timeout: 240_000 }, () => {
  for (const io of ['batched', 'dgram'] as const) it(`answer every change, whichever socket a query or an update lands on (udp-io: ${io})`, async () => {
    const z = await startZonelog({
      keys: [DDNS],
      extra: { 'query-threads': 2, 'udp-io': io },
      zones: [{ name: ZONE, file: `$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n NS ns1\nns1 A 127.0.0.1\n`, allowUpdate: [{ key: DDNS.name }] }],
    });
    try {
      // Each update and each query goes out from a fresh socket, so the kernel spreads them over
      // the port's SO_REUSEPORT group: the main thread's socket and both threads'.
      const reqs: UpdateRequest[] = Array.from({ length: 200 }, (_, i) => ({ zone: ZONE, update: [record(`h${i}.${ZONE} 300 IN A 10.7.${i >> 8}.${i & 255}`)] }));
      const outcomes = await sendUpdates(z.port, reqs, { key: tsigKey(DDNS), inFlight: 20 });
      assert.deepEqual(outcomes.filter((o) => o.rcode !== Rcode.NOERROR), [], 'every update applied, forwarded or not');
      const wrong: string[] = [];
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 200; i++) {
          const d = await query(z.port, `h${i}.${ZONE}`, Type.A);
          const got = addressesOf(d, `h${i}.${ZONE}`);
          if (d.rcode !== Rcode.NOERROR || got.join() !== `10.7.${i >> 8}.${i & 255}`) wrong.push(`h${i}: ${rcodeName(d.rcode)} ${got.join()}`);
        }
      }
      assert.deepEqual(wrong, [], 'every thread answers every change');
      const soa = await query(z.port, ZONE, Type.SOA);
      assert.equal(soa.answer.length, 1);
      const serving = z.logLines().find((l) => l.msg === 'serving');
      assert.equal(serving?.udpIo, io, 'the server says which datagram I/O it uses');
    } finally {
      await z.stop();
    }
  });
});
