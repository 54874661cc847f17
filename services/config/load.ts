// Reads zonelog's YAML configuration and checks all of it before anything starts: each error names the key path and the reason.
//
// Two passes, both reporting every problem at once rather than the first: the JSON Schema
// (schemas/config/zonelog.v1.json) for shape and unknown keys, then the checks a schema cannot
// make (endpoints, DNS names, key references, prefixes, readable files). The second pass skips
// values of the wrong shape, which the first has already reported.

import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { LineCounter, parseDocument } from 'yaml';
import { isMetaType, typeFromName, typeName } from '../../shared/dns/constants.ts';
import { isSubdomain, nameKey, parseName, type Name } from '../../shared/dns/name.ts';
import { parsePrefix } from '../primary/policy.ts';
import type { Endpoint, Grant, IxfrPolicy, KeyConfig, NotifyTarget, PrimaryConfig, SerialPolicy, ServerConfig, ZoneConfig } from './types.ts';
import { batchedUdpUnavailable } from '../../shared/native/udp-batch.ts';

/** Every problem found in a configuration, one per line of the message. */
export class ConfigError extends Error {
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super(errors.join('\n'));
    this.name = 'ConfigError';
    this.errors = errors;
  }
}

export const DEFAULT_STORE = 'sqlite:data/zonelog.db';

/** RFC 8945 §6 algorithms by the short names BIND and Knot configurations use. */
const ALGORITHMS = ['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'];

type Path = (string | number)[];

/** `zones[0].allow-update[1].key`: the key path as a reader of the YAML would write it. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += (out === '' ? '' : '.') + seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

class Problems {
  private readonly seen = new Set<string>();
  readonly lines: string[] = [];
  private readonly source: string;
  constructor(source: string) {
    this.source = source;
  }

  add(path: Path, reason: string): void {
    const line = path.length === 0 ? `${this.source}: ${reason}` : `${this.source}: ${formatPath(path)}: ${reason}`;
    if (this.seen.has(line)) return;
    this.seen.add(line);
    this.lines.push(line);
  }
}

let validator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (validator === undefined) {
    const schema = JSON.parse(readFileSync(new URL('../../schemas/config/zonelog.v1.json', import.meta.url), 'utf8')) as object;
    // verbose: the parent schema lets an unknown key be answered with the nearest known one.
    const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true, verbose: true });
    validator = ajv.compile(schema);
  }
  return validator;
}

function pointerToPath(pointer: string): Path {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => {
    const seg = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(seg) ? Number(seg) : seg;
  });
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', array: 'a list', object: 'a mapping', integer: 'a whole number', number: 'a number', boolean: 'true or false', null: 'null',
};

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

function schemaProblem(e: ErrorObject, out: Problems): void {
  const path = pointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      out.add([...path, String(p.missingProperty)], 'is required');
      return;
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = Object.keys((e.parentSchema?.properties ?? {}) as object);
      let hint = '';
      if ((key === 'names' || key === 'types') && path.includes('allow-transfer')) hint = ` (names and types narrow allow-update grants only)`;
      else {
        const near = known.map((k) => [k, editDistance(key.toLowerCase(), k)] as const).sort((x, y) => x[1] - y[1])[0];
        if (near && near[1] <= Math.max(2, Math.floor(key.length / 3))) hint = ` (did you mean ${near[0]}?)`;
        else if (known.length > 0) hint = ` (known keys: ${known.join(', ')})`;
      }
      out.add([...path, key], `unknown key${hint}`);
      return;
    }
    case 'enum':
      out.add(path, `must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}`);
      return;
    case 'type': {
      const types = Array.isArray(p.type) ? (p.type as string[]) : String(p.type).split(',');
      out.add(path, `must be ${types.map((t) => TYPE_WORDS[t] ?? t).join(' or ')}`);
      return;
    }
    case 'minItems':
    case 'minLength':
      out.add(path, p.limit === 1 ? 'must not be empty' : (e.message ?? 'is too short'));
      return;
    default:
      out.add(path, e.message ?? `fails ${e.keyword}`);
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Parses `ADDRESS:PORT` or `[IPv6]:PORT`; without a port, `defaultPort` if given. Addresses are
 * IP literals: a host name would be looked up at start and could change under a running server.
 * IPv6 must be in brackets, since "::1:53" is itself an IPv6 address. Throws Error(reason).
 */
export function parseEndpoint(text: string, defaultPort?: number): Endpoint {
  let address: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) throw new Error(`"${text}" has no closing bracket`);
    address = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new Error(`"${text}": expected ":PORT" after "]"`);
    if (rest !== '') portText = rest.slice(1);
    if (isIP(address) !== 6) throw new Error(`"${address}" is not an IPv6 address`);
  } else {
    if (isIP(text) === 6) throw new Error(`"${text}": write an IPv6 address in brackets, as [ADDRESS]:PORT (for example [::1]:5300)`);
    const colon = text.lastIndexOf(':');
    address = colon === -1 ? text : text.slice(0, colon);
    if (colon !== -1) portText = text.slice(colon + 1);
    if (isIP(address) !== 4) throw new Error(`"${address}" is not an IP address (write an address such as 127.0.0.1 or [::1], not a host name)`);
  }
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) throw new Error(`"${text}" needs a port: ADDRESS:PORT`);
    port = defaultPort;
  } else {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw new Error(`"${text}": port "${portText}" is not in 1..65535`);
    port = Number(portText);
  }
  return { address, port };
}

/** A key name as TSIG compares it: absolute and lower-case. Throws WireError on a bad name. */
export function keyName(text: string): Name {
  return nameKey(parseName(text.endsWith('.') ? text : text + '.'));
}

function absoluteName(text: string): Name {
  return parseName(text.endsWith('.') ? text : text + '.');
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/** Reads and checks a configuration file; relative paths in it resolve against `cwd` (default: the process's). */
export function loadConfig(path: string, opts: { cwd?: string } = {}): ServerConfig {
  const cwd = opts.cwd ?? process.cwd();
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError([`${path}: cannot read the configuration: ${code === 'ENOENT' ? 'no such file' : reason(e)}`]);
  }
  return parseConfig(text, path, cwd);
}

/** Parses and checks configuration text; `source` names it in messages. Throws ConfigError listing every problem. */
export function parseConfig(text: string, source: string, cwd: string): ServerConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => `${source}:${lines.linePos(e.pos[0]).line}: ${e.message}`));
  let data: unknown;
  try {
    // A small alias budget: a configuration has no use for the "billion laughs".
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ConfigError([`${source}: ${reason(e)}`]);
  }
  if (data === null || data === undefined) throw new ConfigError([`${source}: the configuration is empty; it needs at least listen and zones`]);

  const out = new Problems(source);
  const validate = schemaValidator();
  if (!validate(data)) for (const e of validate.errors ?? []) schemaProblem(e, out);
  if (!isObj(data)) throw new ConfigError(out.lines);
  const config = check(data, resolve(cwd, source), cwd, out);
  if (out.lines.length > 0) throw new ConfigError(out.lines);
  return config;
}

/**
 * One zone entry given at run time (POST /zones, or the runtime-zones file), in the shape of a
 * `zones:` entry and checked exactly as the config file is, against its keys.
 */
export function parseZoneEntry(entry: unknown, cfg: ServerConfig, source: string): ZoneConfig {
  const ep = (e: Endpoint): string => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);
  const doc = { listen: cfg.listen.map(ep), keys: cfg.keys.map((k) => ({ name: k.name, algorithm: k.algorithm, secret: k.secret })), zones: [entry] };
  return parseConfig(JSON.stringify(doc), source, dirname(cfg.source)).zones[0];
}

function check(d: Obj, source: string, cwd: string, out: Problems): ServerConfig {
  let base = cwd;
  if (typeof d.directory === 'string') {
    base = resolve(cwd, d.directory);
    let isDir = false;
    try {
      isDir = statSync(base).isDirectory();
    } catch {
      // missing or unreadable: reported just below
    }
    if (!isDir) out.add(['directory'], `${base} is not a directory`);
  }

  const listen = endpoints(d.listen, ['listen'], 53, out);
  let http: Endpoint | null = null;
  if (typeof d.http === 'string') {
    try {
      http = parseEndpoint(d.http);
    } catch (e) {
      out.add(['http'], reason(e));
    }
  }

  const store = storeUrl(d.store, base, out);
  const keys = checkKeys(d.keys, out);
  const keyNames = new Set(keys.map((k) => k.name));
  const zones: ZoneConfig[] = [];
  const zoneSeen = new Map<string, number>();
  if (Array.isArray(d.zones)) {
    d.zones.forEach((z: unknown, i: number) => {
      if (!isObj(z)) return;
      const zone = checkZone(z, ['zones', i], base, keyNames, out);
      if (!zone) return;
      const k = nameKey(zone.name);
      const first = zoneSeen.get(k);
      if (first !== undefined) out.add(['zones', i, 'name'], `zone ${zone.name} is already defined at zones[${first}]`);
      else zoneSeen.set(k, i);
      zones.push(zone);
    });
  }

  const num = (key: string, dflt: number): number => (typeof d[key] === 'number' ? (d[key] as number) : dflt);
  if (d['udp-io'] === 'batched') {
    const why = batchedUdpUnavailable();
    if (why) out.add(['udp-io'], `batched I/O is not available: ${why}`);
  }
  return {
    source,
    listen,
    http,
    store,
    keys,
    zones,
    queryThreads: num('query-threads', 0),
    udpIo: d['udp-io'] === 'batched' || d['udp-io'] === 'dgram' ? d['udp-io'] : 'auto',
    tcpIdleTimeoutMs: Math.round(num('tcp-idle-timeout', 10) * 1000),
    maxBatch: num('max-batch', 1000),
    snapshotEvery: num('snapshot-every', 1000),
    snapshotMinIntervalMs: Math.round(num('snapshot-min-interval', 60) * 1000),
    snapshotIntervalMs: Math.round(num('snapshot-interval', 3600) * 1000),
    pollMs: num('poll-interval', 1000),
    logLevel: typeof d['log-level'] === 'string' ? d['log-level'] : 'info',
    transfersIn: num('transfers-in', 10),
    runtimeZones: resolve(base, typeof d['runtime-zones'] === 'string' ? d['runtime-zones'] : join(dirname(source), 'zonelog.zones.json')),
  };
}

function endpoints(v: unknown, path: Path, defaultPort: number, out: Problems): Endpoint[] {
  const list: [unknown, Path][] = typeof v === 'string' ? [[v, path]] : Array.isArray(v) ? v.map((x, i) => [x, [...path, i]]) : [];
  const res: Endpoint[] = [];
  const seen = new Map<string, string>();
  for (const [x, p] of list) {
    if (typeof x !== 'string') continue;
    try {
      const ep = parseEndpoint(x, defaultPort);
      const k = `${ep.address.toLowerCase()}|${ep.port}`;
      const first = seen.get(k);
      if (first !== undefined) out.add(p, `${x} is already listed at ${first}`);
      else seen.set(k, formatPath(p));
      res.push(ep);
    } catch (e) {
      out.add(p, reason(e));
    }
  }
  return res;
}

function storeUrl(v: unknown, base: string, out: Problems): string {
  if (v === undefined) return 'sqlite:' + resolve(base, DEFAULT_STORE.slice('sqlite:'.length));
  if (typeof v !== 'string') return '';
  if (v.startsWith('sqlite:')) {
    const path = v.slice('sqlite:'.length);
    if (path === '') {
      out.add(['store'], 'sqlite: needs a file path, as in sqlite:data/zonelog.db');
      return v;
    }
    return path === ':memory:' ? v : 'sqlite:' + resolve(base, path);
  }
  if (v.startsWith('postgres://') || v.startsWith('postgresql://')) {
    try {
      new URL(v);
    } catch {
      out.add(['store'], `"${redactUrl(v)}" is not a valid URL`);
    }
    return v;
  }
  out.add(['store'], `"${redactUrl(v)}" is not a store: use sqlite:PATH or postgres://user@host:port/database`);
  return v;
}

function checkKeys(v: unknown, out: Problems): KeyConfig[] {
  if (!Array.isArray(v)) return [];
  const keys: KeyConfig[] = [];
  const seen = new Map<string, number>();
  v.forEach((k: unknown, i: number) => {
    if (!isObj(k)) return;
    let name: Name | undefined;
    if (typeof k.name === 'string') {
      try {
        name = keyName(k.name);
      } catch (e) {
        out.add(['keys', i, 'name'], reason(e));
      }
      if (name !== undefined) {
        const first = seen.get(name);
        if (first !== undefined) out.add(['keys', i, 'name'], `key ${name} is already defined at keys[${first}]`);
        else seen.set(name, i);
      }
    }
    let algorithm: string | undefined;
    if (typeof k.algorithm === 'string') {
      // hmac-md5 also has a long TSIG name (RFC 8945 §6); either form is accepted.
      const a = k.algorithm.toLowerCase().replace(/\.$/, '').replace(/^hmac-md5\.sig-alg\.reg\.int$/, 'hmac-md5');
      if (ALGORITHMS.includes(a)) algorithm = a;
      else out.add(['keys', i, 'algorithm'], `unknown algorithm "${k.algorithm}"; use one of ${ALGORITHMS.join(', ')}`);
    }
    let secret: string | undefined;
    if (typeof k.secret === 'string') {
      if (/^[A-Za-z0-9+/]+={0,2}$/.test(k.secret) && k.secret.length % 4 === 0) secret = k.secret;
      else out.add(['keys', i, 'secret'], 'is not valid base64 (as tsig-keygen or `openssl rand -base64 32` prints it)');
    }
    if (name !== undefined && algorithm !== undefined && secret !== undefined) keys.push({ name, algorithm, secret });
  });
  return keys;
}

function checkZone(z: Obj, path: Path, base: string, keyNames: Set<string>, out: Problems): ZoneConfig | null {
  let name: Name | undefined;
  if (typeof z.name === 'string') {
    try {
      name = absoluteName(z.name);
    } catch (e) {
      out.add([...path, 'name'], reason(e));
    }
  }
  let file: string | undefined;
  if (typeof z.file === 'string') {
    file = resolve(base, z.file);
    const problem = unreadable(file);
    if (problem) out.add([...path, 'file'], `${file}: ${problem}`);
  } else if (z.file === undefined && z.primaries === undefined) {
    out.add([...path, 'file'], 'a zone needs a file (a primary zone) or primaries (a secondary zone)');
  }
  if (z.file !== undefined && z.primaries !== undefined) out.add([...path, 'primaries'], 'a zone has a file (primary) or primaries (secondary), not both');
  const primaries = primaryList(z.primaries, [...path, 'primaries'], out);
  let transferKey: Name | undefined;
  if (typeof z['transfer-key'] === 'string') {
    try {
      transferKey = keyName(z['transfer-key']);
      if (!keyNames.has(transferKey)) out.add([...path, 'transfer-key'], `no key named ${transferKey} is defined under keys`);
    } catch (e) {
      out.add([...path, 'transfer-key'], reason(e));
    }
  }
  // By default NOTIFY is taken from the primaries' addresses, or signed with the transfer key.
  const allowNotify = z['allow-notify'] !== undefined
    ? grants(z['allow-notify'], [...path, 'allow-notify'], name, keyNames, out, false)
    : [...primaries.map((p) => ({ address: p.address })), ...(transferKey ? [{ key: transferKey }] : [])];
  const secs = (k: string, d: number): number => Math.round((typeof z[k] === 'number' ? (z[k] as number) : d) * 1000);
  const timers = { minRefresh: secs('min-refresh-time', 300), maxRefresh: secs('max-refresh-time', 2_419_200), minRetry: secs('min-retry-time', 500), maxRetry: secs('max-retry-time', 1_209_600) };
  const allowUpdate = grants(z['allow-update'], [...path, 'allow-update'], name, keyNames, out, true);
  const allowTransfer = grants(z['allow-transfer'], [...path, 'allow-transfer'], name, keyNames, out, false);
  const notify = notifyTargets(z.notify, [...path, 'notify'], keyNames, out);
  const policy = z['serial-policy'];
  const serialPolicy: SerialPolicy = policy === 'unixtime' || policy === 'dateserial' ? policy : 'increment';
  const horizon = isObj(z['ixfr-horizon']) ? z['ixfr-horizon'] : {};
  const ratio = maxRatio(z['max-ixfr-ratio'], [...path, 'max-ixfr-ratio'], out);
  const ixfr: IxfrPolicy = {
    condensed: z['ixfr-condensed'] !== false,
    maxRatio: ratio,
    horizonChanges: typeof horizon.changes === 'number' ? horizon.changes : null,
    horizonAgeMs: horizon.age === undefined ? null : duration(horizon.age, [...path, 'ixfr-horizon', 'age'], out),
    axfrOnly: grants(z['axfr-only'], [...path, 'axfr-only'], name, keyNames, out, false),
  };
  const notifyDelayMs = typeof z['notify-delay'] === 'number' ? Math.round(z['notify-delay'] * 1000) : 0;
  if (name === undefined) return null;
  return {
    name, ...(file === undefined ? {} : { file }), primaries, ...(transferKey ? { transferKey } : {}), allowNotify, timers,
    serialPolicy, allowUpdate, allowTransfer, notify, notifyNs: z['notify-ns'] === true, notifyDelayMs, ixfr,
  };
}

/** Primaries of a secondary zone: "address[:port]" or { to, request-ixfr }. */
function primaryList(v: unknown, path: Path, out: Problems): PrimaryConfig[] {
  if (!Array.isArray(v)) return [];
  const eps = endpoints(v.map((x: unknown) => (isObj(x) ? x.to : x)), path, 53, out);
  const res: PrimaryConfig[] = [];
  let k = 0;
  for (const x of v) {
    if (typeof (isObj(x) ? x.to : x) !== 'string') continue;
    const ep = eps[k++];
    if (ep) res.push({ ...ep, requestIxfr: !(isObj(x) && x['request-ixfr'] === false) });
  }
  return res;
}

/** NOTIFY targets: "address[:port]" or { to, key }. */
function notifyTargets(v: unknown, path: Path, keyNames: Set<string>, out: Problems): NotifyTarget[] {
  if (!Array.isArray(v)) return [];
  const plain = v.map((x: unknown) => (isObj(x) ? x.to : x));
  const eps = endpoints(plain, path, 53, out);
  const res: NotifyTarget[] = [];
  let k = 0;
  v.forEach((x: unknown, i: number) => {
    const to = isObj(x) ? x.to : x;
    if (typeof to !== 'string') return;
    const ep = eps[k++];
    if (!ep) return;
    const t: NotifyTarget = { ...ep };
    if (isObj(x) && typeof x.key === 'string') {
      try {
        const kn = keyName(x.key);
        if (!keyNames.has(kn)) out.add([...path, i, 'key'], `no key named ${kn} is defined under keys`);
        t.key = kn;
      } catch (e) {
        out.add([...path, i, 'key'], reason(e));
      }
    }
    res.push(t);
  });
  return res;
}

/** max-ixfr-ratio: a share of the zone (0.5, or "50%"), or "unlimited" (null). */
function maxRatio(v: unknown, path: Path, out: Problems): number | null {
  if (v === undefined) return 1;
  if (v === 'unlimited') return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?%$/.test(v.trim()) ? Number(v.trim().slice(0, -1)) / 100 : NaN;
  if (!(n > 0)) {
    out.add(path, `${JSON.stringify(v)} is not a ratio: use a share of the zone above 0 (0.5 or "50%"), or "unlimited"`);
    return 1;
  }
  return n;
}

/** Seconds, or a count with a unit (s, m, h, d, w), in milliseconds. */
function duration(v: unknown, path: Path, out: Problems): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v * 1000 : (out.add(path, 'must be a positive whole number of seconds'), null);
  const m = typeof v === 'string' ? /^(\d+)\s*([smhdw]?)$/i.exec(v.trim()) : null;
  if (!m || Number(m[1]) === 0) {
    out.add(path, `"${String(v)}" is not a duration: use seconds, or a number with s, m, h, d or w, as in 7d`);
    return null;
  }
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2].toLowerCase() as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit * 1000;
}

function unreadable(file: string): string | null {
  try {
    if (!statSync(file).isFile()) return 'not a regular file';
    accessSync(file, fsConstants.R_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file';
    if (code === 'EACCES') return 'not readable';
    return reason(e);
  }
}

/** Grants; `names` and `types` only for updates (the schema already refuses them elsewhere). */
function grants(v: unknown, path: Path, zone: Name | undefined, keyNames: Set<string>, out: Problems, forUpdate: boolean): Grant[] {
  if (!Array.isArray(v)) return [];
  const res: Grant[] = [];
  v.forEach((g: unknown, i: number) => {
    if (!isObj(g)) return;
    const p = [...path, i];
    const grant: Grant = {};
    if (g.key === undefined && g.address === undefined) out.add(p, 'a grant needs a key or an address (one with neither would match nobody)');
    if (typeof g.key === 'string') {
      try {
        const k = keyName(g.key);
        if (!keyNames.has(k)) out.add([...p, 'key'], `no key named ${k} is defined under keys`);
        grant.key = k;
      } catch (e) {
        out.add([...p, 'key'], reason(e));
      }
    }
    if (typeof g.address === 'string') {
      if (parsePrefix(g.address) === null) out.add([...p, 'address'], `"${g.address}" is not an IP address or prefix (such as 127.0.0.0/8 or ::1/128)`);
      else grant.address = g.address;
    }
    const names = !forUpdate ? undefined : typeof g.names === 'string' ? [g.names] : Array.isArray(g.names) ? g.names : undefined;
    if (names !== undefined) {
      grant.names = [];
      names.forEach((n: unknown, j: number) => {
        if (typeof n !== 'string') return;
        const np = typeof g.names === 'string' ? [...p, 'names'] : [...p, 'names', j];
        try {
          const abs = absoluteName(n);
          const below = abs.startsWith('*.') ? abs.slice(2) : abs;
          if (zone !== undefined && !isSubdomain(below, zone)) out.add(np, `${abs} is outside zone ${zone}`);
          grant.names!.push(abs);
        } catch (e) {
          out.add(np, reason(e));
        }
      });
    }
    const types = !forUpdate ? undefined : typeof g.types === 'string' ? [g.types] : Array.isArray(g.types) ? g.types : undefined;
    if (types !== undefined) {
      grant.types = [];
      types.forEach((t: unknown, j: number) => {
        if (typeof t !== 'string') return;
        const tp = typeof g.types === 'string' ? [...p, 'types'] : [...p, 'types', j];
        const n = typeFromName(t);
        if (n === undefined) out.add(tp, `unknown record type "${t}"`);
        else if (isMetaType(n) || n === 0) out.add(tp, `${typeName(n)} is not a record type a zone holds`);
        else if (!grant.types!.includes(n)) grant.types!.push(n);
      });
    }
    res.push(grant);
  });
  return res;
}
