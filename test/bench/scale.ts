// Scale benchmark: N VMs (default 1,000) waiting while the operator is down; the operator starts
// and binds them all. Compared in the same run with the API server's own ceiling: the same writes
// the operator made (counted from its vmnet_api_writes_total metric), replayed with the operator's
// own bodies (replay.ts) at the same client concurrency. Also reports the operator's RSS and heap once everything is cached.
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { freePort, type OperatorProcess, startOperator } from "../../hack/operator-process";
import { OVS_STATIC_CONFIG, vmManifest } from "../helpers";
import { apiCounts, Counts, countsDelta, profileWindow } from "./apiserver";
import { bindCpu, cpuDelta, CpuSplit, measured } from "./cpu";
import { Inspector } from "./inspector";
import { readTemplates, REPLAY_CIDR, REPLAY_NS, replayVms, replayWrites } from "./replay";

/** The scale run's namespace; its pool is pool-bench-scale, 10.220.0.0/16 (the replay moves names and addresses from these). */
const SCALE_NS = "bench-scale";

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
  /** CPU seconds by process while binding (first claim to all Bound) and while replaying for the ceiling. */
  cpu: { bind: CpuSplit; ceiling: CpuSplit };
  /** Every request the API server served (reads and watches included) and the watch events it sent, in the same two windows. */
  requests: { bind: Counts; ceiling: Counts };
  /** kube-apiserver's CPU profiles (pprof files, back to back) of each window, when profiling. */
  apiServerProfiles: { bind: string[]; ceiling: string[] };
}

/** The API server the scale run measures: where its admin certificate is, and whether to profile it. */
export interface ApiServerProbe {
  server: string;
  dir: string;
  /** Profile kube-apiserver over each window in chunks of this many seconds (needs --profiling=true); none when absent. */
  profileSeconds?: number;
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

/** The operator's metrics text; `name`: that metric only (cheap enough to poll often). */
async function scrape(metricsPort: number, name?: string): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics${name ? `?name=${name}` : ""}`);
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
    const labels = Object.fromEntries(
      (m[3] ?? "")
        .split(",")
        .filter(Boolean)
        .map(kv => kv.split("=").map(x => x.replace(/"/g, "")) as [string, string]),
    );
    out.push({ labels, value: Number(m[4]) });
  }
  return out;
}

async function countClaims(client: KubeClient, namespace: string): Promise<{ total: number; bound: number }> {
  const claims = await client.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(Kinds.IPClaim, {
    namespace,
  });
  return {
    total: claims.items.length,
    bound: claims.items.filter(c => c.status?.conditions?.some(x => x.type === "Bound" && x.status === "True")).length,
  };
}

async function network(client: KubeClient, ns: string, cidr: string): Promise<void> {
  await client.apply(Kinds.Namespace, { metadata: { name: ns } });
  await client.apply(Kinds.NetworkAttachmentDefinition, {
    metadata: { name: "vlan100", namespace: ns },
    spec: { config: OVS_STATIC_CONFIG("vlan100") },
  });
  await client.apply(Kinds.IPPool, { metadata: { name: `pool-${ns}` }, spec: { cidr, networks: [`${ns}/vlan100`] } });
}

/** The VMs (one pool-backed NIC each), created while the operator is down. */
async function createVms(client: KubeClient, ns: string, opts: { vms: number; log: (s: string) => void }): Promise<void> {
  const names = Array.from({ length: opts.vms }, (_, i) => `vm-${i}`);
  opts.log(`creating ${opts.vms} VMs while the operator is down`);
  await pool(names, 32, name =>
    client.create(Kinds.VirtualMachine, vmManifest(ns, name, [{ name: "default" }, { name: "ovs1", network: "vlan100" }])),
  );
}

interface Launch {
  spawned: number;
  metricsPort: number;
  inspectPort: number;
  /** Resolves once the operator's webhooks are registered. */
  starting: Promise<{ op: OperatorProcess; startupSeconds: number }>;
}

/** Starts the operator (inspectable, metrics on a free port). */
async function launch(concurrency: number): Promise<Launch> {
  const spawned = Date.now();
  const metricsPort = await freePort();
  const { env, port: inspectPort } = await inspectable({
    LOG_LEVEL: "error",
    VMNET_GC_GRACE_SECONDS: "600",
    VMNET_CONCURRENCY: String(concurrency),
    VMNET_METRICS_PORT: String(metricsPort),
  });
  const starting = startOperator(env, { testTimers: false }).then(op => ({ op, startupSeconds: (Date.now() - spawned) / 1000 }));
  return { spawned, metricsPort, inspectPort, starting };
}

/** The API server agrees (the cache could only run ahead of it if a write were lost). */
async function assertApiAgrees(client: KubeClient, ns: string, vms: number): Promise<void> {
  const listed = await countClaims(client, ns);
  if (listed.bound !== vms) throw new Error(`the operator reports ${vms} bound claims, the API server ${listed.bound}`);
}

async function stopCpuProfile(inspector: Inspector, dir: string, vms: number, log: (s: string) => void): Promise<void> {
  await inspector.stopCpuProfile(`${dir}/scale-${vms}.cpuprofile`);
  log(`CPU profile: ${dir}/scale-${vms}.cpuprofile`);
}

/** Memory after `seconds` of idling once all is bound. */
async function settle(metricsPort: number, seconds: number): Promise<ScaleResult["settled"]> {
  await new Promise(r => setTimeout(r, seconds * 1000));
  return { seconds, ...memoryOf(await scrape(metricsPort)) };
}

/**
 * Polls the operator's claim metric until `vms` claims are Bound; returns when the first claim was
 * cached, and calls `onFirstClaim` then. Asked for that one metric every 100 ms: rendering every
 * metric 20 times a second was 6% of the operator's CPU in a 200-VM profile, a cost of measuring.
 */
async function waitAllBound(metricsPort: number, vms: number, onFirstClaim: () => Promise<void>): Promise<number> {
  let firstClaimAt = 0;
  for (;;) {
    const claims = metricValues(await scrape(metricsPort, "vmnet_claims"), "vmnet_claims");
    const bound = claims.find(c => c.labels.state === "bound")?.value ?? 0;
    const total = bound + (claims.find(c => c.labels.state === "unbound")?.value ?? 0);
    if (total > 0 && !firstClaimAt) {
      firstClaimAt = Date.now();
      await onFirstClaim();
    }
    if (bound >= vms) return firstClaimAt;
    await new Promise(r => setTimeout(r, 100));
  }
}

/** RSS and used heap (MiB) from one scrape of the operator's metrics. */
function memoryOf(text: string): { rssMiB: number; heapMiB: number } {
  return {
    rssMiB: (metricValues(text, "process_resident_memory_bytes")[0]?.value ?? 0) / MiB,
    heapMiB: (metricValues(text, "nodejs_heap_size_used_bytes")[0]?.value ?? 0) / MiB,
  };
}

/** Heap and RSS after a full GC (and a heap snapshot when profiling); closes the inspector. */
async function memoryAfterGc(
  inspector: Inspector,
  baseHeap: number,
  opts: { vms: number; log: (s: string) => void; profileDir?: string },
): Promise<ScaleResult["gc"]> {
  const mem = await inspector.memoryAfterGc();
  if (opts.profileDir) {
    await inspector.heapSnapshot(`${opts.profileDir}/scale-${opts.vms}.heapsnapshot`);
    opts.log(`heap snapshot: ${opts.profileDir}/scale-${opts.vms}.heapsnapshot`);
  }
  inspector.close();
  return {
    baseHeapMiB: baseHeap / MiB,
    heapMiB: mem.heapUsed / MiB,
    rssMiB: mem.rss / MiB,
    heapPerVmKB: (mem.heapUsed - baseHeap) / opts.vms / 1024,
  };
}

export async function benchScale(opts: {
  vms: number;
  concurrency: number;
  log: (s: string) => void;
  profileDir?: string;
  settleSeconds?: number;
  controlPlaneDir?: string;
  apiServer?: ApiServerProbe;
}): Promise<ScaleResult> {
  const client = await KubeClient.fromDefault(64);
  const ns = SCALE_NS;
  await network(client, ns, "10.220.0.0/16");
  opts.log("operator baseline: heap after GC with no VM");
  const base = await baselineMemory();
  await createVms(client, ns, opts);

  opts.log("starting the operator");
  const { spawned, metricsPort, inspectPort, starting } = await launch(opts.concurrency);
  // Binding time runs from the first claim the operator cached to the last one Bound, read from
  // its metrics (cheap: polling the API server with Lists would itself slow the API server down).
  // The process start (Node, Pepr, the initial List) is reported apart.
  const inspector = await Inspector.connect(inspectPort);
  if (opts.profileDir) await inspector.startCpuProfile();
  const bind = await bindWindow(metricsPort, opts);
  const operatorSeconds = (bind.boundAt - spawned) / 1000;
  const bindSeconds = (bind.boundAt - bind.firstClaimAt) / 1000;
  // The API server agrees (the cache could only run ahead of it if a write were lost).
  await assertApiAgrees(client, ns, opts.vms);
  const { op, startupSeconds } = await starting;
  await new Promise(r => setTimeout(r, 3000)); // let trailing pool status writes land before counting
  const text = await scrape(metricsPort);
  const writes = Object.fromEntries(metricValues(text, "vmnet_api_writes_total").map(m => [`${m.labels.verb} ${m.labels.kind}`, m.value]));
  const { rssMiB, heapMiB } = memoryOf(text);
  if (opts.profileDir) await stopCpuProfile(inspector, opts.profileDir, opts.vms, opts.log);
  const settled = await settle(metricsPort, opts.settleSeconds ?? 30);
  const gc = await memoryAfterGc(inspector, base.heapUsed, opts);
  await op.stop();
  const total = Object.values(writes).reduce((a, b) => a + b, 0);
  opts.log(
    `operator done: ${operatorSeconds.toFixed(1)} s (startup ${startupSeconds.toFixed(1)} s), ${total} writes; replaying them for the ceiling`,
  );
  const ceiling = await ceilingRun(client, writes, opts);
  await client.close();
  return {
    vms: opts.vms,
    operatorSeconds,
    startupSeconds,
    bindSeconds,
    writes,
    writesPerVm: total / opts.vms,
    ceilingSeconds: ceiling.seconds,
    ratio: bindSeconds / ceiling.seconds,
    rssMiB,
    heapMiB,
    gc,
    settled,
    base: { rssMiB: base.rss / MiB, gcRssMiB: base.gcRss / MiB },
    cpu: { bind: bind.cpu, ceiling: ceiling.cpu },
    requests: { bind: bind.requests, ceiling: ceiling.requests },
    apiServerProfiles: { bind: bind.profiles, ceiling: ceiling.profiles },
  };
}

/**
 * Waits until all VMs are Bound; CPU by process, the API server's requests and its profile from
 * the first claim the operator cached to the last one Bound.
 */
async function bindWindow(
  metricsPort: number,
  opts: { vms: number; controlPlaneDir?: string; apiServer?: ApiServerProbe; profileDir?: string },
): Promise<{ firstClaimAt: number; boundAt: number; cpu: CpuSplit; requests: Counts; profiles: string[] }> {
  let cpuAtFirstClaim: CpuSplit = {};
  let requestsAtFirstClaim: Counts = {};
  let profile = profileApiServer(undefined, undefined, "");
  const firstClaimAt = await waitAllBound(metricsPort, opts.vms, async () => {
    profile = profileApiServer(opts.apiServer, opts.profileDir, `bind-${opts.vms}`);
    [cpuAtFirstClaim, requestsAtFirstClaim] = await Promise.all([
      bindCpu(opts.controlPlaneDir, metricsPort),
      requestCounts(opts.apiServer),
    ]);
  });
  const boundAt = Date.now();
  const [cpuAtBound, requestsAtBound] = await Promise.all([bindCpu(opts.controlPlaneDir, metricsPort), requestCounts(opts.apiServer)]);
  return {
    firstClaimAt,
    boundAt,
    cpu: cpuDelta(cpuAtFirstClaim, cpuAtBound),
    requests: countsDelta(requestsAtFirstClaim, requestsAtBound),
    profiles: await profile.stop(),
  };
}

/**
 * The ceiling: the operator's writes replayed. Its objects (namespace, pool, VMs) are made first,
 * outside the window: CPU, requests and profiles count the timed writes only.
 */
async function ceilingRun(
  client: KubeClient,
  writes: Record<string, number>,
  opts: { vms: number; concurrency: number; controlPlaneDir?: string; apiServer?: ApiServerProbe; profileDir?: string },
): Promise<{ seconds: number; cpu: CpuSplit; requests: Counts; profiles: string[] }> {
  const templates = await readTemplates(client, SCALE_NS);
  await network(client, REPLAY_NS, REPLAY_CIDR);
  const vmUids = await replayVms(client, templates, (ns, name) => vmManifest(ns, name, [{ name: "default" }]), pool);
  const before = await requestCounts(opts.apiServer);
  const profile = profileApiServer(opts.apiServer, opts.profileDir, `replay-${opts.vms}`);
  const { result: seconds, cpu } = await measured(opts.controlPlaneDir, () =>
    replayWrites(client, writes, templates, vmUids, opts.concurrency, pool),
  );
  const requests = countsDelta(before, await requestCounts(opts.apiServer));
  return { seconds, cpu, requests, profiles: await profile.stop() };
}

/** The API server's request and watch-event counters (none without a probe). */
async function requestCounts(probe: ApiServerProbe | undefined): Promise<Counts> {
  return probe ? apiCounts(probe.server, probe.dir) : {};
}

/** Profiles kube-apiserver over the window named `label` until stop() (nothing unless profiling both). */
function profileApiServer(probe: ApiServerProbe | undefined, dir: string | undefined, label: string): { stop(): Promise<string[]> } {
  if (!probe?.profileSeconds || !dir) return { stop: async () => [] };
  return profileWindow(probe.server, probe.dir, probe.profileSeconds, `${dir}/kube-apiserver-${label}`);
}
