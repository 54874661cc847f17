// The serve configuration: YAML in, a checked ServerConfig out, or one error listing every key path and reason.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { Type } from '../../../shared/dns/constants.ts';
import { makeKey } from '../../../shared/dns/tsig.ts';
import { ConfigError, loadConfig, parseConfig, parseEndpoint } from '../../../services/config/load.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SECRET = Buffer.from('zonelog config test secret, 32 b').toString('base64');

// One directory with a zone file, as the configs below refer to it.
const dir = mkdtempSync(join(tmpdir(), 'zonelog-config-'));
writeFileSync(join(dir, 'ex.zone'), '$TTL 300\n@ SOA ns1 hostmaster 1 2h 1h 2w 5m\n  NS ns1\nns1 A 192.0.2.1\n');
mkdirSync(join(dir, 'zones'));
writeFileSync(join(dir, 'zones', 'in-dir.zone'), readFileSync(join(dir, 'ex.zone')));
after(() => rmSync(dir, { recursive: true, force: true }));

const MINIMAL = 'listen: ["127.0.0.1:5300"]\nzones:\n  - { name: example.com, file: ex.zone }\n';

function load(text: string) {
  return parseConfig(text, 'zonelog.yaml', dir);
}

/** The lines of the ConfigError the text raises; fails the test if it loads. */
function problems(text: string): string[] {
  try {
    load(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.message, e.errors.join('\n'));
    return [...e.errors];
  }
  assert.fail('the configuration loaded, but should have been refused');
}

/** A minimal config with one zone whose extra YAML lines (indented 4) are given. */
function withZone(lines: string, top = ''): string {
  return `listen: ["127.0.0.1:5300"]\n${top}zones:\n  - name: example.com\n    file: ex.zone\n${lines}`;
}

describe('loading the configuration', () => {
  it('the example config `npm start` uses loads from the repository root', () => {
    const c = loadConfig('examples/zonelog.yaml', { cwd: root });
    assert.equal(c.source, join(root, 'examples/zonelog.yaml'));
    assert.deepEqual(c.listen, [{ address: '127.0.0.1', port: 5300 }]);
    assert.deepEqual(c.http, { address: '127.0.0.1', port: 8053 });
    assert.equal(c.store, `sqlite:${join(root, 'data/zonelog.db')}`);
    assert.equal(c.keys.length, 1);
    assert.equal(c.keys[0].name, 'ddns-key.');
    assert.equal(c.keys[0].algorithm, 'hmac-sha256');
    assert.equal(c.zones.length, 1);
    assert.equal(c.zones[0].name, 'example.com.');
    assert.equal(c.zones[0].file, join(root, 'examples/example.com.zone'));
    assert.deepEqual(c.zones[0].allowUpdate, [{ key: 'ddns-key.' }]);
    assert.deepEqual(c.zones[0].allowTransfer, [{ address: '127.0.0.0/8' }]);
  });

  it('the example config is valid against the published JSON Schema as it stands', () => {
    const schema = JSON.parse(readFileSync(join(root, 'schemas/config/zonelog.v1.json'), 'utf8')) as object;
    const check = new Ajv2020({ strict: true, allowUnionTypes: true }).compile(schema);
    assert.ok(check(parse(readFileSync(join(root, 'examples/zonelog.yaml'), 'utf8'))), JSON.stringify(check.errors));
  });

  it('loaded keys are accepted by the TSIG layer as they are', () => {
    const c = loadConfig('examples/zonelog.yaml', { cwd: root });
    for (const k of c.keys) assert.equal(makeKey(k.name, k.algorithm, k.secret).algorithm.name, 'hmac-sha256.');
  });

  it('absent optional keys take their documented defaults', () => {
    const c = load(MINIMAL);
    assert.equal(c.http, null);
    assert.equal(c.store, `sqlite:${join(dir, 'data/zonelog.db')}`);
    assert.deepEqual(c.keys, []);
    assert.deepEqual(c.zones, [{
      name: 'example.com.', file: join(dir, 'ex.zone'), primaries: [], allowNotify: [],
      timers: { minRefresh: 300_000, maxRefresh: 2_419_200_000, minRetry: 500_000, maxRetry: 1_209_600_000 }, serialPolicy: 'increment', allowUpdate: [], allowTransfer: [], notify: [], notifyNs: false, notifyDelayMs: 0,
      ixfr: { condensed: true, maxRatio: 1, horizonChanges: null, horizonAgeMs: null, axfrOnly: [] },
    }]);
    assert.equal(c.queryThreads, 0);
    assert.equal(c.udpIo, 'auto');
    assert.equal(c.tcpIdleTimeoutMs, 10_000);
    assert.equal(c.maxBatch, 1000);
    assert.equal(c.snapshotEvery, 1000);
    assert.equal(c.snapshotMinIntervalMs, 60_000);
    assert.equal(c.snapshotIntervalMs, 3_600_000);
    assert.equal(c.pollMs, 1000);
    assert.equal(c.logLevel, 'info');
  });

  it('the extension keys are read in their units: seconds for timeouts, milliseconds for polling', () => {
    const c = load(MINIMAL + 'query-threads: 3\nudp-io: dgram\ntcp-idle-timeout: 2.5\nmax-batch: 64\nsnapshot-every: 10\nsnapshot-min-interval: 0\nsnapshot-interval: 90\npoll-interval: 250\nlog-level: debug\nhttp: null\n');
    assert.equal(c.queryThreads, 3);
    assert.equal(c.udpIo, 'dgram');
    assert.equal(load(MINIMAL + 'udp-io: batched\n').udpIo, 'batched', 'batched is accepted where the addon is built');
    assert.equal(c.tcpIdleTimeoutMs, 2500);
    assert.equal(c.maxBatch, 64);
    assert.equal(c.snapshotEvery, 10);
    assert.equal(c.snapshotMinIntervalMs, 0);
    assert.equal(c.snapshotIntervalMs, 90_000);
    assert.equal(c.pollMs, 250);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.http, null);
  });

  it('transfer keys: NOTIFY targets plain or with a key, the delay in seconds, the IXFR policy', () => {
    const c = load(withZone(
      '    notify: ["127.0.0.1:5301", { to: "[::1]", key: xfr }]\n    notify-delay: 0.25\n    ixfr-condensed: false\n    max-ixfr-ratio: unlimited\n' +
      '    ixfr-horizon: { changes: 500, age: 7d }\n    axfr-only: [{ address: 127.0.0.2 }]\n',
      `keys: [{ name: xfr, algorithm: hmac-sha256, secret: "${SECRET}" }]\n`,
    )).zones[0];
    assert.deepEqual(c.notify, [{ address: '127.0.0.1', port: 5301 }, { address: '::1', port: 53, key: 'xfr.' }]);
    assert.equal(c.notifyDelayMs, 250);
    assert.deepEqual(c.ixfr, { condensed: false, maxRatio: null, horizonChanges: 500, horizonAgeMs: 7 * 86_400_000, axfrOnly: [{ address: '127.0.0.2' }] });
    assert.equal(load(withZone('    max-ixfr-ratio: 0.3\n    ixfr-horizon: { age: 3600 }\n')).zones[0].ixfr.horizonAgeMs, 3_600_000);
  });

  it('transfer keys: an unknown NOTIFY key, a bad duration, a bad ratio are each named', () => {
    assert.deepEqual(problems(withZone('    notify: [{ to: "127.0.0.1:5301", key: nokey }]\n')), ['zonelog.yaml: zones[0].notify[0].key: no key named nokey. is defined under keys']);
    assert.deepEqual(problems(withZone('    ixfr-horizon: { age: soon }\n')), ['zonelog.yaml: zones[0].ixfr-horizon.age: "soon" is not a duration: use seconds, or a number with s, m, h, d or w, as in 7d']);
    assert.deepEqual(problems(withZone('    max-ixfr-ratio: -1\n')), ['zonelog.yaml: zones[0].max-ixfr-ratio: -1 is not a ratio: use a share of the zone above 0 (0.5 or "50%"), or "unlimited"']);
    assert.deepEqual(problems(withZone('    notify: [{ to: "127.0.0.1:5301", bogus: 1 }, 5]\n')), [
      'zonelog.yaml: zones[0].notify[0].bogus: unknown key (known keys: to, key)',
      'zonelog.yaml: zones[0].notify[1]: must be a string or a mapping',
    ]);
    assert.equal(load(withZone('    max-ixfr-ratio: "25%"\n')).zones[0].ixfr.maxRatio, 0.25);
  });

  it('relative paths resolve against the working directory, or against `directory` when given', () => {
    assert.equal(load(MINIMAL + 'store: "sqlite:db/z.db"\n').store, `sqlite:${join(dir, 'db/z.db')}`);
    const c = load('directory: zones\nlisten: "127.0.0.1:5300"\nstore: sqlite:z.db\nzones: [{ name: ex, file: in-dir.zone }]\n');
    assert.equal(c.zones[0].file, join(dir, 'zones', 'in-dir.zone'));
    assert.equal(c.store, `sqlite:${join(dir, 'zones', 'z.db')}`);
    assert.equal(load(withZone('', `store: sqlite:${join(dir, 'abs.db')}\n`)).store, `sqlite:${join(dir, 'abs.db')}`);
  });

  it('PostgreSQL URLs and an in-memory sqlite store are kept as written', () => {
    assert.equal(load(MINIMAL + 'store: "postgres://zl:pw@127.0.0.1:5432/zonelog?schema=a"\n').store, 'postgres://zl:pw@127.0.0.1:5432/zonelog?schema=a');
    assert.equal(load(MINIMAL + 'store: "postgresql://127.0.0.1/z"\n').store, 'postgresql://127.0.0.1/z');
    assert.equal(load(MINIMAL + 'store: "sqlite::memory:"\n').store, 'sqlite::memory:');
  });

  it('listen takes one endpoint or a list, IPv6 in brackets, port 53 when none is given', () => {
    assert.deepEqual(load('listen: "[::1]:5300"\nzones: [{ name: ex, file: ex.zone }]\n').listen, [{ address: '::1', port: 5300 }]);
    assert.deepEqual(load('listen: ["127.0.0.1", "[::1]"]\nzones: [{ name: ex, file: ex.zone }]\n').listen, [{ address: '127.0.0.1', port: 53 }, { address: '::1', port: 53 }]);
  });

  it('key names and grant keys become absolute lower-case names; zone names keep their case', () => {
    const c = load(withZone('    allow-update: [{ key: DDNS-Key }, { key: "other.key." }]\n', `keys:\n  - { name: DDNS-Key, algorithm: HMAC-SHA256, secret: "${SECRET}" }\n  - { name: Other.Key., algorithm: hmac-md5.sig-alg.reg.int., secret: "${SECRET}" }\n`).replace('name: example.com', 'name: Example.COM'));
    assert.deepEqual(c.keys.map((k) => [k.name, k.algorithm]), [['ddns-key.', 'hmac-sha256'], ['other.key.', 'hmac-md5']]);
    assert.deepEqual(c.zones[0].allowUpdate, [{ key: 'ddns-key.' }, { key: 'other.key.' }]);
    assert.equal(c.zones[0].name, 'Example.COM.');
  });

  it('grant names become absolute and types become numbers; one name or one type may be written alone', () => {
    const c = load(withZone([
      '    allow-update:',
      '      - { key: k, names: "*.dhcp.example.com", types: [A, aaaa, PTR, TXT, DHCID, TYPE65280, A] }',
      '      - { address: "192.0.2.0/24", names: [www.example.com, "example.com."], types: TXT }',
      '    allow-transfer: [{ address: "::1" }, { key: k, address: "10.1.0.0/16" }]',
      '    notify: ["127.0.0.1:5301", "[::1]"]',
      '    serial-policy: dateserial',
      '',
    ].join('\n'), `keys: [{ name: k, algorithm: hmac-sha512, secret: "${SECRET}" }]\n`));
    const z = c.zones[0];
    assert.deepEqual(z.allowUpdate, [
      { key: 'k.', names: ['*.dhcp.example.com.'], types: [Type.A, Type.AAAA, Type.PTR, Type.TXT, Type.DHCID, 65280] },
      { address: '192.0.2.0/24', names: ['www.example.com.', 'example.com.'], types: [Type.TXT] },
    ]);
    assert.deepEqual(z.allowTransfer, [{ address: '::1' }, { key: 'k.', address: '10.1.0.0/16' }]);
    assert.deepEqual(z.notify, [{ address: '127.0.0.1', port: 5301 }, { address: '::1', port: 53 }]);
    assert.equal(z.serialPolicy, 'dateserial');
  });
});

describe('refusing a bad configuration', () => {
  it('a YAML syntax error reads FILE:LINE: reason', () => {
    const [line, ...rest] = problems('listen: ["127.0.0.1:5300"]\nzones:\n  - name: a\n name: b\n');
    assert.deepEqual(rest, []);
    assert.match(line, /^zonelog\.yaml:4: \S/);
  });

  it('a key given twice in one mapping is a YAML error with its line', () => {
    assert.deepEqual(problems(MINIMAL + 'store: a\nstore: b\n').map((l) => l.split(': ')[0]), ['zonelog.yaml:5']);
  });

  it('an unknown serial policy names the key path and the allowed values', () => {
    assert.deepEqual(problems(withZone('    serial-policy: daily\n')), ['zonelog.yaml: zones[0].serial-policy: must be one of increment, unixtime, dateserial']);
  });

  it('an unknown udp-io names the key and the allowed values', () => {
    assert.deepEqual(problems(MINIMAL + 'udp-io: mmsg\n'), ['zonelog.yaml: udp-io: must be one of auto, batched, dgram']);
  });

  it('a misspelt key is refused with the nearest known key, at any depth', () => {
    assert.deepEqual(problems(withZone('    serial-polcy: increment\n', 'lissen: []\n')), [
      'zonelog.yaml: lissen: unknown key (did you mean listen?)',
      'zonelog.yaml: zones[0].serial-polcy: unknown key (did you mean serial-policy?)',
    ]);
    assert.deepEqual(problems(withZone('    allow-update: [{ kee: x, address: 127.0.0.1 }]\n')), ['zonelog.yaml: zones[0].allow-update[0].kee: unknown key (did you mean key?)']);
  });

  it('names and types in an allow-transfer grant are refused, since they only narrow updates', () => {
    assert.deepEqual(problems(withZone('    allow-transfer: [{ address: 127.0.0.1, types: [A] }]\n')), [
      'zonelog.yaml: zones[0].allow-transfer[0].types: unknown key (names and types narrow allow-update grants only)',
    ]);
  });

  it('required keys and wrong kinds of value name the key path', () => {
    assert.deepEqual(problems('zones: [{ name: ex, file: ex.zone }]\n'), ['zonelog.yaml: listen: is required']);
    assert.deepEqual(problems('listen: 5300\nzones: []\n'), ['zonelog.yaml: listen: must be a string or a list', 'zonelog.yaml: zones: must not be empty']);
    assert.deepEqual(problems(MINIMAL + 'query-threads: two\ntcp-idle-timeout: 0\nmax-batch: 1.5\n'), [
      'zonelog.yaml: query-threads: must be a whole number',
      'zonelog.yaml: tcp-idle-timeout: must be > 0',
      'zonelog.yaml: max-batch: must be a whole number',
    ]);
    assert.deepEqual(problems('- listen\n'), ['zonelog.yaml: must be a mapping']);
  });

  it('every problem is reported at once, one per line, schema and semantic alike', () => {
    const lines = problems([
      'listen: ["127.0.0.1:99999", "::1:53", "localhost:53"]',
      'http: "127.0.0.1"',
      'store: "mysql://u:hunter2@db/zones"',
      'log-level: loud',
      'keys:',
      '  - { name: k, algorithm: hmac-sha3, secret: "not base64!" }',
      'zones:',
      '  - { name: example.com, file: missing.zone, serial-policy: daily }',
      '',
    ].join('\n'));
    assert.deepEqual(lines, [
      'zonelog.yaml: zones[0].serial-policy: must be one of increment, unixtime, dateserial',
      'zonelog.yaml: log-level: must be one of fatal, error, warn, info, debug, trace, silent',
      'zonelog.yaml: listen[0]: "127.0.0.1:99999": port "99999" is not in 1..65535',
      'zonelog.yaml: listen[1]: "::1:53": write an IPv6 address in brackets, as [ADDRESS]:PORT (for example [::1]:5300)',
      'zonelog.yaml: listen[2]: "localhost" is not an IP address (write an address such as 127.0.0.1 or [::1], not a host name)',
      'zonelog.yaml: http: "127.0.0.1" needs a port: ADDRESS:PORT',
      'zonelog.yaml: store: "mysql://u:***@db/zones" is not a store: use sqlite:PATH or postgres://user@host:port/database',
      'zonelog.yaml: keys[0].algorithm: unknown algorithm "hmac-sha3"; use one of hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512',
      'zonelog.yaml: keys[0].secret: is not valid base64 (as tsig-keygen or `openssl rand -base64 32` prints it)',
      `zonelog.yaml: zones[0].file: ${join(dir, 'missing.zone')}: no such file`,
    ]);
    assert.ok(!lines.join('\n').includes('hunter2'), 'a store password never appears in a message');
  });

  it('endpoints must be IP literals with a port in 1..65535, listed once', () => {
    const bad = (ep: string) => problems(`listen: ["${ep}"]\nzones: [{ name: ex, file: ex.zone }]\n`)[0];
    assert.match(bad('127.0.0.1:0'), /^zonelog\.yaml: listen\[0\]: .*port "0" is not in 1\.\.65535$/);
    assert.match(bad('[::1]x'), /listen\[0\]: .*expected ":PORT"/);
    assert.match(bad('[127.0.0.1]:53'), /listen\[0\]: "127\.0\.0\.1" is not an IPv6 address/);
    assert.match(bad('[::1:53'), /listen\[0\]: .*no closing bracket/);
    assert.match(bad('ns1.example.com:53'), /listen\[0\]: "ns1\.example\.com" is not an IP address/);
    assert.deepEqual(problems('listen: ["127.0.0.1:53", "127.0.0.1"]\nzones: [{ name: ex, file: ex.zone }]\n'), ['zonelog.yaml: listen[1]: 127.0.0.1 is already listed at listen[0]']);
    assert.deepEqual(problems(MINIMAL + 'http: "[::1]"\n'), ['zonelog.yaml: http: "[::1]" needs a port: ADDRESS:PORT']);
    assert.deepEqual(problems(withZone('    notify: ["127.0.0.1:5301", "192.0.2.1:70000"]\n')), ['zonelog.yaml: zones[0].notify[1]: "192.0.2.1:70000": port "70000" is not in 1..65535']);
  });

  it('a key name or zone name defined twice, ignoring case, is refused', () => {
    assert.deepEqual(problems(withZone('', `keys:\n  - { name: k, algorithm: hmac-sha256, secret: "${SECRET}" }\n  - { name: K., algorithm: hmac-sha1, secret: "${SECRET}" }\n`)), [
      'zonelog.yaml: keys[1].name: key k. is already defined at keys[0]',
    ]);
    assert.deepEqual(problems(MINIMAL + '  - { name: EXAMPLE.COM., file: ex.zone }\n'), ['zonelog.yaml: zones[1].name: zone EXAMPLE.COM. is already defined at zones[0]']);
  });

  it('a grant must name a defined key and a valid address or prefix', () => {
    assert.deepEqual(problems(withZone('    allow-update: [{ key: dhcp-key }]\n')), ['zonelog.yaml: zones[0].allow-update[0].key: no key named dhcp-key. is defined under keys']);
    for (const a of ['10.0.0.0/33', '::/129', '10.0.0.0/-1', 'host.example', '10.0.0.0/8/8', '127.0.0.01']) {
      assert.deepEqual(problems(withZone(`    allow-transfer: [{ address: "${a}" }]\n`)), [`zonelog.yaml: zones[0].allow-transfer[0].address: "${a}" is not an IP address or prefix (such as 127.0.0.0/8 or ::1/128)`], a);
    }
    for (const a of ['10.0.0.0/0', '::/0', '2001:db8::/32', '::ffff:127.0.0.0/104', '192.0.2.1', 'fe80::1']) assert.doesNotThrow(() => load(withZone(`    allow-transfer: [{ address: "${a}" }]\n`)), a);
  });

  it('a grant with neither key nor address is refused rather than silently matching nobody', () => {
    assert.deepEqual(problems(withZone('    allow-update: [{ names: www.example.com }]\n')), ['zonelog.yaml: zones[0].allow-update[0]: a grant needs a key or an address (one with neither would match nobody)']);
  });

  it('grant types must be record types, not meta types, and grant names must lie in the zone', () => {
    assert.deepEqual(problems(withZone('    allow-update: [{ address: 127.0.0.1, types: [A, ANY, AXFR, IXFR, OPT, TSIG, BOGUS] }]\n')), [
      'zonelog.yaml: zones[0].allow-update[0].types[1]: ANY is not a record type a zone holds',
      'zonelog.yaml: zones[0].allow-update[0].types[2]: AXFR is not a record type a zone holds',
      'zonelog.yaml: zones[0].allow-update[0].types[3]: IXFR is not a record type a zone holds',
      'zonelog.yaml: zones[0].allow-update[0].types[4]: OPT is not a record type a zone holds',
      'zonelog.yaml: zones[0].allow-update[0].types[5]: TSIG is not a record type a zone holds',
      'zonelog.yaml: zones[0].allow-update[0].types[6]: unknown record type "BOGUS"',
    ]);
    assert.deepEqual(problems(withZone('    allow-update: [{ address: 127.0.0.1, names: ["*.example.org", "a..example.com"] }]\n')), [
      'zonelog.yaml: zones[0].allow-update[0].names[0]: *.example.org. is outside zone example.com.',
      'zonelog.yaml: zones[0].allow-update[0].names[1]: empty label in "a..example.com."',
    ]);
    assert.deepEqual(problems(withZone('    allow-update: [{ address: 127.0.0.1, names: [], types: [] }]\n')), [
      'zonelog.yaml: zones[0].allow-update[0].names: must not be empty',
      'zonelog.yaml: zones[0].allow-update[0].types: must not be empty',
    ]);
  });

  it('zone names must parse as DNS names', () => {
    assert.deepEqual(problems(`listen: "127.0.0.1:53"\nzones: [{ name: "${'a'.repeat(64)}.com", file: ex.zone }]\n`), [
      `zonelog.yaml: zones[0].name: label of 64 octets in "${'a'.repeat(64)}.com." (limit 63)`,
    ]);
  });

  it('a zone needs a file that exists and is a readable regular file', () => {
    assert.deepEqual(problems('listen: "127.0.0.1:53"\nzones: [{ name: ex }]\n'), ['zonelog.yaml: zones[0].file: a zone needs a file (a primary zone) or primaries (a secondary zone)']);
    assert.deepEqual(problems('listen: "127.0.0.1:53"\nzones: [{ name: ex, file: ex.zone, primaries: ["127.0.0.1:5301"] }]\n'), ['zonelog.yaml: zones[0].primaries: a zone has a file (primary) or primaries (secondary), not both']);
    assert.deepEqual(problems('listen: "127.0.0.1:53"\nzones: [{ name: ex, file: zones }]\n'), [`zonelog.yaml: zones[0].file: ${join(dir, 'zones')}: not a regular file`]);
    assert.deepEqual(problems('listen: "127.0.0.1:53"\ndirectory: nowhere\nzones: [{ name: ex, file: ex.zone }]\n'), [
      `zonelog.yaml: directory: ${join(dir, 'nowhere')} is not a directory`,
      `zonelog.yaml: zones[0].file: ${join(dir, 'nowhere', 'ex.zone')}: no such file`,
    ]);
  });

  it('a secondary zone: primaries plain or without IXFR, the transfer key, allow-notify by default from the primaries or with the key', () => {
    const z = load(`listen: ["127.0.0.1:5300"]\nkeys: [{ name: xfr, algorithm: hmac-sha256, secret: "${SECRET}" }]\n` +
      'zones:\n  - { name: corp.example, primaries: ["127.0.0.1:5302", { to: "127.0.0.1:5303", request-ixfr: false }], transfer-key: xfr, min-refresh-time: 2 }\n').zones[0];
    assert.equal(z.file, undefined);
    assert.deepEqual(z.primaries, [{ address: '127.0.0.1', port: 5302, requestIxfr: true }, { address: '127.0.0.1', port: 5303, requestIxfr: false }]);
    assert.equal(z.transferKey, 'xfr.');
    assert.deepEqual(z.allowNotify, [{ address: '127.0.0.1' }, { address: '127.0.0.1' }, { key: 'xfr.' }]);
    assert.equal(z.timers.minRefresh, 2000);
    assert.deepEqual(problems('listen: "127.0.0.1:53"\nzones: [{ name: ex, primaries: ["127.0.0.1:5302"], transfer-key: nokey }]\n'), ['zonelog.yaml: zones[0].transfer-key: no key named nokey. is defined under keys']);
  });

  it('the store must be sqlite:PATH or a PostgreSQL URL', () => {
    assert.deepEqual(problems(MINIMAL + 'store: "sqlite:"\n'), ['zonelog.yaml: store: sqlite: needs a file path, as in sqlite:data/zonelog.db']);
    assert.deepEqual(problems(MINIMAL + 'store: "data/zonelog.db"\n'), ['zonelog.yaml: store: "data/zonelog.db" is not a store: use sqlite:PATH or postgres://user@host:port/database']);
    assert.deepEqual(problems(MINIMAL + 'store: "postgres://u:pw@[bad/z"\n'), ['zonelog.yaml: store: "postgres://u:***@[bad/z" is not a valid URL']);
  });

  it('a missing or empty configuration file is refused, naming the file', () => {
    assert.throws(() => loadConfig('absent.yaml', { cwd: dir }), { name: 'ConfigError', message: 'absent.yaml: cannot read the configuration: no such file' });
    writeFileSync(join(dir, 'empty.yaml'), '# nothing yet\n');
    assert.throws(() => loadConfig('empty.yaml', { cwd: dir }), { name: 'ConfigError', message: 'empty.yaml: the configuration is empty; it needs at least listen and zones' });
  });

  it('loadConfig checks the file it reads, naming it as given', () => {
    writeFileSync(join(dir, 'bad.yaml'), withZone('    serial-policy: weekly\n'));
    assert.throws(() => loadConfig('bad.yaml', { cwd: dir }), { message: 'bad.yaml: zones[0].serial-policy: must be one of increment, unixtime, dateserial' });
  });
});

describe('endpoints', () => {
  it('parse ADDRESS:PORT and [IPv6]:PORT, with a default port only where one is given', () => {
    assert.deepEqual(parseEndpoint('127.0.0.1:5300'), { address: '127.0.0.1', port: 5300 });
    assert.deepEqual(parseEndpoint('[2001:db8::1]:65535'), { address: '2001:db8::1', port: 65535 });
    assert.deepEqual(parseEndpoint('192.0.2.1', 53), { address: '192.0.2.1', port: 53 });
    assert.throws(() => parseEndpoint('192.0.2.1'), /needs a port/);
    assert.throws(() => parseEndpoint('127.0.0.1:53a'), /port "53a"/);
  });
});
