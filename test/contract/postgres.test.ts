// Runs the EventStore contract against PostgresStore: a fresh database per run, a schema per test.

import { after } from 'node:test';
import { openStore } from '../../shared/store/open.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { storeContract } from './store.contract.ts';

const db = await createTestDatabase();
after(() => db.drop());

let n = 0;
storeContract('postgres', async () => {
  const url = `${db.url}?schema=contract_${++n}`;
  const store = await openStore(url);
  return { store, url, cleanup: () => store.close() };
});
