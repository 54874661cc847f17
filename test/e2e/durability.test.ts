// An acknowledged update survives kill -9: 1,000 signed updates, 50 in flight, SIGKILL right after the last ack, then a restart.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Rcode, Type } from '../../shared/dns/constants.ts';
import { zonelog } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startZonelog, type ServeOptions, type ServerHandle } from '../support/server.ts';
import { addressesOf, countBy, inParallel, percentile, query, record, sendUpdates, tally, tsigKey, type UpdateOutcome } from '../support/updates.ts';

const UPDATES = 1000;
const IN_FLIGHT = 50;
const ZONE = 'durable.test.';
const KEY = { name: 'durability-key', algorithm: 'hmac-sha256', secret: createHash('sha256').update('zonelog durability test key').digest('base64') };
const ZONE_TEXT = `$ORIGIN ${ZONE}\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n  NS ns1\nns1 A 192.0.2.1\n`;

const hostName = (i: number): string => `h${i}.${ZONE}`;
const hostAddress = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

describe('durability of acknowledged updates across kill -9', { timeout: 600_000 }, () => {
  let pg: TestDatabase;
  const servers: ServerHandle[] = [];
  before(async () => {
    pg = await createTestDatabase();
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await pg?.drop();
  });

  for (const kind of ['sqlite', 'postgres'] as const) {
    it(`${kind}: all ${UPDATES} acknowledged updates are answered after kill -9 and a restart, and history names their key`, async (t) => {
      const opts: ServeOptions = {
        keys: [KEY],
        zones: [{ name: ZONE, file: ZONE_TEXT, allowUpdate: [{ key: KEY.name }] }],
        ...(kind === 'postgres' ? { store: pg.url } : {}),
      };
      const first = await startZonelog(opts);
      servers.push(first);

      // SIGKILL goes out from the callback that sees the last acknowledgement, before anything
      // else can run: nothing gets a chance to flush after the acks.
      let acked = 0;
      let killed: Promise<void> | undefined;
      const t0 = performance.now();
      const reqs = Array.from({ length: UPDATES }, (_, i) => ({ zone: ZONE, update: [record(`${hostName(i)} 300 IN A ${hostAddress(i)}`)] }));
      const outcomes: UpdateOutcome[] = await sendUpdates(first.port, reqs, {
        key: tsigKey(KEY), inFlight: IN_FLIGHT, timeoutMs: 10_000,
        onOutcome: (_, r) => {
          if (r.rcode === Rcode.NOERROR && ++acked === UPDATES) killed = first.kill9();
        },
      });
      const sendMs = performance.now() - t0;
      killed ??= first.kill9();
      await killed;
      const gone = await first.exited;
      t.diagnostic(`${kind}: ${UPDATES} updates in ${Math.round(sendMs)} ms (${Math.round(UPDATES / (sendMs / 1000))}/s), p50 ${percentile(outcomes, 50).toFixed(1)} ms, p99 ${percentile(outcomes, 99).toFixed(1)} ms; outcomes ${JSON.stringify(tally(outcomes))}`);
      assert.equal(acked, UPDATES, `acknowledged ${acked} of ${UPDATES}: ${JSON.stringify(tally(outcomes))}; first failure ${JSON.stringify(outcomes.find((o) => o.rcode !== Rcode.NOERROR))}`);
      assert.equal(gone.signal, 'SIGKILL', `the server was not killed by SIGKILL: ${JSON.stringify(gone)}`);

      const t1 = performance.now();
      const second = await startZonelog({ ...opts, dir: first.dir, port: first.port, store: first.store });
      servers.push(second);
      t.diagnostic(`${kind}: restarted and serving in ${Math.round(performance.now() - t1)} ms`);

      const wrong: string[] = [];
      await inParallel(reqs, IN_FLIGHT, async (_, i) => {
        const d = await query(second.port, hostName(i), Type.A).catch((e: Error) => e);
        if (d instanceof Error) return void wrong.push(`${hostName(i)}: ${d.message}`);
        const got = addressesOf(d, hostName(i));
        if (d.rcode !== Rcode.NOERROR || !d.aa || got.join() !== hostAddress(i)) wrong.push(`${hostName(i)}: rcode ${d.rcode} aa ${d.aa} A ${got.join() || '(none)'}`);
      });
      assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${UPDATES} acknowledged names are not answered after the restart`);

      const hist = await zonelog(['history', '--zone', ZONE, '--store', second.store, '--json']);
      assert.equal(hist.code, 0, hist.stderr);
      const events = hist.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; cause: string; added: number; removed: number; actor: { key?: string; address?: string } });
      const updates = events.filter((e) => e.type === 'ZoneChanged' && e.cause === 'update');
      assert.equal(updates.length, UPDATES, `history shows ${updates.length} update events; all events: ${JSON.stringify(countBy(events, (e) => `${e.type}/${e.cause}`))}`);
      const keys = countBy(updates, (e) => String(e.actor.key));
      assert.deepEqual(Object.keys(keys).map((k) => k.replace(/\.$/, '')), [KEY.name], `actor keys in history: ${JSON.stringify(keys)}`);
      assert.equal(outcomes.filter((o) => o.signed).length, UPDATES, 'every acknowledgement is TSIG-signed with the request\'s key (RFC 8945 §5.3)');
      assert.ok(updates.every((e) => e.actor.address === '127.0.0.1' && e.added === 1 && e.removed === 0), `an update event without address 127.0.0.1 or not +1/-0: ${JSON.stringify(updates.find((e) => !(e.actor.address === '127.0.0.1' && e.added === 1 && e.removed === 0)))}`);
    });
  }
});
