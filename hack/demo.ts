// `npm start`: see vmnet-operator work. Without KUBECONFIG it builds (first time) and starts a
// local control plane, the KubeVirt simulator and the operator, applies config/samples, shows a
// live table of VM NICs with their pools and addresses (VM db-2 has one NIC on its network's default
// pool and one on a pool it chose), and live-migrates one VM to show its address stay.
// With KUBECONFIG it runs the operator against that cluster and shows the same table.
// VMNET_DEMO_ONCE=1 exits after the migration (used by a test).
import fs from "node:fs";
import path from "node:path";
import type { IPClaim } from "../capabilities/api/ipclaim-v1alpha1";
import { poolChoicesOf } from "../capabilities/domain/vm-pools";
import { KubeClient, KubeObject } from "../capabilities/k8s/client";
import { Kinds } from "../capabilities/k8s/kinds";
import { installCrds, readManifests } from "./cluster-setup";
import { ControlPlane, startControlPlane } from "./control-plane";
import { OperatorProcess, startOperator } from "./operator-process";
import { KubevirtSim, kubevirtKubeconfig, startKubevirtSim } from "../test/kubevirt-sim";

const once = process.env.VMNET_DEMO_ONCE === "1";
const say = (msg: string): void => console.log(`[demo] ${msg}`);
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

interface Running {
  controlPlane?: ControlPlane;
  operator?: OperatorProcess;
  sim?: KubevirtSim;
  client?: KubeClient;
}

const running: Running = {};

async function stopAll(): Promise<void> {
  await running.sim?.stop().catch(() => undefined);
  await running.operator?.stop().catch(() => undefined);
  await running.client?.close().catch(() => undefined);
  await running.controlPlane?.stop().catch(() => undefined);
}

function kindRef(obj: KubeObject): (typeof Kinds)[keyof typeof Kinds] {
  const ref = Object.values(Kinds).find(k => k.kind === obj.kind && k.apiVersion === obj.apiVersion);
  if (!ref) throw new Error(`the demo does not know how to apply ${obj.apiVersion} ${obj.kind}`);
  return ref;
}

async function applySamples(client: KubeClient): Promise<void> {
  const dir = path.join(__dirname, "..", "config", "samples");
  const files = fs
    .readdirSync(dir)
    .filter(f => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .map(f => `config/samples/${f}`);
  const objects = readManifests(...files);
  // Namespaces first, then networks and pools, VMs last: as Argo CD's sync waves would.
  const order = ["Namespace", "NetworkAttachmentDefinition", "IPPool", "VirtualMachine"];
  objects.sort((a, b) => order.indexOf(String(a.kind)) - order.indexOf(String(b.kind)));
  for (const obj of objects) await client.apply(kindRef(obj), obj);
  say(`applied ${objects.length} objects from ${files.join(", ")}`);
}

async function table(client: KubeClient): Promise<{ text: string; claims: IPClaim[]; allRunning: boolean }> {
  const [vms, claims, pods] = await Promise.all([
    client.list<KubeObject & { status?: { printableStatus?: string } }>(Kinds.VirtualMachine),
    client.list<IPClaim>(Kinds.IPClaim),
    client.list<KubeObject & { metadata: { labels?: Record<string, string> } }>(Kinds.Pod, { labelSelector: "kubevirt.io=virt-launcher" }),
  ]);
  const rows = [["NAMESPACE", "VM", "STATUS", "NIC", "NETWORK", "POOL", "ADDRESS", "MAC", "CLAIM", "LAUNCHER PODS"]];
  for (const vm of vms.items) {
    const ns = vm.metadata!.namespace!;
    const name = vm.metadata!.name!;
    const mine = claims.items.filter(c => c.metadata?.namespace === ns && c.spec?.vm === name);
    const podCount = pods.items.filter(p => p.metadata?.namespace === ns && p.metadata?.labels?.["vm.kubevirt.io/name"] === name).length;
    const status = vm.status?.printableStatus ?? "";
    if (!mine.length) rows.push([ns, name, status, "-", "pod network", "-", "-", "-", "-", String(podCount)]);
    for (const c of mine) rows.push([ns, name, status, ...claimCells(vm, c), String(podCount)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)));
  const allRunning = vms.items.length > 0 && vms.items.every(vm => vm.status?.printableStatus === "Running");
  return { text: rows.map(r => r.map((c, i) => c.padEnd(widths[i])).join("  ")).join("\n"), claims: claims.items, allRunning };
}

/** NIC, network, pool, address, MAC and state of a claim. */
function claimCells(vm: KubeObject, c: IPClaim): string[] {
  const bound = c.status?.conditions?.find(x => x.type === "Bound");
  return [
    c.spec!.interface,
    c.spec!.network,
    poolText(vm, c),
    (c.status?.addresses ?? []).join(","),
    c.status?.mac ?? "",
    bound?.reason ?? "Pending",
  ];
}

/** The claim's pools, marked "(chosen)" when the VM picked them with vmnet.io/pools, else "(default)". */
function poolText(vm: KubeObject, claim: IPClaim): string {
  const pools = (claim.spec?.pools?.length ? claim.spec.pools : [claim.spec?.pool ?? ""]).filter(Boolean);
  if (!pools.length) return "-";
  const choices = poolChoicesOf(vm.metadata?.annotations as Record<string, string> | undefined);
  const chosen = choices.ok && choices.choices.has(claim.spec!.interface);
  return `${pools.join(",")} (${chosen ? "chosen" : "default"})`;
}

async function show(client: KubeClient, title: string): Promise<{ claims: IPClaim[]; allRunning: boolean }> {
  const { text, claims, allRunning } = await table(client);
  if (process.stdout.isTTY && !once) process.stdout.write("\x1b[2J\x1b[H");
  console.log(`${title}\n\n${text}\n`);
  return { claims, allRunning };
}

async function migrateOne(client: KubeClient, claims: IPClaim[]): Promise<void> {
  const claim = claims.find(c => c.status?.addresses?.length);
  if (!claim) return;
  const ns = claim.metadata!.namespace as string;
  const vm = claim.spec!.vm;
  const before = `${claim.status!.addresses!.join(",")} ${claim.status!.mac}`;
  const name = `demo-migration-${Date.now() % 100000}`;
  say(`live-migrating ${ns}/${vm} (${before}) with VirtualMachineInstanceMigration ${name}`);
  await client.create(Kinds.VirtualMachineInstanceMigration, { metadata: { name, namespace: ns }, spec: { vmiName: vm } });
  for (let i = 0; i < 120; i++) {
    const m = await client.get<KubeObject & { status?: { phase?: string } }>(Kinds.VirtualMachineInstanceMigration, name, ns);
    if (m.status?.phase === "Succeeded" || m.status?.phase === "Failed") {
      const after = await client.get<IPClaim>(Kinds.IPClaim, claim.metadata!.name as string, ns);
      const now = `${after.status!.addresses!.join(",")} ${after.status!.mac}`;
      say(`migration ${m.status.phase}: ${ns}/${vm} has ${now} (${now === before ? "unchanged" : "CHANGED"})`);
      return;
    }
    await sleep(500);
  }
  say("the migration did not finish within a minute");
}

/**
 * On the local control plane the operator runs as its own user, as in a cluster: the admin
 * kubeconfig printed for you is then not the operator, and the admission policy refuses its
 * writes to IPAllocations. (Bound to cluster-admin here: it also registers its webhooks.)
 */
async function operatorIdentity(): Promise<Record<string, string>> {
  if (!running.controlPlane || !running.client) return {};
  const user = "vmnet-operator";
  await running.client.apply(
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false },
    {
      metadata: { name: "vmnet-operator-local" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
    },
  );
  return { KUBECONFIG: running.controlPlane.userKubeconfig(user), VMNET_OPERATOR_IDENTITY: user };
}

async function main(): Promise<void> {
  if (!process.env.KUBECONFIG) {
    say("no KUBECONFIG: starting a local control plane (the first run builds Kubernetes from source: several minutes, progress below)");
    running.controlPlane = await startControlPlane({
      beforeControllerManager: async kubeconfig => {
        process.env.KUBECONFIG = kubeconfig;
        running.client = await KubeClient.fromDefault();
        await installCrds(running.client);
      },
    });
    say("control plane up");
  }
  running.client ??= await KubeClient.fromDefault();
  running.operator = await startOperator(
    { LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", ...(await operatorIdentity()) },
    { testTimers: false },
  );
  say(
    `operator running (admission on https://localhost:${running.operator.port}, metrics on http://localhost:${running.operator.metricsPort}/metrics)`,
  );
  if (running.controlPlane) {
    // The simulator acts as KubeVirt's virt-controller: only that identity's launcher pods get addresses.
    process.env.KUBEVIRT_SIM_KUBECONFIG = await kubevirtKubeconfig(running.controlPlane, running.client);
    running.sim = await startKubevirtSim();
    say("KubeVirt simulator running");
    // Contract: once everything is ready, one line a script (or a person) can eval.
    console.log(`export KUBECONFIG=${running.controlPlane.kubeconfig}`);
    await applySamples(running.client);
  }
  let migrated = !running.controlPlane;
  for (;;) {
    const { claims, allRunning } = await show(running.client, `vmnet-operator demo: ${new Date().toISOString()}  (Ctrl-C to stop)`);
    const allBound = claims.length > 0 && claims.every(c => c.status?.conditions?.some(x => x.type === "Bound" && x.status === "True"));
    if (!migrated && allBound && allRunning) {
      await migrateOne(running.client, claims);
      migrated = true;
      await show(running.client, "after the live migration:");
      if (once) return;
      await sleep(4000);
    }
    await sleep(2000);
  }
}

process.on("SIGINT", () => void stopAll().then(() => process.exit(0)));
process.on("SIGTERM", () => void stopAll().then(() => process.exit(0)));
main()
  .then(stopAll)
  .catch(async err => {
    console.error(`[demo] failed: ${err instanceof Error ? err.stack : String(err)}`);
    await stopAll();
    process.exit(1);
  });
