// Typed rdata: presentation text to wire and back, canonical form, RFC 3597 generic form.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type, typeFromName } from '../../../shared/dns/constants.ts';
import { canonicalRdata, checkRdata, rdataEqual, rdataFromText, rdataToText } from '../../../shared/dns/rdata.ts';
import { parseIPv6, formatIPv6, type Token } from '../../../shared/dns/text.ts';
import { lex } from '../../../shared/dns/lexer.ts';

const origin = 'example.com.';
// Tokens as the master-file lexer makes them.
const toks = (s: string): Token[] => {
  const out: Token[] = [];
  lex(s, (e) => out.push(...e.tokens));
  return out;
};
const rt = (type: string, text: string): string => {
  const t = typeFromName(type)!;
  return rdataToText(t, rdataFromText(t, toks(text), origin));
};

describe('presentation format round trips', () => {
  const cases: [string, string, string][] = [
    ['A', '192.0.2.1', '192.0.2.1'],
    ['AAAA', '2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['AAAA', '::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['NS', 'ns1', 'ns1.example.com.'],
    ['CNAME', 'other.example.net.', 'other.example.net.'],
    ['DNAME', 'example.net.', 'example.net.'],
    ['PTR', 'host.example.com.', 'host.example.com.'],
    ['SOA', 'ns1 hostmaster.example.com. 2024010101 1h 15M 2w 300', 'ns1.example.com. hostmaster.example.com. 2024010101 3600 900 1209600 300'],
    ['MX', '10 @', '10 example.com.'],
    ['TXT', '"hello world" "second" unquoted', '"hello world" "second" "unquoted"'],
    ['TXT', '"quote \\" and backslash \\\\ and \\010 newline"', '"quote \\" and backslash \\\\ and \\010 newline"'],
    ['TXT', '""', '""'],
    ['SRV', '0 100 389 dc01', '0 100 389 dc01.example.com.'],
    ['NAPTR', '100 10 "S" "SIP+D2U" "" _sip._udp', '100 10 "S" "SIP+D2U" "" _sip._udp.example.com.'],
    ['CAA', '0 issue "letsencrypt.org"', '0 issue "letsencrypt.org"'],
    ['CAA', '128 tbs "Unknown; with spaces"', '128 tbs "Unknown; with spaces"'],
    ['SSHFP', '4 2 1234 5678 9ABC', '4 2 123456789ABC'],
    ['TLSA', '3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6', '3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6'],
    ['DS', '60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118', '60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118'],
    ['DNSKEY', '257 3 8 AwEAAa gAAAA= ', '257 3 8 AwEAAagAAAA='],
    ['RRSIG', 'A 8 3 3600 20240201000000 20240101000000 12345 example.com. c2ln', 'A 8 3 3600 20240201000000 20240101000000 12345 example.com. c2ln'],
    ['NSEC', 'host.example.com. A MX RRSIG NSEC TYPE1234', 'host.example.com. A MX RRSIG NSEC TYPE1234'],
    ['NSEC3', '1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG', '1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG'],
    ['NSEC3', '1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR', '1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR'],
    ['NSEC3PARAM', '1 0 0 -', '1 0 0 -'],
    ['HTTPS', '1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1,192.0.2.2 mandatory=alpn', '1 . mandatory=alpn alpn="h2,h3" port=443 ipv4hint=192.0.2.1,192.0.2.2'],
    ['HTTPS', '0 www.example.net.', '0 www.example.net.'],
    ['SVCB', '1 svc ipv6hint=2001:db8::1 no-default-alpn key667="hello"', '1 svc.example.com. no-default-alpn ipv6hint=2001:db8::1 key667="hello"'],
    ['DHCID', 'AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=', 'AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA='],
    ['URI', '10 1 "ftp://ftp1.example.com/public"', '10 1 "ftp://ftp1.example.com/public"'],
    ['HINFO', '"PC" "Linux"', '"PC" "Linux"'],
    ['ZONEMD', '2024010101 1 1 AABB', '2024010101 1 1 AABB'],
  ];
  for (const [type, text, printed] of cases) {
    it(`${type} ${text}`, () => assert.equal(rt(type, text), printed));
  }

  it('a TXT string longer than 255 octets is split into 255-octet strings', () => {
    const long = 'x'.repeat(600);
    const w = rdataFromText(Type.TXT, [{ text: long, quoted: true }], origin);
    assert.equal(w.length, 600 + 3);
    assert.deepEqual([w[0], w[256], w[512]], [255, 255, 90]);
    assert.equal(rdataToText(Type.TXT, w), `"${'x'.repeat(255)}" "${'x'.repeat(255)}" "${'x'.repeat(90)}"`);
  });

  it('RFC 3597 generic syntax works for unknown and known types, and is checked for known ones', () => {
    assert.equal(rdataToText(65280, rdataFromText(65280, toks('\\# 3 abcdef'), origin)), '\\# 3 ABCDEF');
    assert.equal(rdataToText(Type.A, rdataFromText(Type.A, toks('\\# 4 C0000201'), origin)), '192.0.2.1');
    assert.equal(rdataToText(65280, rdataFromText(65280, toks('\\# 0'), origin)), '\\# 0');
    assert.throws(() => rdataFromText(Type.A, toks('\\# 3 C00002'), origin), /not valid A rdata/);
    assert.throws(() => rdataFromText(65280, toks('\\# 4 C00002'), origin), /length 4 does not match the 3 octets given/);
  });

  const bad: [string, string, RegExp][] = [
    ['A', '300.1.1.1', /not an IPv4/],
    ['A', '1.2.3', /not an IPv4/],
    ['AAAA', '1:2:3:4:5:6:7:8:9', /not an IPv6/],
    ['AAAA', '1::2::3', /not an IPv6/],
    ['MX', '10', /missing its name/],
    ['MX', '70000 mail', /out of range/],
    ['TXT', '"bad \\25 escape"', /three digits/],
    ['TXT', '"bad \\256"', /above 255/],
    ['A', '192.0.2.1 extra', /unexpected "extra"/],
    ['CAA', '0 is-sue "x"', /alphanumeric/],
    ['DS', '1 2 3 XYZ', /hex/],
    ['DNSKEY', '257 3 8 not*base64', /base64/],
    ['HTTPS', '1 . alpn=h2 alpn=h3', /twice/],
    ['HTTPS', '1 . frobnicate=1', /unknown SVCB key/],
    ['APL', '1:192.168.32.0/21', /use RFC 3597/],
  ];
  for (const [type, text, why] of bad) {
    it(`refuses ${type} ${text}`, () => assert.throws(() => rdataFromText(typeFromName(type)!, toks(text), origin), why));
  }
});

describe('canonical form and equality', () => {
  it('names in RFC 4034 §6.2 types compare ignoring case', () => {
    const a = rdataFromText(Type.MX, toks('10 MAIL.Example.COM.'), origin);
    const b = rdataFromText(Type.MX, toks('10 mail.example.com.'), origin);
    assert.ok(rdataEqual(Type.MX, a, b));
    assert.deepEqual(Buffer.from(canonicalRdata(Type.MX, a)), Buffer.from(b));
  });

  it('TXT and NSEC next names keep case in comparison', () => {
    assert.ok(!rdataEqual(Type.TXT, rdataFromText(Type.TXT, toks('ABC'), origin), rdataFromText(Type.TXT, toks('abc'), origin)));
    const n1 = rdataFromText(Type.NSEC, toks('A.example. A'), origin);
    const n2 = rdataFromText(Type.NSEC, toks('a.example. A'), origin);
    assert.ok(!rdataEqual(Type.NSEC, n1, n2));
  });

  it('checkRdata accepts well-formed and refuses malformed wire rdata', () => {
    assert.doesNotThrow(() => checkRdata(Type.SOA, rdataFromText(Type.SOA, toks('a. b. 1 2 3 4 5'), origin)));
    assert.throws(() => checkRdata(Type.SOA, Buffer.from([0, 0, 1, 2])), /too short/);
  });
});

describe('IPv6 text (RFC 5952)', () => {
  for (const [inp, out] of [['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['2001:0:0:1::1', '2001:0:0:1::1'], ['::', '::'], ['1::', '1::'], ['fe80::1:0:0:0:0', 'fe80:0:0:1::'], ['0:0:0:0:0:0:0:1', '::1'], ['2001:db8::0:1', '2001:db8::1']]) {
    it(`${inp} prints as ${out}`, () => assert.equal(formatIPv6(parseIPv6(inp)), out));
  }
});

describe('LOC (RFC 1876)', () => {
  it('reads degrees, minutes, seconds, altitude and precisions, and prints them back', () => {
    assert.equal(rt('LOC', '52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m'), '52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m');
    assert.equal(rt('LOC', '42 21 54 N 71 06 18 W -24m 30m'), '42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m');
    assert.equal(rt('LOC', '0 S 0 W 0'), '0 0 0.000 N 0 0 0.000 E 0.00m 1m 10000m 10m');
  });
  it('refuses a missing hemisphere or an out-of-range coordinate', () => {
    assert.throws(() => rt('LOC', '52 22 23 X 4 E 0m'), /N or S/);
    assert.throws(() => rt('LOC', '91 N 4 E 0m'), /out of range/);
  });
});

describe('whatever is accepted prints in a form that reads back the same', () => {
  const generic = (type: string, hex: string) => rdataFromText(typeFromName(type)!, toks(`\\# ${hex.length / 2} ${hex}`), origin);
  const refused: [string, string, RegExp][] = [
    ['SOA', '026e7300c000' + '00000001'.repeat(5), /compression pointer/],            // RNAME points at MNAME
    ['MX', '000ac000', /compression pointer/],
    ['LOC', '00121613' + 'ffffffff' + '80000000' + '00989680', /latitude/],
    ['LOC', '00a21613' + '80000000' + '80000000' + '00989680', /digit pair/],
    ['DS', '00010801', /ends before/],                                                   // empty digest
    ['DNSKEY', '01010308', /ends before/],                                               // empty key
    ['HTTPS', '0001000005' + '0000', /SVCB ech: empty/],
    ['HTTPS', '000100' + '00000002' + '0000', /mandatory lists itself/],
    ['HTTPS', '000100' + '00000002' + '0003', /does not have/],
    ['NSEC', '00' + '000240' + '00', /zero octet/],                                        // trailing zero octet in the window
    ['DS', '000108020102', /needs 32 octets/],
  ];
  for (const [type, hex, why] of refused) {
    it(`refuses ${type} \\# ${hex}`, () => assert.throws(() => generic(type, hex), why));
  }

  it('text that BIND refuses is refused too', () => {
    assert.throws(() => rt('A', '01.2.3.4'), /not an IPv4/);
    assert.throws(() => rt('LOC', '90 30 N 0 E 0m'), /out of range/);
    assert.throws(() => rt('LOC', '0 N 180 0 1 E 0m'), /out of range/);
    assert.throws(() => rt('RRSIG', 'A 8 2 300 20251301000000 20250101000000 1 ex. AAAA'), /bad time/);
    assert.throws(() => rt('CAA', '0 "issue" "ca.example"'), /must not be quoted/);
    assert.throws(() => rt('HTTPS', '1 . mandatory=port alpn=h2'), /does not have/);
    assert.throws(() => rdataFromText(Type.TXT, [{ text: 'a\\\u0100', quoted: true }], origin), /not a byte/);
  });
});
