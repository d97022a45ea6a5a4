// Whereabouts side by side (DESIGN.md section 5): Whereabouts' IPAM CNI plugin, built from its Go
// module by hack/build-whereabouts.sh, allocating `count` addresses against the same real API
// server as our operator, so the two allocation times can be compared in one run. A plain script,
// not a test:
//   npx tsx test/bench/whereabouts.ts --count 100 --concurrency 8
//
// What runs, and what it does not need (read from Whereabouts v0.9.4's source, cmd/whereabouts.go
// and pkg/storage/kubernetes/ipam.go):
// - Each allocation is one `whereabouts` process run as a CNI ADD, with the IPAM config as stdin,
//   exactly as Multus or a CNI plugin would exec it. The process takes the single Lease
//   `whereabouts` in its namespace (leader election, 1.5 s lease, 0.5 s retry), then lists the
//   IPPools (a connectivity check), reads the IPPool, reads the OverlappingRangeIPReservation for
//   the candidate address, JSON-patches the pool with a resourceVersion test, creates the
//   reservation and releases the Lease: about 8 requests, 4 of them writes, per address, all
//   serialised behind the one Lease.
// - The network namespace is never opened by the IPAM ADD: the CNI library only compares
//   CNI_NETNS with its own namespace afterwards and accepts a path that does not exist. No netns
//   is made and no root is needed.
// - ADD never reads the Pod (only Whereabouts' reconciler does), so no Pods are created: it needs
//   K8S_POD_NAME/K8S_POD_NAMESPACE in CNI_ARGS only to key the allocation (and as the Lease
//   holder identity, so each invocation gets its own pod name).
// - The IPAM config must name a flat config file (`configuration_path`) or the plugin fails with
//   "config file not found"; it gets one holding the datastore and kubeconfig.
// Each run uses a fresh namespace (Whereabouts keeps its pools and Lease in the kubeconfig
// context's namespace), so repeated runs against one API server start from an empty pool.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { Kinds, KindRef } from "../../capabilities/k8s/kinds";
import { startControlPlane } from "../../hack/control-plane";

const ROOT = path.join(__dirname, "..", "..");
const RANGE = "10.200.0.0/16";
const IPPoolKind: KindRef = { apiVersion: "whereabouts.cni.cncf.io/v1alpha1", kind: "IPPool", plural: "ippools", namespaced: true };

export interface WhereaboutsBenchOptions {
  kubeconfig: string;
  count: number;
  concurrency: number;
  /** Directory holding the `whereabouts` binary; built (or found cached) by hack/build-whereabouts.sh when absent. */
  binDir?: string;
}

export interface WhereaboutsBenchResult {
  count: number;
  /** Wall time from the first exec to the last exit: CRDs, namespace and config files excluded. */
  seconds: number;
  /** Successful allocations per second of wall time. */
  perSecond: number;
  /** Addresses handed to more than one container (each extra holder counts once). */
  duplicates: number;
  /** Invocations that exited non-zero or printed no address. */
  failures: number;
  /** Per-invocation wall time, successful ones only. */
  latency: { p50: number; p99: number; max: number };
  /** Allocations recorded in Whereabouts' IPPool afterwards (should equal count - failures). */
  poolAllocations: number;
  /** Whereabouts' and client-go's stderr lines, grouped by message with numbers masked. */
  stderr: Record<string, number>;
  /** Up to five distinct failure messages (the CNI error JSON on stdout, or the last stderr line). */
  failureMessages: string[];
}

/** Builds the plugin once (cached outside git) and returns its directory. */
export function ensureWhereabouts(): string {
  const out = execFileSync("bash", [path.join(ROOT, "hack", "build-whereabouts.sh")], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  return out.trim().split("\n").pop() as string;
}

async function clientFor(kubeconfig: string): Promise<KubeClient> {
  const before = process.env.KUBECONFIG;
  process.env.KUBECONFIG = kubeconfig;
  try {
    return await KubeClient.fromDefault(8);
  } finally {
    if (before === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = before;
  }
}

async function installWhereaboutsCrds(client: KubeClient): Promise<void> {
  const crds = (yaml.loadAll(fs.readFileSync(path.join(ROOT, "test/fixtures/whereabouts-crds.yaml"), "utf8")) as KubeObject[]).filter(
    Boolean,
  );
  await Promise.all(crds.map(crd => client.apply(Kinds.CustomResourceDefinition, crd, { force: true })));
  type Crd = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };
  for (const crd of crds) {
    const name = crd.metadata?.name as string;
    for (let i = 0; ; i++) {
      const got = await client.get<Crd>(Kinds.CustomResourceDefinition, name);
      if (got.status?.conditions?.some(c => c.type === "Established" && c.status === "True")) break;
      if (i >= 300) throw new Error(`CRD ${name} was not Established within 30 s`);
      await new Promise(r => setTimeout(r, 100));
    }
  }
}

/** The admin kubeconfig with its context's namespace set: Whereabouts keeps pools and its Lease there. */
function writeConfig(dir: string, kubeconfig: string, namespace: string): { stdin: string; kubeconfigPath: string } {
  type Kubeconfig = { contexts: { name: string; context: { namespace?: string } }[]; "current-context": string };
  const kc = yaml.load(fs.readFileSync(kubeconfig, "utf8")) as Kubeconfig;
  const current = kc.contexts.find(c => c.name === kc["current-context"]);
  if (!current) throw new Error(`${kubeconfig}: no current context`);
  current.context.namespace = namespace;
  const kubeconfigPath = path.join(dir, "whereabouts.kubeconfig");
  fs.writeFileSync(kubeconfigPath, yaml.dump(kc));
  const flatPath = path.join(dir, "whereabouts.conf");
  fs.writeFileSync(flatPath, JSON.stringify({ datastore: "kubernetes", kubernetes: { kubeconfig: kubeconfigPath } }));
  const stdin = JSON.stringify({
    cniVersion: "0.3.1",
    name: "wb-bench",
    ipam: {
      type: "whereabouts",
      range: RANGE,
      datastore: "kubernetes",
      kubernetes: { kubeconfig: kubeconfigPath },
      configuration_path: flatPath,
      log_level: "error", // its default is debug: a dozen lines per call on stderr
    },
  });
  return { stdin, kubeconfigPath };
}

interface Invocation {
  ok: boolean;
  ip?: string;
  seconds: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

function runAdd(plugin: string, binDir: string, stdin: string, namespace: string, i: number): Promise<Invocation> {
  const containerId = crypto.randomBytes(16).toString("hex");
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    CNI_COMMAND: "ADD",
    CNI_CONTAINERID: containerId,
    CNI_NETNS: `/var/run/netns/wb-bench-${containerId.slice(0, 12)}`, // never opened: see the header
    CNI_IFNAME: "net1",
    CNI_PATH: binDir,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=pod-${i};K8S_POD_INFRA_CONTAINER_ID=${containerId}`,
  };
  const start = process.hrtime.bigint();
  return new Promise(resolve => {
    const child: ChildProcess = spawn(plugin, [], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", err => (stderr += `spawn: ${String(err)}\n`));
    child.on("close", code => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      let ip: string | undefined;
      try {
        const result = JSON.parse(stdout) as { ips?: { address?: string }[] };
        ip = result.ips?.[0]?.address?.split("/")[0];
      } catch {
        /* no JSON: a failure, reported below */
      }
      resolve({ ok: code === 0 && ip !== undefined, ip, seconds, stdout, stderr, code });
    });
    child.stdin?.end(stdin);
  });
}

/** Groups a stderr line by its message: timestamps, klog headers and numbers masked. */
function stderrKey(line: string, namespace: string): string {
  return line
    .split(namespace)
    .join("<ns>")
    .replace(/^\S+Z?\s+\[(error|debug|verbose|panic)\]\s+/, "[$1] ")
    .replace(/^[EIWF]\d{4} [\d:.]+\s+\d+ [^\]]+\]\s+/, m => `klog ${m[0]}: `)
    .replace(/"resourceVersion":"\d+"|resourceVersion[^,;]*|\b[0-9a-f]{32}\b/g, "…")
    .replace(/\b\d+\b/g, "N")
    .slice(0, 160);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Duplicates, failures, latency and grouped stderr of one run. */
function summarize(runs: Invocation[], seconds: number, poolAllocations: number, namespace: string): WhereaboutsBenchResult {
  const ok = runs.filter(r => r.ok);
  const holders = new Map<string, number>();
  for (const r of ok) holders.set(r.ip as string, (holders.get(r.ip as string) ?? 0) + 1);
  const stderr: Record<string, number> = {};
  for (const r of runs)
    for (const line of r.stderr.split("\n").filter(l => l.trim())) {
      const key = stderrKey(line, namespace);
      stderr[key] = (stderr[key] ?? 0) + 1;
    }
  const failureMessages = runs
    .filter(r => !r.ok)
    .map(r => `exit ${r.code}: ${(r.stdout.trim() || r.stderr.trim().split("\n").pop() || "no output").slice(0, 300)}`);
  const lat = ok.map(r => r.seconds).sort((a, b) => a - b);
  return {
    count: runs.length,
    seconds,
    perSecond: ok.length / seconds,
    duplicates: [...holders.values()].reduce((sum, n) => sum + n - 1, 0),
    failures: runs.length - ok.length,
    latency: { p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? 0 },
    poolAllocations,
    stderr,
    failureMessages: [...new Set(failureMessages)].slice(0, 5),
  };
}

export async function benchWhereabouts(opts: WhereaboutsBenchOptions): Promise<WhereaboutsBenchResult> {
  const binDir = opts.binDir ?? ensureWhereabouts();
  const plugin = path.join(binDir, "whereabouts");
  if (!fs.existsSync(plugin)) throw new Error(`${plugin} missing: run hack/build-whereabouts.sh`);
  const client = await clientFor(opts.kubeconfig);
  const namespace = `wb-bench-${crypto.randomBytes(3).toString("hex")}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-whereabouts-"));
  try {
    await installWhereaboutsCrds(client);
    await client.create(Kinds.Namespace, { metadata: { name: namespace } });
    const { stdin } = writeConfig(dir, opts.kubeconfig, namespace);

    const runs: Invocation[] = new Array(opts.count);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < opts.count; i = next++) runs[i] = await runAdd(plugin, binDir, stdin, namespace, i);
    };
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, opts.count)) }, worker));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;

    type Pool = KubeObject & { spec?: { allocations?: Record<string, unknown> } };
    const pools = await client.list<Pool>(IPPoolKind, { namespace });
    const poolAllocations = pools.items.reduce((n, p) => n + Object.keys(p.spec?.allocations ?? {}).length, 0);
    return summarize(runs, seconds, poolAllocations, namespace);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await client.close();
  }
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} wants a positive integer`);
  return v;
}

async function main(): Promise<void> {
  const count = flag("count", 100);
  const concurrency = flag("concurrency", 8);
  const binDir = ensureWhereabouts();
  const cp = await startControlPlane({ withoutControllerManager: true });
  try {
    const r = await benchWhereabouts({ kubeconfig: cp.kubeconfig, count, concurrency, binDir });
    const f = (n: number, d = 2): string => n.toFixed(d);
    console.log(
      `whereabouts ${path.basename(binDir)}: ${r.count} ADDs at concurrency ${concurrency} in ${f(r.seconds)} s = ${f(r.perSecond)}/s, ` +
        `duplicates ${r.duplicates}, failures ${r.failures}, pool holds ${r.poolAllocations}, ` +
        `per call p50 ${f(r.latency.p50)} s p99 ${f(r.latency.p99)} s max ${f(r.latency.max)} s`,
    );
    for (const [line, n] of Object.entries(r.stderr).sort((a, b) => b[1] - a[1])) console.error(`  stderr x${n}: ${line}`);
    for (const m of r.failureMessages) console.error(`  failure: ${m}`);
  } finally {
    await cp.stop();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
