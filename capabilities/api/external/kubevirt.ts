// Hand-written: the parts of KubeVirt's kinds that vmnet-operator reads. Their CRDs keep unknown
// fields, so everything else passes through untouched. Field names follow kubevirt.io/v1.
import { GenericKind, RegisterKind } from "kubernetes-fluent-client";

export interface Port {
  name?: string;
  port: number;
  protocol?: string;
}

export interface Interface {
  name: string;
  bridge?: Record<string, unknown>;
  masquerade?: Record<string, unknown>;
  sriov?: Record<string, unknown>;
  macAddress?: string;
  ports?: Port[];
  [binding: string]: unknown;
}

export interface Network {
  name: string;
  pod?: { vmNetworkCIDR?: string };
  multus?: { networkName: string; default?: boolean };
}

export interface VMISpec {
  domain?: { devices?: { interfaces?: Interface[] } };
  networks?: Network[];
  [key: string]: unknown;
}

export class VirtualMachine extends GenericKind {
  spec?: {
    runStrategy?: string;
    running?: boolean;
    template?: { metadata?: Record<string, unknown>; spec?: VMISpec };
    [key: string]: unknown;
  };
  status?: { printableStatus?: string; ready?: boolean; [key: string]: unknown };
}

export class VirtualMachineInstance extends GenericKind {
  spec?: VMISpec;
  status?: {
    phase?: string;
    nodeName?: string;
    interfaces?: { name?: string; ipAddress?: string; ipAddresses?: string[]; mac?: string }[];
    migrationState?: Record<string, unknown>;
    [key: string]: unknown;
  };
}

export class VirtualMachineInstanceMigration extends GenericKind {
  spec?: { vmiName: string };
  status?: { phase?: string; [key: string]: unknown };
}

RegisterKind(VirtualMachine, { group: "kubevirt.io", version: "v1", kind: "VirtualMachine", plural: "virtualmachines" });
RegisterKind(VirtualMachineInstance, {
  group: "kubevirt.io",
  version: "v1",
  kind: "VirtualMachineInstance",
  plural: "virtualmachineinstances",
});
RegisterKind(VirtualMachineInstanceMigration, {
  group: "kubevirt.io",
  version: "v1",
  kind: "VirtualMachineInstanceMigration",
  plural: "virtualmachineinstancemigrations",
});

/**
 * The binding of an interface: which of KubeVirt's mutually exclusive binding keys it sets. The
 * first five are the ones KubeVirt counts (one of them per interface); slirp, passt and macvtap
 * were discontinued in KubeVirt v1.3 and are refused on create.
 */
export const BINDINGS = ["bridge", "masquerade", "sriov", "passtBinding", "binding", "slirp", "passt", "macvtap"] as const;

/** One VM NIC joined with its network, the view that admission and the controllers reason about. */
export interface Nic {
  interface: string;
  bindings: string[];
  macAddress?: string;
  ports?: Port[];
  /** "pod" for the pod network, "multus" for a Multus network, undefined when no network matches. */
  networkKind?: "pod" | "multus";
  /** The Multus network as written in the VM, "name" or "namespace/name". */
  networkName?: string;
}

/** Joins the VM template's interfaces with its networks by name. */
export function vmNics(spec: VMISpec | undefined): Nic[] {
  const networks = new Map((spec?.networks ?? []).map(n => [n.name, n]));
  return (spec?.domain?.devices?.interfaces ?? []).map(iface => {
    const net = networks.get(iface.name);
    return {
      interface: iface.name,
      bindings: BINDINGS.filter(b => iface[b] !== undefined),
      macAddress: iface.macAddress,
      ports: iface.ports,
      networkKind: net?.pod ? "pod" : net?.multus ? "multus" : undefined,
      networkName: net?.multus?.networkName,
    };
  });
}
