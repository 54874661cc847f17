// `npm start`: the example config serves examples/ on 127.0.0.1:5300 from the embedded store, and takes signed updates.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { dig, nsupdate, soaSerial, waitUntil } from '../../infra/peers.ts';
import { ROOT, zonelog } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'zonelog-start-'));
const child = { proc: null as ReturnType<typeof spawn> | null, log: '' };
const config = parse(readFileSync(join(ROOT, 'examples/zonelog.yaml'), 'utf8')) as { keys: { name: string; algorithm: string; secret: string }[] };
const key = config.keys[0];

describe('npm start', () => {
  before(async () => {
    // A copy of examples/ so the run's data/zonelog.db lands in a scratch directory, as it would
    // in a fresh checkout.
    cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
    const args = pkg.scripts.start.split(' ').slice(1).map((a) => (a.startsWith('bin/') ? join(ROOT, a) : a));
    child.proc = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    child.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (child.log += d));
    await waitUntil('the example zone on 127.0.0.1:5300', async () => {
      if (child.proc!.exitCode !== null) throw new Error(`npm start exited:\n${child.log}`);
      return soaSerial(5300, 'example.com');
    }, { timeoutMs: 30_000 });
  });
  after(async () => {
    child.proc?.kill('SIGTERM');
    await new Promise((r) => child.proc?.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the example zone, takes an update signed with the example key, and records it', async () => {
    const www = await dig(['+short', '@127.0.0.1', '-p', '5300', 'www.example.com', 'A']);
    assert.match(www.stdout, /^\d+\.\d+\.\d+\.\d+$/m);
    const before = await soaSerial(5300, 'example.com');
    const u = await nsupdate('server 127.0.0.1 5300\nzone example.com\nupdate add started.example.com 300 TXT "npm start"\nsend\n', ['-y', `${key.algorithm}:${key.name}:${key.secret}`]);
    assert.equal(u.code, 0, u.stderr);
    const txt = await dig(['+short', '@127.0.0.1', '-p', '5300', 'started.example.com', 'TXT']);
    assert.equal(txt.stdout.trim(), '"npm start"');
    assert.equal(await soaSerial(5300, 'example.com'), before! + 1);
    const h = await zonelog(['history', '--zone', 'example.com', '--store', `sqlite:${join(dir, 'data/zonelog.db')}`, '--json']);
    assert.equal(h.code, 0, h.stderr);
    const events = h.stdout.trim().split('\n').map((l) => JSON.parse(l) as { cause: string; actor: { key?: string } });
    assert.equal(events.at(-1)!.cause, 'update');
    assert.equal(events.at(-1)!.actor.key, `${key.name}.`);
  });
});
