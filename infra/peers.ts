// Starts real BIND (named) and Knot (knotd) on loopback for interop tests, fixtures and benchmarks.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// Peers only ever listen and talk here; nothing in tests may reach another host.
export const LOOPBACK = '127.0.0.1';

export type TsigKey = { name: string; algorithm: string; secret: string };

/** Another server: where a secondary pulls from, or where a primary sends NOTIFY. */
export type Remote = { address: string; port: number; key?: string };

/** Who may do something: a TSIG key name, or an address or prefix (unsigned is then enough). */
export type Grant = string | { address: string };

type ZoneCommon = {
  name: string;
  /** Who may AXFR/IXFR. Default: anyone on 127.0.0.0/8, signed with any configured key or unsigned. */
  allowTransfer?: Grant[];
  /** NOTIFY targets; BIND runs with `notify explicit`, so only these are notified. */
  notify?: Remote[];
  /** Raw statements inside the zone: BIND `zone {}` text, or Knot zone-item YAML lines (indentation is added). */
  extra?: string;
};

export type PrimaryZone = ZoneCommon & {
  role: 'primary';
  /** Zone file text (anything with a newline) or a path; either way the server gets its own copy. */
  file: string;
  /** A key name, or a list of grants. Default: no dynamic updates. */
  allowUpdate?: string | Grant[];
};

export type SecondaryZone = ZoneCommon & {
  role: 'secondary';
  primaries: Remote[];
};

export type ZoneConfig = PrimaryZone | SecondaryZone;

export type PeerOptions = {
  /** A label for logs and errors; defaults to the daemon's name. */
  name?: string;
  /** Working dir for config, zones, journal, pid file and log. Default: a fresh dir under os.tmpdir(). */
  dir?: string;
  port?: number;
  keys?: TsigKey[];
  zones: ZoneConfig[];
  /** Raw statements for BIND's `options {}`, or Knot `server:` YAML lines (indentation is added). */
  globalOptions?: string;
  /** Knot only: `database:` YAML lines (indentation is added), e.g. journal-db-mode. */
  databaseOptions?: string;
  /** Raw text appended at the top level of the config. */
  extraConfig?: string;
  /** How long to wait for every primary zone to answer SOA authoritatively. */
  readyTimeoutMs?: number;
  /** BIND only: named's debug level (-d), e.g. 3 to log whether each transfer in was IXFR or AXFR. */
  debugLevel?: number;
  /** Wait for only these primary zones to answer (default: all); for servers with thousands. */
  readyZones?: string[];
};

export type PeerHandle = {
  name: string;
  kind: 'bind' | 'knot';
  port: number;
  dir: string;
  configFile: string;
  pid: number;
  logFile: string;
  /** Path of each zone's file, by zone name without the trailing dot. */
  zoneFiles: Record<string, string>;
  stop(): Promise<void>;
  kill9(): void;
};

export type RunResult = { stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null; timedOut: boolean };

export type RunOptions = { timeoutMs?: number; input?: string; cwd?: string };

/**
 * Runs a program to completion. A timeout kills only this child, so a hung tool
 * cannot hang a test run.
 */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code, signal, timedOut });
    });
    // A tool that exits before reading its input would otherwise raise EPIPE here.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

export function dig(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('dig', args, opts);
}

export function kdig(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('kdig', args, opts);
}

/** Feeds an nsupdate script on stdin; `args` carries e.g. `-y alg:name:secret` or `-v`. */
export function nsupdate(script: string, args: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  return run('nsupdate', args, { ...opts, input: script });
}

export function knsupdate(script: string, args: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  return run('knsupdate', args, { ...opts, input: script });
}

/** Polls `check` until it returns a value other than undefined; bounded by time and count. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / intervalMs) + 1;
  for (let i = 0; i < maxTries && Date.now() <= deadline; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * The SOA serial a server gives authoritatively (NOERROR, aa) for a zone, or
 * undefined. Used both for readiness and for "has the secondary caught up".
 */
export async function soaSerial(port: number, zone: string): Promise<number | undefined> {
  const r = await dig(['+norec', '+time=1', '+tries=1', `@${LOOPBACK}`, '-p', String(port), fqdn(zone), 'SOA'], { timeoutMs: 5_000 });
  if (r.code !== 0) return undefined;
  if (!/status: NOERROR/.test(r.stdout) || !/;; flags:[^;]*\baa\b/.test(r.stdout)) return undefined;
  const owner = fqdn(zone).toLowerCase();
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 7 && f[3] === 'SOA' && f[0].toLowerCase() === owner) return Number(f[6]);
  }
  return undefined;
}

export function waitForSerial(port: number, zone: string, serial: number, timeoutMs = 20_000): Promise<number> {
  return waitUntil(
    `${zone} serial ${serial} on ${LOOPBACK}:${port}`,
    async () => {
      const s = await soaSerial(port, zone);
      return s === serial ? s : undefined;
    },
    { timeoutMs },
  );
}

/**
 * A loopback port free for both UDP and TCP. Chosen below the kernel's
 * ephemeral range (32768+) so that outgoing client sockets cannot take it
 * between this check and the server's bind.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await udpFree(port)) && (await tcpFree(port))) return port;
  }
  throw new Error('no free loopback port found for both UDP and TCP after 200 tries');
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, LOOPBACK, () => s.close(() => resolve(true)));
  });
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: LOOPBACK, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export function startBind(opts: PeerOptions): Promise<PeerHandle> {
  return startPeer('bind', opts);
}

export function startKnot(opts: PeerOptions): Promise<PeerHandle> {
  return startPeer('knot', opts);
}

// Children still running when the test process exits are killed, so a failed
// run never leaves a daemon behind. Only processes this module started are in the set.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

type Layout = { dir: string; port: number; zoneFiles: Record<string, string> };

async function startPeer(kind: 'bind' | 'knot', opts: PeerOptions): Promise<PeerHandle> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `zonelog-${kind}-`));
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const label = opts.name ?? (kind === 'bind' ? 'named' : 'knotd');
  const zoneFiles: Record<string, string> = {};
  for (const z of opts.zones) {
    const path = join(dir, `${bare(z.name)}.zone`);
    zoneFiles[bare(z.name)] = path;
    if (z.role === 'primary') {
      if (z.file.includes('\n')) writeFileSync(path, z.file);
      else copyFileSync(z.file, path);
    }
  }
  const layout: Layout = { dir, port, zoneFiles };
  const configFile = join(dir, kind === 'bind' ? 'named.conf' : 'knot.conf');
  writeFileSync(configFile, kind === 'bind' ? bindConfig(opts, layout) : knotConfig(opts, layout));
  if (kind === 'knot') mkdirSync(join(dir, 'db'), { recursive: true });

  const logFile = join(dir, kind === 'bind' ? 'named.log' : 'knotd.log');
  const fd = openSync(logFile, 'a');
  const child =
    kind === 'bind'
      ? spawn('named', ['-g', '-4', ...(opts.debugLevel ? ['-d', String(opts.debugLevel)] : []), '-c', configFile], { cwd: dir, stdio: ['ignore', fd, fd] })
      : spawn('knotd', ['-c', configFile], { cwd: dir, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) throw new Error(`${label}: could not start: ${(await spawnError).message}`);
  track(child);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const pid = child.pid;

  const handle: PeerHandle = {
    name: label,
    kind,
    port,
    dir,
    configFile,
    pid,
    logFile,
    zoneFiles,
    kill9: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(2_000)]);
      }
    },
  };

  const where = `${label} on ${LOOPBACK}:${port} (dir ${dir})`;
  const timeoutMs = opts.readyTimeoutMs ?? 20_000;
  try {
    await Promise.race([
      waitReady(port, opts.readyZones ? opts.zones.filter((z) => opts.readyZones!.includes(z.name)) : opts.zones, timeoutMs, () => loadFailure(kind, logFile)),
      exited.then(() => {
        throw new Error(`exited with code ${child.exitCode ?? child.signalCode} during startup`);
      }),
    ]);
  } catch (e) {
    handle.kill9();
    await Promise.race([exited, sleep(2_000)]);
    throw new Error(`${where} failed to start: ${(e as Error).message}\nlast log lines:\n${tail(logFile, 25)}`);
  }
  return handle;
}

// Secondary zones may legitimately wait for their primary, so readiness is the
// primaries answering, or, with none, the server answering anything at all.
async function waitReady(port: number, zones: ZoneConfig[], timeoutMs: number, failure: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const primaries = zones.filter((z) => z.role === 'primary');
  for (const z of primaries) {
    await waitUntil(
      `${z.name} SOA to be answered authoritatively`,
      () => {
        const f = failure();
        if (f) throw new Error(f);
        return soaSerial(port, z.name);
      },
      { timeoutMs: Math.max(1, deadline - Date.now()) },
    );
  }
  if (primaries.length === 0) {
    await waitUntil(
      'any answer',
      async () => {
        const r = await dig(['+time=1', '+tries=1', `@${LOOPBACK}`, '-p', String(port), '.', 'SOA'], { timeoutMs: 5_000 });
        return r.code === 0 ? true : undefined;
      },
      { timeoutMs },
    );
  }
}

// A primary zone that failed to load never answers, so waiting out the whole
// timeout would only delay the error.
function loadFailure(kind: 'bind' | 'knot', logFile: string): string | undefined {
  if (!existsSync(logFile)) return undefined;
  const pattern = kind === 'bind' ? /^.*not loaded due to errors.*$/m : /^.*failed to load zone.*$/m;
  return readFileSync(logFile, 'utf8').match(pattern)?.[0];
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log file)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function bare(zone: string): string {
  return zone.replace(/\.$/, '');
}

function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

function grants(g: string | Grant[] | undefined): Grant[] {
  if (g === undefined) return [];
  return typeof g === 'string' ? [g] : g;
}

// ---------------------------------------------------------------- BIND

function bindConfig(opts: PeerOptions, l: Layout): string {
  const q = JSON.stringify;
  const keys = (opts.keys ?? []).map((k) => `key ${q(k.name)} { algorithm ${k.algorithm}; secret ${q(k.secret)}; };`);
  const acl = (gs: Grant[]): string =>
    `{ ${gs.map((g) => (typeof g === 'string' ? `key ${q(g)};` : `${g.address};`)).join(' ')} }`;
  const remote = (r: Remote): string => `${r.address} port ${r.port}${r.key ? ` key ${q(r.key)}` : ''};`;
  const zones = opts.zones.map((z) => {
    const lines: string[] = [];
    if (z.role === 'primary') {
      lines.push('type primary;', `file ${q(l.zoneFiles[bare(z.name)])};`);
      const upd = grants(z.allowUpdate);
      if (upd.length > 0) lines.push(`allow-update ${acl(upd)};`);
    } else {
      // Text, not BIND's default raw format, so tests can read what was transferred.
      lines.push('type secondary;', `file ${q(l.zoneFiles[bare(z.name)])};`, 'masterfile-format text;');
      lines.push(`primaries { ${z.primaries.map(remote).join(' ')} };`, 'allow-notify { 127.0.0.0/8; };');
    }
    lines.push(`allow-transfer ${z.allowTransfer ? acl(z.allowTransfer) : '{ 127.0.0.0/8; }'};`);
    if (z.notify && z.notify.length > 0) lines.push(`also-notify { ${z.notify.map(remote).join(' ')} };`);
    if (z.extra) lines.push(z.extra);
    return `zone ${q(bare(z.name))} {\n  ${lines.join('\n  ')}\n};`;
  });
  return `// generated by infra/peers.ts
options {
  directory ${q(l.dir)};
  pid-file ${q(join(l.dir, 'named.pid'))};
  session-keyfile ${q(join(l.dir, 'session.key'))};
  managed-keys-directory ${q(l.dir)};
  listen-on port ${l.port} { ${LOOPBACK}; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify explicit;          // never notify the NS targets, only also-notify
  allow-query { 127.0.0.0/8; };
  transfer-source ${LOOPBACK};
  notify-source ${LOOPBACK};
  query-source address ${LOOPBACK};
${opts.globalOptions ? `  ${opts.globalOptions}\n` : ''}};
controls { };
${keys.join('\n')}
${zones.join('\n')}
${opts.extraConfig ?? ''}
`;
}

// ---------------------------------------------------------------- Knot

function knotConfig(opts: PeerOptions, l: Layout): string {
  const keys = opts.keys ?? [];
  const indent = (text: string | undefined, n: number): string =>
    text
      ? text
          .trim()
          .split('\n')
          .map((s) => ' '.repeat(n) + s.trim())
          .join('\n') + '\n'
      : '';
  const remotes: string[] = [];
  const remoteId = (r: Remote): string => {
    const id = `remote${remotes.length}`;
    remotes.push(`  - id: ${id}\n    address: ${r.address}@${r.port}\n${r.key ? `    key: ${r.key}\n` : ''}`);
    return id;
  };
  const acls: string[] = [];
  // Knot only matches an ACL rule without a key for unsigned requests, so
  // "signed or unsigned" needs one rule per key next to the address rule.
  const aclIds = (action: string, gs: Grant[]): string[] =>
    gs.map((g) => {
      const id = `acl${acls.length}`;
      acls.push(
        `  - id: ${id}\n    action: ${action}\n` +
          (typeof g === 'string' ? `    key: ${g}\n` : `    address: ${g.address}\n`),
      );
      return id;
    });
  const anyLoopback: Grant[] = [{ address: '127.0.0.0/8' }, ...keys.map((k) => k.name)];

  const zones = opts.zones.map((z) => {
    let out = `  - domain: ${bare(z.name)}\n    file: "${l.zoneFiles[bare(z.name)]}"\n`;
    const acl = aclIds('transfer', z.allowTransfer ?? anyLoopback);
    if (z.role === 'primary') {
      acl.push(...aclIds('update', grants(z.allowUpdate)));
    } else {
      out += `    master: [${z.primaries.map(remoteId).join(', ')}]\n`;
      const signers = z.primaries.flatMap((p) => (p.key ? [p.key] : []));
      acl.push(...aclIds('notify', [{ address: '127.0.0.0/8' }, ...signers]));
    }
    if (z.notify && z.notify.length > 0) out += `    notify: [${z.notify.map(remoteId).join(', ')}]\n`;
    out += `    acl: [${acl.join(', ')}]\n`;
    out += indent(z.extra, 4);
    return out;
  });

  return `# generated by infra/peers.ts
server:
    rundir: "${l.dir}"
    pidfile: "${join(l.dir, 'knot.pid')}"
    listen: ${LOOPBACK}@${l.port}
${indent(opts.globalOptions, 4)}
log:
  - target: stderr
    any: info

database:
    storage: "${join(l.dir, 'db')}"
${indent(opts.databaseOptions, 4)}
control:
    listen: "${join(l.dir, 'knot.sock')}"
${keys.length > 0 ? `\nkey:\n${keys.map((k) => `  - id: ${k.name}\n    algorithm: ${k.algorithm}\n    secret: ${k.secret}\n`).join('')}` : ''}
${remotes.length > 0 ? `remote:\n${remotes.join('')}` : ''}
${acls.length > 0 ? `acl:\n${acls.join('')}` : ''}
zone:
${zones.join('')}
${opts.extraConfig ?? ''}
`;
}
