// The PrometheusRule and the dashboard name series that exist: ours (capabilities/metrics.ts) and
// Pepr's are read from the registries themselves; the API server's admission series are checked
// against a real API server in test/integration/chart.test.ts.
import assert from "node:assert/strict";
import { metricsCollector } from "pepr";
import { registry } from "../../../capabilities/metrics";
import { ALERTS, PANELS } from "../../../hack/install/monitoring";
import { seriesIn } from "../../../hack/install/promql";

async function knownSeries(): Promise<Set<string>> {
  const text = `${await registry.metrics()}\n${await metricsCollector.getMetrics()}`;
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!m) continue;
    const [, name, type] = m;
    names.add(name);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
    if (type === "summary") for (const s of ["_sum", "_count"]) names.add(name + s);
  }
  return names;
}

describe("monitoring: alert and dashboard expressions", () => {
  it("extracts series names from PromQL, skipping functions, keywords, labels and durations", () => {
    assert.deepEqual(
      seriesIn(
        'histogram_quantile(0.99, sum by (le, name) (rate(apiserver_x_bucket{name=~".*vmnet", code!="200"}[5m]))) > 2 or absent(vmnet_queue_depth) and on (pool) max(vmnet_y > 0)',
      ),
      ["apiserver_x_bucket", "vmnet_queue_depth", "vmnet_y"],
    );
  });

  it("name only series that vmnet-operator, Pepr or the API server export", async () => {
    const known = await knownSeries();
    const exprs = [...ALERTS.map(a => [a.alert, a.expr]), ...PANELS.map(p => [p.title, p.expr])];
    const unknown = exprs.flatMap(([what, expr]) =>
      seriesIn(expr)
        .filter(s => !known.has(s) && !s.startsWith("apiserver_"))
        .map(s => `${what}: ${s}`),
    );
    assert.deepEqual(unknown, []);
    for (const want of [
      "vmnet_pool_allocated",
      "vmnet_claims",
      "vmnet_webhook_duration_seconds_bucket",
      "vmnet_watch_staleness_seconds",
      "vmnet_leader",
      "pepr_errors",
    ]) {
      assert.ok(
        exprs.some(([, e]) => seriesIn(e).includes(want)),
        `no alert or panel uses ${want}`,
      );
    }
  });

  it("alerts on a nearly full pool, unbound claims, webhook errors and latency, stale watches and a missing leader", () => {
    const names = ALERTS.map(a => a.alert);
    for (const want of [
      "VmnetPoolNearlyFull",
      "VmnetClaimsUnbound",
      "VmnetWebhookErrors",
      "VmnetWebhookSlow",
      "VmnetWatchStale",
      "VmnetNoLeader",
    ])
      assert.ok(names.includes(want), want);
  });
});
