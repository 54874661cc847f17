// Two `zonelog serve` processes on one PostgreSQL store take updates for one zone: none lost, serials strictly increasing, same answers.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { soaSerial, waitUntil } from '../../infra/peers.ts';
import { Rcode, Type } from '../../shared/dns/constants.ts';
import { serialGt } from '../../shared/dns/serial.ts';
import type { StoredEvent } from '../../shared/events/types.ts';
import { openStore } from '../../shared/store/open.ts';
import { recordToText } from '../../shared/zone/printer.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startZonelog, type ServeOptions, type ServerHandle } from '../support/server.ts';
import { addressesOf, inParallel, nameNotInUse, percentile, query, record, sendUpdates, tally, tsigKey } from '../support/updates.ts';

const PER_SERVER = 300;
const IN_FLIGHT = 20;
const ZONE = 'shared.test.';
const KEY = { name: 'shared-key', algorithm: 'hmac-sha256', secret: createHash('sha256').update('zonelog two-servers test key').digest('base64') };
const ZONE_TEXT = `$ORIGIN ${ZONE}\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n  NS ns1\nns1 A 192.0.2.1\n`;

interface Planned {
  server: 0 | 1;
  name: string;
  address: string;
}

// Distinct names and addresses per server: a<i> go to the first, b<i> to the second.
const planned: Planned[] = [0, 1].flatMap((s) =>
  Array.from({ length: PER_SERVER }, (_, i): Planned => ({ server: s as 0 | 1, name: `${s === 0 ? 'a' : 'b'}${i}.${ZONE}`, address: `10.${s}.${i >> 8}.${i & 255}` })));

describe('two servers sharing one PostgreSQL store', { timeout: 600_000 }, () => {
  let pg: TestDatabase;
  const servers: ServerHandle[] = [];
  before(async () => {
    pg = await createTestDatabase();
    const opts: ServeOptions = { keys: [KEY], store: pg.url, zones: [{ name: ZONE, file: ZONE_TEXT, allowUpdate: [{ key: KEY.name }] }] };
    // Both at once: they race to import the zone, and exactly one ZoneCreated may come of it.
    const started = await Promise.allSettled([startZonelog(opts), startZonelog(opts)]);
    for (const r of started) if (r.status === 'fulfilled') servers.push(r.value);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await pg?.drop();
  });

  const errorLines = (): string[] => servers.flatMap((s, i) => s.logLines().filter((l) => Number(l.level) >= 50).map((l) => `server ${i}: ${JSON.stringify(l)}`));

  it(`both take ${PER_SERVER} concurrent updates each, lose none, order them by strictly increasing serials and end up answering the same zone`, async (t) => {
    const key = tsigKey(KEY);
    const t0 = performance.now();
    // Both streams at once, so the two writers keep racing for the next version of the zone.
    // The prerequisite makes each update valid once only: a re-decided update must still pass.
    const results = await Promise.all(([0, 1] as const).map((s) => {
      const mine = planned.filter((p) => p.server === s);
      return sendUpdates(servers[s].port, mine.map((p) => ({
        zone: ZONE, prerequisite: [nameNotInUse(p.name)], update: [record(`${p.name} 300 IN A ${p.address}`)],
      })), { key, inFlight: IN_FLIGHT, timeoutMs: 15_000 }).then((out) => out.map((o, i) => ({ ...o, planned: mine[i] })));
    }));
    const ms = performance.now() - t0;
    for (const [s, out] of results.entries()) {
      t.diagnostic(`server ${s}: ${JSON.stringify(tally(out))}, p50 ${percentile(out, 50).toFixed(1)} ms, p99 ${percentile(out, 99).toFixed(1)} ms`);
    }
    t.diagnostic(`${2 * PER_SERVER} updates in ${Math.round(ms)} ms (${Math.round((2 * PER_SERVER) / (ms / 1000))}/s)`);
    const outcomes = results.flat();
    const failed = outcomes.filter((o) => o.rcode !== Rcode.NOERROR);
    // Refused or failed updates must leave no trace; one that got no answer at all may have landed.
    const acked = new Set(outcomes.filter((o) => o.rcode === Rcode.NOERROR).map((o) => o.planned.name));
    const unknown = new Set(outcomes.filter((o) => o.rcode === null).map((o) => o.planned.name));

    // The store's order is the truth: gapless versions, serials strictly increasing from event to event.
    const store = await openStore(pg.url);
    const events: StoredEvent[] = [];
    try {
      for await (const e of store.readZone(ZONE)) events.push(e);
    } finally {
      await store.close();
    }
    assert.equal(events[0]?.type, 'ZoneCreated', 'the stream starts with the import');
    assert.equal(events.filter((e) => e.type === 'ZoneCreated').length, 1, 'the zone was created once, not by each server');
    let serial = events[0].type === 'ZoneCreated' ? events[0].data.serial : NaN;
    for (const [i, e] of events.entries()) {
      assert.equal(e.version, i + 1, `version ${e.version} at position ${i}: versions must be gapless`);
      if (e.type !== 'ZoneChanged') continue;
      assert.equal(e.data.serialFrom, serial, `version ${e.version} starts from serial ${e.data.serialFrom}, but the zone was at ${serial}`);
      assert.ok(serialGt(e.data.serialTo, e.data.serialFrom), `version ${e.version}: serial ${e.data.serialFrom} -> ${e.data.serialTo} does not increase`);
      serial = e.data.serialTo;
    }
    const updates = events.filter((e) => e.type === 'ZoneChanged' && e.data.cause === 'update');
    assert.ok(updates.every((e) => e.type === 'ZoneChanged' && e.data.removed.length === 0));
    const added = updates.flatMap((e) => (e.type === 'ZoneChanged' ? e.data.added : [])).sort();
    const text = (p: Planned): string => recordToText(record(`${p.name} 300 IN A ${p.address}`));
    const landed = new Set(added);
    const expected = planned.filter((p) => acked.has(p.name) || (unknown.has(p.name) && landed.has(text(p)))).map(text).sort();
    assert.deepEqual(added, expected, 'the records added are exactly the acknowledged updates, each once');

    // Both servers converge on the store's last serial...
    const last = serial;
    for (const [s, srv] of servers.entries()) {
      await waitUntil(`server ${s} to serve serial ${last}`, async () => ((await soaSerial(srv.port, ZONE)) === last ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    }
    // ...and answer every name the same, correct way (AXFR would compare wholesale; it is not there yet).
    const wrong: string[] = [];
    for (const [s, srv] of servers.entries()) {
      await inParallel(planned, 50, async (p) => {
        const d = await query(srv.port, p.name, Type.A).catch((e: Error) => e);
        if (d instanceof Error) return void wrong.push(`server ${s}, ${p.name}: ${d.message}`);
        const got = addressesOf(d, p.name).join();
        const want = landed.has(text(p)) ? p.address : '';
        if (d.rcode !== (want ? Rcode.NOERROR : Rcode.NXDOMAIN) || !d.aa || got !== want) wrong.push(`server ${s}, ${p.name}: rcode ${d.rcode} aa ${d.aa} A ${got || '(none)'}, want ${want || 'NXDOMAIN'}`);
      });
    }
    assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} wrong answers`);

    // Last, so that the checks above still say whether the outcomes that were given are true.
    assert.deepEqual(failed.slice(0, 10).map((o) => `${o.planned.name} via server ${o.planned.server}: ${o.rcode ?? o.error}`), [], `${failed.length} updates not acknowledged; server errors:\n${errorLines().slice(0, 10).join('\n')}`);
  });
});
