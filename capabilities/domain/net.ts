// The address core as the rules read it. What an address and a CIDR are is decided once, in
// ipam/address.ts (the allocator's parser): the webhook must never admit an address the binder then
// refuses (it did: `::ffff:10.100.0.23`). This file only turns ipam's throws into values, with
// ipam's reason, and adds the span arithmetic the rules compare pools with. Pure.
import { IPFamily, formatCIDR, formatIP, parseCIDR as parseCIDRText, parseIP as parseIPText } from "../ipam/address";
import { InvalidAddressError } from "../ipam/errors";
import { TextMemo } from "./memo";

export type Family = IPFamily;

// Read-only: readIP and readCIDR hand the same (frozen) object to every caller (see the memos).
export interface IP {
  readonly family: Family;
  readonly value: bigint;
  /** Canonical text: dotted quad, or RFC 5952 compressed lowercase IPv6. */
  readonly text: string;
}

export interface Span {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

export interface CIDR extends Span {
  readonly prefix: number;
  /** Canonical text of the network, e.g. 10.100.0.0/24. */
  readonly text: string;
}

/** Why a text is not what was asked for: ipam's reason (phrased to follow the value) and its fix, when there is one. */
export interface AddressProblem {
  readonly error: string;
  readonly fix?: string;
}

/** Reads a bare IPv4 or IPv6 address by ipam's rules, or says why it is not one. */
export function readIP(text: unknown): IP | AddressProblem {
  if (typeof text !== "string") return { error: "is not an IP address (not a string)" };
  return memoized(ipMemo, text, () => {
    const { family, value } = parseIPText(text);
    return { family, value, text: formatIP(family, value) };
  });
}

/** Reads "address/prefix" by ipam's rules (host bits must be zero), or says why it is not one. */
export function readCIDR(text: unknown): CIDR | AddressProblem {
  if (typeof text !== "string") return { error: "is not a CIDR (not a string)" };
  return memoized(cidrMemo, text, () => {
    const c = parseCIDRText(text);
    return { family: c.family, first: c.base, last: c.last, prefix: c.prefix, text: formatCIDR(c.family, c.base, c.prefix) };
  });
}

/** A bare address, or undefined when readIP says it is none. */
export function parseIP(text: unknown): IP | undefined {
  const ip = readIP(text);
  return "error" in ip ? undefined : ip;
}

/** A CIDR with zero host bits, or undefined when readCIDR says it is none. */
export function parseCIDR(text: unknown): CIDR | undefined {
  const cidr = readCIDR(text);
  return "error" in cidr ? undefined : cidr;
}

/** An exclusion or a range end: an address or a CIDR, as one span; undefined when it is neither. */
export function parseAddressOrCIDR(text: unknown): Span | undefined {
  const ip = parseIP(text);
  if (ip) return { family: ip.family, first: ip.value, last: ip.value };
  return parseCIDR(text);
}

/** A range "first-last" or a single address, as a span (undefined when malformed: the layout says why). */
export function parseSpan(text: unknown): Span | undefined {
  const ends = typeof text === "string" ? text.split("-").map(parseIP) : [];
  const [a, b = a] = ends;
  if (ends.length < 1 || ends.length > 2 || !a || !b || a.family !== b.family || a.value > b.value) return undefined;
  return { family: a.family, first: a.value, last: b.value };
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

export function familyName(family: Family): string {
  return family === 4 ? "IPv4" : "IPv6";
}

// Memos of readIP and readCIDR by text. The rules read every pool's CIDR for every NIC of every
// review (pool conflicts, family checks, MAC scopes), and ipam's parser (the ip-address library)
// was 6% of a VM review's CPU at 200/s. The result is frozen: every caller gets the same object.
// No address or CIDR text ipam accepts is longer than its 64-character limit plus "/128".
/** Entries per memo: far more CIDRs and gateways than a cluster has pools. */
export const MEMO_ENTRIES = 4096;
const MEMO_KEY_CHARS = 72;
const ipMemo = new TextMemo<IP | AddressProblem>(MEMO_ENTRIES, MEMO_KEY_CHARS);
const cidrMemo = new TextMemo<CIDR | AddressProblem>(MEMO_ENTRIES, MEMO_KEY_CHARS);

function memoized<T extends object>(memo: TextMemo<T | AddressProblem>, text: string, parse: () => T): T | AddressProblem {
  return memo.get(text, () => Object.freeze(attempt(parse)));
}

/** Entries held by the memos (for tests of the bound). */
export function memoSizes(): { ip: number; cidr: number } {
  return { ip: ipMemo.size, cidr: cidrMemo.size };
}

function attempt<T>(parse: () => T): T | AddressProblem {
  try {
    return parse();
  } catch (e) {
    if (e instanceof InvalidAddressError) return e.fix === undefined ? { error: e.reason } : { error: e.reason, fix: e.fix };
    throw e;
  }
}
