// The one source of what vmnet-operator installs: every object of config/ (kustomize) and of
// charts/vmnet-operator (Helm) is rendered here, for a namespace, an image, a TLS mode and the
// API path token. hack/render-config.ts writes config/ from it with concrete values and the chart
// with template expressions in their place (./chart.ts), so both paths carry the same RBAC,
// policy, names and webhook scoping; test/integration/chart.test.ts compares what they render.
import pkg from "../../package.json";
import type { KubeObject } from "../../capabilities/k8s/client";
import { renderAdmissionPolicy, renderWebhooks } from "../webhooks";
import { OPERATOR_REPOSITORY } from "../image/reference";
import { OPERATOR_NODE_OPTIONS } from "../image/node-options";
import { monitoringObjects } from "./monitoring";

// The image names have one home (hack/image/reference.ts); the default tag is the package version
// whatever VMNET_IMAGE_TAG a local rebuild used, so the committed config/ never depends on the shell.
export const IMAGE_REPOSITORY = OPERATOR_REPOSITORY;
export const IMAGE_TAG = pkg.version;
export const DEFAULT_IMAGE = `${IMAGE_REPOSITORY}:${IMAGE_TAG}`;

export type TlsMode = "self-managed" | "cert-manager";
export const TLS_MODES: TlsMode[] = ["self-managed", "cert-manager"];

/** Names every install uses (cluster-scoped ones are fixed: one vmnet-operator per cluster). */
export const NAMES = {
  serviceAccount: "vmnet-operator",
  admission: "vmnet-operator",
  watcher: "vmnet-operator-watcher",
  /** The admission Service (443 -> 3000) the API server calls. */
  service: "vmnet-operator",
  metricsService: "vmnet-operator-metrics",
  webhookConfigurations: "vmnet-operator",
  tlsSecret: "vmnet-operator-tls",
  apiPathSecret: "vmnet-operator-api-path",
  lease: "vmnet-operator-watcher",
  /** The cert-manager Certificate whose CA cainjector puts into the webhook configurations. */
  certificate: "vmnet-operator-serving-cert",
  issuer: "vmnet-operator-selfsigned",
  clusterRole: "vmnet-operator",
  role: "vmnet-operator",
  storeRole: "vmnet-operator-store",
} as const;

/**
 * Pepr 1.1.4 keeps its store (PeprStore pepr-<uuid>-store and -schedule) in `pepr-system`,
 * whatever namespace the module runs in (`const namespace = "pepr-system"` in
 * pepr/src/lib/controller/store.ts), so the store's Role lives there in every install.
 */
export const PEPR_STORE_NAMESPACE = "pepr-system";
export const PEPR_STORES = [`pepr-${pkg.pepr.uuid}-store`, `pepr-${pkg.pepr.uuid}-schedule`];

export const METRICS_PORT = 9464;
export const WEBHOOK_PORT = 3000;

export interface InstallParams {
  namespace: string;
  image: string;
  tls: TlsMode;
  /** Pepr's API path token, in the Secret and in every webhook path. */
  apiPathToken: string;
}

/** Where an object goes: its file in config/ (and the chart's templates/), and whether it is optional monitoring. */
export interface Placed {
  file: string;
  obj: KubeObject;
}

export const operatorIdentity = (namespace: string): string => `system:serviceaccount:${namespace}:${NAMES.serviceAccount}`;

const PART_OF = { "app.kubernetes.io/part-of": "vmnet-operator" };
const labels = (component: string, extra: Record<string, string> = {}): Record<string, string> => ({
  "app.kubernetes.io/name": "vmnet-operator",
  "app.kubernetes.io/component": component,
  ...PART_OF,
  ...extra,
});

const obj = (apiVersion: string, kind: string, metadata: Record<string, unknown>, rest: Record<string, unknown> = {}): KubeObject => ({
  apiVersion,
  kind,
  metadata: { ...metadata, labels: { ...PART_OF, ...((metadata.labels as Record<string, string>) ?? {}) } },
  ...rest,
});

// ---------------------------------------------------------------- RBAC

/** Cluster-wide rights: explicit resources and verbs, never `*`; each rule says why. */
function clusterRules(tls: TlsMode): Record<string, unknown>[] {
  const rules: Record<string, unknown>[] = [
    // Pools are written by cluster admins (usually from Git); the operator reads them and reports status.
    { apiGroups: ["vmnet.io"], resources: ["ippools"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["vmnet.io"], resources: ["ippools/status"], verbs: ["get", "patch"] },
    // Claims (one per VM NIC) and allocations (one per address) belong to the operator: create,
    // server-side apply (patch), release and garbage collection. No update: it never PUTs them.
    { apiGroups: ["vmnet.io"], resources: ["ipclaims", "ipallocations"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
    { apiGroups: ["vmnet.io"], resources: ["ipclaims/status"], verbs: ["get", "patch"] },
    // VMs: read their NICs; add and remove the finalizer vmnet.io/release.
    { apiGroups: ["kubevirt.io"], resources: ["virtualmachines"], verbs: ["get", "list", "watch", "patch"] },
    // Services of exposed VMs carry an ownerReference to their VM with blockOwnerDeletion, which the
    // OwnerReferencesPermissionEnforcement admission plugin allows only with update on the finalizers.
    { apiGroups: ["kubevirt.io"], resources: ["virtualmachines/finalizers"], verbs: ["update"] },
    {
      apiGroups: ["kubevirt.io"],
      resources: ["virtualmachineinstances", "virtualmachineinstancemigrations"],
      verbs: ["get", "list", "watch"],
    },
    // NADs: which networks exist and whether they can take a fixed address.
    { apiGroups: ["k8s.cni.cncf.io"], resources: ["network-attachment-definitions"], verbs: ["get", "list", "watch"] },
    // Namespaces for pools' namespaceSelector; launcher pods for migrations.
    { apiGroups: [""], resources: ["namespaces", "pods"], verbs: ["get", "list", "watch"] },
    // The Service of a masquerade VM annotated vmnet.io/expose.
    { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
    // Events on VMs, claims and pools.
    { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
    // Whether the user who annotates a VM vmnet.io/expose may create Services in its namespace.
    { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
  ];
  if (tls === "self-managed") {
    // Our own webhook configurations only: the CA goes into their caBundle.
    rules.push({
      apiGroups: ["admissionregistration.k8s.io"],
      resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
      resourceNames: [NAMES.webhookConfigurations],
      verbs: ["get", "patch"],
    });
  }
  return rules;
}

/** In the operator's namespace: its Lease and its TLS Secret, by name. */
function namespaceRules(tls: TlsMode): Record<string, unknown>[] {
  return [
    // Leader election of the watchers. `create` cannot be limited to a name (the object does not exist yet).
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [NAMES.lease], verbs: ["get", "update"] },
    // The serving certificate: self-managed writes it; with cert-manager the operator only reads it.
    ...(tls === "self-managed"
      ? [
          { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
          { apiGroups: [""], resources: ["secrets"], resourceNames: [NAMES.tlsSecret], verbs: ["get", "update"] },
        ]
      : [{ apiGroups: [""], resources: ["secrets"], resourceNames: [NAMES.tlsSecret], verbs: ["get"] }]),
  ];
}

function rbac(p: InstallParams): KubeObject[] {
  const subject = [{ kind: "ServiceAccount", name: NAMES.serviceAccount, namespace: p.namespace }];
  const roleRef = (kind: string, name: string): Record<string, string> => ({ apiGroup: "rbac.authorization.k8s.io", kind, name });
  return [
    obj("v1", "ServiceAccount", { name: NAMES.serviceAccount, namespace: p.namespace }),
    obj("rbac.authorization.k8s.io/v1", "ClusterRole", { name: NAMES.clusterRole }, { rules: clusterRules(p.tls) }),
    obj(
      "rbac.authorization.k8s.io/v1",
      "ClusterRoleBinding",
      { name: NAMES.clusterRole },
      { roleRef: roleRef("ClusterRole", NAMES.clusterRole), subjects: subject },
    ),
    obj("rbac.authorization.k8s.io/v1", "Role", { name: NAMES.role, namespace: p.namespace }, { rules: namespaceRules(p.tls) }),
    obj(
      "rbac.authorization.k8s.io/v1",
      "RoleBinding",
      { name: NAMES.role, namespace: p.namespace },
      { roleRef: roleRef("Role", NAMES.role), subjects: subject },
    ),
    // Pepr's store: created by server-side apply, then read, watched and patched by name. (Pepr's
    // own storeRole says resourceNames: [""], which matches nothing.)
    obj(
      "rbac.authorization.k8s.io/v1",
      "Role",
      { name: NAMES.storeRole, namespace: PEPR_STORE_NAMESPACE },
      {
        rules: [
          { apiGroups: ["pepr.dev"], resources: ["peprstores"], verbs: ["create"] },
          { apiGroups: ["pepr.dev"], resources: ["peprstores"], resourceNames: PEPR_STORES, verbs: ["get", "list", "watch", "patch"] },
        ],
      },
    ),
    obj(
      "rbac.authorization.k8s.io/v1",
      "RoleBinding",
      { name: NAMES.storeRole, namespace: PEPR_STORE_NAMESPACE },
      { roleRef: roleRef("Role", NAMES.storeRole), subjects: subject },
    ),
  ];
}

// ---------------------------------------------------------------- Deployments

const podSecurity = { runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } };
const containerSecurity = {
  runAsUser: 65532,
  runAsGroup: 65532,
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

function env(p: InstallParams, watch: boolean): Record<string, unknown>[] {
  const fieldRef = (name: string, path: string): Record<string, unknown> => ({ name, valueFrom: { fieldRef: { fieldPath: path } } });
  return [
    { name: "PEPR_WATCH_MODE", value: String(watch) },
    { name: "PEPR_PRETTY_LOG", value: "false" },
    { name: "LOG_LEVEL", value: "info" },
    fieldRef("POD_NAMESPACE", "metadata.namespace"),
    fieldRef("POD_NAME", "metadata.name"),
    // capabilities/runtime: the certificate comes from Secret vmnet-operator-tls (made and
    // renewed by the operator, or by cert-manager) and is reloaded without a restart.
    { name: "VMNET_TLS_MODE", value: p.tls },
    { name: "VMNET_TLS_SECRET", value: NAMES.tlsSecret },
    { name: "VMNET_TLS_SERVICES", value: NAMES.service },
    { name: "VMNET_WEBHOOK_CONFIGURATIONS", value: NAMES.webhookConfigurations },
    { name: "VMNET_CERT_DIR", value: "/tmp/vmnet-certs" },
    { name: "VMNET_METRICS_PORT", value: String(METRICS_PORT) },
    ...(watch
      ? [
          { name: "VMNET_LEADER_ELECTION", value: "true" },
          { name: "VMNET_LEASE_NAME", value: NAMES.lease },
        ]
      : [
          // On SIGTERM (capabilities/runtime/shutdown.ts): unready at once, serving on while the
          // endpoint removal reaches kube-proxy, then a bounded drain before Pepr stops.
          { name: "VMNET_SHUTDOWN_DELAY_SECONDS", value: String(SHUTDOWN.delaySeconds) },
          { name: "VMNET_DRAIN_SECONDS", value: String(SHUTDOWN.drainSeconds) },
        ]),
  ];
}

/**
 * An admission pod's stop: serving on for `delaySeconds` after SIGTERM (Kubernetes removes the
 * endpoint at the same moment it sends SIGTERM, and kube-proxy learns of it a little later), then
 * at most `drainSeconds` for requests in flight (longer than the webhooks' 10 s timeout), then
 * Pepr's close and the exit. The grace period covers them with room for a loaded node; the
 * kubelet's SIGKILL after it would cut requests. No preStop hook: the process itself keeps serving
 * after SIGTERM (the image has no shell, and one place for the whole order is easier to follow).
 */
const SHUTDOWN = { delaySeconds: 5, drainSeconds: 12 };
const ADMISSION_GRACE_SECONDS = SHUTDOWN.delaySeconds + SHUTDOWN.drainSeconds + 13;
/** The watcher releases its Lease (bounded at 3 s) and closes Pepr's health server. */
const WATCHER_GRACE_SECONDS = 15;

function deployment(p: InstallParams, watch: boolean): KubeObject {
  const name = watch ? NAMES.watcher : NAMES.admission;
  const component = watch ? "watcher" : "admission";
  const selector = { "app.kubernetes.io/name": "vmnet-operator", "app.kubernetes.io/component": component };
  const volumes: Record<string, unknown>[] = [{ name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } }];
  const mounts: Record<string, unknown>[] = [{ name: "tmp", mountPath: "/tmp" }];
  if (!watch) {
    volumes.push({ name: "api-path", secret: { secretName: NAMES.apiPathSecret } });
    mounts.push({ name: "api-path", mountPath: "/app/api-path", readOnly: true });
  }
  return obj(
    "apps/v1",
    "Deployment",
    { name, namespace: p.namespace, labels: labels(component) },
    {
      spec: {
        // Two of each: admission so the fail-closed launcher-pod webhook survives a restart or a
        // drain (with the PodDisruptionBudget); watchers so a standby with warm caches takes the Lease.
        replicas: 2,
        // A rollout adds a new pod and stops an old one only once the new one is Ready, so two
        // replicas serve throughout (maxUnavailable 0: never one; maxSurge 1: one at a time, so a
        // rollout needs room for one more pod only).
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...selector, ...PART_OF } },
          spec: {
            serviceAccountName: NAMES.serviceAccount,
            terminationGracePeriodSeconds: watch ? WATCHER_GRACE_SECONDS : ADMISSION_GRACE_SECONDS,
            // The admission replicas serve a fail-closed webhook: a cluster service, not a node agent.
            ...(watch ? {} : { priorityClassName: "system-cluster-critical" }),
            securityContext: podSecurity,
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: selector } } },
                ],
              },
            },
            containers: [
              {
                name: watch ? "watcher" : "server",
                image: p.image,
                imagePullPolicy: "IfNotPresent",
                // The bundled module with the image's node flags (its entrypoint): no module Secret,
                // no CRD writes at start.
                command: ["node", ...OPERATOR_NODE_OPTIONS, "/app/module.js"],
                env: env(p, watch),
                ports: [
                  { name: "https", containerPort: WEBHOOK_PORT },
                  { name: "metrics", containerPort: METRICS_PORT },
                ],
                // Ready: caches filled, Pepr's routes bound, a certificate served, the front server
                // reaching Pepr's socket, not stopping. Alive: the event loop answers. Probed every
                // 2 s so a new pod joins the Service (and a rollout moves on) soon after it can serve.
                // Timeouts of 5 s, not the default 1 s: on a starved node the event loop stalls for
                // seconds, and a probe that gives up sooner turns both admission pods unready (a
                // webhook outage) or restarts a healthy pod. The start may take 5 minutes: the 2 s
                // startup probe holds liveness off until then (2 s so a fast start is seen at once);
                // two pods starting at a load average of 43 took over 2 minutes to serve /livez.
                readinessProbe: { httpGet: { path: "/readyz", port: "metrics" }, periodSeconds: 2, timeoutSeconds: 5, failureThreshold: 3 },
                livenessProbe: { httpGet: { path: "/livez", port: "metrics" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
                startupProbe: { httpGet: { path: "/livez", port: "metrics" }, periodSeconds: 2, timeoutSeconds: 5, failureThreshold: 150 },
                resources: { requests: { memory: "256Mi", cpu: "100m" }, limits: { memory: "1Gi" } },
                securityContext: containerSecurity,
                volumeMounts: mounts,
              },
            ],
            volumes,
          },
        },
      },
    },
  );
}

function manager(p: InstallParams): KubeObject[] {
  const admissionSelector = { "app.kubernetes.io/name": "vmnet-operator", "app.kubernetes.io/component": "admission" };
  return [
    // Pepr's API path token: the admission server answers only /mutate/<token> and /validate/<token>.
    obj("v1", "Secret", { name: NAMES.apiPathSecret, namespace: p.namespace }, { type: "Opaque", stringData: { value: p.apiPathToken } }),
    deployment(p, false),
    deployment(p, true),
    // The Service the webhook configurations call (clientConfig.service, port 443).
    obj(
      "v1",
      "Service",
      { name: NAMES.service, namespace: p.namespace, labels: labels("admission") },
      {
        spec: { selector: admissionSelector, ports: [{ name: "https", port: 443, targetPort: "https" }] },
      },
    ),
    // vmnet's metrics (and Pepr's) from every replica, for the ServiceMonitor.
    obj(
      "v1",
      "Service",
      { name: NAMES.metricsService, namespace: p.namespace, labels: labels("metrics") },
      {
        spec: {
          selector: { "app.kubernetes.io/name": "vmnet-operator" },
          ports: [{ name: "metrics", port: METRICS_PORT, targetPort: "metrics" }],
        },
      },
    ),
    // A drain (kubectl drain, a cluster autoscaler) evicts at most one admission pod at a time: the
    // fail-closed launcher-pod webhook keeps a replica. (A rollout is held to the same by maxUnavailable 0.)
    obj(
      "policy/v1",
      "PodDisruptionBudget",
      { name: NAMES.admission, namespace: p.namespace, labels: labels("admission") },
      {
        spec: { minAvailable: 1, selector: { matchLabels: admissionSelector } },
      },
    ),
  ];
}

// ---------------------------------------------------------------- webhooks, policy, TLS

function webhooks(p: InstallParams): KubeObject[] {
  const { mutating, validating } = renderWebhooks({ baseUrl: "https://in-cluster.invalid", token: p.apiPathToken, caBundle: "" });
  const inCluster = (config: KubeObject, kind: string): KubeObject => {
    const hooks = (config.webhooks as { clientConfig: { url: string } }[]).map(w => {
      const url = new URL(w.clientConfig.url);
      // Self-managed: the operator injects caBundle. cert-manager: its cainjector does (annotation).
      return { ...w, clientConfig: { service: { name: NAMES.service, namespace: p.namespace, path: url.pathname, port: 443 } } };
    });
    const annotations = p.tls === "cert-manager" ? { "cert-manager.io/inject-ca-from": `${p.namespace}/${NAMES.certificate}` } : undefined;
    return obj(
      "admissionregistration.k8s.io/v1",
      kind,
      { ...config.metadata, ...(annotations ? { annotations } : {}) },
      { webhooks: hooks },
    );
  };
  return [inCluster(mutating, "MutatingWebhookConfiguration"), inCluster(validating, "ValidatingWebhookConfiguration")];
}

function policy(p: InstallParams): KubeObject[] {
  return renderAdmissionPolicy(operatorIdentity(p.namespace)).map(([kind, o]) =>
    obj(kind.apiVersion, kind.kind, o.metadata ?? {}, { spec: o.spec }),
  );
}

function certManager(p: InstallParams): KubeObject[] {
  if (p.tls !== "cert-manager") return [];
  const svc = NAMES.service;
  return [
    obj("cert-manager.io/v1", "Issuer", { name: NAMES.issuer, namespace: p.namespace }, { spec: { selfSigned: {} } }),
    obj(
      "cert-manager.io/v1",
      "Certificate",
      { name: NAMES.certificate, namespace: p.namespace },
      {
        spec: {
          secretName: NAMES.tlsSecret,
          issuerRef: { kind: "Issuer", name: NAMES.issuer },
          commonName: `${svc}.${p.namespace}.svc`,
          dnsNames: [`${svc}.${p.namespace}.svc`, `${svc}.${p.namespace}.svc.cluster.local`],
          // The operator reloads a renewed certificate itself (no restart), so a short one is fine.
          duration: "2160h",
          renewBefore: "360h",
          privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
          usages: ["server auth", "digital signature", "key encipherment"],
        },
      },
    ),
  ];
}

/** Everything but the CRDs (config/crd, the chart's crds/) and the Namespace, in apply order. */
export function installObjects(p: InstallParams): Placed[] {
  const at = (file: string, objs: KubeObject[]): Placed[] => objs.map(o => ({ file, obj: o }));
  return [
    ...at("rbac.yaml", rbac(p)),
    ...at("manager.yaml", manager(p)),
    ...at("webhooks.yaml", webhooks(p)),
    ...at("policy.yaml", policy(p)),
    ...at("certificate.yaml", certManager(p)),
  ];
}

/** The optional monitoring objects (Prometheus Operator's kinds, and the Grafana dashboard). */
export function monitoringPlaced(namespace: string): Placed[] {
  return monitoringObjects(namespace).map(({ file, obj: o }) => ({
    file,
    obj: { ...o, metadata: { ...o.metadata, labels: { ...PART_OF, ...(o.metadata?.labels ?? {}) } } },
  }));
}

export const keyOf = (o: KubeObject): string => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
