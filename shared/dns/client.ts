// A minimal DNS client: one UDP exchange, or a TCP exchange that reads messages until told to stop.

import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { FrameDecoder, frame } from './tcp.ts';

export class ExchangeError extends Error {}

function idOf(b: Uint8Array): number {
  return (b[0] << 8) | b[1];
}

/** Sends one message over UDP and resolves with the first reply carrying the same ID. */
export function exchangeUdp(host: string, port: number, msg: Uint8Array, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new ExchangeError(`no UDP answer from ${host}#${port} within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | null, reply?: Buffer): void => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    sock.on('error', (e) => finish(e));
    sock.on('message', (reply) => {
      if (reply.length >= 2 && idOf(reply) === idOf(msg)) finish(null, reply);
    });
    sock.send(msg, port, host);
  });
}

/**
 * Sends one message over TCP and collects the replies until `done(reply, index)` says the
 * answer is complete (an AXFR ends with its second SOA), the server closes, or time runs out.
 */
export function exchangeTcp(host: string, port: number, msg: Uint8Array, opts: { timeoutMs?: number; done?: (reply: Buffer, index: number) => boolean } = {}): Promise<Buffer[]> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const done = opts.done ?? (() => true);
  return new Promise((resolve, reject) => {
    const replies: Buffer[] = [];
    const frames = new FrameDecoder();
    const sock = connect({ host, port });
    let settled = false;
    const timer = setTimeout(() => finish(new ExchangeError(`TCP answer from ${host}#${port} incomplete after ${timeoutMs} ms (${replies.length} messages)`)), timeoutMs);
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(replies);
    };
    sock.on('connect', () => sock.write(frame(msg)));
    sock.on('data', (chunk) => {
      for (const m of frames.push(chunk)) {
        if (m.length < 2 || idOf(m) !== idOf(msg)) return finish(new ExchangeError(`reply with ID ${m.length >= 2 ? idOf(m) : '?'} to query ${idOf(msg)}`));
        replies.push(Buffer.from(m));
        if (done(replies[replies.length - 1], replies.length - 1)) return finish(null);
      }
    });
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(replies.length > 0 ? null : new ExchangeError(`${host}#${port} closed the connection without answering`)));
  });
}
