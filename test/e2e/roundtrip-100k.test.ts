// The 100k-host benchmark zone round-trips through each store: import, export, re-import is no change.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadZoneFile, loadZoneText } from '../../shared/zone/load.ts';
import { printZone } from '../../shared/zone/printer.ts';
import { recordCount } from '../../shared/zone/zone.ts';
import { benchZone } from '../../bench/zone.ts';
import { zonelog } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

describe('100k-host zone round trip', () => {
  let tmp: string;
  let zoneFile: string;
  let pg: TestDatabase;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'zonelog-100k-'));
    zoneFile = benchZone(join(tmp, 'data'));
    pg = await createTestDatabase();
  });
  after(async () => {
    await pg?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const kind of ['sqlite', 'postgres'] as const) {
    it(`${kind}: import, export, re-import gives no change; the export holds every record`, async () => {
      const store = kind === 'sqlite' ? `sqlite:${join(tmp, 'rt.db')}` : pg.url;
      const imp = await zonelog(['import', '--quiet', '--store', store, '--zone', 'bench.test.', zoneFile]);
      assert.equal(imp.code, 0, imp.stderr);
      assert.match(imp.stdout, /created at serial 1 with 153630 records/);

      const exp = await zonelog(['export', '--store', store, '--zone', 'bench.test.']);
      assert.equal(exp.code, 0, exp.stderr);
      const original = loadZoneFile(zoneFile, { origin: 'bench.test.' }).zone;
      const exported = loadZoneText(exp.stdout, 'export', { origin: 'bench.test.' });
      assert.deepEqual(exported.errors, []);
      assert.equal(recordCount(exported.zone), 153_630);
      assert.equal(printZone(exported.zone, { canonical: true }), printZone(original, { canonical: true }));

      const file = join(tmp, `export-${kind}.zone`);
      writeFileSync(file, exp.stdout);
      const again = await zonelog(['import', '--quiet', '--store', store, '--zone', 'bench.test.', file]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /no change \(serial 1\)/);
      const hist = await zonelog(['history', '--store', store, '--zone', 'bench.test.', '--json']);
      assert.equal(hist.stdout.trim().split('\n').length, 1, 'still one event');
    });
  }
});
