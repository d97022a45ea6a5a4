// Soak: VM create, delete and live-migrate churn for a while (default 30 minutes) against a local
// control plane with the simulator and the operator; ends by checking that the pool is back at its
// starting state, the invariants hold, and the operator's memory stayed flat. The operator runs as
// the image runs it (the bundle under plain node with the image's NODE_OPTIONS; --tsx for tsx).
//   npx tsx test/bench/soak.ts --minutes 30
import os from "node:os";
import { startLocalCluster } from "../../hack/cluster-setup";
import { freePort, startOperator } from "../../hack/operator-process";
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { ApiError } from "../../capabilities/k8s/errors";
import { Kinds } from "../../capabilities/k8s/kinds";
import { kubevirtKubeconfig, startKubevirtSim } from "../kubevirt-sim";
import { checkInvariants } from "../reliability/invariants";
import { OVS_STATIC_CONFIG, vmManifest } from "../helpers";
import { operatorBuild } from "./operator-build";
import { metricValues } from "./scale";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

async function memory(port: number): Promise<{ rss: number; heap: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return {
    rss: (metricValues(text, "process_resident_memory_bytes")[0]?.value ?? 0) / 2 ** 20,
    heap: (metricValues(text, "nodejs_heap_size_used_bytes")[0]?.value ?? 0) / 2 ** 20,
  };
}

/** What the churn did so far: counts, errors nobody expected, the VMs alive now. */
interface Churn {
  counts: { created: number; deleted: number; migrated: number; refused: number };
  unexpected: string[];
  live: Set<string>;
  seq: number;
}

type InvariantReport = Awaited<ReturnType<typeof checkInvariants>>;

const anyLive = (live: Set<string>): string => [...live][Math.floor(Math.random() * live.size)];

/** One random step: create (while slots are free), delete, or migrate a live VM. */
async function churnStep(client: KubeClient, ns: string, churn: Churn, slots: number): Promise<void> {
  const roll = Math.random();
  let op: "create" | "delete" | "migrate" = "create";
  try {
    if (churn.live.size < slots && (roll < 0.45 || churn.live.size === 0)) {
      const name = `vm-${churn.seq++}`;
      await client.create(Kinds.VirtualMachine, vmManifest(ns, name, [{ name: "default" }, { name: "ovs1", network: "vlan100" }]));
      churn.live.add(name);
      churn.counts.created++;
    } else if (roll < 0.8) {
      op = "delete";
      const name = anyLive(churn.live);
      await client.delete(Kinds.VirtualMachine, name, ns);
      churn.live.delete(name);
      churn.counts.deleted++;
    } else {
      op = "migrate";
      await client.create(Kinds.VirtualMachineInstanceMigration, {
        metadata: { name: `m-${churn.seq++}`, namespace: ns },
        spec: { vmiName: anyLive(churn.live) },
      } as KubeObject);
      churn.counts.migrated++;
    }
  } catch (err) {
    // Migrating a VM whose VMI is not running yet is refused now and then; anything else is a failure.
    if (op === "migrate" && err instanceof ApiError) churn.counts.refused++;
    else churn.unexpected.push(`${op}: ${String(err)}`);
  }
}

/** Deletes the VMs still alive and waits (up to 2 min) for the pool to be empty and the invariants to hold. */
async function drain(client: KubeClient, ns: string, live: Set<string>): Promise<InvariantReport> {
  for (const name of live) await client.delete(Kinds.VirtualMachine, name, ns);
  let report = await checkInvariants(client, { namespace: ns, pools: ["soak"], expectBound: 0 });
  for (let i = 0; i < 120 && (report.problems.length || report.allocations); i++) {
    await sleep(1000);
    report = await checkInvariants(client, { namespace: ns, pools: ["soak"], expectBound: 0 });
  }
  return report;
}

/** The soak fails on any invariant problem, leftover allocation or unexpected error. */
function failuresOf(report: InvariantReport, unexpected: string[]): string[] {
  return [
    ...report.problems,
    ...(report.allocations ? [`${report.allocations} allocations left in the pool after every VM was deleted`] : []),
    ...(unexpected.length ? [`${unexpected.length} unexpected errors during the churn`] : []),
  ];
}

/** Runs `step` every 100 ms for `minutes`, sampling the operator's memory once a minute. */
async function churnFor(minutes: number, step: () => Promise<void>, metricsPort: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  const started = Date.now();
  let nextSample = 0;
  while (Date.now() - started < minutes * 60_000) {
    await step();
    if (Date.now() - started >= nextSample) {
      samples.push({ minute: Math.round((Date.now() - started) / 60_000), ...(await memory(metricsPort)) });
      nextSample += 60_000;
    }
    await sleep(100);
  }
  return samples;
}

/** The target: every RSS sample of the second half within 10% of that half's mean; returns the mean and the worst deviation. */
function secondHalfSpread(rss: readonly number[]): { mean: number; worst: number } {
  const half = rss.slice(Math.floor(rss.length / 2));
  const mean = half.reduce((a, b) => a + b, 0) / Math.max(1, half.length);
  const worst = half.reduce((w, r) => Math.max(w, Math.abs(r - mean) / mean), 0);
  return { mean, worst };
}

const loadAverage = (): string =>
  os
    .loadavg()
    .map(l => l.toFixed(1))
    .join(" ");

/** The machine and the operator build, then the build set up as the image runs it (operator-build.ts). */
async function header(): Promise<void> {
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, node ${process.version}, ${new Date().toISOString()}, load average ${loadAverage()}`,
  );
  console.log(`operator: ${await operatorBuild(process.argv, false)}`);
}

function memoryVerdict(rss: readonly number[]): string {
  const spread = secondHalfSpread(rss);
  return `RSS of the second half: mean ${spread.mean.toFixed(0)} MiB, every sample within ${(100 * spread.worst).toFixed(1)}% of it (target 10%: ${spread.worst <= 0.1 ? "met" : "missed"}); load average ${loadAverage()}`;
}

async function main(): Promise<void> {
  const minutes = arg("minutes", 30);
  const slots = arg("vms", 40);
  await header();
  const cp = await startLocalCluster();
  const client = await KubeClient.fromDefault();
  const metricsPort = await freePort();
  const op = await startOperator({ LOG_LEVEL: "error", VMNET_METRICS_PORT: String(metricsPort) }, { testTimers: true });
  // The simulator acts as KubeVirt's virt-controller: only that identity's launcher pods get addresses.
  process.env.KUBEVIRT_SIM_KUBECONFIG = await kubevirtKubeconfig(cp, client);
  const sim = await startKubevirtSim({ stepDelayMs: 20, namespaces: n => n === "soak" });
  const ns = "soak";
  await seedPool(client, ns);
  const churn: Churn = { counts: { created: 0, deleted: 0, migrated: 0, refused: 0 }, unexpected: [], live: new Set(), seq: 0 };
  const samples = await churnFor(minutes, () => churnStep(client, ns, churn, slots), metricsPort);
  const report = await drain(client, ns, churn.live);
  const end = await memory(metricsPort);
  printReport(minutes, churn, report, samples, end);
  await sim.stop();
  await op.stop();
  await client.close();
  await cp.stop();
  const failures = failuresOf(report, churn.unexpected);
  if (failures.length) {
    console.error(`soak FAILED: ${failures.length} problem(s):\n${failures.slice(0, 20).join("\n")}`);
    process.exitCode = 1;
  } else console.log("soak passed: no invariant problem, no allocation left");
}

async function seedPool(client: KubeClient, ns: string): Promise<void> {
  await client.apply(Kinds.Namespace, { metadata: { name: ns } });
  await client.apply(Kinds.NetworkAttachmentDefinition, {
    metadata: { name: "vlan100", namespace: ns },
    spec: { config: OVS_STATIC_CONFIG("vlan100") },
  });
  await client.apply(Kinds.IPPool, { metadata: { name: "soak" }, spec: { cidr: "10.250.0.0/24", networks: [`${ns}/vlan100`] } });
}

type Sample = { minute: number; rss: number; heap: number };

function printReport(minutes: number, churn: Churn, report: InvariantReport, samples: Sample[], end: { rss: number; heap: number }): void {
  const { counts, unexpected } = churn;
  console.log(
    `soak: ${minutes} min, ${counts.created} VMs created, ${counts.deleted} deleted, ${counts.migrated} migrations started, ${counts.refused} migrations refused, ${unexpected.length} unexpected errors${unexpected.length ? `: ${unexpected.slice(0, 5).join("; ")}` : ""}`,
  );
  console.log(
    `end state: ${report.allocations} allocations left in the pool, ${report.problems.length} invariant problems${report.problems.length ? `: ${report.problems.slice(0, 5).join("; ")}` : ""}`,
  );
  console.log(
    `operator memory per minute (RSS/heap MiB): ${samples.map(s => `${s.minute}:${s.rss.toFixed(0)}/${s.heap.toFixed(0)}`).join(" ")}; at the end ${end.rss.toFixed(0)}/${end.heap.toFixed(0)}`,
  );
  console.log(memoryVerdict(samples.map(s => s.rss)));
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
