// Admission latency at the webhook: AdmissionReviews sent over TLS on loopback at a fixed rate
// (default 200/s) to the operator's Pepr server, for VM validation and launcher-pod mutation.
import crypto from "node:crypto";
import fs from "node:fs";
import { Agent } from "undici";
import { launcherInterfaceName } from "../../capabilities/domain/launcher-pod";
import { KubeClient } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { freePort, startOperator } from "../../hack/operator-process";
import { OVS_STATIC_CONFIG, vmManifest } from "../helpers";
import { KUBEVIRT_USER } from "../kubevirt-sim/identity";
import { controlPlaneCpu, cpuDelta, CpuSplit, operatorCpu } from "./cpu";
import { Inspector } from "./inspector";

export interface LatencyResult {
  path: string;
  requests: number;
  errors: number;
  rate: number;
  /** The rate the load generator really sent at (requests over the seconds it took to send them). */
  sentPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** The highest rate of the search steps with p99 <= MAX_RATE_P99_MS and no error (0: none). */
  maxRate?: number;
  maxRateP99?: number;
  /**
   * CPU milliseconds per request over the constant-rate window: the operator's (its metrics) and
   * this process's, the load generator's, which shares the cores with the server it measures.
   */
  cpuMsPerRequest: { operator: number; loadGenerator: number };
  /** The operator's CPU seconds per second of that window (1 = one core busy). */
  operatorBusy: number;
  /** The same, idle (no request) for IDLE_SECONDS just before the window: its own background work. */
  operatorIdleBusy: number;
  /** CPU seconds of the control plane's processes during the window (the machine's other load). */
  controlPlane: CpuSplit;
  /** Seconds waited before the window for the control plane to settle (see settle()). */
  settledAfter: number;
}

const IDLE_SECONDS = 2;
const WARM_SECONDS = 3;

/** The latency bound of the highest-rate search. */
export const MAX_RATE_P99_MS = 25;
const SEARCH_RATES = [100, 200, 300, 400, 500, 600, 800, 1000, 1250, 1500, 2000];

function review(
  kind: { group: string; version: string; kind: string },
  resource: string,
  object: unknown,
  namespace: string,
  username = "bench",
): unknown {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: crypto.randomUUID(),
      kind,
      resource: { group: kind.group, version: kind.version, resource },
      requestKind: kind,
      requestResource: { group: kind.group, version: kind.version, resource },
      namespace,
      operation: "CREATE",
      userInfo: { username },
      object,
      dryRun: false,
    },
  };
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Sends `body` at `rate` per second for `seconds`; each request is timed alone. */
async function constantRate(
  url: string,
  body: string,
  rate: number,
  seconds: number,
  agent: Agent,
): Promise<{ latencies: number[]; errors: number; sentPerSecond: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const total = rate * seconds;
  const target = new URL(url);
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise(r => setTimeout(r, wait));
    inflight.push(
      (async () => {
        const t0 = performance.now();
        try {
          // undici's dispatcher API, not fetch: the load generator shares the two cores with the
          // server it measures, and fetch builds a Request, Headers and streams per request.
          const res = await agent.request({
            origin: target.origin,
            path: target.pathname,
            method: "POST",
            body,
            headers: { "content-type": "application/json" },
          });
          const json = (await res.body.json()) as { response?: { allowed?: boolean } };
          if (res.statusCode !== 200 || json.response?.allowed !== true) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      })(),
    );
  }
  // The rate the requests really left at: a load generator short of CPU sends late, and a rate it
  // never reached must not be reported as one the server sustained.
  const sentPerSecond = total / Math.max((performance.now() - started) / 1000, seconds);
  await Promise.all(inflight);
  return { latencies, errors, sentPerSecond };
}

export interface AdmissionBenchOptions {
  rate: number;
  seconds: number;
  log: (s: string) => void;
  profileDir?: string;
  searchSeconds?: number;
  /** Extra operator environment (VMNET_DIRECT_ADMISSION=false: every review through Pepr, as before). */
  env?: Record<string, string>;
  /** Distinguishes the profile files of several runs. */
  label?: string;
  /** The control plane's directory (its pids), to read its CPU and wait for it to settle. */
  controlPlaneDir?: string;
}

export async function benchAdmission(opts: AdmissionBenchOptions): Promise<LatencyResult[]> {
  const client = await KubeClient.fromDefault();
  const ns = "bench-admission";
  await seedNetwork(client, ns);
  const inspectPort = await freePort();
  const nodeArgs = [process.env.VMNET_OPERATOR_NODE_ARGS ?? "", `--inspect=127.0.0.1:${inspectPort}`].filter(Boolean).join(" ");
  const op = await startOperator(
    { LOG_LEVEL: "error", PEPR_API_PATH: "bench", VMNET_OPERATOR_NODE_ARGS: nodeArgs, ...opts.env },
    { testTimers: false },
  );
  const inspector = opts.profileDir ? await Inspector.connect(inspectPort) : undefined;
  try {
    const vm = vmManifest(
      ns,
      "web",
      [
        { name: "default", ports: [{ port: 80 }] },
        { name: "ovs1", network: "vlan100" },
      ],
      { "vmnet.io/addresses": '{"ovs1": "10.240.0.20"}' },
    );
    if (!(await client.getOrUndefined(Kinds.VirtualMachine, "web", ns))) await client.create(Kinds.VirtualMachine, vm);
    await waitBound(client, ns);
    const pod = launcherPod(ns);
    const vmReview = JSON.stringify(
      review(
        { group: "kubevirt.io", version: "v1", kind: "VirtualMachine" },
        "virtualmachines",
        { ...vm, metadata: { ...vm.metadata, name: "web-2", annotations: {} } },
        ns,
      ),
    );
    // As KubeVirt's virt-controller: only its launcher pods get addresses.
    const podReview = JSON.stringify(review({ group: "", version: "v1", kind: "Pod" }, "pods", pod, ns, KUBEVIRT_USER));
    const agent = new Agent({ connections: 16, connect: { rejectUnauthorized: false } });
    const results: LatencyResult[] = [];
    for (const [path, body] of [
      ["/validate/bench (VirtualMachine)", vmReview],
      ["/mutate/bench (virt-launcher Pod)", podReview],
    ] as const) {
      const url = `https://localhost:${op.port}${path.split(" ")[0]}`;
      results.push(await measurePath(url, path, body, agent, { inspector, metricsPort: op.metricsPort }, opts));
    }
    await agent.close();
    inspector?.close();
    return results;
  } finally {
    // VMNET_BENCH_OPERATOR_LOG=file keeps the operator's output (with VMNET_OPERATOR_NODE_ARGS=--trace-gc: its GC pauses).
    if (process.env.VMNET_BENCH_OPERATOR_LOG) fs.writeFileSync(process.env.VMNET_BENCH_OPERATOR_LOG, op.output());
    await op.stop();
    await client.close();
  }
}

/** The namespace, NAD and pool the bench VM's NIC binds from. */
async function seedNetwork(client: KubeClient, ns: string): Promise<void> {
  await client.apply(Kinds.Namespace, { metadata: { name: ns } });
  await client.apply(Kinds.NetworkAttachmentDefinition, {
    metadata: { name: "vlan100", namespace: ns },
    spec: { config: OVS_STATIC_CONFIG("vlan100") },
  });
  await client.apply(Kinds.IPPool, {
    metadata: { name: "bench-admission" },
    spec: { cidr: "10.240.0.0/24", gateway: "10.240.0.1", networks: [`${ns}/vlan100`] },
  });
}

/** Waits until the claim is bound, so the mutation measures the steady path (no bind on the spot). */
async function waitBound(client: KubeClient, ns: string): Promise<void> {
  for (let i = 0; ; i++) {
    const c = await client.getOrUndefined<{ status?: { addresses?: string[] } }>(Kinds.IPClaim, "web.ovs1", ns);
    if (c?.status?.addresses?.length) return;
    if (i >= 100) throw new Error(`IPClaim ${ns}/web.ovs1 not bound after 100 polls: the measurement would include the bind`);
    await new Promise(r => setTimeout(r, 100));
  }
}

/** The bench VM's virt-launcher pod as virt-controller creates it. */
export function launcherPod(ns: string): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "virt-launcher-web-abcde",
      namespace: ns,
      labels: { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": "web" },
      annotations: {
        "k8s.v1.cni.cncf.io/networks": JSON.stringify([{ name: "vlan100", namespace: ns, interface: launcherInterfaceName("ovs1") }]),
      },
    },
    spec: { containers: [{ name: "compute", image: "virt-launcher" }] },
  };
}

/** One path: warm-up, then the constant rate (CPU-profiled when asked), then the highest-rate search if asked. */
async function measurePath(
  url: string,
  path: string,
  body: string,
  agent: Agent,
  operator: { inspector: Inspector | undefined; metricsPort: number },
  opts: AdmissionBenchOptions,
): Promise<LatencyResult> {
  const { inspector } = operator;
  // Warm-up: TLS sessions, and the JIT at the measured rate (with 100 reviews at 50/s the first
  // window's p99 was several times that of the same rate measured after it, in the search).
  await constantRate(url, body, 50, 2, agent);
  await constantRate(url, body, opts.rate, WARM_SECONDS, agent);
  opts.log(`${path}: ${opts.rate}/s for ${opts.seconds} s`);
  const name = path.split(" ")[0].split("/")[1];
  const settledAfter = await settle(opts.controlPlaneDir);
  const idle = await cpuWindow(operator.metricsPort);
  await new Promise(r => setTimeout(r, IDLE_SECONDS * 1000));
  const operatorIdleBusy = (await idle.end(0)).operatorBusy;
  await inspector?.startCpuProfile();
  const cpu = await cpuWindow(operator.metricsPort);
  const plane = controlPlaneCpu(opts.controlPlaneDir);
  const { latencies, errors, sentPerSecond } = await constantRate(url, body, opts.rate, opts.seconds, agent);
  const used = await cpu.end(latencies.length);
  const controlPlane = cpuDelta(plane, controlPlaneCpu(opts.controlPlaneDir));
  if (inspector) await inspector.stopCpuProfile(`${opts.profileDir}/admission-${opts.label ?? "direct"}-${name}-${opts.rate}.cpuprofile`);
  latencies.sort((a, b) => a - b);
  const result: LatencyResult = {
    path,
    requests: latencies.length,
    errors,
    rate: opts.rate,
    sentPerSecond,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1],
    ...used,
    operatorIdleBusy,
    controlPlane,
    settledAfter,
  };
  if (opts.searchSeconds) Object.assign(result, await highestRate(url, body, agent, opts.searchSeconds, opts.log));
  return result;
}

/** The control plane may use at most this share of a core before a window (its start-up syncs used more). */
const SETTLED_CORES = 0.15;
const SETTLE_MAX_SECONDS = 60;

/**
 * Waits until the control plane's processes together use less than SETTLED_CORES over a second
 * (at most SETTLE_MAX_SECONDS): just after start the controller manager's and API server's own
 * start-up work shares the two cores with the first window. Returns the seconds waited.
 */
async function settle(dir: string | undefined): Promise<number> {
  if (!dir) return 0;
  const t0 = performance.now();
  for (;;) {
    const before = controlPlaneCpu(dir);
    await new Promise(r => setTimeout(r, 1000));
    const used = Object.values(cpuDelta(before, controlPlaneCpu(dir))).reduce((a, b) => a + b, 0);
    const waited = (performance.now() - t0) / 1000;
    if (used < SETTLED_CORES || waited >= SETTLE_MAX_SECONDS) return waited;
  }
}

/** CPU of the operator and of this process from now until end(). */
async function cpuWindow(
  metricsPort: number,
): Promise<{ end(requests: number): Promise<Pick<LatencyResult, "cpuMsPerRequest" | "operatorBusy">> }> {
  const t0 = performance.now();
  const op0 = await operatorCpu(metricsPort);
  const self0 = process.cpuUsage();
  return {
    async end(requests) {
      const self = process.cpuUsage(self0);
      const op = (await operatorCpu(metricsPort)) - op0;
      const seconds = (performance.now() - t0) / 1000;
      const perRequest = (s: number): number => (s * 1000) / Math.max(1, requests);
      return {
        cpuMsPerRequest: { operator: perRequest(op), loadGenerator: perRequest((self.user + self.system) / 1e6) },
        operatorBusy: op / seconds,
      };
    },
  };
}

/** A search step counts only if the load generator sent at least this share of its rate. */
const MIN_SENT_SHARE = 0.95;

/** Steps up the rate until p99 passes MAX_RATE_P99_MS, a request fails or the rate was not reached; the last rate that held. */
async function highestRate(
  url: string,
  body: string,
  agent: Agent,
  seconds: number,
  log: (s: string) => void,
): Promise<{ maxRate: number; maxRateP99: number }> {
  let best = { maxRate: 0, maxRateP99: 0 };
  for (const rate of SEARCH_RATES) {
    const { latencies, errors, sentPerSecond } = await constantRate(url, body, rate, seconds, agent);
    latencies.sort((a, b) => a - b);
    const p99 = percentile(latencies, 99);
    log(`  ${rate}/s (sent at ${sentPerSecond.toFixed(0)}/s): p99 ${p99.toFixed(2)} ms, ${errors} errors`);
    if (errors || p99 > MAX_RATE_P99_MS || sentPerSecond < MIN_SENT_SHARE * rate) break;
    best = { maxRate: rate, maxRateP99: p99 };
    await new Promise(r => setTimeout(r, 1000)); // let the queues drain between steps
  }
  return best;
}
