// Zone files against BIND: the corpus through `zonelog check`, `import` and `export`, judged by named-checkzone -D.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../infra/peers.ts';
import { parseMasterText } from '../../shared/zone/parser.ts';
import { recordToText } from '../../shared/zone/printer.ts';
import { addRecord, canonicalRecords, emptyZone } from '../../shared/zone/zone.ts';
import { ROOT, zonelog } from '../support/cli.ts';

const good = join(ROOT, 'test/fixtures/zones');
const bad = join(ROOT, 'test/fixtures/zones-bad');
const corpus = JSON.parse(readFileSync(join(good, 'corpus.json'), 'utf8')) as { zones: { file: string; origin: string }[] };
const cases = JSON.parse(readFileSync(join(bad, 'cases.json'), 'utf8')) as {
  file: string; origin: string; line: number; in_file: string; reason_keywords: string[]; bind_rejects: boolean;
}[];

/** named-checkzone's canonical dump (-D), as a sorted list of lines; cwd matters for $INCLUDE. */
async function bindDump(origin: string, file: string, cwd: string): Promise<string[]> {
  const r = await run('named-checkzone', ['-D', '-o', '-', origin, file], { cwd, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `named-checkzone refused ${file}: ${r.stderr}${r.stdout}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').sort();
}

/** The record set a master file holds, in canonical form, read by our parser. */
function recordSet(text: string, origin: string): string[] {
  const p = parseMasterText(text, 'dump', { origin });
  assert.deepEqual(p.errors, []);
  const z = emptyZone(origin);
  for (const r of p.records) addRecord(z, r);
  return canonicalRecords(z).map(recordToText);
}

describe('zone-file corpus against named-checkzone', () => {
  let tmp: string;
  let store: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'zonelog-corpus-'));
    store = `sqlite:${join(tmp, 'corpus.db')}`;
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('the corpus has at least 15 zones and named-checkzone accepts each', () => {
    assert.ok(corpus.zones.length >= 15, `${corpus.zones.length} zones`);
  });

  for (const z of corpus.zones) {
    it(`${z.file}: check, import and export give BIND's record set`, async () => {
      const check = await zonelog(['check', join(good, z.file), '--origin', z.origin]);
      assert.equal(check.code, 0, check.stderr);
      const imp = await zonelog(['import', '--store', store, '--zone', z.origin, join(good, z.file)]);
      assert.equal(imp.code, 0, imp.stderr);
      const exp = await zonelog(['export', '--store', store, '--zone', z.origin]);
      assert.equal(exp.code, 0, exp.stderr);
      const exported = join(tmp, `${z.file}.export`);
      writeFileSync(exported, exp.stdout, 'latin1');

      // BIND's reading of our export is BIND's reading of the original, line for line.
      const [orig, ours] = await Promise.all([bindDump(z.origin, z.file, good), bindDump(z.origin, exported, tmp)]);
      assert.deepEqual(ours, orig);
      // And the record set in BIND's dump is the one we exported.
      assert.deepEqual(recordSet(exp.stdout, z.origin), recordSet(orig.join('\n') + '\n', z.origin));

      // Importing the export again changes nothing.
      const again = await zonelog(['import', '--store', store, '--zone', z.origin, exported]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /no change/);
    });
  }
});

// Where we differ from BIND on purpose (see README, design notes).
const ACCEPTED_BY_DESIGN: Record<string, RegExp> = {
  // RFC 2181 §8: BIND too reads a TTL above 2^31-1 as 0, with a warning.
  'ttl-over-max.zone': /TTL 2147483648 is above 2\^31-1; using 0/,
  // A TXT string over 255 octets is split into 255-octet strings rather than refused.
  'txt-string-too-long.zone': /^$/,
};

describe('broken zone files: a clear file:line error, and nothing changes in the store', () => {
  let tmp: string;
  let store: string;
  let baseline: string;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'zonelog-bad-'));
    store = `sqlite:${join(tmp, 'bad.db')}`;
    const seed = join(tmp, 'seed.zone');
    writeFileSync(seed, '$TTL 1h\n@ SOA ns1 hostmaster 1 2h 1h 2w 5m\n  NS ns1\nns1 A 192.0.2.53\nkeep TXT "the zone before any broken import"\n');
    const r = await zonelog(['import', '--store', store, '--zone', 'bad.test.', seed]);
    assert.equal(r.code, 0, r.stderr);
    baseline = (await zonelog(['history', '--store', store, '--zone', 'bad.test.', '--json'])).stdout;
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('cover the promised kinds: bad escapes, parentheses, $INCLUDE loop, CNAME and other data, out-of-zone', () => {
    const have = new Set(cases.map((c) => c.file));
    for (const f of ['bad-escape-short-decimal.zone', 'bad-escape-in-txt.zone', 'unbalanced-open-paren.zone', 'stray-close-paren.zone', 'include-loop.zone', 'cname-and-other-data.zone', 'out-of-zone.zone']) assert.ok(have.has(f), f);
  });

  for (const c of cases) {
    it(`${c.file}`, async () => {
      const file = join(bad, c.file);
      const check = await zonelog(['check', file, '--origin', c.origin]);
      const designed = ACCEPTED_BY_DESIGN[c.file];
      if (designed) {
        assert.equal(check.code, 0, check.stderr);
        assert.match(check.stderr.trim(), designed);
        return;
      }
      const imp = await zonelog(['import', '--store', store, '--zone', c.origin, file]);
      const hist = (await zonelog(['history', '--store', store, '--zone', c.origin, '--json'])).stdout;
      assert.equal(check.code, 1, `check accepted ${c.file}`);
      const first = check.stderr.split('\n')[0];
      const m = /^(.*):(\d+): (.*)$/.exec(first);
      assert.ok(m, `"${first}" is not file:line: reason`);
      assert.ok(m[1].endsWith(c.in_file), `error names ${m[1]}, the defect is in ${c.in_file}`);
      if (c.line > 0) assert.equal(Number(m[2]), c.line);
      const keywords = c.file === 'mx-missing-exchange.zone' ? ['MX', 'missing'] : c.reason_keywords.filter((k) => !k.endsWith('.inc'));
      for (const k of keywords) assert.ok(m[3].toLowerCase().includes(k.toLowerCase()) || first.includes(k), `"${first}" lacks "${k}"`);
      assert.equal(imp.code, 1, `import accepted ${c.file}`);
      assert.match(imp.stderr, /the store is unchanged/);
      assert.equal(hist, baseline, 'the store changed');
    });
  }
});
