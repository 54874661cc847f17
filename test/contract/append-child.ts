// A writer in its own process for the store contract: killed mid-append, or racing another writer.
//
//   append-child.ts URL ZONE crash         from the head on, appends eventForVersion batches until killed
//   append-child.ts URL ZONE race TAG N    appends N events, retrying on conflict
//
// A line goes to stdout only after its append resolved, that is after it is durable. Writes to a
// pipe are synchronous on Linux, so a line printed before SIGKILL reaches the parent.

import { ConcurrencyError } from '../../shared/store/port.ts';
import { openStore } from '../../shared/store/open.ts';
import { changed, crashBatchSize, eventForVersion } from './events.ts';

const [url, zone, mode, tag, countText] = process.argv.slice(2);
const store = await openStore(url);
const deadline = Date.now() + 30_000;

if (mode === 'crash') {
  // Bounded, in case the parent never kills us: it fails when we exit on our own.
  let version = (await store.head(zone))?.version ?? 0;
  for (let i = 0; i < 20_000 && Date.now() < deadline; i++) {
    const events = [];
    for (let k = 1; k <= crashBatchSize(version); k++) events.push(eventForVersion(zone, version + k));
    version = (await store.append(zone, events, version === 0 ? 'no-zone' : version)).version;
    process.stdout.write(`${version}\n`);
  }
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
