// Monitoring objects for vmnet's metrics (capabilities/metrics.ts, Pepr's, and the API server's
// admission webhook series): a ServiceMonitor for the metrics Service, a PrometheusRule, and a
// Grafana dashboard (a ConfigMap labelled for Grafana's sidecar, and the JSON for import).
// test/unit/monitoring.test.ts checks that every series these expressions name exists.
import type { KubeObject } from "../../capabilities/k8s/client";

export interface Alert {
  alert: string;
  expr: string;
  for: string;
  severity: "warning" | "critical";
  summary: string;
  description: string;
}

/** The webhooks of ours, as the API server's admission metrics label them (`name`). */
const OUR_WEBHOOKS = 'name=~".*\\\\.vmnet\\\\.io"';

export const ALERTS: Alert[] = [
  {
    alert: "VmnetPoolNearlyFull",
    expr: "max by (pool) (vmnet_pool_allocated) / max by (pool) (vmnet_pool_capacity > 0) > 0.9",
    for: "10m",
    severity: "warning",
    summary: "IPPool {{ $labels.pool }} is over 90% allocated",
    description:
      "New VM NICs on this pool's network get no address once it is full. Widen the pool's ranges or add a pool for the network.",
  },
  {
    alert: "VmnetPoolExhausted",
    expr: "max by (pool) (vmnet_pool_allocated) >= max by (pool) (vmnet_pool_capacity > 0)",
    for: "5m",
    severity: "critical",
    summary: "IPPool {{ $labels.pool }} has no free address",
    description: "Claims on this pool stay unbound and their launcher pods are refused until addresses are freed.",
  },
  {
    alert: "VmnetClaimsUnbound",
    expr: 'max(vmnet_claims{state="unbound"}) > 0',
    for: "15m",
    severity: "warning",
    summary: "{{ $value }} IPClaims have been unbound for 15 minutes",
    description: "`kubectl vmnet why <vm>` tells why a VM's claim has no address (pool full, namespace not selected, network not ready).",
  },
  {
    alert: "VmnetWebhookErrors",
    expr: `sum(rate(pepr_errors[5m])) > 0 or sum by (name) (rate(apiserver_admission_webhook_request_total{${OUR_WEBHOOKS},code!="200"}[5m])) > 0`,
    for: "5m",
    severity: "warning",
    summary: "vmnet admission webhooks fail",
    description:
      "The admission server reports errors, or the API server gets non-200 answers (or none) from it. The launcher-pod webhooks fail closed: VMs on pool-backed networks cannot start meanwhile.",
  },
  {
    alert: "VmnetWebhookSlow",
    expr: `histogram_quantile(0.99, sum by (le, name) (rate(apiserver_admission_webhook_admission_duration_seconds_bucket{${OUR_WEBHOOKS}}[5m]))) > 2 or histogram_quantile(0.99, sum by (le, handler) (rate(vmnet_webhook_duration_seconds_bucket[5m]))) > 1`,
    for: "10m",
    severity: "warning",
    summary: "vmnet admission webhooks are slow (p99 over 2 s as the API server measures, or 1 s in the handlers)",
    description: "The webhooks time out after 10 s; the launcher-pod webhooks then refuse the pod (virt-controller retries).",
  },
  {
    alert: "VmnetWatchStale",
    expr: "max by (kind) (vmnet_watch_staleness_seconds) > 1200",
    for: "5m",
    severity: "warning",
    summary: "The operator's watch of {{ $labels.kind }} delivered nothing for 20 minutes",
    description:
      "A silent watch is restarted after 10 minutes and relists keep the caches right; a watch still silent after that points at the API server or the network to it.",
  },
  {
    alert: "VmnetNoLeader",
    expr: "sum(vmnet_leader) < 1",
    for: "2m",
    severity: "critical",
    summary: "No vmnet watcher holds the leader Lease",
    description:
      "Nothing reconciles: claims of new VMs are bound only by the admission webhook, deleted VMs keep their addresses, pool status goes stale.",
  },
  {
    alert: "VmnetSeveralLeaders",
    expr: "sum(vmnet_leader) > 1",
    for: "1m",
    severity: "warning",
    summary: "More than one vmnet watcher believes it leads",
    description:
      "Addresses stay unique (the API server refuses duplicate IPAllocation names), but writes are doubled. Check the nodes' clocks and the Lease.",
  },
  {
    alert: "VmnetCertificateExpiresSoon",
    expr: "min(vmnet_tls_cert_expiry_timestamp_seconds) - time() < 7 * 86400",
    for: "1h",
    severity: "warning",
    summary: "The admission server's certificate expires within 7 days",
    description:
      "It should have been renewed long before: check the operator's logs (component tls) and, with cert-manager, the Certificate.",
  },
  {
    alert: "VmnetOperatorAbsent",
    expr: "absent(vmnet_queue_depth)",
    for: "10m",
    severity: "critical",
    summary: "No vmnet-operator metrics are scraped",
    description:
      "The operator is down or its metrics Service is not scraped. Launcher pods on pool-backed networks cannot start while no admission replica serves.",
  },
];

export const PANELS: { title: string; expr: string; unit: string }[] = [
  { title: "Pool use", expr: "max by (pool) (vmnet_pool_allocated) / max by (pool) (vmnet_pool_capacity > 0)", unit: "percentunit" },
  { title: "Addresses allocated", expr: "max by (pool) (vmnet_pool_allocated)", unit: "short" },
  { title: "Claims by state", expr: "max by (state) (vmnet_claims)", unit: "short" },
  { title: "Allocations per second", expr: "sum by (result) (rate(vmnet_allocations_total[5m]))", unit: "ops" },
  {
    title: "Bind latency p99",
    expr: "histogram_quantile(0.99, sum by (le) (rate(vmnet_allocation_duration_seconds_bucket[5m])))",
    unit: "s",
  },
  {
    title: "Webhook handler latency p99",
    expr: "histogram_quantile(0.99, sum by (le, handler) (rate(vmnet_webhook_duration_seconds_bucket[5m])))",
    unit: "s",
  },
  {
    title: "Webhook latency p99 (API server)",
    expr: `histogram_quantile(0.99, sum by (le, name) (rate(apiserver_admission_webhook_admission_duration_seconds_bucket{${OUR_WEBHOOKS}}[5m])))`,
    unit: "s",
  },
  { title: "Work queue depth", expr: "max(vmnet_queue_depth)", unit: "short" },
  { title: "Watch staleness", expr: "max by (kind) (vmnet_watch_staleness_seconds)", unit: "s" },
  { title: "Leader", expr: "max by (pod) (vmnet_leader)", unit: "short" },
  { title: "API writes per second", expr: "sum by (verb, kind) (rate(vmnet_api_writes_total[5m]))", unit: "ops" },
  { title: "API retries per second", expr: "sum by (status) (rate(vmnet_api_retries_total[5m]))", unit: "ops" },
];

export function dashboard(): Record<string, unknown> {
  return {
    title: "vmnet-operator",
    uid: "vmnet-operator",
    schemaVersion: 39,
    tags: ["vmnet", "kubevirt"],
    time: { from: "now-6h", to: "now" },
    templating: { list: [{ name: "datasource", type: "datasource", query: "prometheus" }] },
    panels: PANELS.map((p, i) => ({
      id: i + 1,
      title: p.title,
      type: "timeseries",
      datasource: { type: "prometheus", uid: "${datasource}" },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: [{ refId: "A", expr: p.expr, legendFormat: "__auto" }],
    })),
  };
}

export function monitoringObjects(namespace: string): { file: string; obj: KubeObject }[] {
  const selector = { "app.kubernetes.io/name": "vmnet-operator", "app.kubernetes.io/component": "metrics" };
  return [
    {
      file: "servicemonitor.yaml",
      obj: {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: "vmnet-operator", namespace },
        spec: {
          selector: { matchLabels: selector },
          namespaceSelector: { matchNames: [namespace] },
          endpoints: [{ port: "metrics", path: "/metrics", interval: "30s" }],
        },
      },
    },
    {
      file: "prometheusrule.yaml",
      obj: {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "vmnet-operator", namespace },
        spec: {
          groups: [
            {
              name: "vmnet-operator",
              rules: ALERTS.map(a => ({
                alert: a.alert,
                expr: a.expr,
                for: a.for,
                labels: { severity: a.severity },
                annotations: { summary: a.summary, description: a.description },
              })),
            },
          ],
        },
      },
    },
    {
      file: "dashboard.yaml",
      obj: {
        apiVersion: "v1",
        kind: "ConfigMap",
        // Grafana's dashboard sidecar (kube-prometheus-stack) loads ConfigMaps with this label.
        metadata: { name: "vmnet-operator-dashboard", namespace, labels: { grafana_dashboard: "1" } },
        data: { "vmnet-operator.json": JSON.stringify(dashboard(), null, 2) },
      },
    },
  ];
}
