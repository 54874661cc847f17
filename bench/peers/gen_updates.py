#!/usr/bin/env python3
# Vendored unchanged from the team kit (../shared/bench/peers/gen_updates.py) so that a clean clone
# can generate the same dynamic-update load that the BIND/Knot update baselines used.
"""Generate a dnsperf `-u` (dynamic update) input file for zone bench.test.

Usage:
  gen_updates.py --count 20000 --tag a [--n 100000] [--out updates.txt]

Each update message is one block (zone line, update lines, `send`):
  * 50%  DHCP lease renewal of an existing host from gen_zone.py:
           delete <host> A ; add <host> 1200 A <new address>
  * 50%  new DHCP client:  add dyn-<tag>-<i> 1200 A <addr>
                           add dyn-<tag>-<i> 1200 TXT "31<hex>"   (ISC-style ownership record)
The last block adds  last-<tag> 300 TXT "<tag>-<count>"  so a script can
check that every update was applied (query last-<tag>.bench.test TXT).
Names are unique per --tag, so runs with different tags never no-op.
The --n / prefix logic must match gen_zone.py to hit existing hosts.
"""
import argparse
import random

prefixes = ["ws"] * 60 + ["lap"] * 25 + ["srv"] * 8 + ["prn"] * 5 + ["voip"] * 2
sites = ["site-%02d" % s for s in range(1, 21)]


def host_name(i):
    return "%s-%s-%06d" % (prefixes[i % len(prefixes)], sites[i % len(sites)], i)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--tag", default="a")
    ap.add_argument("--n", type=int, default=100000, help="hosts in the zone (gen_zone --n)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="updates.txt")
    a = ap.parse_args()
    rnd = random.Random("%s-%s" % (a.seed, a.tag))
    out = []
    for i in range(a.count - 1):
        out.append("bench.test")
        if i % 2 == 0:
            h = host_name(rnd.randrange(a.n))
            out.append("delete %s A" % h)
            out.append("add %s 1200 A 10.200.%d.%d" % (h, rnd.randrange(256), rnd.randrange(1, 255)))
        else:
            n = "dyn-%s-%07d" % (a.tag, i)
            out.append("add %s 1200 A 10.201.%d.%d" % (n, (i >> 8) & 0xFF, (i & 0xFF) or 1))
            out.append('add %s 1200 TXT "31%030x"' % (n, rnd.getrandbits(120)))
        out.append("send")
    out.append("bench.test")
    out.append('add last-%s 300 TXT "%s-%d"' % (a.tag, a.tag, a.count))
    out.append("send")
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
