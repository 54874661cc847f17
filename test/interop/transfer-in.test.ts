// Transfers in from real primaries: BIND 9, Knot and zonelog itself, TSIG-signed. The zone is
// taken by AXFR, 60 nsupdate changes later by IXFR (or AXFR-style where the primary's journal
// does not reach back), applied as transfer-in events, and must then equal a fresh AXFR.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { LOOPBACK, nsupdate, soaSerial as servedSerial, startBind, startKnot, type PeerHandle, type TsigKey } from '../../infra/peers.ts';
import { Class } from '../../shared/dns/constants.ts';
import { makeKey } from '../../shared/dns/tsig.ts';
import { recordToText } from '../../shared/zone/printer.ts';
import { canonicalRecords, soaOf, soaSerial, type Zone } from '../../shared/zone/zone.ts';
import { transferEvents, zoneFromTransfer } from '../../services/secondary/apply.ts';
import { pullZone, type Primary } from '../../services/secondary/transfer-in.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';

const secret = (label: string): string => createHash('sha256').update(label).digest('base64');
const DDNS: TsigKey = { name: 'ddns-key', algorithm: 'hmac-sha256', secret: secret('zonelog transfer-in interop: ddns-key') };
const XFR: TsigKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: secret('zonelog transfer-in interop: xfr-key') };
const ZONE = 'pull.test.';
const ZONE_TEXT = `$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n  NS ns1\nns1 A 127.0.0.1\n${Array.from({ length: 300 }, (_, i) => `h${i} A 10.0.${i >> 8}.${i & 255}`).join('\n')}\n`;
const CHANGES = 60;

const text = (z: Zone): string[] => canonicalRecords(z).map(recordToText);

function script(port: number): string {
  const out = [`server ${LOOPBACK} ${port}`, `zone ${ZONE}`];
  for (let i = 0; i < CHANGES; i++) {
    if (i % 3 === 0) out.push(`update add n${i}.${ZONE} 300 A 10.1.0.${i}`);
    else if (i % 3 === 1) out.push(`update delete h${i % 30}.${ZONE} A`);
    else out.push(`update delete h${(i + 7) % 30}.${ZONE} A`, `update add h${(i + 7) % 30}.${ZONE} 600 A 10.2.0.${i}`);
    out.push('send');
  }
  return out.join('\n') + '\n';
}

async function pullAndFollow(port: number): Promise<{ kind: string; events: number }> {
  const key = makeKey(XFR.name, XFR.algorithm, XFR.secret);
  const p: Primary = { address: LOOPBACK, port, key };
  const actor = { peer: `${LOOPBACK}#${port}` };
  const first = await pullZone(ZONE, null, p);
  assert.equal(first.kind, 'axfr');
  const start = transferEvents(null, ZONE, Class.IN, first, actor);
  const r = await nsupdate(script(port), ['-y', `${DDNS.algorithm}:${DDNS.name}:${DDNS.secret}`, '-t', '10', '-u', '10', '-r', '0'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const next = await pullZone(ZONE, soaOf(start.zone)!, p);
  const applied = transferEvents(start.zone, ZONE, Class.IN, next, actor);
  // Some deletions find nothing to delete and change nothing, so the serial is the primary's, not 1 + CHANGES.
  const theirs = await servedSerial(port, ZONE);
  assert.ok(theirs !== undefined && theirs > 40, `primary at serial ${theirs}`);
  assert.equal(soaSerial(soaOf(applied.zone)!.rdata), theirs);
  const fresh = await pullZone(ZONE, null, p);
  assert.ok(fresh.kind === 'axfr');
  assert.deepEqual(text(applied.zone), text(zoneFromTransfer(ZONE, Class.IN, fresh.soa, fresh.records)), 'the followed zone equals a fresh AXFR');
  for (const e of applied.events) assert.ok(e.type === 'ZoneChanged' && e.data.cause === 'transfer-in' && e.data.actor.peer === actor.peer);
  return { kind: next.kind, events: applied.events.length === theirs - 1 ? -1 : applied.events.length };
}

describe('transfers in from real primaries', { timeout: 180_000 }, () => {
  const peers: (PeerHandle | ServerHandle)[] = [];
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
  });
  const zone = { name: ZONE, role: 'primary' as const, file: ZONE_TEXT, allowUpdate: DDNS.name, allowTransfer: [XFR.name] };

  it('BIND: AXFR, then one IXFR of every change, signed', async () => {
    // BIND weighs its journal's bytes against the zone's (max-ixfr-ratio): unlimited here, so
    // the answer is incremental and this test reads BIND's difference sequences.
    const bind = await startBind({ keys: [DDNS, XFR], zones: [{ ...zone, extra: 'max-ixfr-ratio unlimited;' }] });
    peers.push(bind);
    // One event per change the primary made (-1 stands for exactly that many).
    assert.deepEqual(await pullAndFollow(bind.port), { kind: 'ixfr', events: -1 });
  });

  it('Knot: AXFR, then an IXFR of its changesets, signed; and AXFR-style once its journal no longer reaches back', async () => {
    const knot = await startKnot({ keys: [DDNS, XFR], zones: [{ ...zone, extra: 'journal-max-depth: 1000' }] });
    peers.push(knot);
    assert.equal((await pullAndFollow(knot.port)).kind, 'ixfr');
    // At Knot's default depth (20 changesets) our serial 1 is out of reach after 60 changes.
    const shallow = await startKnot({ keys: [DDNS, XFR], zones: [zone] });
    peers.push(shallow);
    assert.deepEqual(await pullAndFollow(shallow.port), { kind: 'axfr', events: 1 });
  });

  it('zonelog: AXFR, then one condensed IXFR', async () => {
    const z = await startZonelog({ keys: [DDNS, XFR], zones: [{ name: ZONE, file: ZONE_TEXT, allowUpdate: [{ key: DDNS.name }], allowTransfer: [{ key: XFR.name }] }] });
    peers.push(z);
    assert.deepEqual(await pullAndFollow(z.port), { kind: 'ixfr', events: 1 });
  });
});
