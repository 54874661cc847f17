// Malformed packets never crash `zonelog serve`: 100,000 mutations of real captures over UDP, thousands over TCP, then it still answers.
//
// The packets come from a seeded PRNG and never depend on the server's replies, so a run is
// reproduced by its seed: ZONELOG_FUZZ_SEED=N (printed at the start). ZONELOG_FUZZ_COUNT
// lowers the UDP packet count for a quick local run; CI uses the default.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { LOOPBACK, dig, soaSerial } from '../../infra/peers.ts';
import { Opcode, Rcode, Type, rcodeName } from '../../shared/dns/constants.ts';
import { decodeMessage } from '../../shared/dns/message.ts';
import { FrameDecoder, frame } from '../../shared/dns/tcp.ts';
import { wireFixtures } from '../support/fixtures.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';
import { addressesOf, query, record, sendUpdate, tsigKey } from '../support/updates.ts';

const SEED = Number(process.env.ZONELOG_FUZZ_SEED ?? 20240917) >>> 0 || 1;
const UDP_PACKETS = Number(process.env.ZONELOG_FUZZ_COUNT ?? 100_000);
const TCP_PACKETS = 3_000;
const UDP_SOCKETS = 16;
const BATCH = 64;
// A batch is over when all its packets are answered, or nothing came for IDLE_MS, or after MAX_WAIT_MS:
// dropped packets (a legitimate outcome) then cost little, and the loop is bounded by construction.
const IDLE_MS = 15;
const MAX_WAIT_MS = 100;
const UDP_DEADLINE_MS = 180_000;
const TCP_DEADLINE_MS = 60_000;

// Any RCODE a correct server may give some request. SERVFAIL is not here: an authoritative
// server with its zones loaded has no reason to fail, so SERVFAIL means an internal error.
const ALLOWED = new Set<number>([
  Rcode.NOERROR, Rcode.FORMERR, Rcode.NXDOMAIN, Rcode.NOTIMP, Rcode.REFUSED, Rcode.YXDOMAIN,
  Rcode.YXRRSET, Rcode.NXRRSET, Rcode.NOTAUTH, Rcode.NOTZONE, Rcode.BADVERS,
]);

const KEY = { name: 'fuzz-key', algorithm: 'hmac-sha256', secret: createHash('sha256').update('zonelog fuzz test key').digest('base64') };
const ZONE = 'example.test.';

// The zone the captures were taken against, with every answer kind the responder has, so that
// mutated queries that still parse reach referrals, CNAME and DNAME chasing and wildcards. The
// TXT RRset at www is over 64 KB: too big for UDP (TC) and for one TCP message.
const EXAMPLE_ZONE = `$ORIGIN example.test.
$TTL 3600
@         SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300
          NS    ns1
          NS    ns2
          MX    10 mail
          MX    20 mx2
          TXT   "v=spf1 mx -all"
          CAA   0 issue "ca.example.net"
ns1       A     192.0.2.1
ns2       A     192.0.2.2
          AAAA  2001:db8::2
mail      A     192.0.2.25
mx2       A     192.0.2.26
www       A     192.0.2.80
          A     192.0.2.81
          AAAA  2001:db8::80
blog 300  CNAME blog.example.net.
alias     CNAME www
sip       A     192.0.2.50
_sip._tcp SRV   10 60 5060 sip
          SRV   20 40 5060 sip.example.net.
*.wild    TXT   "wildcard"
old       DNAME new
www.new   A     192.0.2.90
sub       NS    ns.sub
          NS    ns.example.net.
ns.sub    A     192.0.2.53
${Array.from({ length: 1500 }, (_, i) => `www       TXT   "fat RRset, record ${i}: ${'x'.repeat(40)}"`).join('\n')}
`;

const BIG_ZONE = ['$ORIGIN big.test.', '$TTL 300', '@ SOA ns1 hostmaster 1 3600 600 86400 300', '  NS ns1', 'ns1 A 192.0.2.1',
  ...Array.from({ length: 200 }, (_, i) => `host-${i} A 10.0.${i}.1`)].join('\n') + '\n';

// ---------------------------------------------------------------- deterministic randomness

/** xorshift32 (Marsaglia 2003): tiny, fast and the same on every run for one seed. */
function prng(seed: number): { int(n: number): number; chance(p: number): boolean; pick<T>(xs: readonly T[]): T } {
  let x = seed >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
  const int = (n: number): number => next() % n;
  return { int, chance: (p) => next() / 0x100000000 < p, pick: (xs) => xs[int(xs.length)] };
}
type Rng = ReturnType<typeof prng>;

// ---------------------------------------------------------------- where the names and records are

interface Layout {
  /** Offsets of label length octets. */
  labels: number[];
  /** Offsets of compression pointers, in owner names and (by a guess) inside rdata. */
  pointers: number[];
  /** Each record's section (0 question .. 3 additional) and byte range. */
  records: { section: number; start: number; end: number }[];
}

/** Walks a message as far as it is well formed, noting what the mutations aim at. */
function layout(b: Buffer): Layout {
  const out: Layout = { labels: [], pointers: [], records: [] };
  if (b.length < 12) return out;
  let pos = 12;
  const skipName = (): boolean => {
    for (let n = 0; n < 128 && pos < b.length; n++) {
      const l = b[pos];
      if (l === 0) { pos++; return true; }
      if ((l & 0xc0) === 0xc0) { out.pointers.push(pos); pos += 2; return true; }
      if (l > 63) return false;
      out.labels.push(pos);
      pos += 1 + l;
    }
    return false;
  };
  walk: for (let s = 0; s < 4; s++) {
    const count = Math.min(b.readUInt16BE(4 + 2 * s), 300);
    for (let i = 0; i < count; i++) {
      const start = pos;
      if (!skipName()) break walk;
      if (s === 0) pos += 4;
      else {
        if (pos + 10 > b.length) break walk;
        pos += 10 + b.readUInt16BE(pos + 8);
      }
      if (pos > b.length) break walk;
      out.records.push({ section: s, start, end: pos });
    }
  }
  // Pointers inside rdata (MX, NS, SRV targets): any 0b11 octet pointing backwards is a fair guess.
  for (let p = 12; p + 1 < b.length; p++) {
    if ((b[p] & 0xc0) === 0xc0 && (((b[p] & 0x3f) << 8) | b[p + 1]) < p && !out.pointers.includes(p)) out.pointers.push(p);
  }
  return out;
}

// ---------------------------------------------------------------- mutations

/** Captured messages: what clients sent, and what servers answered. */
interface Seeds {
  requests: Buffer[];
  responses: Buffer[];
}

type Mutation = (r: Rng, b: Buffer, seeds: Seeds) => Buffer;

const junk = (r: Rng, n: number): Buffer => {
  const kind = r.int(4);
  return Buffer.from(Array.from({ length: n }, () => (kind === 0 ? r.int(256) : kind === 1 ? 0xc0 : kind === 2 ? 0x3f : 0)));
};

function writePointer(b: Buffer, at: number, target: number): void {
  if (at + 1 >= b.length) return;
  b[at] = 0xc0 | ((target >> 8) & 0x3f);
  b[at + 1] = target & 0xff;
}

const MUTATIONS: Record<string, Mutation> = {
  bitFlips(r, b) {
    const o = Buffer.from(b);
    for (let n = 1 + r.int(8); n > 0 && o.length > 0; n--) o[r.int(o.length)] ^= 1 << r.int(8);
    return o;
  },
  byteSets(r, b) {
    const o = Buffer.from(b);
    const value = r.pick([0x00, 0xff, -1]);
    for (let n = 1 + r.int(4); n > 0 && o.length > 0; n--) o[r.int(o.length)] = value < 0 ? r.int(256) : value;
    return o;
  },
  truncation(r, b) {
    // Mostly inside the body, sometimes into the header.
    return Buffer.from(b.subarray(0, r.chance(0.15) ? r.int(13) : r.int(b.length)));
  },
  extension(r, b) {
    return Buffer.concat([b, junk(r, 1 + r.int(128))]);
  },
  headerCounts(r, b) {
    if (b.length < 12) return b;
    const o = Buffer.from(b);
    const at = 4 + 2 * r.int(4);
    const now = o.readUInt16BE(at);
    o.writeUInt16BE(r.pick([0xffff, 0x8000, 0x0100, 0x00ff, now + 1, now + 1 + r.int(8), r.int(0x10000), 0]) & 0xffff, at);
    return o;
  },
  compressionPointers(r, b) {
    const o = Buffer.from(b);
    const l = layout(o);
    const spots = [...l.pointers, ...l.labels, ...l.records.map((x) => x.start)];
    if (spots.length === 0) return o;
    const at = r.pick(spots);
    switch (r.int(5)) {
      case 0: writePointer(o, at, at); break;                                  // points at itself
      case 1: {                                                                 // two pointers in a cycle
        const other = r.pick(spots);
        writePointer(o, at, other);
        if (other !== at) writePointer(o, other, at);
        break;
      }
      case 2: writePointer(o, at, Math.min(0x3fff, at + 2 + r.int(Math.max(1, o.length - at)))); break; // forward
      case 3: writePointer(o, at, o.length + r.int(0x3fff - Math.min(o.length, 0x3ffe))); break;        // past the end
      default: writePointer(o, at, r.int(12)); break;                           // into the header
    }
    return o;
  },
  labelLengths(r, b) {
    const o = Buffer.from(b);
    const l = layout(o);
    if (l.labels.length === 0) return o;
    const at = r.pick(l.labels);
    if (r.chance(0.7)) {
      o[at] = 64 + r.int(128); // 0x40-0xbf: over 63, or the reserved extended-label prefixes
      return o;
    }
    // A name over 255 octets: five 63-octet labels spliced in where a label starts.
    const long = Buffer.concat(Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])));
    return Buffer.concat([o.subarray(0, at), long, o.subarray(at)]);
  },
  splice(r, b, seeds) {
    const other = r.pick(r.chance(0.5) ? seeds.requests : seeds.responses);
    return Buffer.concat([b.subarray(0, r.int(b.length + 1)), other.subarray(r.int(other.length + 1))]);
  },
  duplicatedSections(r, b) {
    const l = layout(b);
    if (l.records.length === 0) return b;
    const o = r.chance(0.5) ? duplicateRecord(b, r.pick(l.records)) : duplicateSection(b, l, r.int(4));
    return o;
  },
  questionTypeAndClass(r, b) {
    const l = layout(b);
    const q = l.records.find((x) => x.section === 0);
    if (!q) return b;
    const o = Buffer.from(b);
    if (r.chance(0.7)) o.writeUInt16BE(r.pick([Type.ANY, Type.TXT, Type.AXFR, Type.IXFR, Type.OPT, Type.TSIG, 0, r.int(0x10000)]), q.end - 4);
    else o.writeUInt16BE(r.pick([1, 3, 254, 255, 0, r.int(0x10000)]), q.end - 2);
    return o;
  },
  headerFlags(r, b) {
    if (b.length < 4) return b;
    const o = Buffer.from(b);
    switch (r.int(4)) {
      case 0: o[2] = (o[2] & 0x87) | (r.int(16) << 3); break; // any opcode
      case 1: o[2] ^= 0x80; break;                              // QR
      case 2: o[3] = (o[3] & 0xf0) | r.int(16); break;          // RCODE in a request
      default: o[3] ^= 0x40; break;                             // Z
    }
    return o;
  },
};

function duplicateRecord(b: Buffer, rec: { section: number; start: number; end: number }): Buffer {
  const o = Buffer.concat([b.subarray(0, rec.end), b.subarray(rec.start, rec.end), b.subarray(rec.end)]);
  const at = 4 + 2 * rec.section;
  o.writeUInt16BE((o.readUInt16BE(at) + 1) & 0xffff, at);
  return o;
}

function duplicateSection(b: Buffer, l: Layout, section: number): Buffer {
  const recs = l.records.filter((x) => x.section === section);
  if (recs.length === 0) return b;
  const start = recs[0].start;
  const end = recs[recs.length - 1].end;
  const o = Buffer.concat([b.subarray(0, end), b.subarray(start, end), b.subarray(end)]);
  const at = 4 + 2 * section;
  o.writeUInt16BE((o.readUInt16BE(at) * 2) & 0xffff, at);
  return o;
}

const MUTATION_NAMES = Object.keys(MUTATIONS);

/** One fuzz packet: a capture with one to three mutations, or now and then the capture itself. */
function fuzzPacket(r: Rng, seeds: Seeds): { bytes: Buffer; how: string } {
  // Mostly requests: the server drops a response at its first header check, so mutated
  // responses reach little code; some are still sent, since a server must survive them too.
  let b = r.pick(r.chance(0.8) ? seeds.requests : seeds.responses);
  if (r.chance(0.02)) return { bytes: Buffer.from(b), how: 'original' };
  const how: string[] = [];
  for (let n = 1 + (r.chance(0.3) ? 1 + r.int(2) : 0); n > 0; n--) {
    const name = r.pick(MUTATION_NAMES);
    how.push(name);
    b = MUTATIONS[name](r, b, seeds);
  }
  // A frame and a datagram both have a 16-bit length limit.
  return { bytes: Buffer.from(b.subarray(0, 0xffff)), how: how.join('+') };
}

/** Sets the ID (when the packet has one) so every reply can be matched to its request. */
function withId(b: Buffer, id: number): Buffer {
  if (b.length >= 2) b.writeUInt16BE(id, 0);
  return b;
}

// ---------------------------------------------------------------- checking replies

interface Stats {
  sent: number;
  answered: number;
  byRcode: Record<string, number>;
  byMutation: Record<string, { sent: number; answered: number }>;
  /** Replies to packets too short to hold a header (the contract says: drop them). */
  headerlessAnswered: number;
  /** Replies to packets that were themselves responses (QR=1). */
  responsesAnswered: number;
  violations: string[];
  violationCount: number;
}

const newStats = (): Stats => ({ sent: 0, answered: 0, byRcode: {}, byMutation: {}, headerlessAnswered: 0, responsesAnswered: 0, violations: [], violationCount: 0 });

function violation(s: Stats, text: string): void {
  s.violationCount++;
  if (s.violations.length < 20) s.violations.push(text);
}

/** Checks one reply against the request it answers; `request` is undefined when it cannot be known. */
/** An AXFR or IXFR request, as the server would read it. */
function isTransfer(request: Buffer): boolean {
  const d = decodeMessage(request);
  return d.ok && d.value.opcode === Opcode.QUERY && d.value.question.length === 1 && (d.value.question[0].type === Type.AXFR || d.value.question[0].type === Type.IXFR);
}

function checkReply(s: Stats, reply: Buffer, request: Buffer | undefined, where: string): void {
  const req = request ? request.toString('hex') : '(unknown framing)';
  if (reply.length < 12) return violation(s, `${where}: reply of ${reply.length} octets to ${req}`);
  const d = decodeMessage(reply);
  if (!d.ok) return violation(s, `${where}: reply does not parse (${d.error.message}): ${reply.toString('hex')} to ${req}`);
  const m = d.value;
  s.byRcode[rcodeName(m.rcode)] = (s.byRcode[rcodeName(m.rcode)] ?? 0) + 1;
  if (!m.qr) violation(s, `${where}: reply without QR to ${req}`);
  if (!ALLOWED.has(m.rcode)) violation(s, `${where}: RCODE ${rcodeName(m.rcode)} to ${req}`);
  if (request && request.length >= 12) {
    const opcode = (request[2] >> 3) & 0xf;
    if (m.opcode !== opcode) violation(s, `${where}: reply opcode ${m.opcode} to a request with opcode ${opcode}: ${req}`);
  }
}

// ---------------------------------------------------------------- the suite

describe('fuzzing zonelog serve with mutated captures', { timeout: 600_000 }, () => {
  let srv: ServerHandle;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let seeds: Seeds;
  const rnd = prng(SEED);

  before(async () => {
    const fixtures = wireFixtures();
    // Multi-kilobyte AXFR pages are left out; the mutations lengthen packets anyway.
    const captured = (from: 'client' | 'server'): Buffer[] => fixtures.flatMap((f) => f.messages.filter((m) => m.from === from && m.bytes.length <= 4096).map((m) => m.bytes));
    seeds = { requests: captured('client'), responses: captured('server') };
    const keys = [KEY, ...fixtures.flatMap((f) => (f.key ? [f.key] : []))].filter((k, i, all) => all.findIndex((x) => x.name === k.name) === i);
    srv = await startZonelog({
      keys,
      zones: [
        {
          name: ZONE, file: EXAMPLE_ZONE,
          // The address grant lets mutated unsigned updates that still parse reach the update logic.
          allowUpdate: [...keys.map((k) => ({ key: k.name })), { address: '127.0.0.0/8' }],
          allowTransfer: [{ address: '127.0.0.0/8' }],
        },
        { name: 'big.test.', file: BIG_ZONE, allowTransfer: [{ key: 'fixture-xfr' }] },
      ],
    });
    void srv.exited.then((e) => (exit = e));
  });
  after(async () => {
    await srv?.stop();
  });

  const assertAlive = (what: string): void => {
    assert.equal(exit, null, `zonelog serve exited (${JSON.stringify(exit)}) ${what} (seed ${SEED}).\nlast log lines:\n${srv.logs().split('\n').slice(-30).join('\n')}`);
  };

  it(`survives ${UDP_PACKETS} mutated UDP packets, answering each it answers with its ID and an allowed RCODE`, async (t) => {
    t.diagnostic(`seed ${SEED} (set ZONELOG_FUZZ_SEED to repeat), ${seeds.requests.length} captured requests and ${seeds.responses.length} responses as seeds, server pid ${srv.pid} port ${srv.port}`);
    const stats = newStats();
    // Per socket, the packet sent under each ID (IDs are never reused within a run).
    const sent: Map<number, { bytes: Buffer; how: string; replies: number }>[] = [];
    const sockets: Socket[] = [];
    for (let s = 0; s < UDP_SOCKETS; s++) {
      const sock = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
      const mine = new Map<number, { bytes: Buffer; how: string; replies: number }>();
      sent.push(mine);
      sock.on('message', (reply) => {
        const id = reply.length >= 2 ? reply.readUInt16BE(0) : -1;
        const p = mine.get(id);
        if (!p) return violation(stats, `udp: reply with an ID never sent on this socket: ${reply.toString('hex')}`);
        p.replies++;
        if (p.replies > 1) return violation(stats, `udp: ${p.replies} replies to one request: ${p.bytes.toString('hex')}`);
        stats.answered++;
        stats.byMutation[p.how.split('+')[0]].answered++;
        if (p.bytes.length < 12) stats.headerlessAnswered++;
        else if (p.bytes[2] & 0x80) stats.responsesAnswered++;
        checkReply(stats, reply, p.bytes, `udp (${p.how})`);
      });
      await new Promise<void>((resolve) => sock.bind(0, LOOPBACK, resolve));
      sockets.push(sock);
    }
    const recent: Buffer[] = [];
    const t0 = performance.now();
    try {
      for (let i = 0; i < UDP_PACKETS;) {
        assert.ok(performance.now() - t0 < UDP_DEADLINE_MS, `only ${i} of ${UDP_PACKETS} packets sent in ${UDP_DEADLINE_MS} ms (seed ${SEED})`);
        const answeredBefore = stats.answered;
        let batch = 0;
        for (; batch < BATCH && i < UDP_PACKETS; batch++, i++) {
          const s = i % UDP_SOCKETS;
          const { bytes, how } = fuzzPacket(rnd, seeds);
          withId(bytes, Math.floor(i / UDP_SOCKETS));
          sent[s].set(Math.floor(i / UDP_SOCKETS), { bytes, how, replies: 0 });
          const first = how.split('+')[0];
          (stats.byMutation[first] ??= { sent: 0, answered: 0 }).sent++;
          stats.sent++;
          recent.push(bytes);
          if (recent.length > 4 * BATCH) recent.shift();
          sockets[s].send(bytes, srv.port, LOOPBACK);
        }
        const start = performance.now();
        let last = stats.answered;
        let lastAt = start;
        while (stats.answered - answeredBefore < batch && performance.now() - start < MAX_WAIT_MS && performance.now() - lastAt < IDLE_MS) {
          await sleep(1);
          if (stats.answered !== last) {
            last = stats.answered;
            lastAt = performance.now();
          }
        }
        if (exit) {
          const file = join(srv.dir, 'fuzz-last-packets.hex');
          writeFileSync(file, recent.map((b) => b.toString('hex')).join('\n') + '\n');
          assertAlive(`after UDP packet ${i}; the last ${recent.length} packets are in ${file}`);
        }
      }
      await sleep(500); // late replies still count and are still checked
    } finally {
      for (const s of sockets) s.close();
    }
    const secs = (performance.now() - t0) / 1000;
    t.diagnostic(`udp: ${stats.sent} sent in ${secs.toFixed(1)} s (${Math.round(stats.sent / secs)}/s), ${stats.answered} answered; by rcode ${JSON.stringify(stats.byRcode)}`);
    t.diagnostic(`udp: replies to headerless packets ${stats.headerlessAnswered}, to responses (QR=1) ${stats.responsesAnswered}; by first mutation ${JSON.stringify(stats.byMutation)}`);
    assertAlive('after the UDP run');
    assert.equal(stats.sent, UDP_PACKETS);
    assert.deepEqual(stats.violations, [], `${stats.violationCount} bad replies (seed ${SEED}), the first ones listed`);
    assert.equal(stats.headerlessAnswered, 0, 'packets too short for a header are dropped, not answered');
    // Without most packets answered, the run would prove nothing about the code that answers them.
    assert.ok(stats.answered >= stats.sent * 0.2, `only ${stats.answered} of ${stats.sent} packets answered`);
    assert.ok((stats.byRcode.FORMERR ?? 0) > 0, 'no FORMERR among the replies');
  });

  it(`survives ${TCP_PACKETS} mutated packets over TCP, several per connection, some behind bogus length prefixes`, async (t) => {
    const stats = newStats();
    let frames = 0;
    let connections = 0;
    let closedByServer = 0;
    const t0 = performance.now();
    const sessions: { packets: Buffer[]; hows: string[]; bogus: boolean }[] = [];
    while (frames < TCP_PACKETS) {
      const n = 5 + rnd.int(21);
      const packets: Buffer[] = [];
      const hows: string[] = [];
      for (let k = 0; k < n; k++) {
        const p = fuzzPacket(rnd, seeds);
        packets.push(withId(p.bytes, k + 1));
        hows.push(p.how);
      }
      sessions.push({ packets, hows, bogus: rnd.chance(0.2) });
      frames += n;
    }
    // Bogus streams are built up front too, so the whole run follows from the seed.
    const streams = sessions.map((s) => (s.bogus ? bogusStream(rnd, s.packets) : Buffer.concat(s.packets.map(frame))));
    const splits = streams.map((b) => [rnd.int(b.length + 1), rnd.int(b.length + 1)].sort((a, c) => a - c));
    const PARALLEL = 4;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < sessions.length) {
        const i = next++;
        assert.ok(performance.now() - t0 < TCP_DEADLINE_MS, `TCP sessions still running after ${TCP_DEADLINE_MS} ms (seed ${SEED})`);
        const s = sessions[i];
        const res = await tcpSession(srv.port, streams[i], splits[i], s.bogus ? Infinity : s.packets.filter((p) => p.length >= 12).length);
        connections++;
        if (res.closedByServer) closedByServer++;
        stats.sent += s.packets.length;
        const seen = new Map<number, number>();
        for (const reply of res.replies) {
          stats.answered++;
          if (s.bogus) {
            checkReply(stats, reply, undefined, 'tcp (bogus framing)');
            continue;
          }
          const id = reply.length >= 2 ? reply.readUInt16BE(0) : -1;
          const request = s.packets[id - 1];
          if (!request) {
            violation(stats, `tcp: reply with an ID never sent on this connection: ${reply.toString('hex')}`);
            continue;
          }
          seen.set(id, (seen.get(id) ?? 0) + 1);
          // A zone transfer is the one request answered with several messages (RFC 5936).
          if (seen.get(id) === 2 && !isTransfer(request)) violation(stats, `tcp: two replies to one request: ${request.toString('hex')}`);
          checkReply(stats, reply, request, `tcp (${s.hows[id - 1]})`);
        }
        if (exit) assertAlive(`during TCP session ${i}: ${streams[i].toString('hex')}`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const secs = (performance.now() - t0) / 1000;
    t.diagnostic(`tcp: ${stats.sent} packets on ${connections} connections in ${secs.toFixed(1)} s, ${stats.answered} replies, ${closedByServer} connections closed by the server; by rcode ${JSON.stringify(stats.byRcode)}`);
    assertAlive('after the TCP run');
    assert.ok(stats.sent >= TCP_PACKETS);
    assert.deepEqual(stats.violations, [], `${stats.violationCount} bad replies (seed ${SEED}), the first ones listed`);
    assert.ok(stats.answered > 0, 'no TCP packet was answered at all');
  });

  it('afterwards still answers a normal query with AA and still applies a signed update', async () => {
    assertAlive('before the final checks');
    const r = await dig(['+norec', `@${LOOPBACK}`, '-p', String(srv.port), ZONE, 'SOA']);
    assert.match(r.stdout, /status: NOERROR/, r.stdout);
    assert.match(r.stdout, /;; flags:[^;]*\baa\b/, r.stdout);
    assert.notEqual(await soaSerial(srv.port, 'big.test.'), undefined, 'big.test. SOA not answered with AA');
    const name = `survivor.${ZONE}`;
    const up = await sendUpdate(srv.port, { zone: ZONE, update: [record(`${name} 300 IN A 192.0.2.200`)] }, { key: tsigKey(KEY) });
    assert.equal(up.rcode, Rcode.NOERROR, JSON.stringify(up));
    const ans = await query(srv.port, name, Type.A);
    assert.deepEqual(addressesOf(ans, name), ['192.0.2.200']);
    assert.ok(ans.aa);
  });

  it('logged no uncaught exception and no error', async () => {
    // The server's log is written in the background, at most 100 ms behind: let it catch up.
    await new Promise((r) => setTimeout(r, 300));
    const problems: string[] = [];
    for (const line of srv.logs().split('\n')) {
      if (line.trim() === '') continue;
      if (!line.startsWith('{')) {
        // Node's own warnings are fine; a stack trace or "Uncaught" is not.
        if (/Error|Uncaught|^\s+at /.test(line)) problems.push(line);
        continue;
      }
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        problems.push(`unparsable log line: ${line}`);
        continue;
      }
      if (typeof entry.level === 'number' && entry.level >= 50) problems.push(line);
    }
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} error lines in the server log`);
  });
});

/**
 * A byte stream whose length prefixes lie now and then: zero, one off either way, far too
 * long, or random; sometimes ending in half a prefix.
 */
function bogusStream(r: Rng, packets: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of packets) {
    if (!r.chance(0.3)) {
      parts.push(frame(p));
      continue;
    }
    const len = r.pick([0, 1, p.length - 1, p.length + 1, p.length + r.int(100), 0xffff, r.int(0x10000)]);
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(Math.max(0, Math.min(0xffff, len)));
    parts.push(prefix, p);
  }
  if (r.chance(0.3)) parts.push(Buffer.from([r.int(256)]));
  return Buffer.concat(parts);
}

/**
 * Writes `stream` in three pieces cut at `splits` (so frames straddle reads) and collects the
 * replies until `expect` have come, the server closes, or nothing arrives for a while.
 */
function tcpSession(port: number, stream: Buffer, splits: number[], expect: number): Promise<{ replies: Buffer[]; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const replies: Buffer[] = [];
    const frames = new FrameDecoder();
    let done = false;
    let idle: NodeJS.Timeout | undefined;
    const sock = connect({ host: LOOPBACK, port });
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      clearTimeout(cap);
      sock.destroy();
      resolve({ replies, closedByServer });
    };
    const cap = setTimeout(() => finish(false), 3000);
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(false), 300);
    };
    sock.on('connect', async () => {
      const cuts = [0, ...splits, stream.length];
      for (let k = 0; k + 1 < cuts.length && !done; k++) {
        if (cuts[k + 1] > cuts[k]) sock.write(stream.subarray(cuts[k], cuts[k + 1]));
        await sleep(1);
      }
      arm();
    });
    sock.on('data', (chunk) => {
      for (const m of frames.push(chunk)) replies.push(Buffer.from(m));
      if (replies.length >= expect) finish(false);
      else arm();
    });
    // A reset or close by the server is a legitimate answer to garbage.
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
  });
}
