// Master files: RFC 1035 §5 syntax, BIND's TTL and $INCLUDE rules, and file:line errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '../../../shared/dns/constants.ts';
import { rdataToText } from '../../../shared/dns/rdata.ts';
import { loadZoneText } from '../../../shared/zone/load.ts';
import { formatIssue, parseMasterText, parseRecordLine } from '../../../shared/zone/parser.ts';
import { recordToText } from '../../../shared/zone/printer.ts';
import { getRRset, recordCount } from '../../../shared/zone/zone.ts';

const head = '$TTL 1h\n@ SOA ns1 hostmaster 1 2h 1h 2w 5m\n  NS ns1\nns1 A 192.0.2.1\n';
const files = (m: Record<string, string>) => (p: string): string => {
  const k = Object.keys(m).find((f) => p.endsWith(f));
  if (k === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  return m[k];
};
const lines = (text: string, origin = 'ex.test.'): string[] => {
  const r = parseMasterText(text, 'z.zone', { origin });
  assert.deepEqual(r.errors.map(formatIssue), []);
  return r.records.map(recordToText);
};

describe('master-file syntax', () => {
  it('parentheses join lines, comments anywhere, and blank owners inherit', () => {
    assert.deepEqual(lines('$TTL 60\n@ IN SOA ( ns1 ; primary\n hostmaster ; contact\n 1 2 3 4 5 ) ; end\n  IN NS ns1\n\n; comment only\n  TXT "after blank"\n'), [
      'ex.test. 60 IN SOA ns1.ex.test. hostmaster.ex.test. 1 2 3 4 5',
      'ex.test. 60 IN NS ns1.ex.test.',
      'ex.test. 60 IN TXT "after blank"',
    ]);
  });

  it('TTL and class may come in either order, or not at all', () => {
    assert.deepEqual(lines('$TTL 60\na 30 IN A 192.0.2.1\nb IN 40 A 192.0.2.2\nc A 192.0.2.3\nd 1h30m A 192.0.2.4\n'), [
      'a.ex.test. 30 IN A 192.0.2.1', 'b.ex.test. 40 IN A 192.0.2.2', 'c.ex.test. 60 IN A 192.0.2.3', 'd.ex.test. 5400 IN A 192.0.2.4',
    ]);
  });

  it('owners that look like classes or types are owners', () => {
    assert.deepEqual(lines('$TTL 60\nIN A 192.0.2.1\nA A 192.0.2.2\n'), ['IN.ex.test. 60 IN A 192.0.2.1', 'A.ex.test. 60 IN A 192.0.2.2']);
  });

  it('$ORIGIN changes the origin for relative names; a blank owner still means the previous owner', () => {
    assert.deepEqual(lines('$TTL 60\nwww A 192.0.2.1\n$ORIGIN sub.ex.test.\n  TXT "still www"\nhost A 192.0.2.2\n'), [
      'www.ex.test. 60 IN A 192.0.2.1', 'www.ex.test. 60 IN TXT "still www"', 'host.sub.ex.test. 60 IN A 192.0.2.2',
    ]);
  });

  it('without $TTL, a record takes the last explicit TTL (RFC 1035)', () => {
    assert.deepEqual(lines('@ 100 SOA ns1 h 1 2 3 4 5\n NS ns1\nns1 7 A 192.0.2.1\nb A 192.0.2.2\n'), [
      'ex.test. 100 IN SOA ns1.ex.test. h.ex.test. 1 2 3 4 5', 'ex.test. 100 IN NS ns1.ex.test.', 'ns1.ex.test. 7 IN A 192.0.2.1', 'b.ex.test. 7 IN A 192.0.2.2',
    ]);
  });

  it('without $TTL or any TTL, the SOA MINIMUM becomes the default, as in BIND', () => {
    const r = parseMasterText('@ SOA ns1 h 1 2 3 4 300\n NS ns1\na 7200 A 192.0.2.1\nb A 192.0.2.2\n', 'z.zone', { origin: 'ex.test.' });
    assert.deepEqual(r.records.map((x) => x.ttl), [300, 300, 7200, 300]);
    assert.match(r.warnings[0].reason, /SOA MINIMUM/);
  });

  it('$INCLUDE with an origin restores the parent origin and owner afterwards; $TTL carries over', () => {
    const read = files({ 'main.zone': 'x' });
    const text = '$TTL 60\nwww A 192.0.2.1\n$INCLUDE inc.inc sub\n  TXT "owner is www again"\nafter A 192.0.2.9\n';
    const r = parseMasterText(text, 'dir/main.zone', { origin: 'ex.test.', readFile: (p) => (p.endsWith('inc.inc') ? '  TXT "owner is still www"\n$TTL 99\nin A 192.0.2.5\n' : read(p)) });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.records.map(recordToText), [
      'www.ex.test. 60 IN A 192.0.2.1', 'www.ex.test. 99 IN TXT "owner is still www"'.replace(' 99 ', ' 60 '), 'in.sub.ex.test. 99 IN A 192.0.2.5',
      'www.ex.test. 99 IN TXT "owner is www again"', 'after.ex.test. 99 IN A 192.0.2.9',
    ]);
    assert.equal(r.records[2].file, 'dir/inc.inc');
  });

  it('an $INCLUDE loop is an error at the line that closes it', () => {
    const r = parseMasterText('$INCLUDE a.inc\n', 'main.zone', { origin: 'ex.test.', readFile: files({ 'a.inc': '\n$INCLUDE b.inc\n', 'b.inc': '$INCLUDE a.inc\n' }) });
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].file, 'b.inc');
    assert.equal(r.errors[0].line, 1);
    assert.match(r.errors[0].reason, /\$INCLUDE loop: .*a\.inc -> b\.inc -> a\.inc/);
  });

  it('quoted strings keep spaces and semicolons; escapes decode', () => {
    const r = parseRecordLine('t.ex. 60 IN TXT "a; b (c)" "q\\"uote" \\065');
    assert.equal(rdataToText(Type.TXT, r.rdata), '"a; b (c)" "q\\"uote" "A"');
  });

  it('CRLF line endings and a missing final newline are fine', () => {
    assert.equal(lines('$TTL 60\r\na A 192.0.2.1\r\nb A 192.0.2.2').length, 2);
  });
});

describe('errors read file:line: reason', () => {
  const cases: [string, number, RegExp][] = [
    ['a A 192.0.2.1\n', 1, /no TTL given/],
    ['$TTL 60\na A 192.0.2.1 (\nb A 192.0.2.2\n', 2, /unbalanced parenthesis: "\(" opened here/],
    ['$TTL 60\na A 192.0.2.1 )\n', 2, /unbalanced parenthesis: "\)"/],
    ['$TTL 60\na TXT "open\n', 2, /unterminated quoted string/],
    ['$TTL 60\n\n\na\\25 A 192.0.2.1\n', 4, /three digits/],
    ['$TTL 60\n  A 192.0.2.1\n', 2, /blank owner before any owner/],
    ['$TTL 60\na FOO 1\n', 2, /unknown type "FOO"/],
    ['$TTL 60\na 1x A 192.0.2.1\n', 2, /bad TTL "1x"/],
    ['$TTL 60\n$GENERATE 1-10 h$ A 10.0.0.$\n', 2, /\$GENERATE is not supported/],
    ['$TTL 60\na LOC 52 X 4 E 0m\n', 2, /LOC needs N or S/],
  ];
  for (const [text, line, why] of cases) {
    it(`${why.source} at line ${line}`, () => {
      const r = parseMasterText(text, 'z.zone', { origin: 'ex.test.' });
      assert.ok(r.errors.length >= 1);
      assert.equal(r.errors[0].line, line);
      assert.match(formatIssue(r.errors[0]), new RegExp(`^z\\.zone:${line}: .*${why.source}`));
    });
  }

  it('parsing goes on after an error, so one run reports every bad line', () => {
    const r = parseMasterText('$TTL 60\na A 300.1.1.1\nb A 192.0.2.1\nc AAAA 1::2::3\n', 'z.zone', { origin: 'ex.test.' });
    assert.deepEqual(r.errors.map((e) => e.line), [2, 4]);
    assert.equal(r.records.length, 1);
  });
});

describe('zone rules', () => {
  const load = (body: string) => loadZoneText(head + body, 'z.zone', { origin: 'ex.test.' });

  it('a CNAME beside other data is refused at the line that breaks the rule', () => {
    const r = load('c A 192.0.2.1\nc CNAME x\n');
    assert.deepEqual(r.errors.map(formatIssue), ['z.zone:6: CNAME and other data: c.ex.test. already has A']);
    const r2 = load('c CNAME x\nc TXT "no"\nc RRSIG A 8 3 60 20300101000000 20200101000000 1 ex.test. AAAA\n');
    assert.deepEqual(r2.errors.map((e) => e.line), [6]);
  });

  it('out-of-zone data is refused, not silently ignored', () => {
    assert.match(load('www.other.test. A 192.0.2.1\n').errors[0].reason, /out of zone/);
  });

  it('a zone needs an SOA and NS records at its apex', () => {
    const r = loadZoneText('$TTL 60\nwww A 192.0.2.1\n', 'z.zone', { origin: 'ex.test.' });
    assert.deepEqual(r.errors.map((e) => e.reason), ['zone ex.test. has no SOA record at its apex', 'zone ex.test. has no NS records at its apex']);
  });

  it('within one owner run the first TTL wins; a resumed RRset takes the new TTL; both warn', () => {
    const r = load('a 10 A 192.0.2.1\na 20 A 192.0.2.2\nb 5 A 192.0.2.3\na 30 A 192.0.2.4\n');
    assert.equal(getRRset(r.zone, 'a.ex.test.', Type.A)!.ttl, 30);
    assert.equal(r.warnings.length, 2);
  });

  it('RRSIGs keep one TTL per covered type', () => {
    const r = load('s 60 A 192.0.2.1\ns 60 RRSIG A 8 3 60 20300101000000 20200101000000 1 ex.test. AAAA\ns 300 RRSIG NSEC 8 3 300 20300101000000 20200101000000 1 ex.test. AAAA\n');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    assert.equal(recordCount(r.zone), 3 + 3);
  });

  it('duplicates are merged with a warning', () => {
    const r = load('d A 192.0.2.1\nd A 192.0.2.1\n');
    assert.equal(recordCount(r.zone), 3 + 1);
    assert.match(r.warnings[0].reason, /duplicate/);
  });
});

describe('quoted strings end tokens, as in BIND', () => {
  it('adjacent quoted strings are separate character-strings', () => {
    assert.equal(rdataToText(Type.TXT, parseRecordLine('k.ex. 60 IN TXT "abc""def"').rdata), '"abc" "def"');
    assert.equal(rdataToText(Type.TXT, parseRecordLine('k.ex. 60 IN TXT "a"b"c"').rdata), '"a" "b" "c"');
  });
  it('an SVCB key="value" keeps its quoted value', () => {
    assert.equal(rdataToText(Type.HTTPS, parseRecordLine('h.ex. 60 IN HTTPS 1 . alpn="h2,h3" port="443"').rdata), '1 . alpn="h2,h3" port=443');
  });
});

describe('TTL runs follow the owner as spelled', () => {
  it('Mixed then mixed is a new run, so the later TTL wins, as in BIND', () => {
    const r = loadZoneText(head + 'Mixed 100 A 192.0.2.1\nmixed 200 A 192.0.2.2\n', 'z.zone', { origin: 'ex.test.' });
    assert.equal(getRRset(r.zone, 'mixed.ex.test.', Type.A)!.ttl, 200);
  });
});
