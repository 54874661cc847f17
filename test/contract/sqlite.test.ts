// Runs the EventStore contract against SqliteStore, one fresh file per test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openStore } from '../../shared/store/open.ts';
import { storeContract } from './store.contract.ts';

const root = mkdtempSync(join(tmpdir(), 'zonelog-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh store file per test, opened as `zonelog serve` opens it or plainly. */
const fresh = (opts: { appendThread?: boolean }) => async () => {
  const dir = join(root, `store-${++n}`);
  // A directory that does not exist yet: openStore creates it.
  const url = `sqlite:${join(dir, 'zonelog.db')}`;
  const store = await openStore(url, opts);
  return {
    store,
    url,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

storeContract('sqlite', fresh({}));
// The same contract with appends on their own thread, as `zonelog serve` opens the store.
storeContract('sqlite (append thread)', fresh({ appendThread: true }));
