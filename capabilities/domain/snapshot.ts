// The read-only view of the cluster that the validators consult. Implemented elsewhere from watch
// caches; tests implement it from plain arrays. Every method must answer from memory (no API calls).
import type { Spec as IPPoolSpec } from "../api/ippool-v1alpha1";
import type { NetworkAttachmentDefinition } from "../api/external/multus";
import type { IpamError } from "../ipam/errors";

/** The parts of an IPPool the validators read. */
export interface IPPoolLike {
  metadata?: { name?: string; [key: string]: unknown };
  spec?: Partial<IPPoolSpec>;
}

/** Who holds an address: the IPClaim (named `<vm>.<interface>`) and its VM. */
export interface AddressHolder {
  namespace: string;
  claim: string;
  vm: string;
}

export interface AllocationLike extends AddressHolder {
  address: string;
}

/** What a NIC's IPClaim holds, as the pool rules need it. */
export interface ClaimHolding {
  /** The claim's pools (spec.pools, else spec.pool). */
  pools: string[];
  /** Released under reclaimPolicy Retain (its VM was deleted), not bound. */
  released: boolean;
}

export interface AdmissionSnapshot {
  /** Pools whose spec.networks include the network ("namespace/name"). */
  poolsForNetwork(network: string): IPPoolLike[];
  pool(name: string): IPPoolLike | undefined;
  pools(): IPPoolLike[];
  nad(namespace: string, name: string): NetworkAttachmentDefinition | undefined;
  /** Labels of a namespace, undefined when the namespace is not known. */
  namespaceLabels(ns: string): Record<string, string> | undefined;
  /** The holder of an address (canonical text, no prefix length) in a pool. */
  holderOf(pool: string, address: string): AddressHolder | undefined;
  allocationsInPool(pool: string): AllocationLike[];
  /**
   * Why the pool's allocator would refuse `owner` ("namespace/claim") the address (ipam's
   * checkRequest), the binder's own verdict: it also sees an IPv6 address whose derived MAC a held
   * address has, which holderOf does not. Optional: a snapshot without allocators leaves it out.
   */
  requestRefusal?(pool: string, owner: string, address: string): IpamError | undefined;
  /**
   * Network binding plugin names the KubeVirt CR registers (spec.configuration.network.binding), when
   * the snapshot knows the CR; without it, a VM naming a plugin gets a warning to check it.
   */
  bindingPlugins?(): readonly string[];
  /**
   * The pools of the IPClaim `claim` of a namespace when it holds addresses (bound, or retained by
   * reclaimPolicy Retain); undefined when there is no such claim or it holds none. Without it, a
   * change of pool on a bound NIC is not refused (the controller still keeps the NIC's pool).
   */
  claimHolding?(namespace: string, claim: string): ClaimHolding | undefined;
  /** Addresses the pool can still hand out; undefined when unknown. Without it, room is not checked. */
  freeCount?(pool: string): bigint | undefined;
}
