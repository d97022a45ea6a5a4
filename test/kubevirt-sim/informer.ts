// Turns cluster changes into work-queue keys: kubernetes-fluent-client watches for promptness,
// and a periodic List of everything for completeness (a watch can miss events across a
// reconnect or an API server restart; the resync catches whatever it missed).
import { GenericClass, K8s, kind } from "kubernetes-fluent-client";
import { WatchPhase } from "kubernetes-fluent-client/dist/fluent/shared-types";
import { VirtualMachine, VirtualMachineInstance, VirtualMachineInstanceMigration } from "../../capabilities/api/external/kubevirt";
import type { KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { SimApi } from "./api";
import { controllerRef } from "./render";
import { Label, SimVmim } from "./types";

export interface InformerSinks {
  /** A VM, VMI or launcher pod changed: reconcile "namespace/name" of the VM and VMI. */
  instance: (key: string) => void;
  /** A migration changed: advance "namespace/name" of the VMIM. */
  migration: (key: string) => void;
  /** A migration was deleted (it may need aborting). */
  migrationDeleted: (key: string, vmim: SimVmim) => void;
  /** Which namespaces this simulator looks after. */
  inScope: (namespace: string) => boolean;
  onError: (what: string, err: unknown) => void;
}

interface Closable {
  close(): void;
}

const keyOf = (obj: KubeObject): string => `${obj.metadata?.namespace}/${obj.metadata?.name}`;

/** The instance a launcher pod belongs to: its VMI's name (VM and VMI share it). */
function podInstanceKey(pod: KubeObject): string | undefined {
  const vmi = controllerRef(pod, "VirtualMachineInstance");
  return vmi ? `${pod.metadata?.namespace}/${vmi.name}` : undefined;
}

export class Informer {
  readonly #sinks: InformerSinks;
  readonly #api: SimApi;
  readonly #watchers: Closable[] = [];
  #timer?: NodeJS.Timeout;

  constructor(api: SimApi, sinks: InformerSinks) {
    this.#api = api;
    this.#sinks = sinks;
  }

  async start(resyncMs: number): Promise<void> {
    await Promise.all([
      this.#watch(VirtualMachine, undefined, obj => this.#sinks.instance(keyOf(obj))),
      this.#watch(VirtualMachineInstance, undefined, obj => this.#sinks.instance(keyOf(obj))),
      this.#watch(kind.Pod, [Label.app, "virt-launcher"], obj => {
        const key = podInstanceKey(obj);
        if (key) this.#sinks.instance(key);
      }),
      this.#watch(VirtualMachineInstanceMigration, undefined, (obj, phase) =>
        phase === WatchPhase.Deleted ? this.#sinks.migrationDeleted(keyOf(obj), obj as SimVmim) : this.#sinks.migration(keyOf(obj)),
      ),
    ]);
    await this.resync();
    this.#timer = setInterval(() => void this.resync(), resyncMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const w of this.#watchers.splice(0)) w.close();
  }

  /** Enqueues every VM, VMI and unfinished migration in scope. */
  async resync(): Promise<void> {
    try {
      const [vms, vmis, vmims] = await Promise.all([
        this.#api.list<KubeObject>(Kinds.VirtualMachine),
        this.#api.list<KubeObject>(Kinds.VirtualMachineInstance),
        this.#api.list<SimVmim>(Kinds.VirtualMachineInstanceMigration),
      ]);
      for (const obj of [...vms, ...vmis]) if (this.#inScope(obj)) this.#sinks.instance(keyOf(obj));
      for (const m of vmims)
        if (this.#inScope(m) && !["Succeeded", "Failed"].includes(String(m.status?.phase))) this.#sinks.migration(keyOf(m));
    } catch (err) {
      this.#sinks.onError("resync", err);
    }
  }

  #inScope(obj: KubeObject): boolean {
    return this.#sinks.inScope(String(obj.metadata?.namespace));
  }

  /** Starts one watch whose callback only enqueues, so it can never fail and lose an event. */
  async #watch<T extends GenericClass>(
    model: T,
    label: [string, string] | undefined,
    onEvent: (obj: KubeObject, phase: WatchPhase) => void,
  ): Promise<void> {
    const base = K8s(model);
    const query = label ? base.WithLabel(label[0], label[1]) : base;
    const watcher = query.Watch((obj, phase) => {
      const o = obj as unknown as KubeObject;
      if (phase !== WatchPhase.Bookmark && phase !== WatchPhase.Error && this.#inScope(o)) onEvent(o, phase);
    });
    this.#watchers.push(watcher);
    try {
      await watcher.start();
    } catch (err) {
      // The resync still finds everything; the watch only makes it prompt.
      this.#sinks.onError(`watch ${model.name}`, err);
    }
  }
}
