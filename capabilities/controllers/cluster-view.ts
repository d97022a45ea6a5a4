// What the operator knows of the cluster, kept in memory: caches of the kinds it reads, indexes
// over them, and one allocator per pool rebuilt from IPAllocation records. The controllers and the
// admission webhooks both read it (it implements the admission snapshot), so a webhook never calls
// the API server on its hot path.
import type { IPAllocation } from "../api/ipallocation-v1alpha1";
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import type { IPPool } from "../api/ippool-v1alpha1";
import { VirtualMachine, VirtualMachineInstanceMigration } from "../api/external/kubevirt";
import type { NetworkAttachmentDefinition } from "../api/external/multus";
import type { AddressHolder, AdmissionSnapshot, AllocationLike, ClaimHolding } from "../domain/snapshot";
import type { MacHolder } from "../domain/vm-security";
import { PoolAllocator } from "../ipam/allocator";
import { canonicalIP } from "../ipam/address";
import type { IpamError } from "../ipam/errors";
import { PoolLayout, poolLayout } from "../ipam/pool-layout";
import { KubeObject } from "../k8s/client";
import type { ServiceObject } from "./service-controller";
import { ObjectCache } from "../k8s/cache";
import { hasDerivedFormMac } from "./mac-guard";
import { claimNameParts, hasBoundCondition, ownerOf } from "../domain/claims";
import { projectAllocation, projectClaim, projectVm } from "./projections";

export type Namespace = KubeObject;

// The claim helpers live in domain/claims.ts; re-exported for the controllers that import them from here.
export { claimNameParts, ownerOf } from "../domain/claims";

interface PoolState {
  /** spec the allocator was built from; a changed spec rebuilds it. */
  specKey: string;
  layout?: PoolLayout;
  allocator?: PoolAllocator;
  error?: string;
}

export class ClusterView implements AdmissionSnapshot {
  readonly caches = {
    pools: new ObjectCache<IPPool>(),
    claims: new ObjectCache<IPClaim>(projectClaim)
      .index("vm", c => `${c.metadata?.namespace}/${c.spec?.vm}`)
      .index("mac", c => c.status?.mac?.toLowerCase().replace(/-/g, ":"))
      // Kept on every event, so the claims metric and the claims waiting for an address need no scan of all claims.
      .index("bound", c => (hasBoundCondition(c) ? "yes" : "no")),
    allocations: new ObjectCache<IPAllocation>(projectAllocation)
      .index("pool", a => a.spec?.pool)
      .index("claim", a => (a.spec ? `${a.spec.claimRef.namespace}/${a.spec.claimRef.name}` : undefined)),
    // The few VMs with a spec MAC of the derived form: the binder must not derive the same one.
    vms: new ObjectCache<VirtualMachine>(projectVm).index("derivedMac", vm => (hasDerivedFormMac(vm) ? "yes" : undefined)),
    nads: new ObjectCache<NetworkAttachmentDefinition>(),
    namespaces: new ObjectCache<Namespace>(),
    migrations: new ObjectCache<VirtualMachineInstanceMigration>(),
    /** Only Services labelled app.kubernetes.io/managed-by=vmnet-operator. */
    services: new ObjectCache<ServiceObject>(),
  };
  readonly #poolState = new Map<string, PoolState>();

  // ---- pools and allocators -------------------------------------------------------------

  /** The pool's allocator, (re)built from its spec and every IPAllocation record of the pool. */
  poolState(name: string): PoolState | undefined {
    const pool = this.caches.pools.get(name);
    if (!pool?.spec) return undefined;
    const specKey = JSON.stringify([pool.metadata?.uid, pool.spec.cidr, pool.spec.ranges, pool.spec.exclude, pool.spec.gateway]);
    let state = this.#poolState.get(name);
    if (state?.specKey === specKey) return state;
    state = { specKey };
    try {
      state.layout = poolLayout(pool.spec);
      state.allocator = new PoolAllocator(state.layout);
      state.allocator.rebuild(this.recordsOf(name));
    } catch (err) {
      state.error = err instanceof Error ? err.message : String(err);
    }
    this.#poolState.set(name, state);
    return state;
  }

  allocator(pool: string): PoolAllocator | undefined {
    return this.poolState(pool)?.allocator;
  }

  forgetPool(name: string): void {
    this.#poolState.delete(name);
  }

  recordsOf(pool: string): { address: string; owner: string }[] {
    return this.allocationsOfPool(pool).map(a => ({
      address: a.spec!.address,
      owner: ownerOf(a.spec!.claimRef.namespace, a.spec!.claimRef.name),
    }));
  }

  /** Feeds a watched IPAllocation into its pool's allocator. */
  noteAllocation(alloc: IPAllocation, deleted: boolean): void {
    const spec = alloc.spec;
    if (!spec) return;
    const allocator = this.#poolState.get(spec.pool)?.allocator;
    if (!allocator) return;
    const owner = ownerOf(spec.claimRef.namespace, spec.claimRef.name);
    if (deleted) {
      if (allocator.holderOf(spec.address) === owner) allocator.release(spec.address);
    } else if (allocator.holderOf(spec.address) === undefined) {
      allocator.markTaken(spec.address, owner);
    }
  }

  /**
   * A List of IPAllocations replaces the cache; the allocators follow what it changed, record by
   * record, instead of being rebuilt from the cache: a rebuild forgets the addresses of binds in
   * flight (picked, their record not created yet), which are then handed out again and meet
   * AlreadyExists. A record the List lacks is freed (if its claim still holds it), one it shows
   * is held for its claim. Returns the changed keys (ObjectCache.replace).
   */
  replaceAllocations(items: IPAllocation[], listResourceVersion?: string): string[] {
    const cache = this.caches.allocations;
    const before = new Map([...cache.keys()].map(k => [k, cache.get(k) as IPAllocation]));
    const changed = cache.replace(items, listResourceVersion);
    for (const key of changed) {
      const [was, now] = [before.get(key), cache.get(key)];
      if (was && was.metadata?.uid !== now?.metadata?.uid) this.noteAllocation(was, true);
      if (now) this.#holdRecord(now);
    }
    return changed;
  }

  /** The record's claim holds its address (records are authoritative over what the allocator believed). */
  #holdRecord(alloc: IPAllocation): void {
    const spec = alloc.spec;
    const allocator = spec && this.#poolState.get(spec.pool)?.allocator;
    if (!spec || !allocator) return; // no allocator yet: the first use builds it from the cache
    const owner = ownerOf(spec.claimRef.namespace, spec.claimRef.name);
    try {
      if (allocator.holderOf(spec.address) !== owner) allocator.markTaken(spec.address, owner);
    } catch {
      this.forgetPool(spec.pool); // an address the allocator cannot hold: the rebuild skips and reports it
    }
  }

  allocationsOfPool(pool: string): IPAllocation[] {
    return this.caches.allocations.by("pool", pool);
  }

  /** How many IPAllocations the pool has: a count kept by the index, not a List of them. */
  allocationCount(pool: string): number {
    return this.caches.allocations.count("pool", pool);
  }

  /** Bound claims (Bound condition True) and the rest: counts kept by the index on every event. */
  claimCounts(): { bound: number; unbound: number } {
    return { bound: this.caches.claims.count("bound", "yes"), unbound: this.caches.claims.count("bound", "no") };
  }

  /** Claims whose Bound condition is not True: those waiting for an address. */
  unboundClaims(): IPClaim[] {
    return this.caches.claims.by("bound", "no");
  }

  allocationsOfClaim(namespace: string, name: string): IPAllocation[] {
    return this.caches.allocations.by("claim", `${namespace}/${name}`);
  }

  /** Claims of a VM, by spec.vm. */
  claimsOfVm(namespace: string, vm: string): IPClaim[] {
    return this.caches.claims.by("vm", `${namespace}/${vm}`);
  }

  // ---- AdmissionSnapshot ------------------------------------------------------------------

  poolsForNetwork(network: string): IPPool[] {
    return [...this.caches.pools.values()].filter(p => p.spec?.networks?.includes(network) && !p.metadata?.deletionTimestamp);
  }

  /** Claims holding a MAC (lower-case), with their network: a MAC is unique per L2 segment. */
  macHolders(mac: string): MacHolder[] {
    return this.caches.claims
      .by("mac", mac.toLowerCase())
      .map(c => ({ namespace: String(c.metadata?.namespace), claim: String(c.metadata?.name), network: String(c.spec?.network) }));
  }

  pool(name: string): IPPool | undefined {
    return this.caches.pools.get(name);
  }

  pools(): IPPool[] {
    return [...this.caches.pools.values()];
  }

  nad(namespace: string, name: string): NetworkAttachmentDefinition | undefined {
    return this.caches.nads.get(`${namespace}/${name}`);
  }

  namespaceLabels(ns: string): Record<string, string> | undefined {
    return this.caches.namespaces.get(ns)?.metadata?.labels;
  }

  holderOf(pool: string, address: string): AddressHolder | undefined {
    let owner: string | undefined;
    try {
      owner = this.allocator(pool)?.holderOf(canonicalIP(address));
    } catch {
      return undefined;
    }
    if (!owner) return undefined;
    const [namespace, claim] = owner.split("/");
    return { namespace, claim, vm: claimNameParts(claim).vm };
  }

  requestRefusal(pool: string, owner: string, address: string): IpamError | undefined {
    return this.allocator(pool)?.checkRequest(owner, address);
  }

  claimHolding(namespace: string, claim: string): ClaimHolding | undefined {
    const c = this.caches.claims.get(`${namespace}/${claim}`);
    if (!c?.status?.addresses?.length) return undefined;
    const pools = c.spec?.pools?.length ? c.spec.pools : c.spec?.pool ? [c.spec.pool] : [];
    return { pools, released: (c.status as { released?: boolean }).released === true };
  }

  freeCount(pool: string): bigint | undefined {
    return this.allocator(pool)?.freeCount;
  }

  allocationsInPool(pool: string): AllocationLike[] {
    return this.allocationsOfPool(pool).map(a => ({
      address: a.spec!.address,
      namespace: a.spec!.claimRef.namespace,
      claim: a.spec!.claimRef.name,
      vm: claimNameParts(a.spec!.claimRef.name).vm,
    }));
  }
}
