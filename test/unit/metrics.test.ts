// The Prometheus registry: counters, gauges and histograms rendered in text exposition format 0.0.4.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTENT_TYPE, Registry } from '../../shared/metrics.ts';

describe('Prometheus metrics', () => {
  it('a labelled counter renders HELP, TYPE and one line per label set, in first-use order', () => {
    const r = new Registry();
    const q = r.counter('zonelog_queries_total', 'Queries answered, by rcode.', ['rcode']);
    q.inc({ rcode: 'NOERROR' });
    q.inc({ rcode: 'NXDOMAIN' }, 2);
    q.inc({ rcode: 'NOERROR' });
    assert.equal(r.render(), [
      '# HELP zonelog_queries_total Queries answered, by rcode.',
      '# TYPE zonelog_queries_total counter',
      'zonelog_queries_total{rcode="NOERROR"} 2',
      'zonelog_queries_total{rcode="NXDOMAIN"} 2',
      '',
    ].join('\n'));
  });

  it('a metric without labels shows 0 before anything happens; a labelled one shows no series', () => {
    const r = new Registry();
    r.counter('a_total', 'A.');
    r.counter('b_total', 'B.', ['x']);
    assert.equal(r.render(), '# HELP a_total A.\n# TYPE a_total counter\na_total 0\n# HELP b_total B.\n# TYPE b_total counter\n');
  });

  it('gauges are set, raised and lowered per label set', () => {
    const r = new Registry();
    const v = r.gauge('zonelog_zone_version', 'Stream version per zone.', ['zone']);
    v.set({ zone: 'example.com.' }, 41);
    v.inc({ zone: 'example.com.' });
    v.set({ zone: 'b.test.' }, 3);
    v.dec({ zone: 'b.test.' }, 0.5);
    const up = r.gauge('up', 'Up.');
    up.set(1);
    assert.equal(v.get({ zone: 'example.com.' }), 42);
    assert.match(r.render(), /^zonelog_zone_version\{zone="example\.com\."\} 42\nzonelog_zone_version\{zone="b\.test\."\} 2\.5\n# HELP up Up\.\n# TYPE up gauge\nup 1\n$/m);
  });

  it('a histogram renders cumulative buckets with +Inf, then _sum and _count; a value on a bound counts in that bucket', () => {
    const r = new Registry();
    const h = r.histogram('zonelog_append_seconds', 'Time to make a batch durable.', [], [0.001, 0.01, 0.1]);
    for (const v of [0.0005, 0.001, 0.005, 0.05, 2]) h.observe(v);
    assert.equal(r.render(), [
      '# HELP zonelog_append_seconds Time to make a batch durable.',
      '# TYPE zonelog_append_seconds histogram',
      'zonelog_append_seconds_bucket{le="0.001"} 2',
      'zonelog_append_seconds_bucket{le="0.01"} 3',
      'zonelog_append_seconds_bucket{le="0.1"} 4',
      'zonelog_append_seconds_bucket{le="+Inf"} 5',
      'zonelog_append_seconds_sum 2.0565',
      'zonelog_append_seconds_count 5',
      '',
    ].join('\n'));
  });

  it('a labelled histogram puts le after the series labels', () => {
    const r = new Registry();
    const h = r.histogram('lat_seconds', 'L.', ['zone', 'op'], [1]);
    h.observe({ zone: 'a.', op: 'update' }, 3);
    assert.deepEqual(r.render().split('\n').slice(2, 6), [
      'lat_seconds_bucket{zone="a.",op="update",le="1"} 0',
      'lat_seconds_bucket{zone="a.",op="update",le="+Inf"} 1',
      'lat_seconds_sum{zone="a.",op="update"} 3',
      'lat_seconds_count{zone="a.",op="update"} 1',
    ]);
  });

  it('label values escape backslash, double quote and newline; HELP escapes backslash and newline', () => {
    const r = new Registry();
    r.counter('esc_total', 'Line one\nline \\two "quoted"', ['v']).inc({ v: 'a\\b"c\nd' });
    assert.equal(r.render(), '# HELP esc_total Line one\\nline \\\\two "quoted"\n# TYPE esc_total counter\nesc_total{v="a\\\\b\\"c\\nd"} 1\n');
  });

  it('label sets that join to the same text stay separate series', () => {
    const r = new Registry();
    const c = r.counter('pairs_total', 'P.', ['a', 'b']);
    c.inc({ a: 'x1:', b: 'y' });
    c.inc({ a: 'x', b: '1:y' });
    assert.equal(c.get({ a: 'x1:', b: 'y' }), 1);
    assert.equal(c.get({ a: 'x', b: '1:y' }), 1);
  });

  it('a child handle updates the same series as the labelled call', () => {
    const r = new Registry();
    const c = r.counter('c_total', 'C.', ['rcode']);
    const noerror = c.child({ rcode: 'NOERROR' });
    noerror.inc();
    noerror.inc(4);
    c.inc({ rcode: 'NOERROR' });
    assert.equal(c.get({ rcode: 'NOERROR' }), 6);
    const h = r.histogram('h_seconds', 'H.', ['zone'], [1]);
    h.child({ zone: 'a.' }).observe(0.5);
    h.observe({ zone: 'a.' }, 0.5);
    assert.match(r.render(), /h_seconds_count\{zone="a\."\} 2/);
    const g = r.gauge('g', 'G.').child();
    g.set(7);
    g.dec();
    assert.match(r.render(), /^g 6$/m);
  });

  it('special values render as +Inf, -Inf and NaN', () => {
    const r = new Registry();
    const g = r.gauge('g', 'G.', ['k']);
    g.set({ k: 'a' }, Infinity);
    g.set({ k: 'b' }, -Infinity);
    g.set({ k: 'c' }, NaN);
    assert.match(r.render(), /g\{k="a"\} \+Inf\ng\{k="b"\} -Inf\ng\{k="c"\} NaN\n/);
  });

  it('mistakes are caught when made: bad names, missing labels, repeats, a counter going down, unordered buckets', () => {
    const r = new Registry();
    assert.throws(() => r.counter('bad-name', 'x'), /not valid/);
    assert.throws(() => r.counter('ok_total', 'x', ['bad-label']), /not valid/);
    assert.throws(() => r.counter('ok2_total', 'x', ['__reserved']), /not valid/);
    assert.throws(() => r.histogram('h1', 'x', ['le']), /reserved/);
    assert.throws(() => r.histogram('h2', 'x', [], [1, 1]), /must increase/);
    assert.throws(() => r.histogram('h3', 'x', [], [NaN]), /not a number/);
    const c = r.counter('c_total', 'x', ['a', 'b']);
    assert.throws(() => c.inc({ a: '1' }), /label "b" missing/);
    assert.throws(() => c.inc({ a: '1', b: '2' }, -1), /negative/);
    assert.throws(() => r.gauge('c_total', 'again'), /registered twice/);
  });

  it('the content type is the 0.0.4 text format', () => {
    assert.equal(CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
  });
});
