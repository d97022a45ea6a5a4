// What virt-controller's migration controller (and virt-handler on both nodes) do for a
// VirtualMachineInstanceMigration, as a timed walk through KubeVirt's phases:
//   Pending -> Scheduling (target pod created) -> Scheduled (target pod running) -> PreparingTarget
//   -> TargetReady -> Running -> Succeeded (VMI moved to the target, source pod deleted)
// or -> Failed (target pod deleted, VMI stays on the source). One step per call; the next call
// comes after `stepDelayMs`. Every step is idempotent, so a retried or resynced key is harmless.
import type { KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { SimApi } from "./api";
import { createLauncherPod, ensurePodRunning, launcherPods, patchVmi, splitKey } from "./instances";
import { liveMigratable, otherNode, podNode, replaceMap, vmiInterfaces } from "./render";
import { Annotation, Label, MigrationPhase, MigrationState, NODES, SimPod, SimVmi, SimVmim } from "./types";

export interface MigrationOptions {
  stepDelayMs: number;
  /** Extra failure switch besides the vmnet.io/sim-fail annotation. */
  failMigration?: (vmim: SimVmim) => boolean;
}

const now = (): string => new Date().toISOString();
const uidOf = (obj: KubeObject): string => String(obj.metadata?.uid);
const FINAL = new Set<string>(["Succeeded", "Failed"]);

/** Thrown by a step to end the migration as Failed with a message a person can act on. */
class MigrationFailure extends Error {}

export class MigrationController {
  readonly #api: SimApi;
  readonly #opts: MigrationOptions;
  readonly #enqueue: (key: string) => void;
  readonly #notBefore = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Migrations seen deleted, so an in-flight one can be aborted after its object is gone. */
  readonly #deleted = new Map<string, SimVmim>();

  constructor(api: SimApi, opts: MigrationOptions, enqueue: (key: string) => void) {
    this.#api = api;
    this.#opts = opts;
    this.#enqueue = enqueue;
  }

  onDeleted(key: string, vmim: SimVmim): void {
    this.#deleted.set(key, vmim);
    this.#enqueue(key);
  }

  stop(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  async reconcile(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const vmim = await this.#api.get<SimVmim>(Kinds.VirtualMachineInstanceMigration, name, namespace);
    if (!vmim || vmim.metadata?.deletionTimestamp) return this.#abort(key, vmim ?? this.#deleted.get(key));
    this.#deleted.delete(key);
    if (FINAL.has(String(vmim.status?.phase))) return this.#forget(key);
    const wait = (this.#notBefore.get(key) ?? 0) - Date.now();
    if (wait > 0) return this.#later(key, wait);
    await this.#advance(vmim);
    this.#notBefore.set(key, Date.now() + this.#opts.stepDelayMs);
    this.#later(key, this.#opts.stepDelayMs);
  }

  #forget(key: string): void {
    this.#notBefore.delete(key);
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
  }

  #later(key: string, ms: number): void {
    clearTimeout(this.#timers.get(key));
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.#enqueue(key);
    }, ms);
    timer.unref();
    this.#timers.set(key, timer);
  }

  /** Runs the step that follows the current phase; a MigrationFailure ends it as Failed. */
  async #advance(vmim: SimVmim): Promise<void> {
    const vmi = await this.#api.get<SimVmi>(Kinds.VirtualMachineInstance, String(vmim.spec?.vmiName ?? ""), vmim.metadata?.namespace);
    try {
      const running = this.#check(vmim, vmi);
      await this.#step(vmim, running);
    } catch (err) {
      if (!(err instanceof MigrationFailure)) throw err;
      await this.#fail(vmim, vmi, err.message);
    }
  }

  async #step(vmim: SimVmim, vmi: SimVmi): Promise<void> {
    switch (vmim.status?.phase) {
      case undefined:
        return this.#start(vmim, vmi);
      case "Pending":
        return this.#schedule(vmim, vmi);
      case "Scheduling":
        return this.#scheduled(vmim, vmi);
      case "Scheduled":
        return this.#setPhase(vmim, "PreparingTarget", vmi.status?.migrationState);
      case "PreparingTarget":
        return this.#setPhase(vmim, "TargetReady", await this.#updateState(vmi, { targetNodeDomainReadyTimestamp: now() }));
      case "TargetReady":
        if (this.#shouldFail(vmim)) throw new MigrationFailure(`simulated failure: the migration carries ${Annotation.simFail}: "true"`);
        return this.#setPhase(vmim, "Running", await this.#updateState(vmi, { startTimestamp: now() }));
      default:
        return this.#complete(vmim, vmi);
    }
  }

  /** The VMI, when the migration may go on; otherwise throws why not. */
  #check(vmim: SimVmim, vmi: SimVmi | undefined): SimVmi {
    const vmiName = vmim.spec?.vmiName;
    const ref = `${vmim.metadata?.namespace}/${vmiName}`;
    if (!vmiName) throw new MigrationFailure("spec.vmiName is empty: name the VirtualMachineInstance to migrate");
    if (!vmi || vmi.metadata?.deletionTimestamp)
      throw new MigrationFailure(`VirtualMachineInstance ${ref} does not exist (or is being deleted): nothing to migrate`);
    const status = vmi.status ?? {};
    if (status.phase !== "Running")
      throw new MigrationFailure(`VirtualMachineInstance ${ref} is not running (phase ${status.phase}): only a running VMI can migrate`);
    return this.#checkOwner(vmim, vmi, ref);
  }

  /** Once started, the VMI's migrationState must still be this migration's. */
  #checkOwner(vmim: SimVmim, vmi: SimVmi, ref: string): SimVmi {
    const owner = vmi.status?.migrationState?.migrationUid;
    if (vmim.status?.phase !== undefined && owner !== uidOf(vmim))
      throw new MigrationFailure(`the migration state of VirtualMachineInstance ${ref} was taken over by migration ${owner}`);
    return vmi;
  }

  async #start(vmim: SimVmim, vmi: SimVmi): Promise<void> {
    await this.#mayStart(vmim, vmi);
    const status = vmi.status ?? {};
    const source = (await launcherPods(this.#api, vmi)).find(p => uidOf(p) in (status.activePods ?? {}));
    const state: MigrationState = {
      migrationUid: uidOf(vmim),
      sourceNode: status.nodeName ?? NODES[0],
      sourcePod: source?.metadata?.name,
      mode: "PreCopy",
    };
    // Taking the VMI's migrationState is guarded by resourceVersion: of two migrations started at
    // once, the second gets a conflict, retries, and then sees the first one in flight.
    const migrationState = replaceMap(status.migrationState as Record<string, unknown> | undefined, { ...state });
    const updated = await patchVmi(this.#api, vmi, { status: { migrationState } });
    await this.#setPhase(vmim, "Pending", updated.status?.migrationState);
  }

  /** Throws when the VMI cannot migrate now; clears what a vanished earlier migration left. */
  async #mayStart(vmim: SimVmim, vmi: SimVmi): Promise<void> {
    const ref = `${vmi.metadata?.namespace}/${vmi.metadata?.name}`;
    const migratable = liveMigratable(vmi);
    if (!migratable.ok) throw new MigrationFailure(`VirtualMachineInstance ${ref} is not live-migratable: ${migratable.message}`);
    const other = vmi.status?.migrationState;
    if (!other || other.completed || !other.migrationUid || other.migrationUid === uidOf(vmim)) return;
    if (await this.#migrationExists(vmi, other.migrationUid)) {
      throw new MigrationFailure(
        `VirtualMachineInstance ${ref} is already migrating (migration uid ${other.migrationUid}); wait for it to finish`,
      );
    }
    await this.#deleteTargets(vmi, other.migrationUid);
  }

  async #migrationExists(vmi: SimVmi, uid: string | undefined): Promise<boolean> {
    const all = await this.#api.list<SimVmim>(Kinds.VirtualMachineInstanceMigration, vmi.metadata?.namespace);
    return all.some(m => m.metadata?.uid === uid && !FINAL.has(String(m.status?.phase)));
  }

  async #schedule(vmim: SimVmim, vmi: SimVmi): Promise<void> {
    const uid = String(vmim.metadata?.uid);
    const [existing] = await this.#targets(vmi, uid);
    const pod = existing ?? (await createLauncherPod(this.#api, vmi, { uid, name: String(vmim.metadata?.name) }));
    const state = await this.#updateState(vmi, {
      targetNode: otherNode(vmi.status?.migrationState?.sourceNode),
      targetPod: pod.metadata?.name,
    });
    await this.#setPhase(vmim, "Scheduling", state);
  }

  /** Scheduled once the target pod runs; on a real node, on the node the scheduler picked. */
  async #scheduled(vmim: SimVmim, vmi: SimVmi): Promise<void> {
    const target = await ensurePodRunning(this.#api, await this.#targetPod(vmim));
    if (!target) return; // the kubelet has not started it yet: this step runs again after stepDelayMs
    const node = podNode(target);
    const state = vmi.status?.migrationState;
    await this.#setPhase(
      vmim,
      "Scheduled",
      node && node !== state?.targetNode ? await this.#updateState(vmi, { targetNode: node }) : state,
    );
  }

  async #complete(vmim: SimVmim, vmi: SimVmi): Promise<void> {
    const target = await this.#targetPod(vmim);
    const status = vmi.status ?? {};
    const state = status.migrationState ?? {};
    const node = state.targetNode ?? otherNode(status.nodeName);
    const updated = await patchVmi(this.#api, vmi, {
      metadata: { labels: { [Label.nodeName]: node } },
      status: {
        nodeName: node,
        activePods: replaceMap(status.activePods, { [uidOf(target)]: node }),
        interfaces: vmiInterfaces(vmi, target),
        migrationState: { ...state, endTimestamp: state.endTimestamp ?? now(), completed: true, failed: false },
      },
    });
    for (const pod of await launcherPods(this.#api, updated)) if (uidOf(pod) !== uidOf(target)) await this.#api.delete(Kinds.Pod, pod);
    await this.#api.event(updated, "Normal", "Migrated", `The VirtualMachineInstance migrated to node ${node}.`);
    await this.#setPhase(vmim, "Succeeded", updated.status?.migrationState);
  }

  /** Ends the migration as Failed: the VMI stays where it is, the target pod goes. */
  async #fail(vmim: SimVmim, vmi: SimVmi | undefined, message: string): Promise<void> {
    const uid = String(vmim.metadata?.uid);
    let state: MigrationState = { migrationUid: uid, completed: true, failed: true, failureReason: message, endTimestamp: now() };
    if (vmi && vmi.status?.migrationState?.migrationUid === uid) {
      state = (await this.#updateState(vmi, { completed: true, failed: true, failureReason: message, endTimestamp: now() })) ?? state;
    }
    if (vmi) await this.#deleteTargets(vmi, uid);
    await this.#api.event(vmim, "Warning", "FailedMigration", message);
    await this.#setPhase(vmim, "Failed", state);
  }

  /** A migration deleted before it finished is aborted: target pod deleted, VMI stays. */
  async #abort(key: string, vmim: SimVmim | undefined): Promise<void> {
    this.#forget(key);
    this.#deleted.delete(key);
    if (!vmim?.spec?.vmiName) return;
    const vmi = await this.#api.get<SimVmi>(Kinds.VirtualMachineInstance, vmim.spec.vmiName, vmim.metadata?.namespace);
    const uid = String(vmim.metadata?.uid);
    if (!vmi || vmi.status?.migrationState?.migrationUid !== uid || vmi.status.migrationState.completed) return;
    await this.#updateState(vmi, {
      completed: true,
      failed: true,
      failureReason: "the migration was deleted before it finished",
      endTimestamp: now(),
    });
    await this.#deleteTargets(vmi, uid);
  }

  async #targets(vmi: SimVmi, migrationUid: string): Promise<SimPod[]> {
    return (await launcherPods(this.#api, vmi)).filter(p => p.metadata?.labels?.[Label.migrationJobUID] === migrationUid);
  }

  async #deleteTargets(vmi: SimVmi, migrationUid: string): Promise<void> {
    for (const pod of await this.#targets(vmi, migrationUid)) await this.#api.delete(Kinds.Pod, pod);
  }

  async #targetPod(vmim: SimVmim): Promise<SimPod> {
    const pods = await this.#api.list<SimPod>(Kinds.Pod, vmim.metadata?.namespace, `${Label.migrationJobUID}=${vmim.metadata?.uid}`);
    const pod = pods.find(p => !p.metadata?.deletionTimestamp);
    if (!pod)
      throw new MigrationFailure(`the target virt-launcher pod of migration ${vmim.metadata?.namespace}/${vmim.metadata?.name} is gone`);
    return pod;
  }

  /** Merges fields into the VMI's migrationState (guarded by resourceVersion); returns the new state. */
  async #updateState(vmi: SimVmi, fields: Partial<MigrationState>): Promise<MigrationState | undefined> {
    const updated = await patchVmi(this.#api, vmi, { status: { migrationState: fields } });
    return updated.status?.migrationState;
  }

  #shouldFail(vmim: SimVmim): boolean {
    return vmim.metadata?.annotations?.[Annotation.simFail] === "true" || this.#opts.failMigration?.(vmim) === true;
  }

  /** Moves the migration to `phase`, appending to phaseTransitionTimestamps as KubeVirt does. */
  async #setPhase(vmim: SimVmim, phase: MigrationPhase, migrationState: MigrationState | undefined): Promise<void> {
    const transitions = [...(vmim.status?.phaseTransitionTimestamps ?? []), { phase, phaseTransitionTimestamp: now() }];
    const status: Record<string, unknown> = { phase, phaseTransitionTimestamps: transitions };
    if (migrationState) status.migrationState = migrationState;
    await this.#api.patch(
      Kinds.VirtualMachineInstanceMigration,
      String(vmim.metadata?.name),
      vmim.metadata?.namespace,
      { status },
      {
        status: true,
        resourceVersion: vmim.metadata?.resourceVersion,
      },
    );
  }
}
