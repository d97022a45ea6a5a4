// Hand-written: Multus' NetworkAttachmentDefinition (k8s.cni.cncf.io/v1).
import { GenericKind, RegisterKind } from "kubernetes-fluent-client";

export class NetworkAttachmentDefinition extends GenericKind {
  spec?: { config?: string };
}

RegisterKind(NetworkAttachmentDefinition, {
  group: "k8s.cni.cncf.io",
  version: "v1",
  kind: "NetworkAttachmentDefinition",
  plural: "network-attachment-definitions",
});

/** One element of a pod's `k8s.v1.cni.cncf.io/networks` annotation (JSON form). */
export interface NetworkSelectionElement {
  name: string;
  namespace?: string;
  interface?: string;
  ips?: string[];
  mac?: string;
  [key: string]: unknown;
}

export const NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks";
