// The history of a zone end to end (issue 6): a real `zonelog serve` (SQLite, http listener) takes
// 2,000 TSIG-signed updates from three keys and a zone-file reload; the zone as of any serial
// (export, as-of) is what an AXFR gave at that serial; blame names exactly the changes that touched
// a name and their keys; a revert reaches a real BIND secondary by IXFR; bad requests are refused
// with {error, code} and change nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOOPBACK, dig, freePort, soaSerial, startBind, waitForSerial, waitUntil, type PeerHandle, type TsigKey } from '../../infra/peers.ts';
import { Class, Rcode, Type } from '../../shared/dns/constants.ts';
import type { RR } from '../../shared/dns/message.ts';
import { canonicalRdata } from '../../shared/dns/rdata.ts';
import { parseRecordLine } from '../../shared/zone/parser.ts';
import { recordToText } from '../../shared/zone/printer.ts';
import { withSerial } from '../../shared/zone/zone.ts';
import { pullZone } from '../../services/secondary/transfer-in.ts';
import { zonelog, type CliResult } from '../support/cli.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';
import { countBy, record, sendUpdate, tally, tsigKey, type UpdateOutcome, type UpdateRequest } from '../support/updates.ts';

const ZONE = 'hist.test.';
const MIRROR = 'mirror.test.';
const secret = (label: string): string => createHash('sha256').update(label).digest('base64');
const KEYS: TsigKey[] = ['alpha-key', 'bravo-key', 'charlie-key'].map((name) => ({ name, algorithm: 'hmac-sha256', secret: secret(`zonelog history e2e: ${name}`) }));
const XFR: TsigKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: secret('zonelog history e2e: xfr-key') };

const UPDATES = 2000;
/** Senders at once; each owns its names and sends its updates one after another (see `plan`). */
const WORKERS = 16;
const NAMES_PER_WORKER = 6;
const CAPTURES = 20;
/** The zone file is reloaded once this many updates are acknowledged. */
const RELOAD_AFTER = 1000;
/** The reloaded file's serial is this far above the zone's: the serials between are never reached. */
const RELOAD_JUMP = 100;
const MARKER = `reload-marker.${ZONE}`;

const SOA_LINE = `${ZONE} 300 IN SOA ns1.${ZONE} hostmaster.${ZONE} 1 3600 600 86400 300`;
const poolName = (w: number, k: number): string => `w${w}-n${k}.${ZONE}`;
const initialRecord = (w: number, k: number): string => `${poolName(w, k)} 300 IN A 10.200.${w}.${k}`;
const ZONE_TEXT = [
  SOA_LINE,
  `${ZONE} 300 IN NS ns1.${ZONE}`,
  `ns1.${ZONE} 300 IN A 127.0.0.1`,
  ...Array.from({ length: WORKERS }, (_, w) => Array.from({ length: NAMES_PER_WORKER }, (_, k) => initialRecord(w, k))).flat(),
].join('\n') + '\n';

// ------------------------------------------------------------------ canonical records

/**
 * One record in the form every comparison uses: parsed by the project's parser (dig's tabs and
 * the export's spaces alike), owner and rdata names lower-cased, printed by the project's printer.
 */
function canonical(line: string): string {
  const rr = parseRecordLine(line.replace(/\t/g, ' ').trim());
  return recordToText({ ...rr, name: rr.name.toLowerCase(), rdata: canonicalRdata(rr.type, rr.rdata) });
}

/** Record lines of a master file or dig output, canonical and sorted; comments and blanks left out. */
function canonicalLines(text: string | string[]): string[] {
  const lines = typeof text === 'string' ? text.split('\n') : text;
  return lines.filter((l) => l.trim() !== '' && !l.trimStart().startsWith(';')).map(canonical).sort();
}

/** The SOA line with its serial set to 0: for "the same zone apart from the serial". */
function withoutSerial(line: string): string {
  const rr = parseRecordLine(line);
  return rr.type === Type.SOA ? recordToText({ ...rr, rdata: withSerial(rr.rdata, 0) }) : line;
}

const serialOfSoaLine = (line: string): number => Number(line.split(' ')[6]);

interface Axfr {
  serial: number;
  /** Canonical sorted records, the SOA once (the trailing SOA dropped). */
  lines: string[];
}

/** A zone by AXFR through dig (its own decoder, not ours), as canonical lines. */
async function axfr(port: number, zone: string, key?: TsigKey): Promise<Axfr> {
  const r = await dig(['+tcp', '+noall', '+answer', '+nocmd', '+time=10', '+tries=1', ...(key ? ['-y', `${key.algorithm}:${key.name}:${key.secret}`] : []), `@${LOOPBACK}`, '-p', String(port), zone, 'AXFR'], { timeoutMs: 30_000 });
  const raw = r.stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';'));
  assert.ok(r.code === 0 && raw.length >= 3, `AXFR of ${zone} from ${LOOPBACK}:${port}: exit ${r.code}\n${r.stdout.slice(0, 2000)}${r.stderr}`);
  return axfrOf(raw.map(canonical), `dig AXFR from port ${port}`);
}

/**
 * A zone by AXFR with the project's own strict transfer client (the secondary service's), started
 * at once: a dig process would start tens of milliseconds late, and the updates run at more
 * than a thousand a second.
 */
async function axfrNow(port: number, zone: string): Promise<Axfr> {
  const p = await pullZone(zone, null, { address: LOOPBACK, port }, { axfr: true });
  assert.equal(p.kind, 'axfr', `AXFR of ${zone} from port ${port}`);
  if (p.kind !== 'axfr') throw new Error('unreachable');
  assert.ok(p.records.length >= 2, `AXFR from port ${port}: ${p.records.length} records`);
  return { serial: serialOfSoaLine(canonical(recordToText(p.soa))), lines: p.records.map((rr) => canonical(recordToText(rr))).sort() };
}

function axfrOf(records: string[], what: string): Axfr {
  assert.ok(records.length >= 3, `${what}: ${records.length} records`);
  const first = records[0];
  assert.match(first, / IN SOA /, `${what} starts with the SOA`);
  assert.equal(records[records.length - 1], first, `${what} ends with the SOA it started with`);
  return { serial: serialOfSoaLine(first), lines: records.slice(0, -1).sort() };
}

// ------------------------------------------------------------------ the updates and what they do

/** xorshift-based PRNG, so that a failing run can be repeated with HISTORY_SEED. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

/** What one update did at one name: the records it removed and added (canonical lines). */
interface Effect {
  removed: string[];
  added: string[];
}

interface PlannedUpdate {
  index: number;
  worker: number;
  /** Name of the TSIG key that signs it. */
  key: string;
  request: UpdateRequest;
  /** Every name the update changes, and how. */
  effects: Map<string, Effect>;
}

/**
 * The 2,000 updates, planned ahead with a model of every name's records. Each worker owns its
 * names and sends its updates one at a time, so the order in which each name is changed is known,
 * and every operation is chosen so that it changes the name it is aimed at (a delete only of what
 * exists, an add only of a record never seen before). That is what makes the expected blame of a
 * name exact without knowing serials: the updates that name its owner, in the worker's order.
 */
function plan(rand: () => number): { updates: PlannedUpdate[][]; model: Map<string, string[]> } {
  const model = new Map<string, string[]>();
  for (let w = 0; w < WORKERS; w++) for (let k = 0; k < NAMES_PER_WORKER; k++) model.set(poolName(w, k), [canonical(initialRecord(w, k))]);
  let unique = 0;
  const fresh = (name: string, type: 'A' | 'TXT'): string => {
    unique++;
    return canonical(type === 'A' ? `${name} 300 IN A 10.${(unique >> 16) & 255}.${(unique >> 8) & 255}.${unique & 255}` : `${name} 300 IN TXT "u${unique}"`);
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const typeOf = (line: string): string => line.split(' ')[3];
  const deleteRRset = (name: string, type: number): RR => ({ name, type, class: Class.ANY, ttl: 0, rdata: new Uint8Array(0) });
  const updates: PlannedUpdate[][] = Array.from({ length: WORKERS }, () => []);
  for (let index = 0; index < UPDATES; index++) {
    const worker = index % WORKERS;
    const names = Array.from({ length: NAMES_PER_WORKER }, (_, k) => poolName(worker, k)).sort(() => rand() - 0.5).slice(0, rand() < 0.3 ? 2 : 1);
    const rrs: RR[] = [];
    const effects = new Map<string, Effect>();
    for (const name of names) {
      const have = model.get(name)!;
      const r = rand();
      let removed: string[] = [];
      let added: string[] = [];
      if (r < 0.3) {
        added = [fresh(name, 'A')];
        rrs.push(record(added[0]));
      } else if (r < 0.45 || have.length === 0) {
        added = [fresh(name, 'TXT')];
        rrs.push(record(added[0]));
      } else if (r < 0.65) {
        // RRset replacement: delete the A RRset, add one new A.
        removed = have.filter((l) => typeOf(l) === 'A');
        added = [fresh(name, 'A')];
        rrs.push(deleteRRset(name, Type.A), record(added[0]));
      } else if (r < 0.85) {
        // One record deleted (RFC 2136 §2.5.4).
        removed = [pick(have)];
        rrs.push({ ...record(removed[0]), class: Class.NONE, ttl: 0 });
      } else if (r < 0.95) {
        // A whole RRset deleted (§2.5.2), of a type the name has.
        const type = typeOf(pick(have));
        removed = have.filter((l) => typeOf(l) === type);
        rrs.push(deleteRRset(name, type === 'A' ? Type.A : Type.TXT));
      } else {
        // Every RRset at the name deleted (§2.5.3).
        removed = [...have];
        rrs.push(deleteRRset(name, Type.ANY));
      }
      model.set(name, [...have.filter((l) => !removed.includes(l)), ...added]);
      effects.set(name, { removed: removed.sort(), added: added.sort() });
    }
    updates[worker].push({ index, worker, key: pick(KEYS).name, request: { zone: ZONE, update: rrs }, effects });
  }
  return { updates, model };
}

// ------------------------------------------------------------------ the HTTP API and the CLI

interface ApiReply {
  status: number;
  contentType: string;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** A JSON value's fields, for reading replies without `any`. */
type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${what} is not a JSON object: ${JSON.stringify(v)?.slice(0, 500)}`);
  return v as Obj;
};
const arr = (v: unknown, what: string): unknown[] => {
  assert.ok(Array.isArray(v), `${what} is not a JSON array: ${JSON.stringify(v)?.slice(0, 500)}`);
  return v;
};
const keyName = (k: unknown): string => String(k ?? '').toLowerCase().replace(/\.$/, '');

/**
 * A CLI `--json` output as a list of objects: one JSON array or object (`changes` inside it when
 * present), or one object per line.
 */
function jsonRows(out: string, listField: string): Obj[] {
  const text = out.trim();
  if (text === '') return [];
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v)) return v.map((x, i) => obj(x, `row ${i}`));
    const o = obj(v, 'output');
    return Array.isArray(o[listField]) ? arr(o[listField], listField).map((x, i) => obj(x, `${listField}[${i}]`)) : [o];
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return text.split('\n').filter((l) => l.trim() !== '').map((l, i) => obj(JSON.parse(l), `line ${i + 1}`));
  }
}

/** A CLI refusal reads as one message naming the problem, not a stack trace. */
function assertClearRefusal(r: CliResult, what: RegExp, cmd: string): string {
  assert.notEqual(r.code, 0, `${cmd}: exit 0; stdout ${r.stdout.slice(0, 300)}`);
  assert.match(r.stderr, what, `${cmd}: stderr does not say what is wrong: ${r.stderr.slice(0, 800)}`);
  assert.doesNotMatch(r.stderr, /^\s+at .+[(:]\d+/m, `${cmd}: stderr is a stack trace: ${r.stderr.slice(0, 800)}`);
  return `zonelog ${cmd}: exit ${r.code}: ${r.stderr.split('\n')[0]}`;
}

describe('zone history end to end: as-of, blame, revert to a BIND secondary, refusals', { timeout: 300_000 }, () => {
  let z: ServerHandle;
  let mirrorPrimary: PeerHandle | undefined;
  let bind: PeerHandle | undefined;
  let bindPort: number;
  const seed = Number(process.env.HISTORY_SEED ?? Math.floor(Math.random() * 0x7fffffff));
  const planned = plan(prng(seed));
  const keyByName = new Map(KEYS.map((k) => [k.name, tsigKey(k)]));

  // What the load phase leaves for the later tests.
  const outcomes: UpdateOutcome[] = new Array(UPDATES);
  const captures: (Axfr & { acked: number })[] = [];
  let reloaded: { serialFrom: number; serialTo: number } | undefined;
  let firstRevert: { serialTo: number; revertTo: number } | undefined;
  let loaded = false;

  // One connection per request: a kept-alive connection the server closes as the next request
  // goes out fails that request ("other side closed"), which is the client's race, not the API's.
  const api = (method: string, path: string, body?: unknown): Promise<ApiReply> => new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest({
      host: LOOPBACK, port: z.httpPort!, method, path, agent: false, timeout: 60_000,
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
    req.on('error', reject);
    req.end(payload);
  });
  const apiOk = async (method: string, path: string, body?: unknown, status = 200): Promise<Obj> => {
    const r = await api(method, path, body);
    assert.equal(r.status, status, `${method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`}: ${r.status} ${r.text.slice(0, 800)}`);
    return obj(r.json, `${method} ${path}`);
  };
  const cli = (args: string[]): Promise<CliResult> => zonelog([...args, '--store', z.store], { timeoutMs: 60_000 });
  const cliOk = async (args: string[]): Promise<string> => {
    const r = await cli(args);
    assert.equal(r.code, 0, `zonelog ${args.join(' ')}: exit ${r.code}\n${r.stderr.slice(0, 2000)}`);
    return r.stdout;
  };
  const exportAt = async (serial: number): Promise<string[]> => canonicalLines(await cliOk(['export', '--zone', ZONE, '--serial', String(serial)]));
  const serialNow = async (): Promise<number> => {
    const s = await soaSerial(z.port, ZONE);
    assert.ok(s !== undefined, `${ZONE} SOA is not answered`);
    return s;
  };

  before(async () => {
    // A BIND primary for zonelog's secondary zone (the target of the refused revert), and the
    // port of the BIND secondary of the history zone, which zonelog notifies.
    mirrorPrimary = await startBind({ name: 'named (mirror primary)', zones: [{ name: MIRROR, role: 'primary', file: `$TTL 300\n@ SOA ns1 hostmaster 7 3600 600 86400 300\n  NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.7\n` }] });
    bindPort = await freePort();
    z = await startZonelog({
      keys: [...KEYS, XFR],
      zones: [
        {
          name: ZONE, file: ZONE_TEXT,
          allowUpdate: KEYS.map((k) => ({ key: k.name })),
          allowTransfer: [{ address: '127.0.0.0/8' }, { key: XFR.name }],
          notify: [{ to: `${LOOPBACK}:${bindPort}`, key: XFR.name }],
          // A revert to an early serial differs from the zone in most of its records; it must
          // still go out as an incremental transfer, not AXFR-style.
          extra: { 'max-ixfr-ratio': 'unlimited' },
        },
        { name: MIRROR, extra: { primaries: [`${LOOPBACK}:${mirrorPrimary.port}`] } },
      ],
    });
    // The secondary follows from the first serial on. (Started only for the revert, it would wait
    // out NOTIFY retries to a port that had nobody on it: up to 16 s, the notifier's last try.)
    bind = await startBind({
      name: 'named (secondary)', port: bindPort, keys: [XFR], debugLevel: 3,
      zones: [{ name: ZONE, role: 'secondary', primaries: [{ address: LOOPBACK, port: z.port, key: XFR.name }] }],
    });
    await waitForSerial(bind.port, ZONE, 1, 30_000);
  });

  after(async () => {
    await Promise.all([bind?.stop(), z?.stop()]);
    await mirrorPrimary?.stop();
  });

  it(`${UPDATES} signed updates from three keys and a zone-file reload: one event each, with its key, while AXFRs are taken`, async (t) => {
    t.diagnostic(`seed ${seed} (HISTORY_SEED=${seed} repeats this run's updates)`);
    const rand = prng(seed ^ 0x5eed);
    const captureAt = new Set<number>();
    for (let i = 0; i < 10_000 && captureAt.size < CAPTURES; i++) captureAt.add(1 + Math.floor(rand() * UPDATES));
    const capturing: Promise<void>[] = [];
    const captureErrors: string[] = [];
    let acked = 0;
    let inFlight = 0;
    let pause: Promise<void> | null = null;
    let reloading: Promise<void> | undefined;

    // The reload an operator of a dynamic zone makes: updates held (as `rndc freeze` would), the
    // file written from the zone as served plus one new record, its serial raised, then POST
    // /reload. Only the marker and the SOA change, so no pool name's blame includes it.
    const reload = async (): Promise<void> => {
      await waitUntil('the updates in flight to finish before the reload', () => (inFlight === 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 10 });
      const now = await axfr(z.port, ZONE);
      const file = join(z.dir, 'zone0.db');
      assert.ok(existsSync(file), `the served zone file ${file}`);
      const soa = parseRecordLine(now.lines.find((l) => / IN SOA /.test(l))!);
      const raised = recordToText({ ...soa, rdata: withSerial(soa.rdata, now.serial + RELOAD_JUMP) });
      writeFileSync(file, [raised, ...now.lines.filter((l) => !/ IN SOA /.test(l)), `${MARKER} 300 IN TXT "reloaded at serial ${now.serial}"`].join('\n') + '\n');
      const r = await apiOk('POST', '/reload');
      const said = String(r[ZONE] ?? r[ZONE.slice(0, -1)]);
      assert.match(said, new RegExp(`serial ${now.serial} -> ${now.serial + RELOAD_JUMP}, -0 \\+1`), `POST /reload: ${JSON.stringify(r)}`);
      assert.equal(await serialNow(), now.serial + RELOAD_JUMP);
      reloaded = { serialFrom: now.serial, serialTo: now.serial + RELOAD_JUMP };
    };

    const t0 = performance.now();
    await Promise.all(planned.updates.map(async (mine) => {
      for (const u of mine) {
        // Bounded: each pause is one reload, and there is one.
        if (pause) await pause;
        inFlight++;
        const r = await sendUpdate(z.port, u.request, { key: keyByName.get(u.key), timeoutMs: 10_000 });
        inFlight--;
        outcomes[u.index] = r;
        if (r.rcode !== Rcode.NOERROR) continue;
        acked++;
        if (captureAt.has(acked)) {
          const at = acked;
          // Failures are kept for the assertion below, not left to reject unheard meanwhile.
          capturing.push(axfrNow(z.port, ZONE).then((c) => void captures.push({ ...c, acked: at }), (e: Error) => void captureErrors.push(`after ${at} acks: ${e.message}`)));
        }
        if (acked === RELOAD_AFTER) {
          reloading = reload();
          pause = reloading.catch(() => {});
        }
      }
    }));
    const sendMs = performance.now() - t0;
    await Promise.all(capturing);
    t.diagnostic(`${UPDATES} updates in ${Math.round(sendMs)} ms; outcomes ${JSON.stringify(tally(outcomes))}; ${captures.length} AXFRs at serials ${captures.map((c) => c.serial).sort((a, b) => a - b).join(' ')}`);
    assert.deepEqual(tally(outcomes), { NOERROR: UPDATES }, `first failure: ${JSON.stringify(outcomes.find((o) => o.rcode !== Rcode.NOERROR))}`);
    assert.equal(outcomes.filter((o) => o.signed).length, UPDATES, 'every acknowledgement is signed with the request\'s key');
    assert.ok(reloading, 'the reload ran');
    await reloading;
    assert.ok(reloaded);
    assert.deepEqual(captureErrors, [], 'every AXFR during the load completed');
    assert.equal(captures.length, CAPTURES);

    // One serial per update, plus the reload's jump.
    const head = await serialNow();
    assert.equal(head, 1 + UPDATES + RELOAD_JUMP);
    // The zone is what the plan says: every update did what it was built to do.
    const want = [SOA_LINE.replace(' 1 3600 ', ` ${head} 3600 `), `${ZONE} 300 IN NS ns1.${ZONE}`, `ns1.${ZONE} 300 IN A 127.0.0.1`, `${MARKER} 300 IN TXT "reloaded at serial ${reloaded.serialFrom}"`]
      .map(canonical).concat([...planned.model.values()].flat()).sort();
    assert.deepEqual((await axfr(z.port, ZONE)).lines, want, 'the zone after the updates and the reload is the planned one');

    // History: one creation, one event per update with the key that signed it, one reload.
    const events = jsonRows(await cliOk(['history', '--zone', ZONE, '--json']), 'changes');
    const byCause = countBy(events, (e) => `${String(e.type)}/${String(e.cause)}`);
    assert.deepEqual(byCause, { 'ZoneCreated/import': 1, 'ZoneChanged/update': UPDATES, 'ZoneChanged/reload': 1 });
    const sentByKey = countBy(planned.updates.flat(), (u) => u.key);
    const storedByKey = countBy(events.filter((e) => e.cause === 'update'), (e) => keyName(obj(e.actor, 'actor').key));
    assert.deepEqual(storedByKey, sentByKey, 'history names the key of every update');
    const reloadEvent = events.find((e) => e.cause === 'reload')!;
    assert.equal(reloadEvent.serialFrom, reloaded.serialFrom);
    assert.equal(reloadEvent.serialTo, reloaded.serialTo);
    loaded = true;
  });

  it('the audit export streams every event once, in order, over the API and the CLI alike', async () => {
    // Over 2,000 events: the reader thread sends them in several batches.
    const r = await fetch(`http://${LOOPBACK}:${z.httpPort}/api/v1/audit?zone=${ZONE}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/x-ndjson/);
    const viaApi = (await r.text()).trimEnd().split('\n').map((l) => JSON.parse(l) as { version: number; id: string });
    const head = headOf(await apiOk('GET', '/api/v1/zones'), ZONE);
    assert.deepEqual(viaApi.map((e) => e.version), Array.from({ length: Number(head.version) }, (_, i) => i + 1));
    const viaCli = (await cliOk(['audit', '--zone', ZONE])).trimEnd().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);
    assert.deepEqual(viaCli.slice(0, viaApi.length), viaApi.map((e) => e.id));
  });

  it(`export --serial N equals the AXFR taken at serial N, at ${CAPTURES} points during the load; so does GET as-of`, async () => {
    assert.ok(loaded, 'the load phase did not finish');
    const bySerial = new Map(captures.map((c) => [c.serial, c]));
    assert.ok(bySerial.size >= CAPTURES / 2, `the AXFRs fell on only ${bySerial.size} distinct serials`);
    assert.ok([...bySerial.keys()].some((s) => s < reloaded!.serialFrom) && [...bySerial.keys()].some((s) => s >= reloaded!.serialTo), 'captures on both sides of the reload');
    // Two exports at a time: each is a Node process replaying the store.
    const list = [...bySerial.values()];
    for (let i = 0; i < list.length; i += 2) {
      await Promise.all(list.slice(i, i + 2).map(async (c) => {
        assert.deepEqual(await exportAt(c.serial), c.lines, `export --serial ${c.serial} (AXFR taken after ${c.acked} acks)`);
      }));
    }
    // The same through the API, the zone named without its trailing dot.
    const c = list[Math.floor(list.length / 2)];
    const asOf = await apiOk('GET', `/api/v1/zones/${ZONE.slice(0, -1)}/as-of?serial=${c.serial}&format=json`);
    assert.equal(asOf.serial, c.serial);
    const records = arr(asOf.records, 'as-of records').map(String);
    assert.match(records[0], /\sSOA\s/, 'as-of lists the SOA first');
    assert.deepEqual(canonicalLines(records), c.lines, `GET as-of?serial=${c.serial}`);
  });

  it('blame lists exactly the changes that touched a name, oldest first, each with the key that made it', async (t) => {
    assert.ok(loaded, 'the load phase did not finish');
    // The name touched by the most updates, from at least two keys (with three keys chosen at
    // random per update, every name qualifies; the check is kept so that stays true).
    const touching = new Map<string, PlannedUpdate[]>();
    for (const u of planned.updates.flat()) for (const n of u.effects.keys()) touching.set(n, [...(touching.get(n) ?? []), u]);
    const [name, mine] = [...touching.entries()]
      .filter(([, us]) => new Set(us.map((u) => u.key)).size >= 2)
      .sort((a, b) => b[1].length - a[1].length)[0];
    // A worker sends its updates in index order, each after the last was acknowledged (that
    // is, durable): the store holds them in that order.
    mine.sort((a, b) => a.index - b.index);
    t.diagnostic(`blame ${name}: ${mine.length} updates, keys ${JSON.stringify(countBy(mine, (u) => u.key))}`);
    const initial = canonical(initialRecord(Number(/^w(\d+)-n(\d+)/.exec(name)![1]), Number(/^w(\d+)-n(\d+)/.exec(name)![2])));

    const check = (changes: Obj[], via: string): void => {
      // The creation made the name's first record; then each of its updates, in order.
      assert.equal(changes.length, 1 + mine.length, `${via}: ${changes.length} changes, want the creation and ${mine.length} updates`);
      assert.equal(changes[0].type, 'ZoneCreated', `${via}: the first change is the zone's creation`);
      assert.deepEqual(canonicalLines(arr(changes[0].addedRecords, `${via} creation addedRecords`).map(String)), [initial], `${via}: what the creation put at ${name}`);
      let last = 0;
      for (let i = 0; i < mine.length; i++) {
        const c = changes[i + 1];
        const u = mine[i];
        const at = `${via}: change ${i + 1} (update #${u.index} by worker ${u.worker})`;
        assert.equal(c.cause, 'update', at);
        assert.equal(keyName(obj(c.actor, `${at} actor`).key), u.key, `${at}: the signing key`);
        const serialTo = Number(c.serialTo);
        assert.ok(serialTo > last, `${at}: serialTo ${serialTo} after ${last}`);
        last = serialTo;
        const e = u.effects.get(name)!;
        assert.deepEqual(canonicalLines(arr(c.removedRecords, `${at} removedRecords`).map(String)), e.removed, `${at}: removed at ${name}`);
        assert.deepEqual(canonicalLines(arr(c.addedRecords, `${at} addedRecords`).map(String)), e.added, `${at}: added at ${name}`);
      }
    };

    const viaCli = jsonRows(await cliOk(['blame', '--zone', ZONE, '--name', name, '--json']), 'changes');
    check(viaCli, 'zonelog blame --json');
    const viaApi = await apiOk('GET', `/api/v1/zones/${ZONE}/blame?name=${encodeURIComponent(name)}`);
    assert.equal(keyName(viaApi.name), keyName(name));
    check(arr(viaApi.changes, 'blame changes').map((c, i) => obj(c, `changes[${i}]`)), 'GET blame');
    // Relative to the zone, the name means the same.
    const relative = await apiOk('GET', `/api/v1/zones/${ZONE}/blame?name=${encodeURIComponent(name.slice(0, -ZONE.length - 1))}`);
    assert.deepEqual(arr(relative.changes, 'blame changes').map((c) => obj(c, 'change').version), arr(viaApi.changes, 'blame changes').map((c) => obj(c, 'change').version));

    // With a type, only the changes to that RRset, and only its records.
    const txt = (lines: string[]): string[] => lines.filter((l) => l.split(' ')[3] === 'TXT');
    const txtChanges = mine.filter((u) => txt(u.effects.get(name)!.removed).length + txt(u.effects.get(name)!.added).length > 0);
    const viaType = arr((await apiOk('GET', `/api/v1/zones/${ZONE}/blame?name=${encodeURIComponent(name)}&type=TXT`)).changes, 'blame changes').map((c) => obj(c, 'change'));
    assert.deepEqual(
      viaType.map((c) => [keyName(obj(c.actor, 'actor').key), canonicalLines(arr(c.removedRecords, 'removedRecords').map(String)), canonicalLines(arr(c.addedRecords, 'addedRecords').map(String))]),
      txtChanges.map((u) => [u.key, txt(u.effects.get(name)!.removed), txt(u.effects.get(name)!.added)]),
      `GET blame?name=${name}&type=TXT`,
    );

    // The serials blame reports are those of the same versions in the full history, and
    // history --name picks out the same changes.
    const versions = viaCli.map((c) => Number(c.version));
    const all = new Map(jsonRows(await cliOk(['history', '--zone', ZONE, '--json']), 'changes').map((e) => [Number(e.version), e]));
    for (const c of viaCli) {
      const h = all.get(Number(c.version));
      assert.ok(h, `version ${String(c.version)} is in history`);
      assert.equal(h.serialTo, c.serialTo, `version ${String(c.version)}: serialTo in history and blame`);
      assert.equal(keyName(obj(h.actor, 'actor').key), keyName(obj(c.actor, 'actor').key));
      // Counts are the whole change's, the creation's every record included, not only the name's.
      assert.deepEqual([c.removed, c.added], [h.removed, h.added], `version ${String(c.version)}: removed and added in history and blame`);
    }
    const named = jsonRows(await cliOk(['history', '--zone', ZONE, '--name', name, '--json']), 'changes').map((e) => Number(e.version)).sort((a, b) => a - b);
    assert.deepEqual(named, [...versions].sort((a, b) => a - b), 'history --name lists the versions blame does');
  });

  it('a revert goes to a BIND secondary as an incremental transfer, and BIND then holds the zone as of the old serial', async (t) => {
    assert.ok(loaded, 'the load phase did not finish');
    assert.ok(bind);
    const head = await serialNow();
    await waitForSerial(bind.port, ZONE, head, 30_000);
    assert.deepEqual((await axfr(bind.port, ZONE)).lines, (await axfr(z.port, ZONE)).lines, 'BIND holds zonelog\'s zone before the revert');

    // The earliest capture before the reload: the revert undoes hundreds of updates and the reload.
    const old = captures.filter((c) => c.serial < reloaded!.serialFrom && c.serial > 1).sort((a, b) => a.serial - b.serial)[0] ?? captures.sort((a, b) => a.serial - b.serial)[0];
    const logFrom = readFileSync(bind.logFile, 'utf8').length;
    const version = Number(headOf(await apiOk('GET', '/api/v1/zones'), ZONE).version);
    const t0 = performance.now();
    const r = await apiOk('POST', `/api/v1/zones/${ZONE}/revert`, { serial: old.serial, user: 'alice', note: 'history e2e: back to an early serial' }, 201);
    assert.equal(r.revertTo, old.serial);
    assert.equal(r.serialFrom, head);
    const serialTo = Number(r.serialTo);
    assert.ok(serialTo > head, `the revert's serial ${serialTo} is above ${head}`);
    assert.equal(Number(r.version), version + 1, 'the revert is one new version');
    assert.equal(await serialNow(), serialTo);
    firstRevert = { serialTo, revertTo: old.serial };

    await waitForSerial(bind.port, ZONE, serialTo, 45_000);
    t.diagnostic(`revert to serial ${old.serial} (as serial ${serialTo}, -${String(r.removed)} +${String(r.added)}) at BIND after ${Math.round(performance.now() - t0)} ms`);
    const log = readFileSync(bind.logFile, 'utf8').slice(logFrom);
    assert.match(log, new RegExp(`transfer of '${ZONE.slice(0, -1).replace('.', '\\.')}/IN' from 127\\.0\\.0\\.1#\\d+: got incremental response`), `BIND took the revert by IXFR:\n${log.slice(-3000)}`);
    assert.doesNotMatch(log, /requesting AXFR|got nonincremental response/, 'no full transfer for the revert');
    // zonelog's own account (its log lines reach us up to 100 ms late): IXFR from the head to
    // the revert's serial, signed with BIND's key.
    const served = await waitUntil('zonelog to log the transfer of the revert', () => z.logLines().find((l) => l.msg === 'transfer out' && l.serialTo === serialTo), { timeoutMs: 5_000 });
    assert.deepEqual([served.kind, served.serialFrom, keyName(served.key)], ['ixfr', head, XFR.name], `zonelog's transfer of the revert: ${JSON.stringify(served)}`);

    // BIND's zone is the zone as of the old serial, but for the SOA serial.
    const atBind = await axfr(bind.port, ZONE);
    assert.equal(atBind.serial, serialTo);
    const asOld = await exportAt(old.serial);
    assert.deepEqual(asOld, old.lines, 'export --serial OLD is still the AXFR taken at OLD');
    assert.deepEqual(atBind.lines.map(withoutSerial), asOld.map(withoutSerial), 'BIND holds the zone as of the old serial');
    assert.ok(!atBind.lines.some((l) => l.startsWith(`${MARKER} `)), 'the reload\'s record is gone');
    // Nothing left between OLD and the revert, but the SOA.
    const d = await apiOk('GET', `/api/v1/zones/${ZONE}/diff?from=${old.serial}&to=${serialTo}`);
    const notSoa = (xs: unknown): string[] => arr(xs, 'diff records').map(String).filter((l) => !/\sSOA\s/.test(l));
    assert.deepEqual([notSoa(d.removed), notSoa(d.added)], [[], []], 'diff from OLD to the revert');

    // History names it: cause revert, the requesting user, the serial returned to.
    const change = await apiOk('GET', `/api/v1/zones/${ZONE}/changes/${String(r.version)}`);
    assert.equal(change.cause, 'revert');
    assert.equal(obj(change.actor, 'actor').user, 'alice');
    assert.equal(change.revertTo, old.serial);
    assert.equal(change.serialTo, serialTo);
    const reverts = jsonRows(await cliOk(['history', '--zone', ZONE, '--cause', 'revert', '--json']), 'changes');
    assert.deepEqual(reverts.map((e) => [Number(e.version), e.cause, obj(e.actor, 'actor').user]), [[Number(r.version), 'revert', 'alice']]);
    const listed = await apiOk('GET', `/api/v1/changes?zone=${ZONE}&cause=revert&user=alice`);
    assert.deepEqual(arr(listed.changes, 'changes').map((c) => obj(c, 'change').serialTo), [serialTo]);
    const shown = await cliOk(['show', '--zone', ZONE, '--version', String(r.version)]);
    assert.match(shown, /revert/);
    assert.match(shown, /alice/);

    // Reverting to the serial the zone already has the data of changes nothing.
    const same = await apiOk('POST', `/api/v1/zones/${ZONE}/revert`, { serial: serialTo, user: 'alice' });
    assert.equal(same.unchanged, true, JSON.stringify(same));
    assert.equal(await serialNow(), serialTo);
  });

  it('zonelog revert on the running server\'s store is served, and reaches BIND by IXFR', async (t) => {
    assert.ok(loaded, 'the load phase did not finish');
    assert.ok(bind);
    const head = await serialNow();
    // A serial after the reload this time: the reload's record comes back.
    const old = captures.filter((c) => c.serial >= reloaded!.serialTo && c.serial < head).sort((a, b) => a.serial - b.serial)[0];
    assert.ok(old, 'a capture after the reload');
    const logFrom = readFileSync(bind.logFile, 'utf8').length;
    const t0 = performance.now();
    // --config, as an operator would: it names the store and says the zone is a primary.
    const r = await zonelog(['revert', '--zone', ZONE, '--serial', String(old.serial), '--user', 'bob', '--note', 'history e2e: CLI revert', '--config', z.configFile], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `zonelog revert: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`reverted to serial ${old.serial}\\b`), 'zonelog revert says what it did');
    const bob = await apiOk('GET', `/api/v1/changes?zone=${ZONE}&user=bob`);
    const rows = arr(bob.changes, 'changes').map((c) => obj(c, 'change'));
    assert.deepEqual(rows.map((c) => [c.cause, c.revertTo, c.serialFrom]), [['revert', old.serial, head]], `bob's changes: ${JSON.stringify(rows)}`);
    const serialTo = Number(rows[0].serialTo);
    assert.ok(serialTo > head);
    await waitForSerial(z.port, ZONE, serialTo, 20_000);
    await waitForSerial(bind.port, ZONE, serialTo, 30_000);
    t.diagnostic(`CLI revert to serial ${old.serial} (as serial ${serialTo}) served by zonelog and at BIND after ${Math.round(performance.now() - t0)} ms`);
    const log = readFileSync(bind.logFile, 'utf8').slice(logFrom);
    assert.match(log, /got incremental response/, `BIND took the CLI revert by IXFR:\n${log.slice(-3000)}`);
    assert.doesNotMatch(log, /requesting AXFR|got nonincremental response/);
    const asOld = await exportAt(old.serial);
    assert.deepEqual(asOld, old.lines);
    assert.deepEqual((await axfr(bind.port, ZONE)).lines.map(withoutSerial), asOld.map(withoutSerial), 'BIND holds the zone as of the old serial');
    const reverts = jsonRows(await cliOk(['history', '--zone', ZONE, '--cause', 'revert', '--json']), 'changes');
    const listed = reverts.map((e) => [e.serialTo, e.revertTo, obj(e.actor, 'actor').user]).sort((a, b) => Number(a[0]) - Number(b[0]));
    assert.deepEqual(listed, [[firstRevert!.serialTo, firstRevert!.revertTo, 'alice'], [serialTo, old.serial, 'bob']], `revert events: ${JSON.stringify(reverts)}`);
  });

  it('bad requests get a 4xx with {error, code} and change nothing', async () => {
    assert.ok(loaded, 'the load phase did not finish');
    const before = { zones: await apiOk('GET', '/api/v1/zones'), serial: await serialNow(), mirror: await soaSerial(z.port, MIRROR) };
    const never = reloaded!.serialFrom + RELOAD_JUMP / 2;
    const cases: [string, string, unknown, number, string][] = [
      ['GET', '/api/v1/zones/nosuch.test/as-of?serial=1', undefined, 404, 'unknown-zone'],
      ['GET', '/api/v1/zones/nosuch.test./blame?name=www', undefined, 404, 'unknown-zone'],
      ['POST', '/api/v1/zones/nosuch.test/revert', { serial: 1 }, 404, 'unknown-zone'],
      ['GET', `/api/v1/zones/${ZONE}/as-of?serial=${never}`, undefined, 404, 'unknown-serial'],
      ['GET', `/api/v1/zones/${ZONE}/as-of?serial=${before.serial + 1000}`, undefined, 404, 'unknown-serial'],
      ['POST', `/api/v1/zones/${ZONE}/revert`, { serial: never, user: 'mallory' }, 404, 'unknown-serial'],
      ['GET', `/api/v1/zones/${ZONE}/as-of?time=yesterdayish`, undefined, 400, 'bad-time'],
      ['GET', `/api/v1/changes?zone=${ZONE}&since=yesterdayish`, undefined, 400, 'bad-time'],
      ['POST', `/api/v1/zones/${ZONE}/revert`, { serial: 'twelve' }, 400, 'bad-parameter'],
      ['GET', `/api/v1/zones/${ZONE}/blame`, undefined, 400, 'bad-parameter'],
      ['POST', `/api/v1/zones/${MIRROR}/revert`, { serial: 7, user: 'mallory' }, 409, 'secondary-zone'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await api(method, path, body);
      const what = `${method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`}`;
      assert.equal(r.status, status, `${what}: ${r.status} ${r.text.slice(0, 500)}`);
      assert.match(r.contentType, /application\/json/, `${what}: content-type`);
      const e = obj(r.json, `${what} body`);
      assert.equal(e.code, code, `${what}: ${r.text}`);
      assert.ok(typeof e.error === 'string' && e.error.trim() !== '' && !e.error.includes('\n'), `${what}: error is one line: ${r.text}`);
    }
    assert.deepEqual(await apiOk('GET', '/api/v1/zones'), before.zones, 'no zone\'s version or serial moved');
    assert.equal(await serialNow(), before.serial);
    assert.equal(await soaSerial(z.port, MIRROR), before.mirror);
    assert.equal(headOf(before.zones, MIRROR).role, 'secondary');
    const mallory = await apiOk('GET', `/api/v1/changes?zone=${ZONE}&user=mallory`);
    assert.deepEqual(mallory.changes, [], 'no refused revert left a change');
  });

  it('the CLI refuses an unknown zone, a bad time and a revert of a secondary zone, saying why', async (t) => {
    assert.ok(loaded, 'the load phase did not finish');
    const versionBefore = headOf(await apiOk('GET', '/api/v1/zones'), ZONE).version;
    t.diagnostic(assertClearRefusal(await cli(['history', '--zone', 'nosuch.test']), /nosuch\.test/, 'history --zone nosuch.test'));
    t.diagnostic(assertClearRefusal(await cli(['export', '--zone', 'nosuch.test']), /nosuch\.test/, 'export --zone nosuch.test'));
    t.diagnostic(assertClearRefusal(await cli(['blame', '--zone', 'nosuch.test', '--name', 'www']), /nosuch\.test/, 'blame --zone nosuch.test'));
    t.diagnostic(assertClearRefusal(await cli(['export', '--zone', ZONE, '--at', 'yesterdayish']), /yesterdayish/, 'export --at yesterdayish'));
    t.diagnostic(assertClearRefusal(await cli(['history', '--zone', ZONE, '--since', 'yesterdayish']), /yesterdayish/, 'history --since yesterdayish'));
    t.diagnostic(assertClearRefusal(await cli(['revert', '--zone', MIRROR, '--serial', '7', '--user', 'mallory', '--config', z.configFile]), /secondary/i, `revert --zone ${MIRROR}`));
    assert.equal(headOf(await apiOk('GET', '/api/v1/zones'), ZONE).version, versionBefore, 'nothing was appended');
  });
});

/** A zone's entry in GET /api/v1/zones. */
function headOf(reply: Obj, zone: string): Obj {
  const entry = arr(reply.zones, 'zones').map((x) => obj(x, 'zone entry')).find((e) => keyName(e.zone) === keyName(zone));
  assert.ok(entry, `${zone} is not in GET /api/v1/zones: ${JSON.stringify(reply).slice(0, 500)}`);
  return entry;
}
