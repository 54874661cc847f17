// Update and transfer policy: grants matched on TSIG key and address prefix, narrowed by names and types.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '../../../shared/dns/constants.ts';
import { allowedBy, inPrefix, matchesRequester, mayChange, parseAddress, parsePrefix, type Requester } from '../../../services/primary/policy.ts';
import type { Grant } from '../../../services/config/types.ts';

const who = (address: string, key: string | null = null): Requester => ({ key, address });

describe('matching a requester', () => {
  it('a key grant matches the same key in any case, and neither an unsigned request nor another key', () => {
    const g: Grant = { key: 'ddns-key.' };
    assert.ok(matchesRequester(g, who('192.0.2.1', 'ddns-key.')));
    assert.ok(matchesRequester(g, who('192.0.2.1', 'DDNS-Key.')));
    assert.ok(!matchesRequester(g, who('192.0.2.1', null)));
    assert.ok(!matchesRequester(g, who('192.0.2.1', 'dhcp-key.')));
    assert.ok(!matchesRequester(g, who('192.0.2.1', 'ddns-key.example.')));
  });

  it('an IPv4 prefix matches the addresses inside it, at byte and non-byte boundaries', () => {
    assert.ok(matchesRequester({ address: '127.0.0.0/8' }, who('127.255.3.4')));
    assert.ok(!matchesRequester({ address: '127.0.0.0/8' }, who('128.0.0.1')));
    assert.ok(matchesRequester({ address: '192.0.2.64/26' }, who('192.0.2.127')));
    assert.ok(!matchesRequester({ address: '192.0.2.64/26' }, who('192.0.2.128')));
    assert.ok(!matchesRequester({ address: '192.0.2.64/26' }, who('192.0.2.63')));
    assert.ok(matchesRequester({ address: '0.0.0.0/0' }, who('203.0.113.9')));
  });

  it('a single address matches only itself', () => {
    assert.ok(matchesRequester({ address: '192.0.2.1' }, who('192.0.2.1')));
    assert.ok(!matchesRequester({ address: '192.0.2.1' }, who('192.0.2.2')));
    assert.ok(matchesRequester({ address: '::1' }, who('::1')));
    assert.ok(matchesRequester({ address: '::1' }, who('0:0:0:0:0:0:0:1')));
    assert.ok(!matchesRequester({ address: '::1' }, who('::2')));
  });

  it('an IPv6 prefix matches the addresses inside it, however they are written', () => {
    assert.ok(matchesRequester({ address: '2001:db8::/32' }, who('2001:DB8:ffff::1')));
    assert.ok(!matchesRequester({ address: '2001:db8::/32' }, who('2001:db9::1')));
    assert.ok(matchesRequester({ address: '2001:db8:0:1::/63' }, who('2001:db8::1:0:0:0:5')));
    assert.ok(!matchesRequester({ address: '2001:db8:0:2::/63' }, who('2001:db8:0:1::5')));
    assert.ok(matchesRequester({ address: 'fe80::/10' }, who('febf::1%eth0')));
    assert.ok(!matchesRequester({ address: 'fe80::/10' }, who('fec0::1')));
  });

  it('an IPv4-mapped IPv6 requester matches IPv4 prefixes, and a mapped prefix matches plain IPv4', () => {
    assert.ok(matchesRequester({ address: '127.0.0.0/8' }, who('::ffff:127.0.0.1')));
    assert.ok(matchesRequester({ address: '127.0.0.0/8' }, who('::FFFF:7f00:1')));
    assert.ok(!matchesRequester({ address: '10.0.0.0/8' }, who('::ffff:127.0.0.1')));
    assert.ok(matchesRequester({ address: '::ffff:127.0.0.0/104' }, who('127.0.0.1')));
  });

  it('families never match each other', () => {
    assert.ok(!matchesRequester({ address: '::/0' }, who('127.0.0.1')));
    assert.ok(!matchesRequester({ address: '0.0.0.0/0' }, who('::1')));
  });

  it('a grant with both key and address needs both', () => {
    const g: Grant = { key: 'k.', address: '127.0.0.0/8' };
    assert.ok(matchesRequester(g, who('127.0.0.1', 'k.')));
    assert.ok(!matchesRequester(g, who('192.0.2.1', 'k.')));
    assert.ok(!matchesRequester(g, who('127.0.0.1', null)));
  });

  it('a grant with neither key nor address matches nobody', () => {
    assert.ok(!matchesRequester({}, who('127.0.0.1', 'k.')));
    assert.ok(!matchesRequester({ names: ['www.example.com.'] }, who('127.0.0.1')));
  });

  it('a requester address that is not an address matches no address grant', () => {
    assert.ok(!matchesRequester({ address: '0.0.0.0/0' }, who('localhost')));
    assert.ok(!matchesRequester({ address: '::/0' }, who('')));
  });

  it('allowedBy: any matching grant lets the requester in, and no grants let nobody in', () => {
    const grants: Grant[] = [{ key: 'a.' }, { address: '10.0.0.0/8' }];
    assert.ok(allowedBy(grants, who('192.0.2.1', 'a.')));
    assert.ok(allowedBy(grants, who('10.9.9.9')));
    assert.ok(!allowedBy(grants, who('192.0.2.1', 'b.')));
    assert.ok(!allowedBy([], who('127.0.0.1', 'a.')));
  });

  it('the same requester address asked about twice, then another, is each answered afresh', () => {
    const g: Grant = { address: '192.0.2.0/24' };
    assert.ok(matchesRequester(g, who('192.0.2.5')));
    assert.ok(matchesRequester(g, who('192.0.2.5')));
    assert.ok(!matchesRequester(g, who('198.51.100.5')));
    assert.ok(matchesRequester(g, who('192.0.2.5')));
  });
});

describe('what a requester may change', () => {
  const dhcp: Grant = { key: 'dhcp-key.', names: ['*.dhcp.example.com.'], types: [Type.A, Type.AAAA, Type.PTR, Type.TXT, Type.DHCID] };
  const admin: Grant = { key: 'admin.' };
  const dh = who('192.0.2.10', 'dhcp-key.');

  it('a grant without names or types covers every record, including the apex SOA', () => {
    assert.ok(mayChange([admin], who('192.0.2.1', 'admin.'), 'example.com.', Type.SOA));
    assert.ok(mayChange([admin], who('192.0.2.1', 'admin.'), 'x.y.example.com.', Type.ANY));
  });

  it('"*.suffix" covers names strictly below the suffix at any depth, not the suffix itself', () => {
    assert.ok(mayChange([dhcp], dh, 'host1.dhcp.example.com.', Type.A));
    assert.ok(mayChange([dhcp], dh, 'a.b.DHCP.example.COM.', Type.AAAA));
    assert.ok(mayChange([dhcp], dh, '*.dhcp.example.com.', Type.TXT));
    assert.ok(!mayChange([dhcp], dh, 'dhcp.example.com.', Type.A));
    assert.ok(!mayChange([dhcp], dh, 'host1.xdhcp.example.com.', Type.A));
    assert.ok(!mayChange([dhcp], dh, 'www.example.com.', Type.A));
  });

  it('a plain name covers exactly that name, ignoring case', () => {
    const g: Grant = { address: '127.0.0.1', names: ['www.example.com.'] };
    assert.ok(mayChange([g], who('127.0.0.1'), 'WWW.Example.com.', Type.A));
    assert.ok(!mayChange([g], who('127.0.0.1'), 'a.www.example.com.', Type.A));
    assert.ok(!mayChange([g], who('127.0.0.1'), 'example.com.', Type.A));
  });

  it('types limit the record types, and such a grant never covers deleting every type (ANY)', () => {
    assert.ok(mayChange([dhcp], dh, 'h.dhcp.example.com.', Type.DHCID));
    assert.ok(!mayChange([dhcp], dh, 'h.dhcp.example.com.', Type.MX));
    assert.ok(!mayChange([dhcp], dh, 'h.dhcp.example.com.', Type.ANY));
  });

  it('the requester must match the grant whose names and types cover the record', () => {
    assert.ok(!mayChange([dhcp], who('192.0.2.10', 'other.'), 'h.dhcp.example.com.', Type.A));
    assert.ok(!mayChange([dhcp], who('192.0.2.10', null), 'h.dhcp.example.com.', Type.A));
  });

  it('grants are tried one by one: a matching requester may use any grant that covers the record', () => {
    const web: Grant = { key: 'dhcp-key.', names: ['www.example.com.'], types: [Type.CNAME] };
    assert.ok(mayChange([dhcp, web], dh, 'www.example.com.', Type.CNAME));
    assert.ok(!mayChange([dhcp, web], dh, 'www.example.com.', Type.A));
    assert.ok(mayChange([dhcp, web], dh, 'h.dhcp.example.com.', Type.A));
  });

  it('no grants allow no change', () => {
    assert.ok(!mayChange([], who('127.0.0.1', 'k.'), 'example.com.', Type.A));
  });
});

describe('address prefixes', () => {
  it('parse addresses and prefixes of either family, and refuse anything else', () => {
    assert.deepEqual(parsePrefix('10.1.2.3/8'), { bytes: Uint8Array.of(10, 1, 2, 3), length: 8 });
    assert.equal(parsePrefix('::1')!.length, 128);
    assert.deepEqual(parsePrefix('::ffff:192.0.2.0/120'), { bytes: Uint8Array.of(192, 0, 2, 0), length: 24 });
    assert.equal(parsePrefix('::ffff:0:0/95')!.bytes.length, 16);
    for (const bad of ['', '/8', '10.0.0.0/', '10.0.0.0/33', '::/129', '10.0.0.0/08x', 'example.com', '1.2.3', '1.2.3.4.5', '1:2:3:4:5:6:7:8:9', '1::2::3', '10.0.0.256']) {
      assert.equal(parsePrefix(bad), null, bad);
    }
  });

  it('parse IPv6 with an embedded IPv4 tail and compressed zeros in any position', () => {
    assert.deepEqual(parseAddress('64:ff9b::192.0.2.33'), Uint8Array.of(0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 33));
    assert.deepEqual(parseAddress('1::'), Uint8Array.of(0, 1, ...new Array<number>(14).fill(0)));
    assert.deepEqual(parseAddress('::'), new Uint8Array(16));
    assert.deepEqual(parseAddress('::ffff:10.0.0.1'), Uint8Array.of(10, 0, 0, 1));
  });

  it('a /0 prefix holds every address of its family; a full-length one holds one', () => {
    assert.ok(inPrefix(parseAddress('255.255.255.255')!, parsePrefix('0.0.0.0/0')!));
    assert.ok(inPrefix(parseAddress('ffff::1')!, parsePrefix('::/0')!));
    assert.ok(inPrefix(parseAddress('2001:db8::1')!, parsePrefix('2001:db8::1/128')!));
    assert.ok(!inPrefix(parseAddress('2001:db8::2')!, parsePrefix('2001:db8::1/128')!));
    assert.ok(inPrefix(parseAddress('2001:db8::1')!, parsePrefix('2001:db8::/127')!));
    assert.ok(!inPrefix(parseAddress('2001:db8::2')!, parsePrefix('2001:db8::/127')!));
  });
});
