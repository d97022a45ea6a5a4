// Who may put an address on a pod. A pool-backed NAD uses static IPAM, so Multus gives a pod
// whatever "ips" and "mac" its annotation carries: this rule is the only guard of "never handed
// out twice". Only pods created by the launcher identity (KubeVirt's virt-controller; the
// admission request's userInfo, never labels or ownerReferences, which anyone can write) for a VM
// of their own namespace may carry addresses on such a network, and only that VM's claimed ones
// (the caller compares them with the claims). Pure.
import { isRecord, show } from "./findings";
import type { GuardedNetworks } from "./l2";
import { vmNameOfPod } from "./launcher-pod";
import {
  DEFAULT_NETWORK_ANNOTATION,
  NETWORKS_ANNOTATION,
  SELECTION_ANNOTATIONS,
  SelectionElement,
  decodeNetworkSelection,
} from "./network-selection";

export interface PodRequest {
  operation: string;
  /** The request's namespace (the pod's). */
  namespace: string;
  /** Pod name, or generateName + "*". */
  pod: string;
  /** userInfo.username of the request. */
  username: string;
  object: unknown;
  oldObject?: unknown;
}

export type PodVerdict =
  | { kind: "allow"; warnings: string[] }
  | { kind: "deny"; message: string }
  /** A launcher pod on pool-backed networks: its elements must carry exactly its VM's claims. */
  | { kind: "launcher"; vm: string };

export function annotationField(key: string): string {
  return `metadata.annotations["${key}"]`;
}

/** The selection annotations of a pod changed (or it is new). */
export function selectionChanged(req: Pick<PodRequest, "operation" | "object" | "oldObject">): boolean {
  if (req.operation !== "UPDATE") return true;
  return SELECTION_ANNOTATIONS.some(k => annotationOf(req.object, k) !== annotationOf(req.oldObject, k));
}

export function checkPodNetworks(req: PodRequest, launcherIdentity: string, guarded: GuardedNetworks): PodVerdict {
  if (!selectionChanged(req)) return { kind: "allow", warnings: [] };
  const who = `Pod ${req.namespace}/${req.pod}`;
  const byLauncher = req.username === launcherIdentity;
  const scan = scanSelections(req, who, byLauncher, launcherIdentity, guarded);
  if ("denial" in scan) return { kind: "deny", message: scan.denial };
  if (!scan.poolBacked) return { kind: "allow", warnings: [] };
  if (!byLauncher) {
    const warning = `${who} names a network whose addresses vmnet-operator assigns from an IPPool, but only virt-launcher pods created by ${launcherIdentity} receive them: this pod gets no address there`;
    return { kind: "allow", warnings: [warning] };
  }
  const vm = vmNameOfPod(req.object);
  if (!vm)
    return {
      kind: "deny",
      message: `${who}: ${annotationField(NETWORKS_ANNOTATION)} names a pool-backed network, but the pod belongs to no VirtualMachineInstance (no ownerReference to one, no label vm.kubevirt.io/name), so it has no address to carry`,
    };
  return { kind: "launcher", vm };
}

/**
 * Both selection annotations, element by element: the denial of the first that does not decode or
 * carries what it may not, else whether the networks annotation names a pool-backed network.
 */
function scanSelections(
  req: PodRequest,
  who: string,
  byLauncher: boolean,
  launcherIdentity: string,
  guarded: GuardedNetworks,
): { denial: string } | { poolBacked: boolean } {
  let poolBacked = false;
  for (const key of SELECTION_ANNOTATIONS) {
    const value = annotationOf(req.object, key);
    if (value === undefined) continue;
    const decoded = decodeNetworkSelection(value, req.namespace);
    const at = `${who}: ${annotationField(key)}`;
    if (!decoded.ok) return { denial: `${at} ${decoded.error}` };
    for (const el of decoded.elements) {
      const kind = guarded.kind(el.network);
      if (!kind) continue;
      const problem = elementProblem(el, kind, key, byLauncher, launcherIdentity);
      if (problem) return { denial: `${at}: ${problem}` };
      if (kind === "pool" && key === NETWORKS_ANNOTATION) poolBacked = true;
    }
  }
  return { poolBacked };
}

function elementProblem(
  el: SelectionElement,
  kind: "pool" | "l2",
  key: string,
  byLauncher: boolean,
  launcherIdentity: string,
): string | undefined {
  const keys = el.addressKeys;
  if (keys.length === 0) return undefined;
  const sets = `element ${el.index} sets ${keys.map(k => show(k)).join(" and ")} on network ${el.network}`;
  const where =
    kind === "pool"
      ? "whose addresses vmnet-operator assigns from an IPPool"
      : "which shares its bridge and VLAN with a network whose addresses vmnet-operator assigns from an IPPool";
  const remove = `remove ${keys.map(k => show(k)).join(" and ")}`;
  if (key === DEFAULT_NETWORK_ANNOTATION)
    return `${sets}, ${where}; vmnet-operator hands out addresses only through ${NETWORKS_ANNOTATION} of VM launcher pods, so ${remove}`;
  // "cni-args" too on a launcher's pool network: vmnet-operator writes it ({"mac": ...}) and the caller compares it with the claims.
  const other = keys.filter(k => k !== "ips" && k !== "mac" && (k !== "cni-args" || !byLauncher || kind !== "pool"));
  if (other.length > 0)
    return `element ${el.index} sets ${other.map(k => show(k)).join(" and ")} on network ${el.network}, ${where}; an address there comes only from the VM's IPClaim, so remove ${other.map(k => show(k)).join(" and ")}`;
  if (!byLauncher)
    return `${sets}, ${where}; only virt-launcher pods created by ${launcherIdentity} may carry addresses there (their VM's own, put there by vmnet-operator), so ${remove}`;
  // KubeVirt writes "mac" from the VM's spec macAddress, which VM admission checks against every
  // MAC held on the segment; an IP it never writes, so one here is not from KubeVirt.
  if (kind === "l2" && keys.includes("ips"))
    return `element ${el.index} sets "ips" on network ${el.network}, ${where}, but no IPPool serves ${el.network} itself, so no address there is this VM's; remove "ips", or have an IPPool serve the network`;
  return undefined;
}

function annotationOf(obj: unknown, key: string): unknown {
  const meta = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : undefined;
  const annotations = meta && isRecord(meta.annotations) ? meta.annotations : undefined;
  return annotations?.[key];
}
