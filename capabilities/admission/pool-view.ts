// A parsed view of an IPPool spec and the rule "may this address be handed out".
import { isRecord, show } from "./findings";
import { CIDR, IP, Span, containsIP, hostRange, parseAddressOrCIDR, parseCIDR, parseIP, parseRange, spanText } from "./net";
import type { IPPoolLike } from "./snapshot";

export interface PoolView {
  name: string;
  cidr?: CIDR;
  /** Explicit ranges that parse, with their index in spec.ranges; empty when none are given. */
  ranges: { index: number; span: Span }[];
  /** True when spec.ranges is a non-empty list. */
  explicitRanges: boolean;
  excludes: { index: number; span: Span; text: string }[];
  gateway?: IP;
}

export function poolName(pool: IPPoolLike | undefined): string {
  const name = isRecord(pool) && isRecord(pool.metadata) ? pool.metadata.name : undefined;
  return typeof name === "string" ? name : "";
}

/** The pool is marked the default of its networks for its IP family (spec.default; see pool-choice.ts). */
export function isMarkedDefault(pool: IPPoolLike | undefined): boolean {
  return isRecord(pool) && isRecord(pool.spec) && pool.spec.default === true;
}

export function poolView(pool: IPPoolLike | undefined): PoolView {
  const spec = isRecord(pool) && isRecord(pool.spec) ? pool.spec : {};
  const ranges = listOf(spec.ranges).flatMap((r, index) => {
    const parsed = parseRange(r);
    return "span" in parsed ? [{ index, span: parsed.span }] : [];
  });
  const excludes = listOf(spec.exclude).flatMap((e, index) => {
    const span = parseAddressOrCIDR(e);
    return span ? [{ index, span, text: String(e) }] : [];
  });
  return {
    name: poolName(pool),
    cidr: parseCIDR(spec.cidr),
    ranges,
    explicitRanges: listOf(spec.ranges).length > 0,
    excludes,
    gateway: parseIP(spec.gateway),
  };
}

/** Why an address cannot be handed out by the pool (field of the pool to blame), or undefined. */
export function whyNotAllocatable(view: PoolView, ip: IP): { field: string; reason: string } | undefined {
  return outsideRanges(view, ip) ?? reserved(view, ip);
}

function outsideRanges(view: PoolView, ip: IP): { field: string; reason: string } | undefined {
  const { cidr } = view;
  if (!cidr || !containsIP(cidr, ip))
    return { field: "spec.cidr", reason: `is outside the pool's CIDR ${show(cidr?.text ?? "(invalid)")}` };
  if (view.explicitRanges && !view.ranges.some(r => containsIP(r.span, ip))) {
    return {
      field: "spec.ranges",
      reason: `is outside the pool's ranges ${view.ranges.map(r => spanText(r.span)).join(", ") || "(none valid)"}`,
    };
  }
  // Network and (IPv4) broadcast addresses are never handed out, not even from explicit ranges.
  if (containsIP(hostRange(cidr), ip)) return undefined;
  const which = ip.value === cidr.first ? "network" : "broadcast";
  return { field: "spec.cidr", reason: `is the ${which} address of ${cidr.text}, which is never handed out` };
}

function reserved(view: PoolView, ip: IP): { field: string; reason: string } | undefined {
  const ex = view.excludes.find(e => containsIP(e.span, ip));
  if (ex) return { field: `spec.exclude[${ex.index}]`, reason: `is excluded by the pool's spec.exclude[${ex.index}] ${show(ex.text)}` };
  if (view.gateway?.family === ip.family && view.gateway.value === ip.value)
    return { field: "spec.gateway", reason: "is the pool's gateway" };
  return undefined;
}

export function listOf(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}
