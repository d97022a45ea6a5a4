// Scale benchmark: N VMs (default 1,000) waiting while the operator is down; the operator starts
// and binds them all. Compared in the same run with the API server's own ceiling: the same writes
// the operator made (counted from its vmnet_api_writes_total metric), replayed at the same client
// concurrency. Also reports the operator's RSS and heap once everything is cached.
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { freePort, startOperator } from "../../hack/operator-process";
import { OVS_STATIC_CONFIG, vmManifest } from "../helpers";
import { Inspector } from "./inspector";

export interface ScaleResult {
  vms: number;
  operatorSeconds: number;
  startupSeconds: number;
  bindSeconds: number;
  writes: Record<string, number>;
  writesPerVm: number;
  ceilingSeconds: number;
  ratio: number;
  rssMiB: number;
  heapMiB: number;
  /** After a full garbage collection (inspector), with 0 VMs (a start before the VMs exist) and with N. */
  gc: { baseHeapMiB: number; heapMiB: number; rssMiB: number; heapPerVmKB: number };
  /** The start with no VM, 2 s after it serves: RSS as scraped (no forced GC), then RSS after a full GC. */
  base: { rssMiB: number; gcRssMiB: number };
  /** Scraped again after `seconds` idle, no forced GC: what a running operator holds once the burst is over. */
  settled: { seconds: number; rssMiB: number; heapMiB: number };
}

const MiB = 2 ** 20;

/** The operator started with the inspector on a free port (bundle child or tsx process alike). */
async function inspectable(env: Record<string, string>): Promise<{ env: Record<string, string>; port: number }> {
  const port = await freePort();
  const args = [process.env.VMNET_OPERATOR_NODE_ARGS ?? "", `--inspect=127.0.0.1:${port}`].filter(Boolean).join(" ");
  return { env: { ...env, VMNET_OPERATOR_NODE_ARGS: args }, port };
}

/** Memory of an operator that sees no VM of the benchmark: the per-VM figure's baseline. */
async function baselineMemory(): Promise<{ heapUsed: number; rss: number; gcRss: number }> {
  const { env, port } = await inspectable({ LOG_LEVEL: "error" });
  const op = await startOperator(env, { testTimers: false });
  try {
    await new Promise(r => setTimeout(r, 2000)); // caches filled, start-up garbage collectable
    const inspector = await Inspector.connect(port);
    const before = await inspector.memory();
    const mem = await inspector.memoryAfterGc();
    inspector.close();
    return { heapUsed: mem.heapUsed, rss: before.rss, gcRss: mem.rss };
  } finally {
    await op.stop();
  }
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function scrape(metricsPort: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    return await res.text();
  } catch {
    return ""; // not listening yet
  }
}

export function metricValues(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries((m[3] ?? "").split(",").filter(Boolean).map(kv => kv.split("=").map(x => x.replace(/"/g, "")) as [string, string]));
    out.push({ labels, value: Number(m[4]) });
  }
  return out;
}

async function countClaims(client: KubeClient, namespace: string): Promise<{ total: number; bound: number }> {
  const claims = await client.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(Kinds.IPClaim, { namespace });
  return { total: claims.items.length, bound: claims.items.filter(c => c.status?.conditions?.some(x => x.type === "Bound" && x.status === "True")).length };
}

async function network(client: KubeClient, ns: string, cidr: string): Promise<void> {
  await client.apply(Kinds.Namespace, { metadata: { name: ns } });
  await client.apply(Kinds.NetworkAttachmentDefinition, { metadata: { name: "vlan100", namespace: ns }, spec: { config: OVS_STATIC_CONFIG("vlan100") } });
  await client.apply(Kinds.IPPool, { metadata: { name: `pool-${ns}` }, spec: { cidr, networks: [`${ns}/vlan100`] } });
}

/** Replays `writes` (verb and kind as counted by the operator) on throwaway objects. */
async function replay(client: KubeClient, writes: Record<string, number>, vms: number, concurrency: number): Promise<number> {
  const ns = "bench-ceiling";
  await network(client, ns, "10.230.0.0/16");
  const names = Array.from({ length: vms }, (_, i) => `r-${i}`);
  await pool(names, 32, name => client.create(Kinds.VirtualMachine, vmManifest(ns, name, [{ name: "default" }])));
  const ops: (() => Promise<unknown>)[] = [];
  const count = (key: string): number => writes[key] ?? 0;
  const claim = (i: number): KubeObject => ({ metadata: { name: `r-${i % vms}.ovs1`, namespace: ns, labels: { "vmnet.io/vm": `r-${i % vms}` } }, spec: { vm: `r-${i % vms}`, interface: "ovs1", network: `${ns}/vlan100`, pool: `pool-${ns}`, pools: [`pool-${ns}`] } });
  // Creates beyond one per VM were attempts that met AlreadyExists: replay those as applies.
  for (let i = 0; i < count("create IPClaim"); i++) ops.push(() => (i < vms ? client.create(Kinds.IPClaim, claim(i)) : client.apply(Kinds.IPClaim, claim(i))));
  const t0 = Date.now();
  await pool(ops.splice(0), concurrency, op => op()); // claims first: status patches need them
  for (let i = 0; i < count("apply IPClaim"); i++) ops.push(() => client.apply(Kinds.IPClaim, claim(i)));
  for (let i = 0; i < count("create IPAllocation"); i++) {
    const addr = `10.230.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    ops.push(() => client.create(Kinds.IPAllocation, { metadata: { name: `pool-${ns}.${addr.replace(/\./g, "-")}` }, spec: { pool: `pool-${ns}`, address: addr, claimRef: { namespace: ns, name: `r-${i % vms}.ovs1` } } }));
  }
  for (let i = 0; i < count("patch-status IPClaim"); i++) {
    ops.push(() => client.mergePatch(Kinds.IPClaim, `r-${i % vms}.ovs1`, ns, { status: { addresses: [`10.230.0.${i % 250}/16`], mac: "02:00:00:00:00:01" } }, "status"));
  }
  for (let i = 0; i < count("patch VirtualMachine"); i++) {
    ops.push(() => client.jsonPatch(Kinds.VirtualMachine, `r-${i % vms}`, ns, [{ op: "add", path: "/metadata/finalizers", value: ["vmnet.io/bench"] }]));
  }
  for (let i = 0; i < count("create Event"); i++) {
    ops.push(() => client.create(Kinds.Event, { metadata: { name: `r-${i}.${Date.now()}`, namespace: ns }, involvedObject: { kind: "VirtualMachine", name: `r-${i % vms}`, namespace: ns }, reason: "Bound", message: "bench", type: "Normal" }));
  }
  for (let i = 0; i < count("patch-status IPPool"); i++) {
    ops.push(() => client.mergePatch(Kinds.IPPool, `pool-${ns}`, undefined, { status: { allocated: i } }, "status"));
  }
  await pool(ops, concurrency, op => op());
  return (Date.now() - t0) / 1000;
}

export async function benchScale(opts: { vms: number; concurrency: number; log: (s: string) => void; profileDir?: string; settleSeconds?: number }): Promise<ScaleResult> {
  const client = await KubeClient.fromDefault(64);
  const ns = "bench-scale";
  await network(client, ns, "10.220.0.0/16");
  opts.log("operator baseline: heap after GC with no VM");
  const base = await baselineMemory();
  const baseHeap = base.heapUsed;
  const names = Array.from({ length: opts.vms }, (_, i) => `vm-${i}`);
  opts.log(`creating ${opts.vms} VMs while the operator is down`);
  await pool(names, 32, name => client.create(Kinds.VirtualMachine, vmManifest(ns, name, [{ name: "default" }, { name: "ovs1", network: "vlan100" }])));

  opts.log("starting the operator");
  const spawned = Date.now();
  let startupSeconds = 0;
  const metricsPort = await freePort();
  const { env, port: inspectPort } = await inspectable({ LOG_LEVEL: "error", VMNET_GC_GRACE_SECONDS: "600", VMNET_CONCURRENCY: String(opts.concurrency), VMNET_METRICS_PORT: String(metricsPort) });
  const starting = startOperator(env, { testTimers: false }).then(o => {
    startupSeconds = (Date.now() - spawned) / 1000; // until its webhooks are registered
    return o;
  });
  // Binding time runs from the first claim the operator cached to the last one Bound, read from
  // its metrics (cheap: polling the API server with Lists would itself slow the API server down).
  // The process start (Node, Pepr, the initial List) is reported apart.
  let firstClaimAt = 0;
  const inspector = await Inspector.connect(inspectPort);
  if (opts.profileDir) await inspector.startCpuProfile();
  for (;;) {
    const claims = metricValues(await scrape(metricsPort), "vmnet_claims");
    const bound = claims.find(c => c.labels.state === "bound")?.value ?? 0;
    const total = bound + (claims.find(c => c.labels.state === "unbound")?.value ?? 0);
    if (total > 0 && !firstClaimAt) firstClaimAt = Date.now();
    if (bound >= opts.vms) break;
    await new Promise(r => setTimeout(r, 50));
  }
  const operatorSeconds = (Date.now() - spawned) / 1000;
  const bindSeconds = (Date.now() - firstClaimAt) / 1000;
  // The API server agrees (the cache could only run ahead of it if a write were lost).
  const listed = await countClaims(client, ns);
  if (listed.bound !== opts.vms) throw new Error(`the operator reports ${opts.vms} bound claims, the API server ${listed.bound}`);
  const op = await starting;
  await new Promise(r => setTimeout(r, 3000)); // let trailing pool status writes land before counting
  const text = await scrape(metricsPort);
  const writes = Object.fromEntries(metricValues(text, "vmnet_api_writes_total").map(m => [`${m.labels.verb} ${m.labels.kind}`, m.value]));
  const rssMiB = (metricValues(text, "process_resident_memory_bytes")[0]?.value ?? 0) / 2 ** 20;
  const heapMiB = (metricValues(text, "nodejs_heap_size_used_bytes")[0]?.value ?? 0) / 2 ** 20;
  if (opts.profileDir) {
    await inspector.stopCpuProfile(`${opts.profileDir}/scale-${opts.vms}.cpuprofile`);
    opts.log(`CPU profile: ${opts.profileDir}/scale-${opts.vms}.cpuprofile`);
  }
  const settleSeconds = opts.settleSeconds ?? 30;
  await new Promise(r => setTimeout(r, settleSeconds * 1000));
  const idle = await scrape(metricsPort);
  const settled = {
    seconds: settleSeconds,
    rssMiB: (metricValues(idle, "process_resident_memory_bytes")[0]?.value ?? 0) / MiB,
    heapMiB: (metricValues(idle, "nodejs_heap_size_used_bytes")[0]?.value ?? 0) / MiB,
  };
  const mem = await inspector.memoryAfterGc();
  if (opts.profileDir) {
    await inspector.heapSnapshot(`${opts.profileDir}/scale-${opts.vms}.heapsnapshot`);
    opts.log(`heap snapshot: ${opts.profileDir}/scale-${opts.vms}.heapsnapshot`);
  }
  inspector.close();
  const gc = { baseHeapMiB: baseHeap / MiB, heapMiB: mem.heapUsed / MiB, rssMiB: mem.rss / MiB, heapPerVmKB: (mem.heapUsed - baseHeap) / opts.vms / 1024 };
  await op.stop();
  const total = Object.values(writes).reduce((a, b) => a + b, 0);
  opts.log(`operator done: ${operatorSeconds.toFixed(1)} s (startup ${startupSeconds.toFixed(1)} s), ${total} writes; replaying them for the ceiling`);
  const ceilingSeconds = await replay(client, writes, opts.vms, opts.concurrency);
  await client.close();
  return { vms: opts.vms, operatorSeconds, startupSeconds, bindSeconds, writes, writesPerVm: total / opts.vms, ceilingSeconds, ratio: bindSeconds / ceilingSeconds, rssMiB, heapMiB, gc, settled, base: { rssMiB: base.rss / MiB, gcRssMiB: base.gcRss / MiB } };
}

