// RFC 2136 dynamic update, decided: prerequisites, permissions and the update section → one changeset.

import { Class, Rcode, Type, isMetaType, typeName } from '../../shared/dns/constants.ts';
import type { Message, RR } from '../../shared/dns/message.ts';
import { isSubdomain, nameKey, type Name } from '../../shared/dns/name.ts';
import { rdataEqual } from '../../shared/dns/rdata.ts';
import { serialGt } from '../../shared/dns/serial.ts';
import { diff, isEmptyChange, type Changeset } from '../../shared/zone/changeset.ts';
import { newNode, rrsetKey, soaRecord, soaSerial, withSerial, type RRset, type Zone, type ZoneNode } from '../../shared/zone/zone.ts';
import type { Grant, SerialPolicy } from '../config/types.ts';
import { allowedBy, mayChange, type Requester } from './policy.ts';
import { nextSerial } from './serial-policy.ts';

/** Read access to a zone's nodes: the live zone, or the live zone plus updates decided but not yet durable. */
export interface ZoneView {
  readonly origin: Name;
  readonly class: number;
  node(key: string): ZoneNode | undefined;
}

export type Decision =
  | { ok: true; changeset: Changeset | null }
  | { ok: false; rcode: number; reason: string };

export interface UpdatePolicy {
  grants: readonly Grant[];
  serialPolicy: SerialPolicy;
}

function refuse(rcode: number, reason: string): Decision {
  return { ok: false, rcode, reason };
}

// Types that may sit beside a CNAME (RFC 2181 §10.1, RFC 4035 §2.5).
function besideCname(t: number): boolean {
  return t === Type.CNAME || t === Type.RRSIG || t === Type.NSEC || t === Type.KEY || t === Type.SIG || t === Type.NXT;
}

function inUse(node: ZoneNode | undefined): boolean {
  return node !== undefined && node.rrsets.size > 0;
}

function setOf(node: ZoneNode | undefined, type: number): RRset[] {
  if (!node) return [];
  if (type === Type.RRSIG) return [...node.rrsets.values()].filter((s) => s.type === Type.RRSIG);
  const s = node.rrsets.get(type);
  return s ? [s] : [];
}

/** RFC 2136 §3.2: every prerequisite must hold, or the update is refused with the matching RCODE. */
function checkPrerequisites(view: ZoneView, prereqs: RR[]): Decision | null {
  const values = new Map<string, { name: Name; type: number; rdata: Uint8Array[] }>();
  for (const rr of prereqs) {
    const what = `${rr.name} ${typeName(rr.type)}`;
    if (rr.ttl !== 0) return refuse(Rcode.FORMERR, `prerequisite ${what} has TTL ${rr.ttl}, not 0`);
    if (!isSubdomain(rr.name, view.origin)) return refuse(Rcode.NOTZONE, `prerequisite ${what} is outside ${view.origin}`);
    const node = view.node(nameKey(rr.name));
    if (rr.class === Class.ANY) {
      if (rr.rdata.length !== 0) return refuse(Rcode.FORMERR, `prerequisite ${what} of class ANY has rdata`);
      if (rr.type === Type.ANY) {
        if (!inUse(node)) return refuse(Rcode.NXDOMAIN, `prerequisite failed: name ${rr.name} is not in use`);
      } else if (setOf(node, rr.type).length === 0) return refuse(Rcode.NXRRSET, `prerequisite failed: RRset ${what} does not exist`);
    } else if (rr.class === Class.NONE) {
      if (rr.rdata.length !== 0) return refuse(Rcode.FORMERR, `prerequisite ${what} of class NONE has rdata`);
      if (rr.type === Type.ANY) {
        if (inUse(node)) return refuse(Rcode.YXDOMAIN, `prerequisite failed: name ${rr.name} is in use`);
      } else if (setOf(node, rr.type).length > 0) return refuse(Rcode.YXRRSET, `prerequisite failed: RRset ${what} exists`);
    } else if (rr.class === view.class) {
      if (isMetaType(rr.type)) return refuse(Rcode.FORMERR, `prerequisite ${what} has a meta type`);
      const k = `${nameKey(rr.name)}/${rr.type}`;
      const v = values.get(k) ?? { name: rr.name, type: rr.type, rdata: [] };
      if (!v.rdata.some((d) => rdataEqual(rr.type, d, rr.rdata))) v.rdata.push(rr.rdata);
      values.set(k, v);
    } else return refuse(Rcode.FORMERR, `prerequisite ${what} has class ${rr.class}`);
  }
  // Value-dependent prerequisites compare whole RRsets, ignoring TTL (RFC 2136 §3.2.3).
  for (const v of values.values()) {
    const have = setOf(view.node(nameKey(v.name)), v.type).flatMap((s) => s.rdata);
    const same = have.length === v.rdata.length && v.rdata.every((d) => have.some((e) => rdataEqual(v.type, d, e)));
    if (!same) return refuse(Rcode.NXRRSET, `prerequisite failed: RRset ${v.name} ${typeName(v.type)} does not hold exactly the given data`);
  }
  return null;
}

/** RFC 2136 §3.4.1: the update section is checked whole before anything changes. */
function prescan(view: ZoneView, updates: RR[]): Decision | null {
  for (const rr of updates) {
    const what = `${rr.name} ${typeName(rr.type)}`;
    if (!isSubdomain(rr.name, view.origin)) return refuse(Rcode.NOTZONE, `update ${what} is outside ${view.origin}`);
    if (rr.class === view.class) {
      if (isMetaType(rr.type) || rr.type === Type.ANY) return refuse(Rcode.FORMERR, `cannot add a record of type ${typeName(rr.type)}`);
    } else if (rr.class === Class.ANY) {
      if (rr.ttl !== 0 || rr.rdata.length !== 0) return refuse(Rcode.FORMERR, `delete of ${what} must have TTL 0 and no rdata`);
      if (isMetaType(rr.type) && rr.type !== Type.ANY) return refuse(Rcode.FORMERR, `cannot delete type ${typeName(rr.type)}`);
    } else if (rr.class === Class.NONE) {
      if (rr.ttl !== 0) return refuse(Rcode.FORMERR, `delete of ${what} must have TTL 0`);
      if (isMetaType(rr.type) || rr.type === Type.ANY) return refuse(Rcode.FORMERR, `cannot delete a record of type ${typeName(rr.type)}`);
    } else return refuse(Rcode.FORMERR, `update ${what} has class ${rr.class}`);
  }
  return null;
}

/** Nodes copied on first write, so one update's steps see each other and the view stays untouched. */
class Scratch {
  readonly nodes = new Map<string, ZoneNode>();
  private readonly view: ZoneView;
  constructor(view: ZoneView) {
    this.view = view;
  }
  get(key: string): ZoneNode | undefined {
    return this.nodes.has(key) ? this.nodes.get(key) : this.view.node(key);
  }
  write(key: string, name: Name): ZoneNode {
    let n = this.nodes.get(key);
    if (!n) {
      const base = this.view.node(key);
      n = newNode(base?.name ?? name);
      if (base) for (const [k, s] of base.rrsets) n.rrsets.set(k, { ...s, rdata: [...s.rdata] });
      this.nodes.set(key, n);
    }
    return n;
  }
}

/** RFC 2136 §3.4.2: applies one update RR to the scratch copy. */
function applyOne(z: Scratch, view: ZoneView, rr: RR): void {
  const key = nameKey(rr.name);
  const apex = key === nameKey(view.origin);
  if (rr.class === view.class) {
    const node = z.get(key);
    if (rr.type === Type.SOA) {
      const cur = node?.rrsets.get(Type.SOA);
      // Only a newer serial replaces the SOA; anything else is ignored (RFC 2136 §3.4.2.2).
      if (!apex || !cur || !serialGt(soaSerial(rr.rdata), soaSerial(cur.rdata[0]))) return;
      z.write(key, rr.name).rrsets.set(Type.SOA, { name: cur.name, type: Type.SOA, class: rr.class, ttl: rr.ttl, rdata: [rr.rdata] });
      return;
    }
    if (node) {
      const types = [...node.rrsets.values()].map((s) => s.type);
      if (rr.type === Type.CNAME && types.some((t) => !besideCname(t))) return;
      if (!besideCname(rr.type) && node.rrsets.has(Type.CNAME)) return;
    }
    const n = z.write(key, rr.name);
    const k = rrsetKey(rr.type, rr.rdata);
    const set = n.rrsets.get(k);
    if (!set || rr.type === Type.CNAME || rr.type === Type.DNAME) {
      // CNAME and DNAME are singletons: a new one replaces the old.
      n.rrsets.set(k, { name: set?.name ?? rr.name, type: rr.type, class: rr.class, ttl: rr.ttl, rdata: [rr.rdata] });
      return;
    }
    // A record added to an RRset sets the TTL of the whole RRset, as BIND does.
    if (!set.rdata.some((d) => rdataEqual(rr.type, d, rr.rdata))) set.rdata.push(rr.rdata);
    set.ttl = rr.ttl;
    return;
  }
  const node = z.get(key);
  if (!node) return;
  if (rr.class === Class.ANY) {
    const n = z.write(key, rr.name);
    for (const [k, s] of [...n.rrsets]) {
      if (rr.type !== Type.ANY && s.type !== rr.type) continue;
      if (apex && (s.type === Type.SOA || s.type === Type.NS)) continue;
      n.rrsets.delete(k);
    }
    return;
  }
  // Class NONE: one record. The SOA stays, and so does the apex's last NS.
  if (rr.type === Type.SOA) return;
  const k = rrsetKey(rr.type, rr.rdata);
  const set = node.rrsets.get(k);
  if (!set) return;
  const i = set.rdata.findIndex((d) => rdataEqual(rr.type, d, rr.rdata));
  if (i === -1) return;
  if (apex && rr.type === Type.NS && set.rdata.length === 1) return;
  const n = z.write(key, rr.name);
  const mine = n.rrsets.get(k)!;
  mine.rdata.splice(i, 1);
  if (mine.rdata.length === 0) n.rrsets.delete(k);
}

/** The types a deletion would remove at a name, for checking them against name/type grants. */
function typesDeleted(z: Scratch, rr: RR): number[] {
  if (rr.class !== Class.ANY || rr.type !== Type.ANY) return [rr.type];
  const node = z.get(nameKey(rr.name));
  return node ? [...new Set([...node.rrsets.values()].map((s) => s.type))] : [];
}

/**
 * Decides one UPDATE message against a view of the zone (RFC 2136 §3). The zone section and TSIG
 * were checked by the caller. Returns the changeset, null when the update changes nothing, or
 * the RCODE that refuses it; a refusal changes nothing.
 */
export function decideUpdate(view: ZoneView, m: Message, who: Requester, policy: UpdatePolicy, now: Date): Decision {
  if (!allowedBy(policy.grants, who)) {
    return refuse(Rcode.REFUSED, `no allow-update grant matches ${who.key ? `key ${who.key}` : 'an unsigned request'} from ${who.address}`);
  }
  const pre = checkPrerequisites(view, m.answer);
  if (pre) return pre;
  const bad = prescan(view, m.authority);
  if (bad) return bad;
  const z = new Scratch(view);
  for (const rr of m.authority) {
    for (const t of typesDeleted(z, rr)) {
      if (!mayChange(policy.grants, who, rr.name, t)) return refuse(Rcode.REFUSED, `no grant lets ${who.key ?? who.address} change ${rr.name} ${typeName(t)}`);
    }
    applyOne(z, view, rr);
  }
  if (z.nodes.size === 0) return { ok: true, changeset: null };
  // Only the nodes the update wrote are compared. The apex is among them only if the update
  // wrote there: its SOA, the one record every change holds, is read from the view directly,
  // rather than copying the apex's every RRset and comparing them again on each update.
  const apexKey = nameKey(view.origin);
  const soa = { from: soaRecord(view.node(apexKey)?.rrsets.get(Type.SOA)), to: soaRecord(z.get(apexKey)?.rrsets.get(Type.SOA)) };
  const before: Zone = { origin: view.origin, class: view.class, nodes: new Map() };
  const after: Zone = { origin: view.origin, class: view.class, nodes: new Map() };
  for (const [k, n] of z.nodes) {
    const base = view.node(k);
    if (base) before.nodes.set(k, base);
    if (n.rrsets.size > 0) after.nodes.set(k, n);
  }
  const c = diff(before, after, soa);
  const from = soaSerial(c.soaFrom!.rdata);
  const to = soaSerial(c.soaTo.rdata);
  if (isEmptyChange(c) && to === from) return { ok: true, changeset: null };
  // An update that raised the serial itself keeps it; otherwise the zone's serial policy decides.
  if (to === from) c.soaTo = { ...c.soaTo, rdata: withSerial(c.soaTo.rdata, nextSerial(policy.serialPolicy, from, now)) };
  return { ok: true, changeset: c };
}
