// One real control plane per test run, shared by every integration test. Mocha global fixtures
// start it before the first test and stop it after the last.
import crypto from "node:crypto";
import { installCrds } from "../../hack/cluster-setup";
import { ControlPlane, startControlPlane } from "../../hack/control-plane";
import { KubeClient } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { OperatorProcess, startOperator } from "../../hack/operator-process";
import { kubevirtKubeconfig } from "../kubevirt-sim/identity";

let controlPlane: ControlPlane | undefined;
let client: KubeClient | undefined;
let operatorProc: OperatorProcess | undefined;
let launcher: KubeClient | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  controlPlane = await startControlPlane({
    beforeControllerManager: async kubeconfig => {
      process.env.KUBECONFIG = kubeconfig;
      client = await KubeClient.fromDefault();
      await installCrds(client);
    },
  });
  // The simulator (and launcherClient()) act as KubeVirt's virt-controller: only its pods get addresses.
  process.env.KUBEVIRT_SIM_KUBECONFIG = await kubevirtKubeconfig(controlPlane, client!);
  launcher = await KubeClient.fromDefault(8, process.env.KUBEVIRT_SIM_KUBECONFIG);
  operatorProc = await startOperator();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await operatorProc?.stop();
  await launcher?.close();
  await client?.close();
  await controlPlane?.stop();
}

export function cluster(): { controlPlane: ControlPlane; client: KubeClient } {
  if (!controlPlane || !client)
    throw new Error("the control plane is not running: run integration tests through mocha's root hooks (npm test)");
  return { controlPlane, client };
}

/** A client that authenticates as KubeVirt's virt-controller: create launcher pods with it. */
export function launcherClient(): KubeClient {
  if (!launcher) throw new Error("the control plane is not running: run integration tests through mocha's root hooks (npm test)");
  return launcher;
}

/** A fresh namespace for one test, deleted afterwards by the namespace controller. */
export async function freshNamespace(prefix = "t", labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${crypto.randomBytes(3).toString("hex")}`;
  await cluster().client.create(Kinds.Namespace, { metadata: { name, labels } });
  return name;
}

/** The operator process shared by integration tests. */
export function operatorProcess(): OperatorProcess {
  if (!operatorProc) throw new Error("the operator is not running");
  return operatorProc;
}

/** Stops the shared operator (SIGKILL for crash tests) and starts a new one. */
export async function restartOperator(signal: NodeJS.Signals = "SIGTERM", whileDown?: () => Promise<void>): Promise<OperatorProcess> {
  await operatorProc?.stop(signal);
  operatorProc = undefined;
  try {
    if (whileDown) await whileDown();
  } finally {
    // Whatever happened meanwhile, later tests need a running operator.
    operatorProc = await startOperator();
  }
  return operatorProc;
}

/**
 * Runs `fn` with the validating webhooks unregistered, as during an operator outage (their
 * failurePolicy is Ignore), then restarts the operator, which registers them again.
 */
export async function duringWebhookOutage(fn: () => Promise<void>): Promise<void> {
  const { client: c } = cluster();
  await c.delete(Kinds.ValidatingWebhookConfiguration, "vmnet-operator");
  // The API server drops a deleted webhook configuration from its cache a moment later: wait
  // until a VM the webhook would refuse passes a dry run.
  const refused = {
    metadata: { name: "outage-probe", namespace: "default" },
    spec: {
      template: {
        spec: {
          domain: { devices: { interfaces: [{ name: "x", masquerade: {} }] } },
          networks: [{ name: "x", multus: { networkName: "probe" } }],
        },
      },
    },
  };
  for (let i = 0; ; i++) {
    if (i === 100)
      throw new Error("the API server still calls the deleted validating webhook after 100 dry-run probes: the outage did not start");
    const ok = await c
      .request({
        method: "POST",
        path: "/apis/kubevirt.io/v1/namespaces/default/virtualmachines",
        query: { dryRun: "All" },
        body: { apiVersion: "kubevirt.io/v1", kind: "VirtualMachine", ...refused },
        what: "outage probe",
      })
      .then(
        () => true,
        () => false,
      );
    if (ok) break;
    await new Promise(r => setTimeout(r, 100));
  }
  try {
    await fn();
  } finally {
    await restartOperator();
  }
}
