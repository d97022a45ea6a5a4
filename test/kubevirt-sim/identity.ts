// The identity KubeVirt's virt-controller runs as, for the simulator and for tests that create
// launcher pods by hand: vmnet-operator gives addresses only to pods this user creates (see
// capabilities/admission/config.ts), so anything standing in for KubeVirt must be it.
import type { KubeClient } from "../../capabilities/k8s/client";
import { DEFAULT_LAUNCHER_IDENTITY } from "../../capabilities/domain/config";
import { clusterUserKubeconfig, UserKubeconfigs } from "../../hack/cluster-user";

/** virt-controller's ServiceAccount user name (the operator's default launcher identity). */
export const KUBEVIRT_USER = DEFAULT_LAUNCHER_IDENTITY;
/** The groups a ServiceAccount token of namespace kubevirt carries. */
export const KUBEVIRT_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:kubevirt"];

const NAME = "kubevirt-sim-controller";

/** What the simulator does: the part of virt-controller's RBAC it needs. */
const RULES = [
  {
    apiGroups: ["kubevirt.io"],
    resources: ["virtualmachines", "virtualmachines/status"],
    verbs: ["get", "list", "watch", "patch", "update"],
  },
  {
    apiGroups: ["kubevirt.io"],
    resources: ["virtualmachineinstances", "virtualmachineinstances/status"],
    verbs: ["get", "list", "watch", "create", "patch", "update", "delete"],
  },
  {
    apiGroups: ["kubevirt.io"],
    resources: ["virtualmachineinstancemigrations", "virtualmachineinstancemigrations/status"],
    verbs: ["get", "list", "watch", "patch", "update"],
  },
  { apiGroups: [""], resources: ["pods", "pods/status"], verbs: ["get", "list", "watch", "create", "patch", "update", "delete"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
];

/** Grants KUBEVIRT_USER the simulator's RBAC (idempotent) and returns a kubeconfig that authenticates as it. */
export async function kubevirtKubeconfig(controlPlane: UserKubeconfigs, admin: KubeClient): Promise<string> {
  return clusterUserKubeconfig(controlPlane, admin, { role: NAME, user: KUBEVIRT_USER, groups: KUBEVIRT_GROUPS, rules: RULES });
}
