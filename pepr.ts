// The Pepr module: which capabilities vmnet-operator runs. In a cluster, `pepr build` turns this
// into an admission Deployment and a watcher Deployment; locally hack/run-operator.ts runs both
// in one process (Pepr's dev mode) against the cluster in KUBECONFIG.
import { PeprModule } from "pepr";
import cfg from "./package.json";
import { Admission } from "./capabilities/admission";
import { Controllers } from "./capabilities/controllers";
import { operator } from "./capabilities/controllers/operator";
import { serveMetrics } from "./capabilities/metrics";

const capabilities = [Admission, Controllers];

// Warm the caches before the first admission request arrives, and serve our metrics (not while
// `pepr build` loads the module to read its bindings).
if (process.env.PEPR_MODE !== "build") {
  void operator();
  const metricsPort = Number(process.env.VMNET_METRICS_PORT ?? 9464);
  if (metricsPort > 0) serveMetrics(metricsPort).on("error", err => console.error(`metrics server on port ${metricsPort}: ${err.message}`));
}

const module = new PeprModule(cfg, capabilities, { deferStart: true });
// `pepr build` loads this file only to read the bindings: nothing may start then.
if (process.env.PEPR_MODE !== "build") module.start(Number(process.env.VMNET_WEBHOOK_PORT ?? 3000));
