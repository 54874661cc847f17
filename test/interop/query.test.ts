// Query answering of `zonelog serve`, checked with real dig and kdig, a raw TCP client, and side by side with BIND.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LOOPBACK, dig, freePort, kdig, startBind, type PeerHandle } from '../../infra/peers.ts';
import { exchangeUdp } from '../../shared/dns/client.ts';
import { Class, Opcode, Rcode, Type, rcodeName, typeName } from '../../shared/dns/constants.ts';
import { decodeMessage, emptyMessage, encodeMessage, type Decoded, type Message } from '../../shared/dns/message.ts';
import { rdataToText } from '../../shared/dns/rdata.ts';
import { FrameDecoder, frame } from '../../shared/dns/tcp.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';

const ZONE = 'answers.test.';
const SIBLING = 'sibling.test.';
const ZONE_FILE = fileURLToPath(new URL('../fixtures/serve/answers.zone', import.meta.url));
const SIBLING_FILE = fileURLToPath(new URL('../fixtures/serve/answers-sibling.zone', import.meta.url));
const IPV6 = '::1';

// The negative-answer SOA of each zone, with TTL min(SOA TTL, MINIMUM): 300 comes from MINIMUM in
// answers.zone, 120 from the SOA's own TTL in answers-sibling.zone.
const NEG_SOA = 'answers.test. 300 SOA ns1.answers.test. hostmaster.answers.test. 2024010101 7200 900 1209600 300';
const SIBLING_NEG_SOA = 'sibling.test. 120 SOA ns1.answers.test. hostmaster.answers.test. 7 7200 900 1209600 900';

// ------------------------------------------------------------------ running dig and kdig

type Tool = 'dig' | 'kdig';
const TOOLS: Tool[] = ['dig', 'kdig'];

interface QueryOptions {
  host?: string;
  tcp?: boolean;
  /** false: no OPT at all; a number: that EDNS version. Default: EDNS 0. */
  edns?: false | number;
  /** The advertised UDP payload size; default 1232. */
  bufsize?: number;
  dnssec?: boolean;
}

/** One record as both tools print it: owner lowercased, TTL, type mnemonic, rdata text. */
interface Rec {
  owner: string;
  ttl: number;
  type: string;
  rdata: string;
}

/** A response as dig or kdig showed it, in one shape for both. */
interface Reply {
  tool: Tool;
  rcode: string;
  flags: Set<string>;
  question: { name: string; type: string }[];
  edns: { version: number; udp: number; do: boolean } | null;
  answer: Rec[];
  authority: Rec[];
  /** Without the OPT pseudo-record, which is in `edns`. */
  additional: Rec[];
  raw: string;
}

// dig splits a long DS digest at 56 hex digits and kdig does not.
function normalizeRdata(type: string, rdata: string): string {
  const t = rdata.trim();
  if (type === 'DS') {
    const f = t.split(/\s+/);
    return [...f.slice(0, 3), f.slice(3).join('')].join(' ');
  }
  return t;
}

function recText(r: Rec): string {
  return `${r.owner} ${r.ttl} ${r.type} ${r.rdata}`;
}

function digArgs(name: string, type: string, port: number, o: QueryOptions): string[] {
  // +noednsnegotiation: dig would otherwise answer BADVERS itself by retrying with version 0.
  const args = ['+norec', '+time=2', '+tries=1', '+nocookie', '+ignore', '+noednsnegotiation', '+noall', '+comments', '+question', '+answer', '+authority', '+additional'];
  // +notcp spelled out: dig asks ANY over TCP unless told otherwise.
  args.push(o.tcp ? '+tcp' : '+notcp');
  if (o.edns === false) args.push('+noedns');
  else args.push(`+edns=${o.edns ?? 0}`, `+bufsize=${o.bufsize ?? 1232}`);
  if (o.dnssec) args.push('+dnssec');
  return [...args, `@${o.host ?? LOOPBACK}`, '-p', String(port), name, type];
}

function kdigArgs(name: string, type: string, port: number, o: QueryOptions): string[] {
  // kdig sends no OPT unless asked, so EDNS is always spelled out to match dig's default.
  const args = ['+norec', '+json', '+timeout=2', '+retry=0', '+ignore'];
  args.push(o.tcp ? '+tcp' : '+notcp');
  if (o.edns === false) args.push('+noedns');
  else args.push(`+edns=${o.edns ?? 0}`, `+bufsize=${o.bufsize ?? 1232}`);
  if (o.dnssec) args.push('+dnssec');
  return [...args, `@${o.host ?? LOOPBACK}`, '-p', String(port), name, type];
}

/** Parses dig's `+noall +comments +question +answer +authority +additional` output. */
function parseDig(out: string): Reply {
  const reply: Reply = { tool: 'dig', rcode: '', flags: new Set(), question: [], edns: null, answer: [], authority: [], additional: [], raw: out };
  let section: Rec[] | 'question' | null = null;
  for (const line of out.split('\n')) {
    const header = /->>HEADER<<- opcode: [^,]+, status: (\w+), id: \d+/.exec(line);
    if (header) {
      reply.rcode = header[1];
      continue;
    }
    const flags = /^;; flags:([^;]*);/.exec(line);
    if (flags) {
      reply.flags = new Set(flags[1].trim().split(/\s+/).filter((f) => f !== ''));
      continue;
    }
    const edns = /^; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)/.exec(line);
    if (edns) {
      reply.edns = { version: Number(edns[1]), do: /\bdo\b/.test(edns[2]), udp: Number(edns[3]) };
      continue;
    }
    if (line.startsWith(';; QUESTION SECTION:')) section = 'question';
    else if (line.startsWith(';; ANSWER SECTION:')) section = reply.answer;
    else if (line.startsWith(';; AUTHORITY SECTION:')) section = reply.authority;
    else if (line.startsWith(';; ADDITIONAL SECTION:')) section = reply.additional;
    else if (line.trim() === '') section = null;
    else if (section === 'question') {
      const q = /^;(\S+)\s+\S+\s+(\S+)\s*$/.exec(line);
      if (q) reply.question.push({ name: q[1], type: q[2] });
    } else if (section !== null && !line.startsWith(';')) {
      const m = /^(\S+)\s+(\d+)\s+\S+\s+(\S+)\s*(.*)$/.exec(line);
      if (!m) throw new Error(`dig printed a record line this test cannot read: ${line}`);
      section.push({ owner: m[1].toLowerCase(), ttl: Number(m[2]), type: m[3], rdata: normalizeRdata(m[3], m[4]) });
    }
  }
  if (reply.rcode === '') throw new Error(`dig printed no response header:\n${out}`);
  return reply;
}

interface KdigRR {
  NAME: string;
  TYPE: number;
  TYPEname?: string;
  CLASS: number;
  TTL: number;
  RDLENGTH: number;
  RDATAHEX?: string;
  [rdata: string]: unknown;
}

/** Parses kdig's `+json` output (RFC 8427 names). The extended RCODE bits live in the OPT TTL. */
function parseKdigJson(out: string): Reply {
  const start = out.indexOf('{');
  if (start < 0) throw new Error(`kdig printed no JSON:\n${out}`);
  const j = JSON.parse(out.slice(start)) as Record<string, unknown>;
  const rec = (rr: KdigRR): Rec => {
    const type = rr.TYPEname ?? typeName(rr.TYPE);
    const text = rr[`rdata${type}`];
    const rdata = typeof text === 'string' ? text : `\\# ${rr.RDLENGTH} ${rr.RDATAHEX ?? ''}`;
    return { owner: rr.NAME.toLowerCase(), ttl: rr.TTL, type, rdata: normalizeRdata(type, rdata) };
  };
  const list = (k: string): KdigRR[] => (Array.isArray(j[k]) ? (j[k] as KdigRR[]) : []);
  const opt = list('additionalRRs').find((rr) => rr.TYPE === Type.OPT);
  const flags = new Set(['QR', 'AA', 'TC', 'RD', 'RA', 'AD', 'CD'].filter((f) => j[f] === 1).map((f) => f.toLowerCase()));
  const ttl = opt ? opt.TTL >>> 0 : 0;
  return {
    tool: 'kdig',
    rcode: rcodeName((j.RCODE as number) | ((ttl >>> 24) << 4)),
    flags,
    question: typeof j.QNAME === 'string' ? [{ name: j.QNAME, type: String(j.QTYPEname ?? typeName(j.QTYPE as number)) }] : [],
    edns: opt ? { version: (ttl >>> 16) & 0xff, do: (ttl & 0x8000) !== 0, udp: opt.CLASS } : null,
    answer: list('answerRRs').map(rec),
    authority: list('authorityRRs').map(rec),
    additional: list('additionalRRs').filter((rr) => rr.TYPE !== Type.OPT).map(rec),
    raw: out,
  };
}

async function ask(tool: Tool, port: number, name: string, type: string, o: QueryOptions = {}): Promise<Reply> {
  const args = (tool === 'dig' ? digArgs : kdigArgs)(name, type, port, o);
  const r = await (tool === 'dig' ? dig : kdig)(args, { timeoutMs: 10_000 });
  const cmd = `${tool} ${args.join(' ')}`;
  if (r.code !== 0) throw new Error(`${cmd} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  try {
    return tool === 'dig' ? parseDig(r.stdout) : parseKdigJson(r.stdout);
  } catch (e) {
    throw new Error(`${cmd}: ${(e as Error).message}`);
  }
}

/** Runs `work` on every item, at most `limit` at a time: dozens of dig processes at once would starve 2 cores. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The same question through dig and kdig. */
function askBoth(port: number, name: string, type: string, o: QueryOptions = {}): Promise<Reply[]> {
  return Promise.all(TOOLS.map((t) => ask(t, port, name, type, o)));
}

function texts(recs: Rec[]): string[] {
  return recs.map(recText).sort();
}

/** Compares a section with records written as `owner ttl TYPE rdata`, owner in lower case. */
function expectRecords(actual: Rec[], expected: string[], what: string, r: Reply): void {
  assert.deepEqual(texts(actual), [...expected].sort(), `${r.tool}: ${what}\n${r.raw}`);
}

/** The RRsets of a section in order of first appearance, as `owner TYPE`. */
function rrsetOrder(recs: Rec[]): string[] {
  const seen: string[] = [];
  for (const r of recs) {
    const k = `${r.owner} ${r.type}`;
    if (!seen.includes(k)) seen.push(k);
  }
  return seen;
}

interface Expect {
  rcode: string;
  aa: boolean;
  answer: string[];
  /** When given, the answer's RRsets must come in this order (a CNAME chain is read front to back). */
  order?: string[];
  authority?: string[];
  additional?: string[];
}

function check(r: Reply, e: Expect): void {
  assert.equal(r.rcode, e.rcode, `${r.tool}: rcode\n${r.raw}`);
  assert.equal(r.flags.has('aa'), e.aa, `${r.tool}: AA flag\n${r.raw}`);
  assert.ok(r.flags.has('qr'), `${r.tool}: QR flag\n${r.raw}`);
  assert.ok(!r.flags.has('tc'), `${r.tool}: TC flag on an answer that fits\n${r.raw}`);
  expectRecords(r.answer, e.answer, 'answer section', r);
  if (e.order) assert.deepEqual(rrsetOrder(r.answer), e.order, `${r.tool}: answer RRset order\n${r.raw}`);
  if (e.authority) expectRecords(r.authority, e.authority, 'authority section', r);
  if (e.additional) expectRecords(r.additional, e.additional, 'additional section', r);
}

// ------------------------------------------------------------------ raw wire

function query(id: number, name: string, type: number, fields: Partial<Message> = {}): Buffer {
  return encodeMessage(emptyMessage({ id, question: [{ name, type, class: Class.IN }], ...fields }));
}

function decoded(b: Uint8Array): Decoded {
  const r = decodeMessage(b);
  if (!r.ok) throw r.error;
  return r.value;
}

function waitClose(sock: Socket, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the server kept an idle TCP connection open for more than ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

/**
 * Sends every query framed in one TCP write and collects replies by ID until each has one,
 * the server closes, or time runs out. A reply with an unknown or repeated ID is a failure.
 */
function pipelined(host: string, port: number, queries: Buffer[], timeoutMs: number): Promise<Map<number, Decoded>> {
  const wanted = new Set(queries.map((q) => q.readUInt16BE(0)));
  return new Promise((resolve, reject) => {
    const replies = new Map<number, Decoded>();
    const frames = new FrameDecoder();
    const sock = connect({ host, port });
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(replies);
    };
    const timer = setTimeout(() => finish(new Error(`only ${replies.size} of ${queries.length} pipelined queries answered in ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(Buffer.concat(queries.map(frame))));
    sock.on('data', (chunk) => {
      for (const m of frames.push(chunk)) {
        const d = decoded(m);
        if (!wanted.has(d.id)) return finish(new Error(`reply with ID ${d.id}, which no query had`));
        if (replies.has(d.id)) return finish(new Error(`two replies with ID ${d.id}`));
        replies.set(d.id, d);
        if (replies.size === queries.length) return finish(null);
      }
    });
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error(`server closed after ${replies.size} of ${queries.length} pipelined answers`)));
  });
}

/** A port free for UDP and TCP on both 127.0.0.1 and ::1, so one server can listen on both. */
async function dualStackPort(): Promise<number> {
  let lastError = '';
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    try {
      await new Promise<void>((resolve, reject) => {
        const s = createSocket('udp6');
        s.once('error', (e) => reject(e));
        s.bind(port, IPV6, () => s.close(() => resolve()));
      });
      await new Promise<void>((resolve, reject) => {
        const s = createServer();
        s.once('error', (e) => reject(e));
        s.listen({ port, host: IPV6, exclusive: true }, () => s.close(() => resolve()));
      });
      return port;
    } catch (e) {
      lastError = (e as Error).message;
    }
  }
  throw new Error(`::1 is not usable for a UDP+TCP listener on this machine (${lastError}); the IPv6 query test needs it`);
}

// ------------------------------------------------------------------ the suite

describe('zonelog serve answers queries', () => {
  let zl: ServerHandle;
  let bind: PeerHandle;
  let port: number;

  before(async () => {
    port = await dualStackPort();
    const zones = [{ name: ZONE, file: ZONE_FILE }, { name: SIBLING, file: SIBLING_FILE }];
    [zl, bind] = await Promise.all([
      startZonelog({
        zones,
        port,
        extra: { listen: [`${LOOPBACK}:${port}`, `[${IPV6}]:${port}`], 'tcp-idle-timeout': 1 },
      }),
      startBind({ zones: zones.map((z) => ({ ...z, role: 'primary' as const })) }),
    ]);
  });

  after(async () => {
    await Promise.all([zl?.stop(), bind?.stop()]);
  });

  describe('authoritative data', () => {
    it('answers existing data with AA and no NS in authority (minimal responses)', async () => {
      for (const r of await askBoth(port, `www.${ZONE}`, 'A')) {
        check(r, { rcode: 'NOERROR', aa: true, answer: ['www.answers.test. 3600 A 192.0.2.80'], authority: [], additional: [] });
      }
    });

    it('adds the in-zone address of an MX target to the additional section', async () => {
      for (const r of await askBoth(port, ZONE, 'MX')) {
        check(r, { rcode: 'NOERROR', aa: true, answer: ['answers.test. 3600 MX 10 mail.answers.test.'], authority: [], additional: ['mail.answers.test. 600 A 192.0.2.25'] });
      }
    });

    it('adds the in-zone addresses of an SRV target to the additional section', async () => {
      for (const r of await askBoth(port, `_sip._tcp.${ZONE}`, 'SRV')) {
        check(r, {
          rcode: 'NOERROR', aa: true, answer: ['_sip._tcp.answers.test. 3600 SRV 10 5 5060 www.answers.test.'], authority: [],
          additional: ['www.answers.test. 3600 A 192.0.2.80', 'www.answers.test. 3600 AAAA 2001:db8::80'],
        });
      }
    });

    it('never compresses the SRV target (RFC 2782)', async () => {
      const reply = await exchangeUdp(LOOPBACK, port, query(2782, `_sip._tcp.${ZONE}`, Type.SRV));
      const d = decoded(reply);
      assert.equal(d.answer.length, 1);
      // The rdata is found in the raw reply: priority, weight, port, then the full target name.
      const target = Buffer.from('\x03www\x07answers\x04test\x00', 'latin1');
      const rdata = Buffer.concat([Buffer.from([0, 10, 0, 5, 0x13, 0xc4]), target]);
      assert.ok(reply.includes(Buffer.concat([Buffer.from([0, rdata.length]), rdata])), `SRV rdata not found uncompressed in ${reply.toString('hex')}`);
    });

    it('adds the in-zone addresses of the apex nameservers to an NS answer', async () => {
      for (const r of await askBoth(port, ZONE, 'NS')) {
        check(r, {
          rcode: 'NOERROR', aa: true,
          answer: ['answers.test. 3600 NS ns1.answers.test.', 'answers.test. 3600 NS ns2.answers.test.'],
          additional: ['ns1.answers.test. 3600 A 192.0.2.1', 'ns2.answers.test. 3600 A 192.0.2.2', 'ns2.answers.test. 3600 AAAA 2001:db8::2'],
        });
      }
    });
  });

  describe('negative answers carry the SOA with TTL min(SOA TTL, MINIMUM)', () => {
    it('NXDOMAIN for a name that does not exist, SOA TTL from MINIMUM', async () => {
      for (const r of await askBoth(port, `nope.${ZONE}`, 'A')) {
        check(r, { rcode: 'NXDOMAIN', aa: true, answer: [], authority: [NEG_SOA] });
      }
    });

    it('NODATA (NOERROR, empty answer) for a type the name lacks', async () => {
      for (const r of await askBoth(port, `www.${ZONE}`, 'MX')) {
        check(r, { rcode: 'NOERROR', aa: true, answer: [], authority: [NEG_SOA] });
      }
    });

    it('takes the SOA record\'s own TTL when it is below MINIMUM', async () => {
      for (const r of await askBoth(port, `nope.${SIBLING}`, 'A')) check(r, { rcode: 'NXDOMAIN', aa: true, answer: [], authority: [SIBLING_NEG_SOA] });
      for (const r of await askBoth(port, `host.${SIBLING}`, 'TXT')) check(r, { rcode: 'NOERROR', aa: true, answer: [], authority: [SIBLING_NEG_SOA] });
    });
  });

  describe('CNAME chains inside the zone', () => {
    it('follows one CNAME to its target\'s data', async () => {
      for (const r of await askBoth(port, `alias.${ZONE}`, 'A')) {
        check(r, {
          rcode: 'NOERROR', aa: true,
          answer: ['alias.answers.test. 300 CNAME www.answers.test.', 'www.answers.test. 3600 A 192.0.2.80'],
          order: ['alias.answers.test. CNAME', 'www.answers.test. A'],
        });
      }
    });

    it('follows a three-hop chain, each link in order', async () => {
      for (const r of await askBoth(port, `hop1.${ZONE}`, 'AAAA')) {
        check(r, {
          rcode: 'NOERROR', aa: true,
          answer: ['hop1.answers.test. 3600 CNAME hop2.answers.test.', 'hop2.answers.test. 900 CNAME hop3.answers.test.', 'hop3.answers.test. 3600 CNAME www.answers.test.', 'www.answers.test. 3600 AAAA 2001:db8::80'],
          order: ['hop1.answers.test. CNAME', 'hop2.answers.test. CNAME', 'hop3.answers.test. CNAME', 'www.answers.test. AAAA'],
        });
      }
    });

    it('ends a chain whose last target lacks the type with NOERROR and the SOA (RFC 6604)', async () => {
      for (const r of await askBoth(port, `hop2.${ZONE}`, 'MX')) {
        check(r, {
          rcode: 'NOERROR', aa: true,
          answer: ['hop2.answers.test. 900 CNAME hop3.answers.test.', 'hop3.answers.test. 3600 CNAME www.answers.test.'],
          authority: [NEG_SOA],
        });
      }
    });

    it('answers a CNAME query with the CNAME itself, not chased', async () => {
      for (const r of await askBoth(port, `hop1.${ZONE}`, 'CNAME')) {
        check(r, { rcode: 'NOERROR', aa: true, answer: ['hop1.answers.test. 3600 CNAME hop2.answers.test.'] });
      }
    });

    it('stops at a target outside the zone with NOERROR', async () => {
      for (const r of await askBoth(port, `out.${ZONE}`, 'A')) {
        check(r, { rcode: 'NOERROR', aa: true, answer: ['out.answers.test. 3600 CNAME www.example.net.'] });
      }
    });

    it('answers NXDOMAIN with the chain when the in-zone target does not exist', async () => {
      for (const r of await askBoth(port, `dangling.${ZONE}`, 'A')) {
        check(r, { rcode: 'NXDOMAIN', aa: true, answer: ['dangling.answers.test. 3600 CNAME missing.answers.test.'], authority: [NEG_SOA] });
      }
    });
  });

  describe('DNAME (RFC 6672)', () => {
    it('answers with the DNAME, a CNAME synthesized with the DNAME\'s TTL, and the chased target', async () => {
      for (const r of await askBoth(port, `www.old.${ZONE}`, 'A')) {
        check(r, {
          rcode: 'NOERROR', aa: true,
          answer: ['old.answers.test. 1800 DNAME new.answers.test.', 'www.old.answers.test. 1800 CNAME www.new.answers.test.', 'www.new.answers.test. 3600 A 192.0.2.90'],
          order: ['old.answers.test. DNAME', 'www.old.answers.test. CNAME', 'www.new.answers.test. A'],
        });
      }
    });

    it('answers NXDOMAIN after the synthesized CNAME when the rewritten name does not exist', async () => {
      for (const r of await askBoth(port, `gone.old.${ZONE}`, 'A')) {
        check(r, {
          rcode: 'NXDOMAIN', aa: true,
          answer: ['old.answers.test. 1800 DNAME new.answers.test.', 'gone.old.answers.test. 1800 CNAME gone.new.answers.test.'],
          authority: [NEG_SOA],
        });
      }
    });

    it('answers a query for the DNAME owner itself with the DNAME', async () => {
      for (const r of await askBoth(port, `old.${ZONE}`, 'DNAME')) {
        check(r, { rcode: 'NOERROR', aa: true, answer: ['old.answers.test. 1800 DNAME new.answers.test.'] });
      }
    });
  });

  describe('delegation', () => {
    const REFERRAL = {
      rcode: 'NOERROR', aa: false, answer: [],
      authority: ['sub.answers.test. 3600 NS ns1.sub.answers.test.', 'sub.answers.test. 3600 NS ns.outside.example.'],
      additional: ['ns1.sub.answers.test. 3600 A 192.0.2.53', 'ns1.sub.answers.test. 3600 AAAA 2001:db8::53'],
    };

    it('refers a name below the cut to the child: NS in authority, glue in additional, no AA', async () => {
      for (const r of await askBoth(port, `www.sub.${ZONE}`, 'A')) check(r, REFERRAL);
    });

    it('refers a query for the NS at the cut as well, and even for the glue name', async () => {
      for (const r of await askBoth(port, `sub.${ZONE}`, 'NS')) check(r, REFERRAL);
      for (const r of await askBoth(port, `ns1.sub.${ZONE}`, 'A')) check(r, REFERRAL);
    });

    it('answers DS at the cut from the parent side, authoritatively', async () => {
      for (const r of await askBoth(port, `sub.${ZONE}`, 'DS')) {
        check(r, { rcode: 'NOERROR', aa: true, answer: ['sub.answers.test. 3600 DS 12345 13 2 2BB183AF5F22588179A53B0A98631FADB183AF5F22588179A53B0A98631FAD1A'] });
      }
    });
  });

  describe('wildcards (RFC 4592)', () => {
    it('synthesizes the answer with the query name as owner', async () => {
      for (const r of await askBoth(port, `anything.wild.${ZONE}`, 'A')) {
        check(r, { rcode: 'NOERROR', aa: true, answer: ['anything.wild.answers.test. 120 A 192.0.2.200'] });
      }
      for (const r of await askBoth(port, `two.labels.wild.${ZONE}`, 'TXT')) {
        check(r, { rcode: 'NOERROR', aa: true, answer: ['two.labels.wild.answers.test. 120 TXT "synthesized"'] });
      }
    });

    it('answers NODATA for a type the wildcard lacks', async () => {
      for (const r of await askBoth(port, `anything.wild.${ZONE}`, 'MX')) check(r, { rcode: 'NOERROR', aa: true, answer: [], authority: [NEG_SOA] });
    });

    it('lets an existing name win over the wildcard, for every type', async () => {
      for (const r of await askBoth(port, `host.wild.${ZONE}`, 'A')) check(r, { rcode: 'NOERROR', aa: true, answer: ['host.wild.answers.test. 3600 A 192.0.2.201'] });
      for (const r of await askBoth(port, `host.wild.${ZONE}`, 'TXT')) check(r, { rcode: 'NOERROR', aa: true, answer: [], authority: [NEG_SOA] });
    });

    it('does not apply the wildcard to an empty non-terminal: NODATA, not synthesized data', async () => {
      for (const r of await askBoth(port, `ent.wild.${ZONE}`, 'A')) check(r, { rcode: 'NOERROR', aa: true, answer: [], authority: [NEG_SOA] });
    });

    it('answers NXDOMAIN below an empty non-terminal, whose closest encloser has no wildcard', async () => {
      for (const r of await askBoth(port, `nope.ent.wild.${ZONE}`, 'A')) check(r, { rcode: 'NXDOMAIN', aa: true, answer: [], authority: [NEG_SOA] });
    });

    it('chases a wildcard CNAME, synthesized with the query name as owner', async () => {
      for (const r of await askBoth(port, `foo.cwild.${ZONE}`, 'A')) {
        check(r, {
          rcode: 'NOERROR', aa: true,
          answer: ['foo.cwild.answers.test. 240 CNAME www.answers.test.', 'www.answers.test. 3600 A 192.0.2.80'],
          order: ['foo.cwild.answers.test. CNAME', 'www.answers.test. A'],
        });
      }
    });
  });

  describe('ANY (RFC 8482)', () => {
    const WWW = ['www.answers.test. 3600 A 192.0.2.80', 'www.answers.test. 3600 AAAA 2001:db8::80', 'www.answers.test. 3600 TXT "web server"'];

    it('answers over UDP with exactly one whole RRset of the name', async () => {
      for (const r of await askBoth(port, `www.${ZONE}`, 'ANY')) {
        assert.equal(r.rcode, 'NOERROR', r.raw);
        assert.ok(r.flags.has('aa'), r.raw);
        const sets = rrsetOrder(r.answer);
        assert.equal(sets.length, 1, `${r.tool}: ANY over UDP gave ${sets.length} RRsets\n${r.raw}`);
        const type = r.answer[0].type;
        assert.deepEqual(texts(r.answer), WWW.filter((w) => w.split(' ')[2] === type), `${r.tool}: the RRset is not the zone's ${type} RRset\n${r.raw}`);
      }
    });

    it('answers over TCP with every RRset of the name', async () => {
      for (const r of await askBoth(port, `www.${ZONE}`, 'ANY', { tcp: true })) check(r, { rcode: 'NOERROR', aa: true, answer: WWW });
    });
  });

  describe('EDNS(0) (RFC 6891)', () => {
    it('answers an EDNS query with OPT: version 0, our UDP size 1232', async () => {
      for (const r of await askBoth(port, `www.${ZONE}`, 'A', { bufsize: 4096 })) {
        assert.deepEqual(r.edns, { version: 0, udp: 1232, do: false }, `${r.tool}\n${r.raw}`);
      }
    });

    it('echoes the DO bit', async () => {
      for (const r of await askBoth(port, `www.${ZONE}`, 'A', { dnssec: true })) {
        assert.equal(r.edns?.do, true, `${r.tool}\n${r.raw}`);
        check(r, { rcode: 'NOERROR', aa: true, answer: ['www.answers.test. 3600 A 192.0.2.80'] });
      }
    });

    it('adds no OPT to the answer of a query without one', async () => {
      for (const r of await askBoth(port, `www.${ZONE}`, 'A', { edns: false })) {
        assert.equal(r.edns, null, `${r.tool}\n${r.raw}`);
        check(r, { rcode: 'NOERROR', aa: true, answer: ['www.answers.test. 3600 A 192.0.2.80'] });
      }
    });

    it('answers EDNS version 1 with BADVERS, an OPT of version 0 and no data', async () => {
      for (const r of await askBoth(port, `www.${ZONE}`, 'A', { edns: 1 })) {
        assert.equal(r.rcode, 'BADVERS', `${r.tool}\n${r.raw}`);
        assert.equal(r.edns?.version, 0, `${r.tool}\n${r.raw}`);
        assert.deepEqual(r.answer, [], `${r.tool}\n${r.raw}`);
      }
    });
  });

  describe('truncation over UDP', () => {
    // The fixture's strings: a prefix naming the RRset and the record, padded with x to 200 characters.
    const txt = (owner: string, i: number) => `${owner}.answers.test. 3600 TXT "${`${owner}-${i}-`.padEnd(200, 'x')}"`;
    const MID = [0, 1, 2, 3].map((i) => txt('mid', i));
    const BIG = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => txt('big', i));

    function truncated(r: Reply, edns: boolean): void {
      assert.ok(r.flags.has('tc'), `${r.tool}: TC expected\n${r.raw}`);
      assert.equal(r.rcode, 'NOERROR', r.raw);
      assert.deepEqual([r.answer, r.authority, r.additional], [[], [], []], `${r.tool}: a truncated answer holds only the question and OPT\n${r.raw}`);
      assert.equal(r.edns !== null, edns, `${r.tool}: OPT present only when the query had one\n${r.raw}`);
      assert.equal(r.question.length, 1, r.raw);
    }

    it('sets TC when an answer over 512 octets meets a query without EDNS', async () => {
      for (const r of await askBoth(port, `mid.${ZONE}`, 'TXT', { edns: false })) truncated(r, false);
    });

    it('sends the same answer whole when the client offers 1232 octets', async () => {
      for (const r of await askBoth(port, `mid.${ZONE}`, 'TXT', { bufsize: 1232 })) check(r, { rcode: 'NOERROR', aa: true, answer: MID });
    });

    it('honours a client size between 512 and the answer\'s length', async () => {
      for (const r of await askBoth(port, `mid.${ZONE}`, 'TXT', { bufsize: 700 })) truncated(r, true);
    });

    it('caps a client size of 4096 at 1232: a larger answer is truncated', async () => {
      for (const r of await askBoth(port, `big.${ZONE}`, 'TXT', { bufsize: 4096 })) {
        truncated(r, true);
        assert.equal(r.edns?.udp, 1232, r.raw);
      }
    });

    it('sends the larger answer whole over TCP', async () => {
      for (const r of await askBoth(port, `big.${ZONE}`, 'TXT', { tcp: true })) check(r, { rcode: 'NOERROR', aa: true, answer: BIG });
    });
  });

  describe('TCP (RFC 7766)', () => {
    // Each query is recognisable by its ID alone, so a reply to the wrong query is caught.
    type PipeCase = { name: string; type: number; rcode: number; answer?: string[]; count?: number };
    const CASES: PipeCase[] = [
      { name: `www.${ZONE}`, type: Type.A, rcode: Rcode.NOERROR, answer: ['www.answers.test. A 192.0.2.80'] },
      { name: `WWW.${ZONE}`, type: Type.AAAA, rcode: Rcode.NOERROR, answer: ['www.answers.test. AAAA 2001:db8::80'] },
      { name: `mail.${ZONE}`, type: Type.A, rcode: Rcode.NOERROR, answer: ['mail.answers.test. A 192.0.2.25'] },
      { name: `ns2.${ZONE}`, type: Type.AAAA, rcode: Rcode.NOERROR, answer: ['ns2.answers.test. AAAA 2001:db8::2'] },
      { name: `alias.${ZONE}`, type: Type.A, rcode: Rcode.NOERROR, answer: ['alias.answers.test. CNAME www.answers.test.', 'www.answers.test. A 192.0.2.80'] },
      { name: `nope.${ZONE}`, type: Type.A, rcode: Rcode.NXDOMAIN, answer: [] },
      { name: `x.wild.${ZONE}`, type: Type.A, rcode: Rcode.NOERROR, answer: ['x.wild.answers.test. A 192.0.2.200'] },
      { name: `host.${SIBLING}`, type: Type.A, rcode: Rcode.NOERROR, answer: ['host.sibling.test. A 198.51.100.7'] },
      { name: 'www.example.org.', type: Type.A, rcode: Rcode.REFUSED, answer: [] },
    ];
    // Every tenth query has a long answer, so long and short frames interleave in the reply stream.
    const bigCase: PipeCase = { name: `big.${ZONE}`, type: Type.TXT, rcode: Rcode.NOERROR, count: 8 };

    it('answers many queries pipelined in one write, each ID with its own answer, in any order', async () => {
      const queries: Buffer[] = [];
      const expect = new Map<number, PipeCase>();
      for (let i = 0; i < 60; i++) {
        const c = i % 10 === 9 ? bigCase : CASES[i % CASES.length];
        const id = 1000 + i * 7;
        queries.push(query(id, c.name, c.type));
        expect.set(id, c);
      }
      const replies = await pipelined(LOOPBACK, port, queries, 10_000);
      for (const [id, c] of expect) {
        const d = replies.get(id)!;
        const what = `ID ${id} (${c.name} ${typeName(c.type)})`;
        assert.ok(d.qr && !d.tc, `${what}: flags`);
        assert.deepEqual(d.question, [{ name: c.name, type: c.type, class: Class.IN }], `${what}: question`);
        assert.equal(d.rcode, c.rcode, `${what}: rcode ${rcodeName(d.rcode)}`);
        if (c.answer === undefined) assert.equal(d.answer.length, c.count, what);
        else assert.deepEqual(d.answer.map((rr) => `${rr.name.toLowerCase()} ${typeName(rr.type)} ${rdataToText(rr.type, rr.rdata)}`).sort(), [...c.answer].sort(), what);
      }
    });

    it('closes a connection left idle past tcp-idle-timeout (1 s here), not before', async () => {
      const sock = connect({ host: LOOPBACK, port });
      const frames = new FrameDecoder();
      const answered = new Promise<Buffer>((resolve) => sock.on('data', (c) => {
        const m = frames.push(c);
        if (m.length > 0) resolve(m[0]);
      }));
      sock.on('error', () => {});
      sock.write(frame(query(77, `www.${ZONE}`, Type.A)));
      const reply = decoded(await answered);
      assert.equal(reply.id, 77);
      const idleMs = await waitClose(sock, 5_000);
      assert.ok(idleMs >= 500, `closed ${idleMs} ms after the answer, before the idle timeout`);
      assert.ok(idleMs <= 3_000, `closed only ${idleMs} ms after the answer`);
    });

    it('closes a connection that never sends a query', async () => {
      const sock = connect({ host: LOOPBACK, port });
      sock.on('error', () => {});
      await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
      const idleMs = await waitClose(sock, 5_000);
      assert.ok(idleMs >= 500 && idleMs <= 3_000, `closed after ${idleMs} ms`);
    });
  });

  describe('refusals and errors', () => {
    it('refuses a name outside its zones, without AA', async () => {
      for (const name of ['www.example.org.', 'test.']) {
        for (const r of await askBoth(port, name, 'A')) check(r, { rcode: 'REFUSED', aa: false, answer: [] });
      }
    });

    it('answers FORMERR to a query with two questions', async () => {
      const msg = encodeMessage(emptyMessage({ id: 4242, question: [{ name: `www.${ZONE}`, type: Type.A, class: Class.IN }, { name: `mail.${ZONE}`, type: Type.A, class: Class.IN }] }));
      const reply = decoded(await exchangeUdp(LOOPBACK, port, msg));
      assert.equal(reply.id, 4242);
      assert.ok(reply.qr);
      assert.equal(rcodeName(reply.rcode), 'FORMERR');
    });

    it('answers FORMERR to a query whose question is cut short', async () => {
      const whole = query(4343, `www.${ZONE}`, Type.A);
      const reply = decoded(await exchangeUdp(LOOPBACK, port, whole.subarray(0, whole.length - 3)));
      assert.equal(reply.id, 4343);
      assert.ok(reply.qr);
      assert.equal(rcodeName(reply.rcode), 'FORMERR');
    });

    it('answers NOTIMP to an unknown opcode', async () => {
      const r = await dig(['+norec', '+time=2', '+tries=1', '+nocookie', '+opcode=3', `@${LOOPBACK}`, '-p', String(port), `www.${ZONE}`, 'A']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(parseDig(r.stdout).rcode, 'NOTIMP', r.stdout);
      // STATUS (2) is assigned but not something an authoritative server implements.
      const raw = decoded(await exchangeUdp(LOOPBACK, port, query(4444, `www.${ZONE}`, Type.A, { opcode: Opcode.STATUS })));
      assert.equal(raw.id, 4444);
      assert.equal(rcodeName(raw.rcode), 'NOTIMP');
    });
  });

  describe('0x20: names match case-insensitively and the question is echoed exactly', () => {
    // dig only: kdig lowercases every name it sends, so it cannot ask in mixed case.
    it('dig sees its own spelling in the question, and the data of the name', async () => {
      const cases: [string, Expect][] = [
        ['wWw.AnSwErS.TeSt.', { rcode: 'NOERROR', aa: true, answer: ['www.answers.test. 3600 A 192.0.2.80'] }],
        ['NoPe.AnSwErS.tEsT.', { rcode: 'NXDOMAIN', aa: true, answer: [], authority: [NEG_SOA] }],
        ['ANYTHING.Wild.answers.TEST.', { rcode: 'NOERROR', aa: true, answer: ['anything.wild.answers.test. 120 A 192.0.2.200'] }],
      ];
      // Records are compared ignoring case: how names in the data are spelled is not part of the
      // 0x20 contract (a server may compress them against the question's spelling).
      const lower = (recs: Rec[]): Rec[] => recs.map((x) => ({ ...x, rdata: x.rdata.toLowerCase() }));
      for (const [name, e] of cases) {
        const r = await ask('dig', port, name, 'A');
        assert.deepEqual(r.question, [{ name, type: 'A' }], r.raw);
        check({ ...r, answer: lower(r.answer), authority: lower(r.authority) }, e);
      }
    });

    it('copies the question octets unchanged into the reply', async () => {
      const q = query(5151, 'HoP1.aNsWeRs.TEST.', Type.A);
      const reply = await exchangeUdp(LOOPBACK, port, q);
      // The question starts right after the 12-octet header and runs to the end of the query.
      assert.deepEqual(reply.subarray(12, q.length), q.subarray(12));
      assert.equal(decoded(reply).answer.length, 4);
    });
  });

  describe('IPv6', () => {
    it('answers over UDP and TCP on [::1]', async () => {
      for (const tcp of [false, true]) {
        for (const r of await askBoth(port, `www.${ZONE}`, 'AAAA', { host: IPV6, tcp })) {
          check(r, { rcode: 'NOERROR', aa: true, answer: ['www.answers.test. 3600 AAAA 2001:db8::80'] });
        }
      }
    });
  });

  describe('the same answers as BIND', () => {
    // Compared: RCODE, AA, the answer section as a set, and for negative answers the SOA in authority
    // (BIND also gives it TTL min(SOA TTL, MINIMUM)). Not compared, because BIND differs on purpose:
    // ANY over UDP (BIND sends every RRset, minimal-any is off by default), the rest of authority and
    // additional (BIND adds the apex NS to positive answers without minimal-responses), and cookies.
    const PAIRS: [string, string][] = [
      [`www.${ZONE}`, 'A'], [`www.${ZONE}`, 'TXT'], [ZONE, 'SOA'], [ZONE, 'NS'], [ZONE, 'MX'], [`mail.${ZONE}`, 'A'], [`_sip._tcp.${ZONE}`, 'SRV'],
      [`nope.${ZONE}`, 'A'], [`www.${ZONE}`, 'MX'], [`nope.${SIBLING}`, 'A'], [`host.${SIBLING}`, 'TXT'], [`host.${SIBLING}`, 'A'],
      [`alias.${ZONE}`, 'A'], [`hop1.${ZONE}`, 'A'], [`hop1.${ZONE}`, 'TXT'], [`hop2.${ZONE}`, 'MX'], [`hop1.${ZONE}`, 'CNAME'],
      [`out.${ZONE}`, 'A'], [`dangling.${ZONE}`, 'A'], [`dangling.${ZONE}`, 'CNAME'],
      [`www.old.${ZONE}`, 'A'], [`gone.old.${ZONE}`, 'A'], [`old.${ZONE}`, 'DNAME'], [`old.${ZONE}`, 'A'],
      [`www.sub.${ZONE}`, 'A'], [`sub.${ZONE}`, 'NS'], [`sub.${ZONE}`, 'DS'], [`ns1.sub.${ZONE}`, 'AAAA'],
      [`a.wild.${ZONE}`, 'A'], [`a.b.wild.${ZONE}`, 'TXT'], [`a.wild.${ZONE}`, 'MX'], [`host.wild.${ZONE}`, 'TXT'],
      [`ent.wild.${ZONE}`, 'A'], [`nope.ent.wild.${ZONE}`, 'A'], [`wild.${ZONE}`, 'A'], [`*.wild.${ZONE}`, 'A'], [`foo.cwild.${ZONE}`, 'A'],
      [`mid.${ZONE}`, 'TXT'], ['www.example.org.', 'A'],
    ];

    function comparable(r: Reply): { rcode: string; aa: boolean; answer: string[]; negativeSoa: string[] } {
      const negative = r.answer.length === 0 || r.rcode === 'NXDOMAIN';
      return {
        rcode: r.rcode,
        aa: r.flags.has('aa'),
        answer: texts(r.answer),
        negativeSoa: negative && r.flags.has('aa') ? texts(r.authority.filter((a) => a.type === 'SOA')) : [],
      };
    }

    for (const tool of TOOLS) {
      it(`gives the answers BIND gives, seen through ${tool}`, async () => {
        const diffs: string[] = [];
        await eachLimited(PAIRS, 4, async ([name, type]) => {
          const [ours, theirs] = await Promise.all([ask(tool, port, name, type), ask(tool, bind.port, name, type)]);
          const a = comparable(ours);
          const b = comparable(theirs);
          try {
            assert.deepEqual(a, b);
          } catch {
            diffs.push(`${name} ${type}:\n  zonelog ${JSON.stringify(a)}\n  BIND    ${JSON.stringify(b)}`);
          }
        });
        assert.deepEqual(diffs, [], diffs.join('\n'));
      });
    }

    it('answers ANY over TCP with the same RRsets as BIND', async () => {
      // Over TCP RFC 8482 asks for no reduction, so there the two must agree.
      for (const tool of TOOLS) {
        const [ours, theirs] = await Promise.all([ask(tool, port, ZONE, 'ANY', { tcp: true }), ask(tool, bind.port, ZONE, 'ANY', { tcp: true })]);
        assert.deepEqual(comparable(ours), comparable(theirs));
      }
    });
  });
});
