// The shapes the simulator reads and writes, as plain JSON (timestamps are strings), and the
// label and annotation keys KubeVirt and Multus use. Only the fields the simulator touches are
// typed; the CRDs keep everything else.
import type { VMISpec } from "../../capabilities/api/external/kubevirt";
import type { KubeObject } from "../../capabilities/k8s/client";

export const LAUNCHER_IMAGE = "quay.io/kubevirt/virt-launcher:sim";
export const NODES = ["sim-node-1", "sim-node-2"] as const;
/** The name Multus reports for the cluster network in network-status. */
export const POD_NETWORK_NAME = "sim-pod-network";

export const Label = {
  app: "kubevirt.io",
  createdBy: "kubevirt.io/created-by",
  vmName: "vm.kubevirt.io/name",
  migrationJobUID: "kubevirt.io/migrationJobUID",
  nodeName: "kubevirt.io/nodeName",
} as const;

export const Annotation = {
  networks: "k8s.v1.cni.cncf.io/networks",
  networkStatus: "k8s.v1.cni.cncf.io/network-status",
  defaultNetwork: "v1.multus-cni.io/default-network",
  domain: "kubevirt.io/domain",
  defaultContainer: "kubectl.kubernetes.io/default-container",
  migrationJobName: "kubevirt.io/migrationJobName",
  allowPodBridgeMigration: "kubevirt.io/allow-pod-bridge-network-live-migration",
  /** Ours, not KubeVirt's: a migration carrying it fails after TargetReady. */
  simFail: "vmnet.io/sim-fail",
} as const;

export const MIGRATION_PHASES = ["Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running", "Succeeded"] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number] | "Failed";

export interface Condition {
  type: string;
  status: "True" | "False";
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}

export interface VmSpec {
  runStrategy?: string;
  running?: boolean;
  template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: VMISpec };
  [key: string]: unknown;
}

export interface SimVm extends KubeObject {
  spec?: VmSpec;
  status?: Record<string, unknown> & { conditions?: Condition[] };
}

export interface VmiInterfaceStatus {
  name: string;
  mac?: string;
  ipAddress?: string;
  ipAddresses?: string[];
  podInterfaceName?: string;
  infoSource?: string;
  queueCount?: number;
}

export interface MigrationState {
  migrationUid?: string;
  sourceNode?: string;
  sourcePod?: string;
  targetNode?: string;
  targetPod?: string;
  mode?: string;
  startTimestamp?: string;
  endTimestamp?: string;
  targetNodeDomainReadyTimestamp?: string;
  completed?: boolean;
  failed?: boolean;
  failureReason?: string;
}

export interface VmiStatus {
  phase?: string;
  nodeName?: string;
  activePods?: Record<string, string>;
  interfaces?: VmiInterfaceStatus[];
  conditions?: Condition[];
  migrationState?: MigrationState;
  [key: string]: unknown;
}

export interface SimVmi extends KubeObject {
  spec?: VMISpec & { hostname?: string };
  status?: VmiStatus;
}

export interface PodStatus {
  phase?: string;
  podIP?: string;
  conditions?: Condition[];
  [key: string]: unknown;
}

export interface SimPod extends KubeObject {
  spec?: Record<string, unknown>;
  status?: PodStatus;
}

export interface VmimStatus {
  phase?: MigrationPhase;
  phaseTransitionTimestamps?: { phase: string; phaseTransitionTimestamp: string }[];
  migrationState?: MigrationState;
  conditions?: Condition[];
}

export interface SimVmim extends KubeObject {
  spec?: { vmiName?: string };
  status?: VmimStatus;
}

/** One element of the k8s.v1.cni.cncf.io/networks annotation (Multus NetworkSelectionElement). */
export interface NetworkSelectionElement {
  name: string;
  namespace?: string;
  ips?: string[];
  mac?: string;
  interface?: string;
  [key: string]: unknown;
}
