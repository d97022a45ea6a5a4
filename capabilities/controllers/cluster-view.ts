// What the operator knows of the cluster, kept in memory: caches of the kinds it reads, indexes
// over them, and one allocator per pool rebuilt from IPAllocation records. The controllers and the
// admission webhooks both read it (it implements the admission snapshot), so a webhook never calls
// the API server on its hot path.
import type { IPAllocation } from "../api/ipallocation-v1alpha1";
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import type { IPPool } from "../api/ippool-v1alpha1";
import { VirtualMachine, VirtualMachineInstanceMigration } from "../api/external/kubevirt";
import type { NetworkAttachmentDefinition } from "../api/external/multus";
import { conflictLoss } from "../admission/pool-conflicts";
import { effectiveNamespaceLabels, selectorMatches } from "../admission/selector";
import type { AddressHolder, AdmissionSnapshot, AllocationLike } from "../admission/snapshot";
import type { MacHolder } from "../admission/vm-security";
import { PoolAllocator } from "../ipam/allocator";
import { canonicalIP } from "../ipam/address";
import { PoolLayout, poolLayout } from "../ipam/pool-layout";
import { KubeObject } from "../k8s/client";
import type { ServiceObject } from "./service-controller";
import { ObjectCache } from "../k8s/cache";
import { projectAllocation, projectClaim, projectVm } from "./projections";

export type Namespace = KubeObject;

/** The allocator's owner key for a claim: its namespace and name. */
export const ownerOf = (namespace: string, claim: string): string => `${namespace}/${claim}`;

export function claimNameParts(claimName: string): { vm: string; iface: string } {
  const dot = claimName.lastIndexOf(".");
  return { vm: claimName.slice(0, dot), iface: claimName.slice(dot + 1) };
}

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
      .index("mac", c => c.status?.mac?.toLowerCase().replace(/-/g, ":")),
    allocations: new ObjectCache<IPAllocation>(projectAllocation)
      .index("pool", a => a.spec?.pool)
      .index("claim", a => (a.spec ? `${a.spec.claimRef.namespace}/${a.spec.claimRef.name}` : undefined)),
    vms: new ObjectCache<VirtualMachine>(projectVm),
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

  allocationsOfPool(pool: string): IPAllocation[] {
    return this.caches.allocations.by("pool", pool);
  }

  allocationsOfClaim(namespace: string, name: string): IPAllocation[] {
    return this.caches.allocations.by("claim", `${namespace}/${name}`);
  }

  /** Claims of a VM, by spec.vm. */
  claimsOfVm(namespace: string, vm: string): IPClaim[] {
    return this.caches.claims.by("vm", `${namespace}/${vm}`);
  }

  /** Pools serving a network ("ns/name") that admit the namespace, IPv4 first. */
  servingPools(network: string, namespace: string): { permitted: IPPool[]; refused: IPPool[] } {
    const labels = effectiveNamespaceLabels(namespace, this.namespaceLabels(namespace));
    // A pool that lost a conflict (pool-conflicts.ts) serves nothing: its status says why.
    const serving = (this.poolsForNetwork(network) as IPPool[]).filter(p => conflictLoss(p, this) === undefined);
    const byFamily = (p: IPPool): number => (p.spec?.cidr?.includes(":") ? 6 : 4);
    serving.sort((a, b) => byFamily(a) - byFamily(b) || String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
    return {
      permitted: serving.filter(p => selectorMatches(p.spec?.namespaceSelector, labels)),
      refused: serving.filter(p => !selectorMatches(p.spec?.namespaceSelector, labels)),
    };
  }

  // ---- AdmissionSnapshot ------------------------------------------------------------------

  poolsForNetwork(network: string): IPPool[] {
    return [...this.caches.pools.values()].filter(p => p.spec?.networks?.includes(network) && !p.metadata?.deletionTimestamp);
  }

  /** Claims holding a MAC (lower-case), with their network: a MAC is unique per L2 segment. */
  macHolders(mac: string): MacHolder[] {
    return this.caches.claims.by("mac", mac.toLowerCase()).map(c => ({ namespace: String(c.metadata?.namespace), claim: String(c.metadata?.name), network: String(c.spec?.network) }));
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

  allocationsInPool(pool: string): AllocationLike[] {
    return this.allocationsOfPool(pool).map(a => ({
      address: a.spec!.address,
      namespace: a.spec!.claimRef.namespace,
      claim: a.spec!.claimRef.name,
      vm: claimNameParts(a.spec!.claimRef.name).vm,
    }));
  }
}

