// A loopback DNS forwarder that records every message in both directions, to capture real tools' wire traffic.
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { freePort, LOOPBACK } from '../../infra/peers.ts';
import { FrameDecoder } from '../../shared/dns/tcp.ts';

export type CapturedMessage = {
  /** client: towards the upstream server; server: the upstream's reply. */
  from: 'client' | 'server';
  transport: 'udp' | 'tcp';
  /** One whole DNS message; for TCP without the 2-byte length prefix. */
  bytes: Buffer;
  /** Milliseconds since the epoch, sub-millisecond precision. */
  time: number;
  /** Which UDP client address or TCP connection the message belongs to, numbered from 1. */
  flow: number;
};

export type CaptureProxy = {
  port: number;
  messages(): CapturedMessage[];
  clear(): void;
  close(): Promise<void>;
};

export type CaptureProxyOptions = { upstreamPort: number; port?: number };

// A UDP client gets its own upstream socket so replies find their way back;
// the cap keeps a long run from holding sockets forever.
const MAX_UDP_FLOWS = 256;

export async function startCaptureProxy(opts: CaptureProxyOptions): Promise<CaptureProxy> {
  let recorded: CapturedMessage[] = [];
  let flows = 0;
  const record = (from: CapturedMessage['from'], transport: CapturedMessage['transport'], bytes: Buffer, flow: number): void => {
    recorded.push({ from, transport, bytes, time: performance.timeOrigin + performance.now(), flow });
  };

  const { udp, tcp, port } = await listenBoth(opts.port);

  const udpFlows = new Map<string, { socket: UdpSocket; flow: number }>();
  udp.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let f = udpFlows.get(key);
    if (!f) {
      if (udpFlows.size >= MAX_UDP_FLOWS) {
        const [oldestKey, oldest] = udpFlows.entries().next().value as [string, { socket: UdpSocket }];
        oldest.socket.close();
        udpFlows.delete(oldestKey);
      }
      const socket = createSocket('udp4');
      const flow = ++flows;
      socket.on('message', (reply) => {
        record('server', 'udp', Buffer.from(reply), flow);
        udp.send(reply, rinfo.port, rinfo.address);
      });
      socket.on('error', () => {});
      socket.bind(0, LOOPBACK);
      f = { socket, flow };
      udpFlows.set(key, f);
    }
    record('client', 'udp', Buffer.from(msg), f.flow);
    f.socket.send(msg, opts.upstreamPort, LOOPBACK);
  });

  const connections = new Set<Socket>();
  tcp.on('connection', (client) => {
    const flow = ++flows;
    const upstream = connect({ port: opts.upstreamPort, host: LOOPBACK, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      connections.add(s);
      s.on('close', () => connections.delete(s));
    }
    // Bytes are forwarded exactly as they came; the reader only observes them.
    const clientFrames = new FrameDecoder();
    const serverFrames = new FrameDecoder();
    const fromClient = (chunk: Buffer): void => { for (const m of clientFrames.push(chunk)) record('client', 'tcp', Buffer.from(m), flow); };
    const fromServer = (chunk: Buffer): void => { for (const m of serverFrames.push(chunk)) record('server', 'tcp', Buffer.from(m), flow); };
    client.on('data', (chunk: Buffer) => {
      fromClient(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      fromServer(chunk);
      client.write(chunk);
    });
    // Half-closes pass through: an AXFR client may shut its side while the answer streams.
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });

  return {
    port,
    messages: () => recorded.slice(),
    clear: () => {
      recorded = [];
    },
    close: async () => {
      for (const f of udpFlows.values()) f.socket.close();
      udpFlows.clear();
      for (const s of connections) s.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}

// UDP and TCP must share one port number, and another process may take a
// free-looking port first, so a clash just means trying another (bounded).
async function listenBoth(wanted: number | undefined): Promise<{ udp: UdpSocket; tcp: Server; port: number }> {
  const tries = wanted === undefined ? 20 : 1;
  let lastError: Error | undefined;
  for (let i = 0; i < tries; i++) {
    const port = wanted ?? (await freePort());
    const udp = createSocket('udp4');
    const tcp = createServer({ allowHalfOpen: true });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, LOOPBACK, () => resolve());
      });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ port, host: LOOPBACK, exclusive: true }, () => resolve());
      });
      // Later socket errors (a client gone away) must not crash the capture.
      udp.on('error', () => {});
      tcp.on('error', () => {});
      return { udp, tcp, port };
    } catch (e) {
      lastError = e as Error;
      try {
        udp.close();
      } catch {
        // not bound: nothing to close
      }
      tcp.close();
    }
  }
  throw new Error(`capture proxy could not listen on ${LOOPBACK}: ${lastError?.message}`);
}
