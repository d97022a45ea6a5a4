// A VM's NICs: the one model that admission, the controllers, explain and the audit read, with
// KubeVirt's interface bindings in one list. Interfaces are joined with their networks by name and
// read defensively, since any field may have any type in a malformed request, or in a VM written
// while the webhook was down. Pure.
import type { Port, VirtualMachine } from "../api/external/kubevirt";
import { Findings, isRecord, present, typeName } from "./findings";
import { NetworkRef, parseNetworkRef, qualifyNetwork } from "./names";

/** The binding keys KubeVirt counts (kubevirt.io/v1 Interface): an interface sets exactly one of them. */
export const BINDING_METHODS = ["bridge", "masquerade", "sriov", "passtBinding", "binding"] as const;

/** Bindings KubeVirt discontinued in v1.3 (refused on create), with what to use instead. */
export const DISCONTINUED_BINDINGS = {
  slirp: "use masquerade: {} or passtBinding: {} on the pod network",
  passt: "use passtBinding: {}, KubeVirt's core passt binding",
  macvtap: 'use binding: {name: "macvtap"} with the macvtap network binding plugin registered in the KubeVirt CR',
} as const;

export type BindingMethod = (typeof BINDING_METHODS)[number];
export type DiscontinuedBinding = keyof typeof DISCONTINUED_BINDINGS;
export type Binding = BindingMethod | DiscontinuedBinding;

/** Every interface binding key, the counted ones first: the one list all layers read. */
export const BINDINGS: readonly Binding[] = [...BINDING_METHODS, ...(Object.keys(DISCONTINUED_BINDINGS) as DiscontinuedBinding[])];

/** Bindings KubeVirt allows on the pod network only. */
export const POD_ONLY_BINDINGS: readonly BindingMethod[] = ["masquerade", "passtBinding"];

export const isDiscontinued = (b: Binding): b is DiscontinuedBinding => b in DISCONTINUED_BINDINGS;
export const isBindingMethod = (b: Binding): b is BindingMethod => !isDiscontinued(b);

export const TEMPLATE = "spec.template.spec";
export const INTERFACES = `${TEMPLATE}.domain.devices.interfaces`;
export const NETWORKS = `${TEMPLATE}.networks`;

/** One entry of spec.template.spec.networks. */
export interface NetEntry {
  index: number;
  /** JSON path, such as spec.template.spec.networks[1]. */
  path: string;
  raw: Record<string, unknown>;
  name: string;
  /** Set when exactly one of pod and multus is. */
  kind?: "pod" | "multus";
  /** For a Multus network: multus.networkName as written, when a string. */
  networkName?: string;
  /**
   * For a Multus network: networkName made absolute against the VM's namespace (qualifyNetwork, no
   * validation), the network as the controllers key claims by; undefined when it names nothing.
   */
  qualified?: string;
  /** For a Multus network: networkName parsed and validated (namespace defaulted to the VM's). */
  ref?: NetworkRef;
}

/** One VM NIC: an entry of spec.template.spec.domain.devices.interfaces with its network. */
export interface IfaceEntry {
  index: number;
  /** JSON path, such as spec.template.spec.domain.devices.interfaces[1]. */
  path: string;
  raw: Record<string, unknown>;
  name: string;
  /** The binding keys it sets, in the order of BINDINGS. */
  bindings: Binding[];
  network?: NetEntry;
  /** macAddress as written, when a string. */
  macAddress?: string;
}

export interface VmNics {
  ifaces: IfaceEntry[];
  nets: NetEntry[];
}

/**
 * Reads the NICs of a VMI spec (spec.template.spec) in `namespace`. Entries that are no object or
 * have no name are left out and denied into `out`, as are interface and network lists that are no list.
 */
export function readNics(spec: Record<string, unknown>, namespace: string, out: Findings): VmNics {
  const nets = list(spec.networks, NETWORKS, out).map(named => netEntry(named, namespace));
  const netByName = firstByName(nets);
  const devices = record(record(spec.domain).devices);
  const ifaces = list(devices.interfaces, INTERFACES, out).map(named => ifaceEntry(named, netByName));
  return { ifaces, nets };
}

/** The NICs of a VM, for readers that only act on them (the admission rules report the malformed). */
export function vmNics(vm: VirtualMachine | unknown): IfaceEntry[] {
  const root = record(vm);
  const spec = record(record(record(root.spec).template).spec);
  return readNics(spec, vmNamespace(root.metadata), new Findings()).ifaces;
}

/** The VM's namespace, "default" when it names none. */
export function vmNamespace(metadata: unknown): string {
  const ns = record(metadata).namespace;
  return typeof ns === "string" && ns !== "" ? ns : "default";
}

/** The one binding an interface sets, or undefined when it sets none or several. */
export function soleBinding(nic: IfaceEntry): Binding | undefined {
  return nic.bindings.length === 1 ? nic.bindings[0] : undefined;
}

/** The NIC's Multus network "namespace/name" when its name is valid. */
export function multusNetwork(nic: IfaceEntry): string | undefined {
  const ref = nic.network?.kind === "multus" ? nic.network.ref : undefined;
  return ref && !("error" in ref) ? ref.qualified : undefined;
}

/** The ports a NIC lists that name a port number (the Service of vmnet.io/expose lists these). */
export function nicPorts(nic: IfaceEntry): Port[] {
  const ports: unknown[] = Array.isArray(nic.raw.ports) ? nic.raw.ports : [];
  return ports.filter((p): p is Port => isRecord(p) && typeof p.port === "number");
}

/** A bridge NIC of a VM on a Multus network, the unit that gets an IPClaim. */
export interface BridgeNic {
  interface: string;
  network: string;
  macAddress?: string;
}

/** Only a NIC whose one binding is bridge, on a Multus network, gets an address from a pool. */
export function isBridgeNic(nic: IfaceEntry): boolean {
  return soleBinding(nic) === "bridge" && nic.network?.qualified !== undefined;
}

/** The VM's NICs that get an IPClaim. */
export function bridgeNics(vm: VirtualMachine | unknown): BridgeNic[] {
  return vmNics(vm).flatMap(n => {
    const network = n.network?.qualified;
    return isBridgeNic(n) && network !== undefined ? [{ interface: n.name, network, macAddress: n.macAddress }] : [];
  });
}

/** A list entry that is an object with a name, and its index. */
interface Named {
  raw: Record<string, unknown>;
  index: number;
  name: string;
}

function netEntry({ raw, index, name }: Named, namespace: string): NetEntry {
  const entry: NetEntry = { index, path: `${NETWORKS}[${index}]`, raw, name };
  if (present(raw.pod) && !present(raw.multus)) entry.kind = "pod";
  if (present(raw.multus) && !present(raw.pod)) {
    const networkName = record(raw.multus).networkName;
    entry.kind = "multus";
    entry.ref = parseNetworkRef(networkName, namespace);
    if (typeof networkName === "string") entry.networkName = networkName;
    if (typeof networkName === "string" && networkName !== "") entry.qualified = qualifyNetwork(networkName, namespace);
  }
  return entry;
}

function ifaceEntry({ raw, index, name }: Named, nets: Map<string, NetEntry>): IfaceEntry {
  return {
    index,
    path: `${INTERFACES}[${index}]`,
    raw,
    name,
    bindings: BINDINGS.filter(b => present(raw[b])),
    network: nets.get(name),
    ...(typeof raw.macAddress === "string" ? { macAddress: raw.macAddress } : {}),
  };
}

/** The elements of a list field that are objects with a name, with their index; other shapes are denied. */
function list(x: unknown, path: string, out: Findings): Named[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) {
    out.deny(path, x, `must be a list, not ${typeName(x)}`);
    return [];
  }
  const items: Named[] = [];
  x.forEach((item, index) => {
    const name = isRecord(item) ? nameOf(item) : undefined;
    if (!isRecord(item)) out.deny(`${path}[${index}]`, item, `must be an object with a name, not ${typeName(item)}`);
    else if (name === undefined) out.deny(`${path}[${index}].name`, item.name, "must be a non-empty string naming the entry");
    else items.push({ raw: item, index, name });
  });
  return items;
}

/** Entries by name; the first of a repeated name (KubeVirt refuses repeats, vmContext says so). */
export function firstByName<T extends { name: string }>(entries: T[]): Map<string, T> {
  const byName = new Map<string, T>();
  for (const e of entries) if (!byName.has(e.name)) byName.set(e.name, e);
  return byName;
}

function nameOf(raw: Record<string, unknown>): string | undefined {
  return typeof raw.name === "string" && raw.name !== "" ? raw.name : undefined;
}

function record(x: unknown): Record<string, unknown> {
  return isRecord(x) ? x : {};
}
