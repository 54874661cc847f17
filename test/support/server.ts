// Starts the real `zonelog serve` in a child process on loopback, with a config written for the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOOPBACK, freePort, soaSerial, waitUntil } from '../../infra/peers.ts';

const BIN = fileURLToPath(new URL('../../bin/zonelog.ts', import.meta.url));

export interface ServeZone {
  name: string;
  /** Zone file text (contains a newline) or a path; none for a secondary zone (primaries in `extra`). */
  file?: string;
  serialPolicy?: 'increment' | 'unixtime' | 'dateserial';
  /** Grants as the YAML config has them, e.g. { key: 'ddns-key' } or { address: '127.0.0.0/8' }. */
  allowUpdate?: Record<string, unknown>[];
  allowTransfer?: Record<string, unknown>[];
  notify?: (string | { to: string; key?: string })[];
  /** Other zone keys as the YAML config spells them, e.g. { 'ixfr-condensed': false }. */
  extra?: Record<string, unknown>;
}

export interface ServeOptions {
  zones: ServeZone[];
  keys?: { name: string; algorithm: string; secret: string }[];
  /** Default: a fresh sqlite file in the server's directory. */
  store?: string;
  port?: number;
  /** Default: a free port; null disables the HTTP listener. */
  httpPort?: number | null;
  dir?: string;
  /** Extra top-level config keys. */
  extra?: Record<string, unknown>;
  /** Skip waiting for the zones to answer (for tests of startup failures). */
  noWait?: boolean;
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Write the server's log to this file instead of a pipe to the test (for load: a pipe the test must drain costs the machine CPU). */
  logFile?: string;
}

export interface ServerHandle {
  port: number;
  httpPort: number | null;
  dir: string;
  configFile: string;
  store: string;
  pid: number;
  child: ChildProcess;
  /** Everything the server wrote to stderr (pino JSON lines) so far. */
  logs(): string;
  /** Parsed pino lines so far. */
  logLines(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/** YAML for plain data: JSON is valid YAML 1.2, so each value is written as JSON. */
function toYaml(obj: Record<string, unknown>): string {
  return Object.entries(obj)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('\n') + '\n';
}

export function serverConfig(o: ServeOptions, dir: string, port: number, httpPort: number | null, store: string): string {
  const zones = o.zones.map((z, i) => {
    let file = z.file;
    if (file?.includes('\n')) {
      const path = join(dir, `zone${i}.db`);
      writeFileSync(path, file);
      file = path;
    }
    const out: Record<string, unknown> = { name: z.name, ...(file === undefined ? {} : { file }) };
    if (z.serialPolicy) out['serial-policy'] = z.serialPolicy;
    if (z.allowUpdate) out['allow-update'] = z.allowUpdate;
    if (z.allowTransfer) out['allow-transfer'] = z.allowTransfer;
    if (z.notify) out.notify = z.notify;
    Object.assign(out, z.extra);
    return out;
  });
  const cfg: Record<string, unknown> = {
    listen: [`${LOOPBACK}:${port}`],
    ...(httpPort === null ? {} : { http: `${LOOPBACK}:${httpPort}` }),
    store,
    keys: o.keys ?? [],
    zones,
    ...o.extra,
  };
  return toYaml(cfg);
}

export async function startZonelog(o: ServeOptions): Promise<ServerHandle> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'zonelog-serve-'));
  const port = o.port ?? (await freePort());
  const httpPort = o.httpPort === null ? null : (o.httpPort ?? (await freePort()));
  const store = o.store ?? `sqlite:${join(dir, 'zonelog.db')}`;
  const configFile = join(dir, 'zonelog.yaml');
  writeFileSync(configFile, serverConfig(o, dir, port, httpPort, store));
  const logFd = o.logFile ? openSync(o.logFile, 'a') : null;
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configFile], {
    cwd: dir,
    stdio: ['ignore', 'ignore', logFd ?? 'pipe'],
    env: { ...process.env, ZONELOG_LOG_LEVEL: 'info', ...o.env },
  });
  if (logFd !== null) closeSync(logFd);
  let piped = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (piped += d));
  const stderrText = (): string => (o.logFile ? readFileSync(o.logFile, 'utf8') : piped);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  const handle: ServerHandle = {
    port, httpPort, dir, configFile, store, pid: child.pid!, child, exited,
    logs: stderrText,
    logLines: () => stderrText().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
    async kill9() {
      if (gone) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  if (o.noWait) return handle;
  try {
    for (const z of o.zones) {
      await waitUntil(`zonelog serving ${z.name} on ${LOOPBACK}:${port}`, async () => {
        if (gone) throw new Error(`zonelog serve exited before serving ${z.name}:\n${stderrText()}`);
        return soaSerial(port, z.name);
      }, { timeoutMs: o.readyTimeoutMs ?? 60_000, intervalMs: 100 });
    }
  } catch (e) {
    await handle.stop();
    throw e;
  }
  return handle;
}
