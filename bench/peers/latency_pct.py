#!/usr/bin/env python3
# Vendored unchanged from the team kit (../shared/bench/peers/latency_pct.py) so that a clean clone
# can compute the same latency percentiles that the BIND/Knot/NSD baselines used.
"""Read `dnsperf -v` output on stdin; print latency percentiles (ms) and rcode counts.
Lines look like:  > NOERROR name TYPE 0.000200   (timeouts: > T name TYPE)"""
import sys

lat, rc = [], {}
for line in sys.stdin:
    if not line.startswith("> "):
        continue
    p = line.split()
    rc[p[1]] = rc.get(p[1], 0) + 1
    if p[1] not in ("T", "I"):
        try:
            lat.append(float(p[-1]))
        except ValueError:
            pass
lat.sort()
n = len(lat)
if not n:
    print("no samples")
    sys.exit(1)
def pct(q):
    return lat[min(n - 1, int(q * n))] * 1000.0
print("samples=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p99.9_ms=%.3f max_ms=%.3f mean_ms=%.3f rcodes=%s" % (
    n, pct(0.50), pct(0.90), pct(0.99), pct(0.999), lat[-1] * 1000.0, sum(lat) / n * 1000.0,
    ",".join("%s:%d" % kv for kv in sorted(rc.items()))))
