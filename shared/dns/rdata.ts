// Rdata codecs: one field layout per type drives wire decoding, text parsing, printing and canonical form.
//
// Rdata is kept as uncompressed wire bytes with the case it arrived in. That makes unknown types
// (RFC 3597) and DNSSEC records exact by construction; the layouts below add validation,
// decompression of embedded names, the presentation format and RFC 4034 §6.2 canonical form.

import { Type, typeFromName, typeName } from './constants.ts';
import { WireError } from './errors.ts';
import { presentationTokens } from './lexer.ts';
import { parseName, readName, type Name } from './name.ts';
import {
  badText, formatBase32Hex, formatBase64, formatHex, formatIPv4, formatIPv6, formatSigTime,
  parseBase32Hex, parseBase64, parseHex, parseIPv4, parseIPv6, parseSigTime, parseTtl, parseU,
  quoteBytes, unescapeBytes, type Token,
} from './text.ts';
import { WireReader, WireWriter } from './wire.ts';

type Field =
  | { k: 'name'; compress: boolean; canon: boolean }
  | { k: 'u8' | 'u16' | 'u32' | 'ttl' | 'time' | 'type' | 'ipv4' | 'ipv6' }
  | { k: 'string' }    // one <character-string>
  | { k: 'strings' }   // one or more, to the end (TXT)
  | { k: 'base64' }    // the rest
  | { k: 'hex' }       // the rest
  | { k: 'salt' }      // 8-bit length, hex text or "-"
  | { k: 'hash' }      // 8-bit length, base32hex text
  | { k: 'bitmap' }    // NSEC type bitmap, the rest
  | { k: 'svcparams' } // SVCB parameters, the rest
  | { k: 'tag' }       // CAA tag: 8-bit length, alphanumeric
  | { k: 'rest' }      // the rest as one quoted string without a length octet (CAA value, URI target)
  | { k: 'loc' };      // the whole LOC rdata (RFC 1876)

const nameC: Field = { k: 'name', compress: true, canon: true };   // RFC 1035 types: compressible
const nameN: Field = { k: 'name', compress: false, canon: true };  // later types: never compressed
const nameX: Field = { k: 'name', compress: false, canon: false }; // not case-folded (RFC 6840 §5.1)
const u8: Field = { k: 'u8' };
const u16: Field = { k: 'u16' };
const u32: Field = { k: 'u32' };
const ttl: Field = { k: 'ttl' };

const LAYOUTS = new Map<number, Field[]>([
  [Type.A, [{ k: 'ipv4' }]],
  [Type.NS, [nameC]],
  [Type.MD, [nameC]],
  [Type.MF, [nameC]],
  [Type.CNAME, [nameC]],
  [Type.SOA, [nameC, nameC, u32, ttl, ttl, ttl, ttl]],
  [Type.MB, [nameC]],
  [Type.MG, [nameC]],
  [Type.MR, [nameC]],
  [Type.PTR, [nameC]],
  [Type.HINFO, [{ k: 'string' }, { k: 'string' }]],
  [Type.MINFO, [nameC, nameC]],
  [Type.MX, [u16, nameC]],
  [Type.TXT, [{ k: 'strings' }]],
  [Type.RP, [nameN, nameN]],
  [Type.AFSDB, [u16, nameN]],
  [Type.RT, [u16, nameN]],
  [Type.PX, [u16, nameN, nameN]],
  [Type.AAAA, [{ k: 'ipv6' }]],
  [Type.LOC, [{ k: 'loc' }]],
  [Type.SRV, [u16, u16, u16, nameN]],
  [Type.NAPTR, [u16, u16, { k: 'string' }, { k: 'string' }, { k: 'string' }, nameN]],
  [Type.KX, [u16, nameN]],
  [Type.DNAME, [nameN]],
  [Type.DS, [u16, u8, u8, { k: 'hex' }]],
  [Type.CDS, [u16, u8, u8, { k: 'hex' }]],
  [Type.SSHFP, [u8, u8, { k: 'hex' }]],
  [Type.RRSIG, [{ k: 'type' }, u8, u8, u32, { k: 'time' }, { k: 'time' }, u16, nameN, { k: 'base64' }]],
  [Type.SIG, [{ k: 'type' }, u8, u8, u32, { k: 'time' }, { k: 'time' }, u16, nameN, { k: 'base64' }]],
  [Type.NSEC, [nameX, { k: 'bitmap' }]],
  [Type.DNSKEY, [u16, u8, u8, { k: 'base64' }]],
  [Type.CDNSKEY, [u16, u8, u8, { k: 'base64' }]],
  [Type.KEY, [u16, u8, u8, { k: 'base64' }]],
  [Type.DHCID, [{ k: 'base64' }]],
  [Type.NSEC3, [u8, u8, u16, { k: 'salt' }, { k: 'hash' }, { k: 'bitmap' }]],
  [Type.NSEC3PARAM, [u8, u8, u16, { k: 'salt' }]],
  [Type.TLSA, [u8, u8, u8, { k: 'hex' }]],
  [Type.SMIMEA, [u8, u8, u8, { k: 'hex' }]],
  [Type.OPENPGPKEY, [{ k: 'base64' }]],
  [Type.ZONEMD, [u32, u8, u8, { k: 'hex' }]],
  [Type.SVCB, [u16, nameX, { k: 'svcparams' }]],
  [Type.HTTPS, [u16, nameX, { k: 'svcparams' }]],
  [Type.SPF, [{ k: 'strings' }]],
  [Type.URI, [u16, u16, { k: 'rest' }]],
  [Type.CAA, [u8, { k: 'tag' }, { k: 'rest' }]],
]);

// Digest sizes of the DS digest types (RFC 4034, 4509, 6605), which BIND checks too.
const DS_DIGEST_SIZE = new Map([[1, 20], [2, 32], [4, 48]]);

/** Rules beyond the field layout. */
function checkExtra(type: number, rdata: Uint8Array): void {
  if ((type === Type.DS || type === Type.CDS) && rdata.length >= 4) {
    const want = DS_DIGEST_SIZE.get(rdata[3]);
    if (want !== undefined && rdata.length - 4 !== want) throw new WireError('bad-rdata', `${typeName(type)} digest type ${rdata[3]} needs ${want} octets, not ${rdata.length - 4}`);
  }
}

function hasNames(fields: Field[]): boolean {
  return fields.some((f) => f.k === 'name');
}

// ------------------------------------------------------------------ SVCB parameters (RFC 9460)

const SVC_KEYS = ['mandatory', 'alpn', 'no-default-alpn', 'port', 'ipv4hint', 'ech', 'ipv6hint', 'dohpath', 'ohttp'];

function svcKeyName(k: number): string {
  return SVC_KEYS[k] ?? `key${k}`;
}

function svcKeyFromName(s: string): number {
  const i = SVC_KEYS.indexOf(s.toLowerCase());
  if (i !== -1) return i;
  const m = /^key(\d{1,5})$/i.exec(s);
  if (m && Number(m[1]) <= 65535) return Number(m[1]);
  throw badText(`unknown SVCB key "${s}"`);
}

/** Splits a value-list on commas that are not escaped (RFC 9460 Appendix A.1). */
function splitValueList(bytes: number[]): number[][] {
  const items: number[][] = [[]];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x5c && i + 1 < bytes.length) {
      items[items.length - 1].push(bytes[++i]);
    } else if (b === 0x2c) items.push([]);
    else items[items.length - 1].push(b);
  }
  return items;
}

function svcValueFromText(key: number, value: string | undefined): Uint8Array {
  const w = new WireWriter(false, 64);
  const need = (): string => {
    if (value === undefined || value === '') throw badText(`SVCB ${svcKeyName(key)} needs a value`);
    return value;
  };
  switch (key) {
    case 0: {
      const keys = need().split(',').map(svcKeyFromName).sort((a, b) => a - b);
      for (let i = 1; i < keys.length; i++) if (keys[i] === keys[i - 1]) throw badText('SVCB mandatory lists a key twice');
      if (keys.includes(0)) throw badText('SVCB mandatory must not list itself');
      keys.forEach((k) => w.u16(k));
      break;
    }
    case 1:
      for (const item of splitValueList(unescapeBytes(need()))) {
        if (item.length === 0 || item.length > 255) throw badText('SVCB alpn has an empty or over-long item');
        w.u8(item.length);
        w.bytes(Uint8Array.from(item));
      }
      break;
    case 2:
    case 8:
      if (value !== undefined && value !== '') throw badText(`SVCB ${svcKeyName(key)} takes no value`);
      break;
    case 3:
      w.u16(parseU(need(), 16, 'SVCB port'));
      break;
    case 4:
      for (const a of need().split(',')) w.bytes(parseIPv4(a));
      break;
    case 5:
      w.bytes(parseBase64(need(), 'SVCB ech'));
      break;
    case 6:
      for (const a of need().split(',')) w.bytes(parseIPv6(a));
      break;
    default:
      if (value !== undefined) w.bytes(Uint8Array.from(unescapeBytes(value)));
  }
  return w.finish();
}

function svcValueToText(key: number, v: Uint8Array): string {
  const r = new WireReader(v);
  switch (key) {
    case 0: {
      const out: string[] = [];
      while (r.pos < v.length) out.push(svcKeyName(r.u16()));
      return out.join(',');
    }
    case 1: {
      const items: string[] = [];
      while (r.pos < v.length) {
        const item = r.bytes(r.u8());
        let s = '';
        for (const b of item) s += b === 0x2c || b === 0x5c ? '\\' + String.fromCharCode(b) : String.fromCharCode(b);
        items.push(s);
      }
      return quoteBytes(Buffer.from(items.join(','), 'latin1'));
    }
    case 3:
      return String(r.u16());
    case 4: {
      const out: string[] = [];
      for (let o = 0; o < v.length; o += 4) out.push(formatIPv4(v, o));
      return out.join(',');
    }
    case 5:
      return formatBase64(v);
    case 6: {
      const out: string[] = [];
      for (let o = 0; o < v.length; o += 16) out.push(formatIPv6(v, o));
      return out.join(',');
    }
    default:
      return quoteBytes(v);
  }
}

function checkSvcValue(key: number, v: Uint8Array): void {
  const bad = (why: string): WireError => new WireError('bad-rdata', `SVCB ${svcKeyName(key)}: ${why}`);
  switch (key) {
    case 0:
      if (v.length === 0 || v.length % 2) throw bad('length must be a non-zero multiple of 2');
      break;
    case 1: {
      if (v.length === 0) throw bad('empty');
      let o = 0;
      while (o < v.length) {
        if (v[o] === 0) throw bad('empty protocol id');
        o += 1 + v[o];
      }
      if (o !== v.length) throw bad('protocol ids overrun the value');
      break;
    }
    case 2:
    case 8:
      if (v.length !== 0) throw bad('must be empty');
      break;
    case 3:
      if (v.length !== 2) throw bad('must be 2 octets');
      break;
    case 4:
      if (v.length === 0 || v.length % 4) throw bad('length must be a non-zero multiple of 4');
      break;
    case 5:
      if (v.length === 0) throw bad('empty');
      break;
    case 6:
      if (v.length === 0 || v.length % 16) throw bad('length must be a non-zero multiple of 16');
      break;
  }
}

function svcParamsFromText(tokens: Token[], w: WireWriter): void {
  const params: [number, Uint8Array][] = [];
  for (const t of tokens) {
    const eq = t.text.indexOf('=');
    const keyText = eq === -1 ? t.text : t.text.slice(0, eq);
    const key = svcKeyFromName(keyText);
    params.push([key, svcValueFromText(key, eq === -1 ? undefined : t.text.slice(eq + 1))]);
  }
  params.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < params.length; i++) if (params[i][0] === params[i - 1][0]) throw badText(`SVCB key ${svcKeyName(params[i][0])} appears twice`);
  for (const [k, v] of params) {
    w.u16(k);
    w.u16(v.length);
    w.bytes(v);
  }
}

function walkSvcParams(r: WireReader, end: number, print: string[] | null): void {
  let last = -1;
  const keys: number[] = [];
  const mandatory: number[] = [];
  while (r.pos < end) {
    const key = r.u16('SVCB key');
    if (key <= last) throw new WireError('bad-rdata', 'SVCB keys are not in strictly increasing order');
    last = key;
    keys.push(key);
    const len = r.u16('SVCB length');
    if (r.pos + len > end) throw new WireError('bad-rdata', 'SVCB value overruns the rdata');
    const v = r.bytes(len);
    checkSvcValue(key, v);
    if (key === 0) for (let o = 0; o < v.length; o += 2) mandatory.push((v[o] << 8) | v[o + 1]);
    if (print) print.push(v.length === 0 && (key === 2 || key === 8 || key > 8) ? svcKeyName(key) : `${svcKeyName(key)}=${svcValueToText(key, v)}`);
  }
  // RFC 9460 §8: mandatory lists other keys, in increasing order, each present in the record.
  for (let i = 0; i < mandatory.length; i++) {
    const k = mandatory[i];
    if (k === 0) throw new WireError('bad-rdata', 'SVCB mandatory lists itself');
    if (i > 0 && k <= mandatory[i - 1]) throw new WireError('bad-rdata', 'SVCB mandatory keys are not in strictly increasing order');
    if (!keys.includes(k)) throw new WireError('bad-rdata', `SVCB mandatory lists ${svcKeyName(k)}, which the record does not have`);
  }
}

// ------------------------------------------------------------------ type bitmaps (RFC 4034 §4.1.2)

function bitmapFromText(tokens: Token[], w: WireWriter): void {
  const types = [...new Set(tokens.map((t) => {
    const v = typeFromName(t.text);
    if (v === undefined) throw badText(`unknown type "${t.text}" in type bitmap`);
    return v;
  }))].sort((a, b) => a - b);
  let i = 0;
  while (i < types.length) {
    const window = types[i] >> 8;
    const bits = new Uint8Array(32);
    let max = 0;
    while (i < types.length && types[i] >> 8 === window) {
      const low = types[i] & 0xff;
      bits[low >> 3] |= 0x80 >> (low & 7);
      max = Math.max(max, (low >> 3) + 1);
      i++;
    }
    w.u8(window);
    w.u8(max);
    w.bytes(bits.subarray(0, max));
  }
}

function walkBitmap(r: WireReader, end: number, print: string[] | null): void {
  let last = -1;
  while (r.pos < end) {
    const window = r.u8('bitmap window');
    const len = r.u8('bitmap length');
    if (window <= last) throw new WireError('bad-rdata', 'type bitmap windows out of order');
    if (len < 1 || len > 32) throw new WireError('bad-rdata', `type bitmap length ${len}`);
    if (r.pos + len > end) throw new WireError('bad-rdata', 'type bitmap overruns the rdata');
    last = window;
    const bits = r.bytes(len);
    // RFC 4034 §4.1.2: trailing zero octets are left out, so a window never ends in zero.
    if (bits[len - 1] === 0) throw new WireError('bad-rdata', `type bitmap window ${window} ends in a zero octet`);
    if (print) for (let i = 0; i < len * 8; i++) if (bits[i >> 3] & (0x80 >> (i & 7))) print.push(typeName(window * 256 + i));
  }
}

// ------------------------------------------------------------------ LOC (RFC 1876)

const LOC_EQUATOR = 2 ** 31;
const LOC_ALT_BASE = 10_000_000; // altitude is in cm above 100 km below the WGS 84 spheroid

/** Size and precision octets: mantissa (high nibble) × 10^exponent (low nibble) centimetres. */
function locPrecFromText(text: string, what: string): number {
  const m = /^(\d+)(?:\.(\d{1,2}))?m?$/.exec(text);
  if (!m) throw badText(`LOC ${what} "${text}" is not a size in metres`);
  let cm = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  let exp = 0;
  while (cm >= 10 && exp < 9) {
    cm = Math.floor(cm / 10);
    exp++;
  }
  if (cm > 9) throw badText(`LOC ${what} "${text}" is too large`);
  return (cm << 4) | exp;
}

function locPrecToText(v: number): string {
  const cm = (v >> 4) * 10 ** (v & 0xf);
  return cm % 100 === 0 ? `${cm / 100}m` : `${(cm / 100).toFixed(2)}m`;
}

function locFromText(t: string[]): Uint8Array {
  let i = 0;
  const angle = (hemis: string, max: number): number => {
    const deg = parseU(t[i++] ?? '', 16, 'LOC degrees');
    let min = 0;
    let sec = 0;
    if (t[i] !== undefined && /^\d+$/.test(t[i])) {
      min = Number(t[i++]);
      if (t[i] !== undefined && /^\d+(\.\d{1,3})?$/.test(t[i])) sec = Number(t[i++]);
    }
    const h = (t[i++] ?? '').toUpperCase();
    if (!hemis.includes(h) || h === '') throw badText(`LOC needs ${hemis.split('').join(' or ')} after the ${max === 90 ? 'latitude' : 'longitude'}`);
    const ms = Math.round((deg * 3600 + min * 60 + sec) * 1000);
    if (min > 59 || sec >= 60 || ms > max * 3_600_000) throw badText('LOC coordinate out of range');
    return h === hemis[0] ? LOC_EQUATOR + ms : LOC_EQUATOR - ms;
  };
  const lat = angle('NS', 90);
  const lon = angle('EW', 180);
  const altText = t[i++];
  const am = altText === undefined ? null : /^(-?\d+)(?:\.(\d{1,2}))?m?$/.exec(altText);
  if (!am) throw badText(`LOC altitude "${altText ?? ''}" is not metres`);
  const sign = am[1].startsWith('-') ? -1 : 1;
  const alt = LOC_ALT_BASE + sign * (Math.abs(Number(am[1])) * 100 + Number((am[2] ?? '').padEnd(2, '0')));
  if (alt < 0 || alt > 0xffffffff) throw badText('LOC altitude out of range');
  const size = t[i] !== undefined ? locPrecFromText(t[i++], 'size') : 0x12;
  const hp = t[i] !== undefined ? locPrecFromText(t[i++], 'horizontal precision') : 0x16;
  const vp = t[i] !== undefined ? locPrecFromText(t[i++], 'vertical precision') : 0x13;
  if (i < t.length) throw badText(`unexpected "${t[i]}" after LOC data`);
  const b = Buffer.alloc(16);
  b[1] = size;
  b[2] = hp;
  b[3] = vp;
  b.writeUInt32BE(lat, 4);
  b.writeUInt32BE(lon, 8);
  b.writeUInt32BE(alt, 12);
  return b;
}

/** LOC wire rules that keep the text form readable: version 0, coordinates and precisions in range. */
function checkLoc(b: Uint8Array): void {
  if (b[0] !== 0) throw new WireError('bad-rdata', `LOC version ${b[0]} is unknown`);
  for (const p of [b[1], b[2], b[3]]) if (p >> 4 > 9 || (p & 0xf) > 9) throw new WireError('bad-rdata', `LOC size or precision octet 0x${p.toString(16)} is not a digit pair`);
  const v = new DataView(b.buffer, b.byteOffset, 16);
  if (Math.abs(v.getUint32(4) - LOC_EQUATOR) > 90 * 3_600_000) throw new WireError('bad-rdata', 'LOC latitude beyond 90 degrees');
  if (Math.abs(v.getUint32(8) - LOC_EQUATOR) > 180 * 3_600_000) throw new WireError('bad-rdata', 'LOC longitude beyond 180 degrees');
}

function locToText(b: Uint8Array): string {
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const angle = (raw: number, pos: string, neg: string): string => {
    let ms = raw - LOC_EQUATOR;
    const h = ms < 0 ? neg : pos;
    ms = Math.abs(ms);
    const deg = Math.floor(ms / 3_600_000);
    const min = Math.floor((ms % 3_600_000) / 60_000);
    const sec = (ms % 60_000) / 1000;
    return `${deg} ${min} ${sec.toFixed(3)} ${h}`;
  };
  const altCm = v.getUint32(12) - LOC_ALT_BASE;
  const alt = `${altCm < 0 ? '-' : ''}${Math.floor(Math.abs(altCm) / 100)}.${String(Math.abs(altCm) % 100).padStart(2, '0')}m`;
  return `${angle(v.getUint32(4), 'N', 'S')} ${angle(v.getUint32(8), 'E', 'W')} ${alt} ${locPrecToText(b[1])} ${locPrecToText(b[2])} ${locPrecToText(b[3])}`;
}

// ------------------------------------------------------------------ the walker

interface WalkOptions {
  /** Re-emit the rdata uncompressed here (names decompressed against the whole message). */
  out?: WireWriter;
  /** Collect the presentation tokens here. */
  print?: string[];
  /** Lower-case names in canonical fields (RFC 4034 §6.2) while re-emitting. */
  fold?: boolean;
  /** The rdata sits in a message and its names may be compressed; stored rdata never is. */
  compressed?: boolean;
}

/**
 * Walks rdata between r.pos and end, validating it as strictly as the text parser does, so
 * that whatever is accepted in wire or `\#` form prints in a form that reads back the same.
 */
function walk(fields: Field[], r: WireReader, end: number, o: WalkOptions = {}): void {
  const { out, print, fold = false, compressed = false } = o;
  for (let fi = 0; fi < fields.length; fi++) {
    const f = fields[fi];
    if (r.pos > end || (r.pos === end && f.k !== 'bitmap' && f.k !== 'svcparams' && f.k !== 'rest')) {
      throw new WireError('bad-rdata', `rdata ends before its ${f.k} field`);
    }
    const start = r.pos;
    switch (f.k) {
      case 'name': {
        const [n, next] = readName(r.msg, r.pos, compressed);
        if (next > end) throw new WireError('bad-rdata', 'name runs past the rdata');
        r.pos = next;
        if (out) out.name(fold && f.canon ? n.toLowerCase() : n, false, false);
        if (print) print.push(n);
        continue;
      }
      case 'u8': { const v = r.u8(); print?.push(String(v)); break; }
      case 'u16': { const v = r.u16(); print?.push(String(v)); break; }
      case 'u32': case 'ttl': { const v = r.u32(); print?.push(String(v)); break; }
      case 'time': { const v = r.u32(); print?.push(formatSigTime(v)); break; }
      case 'type': { const v = r.u16(); print?.push(typeName(v)); break; }
      case 'ipv4': { r.need(4, 'IPv4 address'); print?.push(formatIPv4(r.msg, r.pos)); r.pos += 4; break; }
      case 'ipv6': { r.need(16, 'IPv6 address'); print?.push(formatIPv6(r.msg, r.pos)); r.pos += 16; break; }
      case 'string': case 'tag': case 'salt': case 'hash': {
        const len = r.u8();
        const b = r.bytes(len);
        if (f.k === 'tag' && (len === 0 || !/^[A-Za-z0-9]+$/.test(Buffer.from(b).toString('latin1')))) throw new WireError('bad-rdata', 'CAA tag must be non-empty and alphanumeric');
        if (f.k === 'hash' && len === 0) throw new WireError('bad-rdata', 'NSEC3 next hashed owner is empty');
        if (print) {
          if (f.k === 'string') print.push(quoteBytes(b));
          else if (f.k === 'tag') print.push(Buffer.from(b).toString('latin1'));
          else if (f.k === 'salt') print.push(len === 0 ? '-' : formatHex(b));
          else print.push(formatBase32Hex(b));
        }
        break;
      }
      case 'strings': {
        if (r.pos === end) throw new WireError('bad-rdata', 'TXT needs at least one string');
        while (r.pos < end) {
          const b = r.bytes(r.u8());
          print?.push(quoteBytes(b));
        }
        break;
      }
      case 'base64': case 'hex': case 'rest': {
        const b = r.bytes(end - r.pos);
        if (print) {
          if (f.k === 'base64') print.push(formatBase64(b));
          else if (f.k === 'hex') print.push(formatHex(b));
          else print.push(quoteBytes(b));
        }
        break;
      }
      case 'bitmap': walkBitmap(r, end, print ?? null); break;
      case 'svcparams': walkSvcParams(r, end, print ?? null); break;
      case 'loc': {
        if (end - r.pos !== 16) throw new WireError('bad-rdata', `LOC rdata is ${end - r.pos} octets, not 16`);
        const b = r.bytes(16);
        checkLoc(b);
        print?.push(locToText(b));
        break;
      }
    }
    if (out) out.bytes(r.msg.subarray(start, r.pos));
  }
  if (r.pos !== end) throw new WireError('bad-rdata', `${end - r.pos} octets left over after the last field`);
}

/**
 * Reads the rdata of an RR at `pos` (rdlength `len`) in a whole message, decompressing names.
 * Zero-length rdata is accepted for every type: RFC 2136 deletions use it.
 */
export function readRdata(type: number, msg: Uint8Array, pos: number, len: number): Uint8Array {
  if (pos + len > msg.length) throw new WireError('truncated', `rdata at offset ${pos} runs past the end`);
  if (len === 0) return new Uint8Array(0);
  const fields = LAYOUTS.get(type);
  if (fields === undefined) return Buffer.from(msg.subarray(pos, pos + len));
  // Reads stop at the end of the rdata; names may still point back anywhere before it.
  const r = new WireReader(msg.subarray(0, pos + len), pos);
  return asBadRdata(type, len, () => {
    if (!hasNames(fields)) {
      walk(fields, r, pos + len);
      checkExtra(type, msg.subarray(pos, pos + len));
      return Buffer.from(msg.subarray(pos, pos + len));
    }
    const out = new WireWriter(false, len + 16);
    walk(fields, r, pos + len, { out, compressed: true });
    const rdata = out.finish();
    checkExtra(type, rdata);
    return rdata;
  });
}

// Inside rdata, running out of octets means the rdata is malformed, not the message truncated.
function asBadRdata<T>(type: number, len: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WireError && e.code === 'truncated') throw new WireError('bad-rdata', `${typeName(type)} rdata of ${len} octets is too short: ${e.message}`);
    throw e;
  }
}

/** Throws WireError('bad-rdata') unless the (uncompressed) rdata fits the type's layout. */
export function checkRdata(type: number, rdata: Uint8Array): void {
  const fields = LAYOUTS.get(type);
  if (fields === undefined) return;
  asBadRdata(type, rdata.length, () => {
    walk(fields, new WireReader(rdata), rdata.length);
    checkExtra(type, rdata);
  });
}

/** Writes rdata into a message being built, compressing names only where RFC 3597 §4 allows it. */
export function writeRdata(w: WireWriter, type: number, rdata: Uint8Array): void {
  const fields = LAYOUTS.get(type);
  if (fields === undefined || rdata.length === 0 || !hasNames(fields)) {
    w.bytes(rdata);
    return;
  }
  const r = new WireReader(rdata);
  for (const f of fields) {
    if (f.k === 'name') {
      const [n, next] = readName(rdata, r.pos, false);
      r.pos = next;
      // Names in later types are never compressed, but later names may point into them (BIND does).
      w.name(n, f.compress, true);
      continue;
    }
    const start = r.pos;
    walk([f], r, fieldEnd(f, r, rdata.length));
    w.bytes(rdata.subarray(start, r.pos));
  }
}

// Fixed fields end where their size says; variable ones run to the end of rdata.
function fieldEnd(f: Field, r: WireReader, end: number): number {
  switch (f.k) {
    case 'u8': return r.pos + 1;
    case 'u16': case 'type': return r.pos + 2;
    case 'u32': case 'ttl': case 'time': case 'ipv4': return r.pos + 4;
    case 'ipv6': return r.pos + 16;
    case 'string': case 'tag': case 'salt': case 'hash': return r.pos + 1 + r.msg[r.pos];
    default: return end;
  }
}

/** RFC 4034 §6.2 canonical form: names in the listed types folded to lower case. */
export function canonicalRdata(type: number, rdata: Uint8Array): Uint8Array {
  const fields = LAYOUTS.get(type);
  if (fields === undefined || rdata.length === 0 || !fields.some((f) => f.k === 'name' && f.canon)) return rdata;
  const out = new WireWriter(false, rdata.length);
  walk(fields, new WireReader(rdata), rdata.length, { out, fold: true });
  return out.view();
}

/** True when two rdatas of `type` are the same record data (names compared ignoring case). */
export function rdataEqual(type: number, a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (Buffer.compare(a, b) === 0) return true;
  return Buffer.compare(canonicalRdata(type, a), canonicalRdata(type, b)) === 0;
}

// ------------------------------------------------------------------ presentation format

/** Presentation text of rdata; RFC 3597 `\#` form for types without a layout or empty rdata. */
export function rdataToText(type: number, rdata: Uint8Array): string {
  // Addresses, most of a DHCP-fed zone, without the general walk: the text its ipv4 and ipv6
  // fields print, for the one length the walk accepts (any other length fails there, as before).
  if (type === Type.A && rdata.length === 4) return formatIPv4(rdata, 0);
  if (type === Type.AAAA && rdata.length === 16) return formatIPv6(rdata, 0);
  const fields = LAYOUTS.get(type);
  if (fields === undefined || rdata.length === 0) return genericText(rdata);
  const print: string[] = [];
  walk(fields, new WireReader(rdata), rdata.length, { print });
  return print.join(' ');
}

function genericText(rdata: Uint8Array): string {
  return rdata.length === 0 ? '\\# 0' : `\\# ${rdata.length} ${formatHex(rdata)}`;
}

/** Splits a character-string's bytes into <=255-octet pieces (a TXT string longer than 255). */
function writeStrings(w: WireWriter, bytes: number[]): void {
  if (bytes.length === 0) {
    w.u8(0);
    return;
  }
  for (let o = 0; o < bytes.length; o += 255) {
    const piece = bytes.slice(o, o + 255);
    w.u8(piece.length);
    w.bytes(Uint8Array.from(piece));
  }
}

/**
 * Parses rdata tokens (everything after the type on a master-file line) into wire bytes.
 * Names are relative to `origin`. Throws WireError('bad-text' | 'bad-name' | 'bad-rdata').
 */
export function rdataFromText(type: number, tokens: Token[], origin: Name): Uint8Array {
  if (tokens.length > 0 && tokens[0].text === '\\#' && !tokens[0].quoted) {
    if (tokens.length < 2) throw badText('\\# needs a length');
    const len = parseU(tokens[1].text, 16, '\\# length');
    const hex = tokens.slice(2).map((t) => t.text).join('');
    const data = parseHex(hex, '\\# data');
    if (data.length !== len) throw badText(`\\# length ${len} does not match the ${data.length} octets given`);
    try {
      checkRdata(type, data);
    } catch (e) {
      throw badText(`\\# data is not valid ${typeName(type)} rdata: ${(e as Error).message}`);
    }
    // What we store must print in a form that reads back the same, or its history could not be
    // replayed: check it here, where it comes in.
    if (LAYOUTS.has(type)) {
      let back: Uint8Array | undefined;
      try {
        back = rdataFromText(type, presentationTokens(rdataToText(type, data)), '.');
      } catch {
        back = undefined;
      }
      if (!back || Buffer.compare(back, data) !== 0) throw badText(`\\# data for ${typeName(type)} has no presentation form that reads back the same`);
    }
    return data;
  }
  const fields = LAYOUTS.get(type);
  if (fields === undefined) throw badText(`type ${typeName(type)} has no typed presentation format here; use RFC 3597 \\# syntax`);
  const w = new WireWriter(false, 64);
  let ti = 0;
  const next = (what: string): Token => {
    const t = tokens[ti++];
    if (t === undefined) throw badText(`${typeName(type)} record is missing its ${what}`);
    return t;
  };
  const rest = (): Token[] => {
    const r = tokens.slice(ti);
    ti = tokens.length;
    return r;
  };
  for (const f of fields) {
    switch (f.k) {
      case 'name': w.name(parseName(next('name').text, origin), false, false); break;
      case 'u8': w.u8(parseU(next('number').text, 8, typeName(type) + ' field')); break;
      case 'u16': w.u16(parseU(next('number').text, 16, typeName(type) + ' field')); break;
      case 'u32': w.u32(parseU(next('number').text, 32, typeName(type) + ' field')); break;
      case 'ttl': {
        const t = next('time value').text;
        const v = parseTtl(t);
        if (v === undefined) throw badText(`${typeName(type)} time value "${t}" is not a number or TTL`);
        w.u32(v);
        break;
      }
      case 'time': w.u32(parseSigTime(next('time').text)); break;
      case 'type': {
        const t = next('type').text;
        const v = typeFromName(t);
        if (v === undefined) throw badText(`unknown type "${t}"`);
        w.u16(v);
        break;
      }
      case 'ipv4': w.bytes(parseIPv4(next('IPv4 address').text)); break;
      case 'ipv6': w.bytes(parseIPv6(next('IPv6 address').text)); break;
      case 'string': {
        const b = unescapeBytes(next('string').text);
        if (b.length > 255) throw badText(`character-string of ${b.length} octets (limit 255)`);
        w.u8(b.length);
        w.bytes(Uint8Array.from(b));
        break;
      }
      case 'strings': {
        const all = rest();
        if (all.length === 0) throw badText(`${typeName(type)} needs at least one string`);
        for (const t of all) writeStrings(w, unescapeBytes(t.text));
        break;
      }
      case 'tag': {
        const tok = next('tag');
        if (tok.quoted) throw badText(`CAA tag "${tok.text}" must not be quoted`);
        const t = tok.text;
        if (!/^[A-Za-z0-9]{1,255}$/.test(t)) throw badText(`CAA tag "${t}" must be alphanumeric`);
        w.u8(t.length);
        w.bytes(Buffer.from(t, 'latin1'));
        break;
      }
      case 'salt': {
        const t = next('salt').text;
        const b = t === '-' ? new Uint8Array(0) : parseHex(t, 'salt');
        if (b.length > 255) throw badText('salt longer than 255 octets');
        w.u8(b.length);
        w.bytes(b);
        break;
      }
      case 'hash': {
        const b = parseBase32Hex(next('hashed owner name').text, 'next hashed owner name');
        if (b.length === 0 || b.length > 255) throw badText('bad next hashed owner name length');
        w.u8(b.length);
        w.bytes(b);
        break;
      }
      case 'base64': {
        const text = rest().map((t) => t.text).join('');
        if (text === '') throw badText(`${typeName(type)} is missing its base64 data`);
        w.bytes(parseBase64(text, typeName(type)));
        break;
      }
      case 'hex': {
        const text = rest().map((t) => t.text).join('');
        if (text === '') throw badText(`${typeName(type)} is missing its hex data`);
        w.bytes(parseHex(text, typeName(type)));
        break;
      }
      case 'rest': {
        const t = next('value');
        w.bytes(Uint8Array.from(unescapeBytes(t.text)));
        break;
      }
      case 'bitmap': bitmapFromText(rest(), w); break;
      case 'svcparams': svcParamsFromText(rest(), w); break;
      case 'loc': w.bytes(locFromText(rest().map((t) => t.text))); break;
    }
  }
  if (ti < tokens.length) throw badText(`unexpected "${tokens[ti].text}" after ${typeName(type)} data`);
  const out = w.finish();
  checkRdata(type, out);
  return out;
}
