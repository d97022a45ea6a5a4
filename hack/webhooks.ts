// Webhook configurations and the admission policy that protects operator-owned kinds, rendered
// for a given serving URL. Used by hack/run-operator.ts (local runs, tests) and by config/.
import { KindRef } from "../capabilities/k8s/kinds";
import { KubeObject } from "../capabilities/k8s/client";

export interface WebhookTarget {
  /** https://host:port of the Pepr admission server. */
  baseUrl: string;
  /** Pepr's API path token. */
  token: string;
  /** Base64 PEM of the CA that signed the serving certificate. */
  caBundle: string;
}

const rule = (groups: string[], resources: string[], operations: string[]): Record<string, unknown> => ({
  apiGroups: groups,
  apiVersions: ["*"],
  resources,
  operations,
  scope: "*",
});

export function renderWebhooks(t: WebhookTarget): { mutating: KubeObject; validating: KubeObject } {
  const client = (kind: "mutate" | "validate"): Record<string, unknown> => ({ url: `${t.baseUrl}/${kind}/${t.token}`, caBundle: t.caBundle });
  const common = { admissionReviewVersions: ["v1"], timeoutSeconds: 10, matchPolicy: "Equivalent" };
  const mutating = {
    metadata: { name: "vmnet-operator" },
    webhooks: [
      {
        // Fail closed: a pool-backed launcher pod must never start without its address. The
        // objectSelector keeps every other pod in the cluster independent of this webhook.
        name: "launcher-pods.vmnet.io",
        clientConfig: client("mutate"),
        rules: [rule([""], ["pods"], ["CREATE"])],
        objectSelector: { matchLabels: { "kubevirt.io": "virt-launcher" } },
        failurePolicy: "Fail",
        sideEffects: "NoneOnDryRun",
        reinvocationPolicy: "Never",
        ...common,
      },
    ],
  };
  const launcherPodCheck = {
    // Fail closed, like the mutation: refuses (with a reason) a launcher pod left without its address.
    name: "launcher-pods.vmnet.io",
    clientConfig: client("validate"),
    rules: [rule([""], ["pods"], ["CREATE"])],
    objectSelector: { matchLabels: { "kubevirt.io": "virt-launcher" } },
    failurePolicy: "Fail",
    sideEffects: "None",
    ...common,
  };
  const validating = {
    metadata: { name: "vmnet-operator" },
    webhooks: [
      // Ignore on failure: the API server's CEL rules still hold, and the controllers re-check
      // the same rules, so an operator outage does not block VM or pool changes.
      { name: "virtualmachines.vmnet.io", rules: [rule(["kubevirt.io"], ["virtualmachines"], ["CREATE", "UPDATE"])] },
      { name: "ippools.vmnet.io", rules: [rule(["vmnet.io"], ["ippools"], ["CREATE", "UPDATE", "DELETE"])] },
      { name: "networkattachmentdefinitions.vmnet.io", rules: [rule(["k8s.cni.cncf.io"], ["network-attachment-definitions"], ["CREATE", "UPDATE"])] },
    ]
      .map(w => ({ ...w, clientConfig: client("validate"), failurePolicy: "Ignore", sideEffects: "None", ...common }))
      .concat([launcherPodCheck as never]),
  };
  return { mutating, validating };
}

/**
 * Only the operator may write IPAllocations and IPClaims (and claim status). Anyone RBAC allows
 * may delete an IPClaim: that is how a retained address is freed. A ValidatingAdmissionPolicy runs
 * inside the API server, so the operator's own writes pay no webhook round trip.
 */
export function renderAdmissionPolicy(operatorIdentity: string): [KindRef, KubeObject][] {
  const id = JSON.stringify(operatorIdentity).slice(1, -1).replace(/'/g, "\\'");
  const policy: KubeObject = {
    metadata: { name: "vmnet-operator-owned-kinds" },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          { apiGroups: ["vmnet.io"], apiVersions: ["*"], operations: ["CREATE", "UPDATE", "DELETE"], resources: ["ipallocations", "ipclaims", "ipclaims/status"] },
        ],
      },
      validations: [
        {
          // Users may delete a claim their Retain pool released (that frees its addresses), and
          // the namespace controller may delete any claim when it empties a namespace.
          expression:
            `request.userInfo.username == '${id}' || (request.resource.resource == 'ipclaims' && request.operation == 'DELETE' && ` +
            `(!has(request.subResource) || request.subResource == '') && ((has(oldObject.status) && has(oldObject.status.released) && oldObject.status.released == true) || ` +
            `request.userInfo.username == 'system:kube-controller-manager' || 'system:serviceaccounts:kube-system' in request.userInfo.groups))`,
          messageExpression: `'only vmnet-operator (${id}) may ' + request.operation + ' ' + request.resource.resource + ', not ' + request.userInfo.username + ': these objects record which VM holds which address. A claim released by a Retain pool may be deleted to free its addresses.'`,
          reason: "Forbidden",
        },
      ],
    },
  };
  const binding: KubeObject = {
    metadata: { name: "vmnet-operator-owned-kinds" },
    spec: { policyName: "vmnet-operator-owned-kinds", validationActions: ["Deny"] },
  };
  return [
    [POLICY, policy],
    [POLICY_BINDING, binding],
  ];
}

export const POLICY: KindRef = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", plural: "validatingadmissionpolicies", namespaced: false };
export const POLICY_BINDING: KindRef = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicyBinding",
  plural: "validatingadmissionpolicybindings",
  namespaced: false,
};
