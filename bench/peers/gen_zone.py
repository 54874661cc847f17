#!/usr/bin/env python3
# Vendored unchanged from the team kit (../shared/bench/peers/gen_zone.py) so that a clean clone
# can generate the same 100k-host benchmark zone that the BIND/Knot/NSD baselines used.
"""Generate a realistic DHCP / Active Directory style zone `bench.test.`
plus a dnsperf query file.  Standard library only, deterministic (seeded).

Usage:
  gen_zone.py [--n 100000] [--queries 200000] [--seed 42] [--out DIR]

Writes into DIR (default: current directory):
  bench.test.zone   the zone (SOA serial 1, 2 NS, N hosts + AD/SRV/MX/TXT data)
  queries.txt       dnsperf input ("name TYPE" per line), mixed:
                      55% A of existing hosts        (NOERROR)
                      15% AAAA of hosts with AAAA    (NOERROR)
                       5% AAAA of hosts without AAAA (NOERROR/NODATA)
                       5% SRV of AD names            (NOERROR)
                       3% A of CNAME aliases         (NOERROR, CNAME chain)
                       2% MX/TXT                     (NOERROR)
                      14% A of non-existent names    (NXDOMAIN)
                       1% SOA of the apex            (NOERROR)
  zone-stats.txt    record counts by type

All addresses in the zone are *data only*.  The NS targets resolve to
127.0.0.1 / 127.0.0.2 so that even a mis-configured notify can only reach
loopback.
"""
import argparse
import os
import random

ZONE = "bench.test."


def host_ip4(i):
    # 10.x.y.z data addresses (never contacted by anything)
    return "10.%d.%d.%d" % ((i >> 16) & 0xFF, (i >> 8) & 0xFF, (i & 0xFF) or 1)


def host_ip6(i):
    return "2001:db8:%x:%x::%x" % ((i >> 16) & 0xFFFF, (i >> 8) & 0xFF, i & 0xFFFF or 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000, help="number of host names")
    ap.add_argument("--queries", type=int, default=200000, help="query lines")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=".")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)

    counts = {}
    lines = []

    def rr(owner, rtype, rdata, ttl=None):
        counts[rtype] = counts.get(rtype, 0) + 1
        if ttl is None:
            lines.append("%s\t%s\t%s" % (owner, rtype, rdata))
        else:
            lines.append("%s\t%d\t%s\t%s" % (owner, ttl, rtype, rdata))

    lines.append("$ORIGIN %s" % ZONE)
    lines.append("$TTL 3600")
    rr("@", "SOA", "ns1.bench.test. hostmaster.bench.test. 1 900 600 86400 300")
    rr("@", "NS", "ns1")
    rr("@", "NS", "ns2")
    rr("ns1", "A", "127.0.0.1")
    rr("ns2", "A", "127.0.0.2")
    rr("@", "MX", "10 mail1")
    rr("@", "MX", "20 mail2")
    rr("mail1", "A", "10.255.0.25")
    rr("mail2", "A", "10.255.0.26")
    rr("@", "TXT", '"v=spf1 mx -all"')
    rr("_dmarc", "TXT", '"v=DMARC1; p=none"')

    # ---- Active Directory: domain controllers, sites, SRV locator records
    n_dc = 10
    sites = ["Site-%02d" % s for s in range(1, 21)]
    domain_guid = "5e7f4c1a-3b2d-4e6f-8a9b-0c1d2e3f4a5b"
    srv_names = []
    for d in range(1, n_dc + 1):
        dc = "dc%02d" % d
        rr(dc, "A", "10.254.0.%d" % d)
        rr(dc, "AAAA", "2001:db8:fe::%x" % d)
        dsa = "%08x-%04x-%04x-%04x-%012x" % (rnd.getrandbits(32), rnd.getrandbits(16),
                                             rnd.getrandbits(16), rnd.getrandbits(16),
                                             rnd.getrandbits(48))
        rr("%s._msdcs" % dsa, "CNAME", dc)
        if d <= 2:
            rr("@", "A", "10.254.0.%d" % d)
        rr("gc._msdcs", "A", "10.254.0.%d" % d)
        rr("DomainDnsZones", "A", "10.254.0.%d" % d)
        rr("ForestDnsZones", "A", "10.254.0.%d" % d)
        for owner, port in (("_ldap._tcp", 389), ("_kerberos._tcp", 88), ("_kerberos._udp", 88),
                            ("_kpasswd._tcp", 464), ("_kpasswd._udp", 464), ("_gc._tcp", 3268),
                            ("_ldap._tcp.dc._msdcs", 389), ("_kerberos._tcp.dc._msdcs", 88),
                            ("_ldap._tcp.gc._msdcs", 3268),
                            ("_ldap._tcp.%s.domains._msdcs" % domain_guid, 389),
                            ("_ldap._tcp.DomainDnsZones", 389), ("_ldap._tcp.ForestDnsZones", 389)):
            rr(owner, "SRV", "0 100 %d %s" % (port, dc))
            srv_names.append(owner)
        # each DC covers two sites
        for s in (sites[(2 * d - 2) % len(sites)], sites[(2 * d - 1) % len(sites)]):
            for owner, port in (("_ldap._tcp.%s._sites" % s, 389),
                                ("_kerberos._tcp.%s._sites" % s, 88),
                                ("_ldap._tcp.%s._sites.dc._msdcs" % s, 389),
                                ("_kerberos._tcp.%s._sites.dc._msdcs" % s, 88),
                                ("_gc._tcp.%s._sites" % s, 3268)):
                rr(owner, "SRV", "0 100 %d %s" % (port, dc))
                srv_names.append(owner)
    rr("_ldap._tcp.pdc._msdcs", "SRV", "0 100 389 dc01")
    srv_names.append("_ldap._tcp.pdc._msdcs")
    srv_names = sorted(set(srv_names))

    # ---- hosts: DHCP clients / servers / printers
    prefixes = ["ws"] * 60 + ["lap"] * 25 + ["srv"] * 8 + ["prn"] * 5 + ["voip"] * 2
    hosts = []          # names
    has6 = []           # bool
    aliases = []        # CNAME owners
    for i in range(a.n):
        p = prefixes[i % len(prefixes)]
        site = sites[i % len(sites)].lower()
        name = "%s-%s-%06d" % (p, site, i)
        dyn = p in ("ws", "lap", "voip")      # DHCP registered -> short TTL
        ttl = 1200 if dyn else None
        rr(name, "A", host_ip4(i), ttl)
        v6 = (i % 5) < 2                        # 40% dual-stack
        if v6:
            rr(name, "AAAA", host_ip6(i), ttl)
        if dyn and i % 10 == 3:                 # ISC-dhcpd style ownership TXT (10%)
            rr(name, "TXT", '"31%030x"' % rnd.getrandbits(120), ttl)
        hosts.append(name)
        has6.append(v6)
        if p in ("srv", "prn") and i % 3 == 0:  # service aliases
            alias = "%s-alias-%06d" % (p, i)
            rr(alias, "CNAME", name)
            aliases.append(alias)
    # a few well known aliases
    srv_hosts = [h for h in hosts[:200] if h.startswith("srv-")]
    if srv_hosts:
        for al in ("www", "intranet", "wpad"):
            rr(al, "CNAME", srv_hosts[0])
            aliases.append(al)

    with open(os.path.join(a.out, "bench.test.zone"), "w") as f:
        f.write("\n".join(lines) + "\n")

    total = sum(counts.values())
    with open(os.path.join(a.out, "zone-stats.txt"), "w") as f:
        f.write("hosts %d\n" % a.n)
        f.write("records %d\n" % total)
        for k in sorted(counts):
            f.write("%s %d\n" % (k, counts[k]))

    # ---- queries
    v6hosts = [h for h, v in zip(hosts, has6) if v]
    v4only = [h for h, v in zip(hosts, has6) if not v]
    q = []
    for _ in range(a.queries):
        r = rnd.random() * 100
        if r < 55:
            q.append("%s.%s A" % (rnd.choice(hosts), ZONE))
        elif r < 70:
            q.append("%s.%s AAAA" % (rnd.choice(v6hosts), ZONE))
        elif r < 75:
            q.append("%s.%s AAAA" % (rnd.choice(v4only), ZONE))
        elif r < 80:
            q.append("%s.%s SRV" % (rnd.choice(srv_names), ZONE))
        elif r < 83:
            q.append("%s.%s A" % (rnd.choice(aliases), ZONE))
        elif r < 85:
            q.append("%s %s" % (ZONE, rnd.choice(("MX", "TXT"))))
        elif r < 99:
            q.append("nx-%08x.%s A" % (rnd.getrandbits(32), ZONE))
        else:
            q.append("%s SOA" % ZONE)
    with open(os.path.join(a.out, "queries.txt"), "w") as f:
        f.write("\n".join(q) + "\n")
    print("zone: %d hosts, %d records; queries: %d" % (a.n, total, len(q)))


if __name__ == "__main__":
    main()
