// Which pools a VM NIC draws from, one per IP family: the pool its VM chose for it with
// vmnet.io/pools, else its network's default pool of that family for the VM's namespace. A NIC
// that already holds addresses keeps their pools (an address never moves under a running VM).
// One home for the rule: the VM webhook, the VM controller and `kubectl vmnet why` call it. Pure.
//
// The default of a network and family for a namespace: among the pools of that family serving the
// network whose namespaceSelector selects the namespace (and that serve at all: not deleted, not
// the loser of a conflict), the one marked `spec.default: true`, else the only one. So a network
// with one pool per family (every manifest written before pools could be chosen) needs no marker.
import { isRecord, show } from "./findings";
import { Family, familyName, parseCIDR } from "./net";
import { conflictLoss } from "./pool-conflicts";
import { isMarkedDefault, poolName } from "./pool-view";
import { effectiveNamespaceLabels, selectorMatches } from "./selector";
import type { AdmissionSnapshot, IPPoolLike } from "./snapshot";

export type PoolSnapshot = Pick<AdmissionSnapshot, "poolsForNetwork" | "pool" | "pools" | "nad" | "namespaceLabels">;

export interface NicPoolRequest {
  /** The NIC's Multus network, "namespace/name". */
  network: string;
  /** The VM's namespace. */
  namespace: string;
  /** Pool names the VM chose for this NIC (vmnet.io/pools), if any. */
  chosen?: readonly string[];
  /** Pools of the NIC's IPClaim when it holds addresses (bound, or retained). */
  held?: readonly string[];
}

export type PoolProblemKind = "unknown" | "not-serving" | "not-ready" | "family-twice" | "no-default" | "not-selected" | "held";

export interface PoolProblem {
  kind: PoolProblemKind;
  /** What is wrong, worded for the VM's owner (names only pools that serve the namespace). */
  message: string;
  /** The chosen pool the problem is about. */
  pool?: string;
}

export interface NicPools {
  /** The pools the NIC should draw from, one per family, IPv4 first; empty when there are problems or `kept`. */
  pools: IPPoolLike[];
  problems: PoolProblem[];
  /**
   * The pools the NIC draws from when it holds addresses of pools that still serve it and those
   * are not just the wanted ones: per family the held pool, else the wanted one. When a held
   * family's wanted pool is another one, `problems` has a "held" problem.
   */
  kept?: IPPoolLike[];
  /** Some pool (of any namespace) serves the network: a bridge NIC on it is pool-backed. */
  poolBacked: boolean;
}

export function poolFamily(pool: IPPoolLike): Family | undefined {
  return parseCIDR(isRecord(pool.spec) ? pool.spec.cidr : undefined)?.family;
}

function isDeleted(pool: IPPoolLike): boolean {
  return isRecord(pool.metadata) && pool.metadata.deletionTimestamp !== undefined && pool.metadata.deletionTimestamp !== null;
}

/** A pool hands out addresses: not being deleted, and not the loser of a conflict (pool-conflicts.ts). */
export function poolServes(pool: IPPoolLike, snapshot: PoolSnapshot): boolean {
  return !isDeleted(pool) && conflictLoss(pool, snapshot) === undefined;
}

export function poolSelects(pool: IPPoolLike, namespace: string, snapshot: Pick<AdmissionSnapshot, "namespaceLabels">): boolean {
  const labels = effectiveNamespaceLabels(namespace, snapshot.namespaceLabels(namespace));
  return selectorMatches(isRecord(pool.spec) ? pool.spec.namespaceSelector : undefined, labels);
}

/** Pools serving the network for the namespace, IPv4 first, then by name. */
export function poolsFor(network: string, namespace: string, snapshot: PoolSnapshot): IPPoolLike[] {
  return snapshot
    .poolsForNetwork(network)
    .filter(p => poolServes(p, snapshot) && poolSelects(p, namespace, snapshot))
    .sort(byFamilyThenName);
}

/** The default pool of a network and family for a namespace, or undefined when it has none (or several candidates). */
export function defaultPool(candidates: IPPoolLike[], family: Family): IPPoolLike | undefined {
  const ofFamily = candidates.filter(p => poolFamily(p) === family);
  const marked = ofFamily.filter(isMarkedDefault);
  if (marked.length === 1) return marked[0];
  return ofFamily.length === 1 ? ofFamily[0] : undefined;
}

/** The pools of a NIC, and what stands in the way. */
export function nicPools(req: NicPoolRequest, snapshot: PoolSnapshot): NicPools {
  const all = snapshot.poolsForNetwork(req.network);
  const candidates = poolsFor(req.network, req.namespace, snapshot);
  const problems: PoolProblem[] = [];
  const picked = new Map<Family, IPPoolLike>();
  for (const name of req.chosen ?? []) {
    const problem = choiceProblem(name, req, candidates, picked, snapshot);
    if (problem) problems.push(problem);
  }
  problems.push(...pickDefaults(req, candidates, picked));
  if (!picked.size && !problems.length && all.length > 0) problems.push(notSelected(req));
  const pools = problems.length ? [] : [...picked.values()].sort(byFamilyThenName);
  return withHeld(req, candidates, pools, problems, all.length > 0);
}

function withHeld(
  req: NicPoolRequest,
  candidates: IPPoolLike[],
  pools: IPPoolLike[],
  problems: PoolProblem[],
  poolBacked: boolean,
): NicPools {
  const held = heldPools(req, candidates, pools);
  if (!held) return { pools, problems, poolBacked };
  if (held.conflict && pools.length) problems.push(heldProblem(held.pools, pools));
  return { pools: [], problems, kept: held.pools, poolBacked };
}

function choiceProblem(
  name: string,
  req: NicPoolRequest,
  candidates: IPPoolLike[],
  picked: Map<Family, IPPoolLike>,
  snapshot: PoolSnapshot,
): PoolProblem | undefined {
  const pool = snapshot.pool(name);
  const choose = `choose one of the pools of network ${show(req.network)} that serve it: ${names(candidates)}`;
  // Whether the pool does not exist or does not select the namespace is the same answer: a pool
  // that does not serve this namespace is none of its business (no oracle of pool names).
  if (!pool || !poolSelects(pool, req.namespace, snapshot))
    return { kind: "unknown", pool: name, message: `no IPPool named ${show(name)} serves namespace ${show(req.namespace)}; ${choose}` };
  const networks = isRecord(pool.spec) && Array.isArray(pool.spec.networks) ? pool.spec.networks : [];
  if (!networks.includes(req.network))
    return { kind: "not-serving", pool: name, message: `IPPool ${show(name)} does not serve network ${show(req.network)}; ${choose}` };
  if (!poolServes(pool, snapshot))
    return {
      kind: "not-ready",
      pool: name,
      message: `IPPool ${show(name)} serves no address (it is being deleted, or conflicts with another pool: see its Ready condition); ${choose}`,
    };
  const family = poolFamily(pool);
  if (family === undefined) return { kind: "not-ready", pool: name, message: `IPPool ${show(name)} has no valid spec.cidr; ${choose}` };
  const other = picked.get(family);
  if (other)
    return {
      kind: "family-twice",
      pool: name,
      message: `IPPools ${show(poolName(other))} and ${show(name)} are both ${familyName(family)}; choose at most one pool per IP family`,
    };
  picked.set(family, pool);
  return undefined;
}

/** Families the NIC did not choose a pool of take their default; returns the families without one. */
function pickDefaults(req: NicPoolRequest, candidates: IPPoolLike[], picked: Map<Family, IPPoolLike>): PoolProblem[] {
  const problems: PoolProblem[] = [];
  for (const family of [4, 6] as const) {
    if (picked.has(family) || !candidates.some(p => poolFamily(p) === family)) continue;
    const fallback = defaultPool(candidates, family);
    if (fallback) picked.set(family, fallback);
    else problems.push(noDefault(req, candidates, family));
  }
  return problems;
}

function noDefault(req: NicPoolRequest, candidates: IPPoolLike[], family: Family): PoolProblem {
  const ofFamily = candidates.filter(p => poolFamily(p) === family);
  return {
    kind: "no-default",
    message: `network ${show(req.network)} has ${ofFamily.length} ${familyName(family)} pools for namespace ${show(req.namespace)} (${names(ofFamily)}) and none is its default; choose one with annotation vmnet.io/pools, or ask the cluster admin to mark one spec.default: true`,
  };
}

function notSelected(req: NicPoolRequest): PoolProblem {
  return {
    kind: "not-selected",
    // Neither the pool's name nor its selector: a pool that does not serve this namespace is none of its business.
    message: `network ${show(req.network)} draws addresses from an IPPool that does not serve namespace ${show(req.namespace)}; use a network whose pool serves this namespace, or ask the cluster admin to let the pool select it`,
  };
}

/**
 * Per IP family, the pool the NIC holds an address of, where it still serves the NIC; the wanted
 * pool for the families it holds none of (a dual-stack NIC bound before its IPv6 pool existed
 * gets that one). Undefined when that is just the wanted pools; `conflict` when a held family's
 * wanted pool is another one.
 */
function heldPools(
  req: NicPoolRequest,
  candidates: IPPoolLike[],
  wanted: IPPoolLike[],
): { pools: IPPoolLike[]; conflict: boolean } | undefined {
  if (!req.held?.length) return undefined;
  const held = req.held.map(h => candidates.find(p => poolName(p) === h));
  if (held.some(p => p === undefined)) return undefined; // a held pool no longer serves the NIC: follow the choice
  const heldFamilies = new Set(held.map(p => poolFamily(p!)));
  const merged = [...(held as IPPoolLike[]), ...wanted.filter(p => !heldFamilies.has(poolFamily(p)))].sort(byFamilyThenName);
  const want = new Set(wanted.map(poolName));
  if (merged.length === want.size && merged.every(p => want.has(poolName(p)))) return undefined;
  const conflict = wanted.some(p => heldFamilies.has(poolFamily(p)) && !req.held!.includes(poolName(p)));
  return { pools: merged, conflict };
}

function heldProblem(kept: IPPoolLike[], wanted: IPPoolLike[]): PoolProblem {
  return {
    kind: "held",
    message: `holds its addresses in IPPool ${names(kept)}, not in ${names(wanted)}: a NIC keeps its pool while it holds an address`,
  };
}

function names(pools: IPPoolLike[]): string {
  return pools.map(p => show(poolName(p))).join(", ") || "none";
}

function byFamilyThenName(a: IPPoolLike, b: IPPoolLike): number {
  return (poolFamily(a) ?? 9) - (poolFamily(b) ?? 9) || poolName(a).localeCompare(poolName(b));
}
