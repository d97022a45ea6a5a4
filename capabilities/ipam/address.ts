// IP text <-> bigint. Parsing and formatting go through `ip-address`; everything else in the
// address core works on bigint values, so IPv4 and IPv6 share one code path.
import { Address4, Address6 } from "ip-address";
import { InvalidAddressError, InvalidPoolError } from "./errors";

export type IPFamily = 4 | 6;

export interface ParsedIP {
  family: IPFamily;
  value: bigint;
}

export interface ParsedCIDR {
  family: IPFamily;
  /** The network address (host bits zero). */
  base: bigint;
  prefix: number;
  /** Number of addresses in the CIDR, network and broadcast included. */
  size: bigint;
  /** The highest address of the CIDR. */
  last: bigint;
}

/** Address width in bits. */
export function familyBits(family: IPFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** The highest address of a family. */
export function maxValue(family: IPFamily): bigint {
  return (1n << BigInt(familyBits(family))) - 1n;
}

const IPV4_SHAPE = /^[0-9.]+$/;
// ip-address accepts "/n" suffixes and "%zone"; a bare address has neither. IPv4-mapped IPv6
// (::ffff:a.b.c.d) is refused: it would give one host two spellings in two families.
const IPV4_MAPPED_HIGH = 0xffffn;

/**
 * Parses one IPv4 or IPv6 address (no prefix length, no zone).
 * @throws InvalidAddressError naming the value (and `field`, when given)
 */
export function parseIP(s: string, field?: string): ParsedIP {
  if (typeof s !== "string" || s.length === 0 || s.length > 64) {
    throw new InvalidAddressError(String(s), "is not an IP address", field);
  }
  if (IPV4_SHAPE.test(s)) {
    const value = tryParse(() => new Address4(s).bigInt());
    if (value === undefined)
      throw new InvalidAddressError(s, "is not an IPv4 address (four decimal numbers 0-255, no leading zeros)", field);
    return { family: 4, value };
  }
  const value = s.includes("/") || s.includes("%") || !s.includes(":") ? undefined : tryParse(() => new Address6(s).bigInt());
  if (value === undefined) throw new InvalidAddressError(s, "is not an IPv4 or IPv6 address (no prefix length or zone)", field);
  if (value >> 32n === IPV4_MAPPED_HIGH) {
    throw new InvalidAddressError(
      s,
      "is an IPv4-mapped IPv6 address",
      field,
      `write the IPv4 address itself (${formatIP(4, value & 0xffffffffn)})`,
    );
  }
  return { family: 6, value };
}

/**
 * True for an IPv4-mapped IPv6 address in any spelling (::ffff:10.0.0.1, ::ffff:a00:1), which
 * parseIP refuses. Go's net.ParseIP reads it as IPv4, so rules that mirror KubeVirt's need it.
 */
export function isIPv4Mapped(s: string): boolean {
  if (typeof s !== "string" || s.length > 64 || !s.includes(":") || s.includes("/") || s.includes("%")) return false;
  const value = tryParse(() => new Address6(s).bigInt());
  return value !== undefined && value >> 32n === IPV4_MAPPED_HIGH;
}

// One parse per address (isValid() and the constructor would parse twice): rebuild parses 100k.
function tryParse(parse: () => bigint): bigint | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

/** Canonical text: IPv4 dotted decimal, IPv6 compressed lowercase (RFC 5952). */
export function formatIP(family: IPFamily, value: bigint): string {
  return family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

/** Re-spells an address canonically (FD00:0::17 -> fd00::17). */
export function canonicalIP(s: string, field?: string): string {
  const { family, value } = parseIP(s, field);
  return formatIP(family, value);
}

/** Canonical CIDR text. */
export function formatCIDR(family: IPFamily, base: bigint, prefix: number): string {
  return `${formatIP(family, base)}/${prefix}`;
}

/** Size of a prefix of the family. */
export function prefixSize(family: IPFamily, prefix: number): bigint {
  return 1n << BigInt(familyBits(family) - prefix);
}

const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Parses a CIDR such as 10.100.0.0/24 or fd00:100::/64. Host bits must be zero: a CIDR with
 * host bits set (10.100.0.7/24) is usually a typo and guessing what was meant would be unsafe.
 * @throws InvalidAddressError naming the value, with the canonical form as the fix when host bits are set
 */
export function parseCIDR(s: string, field?: string): ParsedCIDR {
  const slash = typeof s === "string" ? s.lastIndexOf("/") : -1;
  if (slash < 0) throw new InvalidAddressError(String(s), "is not a CIDR (address/prefix, such as 10.100.0.0/24)", field);
  const prefixText = s.slice(slash + 1);
  let ip: ParsedIP;
  try {
    ip = parseIP(s.slice(0, slash), field);
  } catch {
    throw new InvalidAddressError(s, "is not a CIDR (address/prefix, such as 10.100.0.0/24 or fd00:100::/64)", field);
  }
  const bits = familyBits(ip.family);
  const prefix = Number(prefixText);
  if (!PREFIX.test(prefixText) || prefix > bits) {
    throw new InvalidAddressError(s, `has an invalid prefix length; IPv${ip.family} prefixes are 0-${bits}`, field);
  }
  const size = prefixSize(ip.family, prefix);
  const base = ip.value & ~(size - 1n) & maxValue(ip.family);
  if (base !== ip.value) {
    throw new InvalidAddressError(s, "has host bits set", field, `write ${formatCIDR(ip.family, base, prefix)}`);
  }
  return { family: ip.family, base, prefix, size, last: base + size - 1n };
}

// ---- IPAllocation names -------------------------------------------------------------------

/**
 * Longest pool name that still leaves room for ".<39-char IPv6 encoding>" within the 253
 * characters of a Kubernetes object name. IPPool validation should enforce it.
 */
export const MAX_POOL_NAME_LENGTH = 253 - 1 - 39;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENCODED_V4 = /^(0|[1-9][0-9]{0,2})(-(0|[1-9][0-9]{0,2})){3}$/;
const ENCODED_V6 = /^[0-9a-f]{4}(-[0-9a-f]{4}){7}$/;

function checkPoolName(pool: string): void {
  if (typeof pool !== "string" || pool.length > MAX_POOL_NAME_LENGTH || !DNS1123_SUBDOMAIN.test(pool)) {
    throw new InvalidPoolError(
      "metadata.name",
      String(pool),
      "cannot name IPAllocation records",
      `use a lowercase DNS-1123 name of at most ${MAX_POOL_NAME_LENGTH} characters (letters, digits, '-', '.')`,
    );
  }
}

/** The address part of an IPAllocation name: 10-100-0-23, or all 8 IPv6 groups, 4 hex digits each. */
export function encodeAddress(family: IPFamily, value: bigint): string {
  if (family === 4) return Address4.fromBigInt(value).toArray().join("-");
  return Address6.fromBigInt(value).canonicalForm().replace(/:/g, "-");
}

/**
 * The IPAllocation object name for an address of a pool: `<pool>.<encoded address>`. One name
 * per address whatever its spelling (FD00::17 and fd00:0::17 give the same name), which is what
 * lets the API server refuse a duplicate.
 * @throws InvalidAddressError for a bad address, InvalidPoolError for a pool name that cannot form a name
 */
export function allocationName(pool: string, address: string): string {
  checkPoolName(pool);
  const { family, value } = parseIP(address);
  return `${pool}.${encodeAddress(family, value)}`;
}

/**
 * Reverses allocationName: splits on the last dot (pool names may contain dots, encodings never do).
 * @throws InvalidAddressError when the name was not made by allocationName
 */
export function parseAllocationName(name: string): { pool: string; address: string } {
  const dot = typeof name === "string" ? name.lastIndexOf(".") : -1;
  const pool = dot > 0 ? name.slice(0, dot) : "";
  const encoded = dot > 0 ? name.slice(dot + 1) : "";
  const separator = ENCODED_V4.test(encoded) ? "." : ENCODED_V6.test(encoded) ? ":" : undefined;
  if (separator && DNS1123_SUBDOMAIN.test(pool)) {
    try {
      return { pool, address: canonicalIP(encoded.replace(/-/g, separator)) };
    } catch {
      // falls through: the encoding has the right shape but no address (300-1-1-1, ::ffff:...)
    }
  }
  throw new InvalidAddressError(String(name), "is not an IPAllocation name (<pool>.<address with '-' for separators>)");
}
