// Runs every suite (`npm test`): the type check, then unit, contract and interop tests, all on Node 24.
//
// `npm test -- test/unit` runs only the suites under the given paths. With CI=true nothing may
// be skipped: a missing peer binary or database is a failure, not a skip.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`zonelog needs Node 24 or later; this is ${process.version}. Run through npm (npm test), which puts the project's own Node 24 first on PATH.`);
  process.exit(1);
}

function testFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return dir.endsWith('.test.ts') ? [dir] : [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      // fixtures hold data and the scripts that captured it, never tests
      if (e.name !== 'fixtures' && e.name !== 'support') out.push(...testFiles(p));
    } else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const args = process.argv.slice(2);
const roots = args.length > 0 ? args.map((a) => join(root, a)) : ['unit', 'contract', 'interop', 'e2e'].map((d) => join(root, 'test', d));
const files = roots.flatMap(testFiles);
if (files.length === 0) {
  console.error(`no test files under ${args.join(' ') || 'test/'}`);
  process.exit(1);
}

console.log(`node ${process.version}; typecheck, then ${files.length} test files`);
const tsc = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', root], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('typecheck failed');
  process.exit(1);
}

const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files.map((f) => relative(root, f))], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, '--disable-warning=ExperimentalWarning'].filter(Boolean).join(' ') },
});
process.exit(res.status ?? 1);
