// Domain names: one normalized presentation string per name, with escapes, limits and wire forms.
//
// A Name is always absolute and always written the same way: the trailing dot, the case as
// given, and BIND's escaping (special characters as `\X`, other bytes outside 0x21..0x7e as
// `\DDD`). Because the escaping is unique, two names are equal when their strings are, and
// equal ignoring case when their lower-cased strings are: only ASCII letters ever appear
// unescaped, so toLowerCase() is exactly RFC 4343's case folding.

import { WireError } from './errors.ts';

export type Name = string;

export const ROOT: Name = '.';
export const MAX_LABEL = 63;
export const MAX_NAME_WIRE = 255;

// Bytes that BIND's dns_name_totext escapes with a backslash rather than \DDD.
const SPECIAL = new Set([0x22, 0x28, 0x29, 0x2e, 0x3b, 0x5c, 0x40, 0x24]);

const BYTE_TEXT: string[] = [];
for (let b = 0; b < 256; b++) {
  if (SPECIAL.has(b)) BYTE_TEXT.push('\\' + String.fromCharCode(b));
  else if (b > 0x20 && b < 0x7f) BYTE_TEXT.push(String.fromCharCode(b));
  else BYTE_TEXT.push('\\' + String(b).padStart(3, '0'));
}

// A presentation name needs the slow path only if it holds a backslash or a character that
// must be escaped in the normalized form.
const PLAIN_NAME = /^[A-Za-z0-9_\-*./+=:!#%&',<>?[\]^`{|}~]*$/;

function labelText(bytes: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let i = start; i < start + len; i++) s += BYTE_TEXT[bytes[i]];
  return s;
}

/**
 * Scratch for readName: a name's presentation text, at most 4 characters per octet (`\DDD`),
 * all ASCII, so it becomes one flat string in one step. A string grown a character at a time
 * is a chain of small strings, one allocation per character.
 */
const NAME_TEXT = Buffer.allocUnsafeSlow(4 * MAX_NAME_WIRE + 4);

/**
 * Splits presentation text into label byte arrays, decoding `\X` and `\DDD`. Returns the labels
 * and whether the text ended in an unescaped dot (absolute). Throws WireError('bad-name').
 */
function textToLabels(text: string): { labels: number[][]; absolute: boolean } {
  const labels: number[][] = [];
  let cur: number[] = [];
  let absolute = false;
  if (text === '.') return { labels: [], absolute: true };
  if (text.length === 0) throw new WireError('bad-name', 'empty name');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (cur.length === 0) throw new WireError('bad-name', `empty label in "${text}"`);
      labels.push(cur);
      cur = [];
      if (i === text.length - 1) absolute = true;
      continue;
    }
    if (c === 0x5c) {
      if (i + 1 >= text.length) throw new WireError('bad-name', `dangling backslash in "${text}"`);
      const d = text.charCodeAt(i + 1);
      if (d >= 0x30 && d <= 0x39) {
        const digits = text.slice(i + 1, i + 4);
        if (!/^\d{3}$/.test(digits)) throw new WireError('bad-name', `bad escape "\\${digits}" in "${text}": \\DDD needs three digits`);
        const v = Number(digits);
        if (v > 255) throw new WireError('bad-name', `bad escape "\\${digits}" in "${text}": above 255`);
        cur.push(v);
        i += 3;
      } else {
        if (d > 0xff) throw new WireError('bad-name', `character U+${d.toString(16)} in "${text}" is not a byte`);
        cur.push(d);
        i += 1;
      }
      continue;
    }
    if (c > 0xff) throw new WireError('bad-name', `character U+${c.toString(16)} in "${text}" is not a byte`);
    cur.push(c);
  }
  if (cur.length > 0) labels.push(cur);
  return { labels, absolute };
}

function checkLimits(labels: ArrayLike<number>[], text: string): void {
  let wire = 1;
  for (const l of labels) {
    if (l.length > MAX_LABEL) throw new WireError('bad-name', `label of ${l.length} octets in "${text}" (limit ${MAX_LABEL})`);
    wire += l.length + 1;
  }
  if (wire > MAX_NAME_WIRE) throw new WireError('bad-name', `name "${text}" is ${wire} octets on the wire (limit ${MAX_NAME_WIRE})`);
}

/**
 * Parses a name in presentation format. Relative names (no trailing dot) and `@` are taken
 * relative to origin. Throws WireError('bad-name') on bad escapes or broken limits.
 */
export function parseName(text: string, origin?: Name): Name {
  if (text === '@') {
    if (origin === undefined) throw new WireError('bad-name', '"@" used without an origin');
    return origin;
  }
  if (PLAIN_NAME.test(text)) {
    const absolute = text.endsWith('.');
    if (text !== '.') {
      const body = absolute ? text.slice(0, -1) : text;
      if (body.length === 0 || body.startsWith('.') || body.includes('..')) throw new WireError('bad-name', `empty label in "${text}"`);
    }
    let full: string;
    if (absolute) full = text;
    else {
      if (origin === undefined) throw new WireError('bad-name', `relative name "${text}" without an origin`);
      full = origin === '.' ? text + '.' : text + '.' + origin;
    }
    if (full.length + 1 > MAX_NAME_WIRE || text.length > MAX_LABEL) checkLimits(full === '.' ? [] : full.slice(0, -1).split('.').map((l) => ({ length: l.length })), text);
    return full;
  }
  const { labels, absolute } = textToLabels(text);
  let out = '';
  for (const l of labels) out += labelText(Uint8Array.from(l), 0, l.length) + '.';
  if (!absolute) {
    if (origin === undefined) throw new WireError('bad-name', `relative name "${text}" without an origin`);
    if (origin !== '.') out += origin;
  }
  if (out === '') out = '.';
  checkLimits(nameLabelsBytes(out), text);
  return out;
}

/** Index of each unescaped dot in a normalized name (the separators, including the final one). */
function separators(name: Name): number[] {
  const seps: number[] = [];
  if (name === '.') return seps;
  if (!name.includes('\\')) {
    for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) seps.push(i);
    return seps;
  }
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) {
      const d = name.charCodeAt(i + 1);
      i += d >= 0x30 && d <= 0x39 ? 3 : 1;
    } else if (c === 0x2e) seps.push(i);
  }
  return seps;
}

/** The escaped text of each label, leftmost first; the root has none. */
export function nameLabels(name: Name): string[] {
  if (name === '.') return [];
  if (!name.includes('\\')) return name.slice(0, -1).split('.');
  const seps = separators(name);
  const out: string[] = [];
  let start = 0;
  for (const s of seps) {
    out.push(name.slice(start, s));
    start = s + 1;
  }
  return out;
}

/** The decoded bytes of each label, leftmost first. */
export function nameLabelsBytes(name: Name): Uint8Array[] {
  return nameLabels(name).map(labelTextToBytes);
}

function labelTextToBytes(label: string): Uint8Array {
  if (!label.includes('\\')) {
    const b = new Uint8Array(label.length);
    for (let i = 0; i < label.length; i++) b[i] = label.charCodeAt(i);
    return b;
  }
  const { labels } = textToLabels(label);
  return Uint8Array.from(labels[0] ?? []);
}

export function labelCount(name: Name): number {
  return separators(name).length;
}

/** Case-folded form, for comparison and as a map key. */
export function nameKey(name: Name): string {
  return name.toLowerCase();
}

export function namesEqual(a: Name, b: Name): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase();
}

/** The name one label up; the root's parent is the root. */
export function parentName(name: Name): Name {
  if (name === '.') return '.';
  const seps = separators(name);
  if (seps.length <= 1) return '.';
  return name.slice(seps[0] + 1);
}

/** True when `name` equals `ancestor` or sits below it, ignoring case. */
export function isSubdomain(name: Name, ancestor: Name): boolean {
  if (ancestor === '.') return true;
  const n = name.toLowerCase();
  const a = ancestor.toLowerCase();
  if (n === a) return true;
  if (n.length <= a.length || !n.endsWith(a)) return false;
  const dot = n.length - a.length - 1;
  if (n.charCodeAt(dot) !== 0x2e) return false;
  // The dot before the suffix must be a separator, not an escaped `\.`: count the backslashes.
  let bs = 0;
  for (let i = dot - 1; i >= 0 && n.charCodeAt(i) === 0x5c; i--) bs++;
  if (bs % 2 === 1) return false;
  // An even run could still be the tail of a \DDD escape; fall back to label arithmetic.
  if (bs === 0 && !n.includes('\\')) return true;
  return separators(n).includes(dot);
}

/** `name` relative to `origin` for printing: `@`, a relative name, or the absolute name. */
export function relativize(name: Name, origin: Name): string {
  if (namesEqual(name, origin)) return '@';
  if (origin !== '.' && isSubdomain(name, origin)) return name.slice(0, name.length - origin.length - 1);
  return name;
}

/** Wire form without compression. */
export function nameToWire(name: Name): Uint8Array {
  const labels = nameLabelsBytes(name);
  let len = 1;
  for (const l of labels) len += l.length + 1;
  const out = new Uint8Array(len);
  let o = 0;
  for (const l of labels) {
    out[o++] = l.length;
    out.set(l, o);
    o += l.length;
  }
  out[o] = 0;
  return out;
}

/**
 * Reads a possibly compressed name at `offset` of a whole message `msg`. Pointers must point
 * strictly backwards, which also rules out loops. Returns the name and the offset just after
 * it in the original position. With `pointers` false (rdata stored uncompressed) a pointer is
 * an error.
 */
export function readName(msg: Uint8Array, offset: number, pointers = true): [Name, number] {
  const out = NAME_TEXT;
  let k = 0;
  let pos = offset;
  let end = -1;
  let wire = 1;
  let lowest = offset;
  // At most 127 labels fit 255 octets, and a pointer must lead to at least one more step:
  // 256 steps bound every legal name. (Strictly backward pointers already rule out loops.)
  for (let steps = 0; steps < 256; steps++) {
    if (pos >= msg.length) throw new WireError('truncated', `name at offset ${offset} runs past the end`);
    const len = msg[pos];
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (!pointers) throw new WireError('bad-name', `compression pointer at offset ${pos} where names must be uncompressed`);
      if (pos + 1 >= msg.length) throw new WireError('truncated', `compression pointer at offset ${pos} runs past the end`);
      const target = ((len & 0x3f) << 8) | msg[pos + 1];
      if (end === -1) end = pos + 2;
      if (target >= lowest) throw new WireError('bad-name', `compression pointer at offset ${pos} does not point backwards (to ${target})`);
      lowest = target;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new WireError('bad-name', `label type 0x${kind.toString(16)} at offset ${pos} is not supported`);
    if (len === 0) {
      if (end === -1) end = pos + 1;
      return [k === 0 ? '.' : out.toString('latin1', 0, k), end];
    }
    if (pos + 1 + len > msg.length) throw new WireError('truncated', `label at offset ${pos} runs past the end`);
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) throw new WireError('bad-name', `name at offset ${offset} is longer than ${MAX_NAME_WIRE} octets`);
    for (let i = pos + 1; i <= pos + len; i++) {
      const b = msg[i];
      const t = BYTE_TEXT[b];
      if (t.length === 1) out[k++] = b;
      else for (let j = 0; j < t.length; j++) out[k++] = t.charCodeAt(j);
    }
    out[k++] = 0x2e;
    pos += 1 + len;
  }
  throw new WireError('bad-name', `name at offset ${offset} has too many compression pointers`);
}

/** Each octet b as the one-character string b + 1 (canonicalSortKey's alphabet). */
const SHIFTED = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b + 1));
/** Scratch for canonicalSortKey: a name without escapes is at most 254 characters. */
const KEY_UNITS = new Uint16Array(512);

/**
 * A sort key for RFC 4034 §6.1 canonical order: labels right to left, each compared as
 * case-folded octets, a shorter label first. Each byte b becomes char b+1 and labels are joined
 * by char 0, so plain string comparison gives the canonical order.
 */
export function canonicalSortKey(name: Name): string {
  if (name === '.') return '';
  // Without escapes every label is its own text: walk it from the right, no label arrays.
  // The key's code units go into a scratch array and become one flat string at the end: a
  // string grown a character at a time is a rope, slow to build and slower to compare in a sort.
  if (!name.includes('\\') && name.length < KEY_UNITS.length) {
    const n = name.toLowerCase();
    let k = 0;
    let end = n.length - 1;
    for (let i = end - 1; i >= -1; i--) {
      if (i >= 0 && n.charCodeAt(i) !== 0x2e) continue;
      for (let j = i + 1; j < end; j++) KEY_UNITS[k++] = n.charCodeAt(j) + 1;
      KEY_UNITS[k++] = 0;
      end = i;
    }
    return String.fromCharCode.apply(null, KEY_UNITS.subarray(0, k) as unknown as number[]);
  }
  // Escaped octets are folded too: \072 is an H, and sorts as an h.
  const labels = nameLabelsBytes(name);
  let key = '';
  for (let i = labels.length - 1; i >= 0; i--) {
    const l = labels[i];
    for (let j = 0; j < l.length; j++) key += SHIFTED[l[j] >= 0x41 && l[j] <= 0x5a ? l[j] + 0x20 : l[j]];
    key += '\u0000';
  }
  return key;
}

export function compareNames(a: Name, b: Name): number {
  const ka = canonicalSortKey(a);
  const kb = canonicalSortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
