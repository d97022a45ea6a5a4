// Minimal address math for the validators (the allocator in capabilities/ipam has its own; the two
// are to be merged). Addresses are bigints; a span is an inclusive [first, last] of one family.
import { Address4, Address6 } from "ip-address";

export type Family = 4 | 6;

export interface IP {
  family: Family;
  value: bigint;
  /** Canonical text: dotted quad, or RFC 5952 compressed lowercase IPv6. */
  text: string;
}

export interface Span {
  family: Family;
  first: bigint;
  last: bigint;
}

export interface CIDR extends Span {
  prefix: number;
  /** Canonical text of the network, e.g. 10.100.0.0/24. */
  text: string;
}

/** Parses a bare IPv4 or IPv6 address (no prefix length, no zone); undefined when it is not one. */
export function parseIP(text: unknown): IP | undefined {
  if (typeof text !== "string" || text.includes("/") || text.includes("%") || text.length > 64) return undefined;
  const a = parseAddress(text);
  return a && { family: a.family, value: a.addr.bigInt(), text: a.addr.correctForm() };
}

/** Parses "address/prefix"; host bits may be set (compare .text with the input for canonical form). */
export function parseCIDR(text: unknown): CIDR | undefined {
  if (typeof text !== "string" || !/^[^/]+\/\d{1,3}$/.test(text) || text.includes("%") || text.length > 64) return undefined;
  const a = parseAddress(text);
  if (!a) return undefined;
  const first = a.addr.startAddress().bigInt();
  const last = a.addr.endAddress().bigInt();
  const network = a.family === 4 ? Address4.fromBigInt(first) : Address6.fromBigInt(first);
  return { family: a.family, first, last, prefix: a.addr.subnetMask, text: `${network.correctForm()}/${a.addr.subnetMask}` };
}

export type RangeParse = { span: Span } | { error: string };

/** Parses a range "first-last" or a single address. */
export function parseRange(text: unknown): RangeParse {
  if (typeof text !== "string") return { error: "must be a string such as 10.100.0.10-10.100.0.200" };
  const parts = text.split("-");
  if (parts.length > 2) return { error: "has more than one '-'; write first-last, such as 10.100.0.10-10.100.0.200" };
  const ends = parts.map(parseIP);
  const [a, b] = [ends[0], ends[ends.length - 1]];
  if (!a || !b) return { error: "must be an IP address or two IP addresses joined by '-', such as 10.100.0.10-10.100.0.200" };
  if (a.family !== b.family) return { error: "mixes IPv4 and IPv6; both ends must be of one family" };
  if (a.value > b.value) return { error: `starts after it ends; write it as ${b.text}-${a.text}` };
  return { span: { family: a.family, first: a.value, last: b.value } };
}

/** Parses an exclusion: an address or a CIDR. */
export function parseAddressOrCIDR(text: unknown): Span | undefined {
  const ip = parseIP(text);
  if (ip) return { family: ip.family, first: ip.value, last: ip.value };
  return parseCIDR(text);
}

export function contains(outer: Span, inner: Span): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

export function containsIP(span: Span, ip: IP): boolean {
  return span.family === ip.family && span.first <= ip.value && ip.value <= span.last;
}

export function overlaps(a: Span, b: Span): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/**
 * The host addresses of a CIDR, which is what a pool without ranges hands out (before exclusions
 * and gateway), and the bound explicit ranges never cross: the CIDR minus its network and broadcast
 * addresses for IPv4 up to /30, minus the subnet-router anycast (first) address for IPv6 up to
 * /126; /31, /32, /127 and /128 keep every address (RFC 3021), as the allocator does.
 */
export function hostRange(cidr: CIDR): Span {
  const trim = cidr.family === 4 ? cidr.prefix <= 30 : cidr.prefix <= 126;
  if (!trim) return { family: cidr.family, first: cidr.first, last: cidr.last };
  return { family: cidr.family, first: cidr.first + 1n, last: cidr.family === 4 ? cidr.last - 1n : cidr.last };
}

export function spanText(span: Span): string {
  const text = (v: bigint): string => (span.family === 4 ? Address4.fromBigInt(v) : Address6.fromBigInt(v)).correctForm();
  return span.first === span.last ? text(span.first) : `${text(span.first)}-${text(span.last)}`;
}

export function familyName(family: Family): string {
  return family === 4 ? "IPv4" : "IPv6";
}

function parseAddress(text: string): { family: Family; addr: Address4 | Address6 } | undefined {
  try {
    if (text.includes(":")) return { family: 6, addr: new Address6(text) };
    return { family: 4, addr: new Address4(text) };
  } catch {
    return undefined;
  }
}
