// RFC 2136 dynamic update of `zonelog serve` driven by the real nsupdate and knsupdate, TSIG-signed: prerequisites, operations, apex and CNAME rules, TSIG and grant failures, and the history and logs each update leaves.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';
import { LOOPBACK, dig, run, soaSerial, waitUntil, type RunResult, type TsigKey } from '../../infra/peers.ts';
import { rcodeName } from '../../shared/dns/constants.ts';
import { zonelog } from '../support/cli.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';

const ZONE_FILE = fileURLToPath(new URL('../fixtures/serve/update.zone', import.meta.url));

const secret = (label: string): string => createHash('sha256').update(label).digest('base64');
const DDNS: TsigKey = { name: 'ddns-key', algorithm: 'hmac-sha256', secret: secret('zonelog update interop: ddns-key') };
const DHCP: TsigKey = { name: 'dhcp-key', algorithm: 'hmac-sha256', secret: secret('zonelog update interop: dhcp-key') };
// A name the server has no key for, and the right name with another secret.
const UNKNOWN_KEY: TsigKey = { ...DDNS, name: 'no-such-key' };
const WRONG_SECRET: TsigKey = { ...DDNS, secret: secret('not the ddns-key secret') };

const ELSEWHERE = 'elsewhere.test.';
const SKEW = '+2h';

/** What a client reports about one update message. */
interface Outcome {
  /** The status it prints: the RCODE, except that knsupdate shows a TSIG error in its place. */
  status: string;
  /** The TSIG error it reports, or null. */
  tsigError: string | null;
  /** The reply's TSIG record as knsupdate prints it (nsupdate does not). */
  tsig?: { macSize: number; error: string; otherLen: number; other: string[] };
  output: string;
}

interface Client {
  name: 'nsupdate' | 'knsupdate';
  /** Each client changes its own zone, so each counts its own serials. */
  zone: string;
  /** One attempt each: a retried UPDATE could meet its own first copy's effect. A silent server fails in 10 s, not minutes. */
  args: string[];
  parse(r: RunResult): Outcome;
  /** The status shown for NOTAUTH carrying a TSIG error. */
  tsigStatus(error: string): string;
  /** "Delete every RRset at this name", written the way the client accepts it. */
  deleteAll(name: string): string;
}

function shown(r: RunResult): string {
  return `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

// nsupdate prints nothing on success; on failure "update failed: NXDOMAIN", or "update failed:
// NOTAUTH(BADKEY)" with the TSIG error in parentheses, on stderr.
const NSUPDATE: Client = {
  name: 'nsupdate',
  zone: 'nsupdate.test.',
  args: ['-t', '10', '-u', '10', '-r', '0'],
  parse(r) {
    const output = shown(r);
    const m = /^update failed: ([A-Z0-9]+)(?:\(([A-Z0-9]+)\))?$/m.exec(r.stderr);
    if (m) return { status: m[1], tsigError: m[2] ?? null, output };
    if (r.code === 0 && r.stderr.trim() === '' && r.stdout.trim() === '') return { status: 'NOERROR', tsigError: null, output };
    throw new Error(`nsupdate reported no outcome we recognise:\n${output}`);
  },
  tsigStatus: () => 'NOTAUTH',
  deleteAll: (name) => `update delete ${name} ANY`,
};

// knsupdate prints nothing on success. On failure it prints the reply on stdout (";; ->>HEADER<<-
// opcode: UPDATE; status: NXDOMAIN; ...", where a TSIG error replaces the RCODE, and the TSIG
// record) and a reason on stderr (";; ERROR: update failed with error 'NXDOMAIN'" or ";; ERROR:
// reply verification (...)").
const KNSUPDATE: Client = {
  name: 'knsupdate',
  zone: 'knsupdate.test.',
  args: ['-t', '10', '-r', '0'],
  parse(r) {
    const output = shown(r);
    if (r.code === 0 && r.stderr.trim() === '' && r.stdout.trim() === '') return { status: 'NOERROR', tsigError: null, output };
    const status = /;; ->>HEADER<<- opcode: UPDATE; status: ([A-Z0-9]+);/.exec(r.stdout);
    if (r.code === 0 || !status) throw new Error(`knsupdate reported no outcome we recognise:\n${output}`);
    const tsig = knsupdateTsig(r.stdout);
    return { status: status[1], tsigError: tsig && tsig.error !== 'NOERROR' ? tsig.error : null, ...(tsig ? { tsig } : {}), output };
  },
  tsigStatus: (error) => error,
  // knsupdate reads a trailing "ANY" as a class and refuses it ("class mismatch"); the bare name is its delete-all.
  deleteAll: (name) => `update delete ${name}`,
};

/** The TSIG line: owner TTL ANY TSIG algorithm time fudge mac-size [mac] id error other-len [other...]. */
function knsupdateTsig(stdout: string): Outcome['tsig'] | undefined {
  const line = stdout.split('\n').find((l) => /\sANY\s+TSIG\s/.test(l));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/);
  let i = f.indexOf('TSIG') + 4;
  const macSize = Number(f[i]);
  i += macSize > 0 ? 2 : 1;
  return { macSize, error: f[i + 1], otherLen: Number(f[i + 2]), other: f.slice(i + 3) };
}

const CLIENTS = [NSUPDATE, KNSUPDATE];

async function send(
  client: Client,
  port: number,
  zone: string,
  lines: string[],
  opts: { key?: TsigKey | null; faketime?: string } = {},
): Promise<Outcome> {
  const key = opts.key === undefined ? DDNS : opts.key;
  const args = [...client.args, ...(key ? ['-y', `${key.algorithm}:${key.name}:${key.secret}`] : [])];
  const script = [`server ${LOOPBACK} ${port}`, `zone ${zone}`, ...lines, 'send', ''].join('\n');
  const r = opts.faketime
    ? await run('faketime', ['-f', opts.faketime, client.name, ...args], { input: script, timeoutMs: 20_000 })
    : await run(client.name, args, { input: script, timeoutMs: 20_000 });
  return client.parse(r);
}

async function serialOf(port: number, zone: string): Promise<number> {
  const s = await soaSerial(port, zone);
  assert.ok(s !== undefined, `${zone} answers SOA authoritatively on port ${port}`);
  return s;
}

/** The rdata of the RRset at exactly this owner and type (answer lines of a CNAME chase are left out), sorted. */
async function rrset(port: number, name: string, type: string): Promise<string[]> {
  const r = await dig(['+norec', '+noall', '+answer', '+time=2', '+tries=1', `@${LOOPBACK}`, '-p', String(port), name, type]);
  assert.equal(r.code, 0, `dig ${name} ${type}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5 && f[0].toLowerCase() === name.toLowerCase() && f[3] === type)
    .map((f) => f.slice(4).join(' '))
    .sort();
}

async function ttlOf(port: number, name: string, type: string): Promise<number[]> {
  const r = await dig(['+norec', '+noall', '+answer', `@${LOOPBACK}`, '-p', String(port), name, type]);
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 5 && f[3] === type).map((f) => Number(f[1]));
}

async function statusOf(port: number, name: string, type: string): Promise<string> {
  const r = await dig(['+norec', `@${LOOPBACK}`, '-p', String(port), name, type]);
  return /status: ([A-Z]+)/.exec(r.stdout)?.[1] ?? `no status in:\n${r.stdout}${r.stderr}`;
}

/** libfaketime, preloaded into the server process so that its clock runs ahead of the clients'. */
function libfaketime(): string {
  const candidates = [
    `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/faketime/libfaketime.so.1`,
    '/usr/lib/faketime/libfaketime.so.1',
    '/usr/local/lib/faketime/libfaketime.so.1',
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`libfaketime not found (apt-get install faketime); looked in ${candidates.join(', ')}`);
  return found;
}

/** What the history and the log must show afterwards, collected as the tests go. */
interface Expect {
  applied: { zone: string; serial: number; key: string }[];
  /** key: the key name the request was signed with (as claimed, for TSIG failures), or null if unsigned. */
  refused: { zone: string; rcode: string; key: string | null }[];
}
const expected: Expect = { applied: [], refused: [] };

// Zone and key names are domain names: the server may write them with or without the final dot.
const bare = (name: unknown): string => String(name).toLowerCase().replace(/\.$/, '');
const rcodeText = (r: unknown): string => (typeof r === 'number' ? rcodeName(r) : String(r));

describe('RFC 2136 dynamic update of zonelog serve with nsupdate and knsupdate', () => {
  let server: ServerHandle;

  before(async () => {
    server = await startZonelog({
      keys: [DDNS, DHCP],
      zones: CLIENTS.map((c) => ({
        name: c.zone,
        file: ZONE_FILE,
        serialPolicy: 'increment' as const,
        allowUpdate: [{ key: DDNS.name }, { key: DHCP.name, names: `*.dhcp.${c.zone}`, types: ['A', 'TXT'] }],
      })),
      httpPort: null,
    });
  });
  after(async () => {
    await server?.stop();
  });

  for (const client of CLIENTS) {
    describe(client.name, () => {
      const zone = client.zone;
      const n = (label: string): string => (label === '@' ? zone : `${label}.${zone}`);
      let serial = 0;
      const update = (lines: string[], opts: { key?: TsigKey | null; faketime?: string } = {}): Promise<Outcome> =>
        send(client, server.port, zone, lines, opts);
      const records = (label: string, type: string): Promise<string[]> => rrset(server.port, n(label), type);

      /** The update was applied: NOERROR, and the serial rose by exactly one. */
      async function applied(o: Outcome, key: TsigKey = DDNS): Promise<void> {
        assert.equal(o.status, 'NOERROR', o.output);
        const now = await serialOf(server.port, zone);
        assert.equal(now, serial + 1, 'each applied update message raises the serial by exactly one');
        serial = now;
        expected.applied.push({ zone, serial: now, key: key.name });
      }
      /** The update was accepted but had nothing to change: NOERROR and the same serial. */
      async function noChange(o: Outcome): Promise<void> {
        assert.equal(o.status, 'NOERROR', o.output);
        assert.equal(await serialOf(server.port, zone), serial, 'an update that changes nothing leaves the serial alone');
      }
      /** The update failed with this RCODE and the serial did not move. */
      async function failed(o: Outcome, rcode: string, key: TsigKey | null): Promise<void> {
        assert.equal(o.status, rcode, o.output);
        assert.equal(o.tsigError, null, o.output);
        assert.equal(await serialOf(server.port, zone), serial, 'a failed update leaves the serial alone');
        expected.refused.push({ zone, rcode, key: key ? key.name : null });
      }
      /** The server refused the TSIG: NOTAUTH with this TSIG error, and nothing changed. */
      async function tsigFailed(o: Outcome, error: string, key: TsigKey): Promise<void> {
        assert.equal(o.status, client.tsigStatus(error), o.output);
        assert.equal(o.tsigError, error, o.output);
        assert.equal(await serialOf(server.port, zone), serial, 'a refused update leaves the serial alone');
        expected.refused.push({ zone, rcode: 'NOTAUTH', key: key.name });
      }

      before(async () => {
        assert.equal(await serialOf(server.port, zone), 100, 'the zone starts at the fixture serial');
      });
      // Each test measures from the serial it finds, so one failure does not fail every test after it.
      beforeEach(async () => {
        serial = await serialOf(server.port, zone);
      });

      describe('prerequisites', () => {
        it('"name is in use" (yxdomain) passes for a name with data and fails NXDOMAIN, changing nothing, for an unused name', async () => {
          const add = `update add ${n('pre-yxdomain')} 300 A 198.51.100.1`;
          await failed(await update([`prereq yxdomain ${n('nothing-here')}`, add]), 'NXDOMAIN', DDNS);
          assert.deepEqual(await records('pre-yxdomain', 'A'), []);
          await applied(await update([`prereq yxdomain ${n('www')}`, add]));
          assert.deepEqual(await records('pre-yxdomain', 'A'), ['198.51.100.1']);
        });

        it('"name is not in use" (nxdomain) passes for an unused name and fails YXDOMAIN, changing nothing, for a name with data', async () => {
          await failed(await update([`prereq nxdomain ${n('www')}`, `update add ${n('www')} 300 A 198.51.100.2`]), 'YXDOMAIN', DDNS);
          assert.deepEqual(await records('www', 'A'), ['192.0.2.10', '192.0.2.11']);
          await applied(await update([`prereq nxdomain ${n('pre-nxdomain')}`, `update add ${n('pre-nxdomain')} 300 A 198.51.100.2`]));
          assert.deepEqual(await records('pre-nxdomain', 'A'), ['198.51.100.2']);
        });

        it('"RRset exists" without rdata (yxrrset) passes for an existing type and fails NXRRSET, changing nothing, for a missing one', async () => {
          const add = `update add ${n('pre-yxrrset')} 300 A 198.51.100.3`;
          await failed(await update([`prereq yxrrset ${n('www')} MX`, add]), 'NXRRSET', DDNS);
          assert.deepEqual(await records('pre-yxrrset', 'A'), []);
          await applied(await update([`prereq yxrrset ${n('www')} TXT`, add]));
          assert.deepEqual(await records('pre-yxrrset', 'A'), ['198.51.100.3']);
        });

        it('"RRset exists" with rdata passes only for the exact RRset, in any order, and fails NXRRSET for a subset or a wrong value', async () => {
          const add = `update add ${n('pre-value')} 300 A 198.51.100.4`;
          // one of the two records: a subset is not the RRset
          await failed(await update([`prereq yxrrset ${n('www')} A 192.0.2.10`, add]), 'NXRRSET', DDNS);
          // the right size, one value wrong
          await failed(await update([`prereq yxrrset ${n('www')} A 192.0.2.10`, `prereq yxrrset ${n('www')} A 192.0.2.99`, add]), 'NXRRSET', DDNS);
          // a superset is not the RRset either
          await failed(
            await update([`prereq yxrrset ${n('www')} A 192.0.2.10`, `prereq yxrrset ${n('www')} A 192.0.2.11`, `prereq yxrrset ${n('www')} A 192.0.2.12`, add]),
            'NXRRSET', DDNS,
          );
          assert.deepEqual(await records('pre-value', 'A'), []);
          await applied(await update([`prereq yxrrset ${n('www')} A 192.0.2.11`, `prereq yxrrset ${n('www')} A 192.0.2.10`, add]));
          assert.deepEqual(await records('pre-value', 'A'), ['198.51.100.4']);
        });

        it('"RRset does not exist" (nxrrset) passes for a missing type and fails YXRRSET, changing nothing, for an existing one', async () => {
          const add = `update add ${n('pre-nxrrset')} 300 A 198.51.100.5`;
          await failed(await update([`prereq nxrrset ${n('www')} A`, add]), 'YXRRSET', DDNS);
          assert.deepEqual(await records('pre-nxrrset', 'A'), []);
          await applied(await update([`prereq nxrrset ${n('www')} MX`, add]));
          assert.deepEqual(await records('pre-nxrrset', 'A'), ['198.51.100.5']);
        });

        it('one failing prerequisite among passing ones fails the whole message', async () => {
          const add = `update add ${n('pre-mixed')} 300 A 198.51.100.6`;
          await failed(await update([`prereq yxdomain ${n('www')}`, `prereq yxrrset ${n('www')} TXT`, `prereq nxrrset ${n('www')} A`, add]), 'YXRRSET', DDNS);
          assert.deepEqual(await records('pre-mixed', 'A'), []);
        });
      });

      describe('update operations', () => {
        it('adds several records in one message as one serial step, with their TTL', async () => {
          await applied(await update([
            `update add ${n('added')} 600 A 198.51.100.20`,
            `update add ${n('added')} 600 A 198.51.100.21`,
            `update add ${n('added')} 600 TXT "added by ${client.name}"`,
          ]));
          assert.deepEqual(await records('added', 'A'), ['198.51.100.20', '198.51.100.21']);
          assert.deepEqual(await records('added', 'TXT'), [`"added by ${client.name}"`]);
          assert.deepEqual(await ttlOf(server.port, n('added'), 'A'), [600, 600]);
        });

        it('deletes one RRset and keeps the other types at the name', async () => {
          await applied(await update([`update delete ${n('rrset')} TXT`]));
          assert.deepEqual(await records('rrset', 'TXT'), []);
          assert.deepEqual(await records('rrset', 'A'), ['192.0.2.40']);
        });

        it('deletes a name: every RRset goes and the name no longer exists', async () => {
          await applied(await update([`update delete ${n('name')}`]));
          assert.deepEqual(await records('name', 'A'), []);
          assert.deepEqual(await records('name', 'TXT'), []);
          assert.equal(await statusOf(server.port, n('name'), 'A'), 'NXDOMAIN');
        });

        it('deletes one RR and keeps the rest of its RRset', async () => {
          await applied(await update([`update delete ${n('multi')} A 192.0.2.60`]));
          assert.deepEqual(await records('multi', 'A'), ['192.0.2.61']);
        });

        it('a delete and an add in one message are one serial step', async () => {
          await applied(await update([`update delete ${n('swap')} A`, `update add ${n('swap')} 300 A 198.51.100.70`]));
          assert.deepEqual(await records('swap', 'A'), ['198.51.100.70']);
        });

        it('adding a record that exists, or deleting what is absent, succeeds and leaves the serial alone', async () => {
          await noChange(await update([`update add ${n('www')} 300 A 192.0.2.10`]));
          assert.deepEqual(await records('www', 'A'), ['192.0.2.10', '192.0.2.11']);
          await noChange(await update([`update delete ${n('multi')} A 203.0.113.99`]));
          await noChange(await update([`update delete ${n('www')} MX`]));
          await noChange(await update([`update delete ${n('never-existed')}`]));
          assert.deepEqual(await records('multi', 'A'), ['192.0.2.61']);
        });
      });

      describe('apex and CNAME rules', () => {
        it('deleting the apex SOA is ignored', async () => {
          await noChange(await update([`update delete ${zone} SOA`]));
          assert.equal((await records('@', 'SOA')).length, 1);
        });

        it('deleting all apex NS is ignored', async () => {
          await noChange(await update([`update delete ${zone} NS`]));
          assert.deepEqual(await records('@', 'NS'), [n('ns1'), n('ns2')]);
        });

        it('deleting every RRset at the apex removes the other apex data but keeps SOA and NS', async () => {
          assert.deepEqual(await records('@', 'MX'), [`10 ${n('mail')}`]);
          await applied(await update([client.deleteAll(zone)]));
          assert.deepEqual(await records('@', 'MX'), []);
          assert.deepEqual(await records('@', 'TXT'), []);
          assert.deepEqual(await records('@', 'NS'), [n('ns1'), n('ns2')]);
          assert.equal((await records('@', 'SOA')).length, 1);
        });

        it('adding a CNAME where other data exists is ignored (RFC 2136 §3.4.2.2)', async () => {
          await noChange(await update([`update add ${n('www')} 300 CNAME ${n('ns1')}`]));
          assert.deepEqual(await records('www', 'CNAME'), []);
          assert.deepEqual(await records('www', 'A'), ['192.0.2.10', '192.0.2.11']);
        });

        it('adding other data where a CNAME exists is ignored', async () => {
          await noChange(await update([`update add ${n('alias')} 300 TXT "not beside a CNAME"`]));
          assert.deepEqual(await records('alias', 'TXT'), []);
          assert.deepEqual(await records('alias', 'CNAME'), [n('www')]);
        });

        it('adding a CNAME where a CNAME exists replaces it', async () => {
          await applied(await update([`update add ${n('alias')} 300 CNAME ${n('mail')}`]));
          assert.deepEqual(await records('alias', 'CNAME'), [n('mail')]);
        });
      });

      describe('TSIG and grants', () => {
        const add = `update add ${n('intruder')} 300 A 203.0.113.66`;

        it('an unknown key name gets NOTAUTH with TSIG error BADKEY, unsigned, and changes nothing', async () => {
          const o = await update([add], { key: UNKNOWN_KEY });
          await tsigFailed(o, 'BADKEY', UNKNOWN_KEY);
          // RFC 8945 §5.3.2: a reply to a request that could not be verified carries no MAC (knsupdate shows it)
          if (client === KNSUPDATE) assert.equal(o.tsig?.macSize, 0, o.output);
          assert.deepEqual(await records('intruder', 'A'), []);
        });

        it('the right key name with a wrong secret gets NOTAUTH with TSIG error BADSIG, unsigned, and changes nothing', async () => {
          const o = await update([add], { key: WRONG_SECRET });
          await tsigFailed(o, 'BADSIG', WRONG_SECRET);
          if (client === KNSUPDATE) assert.equal(o.tsig?.macSize, 0, o.output);
          assert.deepEqual(await records('intruder', 'A'), []);
        });

        if (client === KNSUPDATE) {
          it('a client clock two hours ahead gets NOTAUTH with TSIG error BADTIME, signed and carrying the server time, and changes nothing', async () => {
            const o = await update([add], { faketime: SKEW });
            await tsigFailed(o, 'BADTIME', DDNS);
            assert.match(o.output, /reply verification \(TSIG out of time window\)/);
            // RFC 8945 §5.2.3: the BADTIME reply is signed, and its other data is the server's 48-bit time
            assert.ok(o.tsig && o.tsig.macSize > 0, o.output);
            assert.equal(o.tsig.otherLen, 6, o.output);
            assert.ok(Math.abs(Number(o.tsig.other[0]) - Date.now() / 1000) < 60, `server time in the BADTIME reply: ${o.output}`);
            assert.deepEqual(await records('intruder', 'A'), []);
          });
        } else {
          // nsupdate links jemalloc, which libfaketime cannot wrap (the process hangs in clock_gettime
          // recursion), so here the server's clock runs two hours ahead instead: the same skew.
          it('a client clock two hours behind the server gets NOTAUTH with TSIG error BADTIME and changes nothing', async () => {
            const skewed = await startZonelog({
              keys: [DDNS],
              zones: [{ name: 'skewed.test.', file: ZONE_FILE, allowUpdate: [{ key: DDNS.name }] }],
              httpPort: null,
              env: { LD_PRELOAD: libfaketime(), FAKETIME: SKEW, FAKETIME_DONT_FAKE_MONOTONIC: '1' },
            });
            try {
              const before = await serialOf(skewed.port, 'skewed.test.');
              const o = await send(NSUPDATE, skewed.port, 'skewed.test.', ['update add intruder.skewed.test. 300 A 203.0.113.66']);
              assert.equal(o.status, 'NOTAUTH', o.output);
              assert.equal(o.tsigError, 'BADTIME', o.output);
              assert.match(o.output, /TSIG error with server: clocks are unsynchronized/);
              assert.equal(await serialOf(skewed.port, 'skewed.test.'), before);
              assert.deepEqual(await rrset(skewed.port, 'intruder.skewed.test.', 'A'), []);
              // The same update from a client whose clock agrees with the server's is applied,
              // so the refusal above was the clock and nothing else.
              const agreed = await send(KNSUPDATE, skewed.port, 'skewed.test.', ['update add agreed.skewed.test. 300 A 203.0.113.67'], { faketime: SKEW });
              assert.equal(agreed.status, 'NOERROR', agreed.output);
              assert.equal(await serialOf(skewed.port, 'skewed.test.'), before + 1);
            } finally {
              await skewed.stop();
            }
          });
        }

        it('an unsigned update gets REFUSED when every grant needs a key, and changes nothing', async () => {
          await failed(await update([add], { key: null }), 'REFUSED', null);
          assert.deepEqual(await records('intruder', 'A'), []);
        });

        it('a grant narrowed to names below dhcp and types A and TXT allows exactly that', async () => {
          await applied(await update([`update add ${n('host1.dhcp')} 300 A 198.51.100.40`, `update add ${n('host1.dhcp')} 300 TXT "lease"`], { key: DHCP }), DHCP);
          assert.deepEqual(await records('host1.dhcp', 'A'), ['198.51.100.40']);
          assert.deepEqual(await records('host1.dhcp', 'TXT'), ['"lease"']);
        });

        it('the narrowed grant refuses another type below dhcp, a name elsewhere, and a message mixing allowed and refused changes', async () => {
          await failed(await update([`update add ${n('host2.dhcp')} 300 MX 10 ${n('mail')}`], { key: DHCP }), 'REFUSED', DHCP);
          assert.deepEqual(await records('host2.dhcp', 'MX'), []);
          await failed(await update([`update add ${n('printer')} 300 A 198.51.100.41`], { key: DHCP }), 'REFUSED', DHCP);
          assert.deepEqual(await records('printer', 'A'), []);
          await failed(await update([`update add ${n('host3.dhcp')} 300 A 198.51.100.42`, `update add ${n('host3.dhcp')} 300 MX 10 ${n('mail')}`], { key: DHCP }), 'REFUSED', DHCP);
          assert.deepEqual(await records('host3.dhcp', 'A'), []);
          // deleting data the grant does not cover is refused too
          await failed(await update([`update delete ${n('www')} A`], { key: DHCP }), 'REFUSED', DHCP);
          assert.deepEqual(await records('www', 'A'), ['192.0.2.10', '192.0.2.11']);
        });

        it('a name outside the zone gets NOTZONE and changes nothing', async () => {
          await failed(await update([`update add ${n('inside')} 300 A 198.51.100.50`, `update add host.${ELSEWHERE} 300 A 198.51.100.51`]), 'NOTZONE', DDNS);
          assert.deepEqual(await records('inside', 'A'), []);
        });

        it('a zone the server does not have gets NOTAUTH, in a signed reply', async () => {
          const o = await send(client, server.port, ELSEWHERE, [`update add host.${ELSEWHERE} 300 A 198.51.100.52`]);
          assert.equal(o.status, 'NOTAUTH', o.output);
          assert.equal(o.tsigError, null, o.output);
          // Both clients verify the reply's TSIG and say so when it fails.
          assert.doesNotMatch(o.output, /TSIG error with server|reply verification/);
          assert.equal(await serialOf(server.port, zone), serial);
          expected.refused.push({ zone: ELSEWHERE, rcode: 'NOTAUTH', key: DDNS.name });
        });
      });
    });
  }

  describe('history and logs', () => {
    it('logs "update refused" with zone, rcode, key and address for each refused update, and "update applied" with the serial for each applied one', async () => {
      // The server writes its log in the background, at most 100 ms behind.
      const total = expected.refused.length + expected.applied.length;
      await waitUntil('the log lines of every update', () => {
        const n = server.logLines().filter((l) => l.msg === 'update refused' || l.msg === 'update applied').length;
        return n >= total ? n : undefined;
      }, { timeoutMs: 5_000, intervalMs: 50 });
      const lines = server.logLines();
      const refused = lines.filter((l) => l.msg === 'update refused');
      assert.equal(refused.length, expected.refused.length, 'one "update refused" line per refused update');
      const unmatched = [...refused];
      for (const want of expected.refused) {
        const i = unmatched.findIndex(
          (l) => bare(l.zone) === bare(want.zone) && rcodeText(l.rcode) === want.rcode && (want.key === null ? l.key === undefined : bare(l.key) === want.key),
        );
        assert.ok(i >= 0, `an "update refused" line for ${JSON.stringify(want)} among:\n${unmatched.map((l) => JSON.stringify(l)).join('\n')}`);
        const [line] = unmatched.splice(i, 1);
        assert.equal(line.address, LOOPBACK);
        assert.equal(typeof line.reason, 'string');
      }
      const appliedLines = lines.filter((l) => l.msg === 'update applied');
      assert.deepEqual(
        appliedLines.map((l) => ({ zone: bare(l.zone), serial: l.serial, key: bare(l.key), address: l.address })).sort((a, b) => a.zone.localeCompare(b.zone) || Number(a.serial) - Number(b.serial)),
        expected.applied.map((a) => ({ zone: bare(a.zone), serial: a.serial, key: a.key, address: LOOPBACK })).sort((a, b) => a.zone.localeCompare(b.zone) || a.serial - b.serial),
      );
    });

    it('every applied update is one ZoneChanged event with cause update, its key and 127.0.0.1, and refused ones leave none', async () => {
      await server.stop();
      for (const client of CLIENTS) {
        const r = await zonelog(['history', '--zone', client.zone, '--store', server.store, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.equal(events[0].type, 'ZoneCreated');
        assert.equal(events[0].serialTo, 100);
        const changes = events.slice(1);
        const want = expected.applied.filter((a) => a.zone === client.zone);
        assert.ok(want.length >= 13, `${client.name}: the tests above applied ${want.length} updates`);
        assert.deepEqual(
          changes.map((e) => ({ type: e.type, cause: e.cause, serialTo: e.serialTo, key: bare((e.actor as Record<string, unknown>).key) })),
          want.map((a) => ({ type: 'ZoneChanged', cause: 'update', serialTo: a.serial, key: a.key })),
        );
        for (const e of changes) {
          const actor = e.actor as Record<string, unknown>;
          assert.equal(actor.address, LOOPBACK);
          assert.equal(typeof actor.port, 'number');
          assert.equal(e.serialFrom, Number(e.serialTo) - 1);
        }
      }
    });
  });
});
