// Batched datagram I/O (udp-batch.c): one recvmmsg per readiness callback, one sendmmsg for
// the answers, peers' addresses kept as sockaddrs unless asked for. Loaded if it was built
// (shared/native/build.sh, run by npm install); `batchedUdp()` says whether it was.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Native {
  open(address: string, port: number, inBuf: ArrayBuffer, slotSize: number, inLen: Int32Array, outBuf: ArrayBuffer, outDesc: Int32Array, onReadable: (failed: boolean) => void): unknown;
  recv(sock: unknown): number;
  send(sock: unknown, count: number): number;
  sendTo(sock: unknown, bytes: Uint8Array, address: string, port: number): boolean;
  sendToMany(sock: unknown, bytes: Uint8Array[], addresses: string[], ports: number[]): number;
  peer(sock: unknown, slot: number): [string, number];
  localPort(sock: unknown): number;
  close(sock: unknown): void;
}

const PATH = fileURLToPath(new URL('./udp-batch.node', import.meta.url));
let native: Native | null | undefined;
let loadError: string | null = null;

function load(): Native | null {
  if (native !== undefined) return native;
  native = null;
  if (!existsSync(PATH)) loadError = 'shared/native/udp-batch.node was not built (npm install runs shared/native/build.sh, which needs a C compiler)';
  else {
    try {
      native = createRequire(import.meta.url)(PATH) as Native;
    } catch (e) {
      loadError = `shared/native/udp-batch.node did not load: ${(e as Error).message}`;
    }
  }
  return native;
}

/** Null if batched I/O is available, otherwise why not. */
export function batchedUdpUnavailable(): string | null {
  return load() ? null : loadError;
}

/** Datagrams read per system call, and the most answers written per call. */
export const SLOTS = 64;
/** Room per datagram: the largest UDP payload, so nothing is ever cut short. */
const SLOT_SIZE = 65536;
/** Room for one batch's answers; an answer that does not fit goes out on its own. */
const OUT_SIZE = 256 * 1024;

export interface BatchedUdpOptions {
  /** Room for one batch's answers (default 256 KiB). */
  outSize?: number;
}

/**
 * A UDP socket in its port's SO_REUSEPORT group. `onBatch` is called once per batch read,
 * with the batch's size; in it, `datagram(i)` is datagram i (a view, valid until the batch's
 * answers are flushed), `answer(i, bytes)` queues an answer to its sender, `peer(i)` gives its
 * sender as text. The queued answers go out together when `onBatch` returns.
 */
export class BatchedUdpSocket {
  private sock: unknown;
  private readonly inBuf = new ArrayBuffer(SLOTS * SLOT_SIZE);
  private readonly inLen = new Int32Array(SLOTS);
  private readonly outBuf: ArrayBuffer;
  private readonly outBytes: Uint8Array;
  /** The batch's answer buffer: an answer may be written at `outUsed`, then `answered`. */
  readonly outBuffer: Buffer;
  private readonly outDesc = new Int32Array(SLOTS * 3);
  private outCount = 0;
  /** Octets of the answer buffer taken by this batch's answers so far. */
  outUsed = 0;
  private laterBytes: Uint8Array[] = [];
  private laterAddress: string[] = [];
  private laterPort: number[] = [];
  private readonly n: Native;
  private readonly onBatch: (count: number) => void;
  private readonly onError: (e: unknown) => void;
  readonly port: number;

  constructor(n: Native, address: string, port: number, onBatch: (count: number) => void, onError: (e: unknown) => void, o: BatchedUdpOptions = {}) {
    this.n = n;
    this.outBuf = new ArrayBuffer(o.outSize ?? OUT_SIZE);
    this.outBytes = new Uint8Array(this.outBuf);
    this.outBuffer = Buffer.from(this.outBuf);
    this.onBatch = onBatch;
    this.onError = onError;
    this.sock = n.open(address, port, this.inBuf, SLOT_SIZE, this.inLen, this.outBuf, this.outDesc, () => this.readable());
    this.port = n.localPort(this.sock);
  }

  /** Datagram i of the current batch: null if it was longer than a slot (never, for UDP). */
  datagram(i: number): Buffer | null {
    const len = this.inLen[i];
    return len < 0 ? null : Buffer.from(this.inBuf, i * SLOT_SIZE, len);
  }

  /** Queues `bytes` to the sender of datagram i of the current batch. */
  answer(i: number, bytes: Uint8Array): void {
    if (this.sock === null) return;
    if (this.outUsed + bytes.length > this.outBytes.length) {
      const [address, port] = this.n.peer(this.sock, i);
      this.n.sendTo(this.sock, bytes, address, port);
      return;
    }
    this.outBytes.set(bytes, this.outUsed);
    const d = this.outCount * 3;
    this.outDesc[d] = i;
    this.outDesc[d + 1] = this.outUsed;
    this.outDesc[d + 2] = bytes.length;
    this.outCount++;
    this.outUsed += bytes.length;
  }

  /** Queues the `length` octets just written at `outUsed` in `outBuffer` to the sender of datagram i. */
  answered(i: number, length: number): void {
    if (this.sock === null || length <= 0 || this.outUsed + length > this.outBytes.length) return;
    const d = this.outCount * 3;
    this.outDesc[d] = i;
    this.outDesc[d + 1] = this.outUsed;
    this.outDesc[d + 2] = length;
    this.outCount++;
    this.outUsed += length;
  }

  /** The sender of datagram i of the current batch. */
  peer(i: number): [string, number] {
    return this.n.peer(this.sock, i);
  }

  /**
   * Sends outside a batch: an answer that was not ready in the turn its query came. Such
   * answers come in bursts (a commit acknowledges every update in it), so they are gathered
   * until the end of this turn of the event loop and go out together.
   */
  send(bytes: Uint8Array, port: number, address: string): void {
    if (this.sock === null) return;
    if (this.laterBytes.length === 0) setImmediate(this.flushLater);
    this.laterBytes.push(bytes);
    this.laterAddress.push(address);
    this.laterPort.push(port);
  }

  private readonly flushLater = (): void => {
    const bytes = this.laterBytes;
    const address = this.laterAddress;
    const port = this.laterPort;
    this.laterBytes = [];
    this.laterAddress = [];
    this.laterPort = [];
    if (this.sock !== null) this.n.sendToMany(this.sock, bytes, address, port);
  };

  close(): void {
    if (this.sock === null) return;
    const s = this.sock;
    this.sock = null;
    this.n.close(s);
  }

  private readable(): void {
    // A few batches per wakeup, then back to the event loop, which calls again while
    // datagrams are waiting (the poll is level-triggered): timers and messages keep their turn.
    for (let round = 0; round < 4 && this.sock !== null; round++) {
      const count = this.n.recv(this.sock);
      if (count === 0) return;
      this.outCount = 0;
      this.outUsed = 0;
      try {
        this.onBatch(count);
      } catch (e) {
        this.onError(e);
      }
      if (this.outCount > 0 && this.sock !== null) this.n.send(this.sock, this.outCount);
      this.outCount = 0;
      if (count < SLOTS) return;
    }
  }
}

/** Opens a batched socket, or returns null if the addon is not available. */
export function openBatchedUdp(address: string, port: number, onBatch: (count: number) => void, onError: (e: unknown) => void, o?: BatchedUdpOptions): BatchedUdpSocket | null {
  const n = load();
  return n ? new BatchedUdpSocket(n, address, port, onBatch, onError, o) : null;
}
