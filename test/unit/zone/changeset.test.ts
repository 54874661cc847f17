// diff(a, b) and apply(zone, changeset): strict, all-or-nothing, and inverse of each other.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplyError, applyChangeset, diff, isEmptyChange } from '../../../shared/zone/changeset.ts';
import { loadZoneText } from '../../../shared/zone/load.ts';
import { parseRecordLine } from '../../../shared/zone/parser.ts';
import { printZone, recordToText } from '../../../shared/zone/printer.ts';
import { cloneZone, soaOf, withSerial, type Zone } from '../../../shared/zone/zone.ts';

const zone = (body: string, serial = 1): Zone => {
  const r = loadZoneText(`$TTL 300\n@ SOA ns1 hostmaster ${serial} 2h 1h 2w 5m\n  NS ns1\nns1 A 192.0.2.1\n${body}`, 'z.zone', { origin: 'ex.test.' });
  assert.deepEqual(r.errors, []);
  return r.zone;
};
const rr = parseRecordLine;

describe('diff', () => {
  it('finds added and removed records, and leaves equal RRsets alone', () => {
    const c = diff(zone('a A 192.0.2.1\na A 192.0.2.2\nb TXT "x"\n'), zone('a A 192.0.2.2\na A 192.0.2.3\nc MX 10 mail\n', 2));
    assert.deepEqual(c.removed.map(recordToText).sort(), ['a.ex.test. 300 IN A 192.0.2.1', 'b.ex.test. 300 IN TXT "x"']);
    assert.deepEqual(c.added.map(recordToText).sort(), ['a.ex.test. 300 IN A 192.0.2.3', 'c.ex.test. 300 IN MX 10 mail.ex.test.']);
  });

  it('a changed TTL removes and re-adds the whole RRset', () => {
    const c = diff(zone('a A 192.0.2.1\na A 192.0.2.2\n'), zone('a 60 A 192.0.2.1\na 60 A 192.0.2.2\n', 2));
    assert.equal(c.removed.length, 2);
    assert.deepEqual(c.added.map((r) => r.ttl), [60, 60]);
  });

  it('a change of case, in an owner or in a name inside rdata, is a change that apply reproduces exactly', () => {
    const a = zone('a MX 10 MAIL.ex.test.\nb A 192.0.2.1\nb A 192.0.2.2\n');
    const b = zone('a MX 10 mail.ex.test.\nB A 192.0.2.1\nB A 192.0.2.2\n');
    const c = diff(a, b);
    assert.ok(!isEmptyChange(c));
    assert.deepEqual([c.removed.length, c.added.length], [3, 3]);
    assert.equal(printZone(applyChangeset(cloneZone(a), c)), printZone(b));
    assert.ok(isEmptyChange(diff(a, cloneZone(a))));
  });
});

describe('apply', () => {
  it('applying diff(a, b) to a gives b', () => {
    const a = zone('a A 192.0.2.1\nb CNAME a\nc TXT "one" "two"\n');
    const b = zone('a A 192.0.2.9\nb A 192.0.2.2\nd TXT "three"\n', 7);
    const out = applyChangeset(cloneZone(a), diff(a, b));
    assert.equal(printZone(out), printZone(b));
  });

  it('random edits: apply(a, diff(a, b)) == b, and apply(b, diff(b, a)) == a (200 rounds, fixed seed)', () => {
    let seed = 99;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    let a = zone('');
    for (let round = 0; round < 200; round++) {
      const b = cloneZone(a);
      for (let k = 0; k < 5; k++) {
        const name = `h${rand(20)}.ex.test.`;
        const line = rand(3) === 0 ? `${name} ${[60, 300][rand(2)]} IN TXT "t${rand(4)}"` : `${name} 300 IN A 10.0.${rand(4)}.${rand(4)}`;
        const r = rr(line);
        try { applyChangeset(b, { soaFrom: soaOf(b)!, soaTo: soaOf(b)!, removed: [], added: [r] }); } catch { /* already there */ }
        if (rand(2) === 0) {
          const victim = [...b.nodes.values()].filter((n) => n.name.startsWith('h'))[0];
          const set = victim && [...victim.rrsets.values()][0];
          if (set) applyChangeset(b, { soaFrom: soaOf(b)!, soaTo: soaOf(b)!, removed: [{ name: set.name, type: set.type, class: set.class, ttl: set.ttl, rdata: set.rdata[0] }], added: [] });
        }
      }
      const soa = soaOf(b)!;
      soa.rdata = withSerial(soa.rdata, round + 2);
      applyChangeset(b, { soaFrom: soaOf(b)!, soaTo: soa, removed: [], added: [] });
      assert.equal(printZone(applyChangeset(cloneZone(a), diff(a, b))), printZone(b), `round ${round}`);
      assert.equal(printZone(applyChangeset(cloneZone(b), diff(b, a))), printZone(a), `round ${round} back`);
      a = b;
    }
  });

  it('deleting an absent record or adding a present one is an error, and nothing changes', () => {
    const z = zone('a A 192.0.2.1\n');
    const before = printZone(z);
    const soa = soaOf(z)!;
    assert.throws(() => applyChangeset(z, { soaFrom: soa, soaTo: soa, removed: [rr('b.ex.test. 300 IN A 192.0.2.7')], added: [rr('c.ex.test. 300 IN A 192.0.2.8')] }),
      (e: unknown) => e instanceof ApplyError && /removes b\.ex\.test\. .* not in the zone/.test(e.message));
    assert.throws(() => applyChangeset(z, { soaFrom: soa, soaTo: soa, removed: [], added: [rr('x.ex.test. 300 IN A 192.0.2.5'), rr('a.ex.test. 300 IN A 192.0.2.1')] }),
      (e: unknown) => e instanceof ApplyError && /already in the zone/.test(e.message));
    assert.equal(printZone(z), before);
  });

  it('a change that starts from another serial is refused', () => {
    const z = zone('', 5);
    const other = soaOf(zone('', 4))!;
    assert.throws(() => applyChangeset(z, { soaFrom: other, soaTo: other, removed: [], added: [] }), /at serial 5, but the change starts from serial 4/);
  });

  it('a change that would put a CNAME beside other data is undone completely', () => {
    const z = zone('a A 192.0.2.1\n');
    const before = printZone(z);
    const soa = soaOf(z)!;
    assert.throws(() => applyChangeset(z, { soaFrom: soa, soaTo: soa, removed: [], added: [rr('n.ex.test. 300 IN A 192.0.2.3'), rr('a.ex.test. 300 IN CNAME n.ex.test.')] }), /CNAME and other data/);
    assert.equal(printZone(z), before);
  });

  it('out-of-zone additions are refused', () => {
    const z = zone('');
    const soa = soaOf(z)!;
    assert.throws(() => applyChangeset(z, { soaFrom: soa, soaTo: soa, removed: [], added: [rr('x.other.test. 300 IN A 192.0.2.3')] }), /out of zone/);
  });
});

describe('a refused apply leaves the zone exactly as it was', () => {
  it('even when the removal carried another TTL, as RFC 2136 deletions do', () => {
    const z = zone('www 3600 A 192.0.2.1\nwww 3600 A 192.0.2.2\nMixed TXT "case"\n');
    const before = printZone(z);
    const soa = soaOf(z)!;
    assert.throws(() => applyChangeset(z, {
      soaFrom: soa, soaTo: soa,
      removed: [rr('www.ex.test. 0 IN A 192.0.2.1'), rr('mixed.ex.test. 0 IN TXT "case"')],
      added: [rr('n.ex.test. 300 IN A 192.0.2.3'), rr('n.ex.test. 300 IN CNAME www.ex.test.')],
    }), /CNAME and other data/);
    assert.equal(printZone(z), before);
  });
});

describe('printing a zone in canonical order', () => {
  it('an owner written with an escape is the same owner, and sorts as its octets do', () => {
    // \065 is "A": one node, both records printed, before b.
    const z = zone('\\065 A 10.0.0.1\nb A 10.0.0.2\nA TXT "x"\n');
    const lines = printZone(z).trimEnd().split('\n').filter((l) => !/ (NS|SOA) |^ns1\./.test(l));
    assert.equal(lines.length, 3);
    assert.deepEqual(lines.map((l) => l.split(' ').slice(0, 4).join(' ')), ['A.ex.test. 300 IN A', 'A.ex.test. 300 IN TXT', 'b.ex.test. 300 IN A']);
    assert.match(lines[2], /^b\.ex\.test\. /, 'b sorts after a, however a is written');
  });

  it('prints addresses as the general rdata printer does, and refuses a bad length as before', () => {
    const z = zone('h A 192.0.2.7\nh AAAA 2001:db8::7\nh AAAA ::ffff:192.0.2.1\n');
    assert.deepEqual(printZone(z).trimEnd().split('\n').filter((l) => l.startsWith('h.')), ['h.ex.test. 300 IN A 192.0.2.7', 'h.ex.test. 300 IN AAAA ::ffff:192.0.2.1', 'h.ex.test. 300 IN AAAA 2001:db8::7']);
    assert.throws(() => recordToText({ name: 'h.ex.test.', type: 1, class: 1, ttl: 1, rdata: Uint8Array.from([1, 2, 3]) }));
  });
});
