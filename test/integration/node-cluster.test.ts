// `npm run cluster` (hack/node-cluster.ts): a real node on this machine. The kubelet registers
// and goes Ready, every component reports the pinned release, a pod runs from the pause image
// built here, the API server reaches the kubelet (node proxy, pod logs), a ClusterIP Service
// reaches a pod from the host through kube-proxy's rules, kube-root-ca.crt is published, and the
// KubeVirt simulator's launcher pod really runs on the node. Needs root; under CI=true a machine
// that cannot run it fails the suite instead of skipping.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { operatorImage } from "../../hack/image/reference";
import { NODE_NAME, NodeCluster, NodeClusterUnavailable, LAUNCHER_IMAGE, PAUSE_IMAGE, startNodeCluster } from "../../hack/node-cluster";
import { eventually, vmManifest } from "../helpers";

const RELEASE = "v1.34.4";
/** The operator image carries Node.js: the one image here that can serve a port. */
const SERVER_IMAGE = operatorImage();

describe("node cluster (npm run cluster)", function () {
  this.timeout(300_000);
  let cluster: NodeCluster | undefined;
  const kubectl = (...args: string[]): string => (cluster as NodeCluster).kubectl(args);
  const apply = (obj: unknown): string => (cluster as NodeCluster).kubectl(["apply", "-f", "-"], JSON.stringify(obj));
  const json = <T>(...args: string[]): T => JSON.parse(kubectl(...args, "-o", "json")) as T;
  const namespace = (name: string): string => (apply({ apiVersion: "v1", kind: "Namespace", metadata: { name } }), name);

  before(async function () {
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
  after(async () => cluster?.stop());

  it("registers the node Ready, with an InternalIP the API server reaches", () => {
    const node = json<{
      status: { addresses: { type: string; address: string }[]; nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string } };
    }>("get", "node", NODE_NAME);
    assert.deepEqual(
      node.status.addresses.find(a => a.type === "InternalIP"),
      { type: "InternalIP", address: cluster?.addresses.nodeIp },
    );
    assert.equal(node.status.nodeInfo.kubeletVersion, RELEASE);
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
    assert.equal(kubectl("get", "--raw", `/api/v1/nodes/${NODE_NAME}/proxy/healthz`), "ok");
  });

  it("has kubectl version print client and server at the pinned release, and every binary report it", () => {
    const v = JSON.parse(kubectl("version", "-o", "json")) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    assert.equal(v.clientVersion.gitVersion, RELEASE);
    assert.equal(v.serverVersion.gitVersion, RELEASE);
    const binDir = cluster?.controlPlane.binDir as string;
    for (const bin of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"]) {
      assert.equal(execFileSync(path.join(binDir, bin), ["--version"], { encoding: "utf8" }).trim(), `Kubernetes ${RELEASE}`, bin);
    }
  });

  it("publishes kube-root-ca.crt in a new namespace", async () => {
    const ns = namespace("root-ca-check");
    await eventually("kube-root-ca.crt", async () =>
      kubectl("get", "configmap", "kube-root-ca.crt", "-n", ns, "-o", "jsonpath={.data.ca\\.crt}").includes("BEGIN CERTIFICATE"),
    );
  });

  it("runs a pod from the pause image (never pulled) and serves its logs through the kubelet", async () => {
    const ns = namespace("pause-check");
    apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "pause", namespace: ns },
      spec: { containers: [{ name: "pause", image: PAUSE_IMAGE, imagePullPolicy: "Never" }], terminationGracePeriodSeconds: 1 },
    });
    const pod = await eventually(
      "the pause pod Running",
      async () => {
        const p = json<{ spec: { nodeName?: string }; status: { phase?: string; podIP?: string } }>("get", "pod", "pause", "-n", ns);
        return p.status.phase === "Running" ? p : undefined;
      },
      90_000,
    );
    assert.equal(pod.spec.nodeName, NODE_NAME);
    assert.ok(pod.status.podIP?.startsWith(cluster?.addresses.podCidr.split(".").slice(0, 3).join(".") as string), pod.status.podIP);
    // The logs subresource goes API server -> kubelet -> containerd: pause writes nothing.
    assert.equal(kubectl("logs", "pause", "-n", ns), "");
  });

  it("reaches a pod behind a ClusterIP Service from the host", async () => {
    const ns = namespace("service-check");
    const server = "require('http').createServer((q, s) => s.end('hello from ' + process.env.HOSTNAME)).listen(8080)";
    apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", namespace: ns, labels: { app: "web" } },
      spec: {
        containers: [
          { name: "web", image: SERVER_IMAGE, imagePullPolicy: "Never", command: ["node", "-e", server], ports: [{ containerPort: 8080 }] },
        ],
        terminationGracePeriodSeconds: 1,
      },
    });
    apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: ns },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const ip = kubectl("get", "service", "web", "-n", ns, "-o", "jsonpath={.spec.clusterIP}");
    const body = await eventually("an answer through the ClusterIP", () => httpGet(ip, 80), 120_000);
    assert.equal(body, "hello from web");
  });

  it("runs the simulator's launcher pod for a VM on the node, as KubeVirt's controller", async () => {
    const ns = namespace("sim-check");
    apply(vmManifest(ns, "vm1", [{ name: "default" }]));
    const pod = await eventually(
      "a Running launcher pod",
      async () => {
        const pods = json<{
          items: {
            metadata: { name: string; managedFields?: { manager: string }[] };
            spec: { nodeName?: string; containers: { image: string }[] };
            status: { phase?: string };
          }[];
        }>("get", "pods", "-n", ns, "-l", "kubevirt.io=virt-launcher");
        return pods.items.find(p => p.status.phase === "Running");
      },
      90_000,
    );
    assert.equal(pod.spec.nodeName, NODE_NAME);
    assert.equal(pod.spec.containers[0].image, LAUNCHER_IMAGE);
    const vmi = await eventually("the VMI Running on the node", async () => {
      const v = json<{ status?: { phase?: string; nodeName?: string } }>("get", "virtualmachineinstance", "vm1", "-n", ns);
      return v.status?.phase === "Running" ? v : undefined;
    });
    assert.equal(vmi.status?.nodeName, NODE_NAME);
    // Created under KubeVirt's identity: the ServiceAccount's RBAC allows it, the admin's is not used.
    assert.equal(
      kubectl("auth", "can-i", "create", "pods", "--as=system:serviceaccount:kubevirt:kubevirt-controller", "-n", ns).trim(),
      "yes",
    );
  });
});

function httpGet(host: string, port: number): Promise<string | undefined> {
  return new Promise(resolve => {
    const socket = net.connect({ host, port, timeout: 3000 }, () => socket.end(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    let data = "";
    socket.on("data", d => (data += d.toString()));
    socket.on("end", () => resolve(data.split("\r\n\r\n")[1]));
    socket.on("error", () => resolve(undefined));
    socket.on("timeout", () => (socket.destroy(), resolve(undefined)));
  });
}
