// The team's 100k-host DHCP/AD benchmark zone (bench/peers/gen_zone.py), generated once per directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const GEN = fileURLToPath(new URL('./peers/gen_zone.py', import.meta.url));

/** Writes bench.test.zone (and queries.txt) for `hosts` hosts into `dir` unless already there. */
export function benchZone(dir: string, hosts = 100_000): string {
  const file = join(dir, 'bench.test.zone');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('python3', [GEN, '--n', String(hosts), '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return file;
}
