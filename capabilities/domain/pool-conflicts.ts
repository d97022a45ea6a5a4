// Pools that would hand out one address twice on one L2 segment: overlapping CIDRs of one IP
// family on one network or on networks that share a broadcast domain (same bridge and VLAN); and
// two pools of one family marked default for the same network (which one would a NIC get?).
// Admission refuses them, but two pools created at the same moment both pass admission (each
// checks a cache without the other), so the pool controller has the last word: of two conflicting
// pools the younger one (then the greater name) is marked not Ready and serves no address. Pure.
import { isRecord, show } from "./findings";
import { domainsOfPool } from "./l2";
import { CIDR, overlaps, parseCIDR } from "./net";
import { isMarkedDefault, poolName } from "./pool-view";
import type { AdmissionSnapshot, IPPoolLike } from "./snapshot";

export interface PoolConflict {
  other: IPPoolLike;
  /** overlap: CIDRs overlap on a shared network; default: both marked default of a shared network; segment: overlap on a shared L2 segment. */
  kind: "overlap" | "default" | "segment";
  /** The shared network, for overlap and default. */
  network?: string;
  /** A sentence naming the other pool and the shared network or segment. */
  why: string;
}

type Snapshot = Pick<AdmissionSnapshot, "nad" | "pools">;

/** The pools `pool` conflicts with (deleted pools excluded). */
export function poolConflicts(pool: IPPoolLike, snapshot: Snapshot): PoolConflict[] {
  const cidr = cidrOf(pool);
  if (!cidr) return [];
  const name = poolName(pool);
  const networks = new Set(networksOf(pool));
  const domains = domainsOfPool(snapshot, pool);
  const out: PoolConflict[] = [];
  for (const other of snapshot.pools()) {
    const otherCidr = cidrOf(other);
    if (poolName(other) === name || !otherCidr || otherCidr.family !== cidr.family || isDeleted(other)) continue;
    const shared = networksOf(other).find(n => networks.has(n));
    if (shared) {
      const conflict = sharedNetworkConflict(pool, cidr, other, otherCidr, shared);
      if (conflict) out.push(conflict);
      continue;
    }
    const segment = [...domainsOfPool(snapshot, other)].find(d => domains.has(d) && !d.startsWith("nad:"));
    if (segment && overlaps(cidr, otherCidr))
      out.push({
        other,
        kind: "segment",
        why: `IPPool ${show(poolName(other))} (${otherCidr.text}) overlaps ${cidr.text} on the same L2 segment (${segmentText(segment)})`,
      });
  }
  return out;
}

/** Pools of one family on one network: disjoint is fine, unless both claim to be its default. */
function sharedNetworkConflict(
  pool: IPPoolLike,
  cidr: CIDR,
  other: IPPoolLike,
  otherCidr: CIDR,
  network: string,
): PoolConflict | undefined {
  const otherText = `IPPool ${show(poolName(other))} (${otherCidr.text})`;
  if (overlaps(cidr, otherCidr))
    return { other, kind: "overlap", network, why: `${otherText} also serves network ${show(network)} and overlaps ${cidr.text}` };
  if (isMarkedDefault(pool) && isMarkedDefault(other))
    return { other, kind: "default", network, why: `${otherText} is also marked default for network ${show(network)}` };
  return undefined;
}

/** True when `pool` yields to `other`: it was created later, or at the same second with a greater name. */
export function yieldsTo(pool: IPPoolLike, other: IPPoolLike): boolean {
  const a = createdAt(pool);
  const b = createdAt(other);
  if (a !== b) return a > b;
  return poolName(pool) > poolName(other);
}

/** Why the pool must serve no address (it lost a conflict), or undefined. */
export function conflictLoss(pool: IPPoolLike, snapshot: Snapshot): string | undefined {
  const lost = poolConflicts(pool, snapshot).filter(c => yieldsTo(pool, c.other));
  if (lost.length === 0) return undefined;
  const why = lost.every(c => c.kind === "default")
    ? "a NIC without a pool choice would not know its pool"
    : "one address would be handed out twice on one L2 segment";
  return `${lost.map(c => c.why).join("; ")}, and that pool came first: ${why}, so this pool serves no address until the conflict is removed (change spec.cidr, spec.networks or spec.default of one of them)`;
}

export function segmentText(domain: string): string {
  const m = /^ovs:(.*):vlan(\d+)$/.exec(domain);
  if (!m) return domain;
  return `Open vSwitch bridge ${show(m[1])}, ${m[2] === "0" ? "untagged" : `VLAN ${m[2]}`}`;
}

function cidrOf(pool: IPPoolLike): CIDR | undefined {
  return parseCIDR(isRecord(pool.spec) ? pool.spec.cidr : undefined);
}

function networksOf(pool: IPPoolLike): string[] {
  const n = isRecord(pool.spec) ? pool.spec.networks : undefined;
  return Array.isArray(n) ? n.filter((x): x is string => typeof x === "string") : [];
}

function isDeleted(pool: IPPoolLike): boolean {
  return isRecord(pool.metadata) && pool.metadata.deletionTimestamp !== undefined && pool.metadata.deletionTimestamp !== null;
}

function createdAt(pool: IPPoolLike): string {
  const t = isRecord(pool.metadata) ? pool.metadata.creationTimestamp : undefined;
  // Not yet created (admission of a new pool): it is the youngest.
  return typeof t === "string" ? t : "9999";
}
