// The KubeVirt simulator as its own process, against the cluster in KUBECONFIG, until SIGINT or
// SIGTERM:  KUBECONFIG=... npx tsx test/kubevirt-sim/main.ts
// KUBEVIRT_SIM_STEP_MS sets the delay between migration phases; KUBEVIRT_SIM_LOG_LEVEL its logs.
import { startKubevirtSim } from "./index";

async function main(): Promise<void> {
  if (!process.env.KUBECONFIG)
    throw new Error("KUBECONFIG is not set: point it at a cluster with the KubeVirt CRDs (npm run control-plane prints one)");
  const sim = await startKubevirtSim();
  console.error("[kubevirt-sim] running: VMs get VMIs and virt-launcher pods, migrations walk their phases; Ctrl-C stops it");
  const signal = await new Promise<NodeJS.Signals>(resolve => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await sim.stop();
  console.error(`[kubevirt-sim] stopped on ${signal}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[kubevirt-sim] failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
