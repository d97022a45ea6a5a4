// A tiny reference model of the address rules, written from DESIGN.md and the README, not from
// capabilities/ipam: test oracles (the invariant checker, property tests) must not share the
// code under test's mistakes. Deliberately naive: BigInt arithmetic on parsed text, no ranges
// library, no cleverness.
//
// The rules (DESIGN section 3, the IPPool example):
// - a pool hands out addresses inside spec.cidr, inside spec.ranges when given (default: the whole
//   CIDR), never the gateway, never an spec.exclude address or CIDR, never the network address
//   (and for IPv4 the broadcast address) unless the prefix leaves at most one host bit;
// - the MAC of a NIC is derived from its IPv4 address when it has one, 02:00:a:b:c:d, else from its
//   IPv6 address, 0a: and the low 40 bits; a macAddress in the VM spec wins.

export type Family = 4 | 6;

export interface RefIP {
  family: Family;
  value: bigint;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some(p => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.split("::").length > 2) return undefined;
  const [head, tail] = text.split("::");
  const headGroups = groupsOf(head);
  const tailGroups = tail === undefined ? undefined : groupsOf(tail);
  // An embedded IPv4 tail (::ffff:10.0.0.1) stands for two groups.
  if (!expandV4Tail(tailGroups ?? headGroups)) return undefined;
  const groups = tailGroups === undefined ? headGroups : fillGap(headGroups, tailGroups);
  if (groups?.length !== 8 || groups.some(g => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const groupsOf = (part: string): string[] => (part === "" ? [] : part.split(":"));

/** Replaces a dotted IPv4 last group by the two groups it stands for; false when it is no IPv4 address. */
function expandV4Tail(list: string[]): boolean {
  const last = list.at(-1);
  if (!last?.includes(".")) return true;
  const v4 = parseV4(last);
  if (v4 === undefined) return false;
  list.splice(list.length - 1, 1, ((v4 >> 16n) & 0xffffn).toString(16), (v4 & 0xffffn).toString(16));
  return true;
}

/** The groups on both sides of "::" with the zero groups it stands for (at least one). */
function fillGap(head: string[], tail: string[]): string[] | undefined {
  const missing = 8 - head.length - tail.length;
  return missing < 1 ? undefined : [...head, ...Array<string>(missing).fill("0"), ...tail];
}

/** Parses an address (a "/prefix" suffix is ignored), or undefined when it is not one. */
export function refParse(text: string): RefIP | undefined {
  if (typeof text !== "string") return undefined;
  const ip = text.split("/")[0];
  if (ip.includes(":")) {
    const value = parseV6(ip);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseV4(ip);
  return value === undefined ? undefined : { family: 4, value };
}

const bits = (f: Family): bigint => (f === 4 ? 32n : 128n);

export interface RefCidr {
  family: Family;
  prefix: number;
  first: bigint;
  last: bigint;
}

export function refCidr(text: string): RefCidr | undefined {
  const [ip, p] = String(text).split("/");
  const parsed = refParse(ip);
  const prefix = Number(p);
  if (!parsed || p === undefined || !/^\d+$/.test(p) || BigInt(prefix) > bits(parsed.family)) return undefined;
  const hostBits = bits(parsed.family) - BigInt(prefix);
  const first = (parsed.value >> hostBits) << hostBits;
  return { family: parsed.family, prefix, first, last: first + (1n << hostBits) - 1n };
}

export const sameIP = (a: string, b: string): boolean => {
  const x = refParse(a);
  const y = refParse(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.value === y.value;
};

export function inCidr(address: string, cidr: string): boolean {
  const ip = refParse(address);
  const net = refCidr(cidr);
  return !!ip && !!net && ip.family === net.family && net.first <= ip.value && ip.value <= net.last;
}

export interface RefPool {
  cidr: string;
  ranges?: string[];
  exclude?: string[];
  gateway?: string;
}

function inRange(ip: RefIP, range: string): boolean {
  const [a, b = a] = range.split("-").map(refParse);
  return !!a && !!b && a.family === ip.family && a.value <= ip.value && ip.value <= b.value;
}

function inExclude(ip: RefIP, item: string): boolean {
  if (item.includes("/")) {
    const net = refCidr(item);
    return !!net && net.family === ip.family && net.first <= ip.value && ip.value <= net.last;
  }
  const x = refParse(item);
  return !!x && x.family === ip.family && x.value === ip.value;
}

/** Why the pool may never hand out this address, or undefined when it may. */
export function refWhyNot(pool: RefPool, address: string): string | undefined {
  const ip = refParse(address);
  const net = refCidr(pool.cidr);
  if (!ip) return "is not an address";
  if (!net || net.family !== ip.family || ip.value < net.first || ip.value > net.last) return `is outside ${pool.cidr}`;
  return reservedWhy(pool, ip, address) ?? edgeWhy(net, ip) ?? rangesWhy(pool, ip);
}

/** The gateway and the excluded addresses. */
function reservedWhy(pool: RefPool, ip: RefIP, address: string): string | undefined {
  if (pool.gateway !== undefined && sameIP(pool.gateway, address)) return "is the gateway";
  const excluded = (pool.exclude ?? []).find(e => inExclude(ip, e));
  return excluded ? `is excluded (${excluded})` : undefined;
}

/** The network address (and the IPv4 broadcast) of a CIDR with more than one host bit. */
function edgeWhy(net: RefCidr, ip: RefIP): string | undefined {
  const hostBits = bits(net.family) - BigInt(net.prefix);
  if (hostBits > 1n && ip.value === net.first) return "is the network address";
  if (hostBits > 1n && net.family === 4 && ip.value === net.last) return "is the broadcast address";
  return undefined;
}

function rangesWhy(pool: RefPool, ip: RefIP): string | undefined {
  if (pool.ranges?.length && !pool.ranges.some(r => inRange(ip, r))) return `is outside the ranges ${pool.ranges.join(",")}`;
  return undefined;
}

/** The allocator's error code for a request of this address: OutOfRange (outside the CIDR or the ranges) before Excluded (any other reason). */
export function refRefusal(pool: RefPool, address: string): "OutOfRange" | "Excluded" | undefined {
  const why = refWhyNot(pool, address);
  if (why === undefined) return undefined;
  const ip = refParse(address);
  if (ip && pool.ranges?.length && !pool.ranges.some(r => inRange(ip, r))) return "OutOfRange";
  return /outside|not an address/.test(why) ? "OutOfRange" : "Excluded";
}

function hexMac(value: bigint): string {
  return value.toString(16).padStart(12, "0").match(/../g)!.join(":");
}

/** The MAC a NIC with these addresses gets (any order, "/prefix" allowed). */
export function refMac(addresses: string[]): string | undefined {
  const parsed = addresses.map(refParse);
  const v4 = parsed.find(p => p?.family === 4);
  if (v4) return hexMac((0x0200n << 32n) + v4.value);
  const v6 = parsed.find(p => p?.family === 6);
  if (v6) return hexMac((0x0an << 40n) + (v6.value % (1n << 40n)));
  return undefined;
}
