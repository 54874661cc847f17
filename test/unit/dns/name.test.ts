// Names: parsing with escapes and origins, limits, wire forms with compression, canonical order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WireError } from '../../../shared/dns/errors.ts';
import {
  canonicalSortKey, compareNames, isSubdomain, labelCount, nameKey, nameLabels, nameToWire, parentName, parseName, readName, relativize,
} from '../../../shared/dns/name.ts';
import { WireWriter } from '../../../shared/dns/wire.ts';

const origin = 'example.com.';

describe('names in presentation format', () => {
  it('relative names and @ are completed with the origin', () => {
    assert.equal(parseName('www', origin), 'www.example.com.');
    assert.equal(parseName('@', origin), 'example.com.');
    assert.equal(parseName('a.b.', origin), 'a.b.');
    assert.equal(parseName('.', origin), '.');
    assert.equal(parseName('x', '.'), 'x.');
  });

  it('escapes decode to octets and print in one normalized way', () => {
    assert.equal(parseName('\\065bc', origin), 'Abc.example.com.');
    assert.equal(parseName('a\\.b', origin), 'a\\.b.example.com.');
    assert.equal(parseName('sp\\ ace', origin), 'sp\\032ace.example.com.');
    assert.equal(parseName('x\\032y', origin), 'x\\032y.example.com.');
    assert.equal(parseName('q\\"uote', origin), 'q\\"uote.example.com.');
    assert.equal(parseName('a@b', origin), 'a\\@b.example.com.');
    assert.equal(parseName('\\255\\000', origin), '\\255\\000.example.com.');
  });

  it('an escaped dot does not separate labels', () => {
    assert.deepEqual(nameLabels('a\\.b.c.'), ['a\\.b', 'c']);
    assert.equal(labelCount('a\\.b.c.'), 2);
    assert.equal(parentName('a\\.b.c.'), 'c.');
    assert.equal(isSubdomain('a\\.example.com.', 'example.com.'), false);
    assert.equal(isSubdomain('a\\\\.example.com.', 'example.com.'), true);
    assert.equal(isSubdomain('WWW.Example.COM.', 'example.com.'), true);
    assert.equal(isSubdomain('badexample.com.', 'example.com.'), false);
  });

  it('bad escapes are refused with a typed error', () => {
    for (const bad of ['a\\25', 'a\\256', 'a\\2x5', 'a\\']) {
      assert.throws(() => parseName(bad, origin), (e: unknown) => e instanceof WireError && e.code === 'bad-name', bad);
    }
  });

  it('empty labels, long labels and long names are refused', () => {
    assert.throws(() => parseName('a..b.', origin), /empty label/);
    assert.throws(() => parseName('.a.', origin), /empty label/);
    assert.throws(() => parseName('x'.repeat(64), origin), /label of 64 octets/);
    assert.equal(parseName('x'.repeat(63), origin).length, 63 + 1 + origin.length);
    const long = Array.from({ length: 5 }, () => 'y'.repeat(60)).join('.') + '.';
    assert.throws(() => parseName(long), /limit 255/);
    // 253 characters of text is the longest name that fits 255 octets on the wire
    const max = Array.from({ length: 4 }, () => 'z'.repeat(62)).join('.') + '.z.';
    assert.equal(nameToWire(parseName(max)).length, 255);
    assert.throws(() => parseName('a' + max), /limit 255/);
    assert.throws(() => parseName('\\065'.repeat(64) + '.'), /label of 64 octets/);
  });

  it('case is preserved, and compared ignoring case', () => {
    assert.equal(parseName('WwW', origin), 'WwW.example.com.');
    assert.equal(nameKey('WwW.Example.COM.'), 'www.example.com.');
  });

  it('relativize prints names under the origin without it', () => {
    assert.equal(relativize('www.example.com.', origin), 'www');
    assert.equal(relativize('example.com.', origin), '@');
    assert.equal(relativize('www.example.net.', origin), 'www.example.net.');
  });
});

describe('names on the wire', () => {
  it('round-trip through the uncompressed wire form, escapes included', () => {
    for (const n of ['.', 'example.com.', 'a\\.b.example.com.', '\\000\\255.x.', 'Mixed.Case.']) {
      const [back, end] = readName(nameToWire(n), 0);
      assert.equal(back, n);
      assert.equal(end, nameToWire(n).length);
    }
  });

  it('compression points later names at the longest suffix already written, keeping case', () => {
    const w = new WireWriter(true);
    w.name('www.example.com.');
    w.name('mail.example.com.');
    w.name('www.example.com.');
    w.name('WWW.example.com.');
    const b = w.view();
    // www.example.com. (17) + mail + pointer (7) + pointer (2) + WWW + pointer (6)
    assert.equal(b.length, 17 + 7 + 2 + 6);
    assert.deepEqual(readName(b, 17), ['mail.example.com.', 24]);
    assert.deepEqual(readName(b, 24), ['www.example.com.', 26]);
    assert.deepEqual(readName(b, 26), ['WWW.example.com.', 32]);
  });

  it('forward and looping pointers are refused', () => {
    assert.throws(() => readName(Buffer.from([0xc0, 0x00]), 0), /does not point backwards/);
    assert.throws(() => readName(Buffer.from([0x01, 0x61, 0xc0, 0x04, 0x00]), 0), /does not point backwards/);
  });

  it('reserved label types and overlong names are refused', () => {
    assert.throws(() => readName(Buffer.from([0x41, 0x61, 0x00]), 0), /label type/);
    const parts: number[] = [];
    for (let i = 0; i < 5; i++) parts.push(63, ...new Array(63).fill(0x61));
    parts.push(0);
    assert.throws(() => readName(Buffer.from(parts), 0), /longer than 255/);
  });

  it('a name that runs past the end is a truncation', () => {
    assert.throws(() => readName(Buffer.from([0x03, 0x61, 0x62]), 0), (e: unknown) => e instanceof WireError && e.code === 'truncated');
  });
});

describe('canonical order (RFC 4034 §6.1)', () => {
  it('sorts the RFC example exactly', () => {
    const sorted = ['example.', 'a.example.', 'yljkjljk.a.example.', 'Z.a.example.', 'zABC.a.EXAMPLE.', 'z.example.', '\\001.z.example.', '*.z.example.', '\\200.z.example.'];
    const shuffled = [...sorted].reverse();
    shuffled.sort(compareNames);
    assert.deepEqual(shuffled, sorted);
  });

  it('a shorter label sorts before a longer one it prefixes', () => {
    assert.ok(canonicalSortKey('a.example.') < canonicalSortKey('a\\000.example.'));
  });

  it('a name without escapes gets the same key as the same name spelled with them', () => {
    // The plain spelling takes the fast path, the escaped one the label-by-label path.
    const names = ['example.', 'a.example.', 'Host-42.dhcp.Corp.Example.', '_ldap._tcp.dc._msdcs.ad.example.', 'x.', '*.z.example.'];
    for (let i = 0; i < 200; i++) {
      const labels = Array.from({ length: 1 + (i % 5) }, (_, k) => Array.from({ length: 1 + ((i * 7 + k) % 12) }, (_, j) => 'abcXYZ019-_'[(i + j * 3 + k) % 11]).join(''));
      names.push(labels.join('.') + '.');
    }
    for (const n of names) {
      const escaped = `\\${String(n.charCodeAt(0)).padStart(3, '0')}${n.slice(1)}`;
      assert.equal(canonicalSortKey(n), canonicalSortKey(escaped), n);
    }
    assert.equal(canonicalSortKey('.'), '');
  });
});

describe('long names with many labels', () => {
  it('a legal 255-octet name of 127 labels reads, even through pointers', () => {
    const labels = Array.from({ length: 127 }, () => 'a');
    const name = labels.join('.') + '.';
    const wire = nameToWire(name);
    assert.equal(wire.length, 255);
    // the same name again, written as one label and a pointer into the first copy
    const msg = Buffer.concat([wire, Buffer.from([1, 0x61, 0xc0, 2])]);
    assert.equal(readName(msg, 255)[0], name);
  });
  it('a backslash before a character outside one octet is refused', () => {
    assert.throws(() => parseName('a\\\u0100b.', origin), /not a byte/);
  });
});
