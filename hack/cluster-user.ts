// A user of the local cluster (a client certificate of the cluster CA) with a ClusterRole of its
// own: the node's Multus (node-multus.ts) and the KubeVirt simulator (test/kubevirt-sim/identity.ts)
// each run as one, subject to RBAC like the real components.
import type { KubeClient } from "../capabilities/k8s/client";
import { KindRef } from "../capabilities/k8s/kinds";

const CLUSTER_ROLE: KindRef = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRole",
  plural: "clusterroles",
  namespaced: false,
};
const CLUSTER_ROLE_BINDING: KindRef = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  plural: "clusterrolebindings",
  namespaced: false,
};

/** Either a ControlPlane (hack/control-plane.ts) or anything that signs client certificates the same way. */
export interface UserKubeconfigs {
  userKubeconfig(user: string, groups?: string[]): string;
}

export interface ClusterUser {
  /** Name of the ClusterRole and its binding. */
  role: string;
  user: string;
  groups?: string[];
  rules: Record<string, unknown>[];
}

/** Grants the user its rules (idempotent) and returns a kubeconfig that authenticates as it. */
export async function clusterUserKubeconfig(controlPlane: UserKubeconfigs, admin: KubeClient, u: ClusterUser): Promise<string> {
  await admin.apply(CLUSTER_ROLE, { metadata: { name: u.role }, rules: u.rules });
  await admin.apply(CLUSTER_ROLE_BINDING, {
    metadata: { name: u.role },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: u.role },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: u.user }],
  });
  return u.groups ? controlPlane.userKubeconfig(u.user, u.groups) : controlPlane.userKubeconfig(u.user);
}
