// Every vmnet.io/* key the operator reads or writes, and the labels it puts on what it owns: one
// home, so a key is spelled once. The parsers of the annotations live with their rules
// (vm-addresses.ts for vmnet.io/addresses, vm.ts for vmnet.io/expose and vmnet.io/service-ip).
export const GROUP = "vmnet.io";

/** VM annotation: requested fixed addresses per interface, `{"ovs1": "10.100.0.23"}` (a list for dual-stack). */
export const ADDRESSES_ANNOTATION = "vmnet.io/addresses";
/** VM annotation: the pool chosen per interface, `{"ovs1": "tenant-a-vlan100-db"}` (a list for dual-stack; parser in vm-pools.ts). */
export const POOLS_ANNOTATION = "vmnet.io/pools";
/** VM annotation: keep a Service of this type for the VM's masquerade interface. */
export const EXPOSE_ANNOTATION = "vmnet.io/expose";
/** The Service types vmnet.io/expose may name. */
export const EXPOSE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
/** VM annotation: the ClusterIP to pin on that Service. */
export const SERVICE_IP_ANNOTATION = "vmnet.io/service-ip";

/** Label on an IPClaim: the VM it belongs to. */
export const VM_LABEL = "vmnet.io/vm";
/** Label on an IPAllocation: the pool it belongs to. */
export const POOL_LABEL = "vmnet.io/pool";
/** The finalizer earlier versions put on VMs; the operator now only removes it (uninstall must never get stuck). */
export const FINALIZER = "vmnet.io/release";

/** On everything the operator creates; its watches of Services select by it. */
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "vmnet-operator" } as const;
