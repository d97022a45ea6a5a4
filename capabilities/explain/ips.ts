// `kubectl vmnet ips`: one row per VM NIC with its addresses. NICs with an IPClaim show the claim;
// NICs without one say why in STATE; claims whose VM or NIC is gone (retained) are listed too.
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import type { IPPool } from "../api/ippool-v1alpha1";
import type { VirtualMachine } from "../api/external/kubevirt";
import { IfaceEntry, isBridgeNic, vmNics } from "../domain/vm-nics";
import { boundCondition } from "../domain/claims";

export const IPS_HEADERS = ["NAMESPACE", "VM", "INTERFACE", "NETWORK", "POOL", "ADDRESSES", "MAC", "STATE"];

export interface IpsInput {
  vms: VirtualMachine[];
  claims: IPClaim[];
  pools: IPPool[];
  /** Only this VM's NICs. */
  vm?: string;
}

type Row = (string | undefined)[];

interface SortableRow {
  namespace: string;
  vm: string;
  order: number;
  row: Row;
}

/** The rows of the ips table, by namespace, VM and interface order. */
export function nicRows(input: IpsInput): Row[] {
  const claims = new Map(input.claims.map(c => [`${c.metadata?.namespace}/${c.metadata?.name}`, c]));
  const served = new Set(input.pools.flatMap(p => p.spec?.networks ?? []));
  const wanted = (vm: string | undefined): boolean => input.vm === undefined || vm === input.vm;
  const rows = input.vms.filter(v => wanted(v.metadata?.name)).flatMap(vm => vmRows(vm, claims, served));
  // What is left: claims whose VM or NIC is gone (retained by reclaimPolicy Retain, or being released).
  for (const claim of [...claims.values()].filter(c => wanted(c.spec?.vm))) {
    rows.push({
      namespace: String(claim.metadata?.namespace ?? ""),
      vm: claim.spec?.vm ?? "",
      order: Number.MAX_SAFE_INTEGER,
      row: claimRow(claim),
    });
  }
  rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.vm.localeCompare(b.vm) || a.order - b.order);
  return rows.map(r => r.row);
}

/** The rows of one VM's NICs; takes the claims it shows out of `claims`. */
function vmRows(vm: VirtualMachine, claims: Map<string, IPClaim>, served: Set<string>): SortableRow[] {
  const namespace = String(vm.metadata?.namespace ?? "");
  const name = String(vm.metadata?.name ?? "");
  return vmNics(vm).map((nic, order) => {
    const key = `${namespace}/${name}.${nic.name}`;
    const claim = claims.get(key);
    claims.delete(key);
    return { namespace, vm: name, order, row: claim ? claimRow(claim) : unclaimedRow(namespace, name, nic, served) };
  });
}

function claimRow(claim: IPClaim): Row {
  const { spec, status } = claim;
  return [
    claim.metadata?.namespace as string | undefined,
    spec?.vm,
    spec?.interface,
    spec?.network,
    claimPools(claim).join(","),
    (status?.addresses ?? []).join(","),
    status?.mac,
    claimState(claim),
  ];
}

/** The pools a claim draws from, one per family (older claims name only spec.pool). */
export function claimPools(claim: IPClaim | undefined): string[] {
  if (claim?.spec?.pools?.length) return claim.spec.pools;
  return claim?.spec?.pool ? [claim.spec.pool] : [];
}

/** Released, Bound, the reason of a False Bound condition, or Pending before the first bind. */
export function claimState(claim: IPClaim): string {
  if (claim.status?.released) return "Released";
  const bound = boundCondition(claim);
  if (!bound) return "Pending";
  return bound.status === "True" ? "Bound" : bound.reason || "NotBound";
}

function unclaimedRow(namespace: string, vm: string, nic: IfaceEntry, served: Set<string>): Row {
  const network = nic.network?.kind === "pod" ? "pod" : nic.network?.qualified;
  return [namespace, vm, nic.name, network, undefined, undefined, nic.macAddress, unclaimedState(nic, network, served)];
}

/** Why a NIC has no IPClaim: not a bridge NIC on a Multus network, no pool, or not reconciled yet. */
function unclaimedState(nic: IfaceEntry, network: string | undefined, served: Set<string>): string {
  if (nic.network?.kind === "pod") return "PodNetwork";
  if (nic.network?.kind !== "multus" || !network) return "NoNetwork";
  if (!isBridgeNic(nic)) return "NotBridge";
  return served.has(network) ? "Pending" : "NoPool";
}
