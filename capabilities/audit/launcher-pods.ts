// `kubectl vmnet check` over the launcher pods: what each virt-launcher pod carries in its
// k8s.v1.cni.cncf.io/networks annotation (the ips and mac Multus hands the CNI plugins) and, where
// Multus wrote it, what k8s.v1.cni.cncf.io/network-status says the interfaces got, compared with
// the IPClaims of its VM. An address a pod carries that its VM's claim does not hold may be another
// NIC's (a duplicate on the wire); a MAC that differs from the claim's breaks the segment's
// one-MAC rule. Pure: pods and claims in, problems out ("kind: message", as findProblems).
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import type { IPPool } from "../api/ippool-v1alpha1";
import { ClaimMatcher, isLauncherPod, vmNameOfPod } from "../domain/launcher-pod";
import { NETWORKS_ANNOTATION, decodeNetworkSelection } from "../domain/network-selection";
import type { KubeObject } from "../k8s/client";
import { AddressRules, ipamRules } from "./rules";

export const NETWORK_STATUS_ANNOTATION = "k8s.v1.cni.cncf.io/network-status";

export interface PodLike extends KubeObject {
  status?: { phase?: string };
}

/** What one interface of a pod carries: from the networks annotation or from Multus's network-status. */
interface Carried {
  network: string;
  interface?: string;
  ips: string[];
  mac?: string;
  source: "annotation" | "network-status";
}

const annotationsOf = (pod: PodLike): Record<string, unknown> => (pod.metadata?.annotations as Record<string, unknown> | undefined) ?? {};
const normalMac = (mac: string): string => mac.toLowerCase().replace(/-/g, ":");

/** A pod that still holds its addresses: a launcher pod that has not finished and is not being deleted. */
function holdsAddresses(pod: PodLike): boolean {
  return isLauncherPod(pod) && pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed" && !pod.metadata?.deletionTimestamp;
}

/** The networks annotation's elements that carry an address or MAC. */
function fromAnnotation(pod: PodLike): Carried[] {
  const parsed = decodeNetworkSelection(annotationsOf(pod)[NETWORKS_ANNOTATION] ?? "", pod.metadata?.namespace ?? "default");
  if (!parsed.ok) return []; // the pod webhook refuses such annotations; nothing to compare
  return parsed.elements.flatMap(el => {
    const ips = Array.isArray(el.raw.ips) ? el.raw.ips.filter((x): x is string => typeof x === "string") : [];
    const mac = typeof el.raw.mac === "string" ? el.raw.mac : undefined;
    if (!ips.length && mac === undefined) return [];
    return [{ network: el.network, interface: el.interface, ips, mac, source: "annotation" as const }];
  });
}

/** Multus's report of the secondary interfaces ("namespace/name" networks). */
function fromNetworkStatus(pod: PodLike): Carried[] {
  const raw = annotationsOf(pod)[NETWORK_STATUS_ANNOTATION];
  let entries: unknown;
  try {
    entries = typeof raw === "string" ? JSON.parse(raw) : [];
  } catch {
    return [];
  }
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((e: unknown) => {
    if (typeof e !== "object" || e === null) return [];
    const { name, interface: iface, ips, mac, default: isDefault } = e as Record<string, unknown>;
    if (typeof name !== "string" || !name.includes("/") || isDefault === true) return [];
    const list = Array.isArray(ips) ? ips.filter((x): x is string => typeof x === "string") : [];
    return [
      {
        network: name,
        interface: typeof iface === "string" ? iface : undefined,
        ips: list,
        mac: typeof mac === "string" ? mac : undefined,
        source: "network-status" as const,
      },
    ];
  });
}

export interface PodCheckInput {
  pods: PodLike[];
  /** Claims of every namespace the pods are in. */
  claims: IPClaim[];
  /** Pools, to know which networks are pool-backed (an address there must come from a claim). */
  pools: IPPool[];
}

/** Problems of every launcher pod that holds addresses. */
export function checkLauncherPods(input: PodCheckInput, r: AddressRules = ipamRules): string[] {
  const poolBacked = new Set(input.pools.flatMap(p => p.spec?.networks ?? []));
  return input.pods.filter(holdsAddresses).flatMap(pod => checkPod(pod, input.claims, poolBacked, r));
}

function checkPod(pod: PodLike, claims: IPClaim[], poolBacked: Set<string>, r: AddressRules): string[] {
  const ns = pod.metadata?.namespace ?? "default";
  const vm = vmNameOfPod(pod);
  if (!vm) return [];
  const mine = claims.filter(c => c.metadata?.namespace === ns && c.spec?.vm === vm);
  const problems: string[] = [];
  // Each source is matched on its own, as the renderer matched the annotation: by KubeVirt's
  // hashed interface name, else by position among the VM's claims of that network.
  for (const carried of [fromAnnotation(pod), fromNetworkStatus(pod)]) {
    const matcher = new ClaimMatcher(mine);
    for (const c of carried) {
      const claim = matcher.take(c.network, c.interface) as IPClaim | undefined;
      if (claim) problems.push(...compare(pod, vm, c, claim, r));
      else if (poolBacked.has(c.network) && c.ips.length)
        problems.push(
          `pod-address: launcher pod ${ns}/${pod.metadata?.name} of VM ${vm} carries ${c.ips.join(", ")} on pool-backed network ${c.network}${where(c)}, but VM ${vm} has no IPClaim for that NIC`,
        );
    }
  }
  return problems;
}

function compare(pod: PodLike, vm: string, c: Carried, claim: IPClaim, r: AddressRules): string[] {
  const ns = pod.metadata?.namespace;
  const who = `launcher pod ${ns}/${pod.metadata?.name} of VM ${vm}`;
  const claimRef = `IPClaim ${ns}/${claim.metadata?.name}`;
  const held: string[] = claim.status?.addresses ?? [];
  const problems: string[] = [];
  for (const ip of c.ips) {
    if (held.some(h => r.sameIP(h, ip))) continue;
    problems.push(
      `pod-address: ${who} carries ${ip} on network ${c.network}${where(c)}, which ${claimRef} does not hold (it holds ${held.join(", ") || "no address"})`,
    );
  }
  const mac = macProblem(c, claim.status?.mac);
  if (mac) problems.push(`pod-mac: ${who} has MAC ${c.mac} on network ${c.network}${where(c)}, but ${claimRef} holds MAC ${mac}`);
  return problems;
}

/** The claim's MAC when the pod's differs from it (either spelling of a MAC). */
function macProblem(c: Carried, held: string | undefined): string | undefined {
  return c.mac !== undefined && held !== undefined && normalMac(c.mac) !== normalMac(held) ? held : undefined;
}

function where(c: Carried): string {
  const iface = c.interface ? ` interface ${c.interface}` : "";
  return c.source === "annotation"
    ? `${iface} (its ${NETWORKS_ANNOTATION} annotation)`
    : `${iface} (Multus's ${NETWORK_STATUS_ANNOTATION})`;
}
