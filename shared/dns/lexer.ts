// Presentation-format lexer (RFC 1035 §5.1): logical entries of tokens, with parentheses, quotes and comments.

import type { Token } from './text.ts';

/** One logical master-file entry: a line, or several joined by parentheses. */
export interface Entry {
  line: number;
  /** The entry began with whitespace: its owner is the previous one. */
  blankOwner: boolean;
  tokens: Token[];
}

export class LexError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

const SP = 0x20, TAB = 0x09, CR = 0x0d, LF = 0x0a, SEMI = 0x3b, LP = 0x28, RP = 0x29, QUOTE = 0x22, BS = 0x5c;

function isDelimiter(c: number): boolean {
  return c === SP || c === TAB || c === CR || c === LF || c === SEMI || c === LP || c === RP || Number.isNaN(c);
}

/**
 * Splits master-file text (read as latin1, one char per octet) into entries. Escapes are kept
 * raw in token text: names and character-strings decode them with their own rules. Calls
 * `onEntry` for each entry so a large file never needs all its tokens in memory at once.
 */
export function lex(text: string, onEntry: (e: Entry) => void): void {
  const n = text.length;
  let pos = 0;
  let line = 1;
  let depth = 0;
  let openedAt = 0;
  let tokens: Token[] = [];
  let entryLine = 1;
  let blankOwner = false;
  let atLineStart = true;

  const flush = (): void => {
    if (tokens.length > 0) onEntry({ line: entryLine, blankOwner, tokens });
    tokens = [];
  };

  while (pos < n) {
    let c = text.charCodeAt(pos);
    if (atLineStart) {
      atLineStart = false;
      if (depth === 0) {
        blankOwner = c === SP || c === TAB;
        entryLine = line;
      }
    }
    if (c === SP || c === TAB || c === CR) {
      pos++;
      continue;
    }
    if (c === SEMI) {
      const eol = text.indexOf('\n', pos);
      pos = eol === -1 ? n : eol;
      continue;
    }
    if (c === LF) {
      pos++;
      line++;
      atLineStart = true;
      if (depth === 0) flush();
      continue;
    }
    if (c === LP) {
      // BIND accepts nested parentheses; so do we, and only the outermost one is reported.
      if (depth === 0) openedAt = line;
      depth++;
      if (tokens.length === 0) entryLine = line;
      pos++;
      continue;
    }
    if (c === RP) {
      if (depth === 0) throw new LexError(line, 'unbalanced parenthesis: ")" without an open "("');
      depth--;
      pos++;
      continue;
    }
    // A token: plain characters with escapes kept raw, or one quoted string. As in BIND, a
    // quote ends a token ("abc""def" and "a"b are two tokens each); the one exception is
    // an SVCB key="value" pair, whose quoted value belongs to the key before it.
    const quoted = c === QUOTE;
    const start = pos;
    let plain = true;
    let out = '';
    while (pos < n) {
      c = text.charCodeAt(pos);
      if (c === QUOTE) {
        const joinsKey = !quoted && pos > start && text.charCodeAt(pos - 1) === 0x3d && plain;
        if (pos > start && !joinsKey) break;
        if (plain) { out = text.slice(start, pos); plain = false; }
        pos++;
        const segStart = pos;
        for (;;) {
          if (pos >= n) throw new LexError(line, 'unterminated quoted string');
          const q = text.charCodeAt(pos);
          if (q === LF) throw new LexError(line, 'unterminated quoted string (a line ends inside quotes)');
          if (q === BS) { pos += 2; continue; }
          if (q === QUOTE) break;
          pos++;
        }
        out += text.slice(segStart, pos);
        pos++;
        break;
      }
      if (c === BS) {
        if (pos + 1 >= n) throw new LexError(line, 'backslash at the end of the file');
        if (text.charCodeAt(pos + 1) === LF) throw new LexError(line, 'backslash at the end of a line');
        if (!plain) out += text.slice(pos, pos + 2);
        pos += 2;
        continue;
      }
      if (isDelimiter(c)) break;
      if (!plain) out += text[pos];
      pos++;
    }
    tokens.push({ text: plain ? text.slice(start, pos) : out, quoted });
  }
  if (depth > 0) throw new LexError(openedAt, 'unbalanced parenthesis: "(" opened here is not closed before the end of the file');
  flush();
}

/** The tokens of one line of presentation text (for example printed rdata). Throws LexError. */
export function presentationTokens(text: string): Token[] {
  const out: Token[] = [];
  lex(text, (e) => out.push(...e.tokens));
  return out;
}
