// The UPDATE opcode at the wire: zone section, TSIG, then the zone's writer; the answer is signed back.

import { Rcode, Type, rcodeName } from '../../shared/dns/constants.ts';
import { encodeMessage, type Decoded } from '../../shared/dns/message.ts';
import { nameKey } from '../../shared/dns/name.ts';
import type { Keyring } from '../../shared/dns/tsig.ts';
import type { Logger } from '../../shared/log.ts';
import { checkRequestTsig, reply, type Peer } from '../responder/query.ts';
import type { ZoneWriter } from './writer.ts';

export interface UpdateHandlerDeps {
  writers: ReadonlyMap<string, ZoneWriter>;
  /** True for a zone served here as a secondary: its updates go to the primary. */
  isSecondary?: (zoneKey: string) => boolean;
  keys: () => Keyring;
  log: Logger;
  onRefused?: (zone: string, rcode: number) => void;
}

/** Answers one UPDATE message (RFC 2136 §3.1, RFC 8945 §5). */
export async function handleUpdate(m: Decoded, peer: Peer, d: UpdateHandlerDeps): Promise<Buffer> {
  const answer = (rcode: number): Buffer => encodeMessage(reply(m, { rcode, question: m.question.slice(0, 1) }));
  const audit = (zone: string, rcode: number, reason: string, key?: string): void => {
    d.log.warn({ zone, rcode: rcodeName(rcode), reason, key, address: peer.address, port: peer.port }, 'update refused');
    d.onRefused?.(zone, rcode);
  };
  if (m.question.length !== 1 || m.question[0].type !== Type.SOA) {
    const reason = m.question.length !== 1 ? `zone section holds ${m.question.length} records, not 1` : 'zone section type is not SOA';
    audit(m.question[0]?.name ?? '?', Rcode.FORMERR, reason);
    return answer(Rcode.FORMERR);
  }
  const zone = m.question[0].name;
  const t = checkRequestTsig(m, d.keys());
  if (!t.ok) {
    audit(zone, t.rcode, t.reason, m.tsig?.key);
    return t.refusal;
  }
  const key = t.key;
  const signed = t.sign;
  const writer = d.writers.get(nameKey(zone));
  if (!writer && d.isSecondary?.(nameKey(zone))) {
    // As BIND without update forwarding: a secondary refuses, and the client should ask the primary.
    audit(zone, Rcode.REFUSED, `${zone} is a secondary zone here; send updates to its primary`, key?.name);
    return signed(answer(Rcode.REFUSED));
  }
  if (!writer) {
    audit(zone, Rcode.NOTAUTH, `not authoritative for ${zone}`, key?.name);
    return signed(answer(Rcode.NOTAUTH));
  }
  const o = await writer.submit(m, { key: key?.name ?? null, address: peer.address, port: peer.port });
  return signed(answer(o.rcode));
}
