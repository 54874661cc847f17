// A query thread: a replica of the served zones, fed changes by the main thread, answering UDP itself.

import { parentPort, workerData } from 'node:worker_threads';
import { makeKey, keyring } from '../../shared/dns/tsig.ts';
import { makeLogger } from '../../shared/log.ts';
import type { Changeset } from '../../shared/zone/changeset.ts';
import type { Zone } from '../../shared/zone/zone.ts';
import type { Endpoint, KeyConfig } from '../config/types.ts';
import { LiveZone } from '../projector/live-zone.ts';
import { ZoneIndex } from '../projector/zone-index.ts';
import { listenUdp } from './listen.ts';
import { Responder } from './query.ts';

/** What the main thread tells a query thread. */
export type ToQueryThread =
  | { t: 'zone'; zone: Zone; version: number }
  /** Changes in version order, sent together once per turn of the main thread's event loop. */
  | { t: 'changes'; items: { zone: string; version: number; changeset: Changeset }[] };

/** What a query thread tells the main thread. */
export type FromQueryThread =
  | { t: 'ready' }
  | { t: 'forward'; endpoint: number; msg: Uint8Array; address: string; port: number }
  | { t: 'counts'; byRcode: number[] };

export interface QueryThreadData {
  listen: Endpoint[];
  keys: KeyConfig[];
  logLevel: string;
  udpIo: 'auto' | 'batched' | 'dgram';
}

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as QueryThreadData;
  const log = makeLogger('zonelog', { level: data.logLevel });
  const zones = new Map<string, LiveZone>();
  // Which listen endpoint the message being handled came in on: handle() reaches the forwarder
  // synchronously, before it returns, so this is always the current message's.
  let endpoint = 0;
  // UPDATE and NOTIFY belong to the main thread, which answers from the same address and port.
  const responder = new Responder(zones, keyring(data.keys.map((k) => makeKey(k.name, k.algorithm, k.secret))), (m, peer) => {
    const msg: FromQueryThread = { t: 'forward', endpoint, msg: m.wire, address: peer.address, port: peer.port };
    port.postMessage(msg);
    return null;
  });
  port.on('message', (m: ToQueryThread) => {
    if (m.t === 'zone') {
      const live = new LiveZone(new ZoneIndex(m.zone), m.version);
      zones.set(live.apexKey, live);
      responder.clearCache();
      void responder.warm(live);
    } else {
      for (const c of m.items) {
        const live = zones.get(c.zone);
        // Checked by the main thread when it applied them: applied here as derived changes.
        if (live && c.version === live.version + 1) live.apply(c.changeset, c.version, true);
        else log.error({ zone: c.zone, version: c.version, have: live?.version }, 'query thread missed a change; waiting for the zone again');
      }
    }
  });
  for (let i = 0; i < data.listen.length; i++) {
    const ep = i;
    await listenUdp(data.listen[i], (msg, peer) => {
      endpoint = ep;
      return responder.handle(msg, peer);
    }, log, responder.udpFast, data.udpIo);
  }
  setInterval(() => {
    const msg: FromQueryThread = { t: 'counts', byRcode: responder.takeCounts() };
    port.postMessage(msg);
  }, 1000).unref();
  port.postMessage({ t: 'ready' } satisfies FromQueryThread);
}

void main();
