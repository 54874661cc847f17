// DNS registry numbers (IANA): record types, classes, opcodes and rcodes, with their mnemonics.

export const Type = {
  A: 1, NS: 2, MD: 3, MF: 4, CNAME: 5, SOA: 6, MB: 7, MG: 8, MR: 9, NULL: 10, WKS: 11, PTR: 12,
  HINFO: 13, MINFO: 14, MX: 15, TXT: 16, RP: 17, AFSDB: 18, X25: 19, ISDN: 20, RT: 21,
  NSAP: 22, SIG: 24, KEY: 25, PX: 26, AAAA: 28, LOC: 29, NXT: 30, SRV: 33, NAPTR: 35, KX: 36,
  CERT: 37, A6: 38, DNAME: 39, OPT: 41, APL: 42, DS: 43, SSHFP: 44, IPSECKEY: 45, RRSIG: 46,
  NSEC: 47, DNSKEY: 48, DHCID: 49, NSEC3: 50, NSEC3PARAM: 51, TLSA: 52, SMIMEA: 53, HIP: 55,
  CDS: 59, CDNSKEY: 60, OPENPGPKEY: 61, CSYNC: 62, ZONEMD: 63, SVCB: 64, HTTPS: 65, SPF: 99,
  TKEY: 249, TSIG: 250, IXFR: 251, AXFR: 252, MAILB: 253, MAILA: 254, ANY: 255, URI: 256, CAA: 257,
} as const;

export const Class = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

export const Rcode = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6,
  YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10, DSOTYPENI: 11, BADVERS: 16,
  // In a TSIG record's error field, 16 means BADSIG rather than BADVERS (RFC 8945 §3).
  BADKEY: 17, BADTIME: 18, BADMODE: 19, BADNAME: 20, BADALG: 21, BADTRUNC: 22, BADCOOKIE: 23,
} as const;

export const TsigError = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

function invert(o: Record<string, number>): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(o)) if (!m.has(v)) m.set(v, k);
  return m;
}

const typeNames = invert(Type);
const classNames = invert(Class);
const rcodeNames = invert(Rcode);
const opcodeNames = invert(Opcode);

/** The mnemonic for a type, or RFC 3597's TYPEnnn. */
export function typeName(t: number): string {
  return typeNames.get(t) ?? `TYPE${t}`;
}

/** Parses a type mnemonic or TYPEnnn, case-insensitively; undefined when unknown. */
export function typeFromName(s: string): number | undefined {
  const u = s.toUpperCase();
  const known = (Type as Record<string, number>)[u];
  if (known !== undefined) return known;
  return genericNumber(u, 'TYPE');
}

// RFC 3597 §5: TYPEnnn and CLASSnnn name any 16-bit value.
function genericNumber(upper: string, prefix: 'TYPE' | 'CLASS'): number | undefined {
  if (!upper.startsWith(prefix)) return undefined;
  const digits = upper.slice(prefix.length);
  if (!/^\d{1,5}$/.test(digits)) return undefined;
  const n = Number(digits);
  return n <= 0xffff ? n : undefined;
}

export function className(c: number): string {
  return classNames.get(c) ?? `CLASS${c}`;
}

export function classFromName(s: string): number | undefined {
  const u = s.toUpperCase();
  if (u === 'IN' || u === 'CH' || u === 'HS' || u === 'NONE' || u === 'ANY') return (Class as Record<string, number>)[u];
  if (u === 'CHAOS') return Class.CH;
  if (u === 'HESIOD') return Class.HS;
  return genericNumber(u, 'CLASS');
}

export function rcodeName(r: number): string {
  return rcodeNames.get(r) ?? `RCODE${r}`;
}

export function opcodeName(o: number): string {
  return opcodeNames.get(o) ?? `OPCODE${o}`;
}

/** Types that only make sense in a message, never in a zone (RFC 6895 §3.1 meta-types and QTYPEs). */
export function isMetaType(t: number): boolean {
  return t === Type.OPT || (t >= 128 && t <= 255);
}
