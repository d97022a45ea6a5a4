// Launcher-pod admission latency while tenants send huge VMs: p50/p99/max of launcher pod creates
// (dry run, through the real API server and both webhooks, as KubeVirt's identity) alone, then
// while six clients each send 8,000-NIC VM dry runs back to back. Not a test; prints figures.
//   npx tsx test/bench/hostile.ts [--seconds 20] [--rate 10] [--attackers 6] [--nics 8000]
import os from "node:os";
import { launcherInterfaceName } from "../../capabilities/domain/launcher-pod";
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { startLocalCluster } from "../../hack/cluster-setup";
import { startOperator } from "../../hack/operator-process";
import { OVS_STATIC_CONFIG, vmManifest } from "../helpers";
import { kubevirtKubeconfig } from "../kubevirt-sim/identity";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const log = (s: string): void => console.error(`[hostile] ${s}`);
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function launcherLatencies(
  launcher: KubeClient,
  ns: string,
  vms: string[],
  rate: number,
  seconds: number,
): Promise<{ ms: number[]; errors: number }> {
  const ms: number[] = [];
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const vm = vms[i % vms.length];
    const pod = {
      metadata: {
        generateName: `virt-launcher-${vm}-`,
        namespace: ns,
        labels: { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": vm },
        annotations: {
          "k8s.v1.cni.cncf.io/networks": JSON.stringify([{ name: "vlan100", namespace: ns, interface: launcherInterfaceName("ovs1") }]),
        },
      },
      spec: { containers: [{ name: "compute", image: "virt-launcher" }] },
    };
    inflight.push(
      (async () => {
        const start = performance.now();
        try {
          const created = await launcher.request<KubeObject>({
            method: "POST",
            path: `/api/v1/namespaces/${ns}/pods`,
            query: { dryRun: "All" },
            body: { apiVersion: "v1", kind: "Pod", ...pod },
            what: "launcher pod",
          });
          if (!String((created.metadata?.annotations as Record<string, string>)["k8s.v1.cni.cncf.io/networks"]).includes('"ips"')) errors++;
        } catch {
          errors++;
        }
        ms.push(performance.now() - start);
      })(),
    );
  }
  await Promise.all(inflight);
  return { ms: ms.sort((a, b) => a - b), errors };
}

/** The namespace, NAD and pool, and `count` VMs with one pool-backed NIC each, waited for until bound. */
async function seedBoundVms(admin: KubeClient, ns: string, count: number): Promise<string[]> {
  await admin.apply(Kinds.Namespace, { metadata: { name: ns } });
  await admin.apply(Kinds.NetworkAttachmentDefinition, {
    metadata: { name: "vlan100", namespace: ns },
    spec: { config: OVS_STATIC_CONFIG("vlan100") },
  });
  await admin.apply(Kinds.IPPool, { metadata: { name: "hostile" }, spec: { cidr: "10.241.0.0/24", networks: [`${ns}/vlan100`] } });
  const vms = Array.from({ length: count }, (_, i) => `vm-${i}`);
  for (const vm of vms) await admin.create(Kinds.VirtualMachine, vmManifest(ns, vm, [{ name: "ovs1", network: "vlan100" }]));
  for (let i = 0; i < 200; i++) {
    const claims = (await admin.list<{ status?: { addresses?: string[] } }>(Kinds.IPClaim, { namespace: ns })).items;
    if (claims.length === vms.length && claims.every(c => c.status?.addresses?.length)) break;
    await sleep(200);
  }
  return vms;
}

/** `attackers` clients sending the huge VM's dry run back to back until stop() resolves them all. */
function startAttackers(
  ns: string,
  huge: object,
  attackers: number,
): { stop: () => Promise<void>; refusals: number[]; sent: () => number } {
  let stop = false;
  let sent = 0;
  const refusals: number[] = [];
  const attacker = async (): Promise<void> => {
    const c = await KubeClient.fromDefault(2);
    c.maxAttempts = 1;
    while (!stop) {
      const t0 = performance.now();
      await c
        .request({
          method: "POST",
          path: `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`,
          query: { dryRun: "All" },
          body: huge,
          what: "huge VM",
        })
        .catch(() => undefined);
      refusals.push(performance.now() - t0);
      sent++;
    }
    await c.close();
  };
  const running = Array.from({ length: attackers }, () => attacker());
  return {
    stop: async () => {
      stop = true;
      await Promise.all(running);
      refusals.sort((a, b) => a - b);
    },
    refusals,
    sent: () => sent,
  };
}

type Latencies = { ms: number[]; errors: number };

function printFigures(f: {
  rate: number;
  seconds: number;
  attackers: number;
  nics: number;
  quiet: Latencies;
  loaded: Latencies;
  refusals: number[];
  sent: number;
}): void {
  const { rate, seconds, attackers, nics, quiet, loaded, refusals, sent } = f;
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, node ${process.version}, ${new Date().toISOString()}`);
  console.log(`launcher-pod admission (dry-run creates through the API server, ${rate}/s for ${seconds} s):`);
  console.log(
    `  quiet:  ${quiet.ms.length} requests, ${quiet.errors} errors, p50 ${pct(quiet.ms, 50).toFixed(0)} ms, p99 ${pct(quiet.ms, 99).toFixed(0)} ms, max ${quiet.ms[quiet.ms.length - 1].toFixed(0)} ms`,
  );
  console.log(
    `  with ${attackers} x ${nics}-NIC VM dry runs in a loop: ${loaded.ms.length} requests, ${loaded.errors} errors, p50 ${pct(loaded.ms, 50).toFixed(0)} ms, p99 ${pct(loaded.ms, 99).toFixed(0)} ms, max ${loaded.ms[loaded.ms.length - 1].toFixed(0)} ms`,
  );
  console.log(
    `  huge VMs sent meanwhile: ${sent}, each refused in p50 ${pct(refusals, 50).toFixed(0)} ms, p99 ${pct(refusals, 99).toFixed(0)} ms`,
  );
}

async function main(): Promise<void> {
  const seconds = arg("seconds", 20);
  const rate = arg("rate", 10);
  const attackers = arg("attackers", 6);
  const nics = arg("nics", 8000);
  const cp = await startLocalCluster();
  const admin = await KubeClient.fromDefault();
  const launcher = await KubeClient.fromDefault(16, await kubevirtKubeconfig(cp, admin));
  launcher.maxAttempts = 1;
  const op = await startOperator({ LOG_LEVEL: "error" }, { testTimers: false });
  try {
    const ns = "hostile";
    const vms = await seedBoundVms(admin, ns, 10);
    await launcherLatencies(launcher, ns, vms, rate, 2); // warm-up
    const quiet = await launcherLatencies(launcher, ns, vms, rate, seconds);
    log(`quiet: p50 ${pct(quiet.ms, 50).toFixed(0)} ms, p99 ${pct(quiet.ms, 99).toFixed(0)} ms`);
    const huge = vmManifest(
      ns,
      "huge",
      Array.from({ length: nics }, (_, i) => ({ name: `n${i}`, network: "vlan100" })),
    );
    const attack = startAttackers(ns, huge, attackers);
    await sleep(1000);
    const loaded = await launcherLatencies(launcher, ns, vms, rate, seconds);
    await attack.stop();
    const { refusals } = attack;
    const sent = attack.sent();
    printFigures({ rate, seconds, attackers, nics, quiet, loaded, refusals, sent });
  } finally {
    await op.stop();
    await launcher.close();
    await admin.close();
    await cp.stop();
  }
}

main().then(
  () => process.exit(0),
  err => {
    console.error(err);
    process.exit(1);
  },
);
