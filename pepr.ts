// The Pepr module: which capabilities vmnet-operator runs. In a cluster the admission Deployment
// and the watcher Deployment (config/, charts/vmnet-operator) run it from the image; locally
// hack/run-operator.ts runs both in one process (Pepr's dev mode) against the cluster in KUBECONFIG.
import { PeprModule } from "pepr";
import cfg from "./package.json";
import { Admission } from "./capabilities/admission";
import { Controllers } from "./capabilities/controllers";
import { startRuntime } from "./capabilities/runtime";

const capabilities = [Admission, Controllers];

const module = new PeprModule(cfg, capabilities, { deferStart: true });
// `pepr build` loads this file only to read the bindings: nothing may start then. Otherwise warm
// the caches before the first admission request arrives, serve our metrics and probes, and (as
// installed) fetch the serving certificate before Pepr reads it.
if (process.env.PEPR_MODE !== "build") {
  startRuntime()
    .then(() => module.start(Number(process.env.VMNET_WEBHOOK_PORT ?? 3000)))
    .catch(err => {
      console.error(`vmnet-operator failed to start: ${err instanceof Error ? err.stack : String(err)}`);
      process.exit(1);
    });
}
