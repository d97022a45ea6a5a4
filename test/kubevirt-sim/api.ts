// The simulator's calls to the API server, through the project's KubeClient (keep-alive pool,
// retries) but under KubeVirt's own field manager, so managedFields read as they would in a
// cluster and the operator's write counters never include the simulator's writes.
import type { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { isConflict, isNotFound } from "../../capabilities/k8s/errors";
import { KindRef, Kinds, resourcePath } from "../../capabilities/k8s/kinds";

export const SIM_FIELD_MANAGER = "virt-controller";

const what = (verb: string, kind: KindRef, namespace: string | undefined, name: string | undefined, sub = ""): string =>
  `${verb} ${kind.kind} ${namespace ? `${namespace}/` : ""}${name ?? "(generated)"}${sub}`;

export class SimApi {
  /** Writes sent (creates, patches, deletes, Events): a steady cluster must not make this grow. */
  writes = 0;

  /**
   * @param launcherImage set when a real kubelet runs the launcher pods (hack/node-cluster.ts):
   *   their container runs this image, and their status is the kubelet's, not ours.
   */
  constructor(
    readonly client: KubeClient,
    readonly launcherImage?: string,
  ) {}

  get<T>(kind: KindRef, name: string, namespace?: string): Promise<T | undefined> {
    return this.client.getOrUndefined<T>(kind, name, namespace);
  }

  async list<T>(kind: KindRef, namespace?: string, labelSelector?: string): Promise<T[]> {
    return (await this.client.list<T>(kind, { namespace, labelSelector })).items;
  }

  create<T extends KubeObject>(kind: KindRef, obj: T): Promise<T> {
    this.writes++;
    const { name, namespace } = obj.metadata ?? {};
    return this.client.request<T>({
      method: "POST",
      path: resourcePath(kind, namespace),
      query: { fieldManager: SIM_FIELD_MANAGER },
      body: { apiVersion: kind.apiVersion, kind: kind.kind, ...obj },
      what: what("create", kind, namespace, name),
    });
  }

  /**
   * JSON merge patch. With `resourceVersion` the API server refuses (409) a write based on a
   * stale read: the VM and migration reconcilers both write VMI status, and neither may undo
   * the other.
   */
  patch<T>(
    kind: KindRef,
    name: string,
    namespace: string | undefined,
    body: Record<string, unknown>,
    opts: { status?: boolean; resourceVersion?: string } = {},
  ): Promise<T> {
    this.writes++;
    const patch = opts.resourceVersion
      ? { ...body, metadata: { ...((body.metadata as object) ?? {}), resourceVersion: opts.resourceVersion } }
      : body;
    return this.client.request<T>({
      method: "PATCH",
      path: resourcePath(kind, namespace, name, opts.status ? "status" : undefined),
      query: { fieldManager: SIM_FIELD_MANAGER },
      body: patch,
      contentType: "application/merge-patch+json",
      what: what("patch", kind, namespace, name, opts.status ? "/status" : ""),
    });
  }

  /** Deletes one incarnation (uid precondition); gone or replaced counts as done. */
  async delete(kind: KindRef, obj: KubeObject): Promise<void> {
    this.writes++;
    const { name, namespace, uid } = obj.metadata ?? {};
    try {
      await this.client.delete(kind, String(name), namespace, { uid, propagationPolicy: "Background" });
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) throw err;
    }
  }

  /** Records a core/v1 Event, as virt-controller does; best effort, never fails the caller. */
  async event(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const { name, namespace, uid } = obj.metadata ?? {};
    const now = new Date().toISOString();
    try {
      await this.create(Kinds.Event, {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name, namespace, uid },
        type,
        reason,
        message,
        source: { component: SIM_FIELD_MANAGER },
        reportingComponent: SIM_FIELD_MANAGER,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch {
      /* an Event is a courtesy: losing one must not stop reconciling */
    }
  }
}
