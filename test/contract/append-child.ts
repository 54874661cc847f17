// A writer in its own process for the store contract: killed mid-append, or racing another writer.
//
//   append-child.ts URL ZONE crash N       from the head on, appends eventForVersion batches; after
//                                          N acknowledged appends it kills itself during a batch
//   append-child.ts URL ZONE race TAG N    appends N events, retrying on conflict
//
// A version goes to stdout only after its append resolved, that is after it is durable. Writes
// to a pipe are synchronous on Linux, so a line printed before SIGKILL reaches the parent.

import { randomInt } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { ConcurrencyError } from '../../shared/store/port.ts';
import { openStore } from '../../shared/store/open.ts';
import { changed, crashBatchSize, eventForVersion } from './events.ts';

const [url, zone, mode, tag, countText] = process.argv.slice(2);
const store = await openStore(url);
const deadline = Date.now() + 30_000;

/**
 * A thread that SIGKILLs this process a given number of microseconds after being told to. It
 * runs beside the main thread, so the kill lands inside an append even when the append is one
 * synchronous call (node:sqlite) that would keep any timer of ours from firing.
 */
function killer(): Worker {
  return new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', (us) => {
       const until = process.hrtime.bigint() + BigInt(us) * 1000n;
       while (process.hrtime.bigint() < until);
       process.kill(process.pid, 'SIGKILL');
     });`,
    { eval: true },
  );
}

if (mode === 'crash') {
  const killAfter = Number(tag);
  const k = killer();
  let acked = 0;
  let lastBatchUs = 2000;
  // Bounded, in case the kill never comes: the parent fails when we exit on our own.
  let version = (await store.head(zone))?.version ?? 0;
  for (let i = 0; i < 20_000 && Date.now() < deadline; i++) {
    const events = [];
    for (let n = 1; n <= crashBatchSize(version); n++) events.push(eventForVersion(zone, version + n));
    // Once enough appends are acknowledged, the next three-event batch is killed at a random
    // moment within the time the previous one took, so most kills land while it is written.
    if (events.length > 1 && acked >= killAfter) k.postMessage(randomInt(0, Math.max(1, lastBatchUs)));
    const t = process.hrtime.bigint();
    version = (await store.append(zone, events, version === 0 ? 'no-zone' : version)).version;
    if (events.length > 1) lastBatchUs = Number((process.hrtime.bigint() - t) / 1000n);
    acked++;
    process.stdout.write(`${version}\n`);
  }
  await k.terminate();
} else if (mode === 'race') {
  const count = Number(countText);
  for (let k = 0; k < count; k++) {
    for (let attempt = 0; ; attempt++) {
      if (attempt === 1000 || Date.now() > deadline) throw new Error(`${tag}: gave up on event ${k} after ${attempt} attempts`);
      const head = await store.head(zone);
      const serial = head?.serial ?? 0;
      const event = changed(zone, serial, serial + 1, { note: `${tag}-${k}` });
      try {
        const r = await store.append(zone, [event], head?.version ?? 'no-zone');
        process.stdout.write(`${r.version} ${event.id}\n`);
        break;
      } catch (e) {
        if (!(e instanceof ConcurrencyError)) throw e;
      }
    }
  }
} else {
  throw new Error(`unknown mode "${mode}"`);
}
await store.close();
