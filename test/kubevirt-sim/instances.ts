// What virt-controller's VM and VMI controllers do, for one "namespace/name" (a VM and its VMI
// share the name): start or stop the VMI by run strategy, give it a launcher pod, play kubelet
// and Multus for that pod, and report VMI and VM status. Level-triggered: every call reads the
// objects afresh and writes only what differs, so a repeated or resynced key does no harm.
import { isAlreadyExists, isNotFound } from "../../capabilities/k8s/errors";
import { Kinds } from "../../capabilities/k8s/kinds";
import { SimApi } from "./api";
import {
  controllerRef,
  holds,
  isFinished,
  isMigrationTarget,
  isPodFinished,
  isPodRunning,
  networkStatus,
  ownedBy,
  podNode,
  renderLauncherPod,
  renderVmi,
  replaceMap,
  RunDecision,
  runDecision,
  runningPodStatus,
  runningVmiStatus,
  vmStatus,
} from "./render";
import { Annotation, Label, NODES, SimPod, SimVm, SimVmi } from "./types";

const now = (): string => new Date().toISOString();

export function splitKey(key: string): [string, string] {
  const i = key.indexOf("/");
  return [key.slice(0, i), key.slice(i + 1)];
}

export async function reconcileInstance(api: SimApi, key: string): Promise<void> {
  const [namespace, name] = splitKey(key);
  const vm = await api.get<SimVm>(Kinds.VirtualMachine, name, namespace);
  const vmi = await api.get<SimVmi>(Kinds.VirtualMachineInstance, name, namespace);
  if (!vm) return reconcileWithoutVm(api, vmi);
  const current = await converge(api, vm, vmi);
  await syncVmStatus(api, vm, current);
}

/** A VMI whose VM is gone goes too (the garbage collector would, later); a standalone VMI runs. */
async function reconcileWithoutVm(api: SimApi, vmi: SimVmi | undefined): Promise<void> {
  if (!vmi) return;
  if (controllerRef(vmi, "VirtualMachine")) return deleteVmi(api, vmi);
  if (vmi.metadata?.deletionTimestamp) return deletePods(api, vmi);
  await runVmi(api, vmi);
}

/** Brings the VMI to what the VM asks; returns the VMI as it now is (undefined: none). */
async function converge(api: SimApi, vm: SimVm, vmi: SimVmi | undefined): Promise<SimVmi | undefined> {
  const decision: RunDecision = vm.metadata?.deletionTimestamp ? { action: "stop", restartOn: [] } : runDecision(vm);
  if (vmi?.metadata?.deletionTimestamp) {
    await deletePods(api, vmi);
    return vmi;
  }
  if (vmi && mustGo(vm, vmi, decision)) {
    await deleteVmi(api, vmi);
    return undefined;
  }
  if (!vmi && decision.action === "start") vmi = await createVmi(api, vm);
  return vmi ? runVmi(api, vmi) : undefined;
}

/**
 * A VMI left by an earlier VM of the same name, a stopped VM's, or one that finished and is to be
 * restarted: it goes, and its DELETED event brings the key back to start a new one.
 */
function mustGo(vm: SimVm, vmi: SimVmi, decision: RunDecision): boolean {
  if (!ownedBy(vmi, vm) || decision.action === "stop") return true;
  return isFinished(vmi) && decision.restartOn.includes(String(vmi.status?.phase));
}

async function createVmi(api: SimApi, vm: SimVm): Promise<SimVmi | undefined> {
  try {
    return await api.create(Kinds.VirtualMachineInstance, renderVmi(vm));
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return api.get<SimVmi>(Kinds.VirtualMachineInstance, String(vm.metadata?.name), vm.metadata?.namespace);
  }
}

async function deleteVmi(api: SimApi, vmi: SimVmi): Promise<void> {
  await api.delete(Kinds.VirtualMachineInstance, vmi);
  await deletePods(api, vmi);
}

/** The launcher pods of a VMI (source and migration targets), oldest first. */
export async function launcherPods(api: SimApi, vmi: SimVmi): Promise<SimPod[]> {
  const pods = await api.list<SimPod>(Kinds.Pod, vmi.metadata?.namespace, `${Label.createdBy}=${vmi.metadata?.uid}`);
  return pods
    .filter(p => !p.metadata?.deletionTimestamp)
    .sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)));
}

async function deletePods(api: SimApi, vmi: SimVmi): Promise<void> {
  for (const pod of await launcherPods(api, vmi)) await api.delete(Kinds.Pod, pod);
}

/** Gives a live VMI its launcher pod and a Running status; a VMI whose pod vanished fails. */
async function runVmi(api: SimApi, vmi: SimVmi): Promise<SimVmi> {
  const pods = await launcherPods(api, vmi);
  if (isFinished(vmi)) {
    for (const pod of pods) await api.delete(Kinds.Pod, pod);
    return vmi;
  }
  const active = await activePod(api, vmi, pods);
  if (!active) return markFailed(api, vmi, "the virt-launcher pod is gone");
  if (isPodFinished(active)) return markFailed(api, vmi, `the virt-launcher pod ${active.metadata?.name} ended (${active.status?.phase})`);
  const running = await ensurePodRunning(api, active);
  // Not running yet on the real node: the kubelet's status update brings the key back.
  return running ? ensureVmiRunning(api, vmi, running) : vmi;
}

/**
 * The pod the VMI runs in: the one status.activePods names (moved by a migration), else for a
 * new VMI its source pod, created here if need be. Undefined when a VMI that ran lost its pod.
 */
async function activePod(api: SimApi, vmi: SimVmi, pods: SimPod[]): Promise<SimPod | undefined> {
  const uids = Object.keys(vmi.status?.activePods ?? {});
  if (uids.length > 0) return pods.find(p => uids.includes(String(p.metadata?.uid)));
  if (vmi.status?.phase === "Running") return undefined;
  const [first, ...extra] = pods.filter(p => !isMigrationTarget(p));
  // A create retried after a lost response can leave a second pod: keep the oldest.
  for (const pod of extra) await api.delete(Kinds.Pod, pod);
  return first ?? createLauncherPod(api, vmi);
}

export async function createLauncherPod(api: SimApi, vmi: SimVmi, migration?: { uid: string; name: string }): Promise<SimPod> {
  let pod: SimPod;
  try {
    pod = await api.create(Kinds.Pod, renderLauncherPod(vmi, migration, api.launcherImage));
  } catch (err) {
    // The operator's webhook fails closed: a denied pod is retried by the queue, as KubeVirt retries.
    await api.event(vmi, "Warning", "FailedCreate", `Error creating pod: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
  // As virt-controller does: with FailedCreate above, every pod create it tried shows as an Event.
  await api.event(vmi, "Normal", "SuccessfulCreate", `Created virtual machine pod ${pod.metadata?.name}`);
  return pod;
}

/**
 * Plays Multus (network-status) and kubelet (Running, Ready, a pod IP) for a launcher pod. On a
 * real node the kubelet reports the pod and the node's Multus writes network-status: undefined
 * until it runs, then the pod as they left it.
 */
export async function ensurePodRunning(api: SimApi, pod: SimPod): Promise<SimPod | undefined> {
  if (api.launcherImage) return isPodRunning(pod) ? pod : undefined;
  if (isPodRunning(pod)) return pod;
  const { name, namespace } = pod.metadata ?? {};
  const status = runningPodStatus(pod, now());
  let current = pod;
  if (!pod.metadata?.annotations?.[Annotation.networkStatus]) {
    const annotations = { [Annotation.networkStatus]: JSON.stringify(networkStatus(pod, String(status.podIP)), null, 2) };
    current = await api.patch<SimPod>(Kinds.Pod, String(name), namespace, { metadata: { annotations } });
  }
  return api.patch<SimPod>(
    Kinds.Pod,
    String(name),
    namespace,
    { status },
    { status: true, resourceVersion: current.metadata?.resourceVersion },
  );
}

/** Where the VMI runs: as recorded, else where the scheduler put its pod (a real node), else the first simulated node. */
const vmiNode = (vmi: SimVmi, pod: SimPod): string =>
  vmi.status?.activePods?.[String(pod.metadata?.uid)] ?? vmi.status?.nodeName ?? podNode(pod) ?? NODES[0];

async function ensureVmiRunning(api: SimApi, vmi: SimVmi, pod: SimPod): Promise<SimVmi> {
  const node = vmiNode(vmi, pod);
  const desired = runningVmiStatus(vmi, pod, node, now());
  if (holds(vmi.status, desired) && vmi.metadata?.labels?.[Label.nodeName] === node) return vmi;
  const status = { ...desired, activePods: replaceMap(vmi.status?.activePods, desired.activePods) };
  return patchVmi(api, vmi, { metadata: { labels: { [Label.nodeName]: node } }, status });
}

async function markFailed(api: SimApi, vmi: SimVmi, reason: string): Promise<SimVmi> {
  await api.event(vmi, "Warning", "Stopped", `The VirtualMachineInstance failed: ${reason}`);
  return patchVmi(api, vmi, { status: { phase: "Failed", conditions: [] } });
}

/** VMI status lives in the main resource (no status subresource); guarded by resourceVersion. */
export function patchVmi(api: SimApi, vmi: SimVmi, body: Record<string, unknown>): Promise<SimVmi> {
  return api.patch<SimVmi>(Kinds.VirtualMachineInstance, String(vmi.metadata?.name), vmi.metadata?.namespace, body, {
    resourceVersion: vmi.metadata?.resourceVersion,
  });
}

async function syncVmStatus(api: SimApi, vm: SimVm, vmi: SimVmi | undefined): Promise<void> {
  const desired = vmStatus(vm, vmi, now());
  if (holds(vm.status, desired)) return;
  try {
    await api.patch(Kinds.VirtualMachine, String(vm.metadata?.name), vm.metadata?.namespace, { status: desired }, { status: true });
  } catch (err) {
    if (!isNotFound(err)) throw err; // the VM went while we worked: nothing to report on
  }
}
