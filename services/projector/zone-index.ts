// A zone with the index queries need: which names exist (empty non-terminals too), and lookup.

import { Type } from '../../shared/dns/constants.ts';
import type { RR } from '../../shared/dns/message.ts';
import { isSubdomain, nameKey, nameLabels, parentName, type Name } from '../../shared/dns/name.ts';
import { ownCopy, Packed } from '../../shared/dns/kept.ts';
import { applyChangeset, applyDerivedChangeset, type Changeset } from '../../shared/zone/changeset.ts';
import { soaOf, soaSerial, type RRset, type Zone, type ZoneNode } from '../../shared/zone/zone.ts';

/** What the zone says about a name and type (RFC 1034 §4.3.2, RFC 4592, RFC 6672). */
export type Lookup =
  | { kind: 'answer'; node: ZoneNode; rrset: RRset; wildcard: Name | null }
  | { kind: 'cname'; node: ZoneNode; rrset: RRset; wildcard: Name | null }
  | { kind: 'dname'; node: ZoneNode; rrset: RRset }
  | { kind: 'referral'; node: ZoneNode; ns: RRset }
  | { kind: 'any'; node: ZoneNode; wildcard: Name | null }
  | { kind: 'nodata'; wildcard: Name | null }
  | { kind: 'nxdomain' }
  | { kind: 'out-of-zone' };

/**
 * The changeset with every rdata it adds in memory of the zone's own (see kept.ts), since the
 * zone keeps them for as long as the records live: decoded from a message or an event, each is
 * a slice of a pool that would stay alive with it. A change of a few records gets a copy per
 * rdata; a large one (a reload, a big IXFR) packs them, like the pool but with nothing else.
 */
function kept(c: Changeset): Changeset {
  const pack = c.added.length >= 256 ? new Packed(8 * 1024) : null;
  const own = (rr: RR): RR => {
    if (rr.rdata.byteLength === rr.rdata.buffer.byteLength) return rr;
    return { ...rr, rdata: pack ? pack.copy(rr.rdata) : ownCopy(rr.rdata) };
  };
  return { ...c, soaTo: own(c.soaTo), added: c.added.map(own) };
}

export class ZoneIndex {
  readonly zone: Zone;
  /** For each name in the zone, how many nodes sit strictly below it: >0 means the name exists. */
  private readonly below = new Map<string, number>();
  private readonly apexKey: string;

  constructor(zone: Zone) {
    this.zone = zone;
    this.apexKey = nameKey(zone.origin);
    for (const key of zone.nodes.keys()) this.countAncestors(key, 1);
  }

  get serial(): number {
    const soa = soaOf(this.zone);
    return soa ? soaSerial(soa.rdata) : 0;
  }

  /** Adjusts the descendant counts of key's ancestors; reports names that began or ceased to exist. */
  private countAncestors(key: string, delta: number, flipped?: Set<string>): void {
    if (key === this.apexKey) return;
    for (let p = parentName(key); ; p = parentName(p)) {
      const n = (this.below.get(p) ?? 0) + delta;
      if (n === 0) this.below.delete(p);
      else this.below.set(p, n);
      if (flipped && (n === 0 || n === delta) && !this.zone.nodes.has(p)) flipped.add(dep.cut(p));
      if (p === this.apexKey || p === '.') break;
    }
  }

  /**
   * Applies a changeset (strictly, all or nothing, unless `derived`: decided by this process on
   * this very state, see applyDerivedChangeset) and keeps the name index in step. Returns the
   * dependency keys (see `dep`) the change touched, so cached answers built on them can be dropped.
   */
  apply(c: Changeset, derived = false): Set<string> {
    c = kept(c);
    const touched = new Map<string, boolean>();
    const keys = new Set<string>([dep.node(this.apexKey)]);
    for (const rr of [...c.removed, ...c.added] as RR[]) {
      const k = nameKey(rr.name);
      if (!touched.has(k)) touched.set(k, this.zone.nodes.has(k));
      keys.add(dep.node(k));
      if (rr.type === Type.NS || rr.type === Type.DNAME) keys.add(dep.cut(k));
    }
    if (derived) applyDerivedChangeset(this.zone, c);
    else applyChangeset(this.zone, c);
    for (const [k, before] of touched) {
      const after = this.zone.nodes.has(k);
      if (before === after) continue;
      if ((this.below.get(k) ?? 0) === 0) keys.add(dep.cut(k));
      this.countAncestors(k, after ? 1 : -1, keys);
    }
    return keys;
  }

  /** True when the name owns records or has descendants that do (an empty non-terminal). */
  exists(key: string): boolean {
    return this.zone.nodes.has(key) || (this.below.get(key) ?? 0) > 0;
  }

  /**
   * Classifies a query. Walks down from the apex one label at a time, so the cost is a few
   * map lookups per label, whatever the zone's size.
   */
  lookup(qname: Name, qtype: number, deps?: string[]): Lookup {
    const z = this.zone;
    const q = nameKey(qname);
    if (!isSubdomain(q, this.apexKey)) return { kind: 'out-of-zone' };
    const rel = q === this.apexKey ? [] : nameLabels(q.slice(0, q.length - this.apexKey.length - (this.apexKey === '.' ? 0 : 1)) + '.');
    // A DNAME at the apex redirects every name below it (RFC 6672 §2.3).
    deps?.push(dep.cut(this.apexKey));
    const apexDname = rel.length > 0 ? z.nodes.get(this.apexKey)?.rrsets.get(Type.DNAME) : undefined;
    if (apexDname) return { kind: 'dname', node: z.nodes.get(this.apexKey)!, rrset: apexDname };
    // Walk from just below the apex towards qname, stopping at a zone cut or a DNAME.
    let cur = this.apexKey;
    for (let i = rel.length - 1; i >= 0; i--) {
      const next = `${rel[i]}.${cur === '.' ? '' : cur}`;
      deps?.push(dep.cut(next));
      if (!this.exists(next)) return this.wildcard(cur, qtype, deps);
      cur = next;
      const node = z.nodes.get(cur);
      if (!node) continue;
      const ns = node.rrsets.get(Type.NS);
      if (ns && !(i === 0 && qtype === Type.DS)) return { kind: 'referral', node, ns };
      const dname = node.rrsets.get(Type.DNAME);
      if (dname && i > 0) return { kind: 'dname', node, rrset: dname };
    }
    deps?.push(dep.node(cur));
    return this.atNode(z.nodes.get(cur), qtype, null);
  }

  private atNode(node: ZoneNode | undefined, qtype: number, wildcard: Name | null): Lookup {
    if (!node) return { kind: 'nodata', wildcard };
    if (qtype === Type.ANY) return { kind: 'any', node, wildcard };
    const set = qtype === Type.RRSIG ? allSignatures(node) : node.rrsets.get(qtype);
    if (set) return { kind: 'answer', node, rrset: set, wildcard };
    const cname = node.rrsets.get(Type.CNAME);
    if (cname && qtype !== Type.CNAME) return { kind: 'cname', node, rrset: cname, wildcard };
    return { kind: 'nodata', wildcard };
  }

  // RFC 4592: the closest encloser exists, the next name down does not; try `*.<encloser>`.
  private wildcard(encloser: string, qtype: number, deps?: string[]): Lookup {
    const star = `*.${encloser === '.' ? '' : encloser}`;
    deps?.push(dep.cut(star), dep.node(star));
    const node = this.zone.nodes.get(star);
    if (!node) return this.exists(star) ? { kind: 'nodata', wildcard: star } : { kind: 'nxdomain' };
    return this.atNode(node, qtype, star);
  }
}

/**
 * Keys for what a cached answer was built from. `node:` is everything at one name (any change of
 * its records); `cut:` is whether a name exists and whether it holds NS or DNAME (what the walk
 * down from the apex looks at). Negative answers carry the SOA, so they depend on the apex node.
 */
export const dep = {
  node: (key: string): string => `n:${key}`,
  cut: (key: string): string => `c:${key}`,
};

/** A node's RRSIGs are kept per covered type; a query for RRSIG gets them all in one set. */
function allSignatures(node: ZoneNode): RRset | undefined {
  const sets = [...node.rrsets.values()].filter((s) => s.type === Type.RRSIG);
  if (sets.length === 0) return undefined;
  return { ...sets[0], ttl: Math.min(...sets.map((s) => s.ttl)), rdata: sets.flatMap((s) => s.rdata) };
}
