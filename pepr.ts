// The Pepr module: which capabilities vmnet-operator runs. In a cluster the admission Deployment
// and the watcher Deployment (config/, charts/vmnet-operator) run it from the image; locally
// hack/run-operator.ts runs both in one process (Pepr's dev mode) against the cluster in KUBECONFIG.
import fs from "node:fs";
import { PeprModule } from "pepr";
import cfg from "./package.json";
import { admissionCapability } from "./capabilities/admission";
import { Controllers } from "./capabilities/controllers";
import { runtimeEnv, startRuntime } from "./capabilities/runtime";
import type { Health } from "./capabilities/runtime/health";
import { drainAdmission, runFirstOnSigterm } from "./capabilities/runtime/shutdown";
import { logger } from "./capabilities/log";
import { Direct, directAdmission } from "./capabilities/webhook-server/dispatch";
import { operatorAdmissionPort } from "./capabilities/runtime/admission-port";
import { startAdmissionServer, upstreamSocket } from "./capabilities/webhook-server/server";

// The one place admission meets the runtime: its handlers read the operator's caches and binder
// through this port, and import neither.
const capabilities = [admissionCapability(operatorAdmissionPort), Controllers];

const module = new PeprModule(cfg, capabilities, { deferStart: true });
// `pepr build` loads this file only to read the bindings: nothing may start then. Otherwise warm
// the caches before the first admission request arrives, serve our metrics and probes, and (as
// installed) fetch the serving certificate before anything reads it.
if (process.env.PEPR_MODE !== "build") {
  startRuntime()
    .then(health => startServing(Number(process.env.VMNET_WEBHOOK_PORT ?? 3000), health))
    .catch(err => {
      console.error(`vmnet-operator failed to start: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}

/**
 * The admission server faces the API server through our own HTTPS front (webhook-server/): Pepr's
 * express server then listens on an abstract Unix socket behind it. The watcher (PEPR_WATCH_MODE)
 * serves only health and metrics, so it keeps Pepr's server as is. startRuntime() captures every
 * https server made after it (ours and Pepr's), so a renewed certificate reaches both.
 * The pod is ready only once our front answers and Pepr's socket behind it does; on SIGTERM the
 * front drains before Pepr's own handler stops Pepr (capabilities/runtime/shutdown.ts says why).
 */
function startServing(port: number, health: Health): void {
  if (process.env.PEPR_WATCH_MODE === "true") return module.start(port);
  const upstream = upstreamSocket();
  const front = startAdmissionServer({
    port,
    upstream,
    direct: directPath(),
    token: process.env.PEPR_API_PATH || fs.readFileSync("/app/api-path/value").toString().trim(),
    keyFile: process.env.SSL_KEY_PATH || "/etc/certs/tls.key",
    certFile: process.env.SSL_CERT_PATH || "/etc/certs/tls.crt",
  });
  front.server.on("error", err => console.error(`admission server on port ${port}: ${err.message}`));
  health.addReadiness("admission-front", front.ready);
  // Pepr's start() passes the value to listen(), which takes a socket path as well as a port.
  runFirstOnSigterm(
    () => module.start(upstream as unknown as number),
    () => drainAdmission(front, () => health.stopping(), runtimeEnv().shutdown),
  );
}

/** Admission answered in the front server (webhook-server/dispatch.ts) unless VMNET_DIRECT_ADMISSION=false. */
function directPath(): Direct | undefined {
  if (process.env.VMNET_DIRECT_ADMISSION === "false") return undefined;
  try {
    return directAdmission(capabilities, { uuid: cfg.pepr.uuid, ignoredNamespaces: cfg.pepr.alwaysIgnore.namespaces });
  } catch (err) {
    logger("webhook-server").warn(`admission goes through Pepr: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
