// NOTIFY in (RFC 1996 §3): for a secondary zone, from an allowed sender (address or TSIG key),
// answered at once and followed by an immediate SOA check; anything else is refused or NOTAUTH.

import { Rcode, Type, rcodeName } from '../../shared/dns/constants.ts';
import { encodeMessage, type Decoded } from '../../shared/dns/message.ts';
import { nameKey } from '../../shared/dns/name.ts';
import type { Keyring, TsigKey } from '../../shared/dns/tsig.ts';
import { soaSerial } from '../../shared/zone/zone.ts';
import type { Logger } from '../../shared/log.ts';
import type { ZoneConfig } from '../config/types.ts';
import { allowedBy } from '../primary/policy.ts';
import { checkRequestTsig, reply, type Peer } from '../responder/query.ts';
import type { SecondaryZone } from './secondary.ts';

export interface NotifyInDeps {
  secondaries: ReadonlyMap<string, SecondaryZone>;
  config: (zoneKey: string) => ZoneConfig | undefined;
  keys: () => Keyring;
  log: Logger;
  onNotify?: (zone: string, result: 'accepted' | 'refused') => void;
}

export function answerNotify(m: Decoded, peer: Peer, d: NotifyInDeps): Buffer {
  const q = m.question[0];
  let key: TsigKey | null = null;
  let sign = (wire: Buffer): Buffer => wire;
  const answer = (rcode: number): Buffer => sign(encodeMessage(reply(m, { rcode, aa: rcode === Rcode.NOERROR, question: m.question.slice(0, 1) })));
  const audit = (rcode: number, reason: string): void => {
    d.log.warn({ zone: q?.name, rcode: rcodeName(rcode), reason, key: key?.name ?? m.tsig?.key, address: peer.address, port: peer.port }, 'NOTIFY refused');
    if (q) d.onNotify?.(nameKey(q.name), 'refused');
  };
  const refuse = (rcode: number, reason: string): Buffer => {
    audit(rcode, reason);
    return answer(rcode);
  };
  if (m.question.length !== 1 || q.type !== Type.SOA) return refuse(Rcode.FORMERR, 'a NOTIFY asks about one SOA');
  const t = checkRequestTsig(m, d.keys());
  if (!t.ok) {
    audit(t.rcode, t.reason);
    return t.refusal;
  }
  key = t.key;
  sign = t.sign;
  const zone = nameKey(q.name);
  const sec = d.secondaries.get(zone);
  const cfg = d.config(zone);
  if (!sec || !cfg) return refuse(Rcode.NOTAUTH, `not a secondary zone here: ${q.name}`);
  if (!allowedBy(cfg.allowNotify, { key: key?.name ?? null, address: peer.address })) return refuse(Rcode.REFUSED, 'not allowed by allow-notify');
  const serial = m.answer.find((rr) => rr.type === Type.SOA);
  d.log.info({ zone: q.name, address: peer.address, port: peer.port, key: key?.name, serial: serial && serial.rdata.length >= 20 ? soaSerial(serial.rdata) : undefined }, 'NOTIFY received');
  d.onNotify?.(zone, 'accepted');
  sec.notified();
  return answer(Rcode.NOERROR);
}
