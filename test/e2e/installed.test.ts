// End to end against the operator AS INSTALLED (issue 10, deliverables 4, 7, 8): a node cluster of
// its own (hack/node-cluster.ts: real kubelet, containerd, kube-proxy, the KubeVirt simulator as
// KubeVirt's controller identity), the built image imported, and the operator brought up by the
// commands the README documents: `kubectl apply --server-side -k config/standalone` and
// `helm install`. Everything goes through kubectl and helm, as a user would; the API server calls
// the webhooks through the Service over TLS, so a launcher pod with its address proves that path.
// Needs root; under CI=true a machine that cannot run it fails the suite instead of skipping.
import assert from "node:assert/strict";
import path from "node:path";
import type { NodeCluster } from "../../hack/node-cluster";
import { eventually } from "../helpers";
import { Figures, Installed, REPO, nodeClusterOrSkip, poolVm, seconds } from "./installed-cluster";

const IMAGE = process.env.VMNET_OPERATOR_IMAGE ?? "localhost/vmnet-operator:0.1.0";
const KUSTOMIZE_NS = "pepr-system";
const HELM_NS = "vmnet-helm";

const figures = new Figures("e2e");
const record = (line: string): void => figures.record(line);

describe("e2e: the operator as installed on a real node", function () {
  this.timeout(600_000);
  let cluster: NodeCluster | undefined;
  let op: Installed;
  before(async function () {
    this.timeout(300_000);
    cluster = await nodeClusterOrSkip(this);
    op = new Installed(cluster);
  });
  after(async () => {
    figures.print();
    await cluster?.stop();
  });

  it("installs with kubectl apply --server-side -k config/standalone: both Deployments Ready on the built image", async () => {
    const v = JSON.parse(op.kubectl("version", "-o", "json")) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    assert.match(v.serverVersion.gitVersion, /^v1\.\d+\.\d+$/);
    assert.equal(v.clientVersion.gitVersion, v.serverVersion.gitVersion);
    const t0 = Date.now();
    op.kubectl("apply", "--server-side", "-k", path.join(REPO, "config", "standalone"));
    await op.waitInstalled(KUSTOMIZE_NS, IMAGE);
    record(`kustomize install to Ready ${seconds(t0)} s`);
    // The webhooks go to the Service (not a URL), with the operator's own CA in caBundle.
    const hooks = JSON.parse(op.kubectl("get", "mutatingwebhookconfigurations", "-o", "json")) as {
      items: { webhooks: { clientConfig: { service?: { namespace: string; name: string }; caBundle?: string } }[] }[];
    };
    const ours = hooks.items.flatMap(h => h.webhooks).filter(w => w.clientConfig.service?.name === "vmnet-operator");
    assert.ok(ours.length > 0, "a mutating webhook served by Service vmnet-operator");
    for (const w of ours) assert.ok(w.clientConfig.caBundle, "the webhook has a caBundle");
  });

  it("runs the lifecycle: pool, NAD and VM by kubectl; claim Bound; launcher pod admitted with ips and mac; migration keeps them; delete releases", async () => {
    const ns = "e2e-life";
    const pool = "e2e-life";
    op.network(ns, pool, 1);
    const t0 = Date.now();
    op.apply(poolVm(ns, "vm1"));
    const claim = await op.boundClaim(ns, "vm1.ovs1");
    const source = await op.launcherWithAddress(ns, "vm1", claim);
    record(`VM apply to launcher pod Running with its address ${seconds(t0)} s`);
    assert.equal(op.get("ippool", pool).status?.allocated, 1);

    const t1 = Date.now();
    op.apply({
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstanceMigration",
      metadata: { name: "mig1", namespace: ns },
      spec: { vmiName: "vm1" },
    });
    const phase = await eventually(
      "migration mig1 to finish",
      async () => {
        const p = op.get("virtualmachineinstancemigration", "mig1", "-n", ns).status?.phase;
        return p === "Succeeded" || p === "Failed" ? p : undefined;
      },
      120_000,
    );
    assert.equal(phase, "Succeeded");
    await op.launcherWithAddress(ns, "vm1", claim, source.metadata.name);
    await eventually(
      "only the migration target's launcher pod left",
      async () => op.launchers(ns, "vm1").every(p => p.metadata.name !== source.metadata.name),
      90_000,
    );
    record(`migration to target pod with the same address ${seconds(t1)} s`);
    assert.deepEqual(op.get("ipclaim", "vm1.ovs1", "-n", ns).status?.addresses, claim.status?.addresses);

    const t2 = Date.now();
    await op.released(ns, "vm1", pool);
    record(`VM delete to address released ${seconds(t2)} s; whole lifecycle ${seconds(t0)} s`);
  });

  it("uninstalls with kubectl delete -k config/standalone, leaving nothing stuck on a finalizer of ours", async () => {
    // Something for the uninstall to meet: a VM holding an address.
    const ns = "e2e-uninstall";
    op.network(ns, "e2e-uninstall", 2);
    op.apply(poolVm(ns, "vm2"));
    await op.boundClaim(ns, "vm2.ovs1");
    const t0 = Date.now();
    op.kubectl("delete", "-k", path.join(REPO, "config", "standalone"), "--timeout=180s");
    await eventually(`namespace ${KUSTOMIZE_NS} gone`, async () => !op.getOr("namespace", KUSTOMIZE_NS), 180_000);
    for (const crd of ["ippools.vmnet.io", "ipclaims.vmnet.io", "ipallocations.vmnet.io"]) {
      await eventually(`CRD ${crd} gone (its objects held no finalizer)`, async () => !op.getOr("crd", crd), 120_000);
    }
    record(`kustomize uninstall ${seconds(t0)} s`);
    const left = op.get("vm", "vm2", "-n", ns);
    assert.deepEqual(
      (left.metadata.finalizers ?? []).filter(f => f.includes("vmnet")),
      [],
      "no vmnet finalizer on the VM",
    );
    op.kubectl("delete", "vm", "vm2", "-n", ns, "--timeout=60s");
    op.kubectl("delete", "namespace", ns, "--timeout=120s");
    op.kubectl("delete", "namespace", "e2e-life", "--timeout=120s");
  });

  it("installs with helm install into another namespace, runs a short lifecycle, and serves vmnet_ metrics in the pod network", async () => {
    const t0 = Date.now();
    op.helm("install", "vmnet-operator", "charts/vmnet-operator", "-n", HELM_NS, "--create-namespace", "--timeout", "5m");
    await op.waitInstalled(HELM_NS, IMAGE);
    record(`helm install to Ready ${seconds(t0)} s`);

    const ns = "e2e-helm";
    op.network(ns, "e2e-helm", 3);
    op.apply(poolVm(ns, "vm3"));
    const claim = await op.boundClaim(ns, "vm3.ovs1");
    await op.launcherWithAddress(ns, "vm3", claim);

    // A scrape from inside the pod network: a pod of the operator image (it has node, no shell).
    const ip = op.kubectl("get", "service", "vmnet-operator-metrics", "-n", HELM_NS, "-o", "jsonpath={.spec.clusterIP}");
    const script = `fetch('http://${ip}:9464/metrics').then(r => r.text()).then(t => console.log(t), e => { console.error(String(e)); process.exit(1); })`;
    op.apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "scrape", namespace: ns },
      spec: {
        restartPolicy: "OnFailure",
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "scrape", image: IMAGE, imagePullPolicy: "Never", command: ["node", "-e", script] }],
      },
    });
    await eventually("the scrape pod Succeeded", async () => op.get("pod", "scrape", "-n", ns).status?.phase === "Succeeded", 120_000);
    const body = op.kubectl("logs", "scrape", "-n", ns);
    const series = [
      ...new Set(
        body
          .split("\n")
          .filter(l => l.startsWith("vmnet_"))
          .map(l => l.split(/[{ ]/)[0]),
      ),
    ];
    assert.ok(series.length > 0, `vmnet_ series in the scrape of ${ip}:9464: ${body.slice(0, 400)}`);
    record(`metrics: ${series.length} vmnet_ series through Service vmnet-operator-metrics`);

    await op.released(ns, "vm3", "e2e-helm");
    const t1 = Date.now();
    op.helm("uninstall", "vmnet-operator", "-n", HELM_NS, "--wait", "--timeout", "3m");
    await eventually(
      `the operator's pods in ${HELM_NS} gone`,
      async () => op.list("pods", "-n", HELM_NS, "-l", "app.kubernetes.io/part-of=vmnet-operator").length === 0,
      120_000,
    );
    record(`helm uninstall ${seconds(t1)} s`);
    op.kubectl("delete", "namespace", ns, "--timeout=120s");
  });
});
