// Pure renderers: what virt-controller (and, for pod status, kubelet and Multus) would make of an
// object. Plain data in, plain data out; the reconcilers beside this file do the I/O.
import { createHash } from "node:crypto";
import type { Interface, Network } from "../../capabilities/api/external/kubevirt";
import type { ObjectMeta } from "../../capabilities/k8s/client";
import {
  Annotation,
  Condition,
  Label,
  LAUNCHER_IMAGE,
  NetworkSelectionElement,
  NODES,
  PodStatus,
  POD_NETWORK_NAME,
  SimPod,
  SimVm,
  SimVmi,
  VmiInterfaceStatus,
  VmiStatus,
} from "./types";

const sha256 = (text: string): Buffer => createHash("sha256").update(text).digest();

/**
 * KubeVirt's pod interface name for a secondary Multus network (pkg/network/namescheme,
 * GenerateHashedInterfaceName): "pod" + the first 11 hex characters of sha256 of the VMI
 * network's name, i.e. spec.networks[].name, not the NAD's name.
 */
export function hashedInterfaceName(vmiNetworkName: string): string {
  return `pod${sha256(vmiNetworkName).toString("hex").slice(0, 11)}`;
}

/** KubeVirt's vmispec.IsSecondaryMultusNetwork: a Multus network that is not the default one. */
export const isSecondaryMultus = (n: Network): boolean => n.multus !== undefined && n.multus.default !== true;

/** "ns/name" or "name" as written in a VMI, split against the VMI's namespace. */
export function nadRef(networkName: string, vmiNamespace: string): { namespace: string; name: string } {
  const slash = networkName.indexOf("/");
  return slash < 0
    ? { namespace: vmiNamespace, name: networkName }
    : { namespace: networkName.slice(0, slash), name: networkName.slice(slash + 1) };
}

// ---------------------------------------------------------------------------------------------
// Run strategy

export interface RunDecision {
  /** start: create a VMI when there is none; stop: delete it; leave: do neither. */
  action: "start" | "stop" | "leave";
  /** Which finished phases of an existing VMI make the VM start a new one. */
  restartOn: string[];
}

/** What spec.runStrategy (or the older spec.running) asks of the VM's VMI. */
export function runDecision(vm: SimVm): RunDecision {
  const strategy = vm.spec?.runStrategy ?? (vm.spec?.running === true ? "Always" : "Halted");
  switch (strategy) {
    case "Always":
      return { action: "start", restartOn: ["Failed", "Succeeded"] };
    case "RerunOnFailure":
      return { action: "start", restartOn: ["Failed"] };
    case "Once":
      return { action: "start", restartOn: [] };
    case "Manual":
      return { action: "leave", restartOn: [] };
    default:
      return { action: "stop", restartOn: [] };
  }
}

export const isFinished = (vmi: SimVmi): boolean => vmi.status?.phase === "Failed" || vmi.status?.phase === "Succeeded";

/** The VMI was made by this VM (and not by an earlier VM of the same name). */
export function ownedBy(obj: { metadata?: ObjectMeta }, owner: { metadata?: ObjectMeta }): boolean {
  return (obj.metadata?.ownerReferences ?? []).some(r => r.controller === true && r.uid === owner.metadata?.uid);
}

export const controllerRef = (obj: { metadata?: ObjectMeta }, kind: string): { name: string; uid: string } | undefined =>
  (obj.metadata?.ownerReferences ?? []).find(r => r.controller === true && r.kind === kind);

// ---------------------------------------------------------------------------------------------
// VMI and launcher pod

/** The VMI a VM's template describes, owned by the VM. */
export function renderVmi(vm: SimVm): SimVmi {
  const meta = vm.metadata ?? {};
  const template = vm.spec?.template ?? {};
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachineInstance",
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      labels: { ...(template.metadata?.labels ?? {}) },
      annotations: {
        ...(template.metadata?.annotations ?? {}),
        "kubevirt.io/latest-observed-api-version": "v1",
        "kubevirt.io/storage-observed-api-version": "v1",
      },
      ownerReferences: [
        {
          apiVersion: "kubevirt.io/v1",
          kind: "VirtualMachine",
          name: String(meta.name),
          uid: String(meta.uid),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: structuredClone(template.spec ?? {}),
    // The VMI kind has no status subresource, so a status sent on create is kept.
    status: { phase: "Pending" },
  };
}

/**
 * The k8s.v1.cni.cncf.io/networks elements for a VMI (pkg/network/multus, GenerateCNIAnnotation):
 * one per secondary Multus network, in spec.networks order, with the interface's macAddress.
 * Keys are in the order Go's encoder writes them: name, namespace, mac, interface.
 */
export function networkSelection(vmi: SimVmi): NetworkSelectionElement[] {
  const namespace = String(vmi.metadata?.namespace);
  const interfaces = vmi.spec?.domain?.devices?.interfaces ?? [];
  return (vmi.spec?.networks ?? []).filter(isSecondaryMultus).map(net => {
    const ref = nadRef(net.multus?.networkName ?? "", namespace);
    const mac = interfaces.find(i => i.name === net.name)?.macAddress;
    return { name: ref.name, namespace: ref.namespace, ...(mac ? { mac } : {}), interface: hashedInterfaceName(net.name) };
  });
}

/** KubeVirt's dns.SanitizeHostname: the pod's vm.kubevirt.io/name label is this, not the VM's name. */
export function launcherHostname(vmi: SimVmi): string {
  return vmi.spec?.hostname || String(vmi.metadata?.name).split(".")[0].slice(0, 63);
}

export interface MigrationTarget {
  uid: string;
  name: string;
}

/** The virt-launcher pod for a VMI (pkg/virt-controller/services/template.go, much reduced). */
export function renderLauncherPod(vmi: SimVmi, migration?: MigrationTarget, realImage?: string): SimPod {
  const meta = vmi.metadata ?? {};
  const name = String(meta.name);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      // As KubeVirt does: the API server appends 5 random characters.
      generateName: `virt-launcher-${name}-`,
      namespace: meta.namespace,
      labels: launcherLabels(vmi, migration),
      annotations: launcherAnnotations(vmi, migration),
      ownerReferences: [
        {
          apiVersion: "kubevirt.io/v1",
          kind: "VirtualMachineInstance",
          name,
          uid: String(meta.uid),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      // On a real node the container runs `realImage` (imported, never pulled) as it is.
      containers: [
        realImage
          ? { name: "compute", image: realImage, imagePullPolicy: "Never" }
          : { name: "compute", image: LAUNCHER_IMAGE, command: ["/usr/bin/virt-launcher-monitor"] },
      ],
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      hostname: launcherHostname(vmi),
      nodeSelector: { "kubevirt.io/schedulable": "true" },
      terminationGracePeriodSeconds: 30,
    },
  };
}

/** The VMI's labels plus KubeVirt's own; a migration target also carries the migration's uid. */
function launcherLabels(vmi: SimVmi, migration?: MigrationTarget): Record<string, string> {
  const labels: Record<string, string> = {
    ...(vmi.metadata?.labels ?? {}),
    [Label.app]: "virt-launcher",
    [Label.createdBy]: String(vmi.metadata?.uid),
    [Label.vmName]: launcherHostname(vmi),
  };
  if (migration) labels[Label.migrationJobUID] = migration.uid;
  return labels;
}

function launcherAnnotations(vmi: SimVmi, migration?: MigrationTarget): Record<string, string> {
  const annotations: Record<string, string> = { [Annotation.domain]: String(vmi.metadata?.name), [Annotation.defaultContainer]: "compute" };
  const elements = networkSelection(vmi);
  if (elements.length > 0) annotations[Annotation.networks] = JSON.stringify(elements);
  const defaultMultus = (vmi.spec?.networks ?? []).find(n => n.multus?.default === true)?.multus;
  if (defaultMultus) annotations[Annotation.defaultNetwork] = defaultMultus.networkName;
  if (migration) annotations[Annotation.migrationJobName] = migration.name;
  return annotations;
}

export const isMigrationTarget = (pod: SimPod): boolean => pod.metadata?.labels?.[Label.migrationJobUID] !== undefined;

// ---------------------------------------------------------------------------------------------
// Fake addresses: derived from uids so a retried write computes the same value.

/** A pod-network IP in 10.244.0.0/16 for a pod. */
export function fakePodIp(podUid: string): string {
  const h = sha256(`ip/${podUid}`);
  return `10.244.${h[0]}.${1 + (h[1] % 254)}`;
}

/** A locally administered unicast MAC, as libvirt would pick one when the spec names none. */
export function fakeMac(seed: string): string {
  const h = sha256(`mac/${seed}`);
  return ["02", ...[...h.subarray(0, 5)].map(b => b.toString(16).padStart(2, "0"))].join(":");
}

export const stripPrefix = (cidr: string): string => cidr.split("/")[0];

/** Reads a pod's networks annotation; anything unreadable counts as no elements. */
export function podNetworkElements(pod: SimPod): NetworkSelectionElement[] {
  const raw = pod.metadata?.annotations?.[Annotation.networks];
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed)
      ? parsed.filter((e): e is NetworkSelectionElement => typeof e === "object" && e !== null && typeof e.name === "string")
      : [];
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Pod: what kubelet and Multus would report

/** Multus's k8s.v1.cni.cncf.io/network-status for a pod, from its (possibly mutated) annotation. */
export function networkStatus(pod: SimPod, podIp: string): Record<string, unknown>[] {
  const uid = String(pod.metadata?.uid);
  const primary = { name: POD_NETWORK_NAME, interface: "eth0", ips: [podIp], mac: fakeMac(`${uid}/eth0`), default: true, dns: {} };
  const secondary = podNetworkElements(pod).map(el => ({
    name: `${el.namespace ?? pod.metadata?.namespace}/${el.name}`,
    interface: el.interface,
    ...(el.ips?.length ? { ips: el.ips.map(stripPrefix) } : {}),
    mac: el.mac ?? fakeMac(`${uid}/${el.interface}`),
    dns: {},
  }));
  return [primary, ...secondary];
}

/** A running pod's status, as kubelet would write it (no node: see README). */
export function runningPodStatus(pod: SimPod, now: string): PodStatus {
  const podIP = fakePodIp(String(pod.metadata?.uid));
  const ready = (type: string): Condition => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: now });
  return {
    phase: "Running",
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: now,
    conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map(ready),
    containerStatuses: [
      {
        name: "compute",
        image: LAUNCHER_IMAGE,
        imageID: "",
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
      },
    ],
  };
}

export const isPodRunning = (pod: SimPod): boolean => pod.status?.phase === "Running" && Boolean(pod.status.podIP);
export const isPodFinished = (pod: SimPod): boolean => pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded";
/** The node the scheduler bound a pod to (none without a real node). */
export const podNode = (pod: SimPod): string | undefined => (typeof pod.spec?.nodeName === "string" ? pod.spec.nodeName : undefined);

// ---------------------------------------------------------------------------------------------
// VMI status

/**
 * status.interfaces of a VMI running in `pod`: pod-network NICs get the pod IP; Multus NICs get
 * the ips (without prefix length) and mac of their element in the pod's networks annotation,
 * which is where the operator's webhook puts the fixed address. Without a mac there, the spec's
 * macAddress, else one fixed per VMI and NIC (the domain's MAC survives migration).
 */
export function vmiInterfaces(vmi: SimVmi, pod: SimPod): VmiInterfaceStatus[] {
  const networks = new Map((vmi.spec?.networks ?? []).map(n => [n.name, n]));
  const elements = podNetworkElements(pod);
  const out: VmiInterfaceStatus[] = [];
  for (const iface of vmi.spec?.domain?.devices?.interfaces ?? []) {
    const net = networks.get(iface.name);
    if (net) out.push(interfaceStatus(vmi, pod, iface, net, elements));
  }
  return out;
}

function interfaceStatus(
  vmi: SimVmi,
  pod: SimPod,
  iface: Interface,
  net: Network,
  elements: NetworkSelectionElement[],
): VmiInterfaceStatus {
  const fallbackMac = iface.macAddress ?? fakeMac(`${vmi.metadata?.uid}/${iface.name}`);
  if (!isSecondaryMultus(net)) {
    const ip = pod.status?.podIP;
    return {
      name: iface.name,
      mac: fallbackMac,
      ...addresses(ip ? [ip] : []),
      podInterfaceName: "eth0",
      infoSource: "domain",
      queueCount: 1,
    };
  }
  const podInterfaceName = hashedInterfaceName(net.name);
  const el = elements.find(e => e.interface === podInterfaceName);
  const ips = Array.isArray(el?.ips) ? el.ips.map(stripPrefix) : [];
  return {
    name: iface.name,
    mac: el?.mac ?? fallbackMac,
    ...addresses(ips),
    podInterfaceName,
    infoSource: "domain, multus-status",
    queueCount: 1,
  };
}

const addresses = (ips: string[]): Pick<VmiInterfaceStatus, "ipAddress" | "ipAddresses"> =>
  ips.length ? { ipAddress: ips[0], ipAddresses: ips } : {};

/**
 * KubeVirt's LiveMigratable condition, for the one reason a VM without disks can have:
 * a bridge binding on the pod network, unless the VMI allows it by annotation.
 */
export function liveMigratable(vmi: SimVmi): { ok: boolean; message?: string } {
  if (vmi.metadata?.annotations?.[Annotation.allowPodBridgeMigration] !== undefined) return { ok: true };
  const podNets = new Set((vmi.spec?.networks ?? []).filter(n => n.pod !== undefined || n.multus?.default === true).map(n => n.name));
  const bad = (vmi.spec?.domain?.devices?.interfaces ?? []).find(i => i.bridge !== undefined && podNets.has(i.name));
  return bad
    ? {
        ok: false,
        message: `cannot migrate VMI which does not use masquerade, bridge with ${Annotation.allowPodBridgeMigration} VM annotation or a migratable plugin to connect to the pod network`,
      }
    : { ok: true };
}

/** Keeps a condition's lastTransitionTime while its status stays the same. */
export function condition(
  existing: Condition[] | undefined,
  type: string,
  ok: boolean,
  now: string,
  reason?: string,
  message?: string,
): Condition {
  const status = ok ? "True" : "False";
  const prev = existing?.find(c => c.type === type);
  return {
    type,
    status,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    // No lastProbeTime: null here: the API server prunes nulls from these CRDs, and a field that
    // never sticks would make every comparison differ and every resync write.
    lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
  };
}

/** The status of a VMI whose active launcher pod is `pod`, on `node`. */
export function runningVmiStatus(
  vmi: SimVmi,
  pod: SimPod,
  node: string,
  now: string,
): Required<Pick<VmiStatus, "phase" | "nodeName" | "activePods" | "interfaces" | "conditions">> {
  const migratable = liveMigratable(vmi);
  const existing = vmi.status?.conditions;
  return {
    phase: "Running",
    nodeName: node,
    activePods: { [String(pod.metadata?.uid)]: node },
    interfaces: vmiInterfaces(vmi, pod),
    conditions: [
      condition(existing, "Ready", true, now),
      condition(
        existing,
        "LiveMigratable",
        migratable.ok,
        now,
        migratable.ok ? undefined : "InterfaceNotLiveMigratable",
        migratable.message,
      ),
    ],
  };
}

/** The other simulated node: migrations alternate between the two. */
export const otherNode = (node: string | undefined): string => (node === NODES[0] ? NODES[1] : NODES[0]);

// ---------------------------------------------------------------------------------------------
// VM status

export function vmStatus(vm: SimVm, vmi: SimVmi | undefined, now: string): Record<string, unknown> {
  const created = vmi !== undefined && !vmi.metadata?.deletionTimestamp;
  const ready = created && isVmiReady(vmi);
  const reason = ready ? undefined : created ? "PodNotReady" : "VMINotExists";
  const generation = vm.metadata?.generation;
  return {
    printableStatus: printableStatus(vm, vmi),
    created,
    ready,
    conditions: [condition(vm.status?.conditions, "Ready", ready, now, reason)],
    observedGeneration: generation,
    desiredGeneration: generation,
  };
}

const isVmiReady = (vmi: SimVmi): boolean => {
  const status = vmi.status ?? {};
  return status.phase === "Running" && (status.conditions ?? []).some(c => c.type === "Ready" && c.status === "True");
};

function printableStatus(vm: SimVm, vmi: SimVmi | undefined): string {
  if (vm.metadata?.deletionTimestamp) return "Terminating";
  if (!vmi) return "Stopped";
  if (vmi.metadata?.deletionTimestamp) return "Stopping";
  const status = vmi.status ?? {};
  if (status.phase === "Running") return status.migrationState && !status.migrationState.completed ? "Migrating" : "Running";
  return isFinished(vmi) ? "Stopped" : "Starting";
}

// ---------------------------------------------------------------------------------------------
// Helpers for writing only what changed

/** JSON with sorted keys, so two renderings compare equal whatever their key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** Whether `current` already holds every field of `desired` with the same value. */
export function holds(current: Record<string, unknown> | undefined, desired: Record<string, unknown>): boolean {
  return Object.entries(desired).every(([k, v]) => stableJson(current?.[k]) === stableJson(v));
}

/** A merge patch that turns object `from` into `to`: merge patches merge objects, so drop keys with null. */
export function replaceMap<T>(from: Record<string, unknown> | undefined, to: Record<string, T>): Record<string, T | null> {
  const patch: Record<string, T | null> = Object.fromEntries(Object.entries(to).filter(([, v]) => v !== undefined));
  for (const k of Object.keys(from ?? {})) if (!(k in patch)) patch[k] = null;
  return patch;
}
