// Pure renderers: what an IPClaim, an IPAllocation or a status should be, from plain data.
// The reconcilers write what these return; tests check them without a cluster.
import type { IPAllocation } from "../api/ipallocation-v1alpha1";
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import { VirtualMachine, vmNics } from "../api/external/kubevirt";
import { claimName } from "../domain/claims";
import { ADDRESSES_ANNOTATION, FINALIZER, GROUP, MANAGED_BY, POOL_LABEL, VM_LABEL } from "../domain/keys";
import { qualifyNetwork } from "../domain/names";
import { parseAddressesAnnotation } from "../domain/vm-addresses";
import { allocationName } from "../ipam/address";

// The keys live in domain/keys.ts; re-exported for the controllers that import them from here.
export { ADDRESSES_ANNOTATION, FINALIZER, GROUP, MANAGED_BY, VM_LABEL };

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/** Sets a condition, keeping lastTransitionTime when the status did not change. */
export function setCondition(existing: Condition[] | undefined, next: Omit<Condition, "lastTransitionTime">, now: string): Condition[] {
  const list = (existing ?? []).filter(c => c.type !== next.type);
  const prev = existing?.find(c => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now;
  return [...list, { ...next, lastTransitionTime }].sort((a, b) => a.type.localeCompare(b.type));
}

/** A bridge NIC of a VM on a Multus network, the unit that gets an IPClaim. */
export interface BridgeNic {
  interface: string;
  network: string;
  macAddress?: string;
}

export function bridgeNics(vm: VirtualMachine): BridgeNic[] {
  const ns = vm.metadata?.namespace ?? "default";
  return vmNics(vm.spec?.template?.spec)
    .filter(n => n.bindings.length === 1 && n.bindings[0] === "bridge" && n.networkKind === "multus" && n.networkName)
    .map(n => ({
      interface: n.interface,
      network: qualifyNetwork(n.networkName!, ns),
      macAddress: n.macAddress,
    }));
}

export { claimName };

/**
 * Whether the NIC can have a claim: claimName is injective only for interface names without a dot
 * (split at the last dot gives VM and interface back). KubeVirt refuses dotted interface names, so
 * such a NIC can only have come past a webhook outage; the VM controller reports it instead.
 */
export const claimableInterface = (iface: string): boolean => !iface.includes(".");

/**
 * The VM as owner of its claims, when its pools delete claims with their VM (reclaimPolicy Delete):
 * GitOps tools then show the claims under the VM, and the garbage collector deletes them when the
 * operator is down (the sweep frees their addresses later). Not the controller (vmnet-operator
 * is), and not blocking the VM's deletion (the operator frees the addresses itself; blocking would
 * also need the right to set finalizers on VMs). A claim kept by a Retain pool has no owner: the
 * garbage collector would delete it with the VM.
 */
export function vmOwnerReference(vm: VirtualMachine): { apiVersion: string; kind: string; name: string; uid: string } {
  return { apiVersion: "kubevirt.io/v1", kind: "VirtualMachine", name: vm.metadata!.name!, uid: vm.metadata!.uid! };
}

/** The claim of one NIC: spec, labels and owner only; status is written separately. */
export function renderClaim(vm: VirtualMachine, nic: BridgeNic, pools: string[], owned = true): IPClaim {
  return {
    apiVersion: `${GROUP}/v1alpha1`,
    kind: "IPClaim",
    metadata: {
      name: claimName(vm.metadata!.name!, nic.interface),
      namespace: vm.metadata!.namespace,
      labels: { [VM_LABEL]: vm.metadata!.name!, ...MANAGED_BY },
      ...(owned && vm.metadata?.uid ? { ownerReferences: [vmOwnerReference(vm)] } : {}),
    },
    spec: { vm: vm.metadata!.name!, interface: nic.interface, network: nic.network, pool: pools[0] ?? "", pools },
  } as IPClaim;
}

export function renderAllocation(pool: string, address: string, claim: { namespace: string; name: string; uid?: string }): IPAllocation {
  return {
    apiVersion: `${GROUP}/v1alpha1`,
    kind: "IPAllocation",
    metadata: { name: allocationName(pool, address), labels: { [POOL_LABEL]: pool, ...MANAGED_BY } },
    spec: { pool, address, claimRef: { namespace: claim.namespace, name: claim.name, uid: claim.uid } },
  } as IPAllocation;
}

/** Claim spec fields (and owners) the operator sets; a difference means the claim must be re-applied. */
export function claimSpecDiffers(have: IPClaim | undefined, want: IPClaim): boolean {
  if (!have?.spec || !want.spec) return true;
  const owners = (c: IPClaim): string => JSON.stringify((c.metadata?.ownerReferences ?? []).map((o: { uid: string }) => o.uid));
  if (owners(have) !== owners(want)) return true;
  const a = have.spec;
  const b = want.spec;
  return a.network !== b.network || a.pool !== b.pool || JSON.stringify(a.pools ?? []) !== JSON.stringify(b.pools ?? []);
}

/**
 * The VM's vmnet.io/addresses, read by the webhook's own parser (domain/vm-addresses.ts): a value the
 * webhook would refuse requests nothing here and is reported, so both sides read one meaning.
 */
export function requestedAddresses(vm: VirtualMachine): { byInterface: Map<string, string[]>; error?: string } {
  const raw = vm.metadata?.annotations?.[ADDRESSES_ANNOTATION];
  if (!raw) return { byInterface: new Map() };
  const parsed = parseAddressesAnnotation(raw);
  if (parsed.ok) return { byInterface: parsed.requests };
  return { byInterface: new Map(), error: `${parsed.field} = ${JSON.stringify(raw)} is not valid: ${parsed.message}` };
}
