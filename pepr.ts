// The Pepr module: which capabilities vmnet-operator runs. In a cluster, `pepr build` turns this
// into an admission Deployment and a watcher Deployment; locally hack/run-operator.ts runs both
// in one process (Pepr's dev mode) against the cluster in KUBECONFIG.
import { PeprModule } from "pepr";
import cfg from "./package.json";
import { Admission } from "./capabilities/admission";
import { Controllers } from "./capabilities/controllers";
import { operator } from "./capabilities/controllers/operator";
import { serveMetrics } from "./capabilities/metrics";
import { startAdmissionServer, upstreamSocket } from "./capabilities/webhook-server/server";
import fs from "node:fs";

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
if (process.env.PEPR_MODE !== "build") startServing(Number(process.env.VMNET_WEBHOOK_PORT ?? 3000));

/**
 * The admission server faces the API server through our own HTTPS front (webhook-server/): Pepr's
 * express server then listens on an abstract Unix socket behind it. The watcher (PEPR_WATCH_MODE)
 * serves only health and metrics, so it keeps Pepr's server as is.
 */
function startServing(port: number): void {
  if (process.env.PEPR_WATCH_MODE === "true") return module.start(port);
  const upstream = upstreamSocket();
  // Pepr's start() passes the value to listen(), which takes a socket path as well as a port.
  module.start(upstream as unknown as number);
  startAdmissionServer({
    port,
    upstream,
    token: process.env.PEPR_API_PATH || fs.readFileSync("/app/api-path/value").toString().trim(),
    keyFile: process.env.SSL_KEY_PATH || "/etc/certs/tls.key",
    certFile: process.env.SSL_CERT_PATH || "/etc/certs/tls.crt",
  }).on("error", err => console.error(`admission server on port ${port}: ${err.message}`));
}
