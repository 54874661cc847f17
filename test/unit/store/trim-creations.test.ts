// A creation cut to one owner's lines from its JSON text: the same lines as parsing it whole and filtering.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trimmedEvent, walkedCreation } from '../../../shared/store/rows.ts';
import { rng } from '../../support/rng.ts';

const Z = 'example.com.';
const owner = (l: string): string => l.split(/\s/, 1)[0].toLowerCase();

// Owners close to one another: prefixes, case, escapes that JSON escapes again, non-ASCII.
const OWNERS = ['host', 'HOST', 'Host', 'hos', 'hostx', 'a.host', 'ho\\.st', 'h\\"st', 'hôst', 'HÔST', 'host\\\\', '*', 'xn--hst-sna'].map((o) => `${o}.${Z}`);
const RDATA = ['A 192.0.2.1', 'TXT "plain"', 'TXT "say \\"hi\\""', 'TXT "back\\\\slash" "two"', 'TXT "\\"records\\":["', 'TXT "ünï"', 'AAAA 2001:db8::1', 'TXT ""'];
const GAPS = [' ', '\t', '  '];

function creation(r: () => number, n: number): { data: Record<string, unknown>; records: string[] } {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const records = Array.from({ length: n }, () => `${pick(OWNERS)}${pick(GAPS)}300 IN ${pick(RDATA)}`);
  const data = { serial: 7, soa: `${Z} 3600 IN SOA ns. host. 7 1 1 1 1`, records, cause: 'import', actor: { user: 'u "records":[' }, ...(r() < 0.5 ? { note: '"records":[]' } : {}) };
  return { data, records };
}

describe('a creation cut to one owner', () => {
  it('walking the JSON text keeps exactly the lines a whole parse and filter keeps, and counts them all (seeded)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const { data, records } = creation(r, Math.floor(r() * 40));
      const text = JSON.stringify(data);
      for (const o of OWNERS) {
        const key = o.toLowerCase();
        const walked = walkedCreation(text, key);
        assert.ok(walked, `seed ${seed}: JSON.stringify's text is walked`);
        assert.deepEqual(walked, { ...data, records: records.filter((l) => owner(l) === key), recordCount: records.length }, `seed ${seed}, owner ${o}`);
      }
    }
  });

  it('a line whose owner is written with JSON escapes JSON.stringify would not use is still found', () => {
    const records = [`host.${Z} 300 IN A 192.0.2.1`, `HOST.${Z} 300 IN A 192.0.2.2`, `hostx.${Z} 300 IN A 192.0.2.3`];
    const data = { serial: 1, soa: `${Z} 3600 IN SOA ns. host. 1 1 1 1 1`, records, cause: 'import', actor: {} };
    // Another writer's escapes: \u0068 is "h", \u004f "O"; JSON.parse reads them back the same.
    const text = JSON.stringify(data).replace('"host.', '"\\u0068ost.').replace('"HOST.', '"H\\u004fST.');
    assert.deepEqual(JSON.parse(text), data);
    assert.deepEqual(walkedCreation(text, `host.${Z}`), { ...data, records: records.slice(0, 2), recordCount: 3 });
  });

  it('text laid out otherwise is not walked, and the event is cut from a whole parse instead', () => {
    const { data, records } = creation(rng(7), 30);
    const pretty = JSON.stringify(data, null, 2);
    assert.equal(walkedCreation(pretty, `host.${Z}`), null);
    const head = { position: 1, id: '0190c0de-0000-7000-8000-000000000001', zone: Z, version: 1, type: 'ZoneCreated', schemaVersion: 1, time: '2024-06-01T12:00:00.000Z' };
    for (const text of [pretty, JSON.stringify(data)]) {
      const e = trimmedEvent(head, text, `host.${Z}`);
      assert.equal(e.type, 'ZoneCreated');
      if (e.type !== 'ZoneCreated') return;
      assert.deepEqual(e.data.records, records.filter((l) => owner(l) === `host.${Z}`));
      assert.equal(e.data.recordCount, records.length);
    }
  });

  it('a creation without records, and a change, come back as stored', () => {
    const empty = { serial: 1, soa: `${Z} 3600 IN SOA ns. host. 1 1 1 1 1`, records: [], cause: 'import', actor: {} };
    assert.deepEqual(walkedCreation(JSON.stringify(empty), `host.${Z}`), { ...empty, recordCount: 0 });
    const change = { serialFrom: 1, serialTo: 2, soaFrom: 's', soaTo: 't', removed: [], added: [`other.${Z} 300 IN A 192.0.2.1`], cause: 'update', actor: {} };
    const head = { position: 2, id: '0190c0de-0000-7000-8000-000000000002', zone: Z, version: 2, type: 'ZoneChanged', schemaVersion: 1, time: '2024-06-01T12:00:00.000Z' };
    assert.deepEqual(trimmedEvent(head, JSON.stringify(change), `host.${Z}`).data, change);
  });
});
