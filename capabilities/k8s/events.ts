// Kubernetes Events on the objects a person looks at (VMs, claims, pools). Best effort: an Event
// that cannot be written is logged, never allowed to fail the reconcile that emitted it.
import crypto from "node:crypto";
import { KubeClient } from "./client";
import { errorText } from "./errors";
import { Kinds } from "./kinds";

export interface EventTarget {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string };
}

export type EventSink = (target: EventTarget, type: "Normal" | "Warning", reason: string, message: string) => void;

export function eventRecorder(client: KubeClient, onError: (msg: string) => void): EventSink {
  return (target, type, reason, message) => {
    const name = target.metadata?.name ?? "unknown";
    const namespace = target.metadata?.namespace ?? "default";
    const now = new Date().toISOString();
    const event = {
      metadata: { name: `${name}.${crypto.randomBytes(6).toString("hex")}`, namespace },
      involvedObject: { apiVersion: target.apiVersion, kind: target.kind, name, namespace: target.metadata?.namespace, uid: target.metadata?.uid },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: "vmnet-operator" },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: "vmnet-operator",
    };
    client.create(Kinds.Event, event).catch(err => onError(`event ${reason} on ${target.kind} ${namespace}/${name}: ${errorText(err)}`));
  };
}
