// Migration controller: when a live migration ends, records on each claim of the VM (condition
// Migrated) and as an Event whether the target pod kept the claim's addresses and MAC, or why
// not. It never releases anything: source and target hold the same claim, keyed by VM.
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import { VirtualMachineInstanceMigration } from "../api/external/kubevirt";
import { NETWORKS_ANNOTATION } from "../api/external/multus";
import { launcherInterfaceName, parseElements } from "../domain/launcher-pod";
import { KubeApi, KubeObject } from "../k8s/client";
import { EventSink, EventTarget, eventTarget } from "../k8s/events";
import { Kinds } from "../k8s/kinds";
import { Binder, ClaimStatus } from "./binder";
import { ClusterView } from "./cluster-view";
import { done, KeyOf, Result } from "./reconcile";
import { setCondition } from "./render";

export const MIGRATION_JOB_LABEL = "kubevirt.io/migrationJobUID";
const FINAL = new Set(["Succeeded", "Failed"]);

interface PodElement {
  name?: string;
  namespace?: string;
  interface?: string;
  ips?: string[];
  mac?: string;
}

/** Whether the target pod's element for a claim carries the claim's addresses and MAC. Pure. */
export function targetKept(claim: IPClaim, podNamespace: string, elements: PodElement[]): { kept: boolean; detail: string } {
  const status = (claim.status ?? {}) as ClaimStatus;
  const hashed = launcherInterfaceName(claim.spec!.interface);
  const el =
    elements.find(e => e.interface === hashed) ?? elements.find(e => `${e.namespace || podNamespace}/${e.name}` === claim.spec?.network);
  if (!el) return { kept: false, detail: `the target pod has no element for network ${claim.spec?.network}` };
  const want = JSON.stringify(status.addresses ?? []);
  if (JSON.stringify(el.ips ?? []) !== want || el.mac !== status.mac) {
    return {
      kept: false,
      detail: `the target pod carries ${JSON.stringify(el.ips ?? [])} MAC ${el.mac}, the claim ${want} MAC ${status.mac}`,
    };
  }
  return { kept: true, detail: `${(status.addresses ?? []).join(", ")} MAC ${status.mac}` };
}

/** What an ended migration did to a claim's addresses: kept or not, the reason, and the message (starting "migration NAME:"). Pure. */
export function migrationVerdict(
  migration: string,
  phase: string,
  claim: IPClaim,
  target: KubeObject | undefined,
  elements: PodElement[],
): { kept: boolean; reason: string; message: string } {
  if (phase === "Failed") {
    return {
      kept: true,
      reason: "MigrationFailed",
      message: `migration ${migration}: the migration failed; the source pod keeps the address, nothing was released`,
    };
  }
  if (!target)
    return { kept: false, reason: "TargetPodGone", message: `migration ${migration}: the target pod could not be found to verify` };
  const { kept, detail } = targetKept(claim, claim.metadata!.namespace as string, elements);
  if (!kept) return { kept, reason: "AddressChanged", message: `migration ${migration}: ${detail}` };
  return { kept, reason: "AddressKept", message: `migration ${migration}: target pod ${target.metadata?.name} kept ${detail}` };
}

export class MigrationController {
  constructor(
    private readonly client: KubeApi,
    private readonly view: ClusterView,
    private readonly binder: Binder,
    private readonly event: EventSink,
  ) {}

  async reconcile({ namespace, name }: KeyOf<"migration">): Promise<Result> {
    const vmim = this.view.caches.migrations.get(`${namespace}/${name}`);
    const phase = vmim?.status?.phase;
    if (!vmim || !phase || !FINAL.has(phase)) return done;
    const vm = vmim.spec?.vmiName ?? "";
    const claims = this.view.claimsOfVm(namespace, vm);
    if (!claims.length) return done;
    const target = phase === "Succeeded" ? await this.#targetPod(vmim) : undefined;
    const elements = target ? parseElementsOf(target) : [];
    for (const claim of claims) await this.#record(vmim, claim, phase, target, elements);
    return done;
  }

  async #record(
    vmim: VirtualMachineInstanceMigration,
    claim: IPClaim,
    phase: string,
    target: KubeObject | undefined,
    elements: PodElement[],
  ): Promise<void> {
    const migration = vmim.metadata!.name!;
    const prev = (claim.status ?? {}) as ClaimStatus;
    const already = prev.conditions?.find(c => c.type === "Migrated" && c.message.startsWith(`migration ${migration}:`));
    if (already) return; // recorded once per migration
    const { kept, reason, message } = migrationVerdict(migration, phase, claim, target, elements);
    const generation = claim.metadata?.generation as number | undefined;
    const conditions = setCondition(
      prev.conditions,
      { type: "Migrated", status: kept ? "True" : "False", reason, message, observedGeneration: generation },
      new Date().toISOString(),
    );
    await this.binder.writeStatus(claim, { ...prev, conditions });
    this.event(this.#target(claim), kept ? "Normal" : "Warning", reason, `interface ${claim.spec!.interface}: ${message}`);
  }

  /** The VM (with its uid, so `kubectl describe vm` lists the Event); the claim when the cache has no such VM. */
  #target(claim: IPClaim): EventTarget {
    const vm = this.view.caches.vms.get(`${claim.metadata!.namespace}/${claim.spec!.vm}`);
    if (vm) return eventTarget("kubevirt.io/v1", "VirtualMachine", vm);
    return eventTarget("vmnet.io/v1alpha1", "IPClaim", claim as { metadata?: { name?: string; namespace?: string; uid?: string } });
  }

  async #targetPod(vmim: VirtualMachineInstanceMigration): Promise<KubeObject | undefined> {
    const pods = await this.client.list<KubeObject>(Kinds.Pod, {
      namespace: vmim.metadata!.namespace!,
      labelSelector: `${MIGRATION_JOB_LABEL}=${vmim.metadata!.uid}`,
    });
    return pods.items[0];
  }
}

function parseElementsOf(pod: KubeObject): PodElement[] {
  const value = pod.metadata?.annotations?.[NETWORKS_ANNOTATION];
  if (!value) return [];
  const parsed = parseElements(value);
  return "error" in parsed ? [] : (parsed.elements as PodElement[]);
}
