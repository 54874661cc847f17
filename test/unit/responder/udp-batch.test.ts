// The batched datagram I/O addon (shared/native/udp-batch.c) on real loopback sockets: every
// datagram reaches the handler whole, every answer reaches its own sender, batches really form,
// errors name the address, and a thread that ends with a socket open ends cleanly.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { batchedUdpUnavailable, openBatchedUdp, SLOTS, type BatchedUdpSocket } from '../../../shared/native/udp-batch.ts';

/** A client socket that collects what comes back. */
async function client(type: 'udp4' | 'udp6' = 'udp4'): Promise<{ s: dgram.Socket; got: Buffer[]; port: number }> {
  const s = dgram.createSocket(type);
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((r) => s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', r));
  return { s, got, port: s.address().port };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}

/** An echo server: answers each datagram with its sender's port (2 octets) and the datagram. */
function echo(address: string, batches: number[], o?: { outSize?: number }): BatchedUdpSocket {
  const sock: BatchedUdpSocket = openBatchedUdp(
    address,
    0,
    (count) => {
      batches.push(count);
      for (let i = 0; i < count; i++) {
        const d = sock.datagram(i)!;
        const out = Buffer.alloc(2 + d.length);
        out.writeUInt16BE(sock.peer(i)[1]);
        d.copy(out, 2);
        sock.answer(i, out);
      }
    },
    (e) => {
      throw e;
    },
    o,
  )!;
  return sock;
}

describe('batched UDP I/O (shared/native/udp-batch.c)', () => {
  it('is built: npm install compiles it, and zonelog serves UDP through it', () => {
    assert.equal(batchedUdpUnavailable(), null);
  });

  it('answers every datagram of several clients to its own sender, many datagrams per batch', async () => {
    const batches: number[] = [];
    const server = echo('127.0.0.1', batches);
    const clients = await Promise.all([client(), client(), client()]);
    try {
      // Sent before the server's thread gets a turn, so they wait in its socket together (few
      // enough to fit in its receive buffer, which is all that stops the kernel dropping them).
      for (let k = 0; k < 60; k++) for (const c of clients) c.s.send(Buffer.from(`m${k}`), server.port, '127.0.0.1');
      await until(() => clients.every((c) => c.got.length === 60));
      for (const c of clients) {
        assert.deepEqual(
          c.got.map((m) => m.readUInt16BE(0)),
          Array(60).fill(c.port),
          'each answer went back to the socket that asked',
        );
        assert.deepEqual(new Set(c.got.map((m) => m.subarray(2).toString())), new Set(Array.from({ length: 60 }, (_, k) => `m${k}`)));
      }
      assert.equal(batches.reduce((a, b) => a + b, 0), 180);
      assert.ok(Math.max(...batches) === SLOTS, `a full batch of ${SLOTS} read in one call (batches: ${batches.join(' ')})`);
    } finally {
      server.close();
      for (const c of clients) c.s.close();
    }
  });

  it('takes the largest datagram whole, over IPv6 too', async () => {
    for (const [address, type, size] of [['127.0.0.1', 'udp4', 65507], ['::1', 'udp6', 65000]] as const) {
      const lens: number[] = [];
      const sock: BatchedUdpSocket = openBatchedUdp(
        address,
        0,
        (count) => {
          for (let i = 0; i < count; i++) {
            const d = sock.datagram(i)!;
            lens.push(d.length);
            sock.answer(i, d.subarray(d.length - 4));
          }
        },
        (e) => {
          throw e;
        },
      )!;
      const c = await client(type);
      try {
        const big = Buffer.alloc(size, 7);
        big.writeUInt32BE(0xdeadbeef, size - 4);
        c.s.send(big, sock.port, address);
        await until(() => c.got.length === 1);
        assert.deepEqual(lens, [size]);
        assert.equal(c.got[0].readUInt32BE(0), 0xdeadbeef);
      } finally {
        sock.close();
        c.s.close();
      }
    }
  });

  it('sends answers that overflow the batch buffer on their own, none lost', async () => {
    const batches: number[] = [];
    const server = echo('127.0.0.1', batches, { outSize: 1000 });
    const c = await client();
    try {
      for (let k = 0; k < 40; k++) c.s.send(Buffer.alloc(300, k), server.port, '127.0.0.1');
      await until(() => c.got.length === 40);
      assert.deepEqual(c.got.map((m) => m[2]).sort((a, b) => a - b), Array.from({ length: 40 }, (_, k) => k));
      assert.ok(Math.max(...batches) > 3, 'some batch held more answers than its buffer');
    } finally {
      server.close();
      c.s.close();
    }
  });

  it('sends later answers, gathered over a turn, each to the address given as text', async () => {
    let peer: [string, number] | null = null;
    const sock: BatchedUdpSocket = openBatchedUdp(
      '127.0.0.1',
      0,
      (count) => {
        peer = sock.peer(count - 1);
      },
      (e) => {
        throw e;
      },
    )!;
    const [c, d] = await Promise.all([client(), client()]);
    try {
      c.s.send(Buffer.from('q'), sock.port, '127.0.0.1');
      await until(() => peer !== null);
      assert.deepEqual(peer, ['127.0.0.1', c.port]);
      // In one turn, as a commit acknowledges several updates: they go out together.
      sock.send(Buffer.from('later-1'), c.port, '127.0.0.1');
      sock.send(Buffer.from('other'), d.port, '127.0.0.1');
      sock.send(Buffer.from('later-2'), c.port, '127.0.0.1');
      await until(() => c.got.length === 2 && d.got.length === 1);
      assert.deepEqual(c.got.map(String), ['later-1', 'later-2']);
      assert.deepEqual(d.got.map(String), ['other']);
    } finally {
      sock.close();
      c.s.close();
      d.s.close();
    }
  });

  it('refuses a port held outside the SO_REUSEPORT group with the address and EADDRINUSE', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', r));
    const port = holder.address().port;
    try {
      assert.throws(
        () => openBatchedUdp('127.0.0.1', port, () => {}, () => {}),
        (e: Error & { code?: string }) => e.code === 'EADDRINUSE' && e.message.includes(`bind 127.0.0.1:${port}`),
      );
      assert.throws(() => openBatchedUdp('not-an-address', 53, () => {}, () => {}), /not an IP address/);
    } finally {
      holder.close();
    }
  });

  it('closes: no more batches, and the port is free again', async () => {
    const batches: number[] = [];
    const server = echo('127.0.0.1', batches);
    const port = server.port;
    server.close();
    server.close();
    await sleep(20);
    // An exclusive bind succeeds only once the descriptor is really closed.
    const again = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(port, '127.0.0.1', resolve);
    });
    again.close();
    assert.deepEqual(batches, []);
  });

  it('lets a worker thread that holds a socket end cleanly, by terminate or by process.exit', async () => {
    for (const how of ['terminate', 'exit'] as const) {
      const src = `
        const { parentPort } = require('node:worker_threads');
        import(${JSON.stringify(new URL('../../../shared/native/udp-batch.ts', import.meta.url).href)}).then((m) => {
          const s = m.openBatchedUdp('127.0.0.1', 0, () => {}, () => {});
          parentPort.postMessage(s.port);
          ${how === 'exit' ? 'setTimeout(() => process.exit(7), 50);' : ''}
        });`;
      const w = new Worker(src, { eval: true });
      const port = await new Promise<number>((r) => w.once('message', r));
      assert.ok(port > 0);
      const exited = new Promise<number>((r) => w.once('exit', r));
      if (how === 'terminate') await w.terminate();
      assert.equal(await exited, how === 'exit' ? 7 : 1);
    }
  });
});
