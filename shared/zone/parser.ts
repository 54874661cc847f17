// Master-file parser (RFC 1035 §5, RFC 2308 $TTL, RFC 3597): records with their file and line.

import { readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { Class, Type, classFromName, typeFromName, typeName } from '../dns/constants.ts';
import { WireError } from '../dns/errors.ts';
import type { RR } from '../dns/message.ts';
import { parseName, type Name } from '../dns/name.ts';
import { rdataFromText } from '../dns/rdata.ts';
import { parseTtl, type Token } from '../dns/text.ts';
import { lex, LexError, type Entry } from '../dns/lexer.ts';

export interface ParsedRecord extends RR {
  file: string;
  line: number;
}

/** A problem tied to a place in a master file; printed as `file:line: reason`. */
export interface ZoneFileIssue {
  file: string;
  line: number;
  reason: string;
}

export function formatIssue(i: ZoneFileIssue): string {
  return `${i.file}:${i.line}: ${i.reason}`;
}

export interface ParseOptions {
  origin: Name;
  /** The zone's class; records of another class are errors. Default IN. */
  class?: number;
  /** Stop collecting after this many errors (default 100). */
  maxErrors?: number;
  readFile?: (path: string) => string;
  /** Called once per record parsed, for progress displays. */
  onRecord?: () => void;
}

export interface ParseOutput {
  records: ParsedRecord[];
  errors: ZoneFileIssue[];
  warnings: ZoneFileIssue[];
}

const TTL_MAX = 0x7fffffff;
// Characters that need the full lexer; anything else splits on spaces.
const SPECIAL_LINE = /["();\\\t\r\n]/;
const MAX_INCLUDE_DEPTH = 16;

/** State that flows through a file and into the files it includes. */
interface State {
  origin: Name;
  /** $TTL, when one has been given (RFC 2308). */
  defaultTtl: number | undefined;
  /** TTL of the previous record, the RFC 1035 fallback when there is no $TTL. */
  lastTtl: number | undefined;
  lastOwner: Name | undefined;
  klass: number;
}

class Stop extends Error {}

export function parseMasterFile(path: string, opts: ParseOptions): ParseOutput {
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'latin1'));
  const out: ParseOutput = { records: [], errors: [], warnings: [] };
  const st: State = { origin: opts.origin, defaultTtl: undefined, lastTtl: undefined, lastOwner: undefined, klass: opts.class ?? Class.IN };
  const ctx: Ctx = { out, read, max: opts.maxErrors ?? 100, stack: [], onRecord: opts.onRecord };
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    out.errors.push({ file: path, line: 0, reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    return out;
  }
  try {
    parseText(text, path, st, ctx);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
  return out;
}

/** Parses master-file text held in memory; `file` labels errors and anchors relative $INCLUDEs. */
export function parseMasterText(text: string, file: string, opts: ParseOptions): ParseOutput {
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'latin1'));
  const out: ParseOutput = { records: [], errors: [], warnings: [] };
  const st: State = { origin: opts.origin, defaultTtl: undefined, lastTtl: undefined, lastOwner: undefined, klass: opts.class ?? Class.IN };
  try {
    parseText(text, file, st, { out, read, max: opts.maxErrors ?? 100, stack: [], onRecord: opts.onRecord });
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
  return out;
}

interface Ctx {
  out: ParseOutput;
  read: (p: string) => string;
  max: number;
  /** Real paths of the files being read, outermost first: a repeat is an $INCLUDE loop. */
  stack: string[];
  onRecord: (() => void) | undefined;
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function parseText(text: string, file: string, st: State, ctx: Ctx): void {
  const real = realOrSelf(file);
  ctx.stack.push(real);
  const error = (line: number, reason: string): void => {
    ctx.out.errors.push({ file, line, reason });
    if (ctx.out.errors.length >= ctx.max) throw new Stop();
  };
  try {
    lex(text, (e) => {
      try {
        entry(e, file, st, ctx, error);
      } catch (err) {
        if (err instanceof WireError) error(e.line, err.message);
        else throw err;
      }
    });
  } catch (err) {
    if (err instanceof LexError) error(err.line, err.message);
    else throw err;
  } finally {
    ctx.stack.pop();
  }
}

function entry(e: Entry, file: string, st: State, ctx: Ctx, error: (line: number, reason: string) => void): void {
  const t = e.tokens;
  const first = t[0];
  if (!e.blankOwner && !first.quoted && first.text.startsWith('$')) {
    directive(e, file, st, ctx, error);
    return;
  }
  const rr = parseRecordTokens(t, e.blankOwner, st, (reason) => ctx.out.warnings.push({ file, line: e.line, reason }));
  ctx.out.records.push({ ...rr, file, line: e.line });
  ctx.onRecord?.();
}

function directive(e: Entry, file: string, st: State, ctx: Ctx, error: (line: number, reason: string) => void): void {
  const [d, ...args] = e.tokens;
  const name = d.text.toUpperCase();
  switch (name) {
    case '$ORIGIN':
      if (args.length !== 1) return error(e.line, '$ORIGIN takes exactly one name');
      st.origin = parseName(args[0].text, st.origin);
      return;
    case '$TTL': {
      if (args.length !== 1) return error(e.line, '$TTL takes exactly one TTL');
      const v = parseTtl(args[0].text);
      if (v === undefined) return error(e.line, `bad TTL "${args[0].text}" in $TTL`);
      st.defaultTtl = clampTtl(v, (w) => ctx.out.warnings.push({ file, line: e.line, reason: w }));
      return;
    }
    case '$INCLUDE': {
      if (args.length < 1 || args.length > 2) return error(e.line, '$INCLUDE takes a file name and an optional origin');
      const target = isAbsolute(args[0].text) ? args[0].text : join(dirname(file), args[0].text);
      const real = realOrSelf(target);
      if (ctx.stack.includes(real)) return error(e.line, `$INCLUDE loop: ${target} is already being read (${[...ctx.stack.map((p) => basename(p)), basename(real)].join(' -> ')})`);
      if (ctx.stack.length >= MAX_INCLUDE_DEPTH) return error(e.line, `$INCLUDE nested deeper than ${MAX_INCLUDE_DEPTH}`);
      let text: string;
      try {
        text = ctx.read(target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        return error(e.line, code === 'ENOENT' ? `$INCLUDE file not found: ${target}` : `$INCLUDE ${target}: cannot read: ${code ?? (err as Error).message}`);
      }
      // RFC 1035 §5.1: the included file may change its origin; the parent's origin and owner
      // are restored after it, while a $TTL set inside it stays in force (as in BIND).
      const saved = { origin: st.origin, lastOwner: st.lastOwner };
      if (args[1]) st.origin = parseName(args[1].text, st.origin);
      parseText(text, target, st, ctx);
      st.origin = saved.origin;
      st.lastOwner = saved.lastOwner;
      return;
    }
    case '$GENERATE':
      return error(e.line, '$GENERATE is not supported yet');
    default:
      return error(e.line, `unknown directive ${d.text}`);
  }
}

function clampTtl(v: number, warn: (w: string) => void): number {
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  if (v > TTL_MAX) {
    warn(`TTL ${v} is above 2^31-1; using 0 (RFC 2181 §8)`);
    return 0;
  }
  return v;
}

/**
 * Parses one record's tokens: [owner] [ttl] [class] type rdata, with TTL and class in either
 * order. Updates the running owner and TTL in `st`. Throws WireError.
 */
function parseRecordTokens(t: Token[], blankOwner: boolean, st: State, warn: (w: string) => void): RR {
  let i = 0;
  let owner: Name;
  if (blankOwner) {
    if (st.lastOwner === undefined) throw new WireError('bad-text', 'record with a blank owner before any owner was given');
    owner = st.lastOwner;
  } else {
    owner = parseName(t[i++].text, st.origin);
  }
  let ttl: number | undefined;
  let klass: number | undefined;
  let type: number | undefined;
  for (; i < t.length && type === undefined; i++) {
    const tok = t[i];
    if (tok.quoted) break;
    const asTtl = ttl === undefined ? parseTtl(tok.text) : undefined;
    if (asTtl !== undefined) {
      ttl = clampTtl(asTtl, warn);
      continue;
    }
    const asClass = klass === undefined ? classFromName(tok.text) : undefined;
    if (asClass !== undefined) {
      klass = asClass;
      continue;
    }
    type = typeFromName(tok.text);
    if (type === undefined) {
      if (/^\d/.test(tok.text)) throw new WireError('bad-text', `bad TTL "${tok.text}"`);
      throw new WireError('bad-text', `unknown type "${tok.text}"`);
    }
  }
  if (type === undefined) throw new WireError('bad-text', 'record has no type');
  st.lastOwner = owner;
  if (klass !== undefined && klass !== st.klass) throw new WireError('bad-text', `class ${t.find((x) => classFromName(x.text) === klass)?.text} differs from the zone's class`);
  const rdata = rdataFromText(type, t.slice(i), st.origin);
  if (ttl !== undefined) st.lastTtl = ttl;
  else if (st.defaultTtl !== undefined) ttl = st.defaultTtl;
  else if (st.lastTtl !== undefined) ttl = st.lastTtl;
  else if (type === Type.SOA && rdata.length >= 20) {
    // BIND's rule when there is neither $TTL nor an earlier TTL: the SOA's MINIMUM field, which
    // then serves as the default TTL for the rest of the file, exactly like $TTL.
    ttl = new DataView(rdata.buffer, rdata.byteOffset, rdata.byteLength).getUint32(rdata.length - 4);
    st.defaultTtl = ttl;
    warn(`no TTL given and no $TTL: using the SOA MINIMUM ${ttl} as the default TTL`);
  } else throw new WireError('bad-text', `no TTL given for this ${typeName(type)} record and no $TTL or earlier TTL to inherit`);
  return { name: owner, type, class: st.klass, ttl, rdata };
}

/**
 * Parses one absolute record line as written in events and exports:
 * `owner TTL CLASS TYPE rdata`. Throws WireError.
 */
export function parseRecordLine(line: string, klass: number = Class.IN): RR {
  const st: State = { origin: '.', defaultTtl: undefined, lastTtl: undefined, lastOwner: undefined, klass };
  // Most lines hold no quotes, parentheses, comments or escapes: split them directly, which is
  // what makes replaying events fast and light.
  if (!SPECIAL_LINE.test(line)) {
    const tokens: Token[] = [];
    for (const text of line.split(' ')) if (text !== '') tokens.push({ text, quoted: false });
    if (tokens.length > 0) return parseRecordTokens(tokens, false, st, () => {});
  }
  let rr: RR | undefined;
  try {
    lex(line, (e) => {
      if (rr) throw new WireError('bad-text', 'more than one record on the line');
      rr = parseRecordTokens(e.tokens, false, st, () => {});
    });
  } catch (e) {
    if (e instanceof LexError) throw new WireError('bad-text', e.message);
    throw e;
  }
  if (!rr) throw new WireError('bad-text', 'empty record line');
  if (rr.ttl === undefined) throw new WireError('bad-text', 'record line without TTL');
  return rr;
}
