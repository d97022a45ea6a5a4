// The Pepr module: which capabilities vmnet-operator runs. In a cluster, `pepr build` turns this
// into an admission Deployment and a watcher Deployment; locally hack/run-operator.ts runs both
// in one process (Pepr's dev mode) against the cluster in KUBECONFIG.
import { PeprModule } from "pepr";
import cfg from "./package.json";
import { Controllers } from "./capabilities/controllers";

const capabilities = [Controllers];

const module = new PeprModule(cfg, capabilities, { deferStart: true });
module.start(Number(process.env.VMNET_WEBHOOK_PORT ?? 3000));
