// The virt-launcher pod mutator's renderer: put each pool-backed NIC's fixed addresses and MAC
// into the pod's k8s.v1.cni.cncf.io/networks annotation. Pure.
//
// What Multus (v4.2.3) does with an element: "ips" and "mac" go to the NAD's plugin as
// runtimeConfig when its config declares the capability, and always as CNI_ARGS IP= and MAC=
// (deprecated there, still sent); "cni-args" goes into the plugin's stdin as args.cni, where
// ovs-cni newer than v0.39.0 reads the MAC (v0.39.0 reads only CNI_ARGS MAC=), so the MAC goes
// both ways; "default-route" makes Multus route the pod's default through that interface.
import { createHash } from "node:crypto";
import type { NetworkSelectionElement } from "../api/external/multus";
import type { Spec as ClaimSpec, StatusObject as ClaimStatus } from "../api/ipclaim-v1alpha1";
import { isRecord } from "./findings";
import { parseJson } from "./json";
import { TextMemo } from "./memo";
import { isClaimBound } from "./claims";

export const LAUNCHER_LABEL = "kubevirt.io";
export const LAUNCHER_LABEL_VALUE = "virt-launcher";
export const VM_NAME_LABEL = "vm.kubevirt.io/name";

/** The parts of an IPClaim the renderer reads. */
export interface ClaimLike {
  metadata?: { name?: string; namespace?: string; [key: string]: unknown };
  spec?: Partial<ClaimSpec>;
  status?: Partial<Pick<ClaimStatus, "addresses" | "mac">> & {
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

/** Multus's element keys the renderer writes besides "ips" and "mac". */
export const CNI_ARGS_KEY = "cni-args";
export const DEFAULT_ROUTE_KEY = "default-route";

export interface RenderedNetworks {
  /** The annotation to set (the input, untouched, when nothing changed). */
  value: string;
  /** True when value differs from the input. */
  changed: boolean;
  /** Pool-backed networks ("namespace/name") of elements that have no bound claim. */
  missing: string[];
  /** Set when the annotation cannot be read; value is then the input. */
  error?: string;
}

interface PodLike {
  metadata?: { labels?: Record<string, string> | unknown; [key: string]: unknown };
}

export function isLauncherPod(pod: PodLike | unknown): boolean {
  return labelsOf(pod)[LAUNCHER_LABEL] === LAUNCHER_LABEL_VALUE;
}

/**
 * The VM (= VMI) name of a launcher pod. KubeVirt's vm.kubevirt.io/name label holds a
 * hostname-safe form (a VM "web.1" is labelled "web"), so the VMI owner reference wins.
 */
export function vmNameOfPod(pod: PodLike | unknown): string | undefined {
  const owners = isRecord(pod) && isRecord(pod.metadata) && Array.isArray(pod.metadata.ownerReferences) ? pod.metadata.ownerReferences : [];
  const vmi = owners.find((o: unknown) => isRecord(o) && o.kind === "VirtualMachineInstance" && typeof o.name === "string");
  if (vmi) return (vmi as { name: string }).name;
  const name = labelsOf(pod)[VM_NAME_LABEL];
  return typeof name === "string" && name !== "" ? name : undefined;
}

/** A claim is bound when its Bound condition is True and it has addresses (claims.ts, re-exported for older imports). */
export { isClaimBound };

/**
 * KubeVirt's pod interface name for a Multus network: "pod" + the first 11 hex characters of
 * sha256 of the VM network's name (which equals its interface's name).
 */
export function launcherInterfaceName(vmNetworkName: string): string {
  return hashedNames.get(vmNetworkName, hashedName);
}

/** The renderer hashes every claim's interface name per element of every launcher pod: kept per name. */
const hashedNames = new TextMemo<string>(4096, 253);

function hashedName(vmNetworkName: string): string {
  return `pod${createHash("sha256").update(vmNetworkName).digest("hex").slice(0, 11)}`;
}

/**
 * Sets "ips" and "mac" on every element whose network matches a bound claim's spec.network.
 * An element is matched to the claim of its interface when its pod interface name is KubeVirt's
 * hashed name of the claim's interface; otherwise to the next unused claim of its network.
 * Elements whose network is pool-backed (some claim is on it, or it is in poolBackedNetworks)
 * but have no bound claim are reported in `missing`. Every other field and the order are kept;
 * a short-form annotation is rewritten as JSON only when an element changes.
 */
export function renderLauncherNetworks(
  annotationValue: string,
  podNamespace: string,
  claims: ClaimLike[],
  poolBackedNetworks: ReadonlySet<string> = new Set(),
  defaultRoutes: ReadonlyMap<string, string> = new Map(),
): RenderedNetworks {
  const parsed = parseElements(annotationValue);
  if ("error" in parsed) return { value: annotationValue, changed: false, missing: [], error: parsed.error };
  const matcher = new ClaimMatcher(claims);
  const missing: string[] = [];
  let changed = false;
  const elements = parsed.elements.map(el => {
    if (!isRecord(el) || typeof el.name !== "string") return el;
    const network = `${typeof el.namespace === "string" && el.namespace !== "" ? el.namespace : podNamespace}/${el.name}`;
    const claim = matcher.take(network, el.interface);
    if (!claim || !isClaimBound(claim)) {
      if (claim || matcher.knows(network) || poolBackedNetworks.has(network)) missing.push(network);
      return el;
    }
    const next = withAddresses(el, claim, defaultRouteOf(claim, defaultRoutes));
    changed ||= next !== el;
    return next;
  });
  return { value: changed ? JSON.stringify(elements) : annotationValue, changed, missing };
}

/**
 * The gateways of the claim's pools that are to be the NIC's default route (the caller maps a
 * pool name to its gateway for pools with spec.defaultRoute), one per IP family.
 */
function defaultRouteOf(claim: ClaimLike, defaultRoutes: ReadonlyMap<string, string>): string[] {
  const pools = Array.isArray(claim.spec?.pools) && claim.spec.pools.length ? claim.spec.pools : claim.spec?.pool ? [claim.spec.pool] : [];
  return pools.map(p => defaultRoutes.get(p)).filter((g): g is string => g !== undefined);
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The element with the claim's addresses and MAC, the MAC again as "cni-args" (exactly
 * {"mac": ...}: KubeVirt writes no cni-args, and any other key there would reach static IPAM
 * as args.cni, which may carry addresses), and "default-route" when a pool asks for it. The same
 * object when nothing changes, so the validating check can compare.
 */
function withAddresses(el: Record<string, unknown>, claim: ClaimLike, gateways: string[]): Record<string, unknown> {
  const want: Record<string, unknown> = { ips: [...(claim.status?.addresses ?? [])] };
  const mac = claim.status?.mac;
  if (mac !== undefined) {
    want.mac = mac;
    want[CNI_ARGS_KEY] = { mac };
  }
  if (gateways.length) want[DEFAULT_ROUTE_KEY] = gateways;
  if (Object.entries(want).every(([k, v]) => sameJson(el[k], v))) return el;
  return { ...el, ...want };
}

/** Matches a pod's network elements to a VM's claims: by KubeVirt's hashed interface name, else the next unused claim of the network. */
export class ClaimMatcher {
  private readonly byNetwork = new Map<string, ClaimLike[]>();
  private readonly used = new Set<ClaimLike>();

  constructor(claims: ClaimLike[]) {
    for (const c of Array.isArray(claims) ? claims : []) {
      const network = isRecord(c) && isRecord(c.spec) ? c.spec.network : undefined;
      if (typeof network !== "string") continue;
      this.byNetwork.set(network, [...(this.byNetwork.get(network) ?? []), c]);
    }
  }

  knows(network: string): boolean {
    return this.byNetwork.has(network);
  }

  take(network: string, podInterface: unknown): ClaimLike | undefined {
    const candidates = (this.byNetwork.get(network) ?? []).filter(c => !this.used.has(c));
    const byName = candidates.find(c => typeof c.spec?.interface === "string" && launcherInterfaceName(c.spec.interface) === podInterface);
    const claim = byName ?? candidates.find(c => !this.hashedNameTaken(c, podInterface));
    if (claim) this.used.add(claim);
    return claim;
  }

  /** A claim whose hashed interface name is some other element's must not be taken by position. */
  private hashedNameTaken(c: ClaimLike, podInterface: unknown): boolean {
    return (
      typeof podInterface === "string" &&
      podInterface.startsWith("pod") &&
      typeof c.spec?.interface === "string" &&
      launcherInterfaceName(c.spec.interface) !== podInterface
    );
  }
}

type Parsed = { elements: unknown[]; shortForm: boolean } | { error: string };

/** Reads the annotation: a JSON list of elements, or the short form "ns/name@if, name". */
export function parseElements(value: unknown): Parsed {
  if (typeof value !== "string") return { error: "the annotation is not a string" };
  const text = value.trim();
  if (text === "") return { elements: [], shortForm: false };
  if (text.startsWith("[") || text.startsWith("{")) {
    const json = parseJson(text);
    if (!json.ok) return { error: `the annotation is not valid JSON: ${json.message} at offset ${json.position}` };
    if (!Array.isArray(json.value)) return { error: "the annotation is JSON but not a list of network selection elements" };
    return { elements: json.value, shortForm: false };
  }
  const elements: NetworkSelectionElement[] = [];
  for (const item of text
    .split(",")
    .map(s => s.trim())
    .filter(s => s !== "")) {
    const el = shortElement(item);
    if (!el)
      return { error: `the annotation element ${JSON.stringify(item)} is not "name", "namespace/name" or "namespace/name@interface"` };
    elements.push(el);
  }
  return { elements, shortForm: true };
}

function shortElement(item: string): NetworkSelectionElement | undefined {
  const m = /^(?:([^/@\s]+)\/)?([^/@\s]+)(?:@([^/@\s]+))?$/.exec(item);
  if (!m) return undefined;
  const el: NetworkSelectionElement = { name: m[2] };
  if (m[1] !== undefined) el.namespace = m[1];
  if (m[3] !== undefined) el.interface = m[3];
  return el;
}

function labelsOf(pod: unknown): Record<string, unknown> {
  const meta = isRecord(pod) && isRecord(pod.metadata) ? pod.metadata : {};
  return isRecord(meta.labels) ? meta.labels : {};
}
