// Presentation-format primitives shared by rdata codecs and the master-file parser.

import { WireError } from './errors.ts';

/** One token of a master-file line: raw text with escapes undecoded, and whether it was quoted. */
export interface Token {
  text: string;
  quoted: boolean;
}

export function badText(msg: string): WireError {
  return new WireError('bad-text', msg);
}

/** Decodes `\X` and `\DDD` escapes into bytes (text chars are bytes: files are read as latin1). */
export function unescapeBytes(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x5c) {
      if (c > 0xff) throw badText(`character U+${c.toString(16)} is not a byte`);
      out.push(c);
      continue;
    }
    if (i + 1 >= text.length) throw badText(`dangling backslash in "${text}"`);
    const d = text.charCodeAt(i + 1);
    if (d >= 0x30 && d <= 0x39) {
      const digits = text.slice(i + 1, i + 4);
      if (!/^\d{3}$/.test(digits)) throw badText(`bad escape "\\${digits}" in "${text}": \\DDD needs three digits`);
      const v = Number(digits);
      if (v > 255) throw badText(`bad escape "\\${digits}" in "${text}": above 255`);
      out.push(v);
      i += 3;
    } else {
      if (d > 0xff) throw badText(`character U+${d.toString(16)} is not a byte`);
      out.push(d);
      i += 1;
    }
  }
  return out;
}

/** A character-string as BIND prints it: quoted, `"` and `\` escaped, other non-printables as \DDD. */
export function quoteBytes(b: Uint8Array, start = 0, end = b.length): string {
  let s = '"';
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c === 0x22 || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += '\\' + String(c).padStart(3, '0');
  }
  return s + '"';
}

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A TTL: plain seconds, or BIND's unit form such as 1h30m or 2W. Undefined if it is neither. */
export function parseTtl(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const v = Number(text);
    return v <= 0xffffffff ? v : undefined;
  }
  if (!/^(\d+[smhdwSMHDW])+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+)([smhdwSMHDW])/g)) total += Number(m[1]) * TTL_UNITS[m[2].toLowerCase()];
  return total <= 0xffffffff ? total : undefined;
}

export function parseU(text: string, bits: 8 | 16 | 32, what: string): number {
  if (!/^\d+$/.test(text)) throw badText(`${what} "${text}" is not a number`);
  const v = Number(text);
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (v > max) throw badText(`${what} ${text} is out of range (max ${max})`);
  return v;
}

export function parseIPv4(text: string): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4) throw badText(`"${text}" is not an IPv4 address`);
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    // Leading zeros are refused, as BIND and inet_pton do: 010 might mean octal to someone.
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) throw badText(`"${text}" is not an IPv4 address`);
    out[i] = Number(p);
  }
  return out;
}

export function formatIPv4(b: Uint8Array, o = 0): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

export function parseIPv6(text: string): Uint8Array {
  const bad = (): WireError => badText(`"${text}" is not an IPv6 address`);
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) throw bad();
  let head = text;
  let v4: Uint8Array | null = null;
  if (text.includes('.')) {
    // A dotted IPv4 tail stands for the last two groups; drop it and its separating colon.
    const i = text.lastIndexOf(':');
    if (i === -1) throw bad();
    v4 = parseIPv4(text.slice(i + 1));
    head = text.slice(0, i + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const dbl = head.indexOf('::');
  if (dbl !== -1 && head.indexOf('::', dbl + 1) !== -1) throw bad();
  const groupsOf = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const want = v4 ? 6 : 8;
  let groups: string[];
  if (dbl !== -1) {
    const left = groupsOf(head.slice(0, dbl));
    const right = groupsOf(head.slice(dbl + 2));
    const fill = want - left.length - right.length;
    if (fill < 1) throw bad();
    groups = [...left, ...new Array<string>(fill).fill('0'), ...right];
  } else groups = groupsOf(head);
  if (groups.length !== want) throw bad();
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) throw bad();
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

/** RFC 5952 text: lower case, longest run (≥2) of zero groups as ::, first such run on ties. */
export function formatIPv6(b: Uint8Array, o = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + i * 2] << 8) | b[o + i * 2 + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  // IPv4-mapped and IPv4-compatible forms print their tail dotted, as inet_ntop does.
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
    return (bestLen === 5 ? '::ffff:' : '::') + formatIPv4(b, o + 12);
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart === -1) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

export function parseBase64(text: string, what: string): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw badText(`${what}: "${text.length > 40 ? text.slice(0, 40) + '…' : text}" is not base64`);
  return Buffer.from(text, 'base64');
}

export function formatBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

export function parseHex(text: string, what: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(text)) throw badText(`${what}: "${text}" is not an even number of hex digits`);
  return Buffer.from(text, 'hex');
}

export function formatHex(b: Uint8Array, upper = true): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return upper ? s.toUpperCase() : s;
}

const B32HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV';

/** RFC 4648 §7 base32 with the extended hex alphabet, unpadded (NSEC3 hashed owner names). */
export function parseBase32Hex(text: string, what: string): Uint8Array {
  const t = text.toUpperCase().replace(/=+$/, '');
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of t) {
    const v = B32HEX.indexOf(ch);
    if (v === -1) throw badText(`${what}: "${text}" is not base32hex`);
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) throw badText(`${what}: "${text}" has stray bits`);
  return Uint8Array.from(out);
}

export function formatBase32Hex(b: Uint8Array): string {
  let s = '';
  let acc = 0;
  let bits = 0;
  for (const byte of b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      s += B32HEX[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) s += B32HEX[(acc << (5 - bits)) & 31];
  return s;
}

/** RRSIG times: YYYYMMDDHHmmSS (UTC) or plain seconds, as a 32-bit serial-arithmetic value. */
export function parseSigTime(text: string): number {
  if (/^\d{14}$/.test(text)) {
    const ms = Date.UTC(+text.slice(0, 4), +text.slice(4, 6) - 1, +text.slice(6, 8), +text.slice(8, 10), +text.slice(10, 12), +text.slice(12, 14));
    // Date.UTC rolls month 13 into the next year; a real date prints back the same.
    if (Number.isNaN(ms) || formatSigTime((ms / 1000) % 0x100000000) !== text || ms < 0) throw badText(`bad time "${text}"`);
    return (ms / 1000) % 0x100000000;
  }
  return parseU(text, 32, 'time');
}

export function formatSigTime(v: number): string {
  const d = new Date(v * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}
