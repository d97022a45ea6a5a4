// `kubectl vmnet pools`: one row per IPPool with its counts and readiness.
import type { IPPool } from "../api/ippool-v1alpha1";

export const POOL_HEADERS = ["NAME", "CIDR", "NETWORKS", "CAPACITY", "ALLOCATED", "AVAILABLE", "READY", "RECLAIM"];

interface ConditionLike {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** The rows of the pools table, sorted by name. */
export function poolRows(pools: IPPool[]): (string | number | undefined)[][] {
  return [...pools]
    .sort((a, b) => nameOf(a).localeCompare(nameOf(b)))
    .map(p => [
      nameOf(p),
      p.spec?.cidr,
      (p.spec?.networks ?? []).join(","),
      p.status?.capacity,
      p.status?.allocated,
      p.status?.available,
      readyText(p),
      p.spec?.reclaimPolicy ?? "Delete",
    ]);
}

/** "True", "False: <message>", or "Unknown" while the operator has not written the status. */
export function readyText(pool: IPPool): string {
  const ready = condition(pool, "Ready");
  if (!ready) return "Unknown";
  if (ready.status === "False") return `False: ${ready.message || ready.reason || "no message"}`;
  return ready.status;
}

export function condition(pool: IPPool, type: string): ConditionLike | undefined {
  return (pool.status?.conditions as ConditionLike[] | undefined)?.find(c => c.type === type);
}

function nameOf(pool: IPPool): string {
  return String(pool.metadata?.name ?? "");
}
