// Races, crashes, restarts and overload never produce a duplicate or leaked address. A short
// version runs in `npm test`; `npm run test:reliability` (RELIABILITY_FULL=1) runs the full counts.
import assert from "node:assert/strict";
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { launcherInterfaceName } from "../../capabilities/domain/launcher-pod";
import { installCrds } from "../../hack/cluster-setup";
import { startControlPlane } from "../../hack/control-plane";
import { OperatorProcess, startOperator } from "../../hack/operator-process";
import { pool as inParallel, metricValues } from "../bench/scale";
import { classifyRefusal, EXPECTED_REFUSALS } from "../e2e/churn-figures";
import { createNad, createPool, eventually, gone, uniqueSubnet, vmManifest } from "../helpers";
import { cluster, freshNamespace, launcherClient, operatorProcess, restartOperator } from "../setup/cluster";
import { ApiError } from "../../capabilities/k8s/errors";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import { InvariantReport, InvariantsUnsettled, settle } from "./invariants";

const FULL = process.env.RELIABILITY_FULL === "1";
const CLUSTER_ROLE_BINDING = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  plural: "clusterrolebindings",
  namespaced: false,
};
const client = (): KubeClient => cluster().client;
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

async function network(
  opts: { size?: number; reclaimPolicy?: string; cidr?: string } = {},
): Promise<{ ns: string; pool: string; prefix: string }> {
  const ns = await freshNamespace("rel");
  const subnet = opts.cidr ? { cidr: opts.cidr, prefix: opts.cidr.split(".").slice(0, 3).join(".") } : uniqueSubnet();
  const pool = `rel-${ns}`;
  await createNad(ns, "vlan100");
  const ranges = opts.size ? [`${subnet.prefix}.10-${subnet.prefix}.${9 + opts.size}`] : undefined;
  await createPool(pool, {
    cidr: subnet.cidr,
    networks: [`${ns}/vlan100`],
    ...(ranges ? { ranges } : {}),
    reclaimPolicy: opts.reclaimPolicy ?? "Delete",
  });
  return { ns, pool, prefix: subnet.prefix };
}

const ovsVm = (ns: string, name: string): KubeObject => vmManifest(ns, name, [{ name: "ovs1", network: "vlan100" }]);

function launcherPod(ns: string, vm: string): KubeObject {
  return {
    metadata: {
      name: `virt-launcher-${vm}-r${Math.random().toString(36).slice(2, 7)}`,
      namespace: ns,
      labels: { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": vm },
      annotations: {
        "k8s.v1.cni.cncf.io/networks": JSON.stringify([{ name: "vlan100", namespace: ns, interface: launcherInterfaceName("ovs1") }]),
      },
    },
    spec: { containers: [{ name: "compute", image: "virt-launcher" }] },
  };
}

/** settle(), failing with the problems and the operator's own account of what went wrong. */
async function settled(
  c: KubeClient,
  opts: Parameters<typeof settle>[1],
  what: string,
  timeoutMs?: number,
  operator: OperatorProcess = operatorProcess(),
): Promise<InvariantReport> {
  try {
    return await settle(c, opts, timeoutMs);
  } catch (err) {
    if (!(err instanceof InvariantsUnsettled)) throw err;
    const log = operator
      .output()
      .split("\n")
      .filter(l => /"level":(40|50|60)|\[operator\]/.test(l))
      .slice(-15)
      .join("\n");
    assert.fail(`${what}: ${err.message}\noperator log (warnings and errors, last 15):\n${log}`);
  }
}

/** Creates a launcher pod as virt-controller does: a refused pod is created again (the bind may outlast the webhook's budget on a loaded machine). */
async function admitLauncherPod(ns: string, vm: string): Promise<KubeObject> {
  return eventually(
    `the launcher pod of ${ns}/${vm} to be admitted`,
    () => launcherClient().create<KubeObject>(Kinds.Pod, launcherPod(ns, vm)),
    120_000,
  );
}

const podIps = (pod: KubeObject): unknown => JSON.parse(pod.metadata?.annotations?.["k8s.v1.cni.cncf.io/networks"] ?? "[]")[0]?.ips;

/** Creates a VM, trying again (for up to 2 min) while the API server is down. */
async function createThroughRestarts(ns: string, name: string): Promise<void> {
  await eventually(
    `create ${name}`,
    () =>
      client()
        .create(Kinds.VirtualMachine, ovsVm(ns, name))
        .then(() => true),
    120_000,
  );
}

describe("reliability", function () {
  this.timeout(FULL ? 3_600_000 : 300_000);

  it(`racing allocators (3 operator processes, launcher pods binding on the spot) on a pool with exactly N free addresses, ${FULL ? 20 : 2} runs`, async () => {
    const extra: OperatorProcess[] = [await startOperator(), await startOperator()];
    try {
      for (let run = 0; run < (FULL ? 20 : 2); run++) {
        const n = FULL ? 40 : 16;
        const { ns, pool } = await network({ size: n });
        const names = Array.from({ length: n }, (_, i) => `vm-${i}`);
        // VMs and their launcher pods at once: controllers of three processes and the webhook race.
        const pods = new Map<string, KubeObject>();
        await inParallel(names, 16, async name => {
          await client().create(Kinds.VirtualMachine, ovsVm(ns, name));
          pods.set(name, await admitLauncherPod(ns, name));
        });
        await settled(client(), { namespace: ns, pools: [pool], expectBound: n }, `run ${run}`);
        // Every pod was admitted with exactly its claim's address (bound on the spot or by a controller).
        const claims = new Map(
          (await client().list<IPClaim>(Kinds.IPClaim, { namespace: ns })).items.map(c => [c.spec!.vm, c.status?.addresses]),
        );
        assert.equal(pods.size, n);
        for (const [name, pod] of pods) assert.deepEqual(podIps(pod), claims.get(name), `launcher pod of ${name}`);
      }
    } finally {
      await Promise.all(extra.map(o => o.stop()));
    }
  });

  it(`the operator killed with SIGKILL at random moments during ${FULL ? 1000 : 150} allocations, ${FULL ? 10 : 3} times`, async () => {
    const n = FULL ? 1000 : 150;
    // Pools of different networks may overlap: a /20 of its own leaves room for 1,000 VMs.
    const { ns, pool } = await network({ cidr: "10.180.0.0/20" });
    const names = Array.from({ length: n }, (_, i) => `vm-${i}`);
    const creating = inParallel(names, 16, name => client().create(Kinds.VirtualMachine, ovsVm(ns, name)));
    for (let k = 0; k < (FULL ? 10 : 3); k++) {
      await sleep(200 + Math.random() * (FULL ? 3000 : 1200));
      await restartOperator("SIGKILL");
    }
    await creating;
    await settled(client(), { namespace: ns, pools: [pool], expectBound: n }, "after kills", 180_000);
  });

  it("survives kube-apiserver and etcd restarts during churn: watches recover and every VM ends bound", async () => {
    const { ns, pool } = await network();
    const n = FULL ? 200 : 40;
    const names = Array.from({ length: n }, (_, i) => `vm-${i}`);
    const creating = inParallel(names, 8, name => createThroughRestarts(ns, name));
    await sleep(500);
    await cluster().controlPlane.restartApiServer(false);
    await sleep(500);
    await cluster().controlPlane.restartApiServer(true); // etcd too
    await creating;
    // A VM created well after the restarts proves the watches came back (not only the resync).
    await client().create(Kinds.VirtualMachine, ovsVm(ns, "after-restart"));
    await settled(client(), { namespace: ns, pools: [pool], expectBound: n + 1 }, "after restarts", 120_000);
    assert.ok(operatorProcess().child.exitCode === null, "the operator survived the restarts");
  });

  it("retries 429s from an overloaded API server (low max-requests-inflight) with backoff", async () => {
    const cp = await startControlPlane({
      apiServerFlags: ["--max-requests-inflight=3", "--max-mutating-requests-inflight=1", "--enable-priority-and-fairness=false"],
      beforeControllerManager: async kubeconfig => {
        const saved = process.env.KUBECONFIG;
        process.env.KUBECONFIG = kubeconfig;
        const c = await KubeClient.fromDefault();
        await installCrds(c);
        await c.close();
        process.env.KUBECONFIG = saved;
      },
    });
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = cp.kubeconfig;
    const c = await KubeClient.fromDefault();
    process.env.KUBECONFIG = saved;
    // The admin (system:masters) is exempt from in-flight limits: run the operator as its own
    // user, bound to cluster-admin here, so the API server's 429s reach it.
    const operatorUser = "vmnet-operator-overload";
    await c.apply(CLUSTER_ROLE_BINDING, {
      metadata: { name: operatorUser },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: operatorUser }],
    });
    const op = await startOperator({ KUBECONFIG: cp.userKubeconfig(operatorUser), VMNET_OPERATOR_IDENTITY: operatorUser });
    try {
      await c.apply(Kinds.Namespace, { metadata: { name: "overload" } });
      await c.apply(Kinds.NetworkAttachmentDefinition, {
        metadata: { name: "vlan100", namespace: "overload" },
        spec: {
          config: JSON.stringify({ cniVersion: "0.4.0", type: "ovs", bridge: "br", ipam: { type: "static" }, capabilities: { ips: true } }),
        },
      });
      await c.apply(Kinds.IPPool, { metadata: { name: "overload" }, spec: { cidr: "10.77.0.0/24", networks: ["overload/vlan100"] } });
      const n = FULL ? 200 : 60;
      await inParallel(
        Array.from({ length: n }, (_, i) => `vm-${i}`),
        16,
        name => c.create(Kinds.VirtualMachine, ovsVm("overload", name)),
      );
      await settled(c, { namespace: "overload", pools: ["overload"], expectBound: n }, "under overload", 180_000, op);
      const metrics = await (await fetch(`http://127.0.0.1:${op.metricsPort}/metrics`)).text();
      const retried = metricValues(metrics, "vmnet_api_retries_total").reduce((n, m) => n + m.value, 0);
      console.log(
        `      answers retried with backoff by the operator: ${retried} (${metricValues(metrics, "vmnet_api_retries_total")
          .map(m => `${m.labels.status}: ${m.value}`)
          .join(", ")})`,
      );
      assert.ok(retried > 0, "the overloaded API server refused nothing: the test did not test retries");
    } finally {
      await op.stop();
      await c.close();
      await cp.stop();
    }
  });

  it("returns pools to zero when all VMs are deleted while the operator is down", async () => {
    const { ns, pool } = await network();
    const names = Array.from({ length: 20 }, (_, i) => `vm-${i}`);
    await inParallel(names, 8, name => client().create(Kinds.VirtualMachine, ovsVm(ns, name)));
    await settled(client(), { namespace: ns, pools: [pool], expectBound: 20 }, "before");
    await restartOperator("SIGKILL", async () => {
      await inParallel(names, 8, name => client().delete(Kinds.VirtualMachine, name, ns));
    });
    for (const name of names) await gone(Kinds.VirtualMachine, name, ns, 60_000);
    const report = await settled(client(), { namespace: ns, pools: [pool], expectBound: 0 }, "after");
    assert.equal(report.allocations, 0);
  });

  it("a VM deleted and re-created at once under the same name ends with one address, none leaked", async () => {
    const { ns, pool } = await network();
    await client().create(Kinds.VirtualMachine, ovsVm(ns, "phoenix"));
    await settled(client(), { namespace: ns, pools: [pool], expectBound: 1 }, "first creation");
    for (let i = 0; i < 5; i++) {
      await client().delete(Kinds.VirtualMachine, "phoenix", ns);
      await gone(Kinds.VirtualMachine, "phoenix", ns);
      await client().create(Kinds.VirtualMachine, ovsVm(ns, "phoenix"));
    }
    const report = await settled(client(), { namespace: ns, pools: [pool], expectBound: 1 }, "after re-creations");
    assert.equal(report.allocations, 1);
  });

  it("a stopped VM keeps its address: another VM asking for it is told who holds it", async () => {
    const { ns, prefix } = await network();
    await client().create(
      Kinds.VirtualMachine,
      vmManifest(ns, "sleeper", [{ name: "ovs1", network: "vlan100" }], { "vmnet.io/addresses": `{"ovs1": "${prefix}.77"}` }, "Halted"),
    );
    await settled(client(), { namespace: ns, pools: [`rel-${ns}`], expectBound: 1 }, "the stopped VM bound");
    const err = await client()
      .create(
        Kinds.VirtualMachine,
        vmManifest(ns, "thief", [{ name: "ovs1", network: "vlan100" }], { "vmnet.io/addresses": `{"ovs1": "${prefix}.77"}` }),
      )
      .then(
        () => undefined,
        (e: Error) => e,
      );
    assert.match(String(err?.message), /sleeper/);
  });

  it("a launcher pod refused after an on-the-spot bind leaks nothing: the address belongs to the VM and goes with it", async () => {
    const { ns, pool } = await network();
    await client().create(Kinds.VirtualMachine, ovsVm(ns, "vm"));
    // A dry-run pod create passes the mutating webhook (which must not bind on dry run) and is never stored.
    const dry = await launcherClient()
      .request({
        method: "POST",
        path: `/api/v1/namespaces/${ns}/pods`,
        query: { dryRun: "All" },
        body: launcherPod(ns, "vm"),
        what: "dry-run pod",
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    // Admitted when the controller bound the claim first, else one of the designed refusals, nothing
    // else: no address yet, or the claim was Bound between the mutation (which saw none) and the
    // validation (which then renders the address the pod lacks). The e2e churn test counts both so.
    if (dry !== undefined) {
      const message = String((dry as Error).message);
      assert.ok(EXPECTED_REFUSALS.has(classifyRefusal(message)), `not a designed refusal: ${message}`);
    }
    const invalid = await launcherClient()
      .create(Kinds.Pod, { ...launcherPod(ns, "vm"), spec: { containers: [] } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(
      invalid instanceof ApiError && invalid.status === 422,
      `the API server's validation should refuse a pod without containers, got ${String(invalid)}`,
    );
    await settled(client(), { namespace: ns, pools: [pool], expectBound: 1 }, "the VM bound");
    await client().delete(Kinds.VirtualMachine, "vm", ns);
    await gone(Kinds.VirtualMachine, "vm", ns);
    const report = await settled(client(), { namespace: ns, pools: [pool], expectBound: 0 }, "after the VM went");
    assert.equal(report.allocations, 0);
  });
});
