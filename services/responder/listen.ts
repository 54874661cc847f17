// UDP and TCP listeners (RFC 1035 §4.2, RFC 7766): bytes in, a handler's answer out, nothing thrown.

import dgram from 'node:dgram';
import net from 'node:net';
import { isIPv6 } from 'node:net';
import { frame, FrameDecoder } from '../../shared/dns/tcp.ts';
import type { Logger } from '../../shared/log.ts';
import type { Endpoint } from '../config/types.ts';
import { headerReply, type Peer } from './query.ts';
import { Rcode } from '../../shared/dns/constants.ts';
import { MessageStream, type Answer } from './stream.ts';
import { batchedUdpUnavailable, openBatchedUdp, type BatchedUdpSocket } from '../../shared/native/udp-batch.ts';

export type Handler = (msg: Buffer, peer: Peer) => Answer | Promise<Answer>;

/** Runs the handler; `done` gets the answer, or null for silence, exactly once. */
function safely(handler: Handler, msg: Buffer, peer: Peer, log: Logger, done: (b: Answer) => void): void {
  const failed = (e: unknown): void => {
    log.error({ err: e, address: peer.address, port: peer.port, transport: peer.transport }, 'internal error answering a message');
    done(headerReply(msg, Rcode.SERVFAIL));
  };
  let r: Answer | Promise<Answer>;
  try {
    r = handler(msg, peer);
  } catch (e) {
    return failed(e);
  }
  if (r === null || Buffer.isBuffer(r) || r instanceof MessageStream) return done(r);
  r.then(done, failed);
}

/** A single message ready for a TCP frame: one too long for the 16-bit length becomes SERVFAIL. */
function framed(b: Buffer): Buffer {
  if (b.length <= 0xffff) return frame(b);
  const out = Buffer.alloc(12);
  b.copy(out, 0, 0, 4);
  out[3] = (out[3] & 0xf0) | 2;
  return frame(out);
}

/**
 * Writes a multi-message answer, waiting for the socket to drain whenever its buffer is full.
 * Never rejects: a failure while producing closes the connection, which is how a client learns
 * that a transfer broke off (there is no way to take back the messages already sent).
 */
async function writeStream(sock: net.Socket, s: MessageStream, log: Logger): Promise<void> {
  try {
    // Encoding is synchronous: every few milliseconds the event loop gets a turn, so queries
    // and updates go on while a large zone is being sent.
    let since = performance.now();
    for await (const m of s.messages) {
      if (sock.destroyed) return;
      if (performance.now() - since > 4) {
        await new Promise((r) => setImmediate(r));
        since = performance.now();
      }
      if (!sock.write(framed(m))) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            sock.off('drain', done);
            sock.off('close', done);
            resolve();
          };
          sock.on('drain', done);
          sock.on('close', done);
        });
      }
    }
  } catch (e) {
    log.error({ err: e, address: sock.remoteAddress, port: sock.remotePort }, 'internal error while sending a multi-message answer; connection closed');
    sock.destroy();
  }
}

/**
 * The synchronous first try for a datagram: an answer to send, null to stay silent, or
 * undefined to hand the message to the full handler.
 */
export type FastPath = (msg: Buffer, dst?: Buffer, at?: number) => Buffer | number | null | undefined;

// We only ever send to the literal address a datagram came from: no resolver, and no deferral
// to the next tick that dns.lookup adds even for literals.
function literal(address: string, _family: unknown, cb: (err: null, address: string, family: number) => void): void {
  cb(null, address, isIPv6(address) ? 6 : 4);
}

/** A bound UDP listener, whichever I/O it uses. */
export interface UdpListener {
  /** 'batched' (recvmmsg/sendmmsg) or 'dgram' (node:dgram). */
  readonly io: 'batched' | 'dgram';
  /** An answer that was not ready in the turn its query came, or a forwarded one. */
  send(b: Uint8Array, port: number, address: string): void;
  close(): void;
}

/**
 * A UDP socket in the port's SO_REUSEPORT group, so query threads can share the port: batched
 * I/O (shared/native/udp-batch.c) unless `io` is 'dgram' or the addon was not built.
 */
export async function listenUdp(ep: Endpoint, handler: Handler, log: Logger, fast?: FastPath, io: 'auto' | 'batched' | 'dgram' = 'auto'): Promise<UdpListener> {
  if (io !== 'dgram') {
    const why = batchedUdpUnavailable();
    if (why === null) return listenUdpBatched(ep, handler, log, fast);
    if (io === 'batched') throw new Error(`batched UDP I/O is not available: ${why}`);
  }
  const s = await listenUdpDgram(ep, handler, log, fast);
  return { io: 'dgram', send: (b, port, address) => s.send(b, port, address), close: () => s.close() };
}

function listenUdpBatched(ep: Endpoint, handler: Handler, log: Logger, fast?: FastPath): UdpListener {
  const sock: BatchedUdpSocket = openBatchedUdp(
    ep.address,
    ep.port,
    (count) => {
      for (let i = 0; i < count; i++) {
        const msg = sock.datagram(i);
        if (msg === null) continue;
        if (fast) {
          let out: Buffer | number | null | undefined;
          try {
            // Written straight into the batch's answer buffer when it fits there.
            out = fast(msg, sock.outBuffer, sock.outUsed);
          } catch (e) {
            const [address, port] = sock.peer(i);
            log.error({ err: e, address, port }, 'internal error answering a query');
            out = headerReply(msg, Rcode.SERVFAIL);
          }
          if (out !== undefined) {
            if (typeof out === 'number') sock.answered(i, out);
            else if (out !== null) sock.answer(i, out);
            continue;
          }
        }
        // The full handler may answer later (an UPDATE waits for the disk), by when this slot
        // holds another datagram: it gets its own copy and the peer as text.
        const [address, port] = sock.peer(i);
        const peer: Peer = { address, port, transport: 'udp' };
        safely(handler, Buffer.from(msg), peer, log, (b) => {
          if (b instanceof MessageStream) log.error({ address, port }, 'internal error: a multi-message answer over UDP; dropped');
          else if (b) sock.send(b, port, address);
        });
      }
    },
    (e) => log.error({ err: e }, 'internal error reading datagrams'),
  )!;
  return { io: 'batched', send: (b, port, address) => sock.send(b, port, address), close: () => sock.close() };
}

/** node:dgram: one datagram per system call. */
function listenUdpDgram(ep: Endpoint, handler: Handler, log: Logger, fast?: FastPath): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: isIPv6(ep.address) ? 'udp6' : 'udp4', reusePort: true, lookup: literal as never });
  // Answers from the fast path go out together once this turn's datagrams are read: clients
  // then find several answers per wakeup, which costs them (and the kernel) less per answer.
  const outBuf: Buffer[] = [];
  const outPort: number[] = [];
  const outAddr: string[] = [];
  let flushing = false;
  const flush = (): void => {
    flushing = false;
    for (let i = 0; i < outBuf.length; i++) s.send(outBuf[i], outPort[i], outAddr[i]);
    outBuf.length = 0;
    outPort.length = 0;
    outAddr.length = 0;
  };
  s.on('message', (msg, r) => {
    if (fast) {
      let out: Buffer | number | null | undefined;
      try {
        out = fast(msg) as Buffer | null | undefined;
      } catch (e) {
        log.error({ err: e, address: r.address, port: r.port }, 'internal error answering a query');
        out = headerReply(msg, Rcode.SERVFAIL);
      }
      if (out !== undefined) {
        if (out !== null) {
          outBuf.push(out);
          outPort.push(r.port);
          outAddr.push(r.address);
          if (!flushing) {
            flushing = true;
            setImmediate(flush);
          }
        }
        return;
      }
    }
    const peer: Peer = { address: r.address, port: r.port, transport: 'udp' };
    safely(handler, msg, peer, log, (b) => {
      // Several messages are for TCP only; a handler never answers a datagram with them.
      if (b instanceof MessageStream) log.error({ address: r.address, port: r.port }, 'internal error: a multi-message answer over UDP; dropped');
      else if (b) s.send(b, r.port, r.address);
    });
  });
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind({ address: ep.address, port: ep.port }, () => {
      s.off('error', reject);
      s.on('error', (e) => log.error({ err: e }, 'UDP socket error'));
      resolve(s);
    });
  });
}

export interface TcpOptions {
  idleMs: number;
  /** Requests one connection may have unanswered before we stop reading from it. */
  maxInFlight?: number;
}

/**
 * TCP with pipelining (RFC 7766 §6.2.1.1): every framed request is handled at once and each
 * answer goes out when ready, so a slow UPDATE does not hold up the queries behind it. A
 * connection idle for `idleMs` with nothing in flight is closed.
 */
export function listenTcp(ep: Endpoint, handler: Handler, log: Logger, o: TcpOptions): Promise<net.Server> {
  const maxInFlight = o.maxInFlight ?? 100;
  const open = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    const peer: Peer = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0, transport: 'tcp' };
    const frames = new FrameDecoder();
    let inFlight = 0;
    sock.setNoDelay(true);
    sock.setTimeout(o.idleMs);
    let streaming: Promise<void> | null = null;
    sock.on('timeout', () => {
      if (inFlight === 0 && streaming === null) sock.destroy();
    });
    sock.on('error', () => sock.destroy());
    // While a multi-message answer is being written, later answers wait for it to end, so
    // that its messages are never interleaved with others.
    const deliver = (b: Answer): void => {
      if (b === null || sock.destroyed) return;
      if (!(b instanceof MessageStream) && streaming === null) {
        sock.write(framed(b));
        return;
      }
      const write = (): Promise<void> | void => (b instanceof MessageStream ? writeStream(sock, b, log) : void (sock.destroyed || sock.write(framed(b))));
      const p: Promise<void> = (streaming ?? Promise.resolve()).then(write).finally(() => {
        if (streaming === p) streaming = null;
      });
      streaming = p;
    };
    const send = (b: Answer): void => {
      inFlight--;
      deliver(b);
      if (inFlight < maxInFlight && sock.isPaused()) sock.resume();
    };
    sock.on('data', (chunk: Buffer) => {
      for (const msg of frames.push(chunk)) {
        inFlight++;
        safely(handler, msg, peer, log, send);
      }
      if (inFlight >= maxInFlight) sock.pause();
    });
  });
  connections.set(server, open);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: ep.address, port: ep.port }, () => {
      server.off('error', reject);
      server.on('error', (e) => log.error({ err: e }, 'TCP listener error'));
      resolve(server);
    });
  });
}

const connections = new WeakMap<net.Server, Set<net.Socket>>();

/** Stops listening and closes every open connection. */
export function closeTcp(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const s of connections.get(server) ?? []) s.destroy();
  });
}
