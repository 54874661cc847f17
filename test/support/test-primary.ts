// A scripted primary on loopback, for the faults no real server produces on demand: it answers
// SOA over UDP and AXFR/IXFR over TCP from a zone the test sets, and can cut a transfer short or
// serve a difference sequence that does not apply.

import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { Type } from '../../shared/dns/constants.ts';
import { decodeMessage, emptyMessage, encodeMessage } from '../../shared/dns/message.ts';
import { FrameDecoder, frame } from '../../shared/dns/tcp.ts';
import type { Changeset } from '../../shared/zone/changeset.ts';
import { soaOf, soaSerial, type Zone } from '../../shared/zone/zone.ts';
import { axfrRecords, captureZone, ixfrRecords, packMessages } from '../../services/primary/ixfr.ts';

export interface TestPrimaryScript {
  /** The zone served now. */
  zone: Zone;
  /** The difference sequences from `since` to the zone served, or null to answer AXFR-style. */
  ixfr?: (since: number) => Changeset[] | null;
  /** Octets of the next transfer answer to send before closing the connection (one use). */
  cutNextAt?: number | null;
  /** Send this many octets of the next transfer answer, then wait `ms` before the rest (one use). */
  pauseNextAt?: { at: number; ms: number } | null;
}

export interface TestPrimary {
  port: number;
  script: TestPrimaryScript;
  /** What was asked over TCP: "AXFR" or "IXFR <serial>". */
  asked: string[];
  stop(): Promise<void>;
}

export async function startTestPrimary(port: number, script: TestPrimaryScript): Promise<TestPrimary> {
  const asked: string[] = [];
  const udp: Socket = createSocket('udp4');
  udp.on('message', (msg, r) => {
    const d = decodeMessage(msg);
    if (!d.ok || d.value.qr || d.value.question[0]?.type !== Type.SOA) return;
    const soa = soaOf(script.zone)!;
    udp.send(encodeMessage(emptyMessage({ id: d.value.id, qr: true, aa: true, question: d.value.question, answer: [soa] })), r.port, r.address);
  });
  const tcp: Server = createServer((sock) => {
    const frames = new FrameDecoder();
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk) => {
      for (const m of frames.push(chunk)) {
        const d = decodeMessage(m);
        if (!d.ok) return sock.destroy();
        const q = d.value.question[0];
        const soa = soaOf(script.zone)!;
        let records;
        if (q.type === Type.SOA) {
          sock.write(frame(encodeMessage(emptyMessage({ id: d.value.id, qr: true, aa: true, question: [q], answer: [soa] }))));
          continue;
        }
        if (q.type === Type.IXFR) {
          const since = soaSerial(d.value.authority[0].rdata);
          asked.push(`IXFR ${since}`);
          const changes = since === soaSerial(soa.rdata) ? [] : script.ixfr?.(since) ?? null;
          records = changes === null ? [...axfrRecords(captureZone(script.zone))] : changes.length === 0 ? [soa] : [...ixfrRecords(soa, changes)];
        } else {
          asked.push('AXFR');
          records = [...axfrRecords(captureZone(script.zone))];
        }
        let out = Buffer.concat([...packMessages(records, { id: d.value.id, question: q, target: 512 })].map(frame));
        if (script.cutNextAt != null) {
          out = out.subarray(0, Math.min(script.cutNextAt, out.length - 1));
          script.cutNextAt = null;
          sock.end(out);
          return;
        }
        const pause = script.pauseNextAt;
        if (pause) {
          script.pauseNextAt = null;
          sock.write(out.subarray(0, pause.at));
          setTimeout(() => sock.destroyed || sock.write(out.subarray(pause.at)), pause.ms);
          continue;
        }
        sock.write(out);
      }
    });
  });
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', r));
  return {
    port, script, asked,
    stop: async () => {
      udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
