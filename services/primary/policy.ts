// Who may update or transfer a zone: grants matched on TSIG key and address prefix, narrowed by names and types.
//
// Like Knot's acl.c and BIND's allow-update/update-policy: a grant lists conditions, and a request
// matches when every condition given holds. Pure, so the update path can ask it per record.

import { isIP } from 'node:net';
import { Type } from '../../shared/dns/constants.ts';
import { isSubdomain, nameKey, namesEqual, type Name } from '../../shared/dns/name.ts';
import type { Grant } from '../config/types.ts';

/** Who sent a request: the TSIG key that verified (null if unsigned) and the source address. */
export interface Requester {
  key: Name | null;
  address: string;
}

/** An address prefix: 4 or 16 bytes and how many leading bits count. */
export interface Prefix {
  bytes: Uint8Array;
  length: number;
}

function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return null;
    const v = Number(parts[i]);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | null {
  // A zone index (fe80::1%eth0) names an interface, not part of the address.
  const pct = text.indexOf('%');
  if (pct !== -1) text = text.slice(0, pct);
  const groups: number[] = [];
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (s: string, allowV4Tail: boolean): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  if (halves.length === 2) {
    const head = parseGroups(halves[0], false);
    const tail = parseGroups(halves[1], true);
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    const all = parseGroups(text, true);
    if (!all || all.length !== 8) return null;
    groups.push(...all);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * An address as bytes; IPv4-mapped IPv6 (::ffff:192.0.2.1, what a dual-stack socket reports for
 * an IPv4 client) becomes plain IPv4, so that IPv4 prefixes match it. Null when not an address.
 */
export function parseAddress(text: string): Uint8Array | null {
  const family = isIP(text);
  const b = family === 4 ? parseIPv4(text) : family === 6 ? parseIPv6(text) : null;
  if (b && isV4Mapped(b)) return b.slice(12);
  return b;
}

/**
 * Parses "ADDRESS/LENGTH" or a single address (a full-length prefix). Host bits beyond the length
 * are ignored, as in BIND's ACLs. An IPv4-mapped IPv6 prefix of at least /96 becomes the IPv4
 * prefix it covers. Null when the text is not an address or the length is out of range.
 */
export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf('/');
  const addr = slash === -1 ? text : text.slice(0, slash);
  const family = isIP(addr);
  const bytes = family === 4 ? parseIPv4(addr) : family === 6 ? parseIPv6(addr) : null;
  if (!bytes) return null;
  let length = bytes.length * 8;
  if (slash !== -1) {
    const l = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l) || Number(l) > length) return null;
    length = Number(l);
  }
  if (isV4Mapped(bytes) && length >= 96) return { bytes: bytes.slice(12), length: length - 96 };
  return { bytes, length };
}

/** True when `addr` (from parseAddress) lies inside `p`; families must agree. */
export function inPrefix(addr: Uint8Array, p: Prefix): boolean {
  if (addr.length !== p.bytes.length) return false;
  const whole = p.length >> 3;
  for (let i = 0; i < whole; i++) if (addr[i] !== p.bytes[i]) return false;
  const rest = p.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (addr[whole] & mask) === (p.bytes[whole] & mask);
}

// Grants come from the config, so their prefixes are few: parse each once. The requester's
// address changes per request but is asked about once per record of an update: remember the last.
const prefixes = new Map<string, Prefix | null>();
let lastAddressText = '';
let lastAddress: Uint8Array | null = null;

function grantPrefix(text: string): Prefix | null {
  let p = prefixes.get(text);
  if (p === undefined) {
    p = parsePrefix(text);
    if (prefixes.size < 10_000) prefixes.set(text, p);
  }
  return p;
}

function requesterAddress(text: string): Uint8Array | null {
  if (text !== lastAddressText) {
    lastAddress = parseAddress(text);
    lastAddressText = text;
  }
  return lastAddress;
}

/**
 * True when every condition the grant gives holds for the requester: the key (case-insensitive)
 * and the address prefix. A grant with neither condition matches nobody, so that an entry whose
 * conditions were left out by mistake never opens a zone to everyone.
 */
export function matchesRequester(g: Grant, who: Requester): boolean {
  if (g.key === undefined && g.address === undefined) return false;
  if (g.key !== undefined && (who.key === null || !namesEqual(g.key, who.key))) return false;
  if (g.address !== undefined) {
    const p = grantPrefix(g.address);
    const a = requesterAddress(who.address);
    if (!p || !a || !inPrefix(a, p)) return false;
  }
  return true;
}

/** True when some grant matches the requester (transfers; the first gate of an update). */
export function allowedBy(grants: readonly Grant[], who: Requester): boolean {
  for (const g of grants) if (matchesRequester(g, who)) return true;
  return false;
}

function nameCovered(names: readonly Name[], owner: Name): boolean {
  const key = nameKey(owner);
  for (const n of names) {
    if (n.startsWith('*.')) {
      const suffix = n.slice(2);
      if (isSubdomain(owner, suffix) && !namesEqual(owner, suffix)) return true;
    } else if (nameKey(n) === key) return true;
  }
  return false;
}

/**
 * True when some grant matching the requester covers a change to `type` records at `owner`.
 * `names` entries match exactly (ignoring case), or with a leading "*." any name strictly below
 * the rest. Absent names or types cover everything. Type ANY (an update deleting every RRset at a
 * name) is covered only by a grant without `types`: a caller honouring type limits should ask for
 * each RRset type present instead.
 */
export function mayChange(grants: readonly Grant[], who: Requester, owner: Name, type: number): boolean {
  for (const g of grants) {
    if (!matchesRequester(g, who)) continue;
    if (g.names !== undefined && !nameCovered(g.names, owner)) continue;
    if (g.types !== undefined && (type === Type.ANY || !g.types.includes(type))) continue;
    return true;
  }
  return false;
}
