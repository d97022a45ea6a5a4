// An IPPool as the rules read it, and the rule "may this address be handed out": the allocator's
// own pool layout (ipam/pool-layout.ts) decides it, so admission and the binder agree.
import { PoolLayout, PoolSpecInput, poolLayout, whyUnusable } from "../ipam/pool-layout";
import { isRecord } from "./findings";
import type { IP } from "./net";
import type { IPPoolLike } from "./snapshot";

export function poolName(pool: IPPoolLike | undefined): string {
  const name = isRecord(pool) && isRecord(pool.metadata) ? pool.metadata.name : undefined;
  return typeof name === "string" ? name : "";
}

/** The pool is marked the default of its networks for its IP family (spec.default; see pool-choice.ts). */
export function isMarkedDefault(pool: IPPoolLike | undefined): boolean {
  return isRecord(pool) && isRecord(pool.spec) && pool.spec.default === true;
}

/** The pool's layout, or its first problem (a pool admitted before a rule existed may have one). */
export function layoutOf(pool: IPPoolLike | undefined): PoolLayout | { error: string } {
  const spec = isRecord(pool) && isRecord(pool.spec) ? pool.spec : {};
  if (!isSpecInput(spec)) return { error: "spec.ranges and spec.exclude must be lists" };
  try {
    return poolLayout(spec);
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** Why an address cannot be handed out by the pool (the field of the pool to blame), or undefined. */
export function whyNotAllocatable(layout: PoolLayout, ip: IP): { field: string; reason: string } | undefined {
  const why = whyUnusable(layout, ip);
  return why && { field: why.field, reason: why.reason };
}

/** The shape ipam's layout reads (it checks every item itself). */
export function isSpecInput(spec: Record<string, unknown>): spec is Record<string, unknown> & PoolSpecInput {
  return (spec.ranges === undefined || Array.isArray(spec.ranges)) && (spec.exclude === undefined || Array.isArray(spec.exclude));
}

export function listOf(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}
