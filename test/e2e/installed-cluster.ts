// What the end-to-end suites against the installed operator share (test/e2e/*.test.ts): kubectl
// and helm against a node cluster of hack/node-cluster.ts, waits for an install to be Ready on an
// image, and the pool, NAD and VM a user would apply. Reads that run while something else must
// keep going (churn, a Lease watch) are asynchronous: a synchronous kubectl would stall the event
// loop for its whole run.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ensureBinaries } from "../../hack/control-plane";
import { NodeCluster, NodeClusterOptions, NodeClusterUnavailable, startNodeCluster } from "../../hack/node-cluster";
import { OVS_STATIC_CONFIG, eventually, vmManifest } from "../helpers";

const execFileAsync = promisify(execFile);

export const REPO = path.join(__dirname, "..", "..");
export const NETWORKS = "k8s.v1.cni.cncf.io/networks";
export const DEPLOYMENTS = ["vmnet-operator", "vmnet-operator-watcher"];

export interface Obj {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown> & { containers?: { image: string }[]; replicas?: number };
  status?: Record<string, unknown> & {
    phase?: string;
    addresses?: string[];
    mac?: string;
    allocated?: number;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready: boolean; image: string }[];
  };
}
export interface Element {
  name: string;
  ips?: string[];
  mac?: string;
}

export const seconds = (t0: number): string => ((Date.now() - t0) / 1000).toFixed(1);

/**
 * A node cluster of its own for an e2e suite, from its before(): where the machine cannot run
 * one (no root, no containerd, ...) the suite is skipped, except under CI=true, where that fails
 * the run (CI must never pass by skipping).
 */
export async function nodeClusterOrSkip(ctx: Mocha.Context, opts: NodeClusterOptions = {}): Promise<NodeCluster> {
  try {
    return await startNodeCluster(opts);
  } catch (err) {
    if (err instanceof NodeClusterUnavailable && process.env.CI !== "true") {
      console.warn(`      skipped: ${err.message}`);
      ctx.skip();
    }
    throw err;
  }
}

/** Figures printed as they come and once more, all together, at the end of a suite. */
export class Figures {
  readonly lines: string[] = [];
  constructor(private readonly tag: string) {}
  record(line: string): void {
    this.lines.push(line);
    console.log(`      [${this.tag}] ${line}`);
  }
  print(): void {
    if (this.lines.length) console.log(`      [${this.tag}] figures: ${this.lines.join("; ")}`);
  }
}

const isNotFound = (err: unknown): boolean => /NotFound|not found/.test(String(err));

let helmBinary: string | undefined;
/** hack/build-helm.sh's binary (built once, cached). */
function helmBin(): string {
  helmBinary ??= execFileSync("bash", [path.join(REPO, "hack", "build-helm.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  })
    .trim()
    .split("\n")
    .pop() as string;
  return helmBinary;
}

let kubectlBinary: string | undefined;
const kubectlBin = (): string => (kubectlBinary ??= path.join(ensureBinaries(), "kubectl"));

/** kubectl and helm against one node cluster, as a user would run them. */
export class Installed {
  constructor(readonly cluster: NodeCluster) {}

  kubectl(...args: string[]): string {
    return this.cluster.kubectl(args);
  }
  apply(obj: unknown): string {
    return this.cluster.kubectl(["apply", "-f", "-"], JSON.stringify(obj));
  }
  get(...args: string[]): Obj {
    return JSON.parse(this.kubectl("get", ...args, "-o", "json")) as Obj;
  }
  getOr(...args: string[]): Obj | undefined {
    try {
      return this.get(...args);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
  list(...args: string[]): Obj[] {
    return (JSON.parse(this.kubectl("get", ...args, "-o", "json")) as { items: Obj[] }).items;
  }

  /** kubectl without blocking the event loop; throws with the command and its stderr. */
  async kubectlAsync(...args: string[]): Promise<string> {
    return run(kubectlBin(), ["--kubeconfig", this.cluster.kubeconfig, ...args], this.cluster.kubeconfig, "kubectl");
  }
  async getAsync(...args: string[]): Promise<Obj> {
    return JSON.parse(await this.kubectlAsync("get", ...args, "-o", "json")) as Obj;
  }
  async listAsync(...args: string[]): Promise<Obj[]> {
    return (JSON.parse(await this.kubectlAsync("get", ...args, "-o", "json")) as { items: Obj[] }).items;
  }

  helm(...args: string[]): string {
    try {
      return execFileSync(helmBin(), args, {
        encoding: "utf8",
        env: { ...process.env, KUBECONFIG: this.cluster.kubeconfig },
        stdio: ["ignore", "pipe", "pipe"],
        cwd: REPO,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`helm ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
    }
  }
  async helmAsync(...args: string[]): Promise<string> {
    return run(helmBin(), args, this.cluster.kubeconfig, "helm");
  }

  /** Both Deployments rolled out (the current template on every replica), every pod Ready and running `image`. */
  async waitInstalled(ns: string, image: string, timeoutMs = 240_000): Promise<void> {
    for (const d of DEPLOYMENTS) {
      await eventually(
        `Deployment ${ns}/${d} rolled out on ${image} with every replica Ready`,
        async () => rolledOut(await this.getAsync("deployment", d, "-n", ns), image),
        timeoutMs,
      );
    }
    const pods = (await this.listAsync("pods", "-n", ns, "-l", "app.kubernetes.io/part-of=vmnet-operator")).filter(
      p => !p.metadata.deletionTimestamp,
    );
    assert.ok(pods.length >= 4, `expected both Deployments' pods in ${ns}, saw ${pods.map(p => p.metadata.name).join(", ")}`);
    for (const p of pods) {
      assert.equal(p.spec?.containers?.[0].image, image, `${p.metadata.name} runs ${image}`);
      assert.ok(
        p.status?.containerStatuses?.every(s => s.ready),
        `${p.metadata.name} Ready`,
      );
    }
  }

  /** A namespace with an ovs NAD (static IPAM) and a pool for it, all by kubectl apply. */
  network(ns: string, pool: string, third: number): void {
    this.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    this.apply({
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { name: "vlan100", namespace: ns },
      spec: { config: OVS_STATIC_CONFIG("vlan100") },
    });
    this.apply({
      apiVersion: "vmnet.io/v1alpha1",
      kind: "IPPool",
      metadata: { name: pool },
      spec: { cidr: `10.77.${third}.0/24`, gateway: `10.77.${third}.1`, networks: [`${ns}/vlan100`] },
    });
  }

  async boundClaim(ns: string, name: string): Promise<Obj> {
    return eventually(
      `IPClaim ${ns}/${name} Bound`,
      async () => {
        const claim = this.getOr("ipclaim", name, "-n", ns);
        return claim?.status?.conditions?.some(x => x.type === "Bound" && x.status === "True") ? claim : undefined;
      },
      90_000,
    );
  }

  launchers(ns: string, name: string): Obj[] {
    return this.list("pods", "-n", ns, "-l", `kubevirt.io=virt-launcher,vm.kubevirt.io/name=${name}`).filter(
      p => !p.metadata.deletionTimestamp,
    );
  }

  /** The VM's launcher pod Running on the node, with the claim's address and MAC on its NIC. */
  async launcherWithAddress(ns: string, name: string, claim: Obj, not?: string): Promise<Obj> {
    const pod = await eventually(
      `a Running launcher pod of ${ns}/${name}${not ? ` other than ${not}` : ""}`,
      async () => this.launchers(ns, name).find(p => p.status?.phase === "Running" && p.metadata.name !== not),
      120_000,
    );
    const el = elementOf(pod);
    assert.deepEqual([el?.ips, el?.mac], [claim.status?.addresses, claim.status?.mac], `${pod.metadata.name}'s ${NETWORKS}`);
    return pod;
  }

  async released(ns: string, name: string, pool: string): Promise<void> {
    this.kubectl("delete", "vm", name, "-n", ns, "--timeout=120s");
    await eventually(
      `IPClaim ${ns}/${name}.ovs1 gone after its VM was deleted`,
      async () => !this.getOr("ipclaim", `${name}.ovs1`, "-n", ns),
      90_000,
    );
    await eventually(`IPPool ${pool} back to 0 allocated`, async () => (this.get("ippool", pool).status?.allocated ?? 0) === 0, 90_000);
  }
}

/** The Deployment's controller has seen its spec, and every replica is updated to it, Ready, on `image`. */
function rolledOut(dep: Obj, image: string): boolean {
  const want = dep.spec?.replicas ?? 1;
  const s = (dep.status ?? {}) as { readyReplicas?: number; updatedReplicas?: number; replicas?: number; observedGeneration?: number };
  const generation = (dep.metadata as { generation?: number }).generation;
  const template = (dep.spec?.template as { spec?: { containers?: { image: string }[] } } | undefined)?.spec?.containers?.[0]?.image;
  return (
    template === image && s.observedGeneration === generation && [s.readyReplicas, s.updatedReplicas, s.replicas].every(n => n === want)
  );
}

/**
 * Keeps what a failed run needs to be understood before its cluster is torn down: the node's and
 * the simulator's logs, the control plane's, the namespaces' objects and Events and their pods'
 * logs. Returns the directory.
 */
export async function keepDiagnostics(op: Installed, namespaces: string[]): Promise<string> {
  const dest = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-e2e-diag-"));
  const { runDir, controlPlane } = op.cluster;
  for (const f of fs.readdirSync(runDir).filter(n => n.endsWith(".log"))) fs.copyFileSync(path.join(runDir, f), path.join(dest, f));
  const podLogs = path.join(runDir, "kubelet", "pod-logs");
  if (fs.existsSync(podLogs)) fs.cpSync(podLogs, path.join(dest, "pod-logs"), { recursive: true, dereference: true });
  for (const f of fs.readdirSync(controlPlane.dir).filter(n => n.endsWith(".log")))
    fs.copyFileSync(path.join(controlPlane.dir, f), path.join(dest, `control-plane-${f}`));
  const save = async (name: string, ...args: string[]): Promise<void> => {
    fs.writeFileSync(path.join(dest, name), await op.kubectlAsync(...args).catch((err: Error) => err.message));
  };
  for (const ns of namespaces) {
    await save(`${ns}-objects.txt`, "get", "vm,vmi,vmim,pods,ipclaims,deployments,replicasets,leases", "-n", ns, "-o", "wide");
    await save(`${ns}-events.txt`, "get", "events", "-n", ns, "--sort-by=.lastTimestamp");
    for (const pod of (await op.listAsync("pods", "-n", ns).catch(() => [])).filter(
      p => p.metadata.labels?.["app.kubernetes.io/part-of"] === "vmnet-operator",
    )) {
      await save(`${ns}-${pod.metadata.name}.log`, "logs", pod.metadata.name, "-n", ns, "--all-containers");
    }
  }
  await save("cluster-objects.txt", "get", "ippools,ipallocations,nodes", "-o", "wide");
  return dest;
}

/** A VM with the pod network and one bridge NIC on the namespace's pool-backed NAD. */
export const poolVm = (ns: string, name: string): ReturnType<typeof vmManifest> =>
  vmManifest(ns, name, [{ name: "default" }, { name: "ovs1", network: "vlan100" }]);

/** The first element of a pod's networks annotation (the pool-backed NIC of poolVm). */
export const elementOf = (pod: Obj): Element | undefined => (JSON.parse(pod.metadata.annotations?.[NETWORKS] ?? "[]") as Element[])[0];

async function run(bin: string, args: string[], kubeconfig: string, name: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(bin, args, {
      encoding: "utf8",
      env: { ...process.env, KUBECONFIG: kubeconfig },
      cwd: REPO,
      maxBuffer: 64 << 20,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${name} ${args.filter(a => a !== kubeconfig).join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}
