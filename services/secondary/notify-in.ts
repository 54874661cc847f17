// NOTIFY in (RFC 1996 §3): for a secondary zone, from an allowed sender (address or TSIG key),
// answered at once and followed by an immediate SOA check; anything else is refused or NOTAUTH.

import { Rcode, Type, rcodeName } from '../../shared/dns/constants.ts';
import { encodeMessage, type Decoded } from '../../shared/dns/message.ts';
import { nameKey } from '../../shared/dns/name.ts';
import { signMessage, verifyMessage, type Keyring, type TsigKey } from '../../shared/dns/tsig.ts';
import type { Logger } from '../../shared/log.ts';
import type { ZoneConfig } from '../config/types.ts';
import { allowedBy } from '../primary/policy.ts';
import { reply, tsigRefusal, type Peer } from '../responder/query.ts';
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
  const answer = (rcode: number): Buffer => {
    const wire = encodeMessage(reply(m, { rcode, aa: rcode === Rcode.NOERROR, question: m.question.slice(0, 1) }));
    return key && m.tsig ? signMessage(wire, key, { requestMac: m.tsig.mac }).wire : wire;
  };
  const refuse = (rcode: number, reason: string): Buffer => {
    d.log.warn({ zone: q?.name, rcode: rcodeName(rcode), reason, key: key?.name ?? m.tsig?.key, address: peer.address, port: peer.port }, 'NOTIFY refused');
    if (q) d.onNotify?.(nameKey(q.name), 'refused');
    return answer(rcode);
  };
  if (m.question.length !== 1 || q.type !== Type.SOA) return refuse(Rcode.FORMERR, 'a NOTIFY asks about one SOA');
  if (m.tsig) {
    const v = verifyMessage(m, d.keys());
    if (!v.ok) {
      refuse(v.rcode, `TSIG ${v.failure}: ${v.detail}`);
      return tsigRefusal(m, v);
    }
    key = v.key;
  }
  const zone = nameKey(q.name);
  const sec = d.secondaries.get(zone);
  const cfg = d.config(zone);
  if (!sec || !cfg) return refuse(Rcode.NOTAUTH, `not a secondary zone here: ${q.name}`);
  if (!allowedBy(cfg.allowNotify, { key: key?.name ?? null, address: peer.address })) return refuse(Rcode.REFUSED, 'not allowed by allow-notify');
  const serial = m.answer.find((rr) => rr.type === Type.SOA);
  d.log.info({ zone: q.name, address: peer.address, port: peer.port, key: key?.name, serial: serial && serial.rdata.length >= 20 ? Buffer.from(serial.rdata).readUInt32BE(serial.rdata.length - 20) : undefined }, 'NOTIFY received');
  d.onNotify?.(zone, 'accepted');
  sec.notified();
  return answer(Rcode.NOERROR);
}
