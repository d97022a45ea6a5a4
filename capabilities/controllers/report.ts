// How a terminal reconcile failure is reported, once (the work queue calls this only for a new
// message): a log line, and a Warning Event on the object the key is about (with its uid, so
// `kubectl describe` lists it) when the cache holds it.
import type { EventSink, EventTarget } from "../k8s/events";
import { eventTarget } from "../k8s/events";
import type { ClusterView } from "./cluster-view";
import { keyId, TerminalError, WorkKey } from "./reconcile";

export interface ErrorLog {
  error(fields: Record<string, unknown>, message: string): void;
}

export function terminalReporter(view: ClusterView, event: EventSink, log: ErrorLog): (key: WorkKey, err: TerminalError) => void {
  return (key, err) => {
    log.error(
      { key: keyId(key), reason: err.reason },
      `reconcile ${keyId(key)} failed and is not retried until the object changes: ${err.message}`,
    );
    const target = targetOf(view, key);
    if (target) event(target, "Warning", err.reason, `reconcile failed and is not retried until this object changes: ${err.message}`);
  };
}

/** The object a key is about, as an Event target; undefined when the cache has no such object. */
function targetOf(view: ClusterView, key: WorkKey): EventTarget | undefined {
  const c = view.caches;
  const found = (
    apiVersion: string,
    kind: string,
    obj: { metadata?: { name?: string; namespace?: string; uid?: string } } | undefined,
  ): EventTarget | undefined => (obj ? eventTarget(apiVersion, kind, obj) : undefined);
  if (key.kind === "pool") return found("vmnet.io/v1alpha1", "IPPool", c.pools.get(key.name));
  const id = `${key.namespace}/${key.name}`;
  if (key.kind === "vm") return found("kubevirt.io/v1", "VirtualMachine", c.vms.get(id));
  if (key.kind === "migration") return found("kubevirt.io/v1", "VirtualMachineInstanceMigration", c.migrations.get(id));
  return found("vmnet.io/v1alpha1", "IPClaim", c.claims.get(id));
}
