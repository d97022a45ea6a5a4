// End to end against the operator AS INSTALLED (issue 10, deliverables 4, 7, 8): a node cluster of
// its own (hack/node-cluster.ts: real kubelet, containerd, kube-proxy, the KubeVirt simulator as
// KubeVirt's controller identity), the built image imported, and the operator brought up by the
// commands the README documents: `kubectl apply --server-side -k config/standalone` and
// `helm install`. Everything goes through kubectl and helm, as a user would; the API server calls
// the webhooks through the Service over TLS, so a launcher pod with its address proves that path.
// Needs root; under CI=true a machine that cannot run it fails the suite instead of skipping.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { NodeCluster, NodeClusterUnavailable, startNodeCluster } from "../../hack/node-cluster";
import { OVS_STATIC_CONFIG, eventually, vmManifest } from "../helpers";

const REPO = path.join(__dirname, "..", "..");
const IMAGE = process.env.VMNET_OPERATOR_IMAGE ?? "localhost/vmnet-operator:0.1.0";
const KUSTOMIZE_NS = "pepr-system";
const HELM_NS = "vmnet-helm";
const NETWORKS = "k8s.v1.cni.cncf.io/networks";
const DEPLOYMENTS = ["vmnet-operator", "vmnet-operator-watcher"];

interface Obj {
  metadata: { name: string; namespace?: string; finalizers?: string[]; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec?: Record<string, unknown> & { containers?: { image: string }[] };
  status?: Record<string, unknown> & {
    phase?: string;
    addresses?: string[];
    mac?: string;
    allocated?: number;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready: boolean; image: string }[];
  };
}
interface Element {
  name: string;
  ips?: string[];
  mac?: string;
}

const seconds = (t0: number): string => ((Date.now() - t0) / 1000).toFixed(1);
const figures: string[] = [];
const record = (line: string): void => {
  figures.push(line);
  console.log(`      [e2e] ${line}`);
};

describe("e2e: the operator as installed on a real node", function () {
  this.timeout(600_000);
  let cluster: NodeCluster | undefined;
  const c = (): NodeCluster => cluster as NodeCluster;
  const kubectl = (...args: string[]): string => c().kubectl(args);
  const apply = (obj: unknown): string => c().kubectl(["apply", "-f", "-"], JSON.stringify(obj));
  const get = (...args: string[]): Obj => JSON.parse(kubectl("get", ...args, "-o", "json")) as Obj;
  const getOr = (...args: string[]): Obj | undefined => {
    try {
      return get(...args);
    } catch (err) {
      if (/NotFound|not found/.test(String(err))) return undefined;
      throw err;
    }
  };
  const list = (...args: string[]): Obj[] => (JSON.parse(kubectl("get", ...args, "-o", "json")) as { items: Obj[] }).items;
  const helm = (...args: string[]): string => {
    const bin = execFileSync("bash", [path.join(REPO, "hack", "build-helm.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").pop() as string;
    try {
      return execFileSync(bin, args, { encoding: "utf8", env: { ...process.env, KUBECONFIG: c().kubeconfig }, stdio: ["ignore", "pipe", "pipe"], cwd: REPO });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`helm ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
    }
  };

  before(async function () {
    this.timeout(300_000);
    try {
      cluster = await startNodeCluster();
    } catch (err) {
      if (err instanceof NodeClusterUnavailable && process.env.CI !== "true") {
        console.warn(`      skipped: ${err.message}`);
        this.skip();
      }
      throw err;
    }
  });
  after(async () => {
    if (figures.length) console.log(`      [e2e] figures: ${figures.join("; ")}`);
    await cluster?.stop();
  });

  /** Both Deployments rolled out, every pod Ready and running the built image. */
  async function waitInstalled(ns: string): Promise<void> {
    for (const d of DEPLOYMENTS) {
      await eventually(
        `Deployment ${ns}/${d} rolled out with every replica Ready`,
        async () => {
          const dep = get("deployment", d, "-n", ns);
          const want = (dep.spec?.replicas as number | undefined) ?? 1;
          const s = dep.status as { readyReplicas?: number; updatedReplicas?: number; replicas?: number } | undefined;
          return s?.readyReplicas === want && s.updatedReplicas === want && s.replicas === want;
        },
        240_000,
      );
    }
    const pods = list("pods", "-n", ns, "-l", "app.kubernetes.io/part-of=vmnet-operator").filter(p => !p.metadata.deletionTimestamp);
    assert.ok(pods.length >= 4, `expected both Deployments' pods in ${ns}, saw ${pods.map(p => p.metadata.name).join(", ")}`);
    for (const p of pods) {
      assert.equal(p.spec?.containers?.[0].image, IMAGE, `${p.metadata.name} runs the built image`);
      assert.ok(p.status?.containerStatuses?.every(s => s.ready), `${p.metadata.name} Ready`);
    }
  }

  /** A namespace with an ovs NAD (static IPAM) and a pool for it, all by kubectl apply. */
  function network(ns: string, pool: string, third: number): void {
    apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    apply({ apiVersion: "k8s.cni.cncf.io/v1", kind: "NetworkAttachmentDefinition", metadata: { name: "vlan100", namespace: ns }, spec: { config: OVS_STATIC_CONFIG("vlan100") } });
    apply({ apiVersion: "vmnet.io/v1alpha1", kind: "IPPool", metadata: { name: pool }, spec: { cidr: `10.77.${third}.0/24`, gateway: `10.77.${third}.1`, networks: [`${ns}/vlan100`] } });
  }

  const vm = (ns: string, name: string): unknown => vmManifest(ns, name, [{ name: "default" }, { name: "ovs1", network: "vlan100" }]);

  async function boundClaim(ns: string, name: string): Promise<Obj> {
    return eventually(
      `IPClaim ${ns}/${name} Bound`,
      async () => {
        const claim = getOr("ipclaim", name, "-n", ns);
        return claim?.status?.conditions?.some(x => x.type === "Bound" && x.status === "True") ? claim : undefined;
      },
      90_000,
    );
  }

  const launchers = (ns: string, name: string): Obj[] =>
    list("pods", "-n", ns, "-l", `kubevirt.io=virt-launcher,vm.kubevirt.io/name=${name}`).filter(p => !p.metadata.deletionTimestamp);
  const elementOf = (pod: Obj): Element | undefined => (JSON.parse(pod.metadata.annotations?.[NETWORKS] ?? "[]") as Element[])[0];

  /** The VM's launcher pod Running on the node, with the claim's address and MAC on its NIC. */
  async function launcherWithAddress(ns: string, name: string, claim: Obj, not?: string): Promise<Obj> {
    const pod = await eventually(
      `a Running launcher pod of ${ns}/${name}${not ? ` other than ${not}` : ""}`,
      async () => launchers(ns, name).find(p => p.status?.phase === "Running" && p.metadata.name !== not),
      120_000,
    );
    const el = elementOf(pod);
    assert.deepEqual([el?.ips, el?.mac], [claim.status?.addresses, claim.status?.mac], `${pod.metadata.name}'s ${NETWORKS}`);
    return pod;
  }

  async function released(ns: string, name: string, pool: string): Promise<void> {
    kubectl("delete", "vm", name, "-n", ns, "--timeout=120s");
    await eventually(`IPClaim ${ns}/${name}.ovs1 gone after its VM was deleted`, async () => !getOr("ipclaim", `${name}.ovs1`, "-n", ns), 90_000);
    await eventually(`IPPool ${pool} back to 0 allocated`, async () => (get("ippool", pool).status?.allocated ?? 0) === 0, 90_000);
  }

  it("installs with kubectl apply --server-side -k config/standalone: both Deployments Ready on the built image", async () => {
    const v = JSON.parse(kubectl("version", "-o", "json")) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    assert.match(v.serverVersion.gitVersion, /^v1\.\d+\.\d+$/);
    assert.equal(v.clientVersion.gitVersion, v.serverVersion.gitVersion);
    const t0 = Date.now();
    kubectl("apply", "--server-side", "-k", path.join(REPO, "config", "standalone"));
    await waitInstalled(KUSTOMIZE_NS);
    record(`kustomize install to Ready ${seconds(t0)} s`);
    // The webhooks go to the Service (not a URL), with the operator's own CA in caBundle.
    const hooks = JSON.parse(kubectl("get", "mutatingwebhookconfigurations", "-o", "json")) as { items: { webhooks: { clientConfig: { service?: { namespace: string; name: string }; caBundle?: string } }[] }[] };
    const ours = hooks.items.flatMap(h => h.webhooks).filter(w => w.clientConfig.service?.name === "vmnet-operator");
    assert.ok(ours.length > 0, "a mutating webhook served by Service vmnet-operator");
    for (const w of ours) assert.ok(w.clientConfig.caBundle, "the webhook has a caBundle");
  });

  it("runs the lifecycle: pool, NAD and VM by kubectl; claim Bound; launcher pod admitted with ips and mac; migration keeps them; delete releases", async () => {
    const ns = "e2e-life";
    const pool = "e2e-life";
    network(ns, pool, 1);
    const t0 = Date.now();
    apply(vm(ns, "vm1"));
    const claim = await boundClaim(ns, "vm1.ovs1");
    const source = await launcherWithAddress(ns, "vm1", claim);
    record(`VM apply to launcher pod Running with its address ${seconds(t0)} s`);
    assert.equal(get("ippool", pool).status?.allocated, 1);

    const t1 = Date.now();
    apply({ apiVersion: "kubevirt.io/v1", kind: "VirtualMachineInstanceMigration", metadata: { name: "mig1", namespace: ns }, spec: { vmiName: "vm1" } });
    const phase = await eventually(
      "migration mig1 to finish",
      async () => {
        const p = get("virtualmachineinstancemigration", "mig1", "-n", ns).status?.phase;
        return p === "Succeeded" || p === "Failed" ? p : undefined;
      },
      120_000,
    );
    assert.equal(phase, "Succeeded");
    await launcherWithAddress(ns, "vm1", claim, source.metadata.name);
    await eventually("only the migration target's launcher pod left", async () => launchers(ns, "vm1").every(p => p.metadata.name !== source.metadata.name), 90_000);
    record(`migration to target pod with the same address ${seconds(t1)} s`);
    assert.deepEqual(get("ipclaim", "vm1.ovs1", "-n", ns).status?.addresses, claim.status?.addresses);

    const t2 = Date.now();
    await released(ns, "vm1", pool);
    record(`VM delete to address released ${seconds(t2)} s; whole lifecycle ${seconds(t0)} s`);
  });

  it("uninstalls with kubectl delete -k config/standalone, leaving nothing stuck on a finalizer of ours", async () => {
    // Something for the uninstall to meet: a VM holding an address.
    const ns = "e2e-uninstall";
    network(ns, "e2e-uninstall", 2);
    apply(vm(ns, "vm2"));
    await boundClaim(ns, "vm2.ovs1");
    const t0 = Date.now();
    kubectl("delete", "-k", path.join(REPO, "config", "standalone"), "--timeout=180s");
    await eventually(`namespace ${KUSTOMIZE_NS} gone`, async () => !getOr("namespace", KUSTOMIZE_NS), 180_000);
    for (const crd of ["ippools.vmnet.io", "ipclaims.vmnet.io", "ipallocations.vmnet.io"]) {
      await eventually(`CRD ${crd} gone (its objects held no finalizer)`, async () => !getOr("crd", crd), 120_000);
    }
    record(`kustomize uninstall ${seconds(t0)} s`);
    const left = get("vm", "vm2", "-n", ns);
    assert.deepEqual((left.metadata.finalizers ?? []).filter(f => f.includes("vmnet")), [], "no vmnet finalizer on the VM");
    kubectl("delete", "vm", "vm2", "-n", ns, "--timeout=60s");
    kubectl("delete", "namespace", ns, "--timeout=120s");
    kubectl("delete", "namespace", "e2e-life", "--timeout=120s");
  });

  it("installs with helm install into another namespace, runs a short lifecycle, and serves vmnet_ metrics in the pod network", async () => {
    const t0 = Date.now();
    helm("install", "vmnet-operator", "charts/vmnet-operator", "-n", HELM_NS, "--create-namespace", "--timeout", "5m");
    await waitInstalled(HELM_NS);
    record(`helm install to Ready ${seconds(t0)} s`);

    const ns = "e2e-helm";
    network(ns, "e2e-helm", 3);
    apply(vm(ns, "vm3"));
    const claim = await boundClaim(ns, "vm3.ovs1");
    await launcherWithAddress(ns, "vm3", claim);

    // A scrape from inside the pod network: a pod of the operator image (it has node, no shell).
    const ip = kubectl("get", "service", "vmnet-operator-metrics", "-n", HELM_NS, "-o", "jsonpath={.spec.clusterIP}");
    const script = `fetch('http://${ip}:9464/metrics').then(r => r.text()).then(t => console.log(t), e => { console.error(String(e)); process.exit(1); })`;
    apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "scrape", namespace: ns },
      spec: { restartPolicy: "OnFailure", terminationGracePeriodSeconds: 1, containers: [{ name: "scrape", image: IMAGE, imagePullPolicy: "Never", command: ["node", "-e", script] }] },
    });
    await eventually("the scrape pod Succeeded", async () => get("pod", "scrape", "-n", ns).status?.phase === "Succeeded", 120_000);
    const body = kubectl("logs", "scrape", "-n", ns);
    const series = [...new Set(body.split("\n").filter(l => l.startsWith("vmnet_")).map(l => l.split(/[{ ]/)[0]))];
    assert.ok(series.length > 0, `vmnet_ series in the scrape of ${ip}:9464: ${body.slice(0, 400)}`);
    record(`metrics: ${series.length} vmnet_ series through Service vmnet-operator-metrics`);

    await released(ns, "vm3", "e2e-helm");
    const t1 = Date.now();
    helm("uninstall", "vmnet-operator", "-n", HELM_NS, "--wait", "--timeout", "3m");
    await eventually(`the operator's pods in ${HELM_NS} gone`, async () => list("pods", "-n", HELM_NS, "-l", "app.kubernetes.io/part-of=vmnet-operator").length === 0, 120_000);
    record(`helm uninstall ${seconds(t1)} s`);
    kubectl("delete", "namespace", ns, "--timeout=120s");
  });
});
