// The snapshot order thread (snapshot-order.ts): unpacks a snapshot's records, puts them in
// print order through the same zone code that prints, repacks and compresses them.

import { parentPort } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { Class } from '../dns/constants.ts';
import { zoneFromSnapshot } from '../events/codec.ts';
import { printOrderRecords } from '../zone/printer.ts';
import { soaOf } from '../zone/zone.ts';
import { decodeSnapshotRecords, encodeSnapshotRecords } from './rows.ts';
import type { OrderReply, OrderRequest } from './snapshot-order.ts';

const port = parentPort!;

port.on('message', ({ id, raw }: OrderRequest) => {
  let reply: OrderReply;
  try {
    const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const wire = decodeSnapshotRecords(buf, 'snapshot to order', true);
    if (!wire) throw new Error('not a binary snapshot body');
    const z = zoneFromSnapshot({ zone: wire.rrs[0]?.name ?? '.', version: 0, serial: 0, time: '', rrs: wire.rrs }, Class.IN);
    const soa = soaOf(z);
    if (!soa) throw new Error('the snapshot has no SOA');
    reply = { id, body: gzipSync(encodeSnapshotRecords(printOrderRecords(z, soa), true)) };
  } catch (e) {
    reply = { id, error: (e as Error).message };
  }
  port.postMessage(reply);
});
