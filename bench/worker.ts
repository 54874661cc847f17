// One benchmark measurement in a fresh process (run by bench/run.ts), printing one JSON line.
//
//   worker.ts import STORE_URL ZONE_FILE           parse, decide and append the 100k zone
//   worker.ts setup-replay STORE_URL ZONE_FILE N   the zone plus N small ZoneChanged events (not timed)
//   worker.ts replay STORE_URL [snapshot|none]     build the zone from its events
//   worker.ts memory STORE_URL                     RSS before and after holding the projection

import { Class, Type } from '../shared/dns/constants.ts';
import { snapshotOf, zoneChanged } from '../shared/events/codec.ts';
import type { NewEvent } from '../shared/events/types.ts';
import { openStore } from '../shared/store/open.ts';
import { loadZoneFile } from '../shared/zone/load.ts';
import { getRRset, recordCount, soaOf, withSerial } from '../shared/zone/zone.ts';
import { materialize } from '../services/projector/materialize.ts';
import { decideReload } from '../services/primary/reload.ts';

const ZONE = 'bench.test.';
const [mode, url, arg, arg2] = process.argv.slice(2);
const out = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
const rssKiB = (): number => Math.round(process.memoryUsage().rss / 1024);
const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) g();
};

const store = await openStore(url);
try {
  if (mode === 'import') {
    const t0 = performance.now();
    const r = loadZoneFile(arg, { origin: ZONE });
    if (r.errors.length) throw new Error(`zone has errors: ${r.errors[0].reason}`);
    const t1 = performance.now();
    const d = decideReload(null, r.zone, { user: 'bench' });
    if (d.kind !== 'create') throw new Error(d.kind);
    await store.append(ZONE, [d.event], 'no-zone');
    const t2 = performance.now();
    out({ records: recordCount(r.zone), parseMs: t1 - t0, appendMs: t2 - t1, totalMs: t2 - t0 });
  } else if (mode === 'setup-replay') {
    // DHCP lease renewals: each event deletes one host's A record and adds it with a new address.
    const n = Number(arg2);
    const r = loadZoneFile(arg, { origin: ZONE });
    const d = decideReload(null, r.zone, { user: 'bench' });
    if (d.kind !== 'create') throw new Error(d.kind);
    await store.append(ZONE, [d.event], 'no-zone');
    const hosts = [...r.zone.nodes.values()].filter((node) => node.rrsets.has(Type.A) && node.name.startsWith('ws-')).map((node) => node.name);
    let soa = soaOf(r.zone)!;
    let serial = 1;
    const ips = new Map<string, Uint8Array>();
    let batch: NewEvent[] = [];
    let version = 1;
    for (let i = 0; i < n; i++) {
      const host = hosts[i % hosts.length];
      const old = ips.get(host) ?? getRRset(r.zone, host, Type.A)!.rdata[0];
      const next = Uint8Array.from([10, 200 + (i % 50), (i >> 8) & 255, i & 255]);
      ips.set(host, next);
      const to = { ...soa, rdata: withSerial(soa.rdata, ++serial) };
      batch.push(zoneChanged({ soaFrom: soa, soaTo: to, removed: [{ name: host, type: Type.A, class: Class.IN, ttl: 1200, rdata: old }], added: [{ name: host, type: Type.A, class: Class.IN, ttl: 1200, rdata: next }] }, 'update', { key: 'dhcp-key.', address: '127.0.0.1' }));
      soa = to;
      if (batch.length === 1000 || i === n - 1) {
        version = (await store.append(ZONE, batch, version)).version;
        batch = [];
      }
    }
    // the projector's default policy: a snapshot every 1,000 versions, so at most 999 to replay
    const snapAt = version - 999;
    const m = await materialize(store, ZONE, { version: snapAt }, { useSnapshot: false });
    await store.saveSnapshot(snapshotOf(m.index.zone, snapAt));
    out({ events: n, version, snapshotAt: snapAt });
  } else if (mode === 'replay') {
    const useSnapshot = arg === 'snapshot';
    const t0 = performance.now();
    let events = 0;
    const m = await materialize(store, ZONE, 'head', { useSnapshot, onEvent: () => events++ });
    const ms = performance.now() - t0;
    out({ useSnapshot, fromSnapshot: m.fromSnapshot, version: m.version, eventsReplayed: events, ms, eventsPerSec: events / (ms / 1000), records: recordCount(m.index.zone) });
  } else if (mode === 'memory') {
    gc();
    const before = rssKiB();
    const heapBefore = process.memoryUsage().heapUsed;
    const m = await materialize(store, ZONE, 'head', { useSnapshot: true });
    gc();
    const after = rssKiB();
    const heapAfter = process.memoryUsage().heapUsed;
    const records = recordCount(m.index.zone);
    out({ records, rssBeforeKiB: before, rssAfterKiB: after, heapDeltaBytes: heapAfter - heapBefore, bytesPerRecord: ((after - before) * 1024) / records, heapBytesPerRecord: (heapAfter - heapBefore) / records, serial: m.index.serial });
  } else throw new Error(`unknown mode ${mode}`);
} finally {
  await store.close();
}
