// Webhook configurations and the admission policy that protects operator-owned kinds, rendered
// for a given serving URL. Used by hack/run-operator.ts (local runs, tests) and by config/.
import { KindRef } from "../capabilities/k8s/kinds";
import { KubeObject } from "../capabilities/k8s/client";
import { launcherIdentity as defaultLauncherIdentity } from "../capabilities/domain/config";
import { ADDRESS_KEYS, SELECTION_ANNOTATIONS } from "../capabilities/domain/network-selection";

export interface WebhookTarget {
  /** https://host:port of the Pepr admission server. */
  baseUrl: string;
  /** Pepr's API path token. */
  token: string;
  /** Base64 PEM of the CA that signed the serving certificate. */
  caBundle: string;
  /** Who creates virt-launcher pods (default: VMNET_LAUNCHER_IDENTITY or KubeVirt's virt-controller). */
  launcherIdentity?: string;
}

const celString = (s: string): string => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const annotationOf = (obj: "object" | "oldObject", key: string): string =>
  `(has(${obj}.metadata.annotations) && ${celString(key)} in ${obj}.metadata.annotations ? ${obj}.metadata.annotations[${celString(key)}] : '')`;
const anySelection = (test: (value: string) => string): string =>
  SELECTION_ANNOTATIONS.map(k => test(annotationOf("object", k))).join(" || ");

/**
 * CEL conditions that keep pods out of the launcher-pod webhooks unless they can need them: the
 * API server evaluates them itself, so during an operator outage every other pod (a VM without
 * Multus NICs, any pod without a Multus annotation, an UPDATE that leaves those annotations alone)
 * is created as if the operator did not exist.
 */
export function podMatchConditions(identity: string, which: "mutate" | "validate"): Record<string, string>[] {
  const changed = `request.operation != 'UPDATE' || ${SELECTION_ANNOTATIONS.map(k => `${annotationOf("object", k)} != ${annotationOf("oldObject", k)}`).join(" || ")}`;
  const conditions = [
    { name: "has-multus-selection", expression: anySelection(v => `${v} != ''`) },
    { name: "selection-created-or-changed", expression: changed },
  ];
  // An address-setting key, however Go's decoder could spell it: written plainly it contains
  // "ips" (etc.) in quotes once lower-cased; any other spelling needs an escape or a non-ASCII rune.
  const addressy = `r'"(${ADDRESS_KEYS.join("|")})"|\\\\|[^\\x00-\\x7f]'`;
  const byLauncher = `request.userInfo.username == ${celString(identity)}`;
  if (which === "mutate") return [...conditions, { name: "created-by-launcher-identity", expression: byLauncher }];
  return [
    ...conditions,
    { name: "launcher-or-may-set-address", expression: `${byLauncher} || ${anySelection(v => `${v}.lowerAscii().matches(${addressy})`)}` },
  ];
}

const rule = (groups: string[], resources: string[], operations: string[]): Record<string, unknown> => ({
  apiGroups: groups,
  apiVersions: ["*"],
  resources,
  operations,
  scope: "*",
});

export function renderWebhooks(t: WebhookTarget): { mutating: KubeObject; validating: KubeObject } {
  const client = (kind: "mutate" | "validate"): Record<string, unknown> => ({
    url: `${t.baseUrl}/${kind}/${t.token}`,
    caBundle: t.caBundle,
  });
  const identity = t.launcherIdentity ?? defaultLauncherIdentity();
  const common = { admissionReviewVersions: ["v1"], timeoutSeconds: 10, matchPolicy: "Equivalent" };
  const mutating = {
    metadata: { name: "vmnet-operator" },
    webhooks: [
      {
        // Fail closed: a pool-backed launcher pod must never start without its address. The
        // objectSelector and matchConditions keep every other pod independent of this webhook.
        name: "launcher-pods.vmnet.io",
        clientConfig: client("mutate"),
        rules: [rule([""], ["pods"], ["CREATE", "UPDATE"])],
        objectSelector: { matchLabels: { "kubevirt.io": "virt-launcher" } },
        matchConditions: podMatchConditions(identity, "mutate"),
        failurePolicy: "Fail",
        sideEffects: "NoneOnDryRun",
        reinvocationPolicy: "Never",
        ...common,
      },
    ],
  };
  const launcherPodCheck = {
    // Fail closed, like the mutation: refuses (with a reason) a launcher pod left without its
    // address, and any pod (labels prove nothing) that sets an address on a pool-backed network.
    name: "launcher-pods.vmnet.io",
    clientConfig: client("validate"),
    rules: [rule([""], ["pods"], ["CREATE", "UPDATE"])],
    matchConditions: podMatchConditions(identity, "validate"),
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
      {
        name: "networkattachmentdefinitions.vmnet.io",
        rules: [rule(["k8s.cni.cncf.io"], ["network-attachment-definitions"], ["CREATE", "UPDATE"])],
      },
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
          {
            apiGroups: ["vmnet.io"],
            apiVersions: ["*"],
            operations: ["CREATE", "UPDATE", "DELETE"],
            resources: ["ipallocations", "ipclaims", "ipclaims/status"],
          },
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
  return [[POLICY, policy], [POLICY_BINDING, binding], ...renderExposePolicy()];
}

/**
 * vmnet.io/expose makes the operator create a Service: without this check it would create one
 * (even a LoadBalancer with NodePorts) for a user who may not. The API server's own authorizer
 * answers, for the user making the request, whether it may create Services in the VM's namespace
 * (a SubjectAccessReview without the round trip), whenever the annotation is set or changed. It
 * runs inside the API server, so no operator outage skips it. RBAC cannot tell Service types
 * apart; which types are allowed at all is the operator's VMNET_EXPOSE_TYPES.
 */
export function renderExposePolicy(): [KindRef, KubeObject][] {
  const key = "'vmnet.io/expose'";
  const now = `object.metadata.annotations[${key}]`;
  const policy: KubeObject = {
    metadata: { name: "vmnet-operator-expose-rights" },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          { apiGroups: ["kubevirt.io"], apiVersions: ["*"], operations: ["CREATE", "UPDATE"], resources: ["virtualmachines"] },
        ],
      },
      matchConditions: [
        {
          name: "expose-set-or-changed",
          expression:
            `has(object.metadata.annotations) && ${key} in object.metadata.annotations && (request.operation != 'UPDATE' || ` +
            `!has(oldObject.metadata.annotations) || !(${key} in oldObject.metadata.annotations) || oldObject.metadata.annotations[${key}] != ${now})`,
        },
      ],
      validations: [
        {
          expression: "authorizer.group('').resource('services').namespace(request.namespace).check('create').allowed()",
          messageExpression:
            `'metadata.annotations[\"vmnet.io/expose\"]: ' + ${now} + ' asks vmnet-operator to create a Service in namespace ' + request.namespace + ', but ' + request.userInfo.username + ` +
            `' may not create Services there; ask for that right (RBAC verb create on services), or remove the annotation'`,
          reason: "Forbidden",
        },
      ],
    },
  };
  const binding: KubeObject = {
    metadata: { name: "vmnet-operator-expose-rights" },
    spec: { policyName: "vmnet-operator-expose-rights", validationActions: ["Deny"] },
  };
  return [
    [POLICY, policy],
    [POLICY_BINDING, binding],
  ];
}

export const POLICY: KindRef = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicy",
  plural: "validatingadmissionpolicies",
  namespaced: false,
};
export const POLICY_BINDING: KindRef = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicyBinding",
  plural: "validatingadmissionpolicybindings",
  namespaced: false,
};
