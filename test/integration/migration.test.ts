// Live migration keeps IP and MAC: the simulator plays virt-controller, the operator's webhook
// mutates every launcher pod (source and target) and its migration controller records the outcome.
import assert from "node:assert/strict";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import { KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { KubevirtSim, startKubevirtSim } from "../kubevirt-sim";
import { boundClaim, createNad, createPool, eventually, uniqueSubnet, vmManifest } from "../helpers";
import { cluster, freshNamespace, restartOperator } from "../setup/cluster";

const NETWORKS = "k8s.v1.cni.cncf.io/networks";
const client = (): ReturnType<typeof cluster>["client"] => cluster().client;

interface Element {
  name: string;
  interface?: string;
  ips?: string[];
  mac?: string;
}

async function launcherPods(ns: string, vm: string): Promise<KubeObject[]> {
  const pods = await client().list<KubeObject>(Kinds.Pod, {
    namespace: ns,
    labelSelector: `kubevirt.io=virt-launcher,vm.kubevirt.io/name=${vm}`,
  });
  return pods.items.filter(p => !p.metadata?.deletionTimestamp);
}

const elementsOf = (pod: KubeObject): Element[] => JSON.parse(pod.metadata?.annotations?.[NETWORKS] ?? "[]");

async function migrate(ns: string, vm: string, name: string, annotations: Record<string, string> = {}): Promise<string> {
  await client().create(Kinds.VirtualMachineInstanceMigration, { metadata: { name, namespace: ns, annotations }, spec: { vmiName: vm } });
  const done = await eventually(
    `migration ${name} to finish`,
    async () => {
      const m = await client().get<KubeObject & { status?: { phase?: string } }>(Kinds.VirtualMachineInstanceMigration, name, ns);
      return m.status?.phase === "Succeeded" || m.status?.phase === "Failed" ? m : undefined;
    },
    60_000,
  );
  return done.status!.phase!;
}

/** Each VM's bound [addresses, MAC] (JSON) and its one launcher pod's name, before any migration. */
async function startingState(
  ns: string,
  vmCount: number,
): Promise<{ before: Map<string, string>; current: Map<string, string | undefined> }> {
  const before = new Map<string, string>();
  const current = new Map<string, string | undefined>();
  for (let i = 0; i < vmCount; i++) {
    const c = await boundClaim(ns, `vm-${i}.ovs1`);
    before.set(`vm-${i}`, JSON.stringify([c.status?.addresses, c.status?.mac]));
    const [pod] = await eventually(`vm-${i} launcher pod`, async () =>
      (await launcherPods(ns, `vm-${i}`)).length === 1 ? launcherPods(ns, `vm-${i}`) : undefined,
    );
    current.set(`vm-${i}`, pod.metadata?.name);
  }
  return { before, current };
}

/**
 * The target pod's network element, once the source pod is gone: every migration is checked, none
 * passes for want of a pod. Records the target as the VM's current pod.
 */
async function targetElement(ns: string, vm: string, run: string, current: Map<string, string | undefined>): Promise<Element> {
  const [target] = await eventually(`only the target launcher pod of ${vm} left after ${run}`, async () => {
    const p = await launcherPods(ns, vm);
    return p.length === 1 && p[0].metadata?.name !== current.get(vm) ? p : undefined;
  });
  current.set(vm, target.metadata?.name);
  const el = elementsOf(target)[0];
  assert.ok(el, `the target pod of ${run} has no network element: ${JSON.stringify(target.metadata?.annotations)}`);
  return el;
}

/** The claims after the runs: how many changed address or MAC, and how many addresses or MACs repeat. */
async function claimsAfter(
  ns: string,
  vmCount: number,
  before: Map<string, string>,
): Promise<{ changes: number; duplicates: number; seen: Map<string, string> }> {
  const seen = new Map<string, string>();
  let duplicates = 0;
  let changes = 0;
  for (let i = 0; i < vmCount; i++) {
    const c = await client().get<IPClaim>(Kinds.IPClaim, `vm-${i}.ovs1`, ns);
    if (JSON.stringify([c.status?.addresses, c.status?.mac]) !== before.get(`vm-${i}`)) changes++;
    for (const key of [...(c.status?.addresses ?? []), c.status?.mac ?? `no MAC on vm-${i}`]) {
      if (seen.has(key)) duplicates++;
      seen.set(key, `vm-${i}`);
    }
  }
  return { changes, duplicates, seen };
}

async function setup(vms: number): Promise<{ ns: string; pool: string }> {
  const ns = await freshNamespace("mig");
  const subnet = uniqueSubnet();
  const pool = `mig-${ns}`;
  await createNad(ns, "vlan100");
  await createPool(pool, { cidr: subnet.cidr, gateway: `${subnet.prefix}.1`, networks: [`${ns}/vlan100`] });
  for (let i = 0; i < vms; i++)
    await client().create(Kinds.VirtualMachine, vmManifest(ns, `vm-${i}`, [{ name: "default" }, { name: "ovs1", network: "vlan100" }]));
  return { ns, pool };
}

describe("live migration keeps IP and MAC", function () {
  this.timeout(300_000);
  let sim: KubevirtSim;
  before(async () => {
    // Only this suite's namespaces: other suites leave many VMs behind in a shared cluster.
    sim = await startKubevirtSim({ stepDelayMs: 20, namespaces: ns => ns.startsWith("mig-") });
  });
  after(async () => sim.stop());

  it("gives source and target launcher pods the claim's address and MAC, and records it on the claim", async () => {
    const { ns } = await setup(1);
    const claim = await boundClaim(ns, "vm-0.ovs1");
    const [source] = await eventually("the launcher pod", async () =>
      (await launcherPods(ns, "vm-0")).length ? launcherPods(ns, "vm-0") : undefined,
    );
    const el = elementsOf(source)[0];
    assert.deepEqual([el.ips, el.mac], [claim.status?.addresses, claim.status?.mac]);

    assert.equal(await migrate(ns, "vm-0", "mig-1"), "Succeeded");
    const pods = await eventually("only the target left", async () => {
      const p = await launcherPods(ns, "vm-0");
      return p.length === 1 && p[0].metadata?.name !== source.metadata?.name ? p : undefined;
    });
    const target = elementsOf(pods[0])[0];
    assert.deepEqual([target.ips, target.mac], [claim.status?.addresses, claim.status?.mac]);
    const after = await eventually("a Migrated condition", async () => {
      const c = await client().get<IPClaim>(Kinds.IPClaim, "vm-0.ovs1", ns);
      return c.status?.conditions?.find(x => x.type === "Migrated") ? c : undefined;
    });
    const migrated = after.status!.conditions!.find(x => x.type === "Migrated")!;
    assert.equal(migrated.status, "True");
    assert.equal(migrated.reason, "AddressKept");
    assert.deepEqual(after.status?.addresses, claim.status?.addresses);
    assert.equal(after.metadata?.uid, claim.metadata?.uid);
    // Selected as `kubectl describe vm` selects them: by the VM's uid too.
    const vm = await client().get<KubeObject>(Kinds.VirtualMachine, "vm-0", ns);
    const selector = `involvedObject.kind=VirtualMachine,involvedObject.name=vm-0,involvedObject.uid=${vm.metadata?.uid}`;
    await eventually("the AddressKept Event on the VM, found by its uid", async () =>
      (await client().list<{ reason: string }>(Kinds.Event, { namespace: ns, fieldSelector: selector })).items.some(
        e => e.reason === "AddressKept",
      ),
    );
  });

  it("records a failed migration without releasing anything", async () => {
    const { ns } = await setup(1);
    const claim = await boundClaim(ns, "vm-0.ovs1");
    await eventually("the launcher pod", async () => (await launcherPods(ns, "vm-0")).length === 1 || undefined);
    assert.equal(await migrate(ns, "vm-0", "mig-fail", { "vmnet.io/sim-fail": "true" }), "Failed");
    const after = await eventually("a Migrated condition", async () => {
      const c = await client().get<IPClaim>(Kinds.IPClaim, "vm-0.ovs1", ns);
      return c.status?.conditions?.find(x => x.type === "Migrated" && x.reason === "MigrationFailed") ? c : undefined;
    });
    assert.deepEqual(after.status?.addresses, claim.status?.addresses);
  });

  // The invariant run: MIGRATION_RUNS=100 MIGRATION_VMS=20 for the full figure (npm run test:reliability).
  const runs = Number(process.env.MIGRATION_RUNS ?? 10);
  const vmCount = Number(process.env.MIGRATION_VMS ?? 4);
  it(`keeps every address and MAC through ${runs} migrations of ${vmCount} VMs with an operator restart in the middle`, async () => {
    const { ns } = await setup(vmCount);
    const { before, current } = await startingState(ns, vmCount);
    let changes = 0;
    let targets = 0;
    for (let r = 0; r < runs; r++) {
      if (r === Math.floor(runs / 2)) await restartOperator("SIGKILL");
      const vm = `vm-${r % vmCount}`;
      assert.equal(await migrate(ns, vm, `run-${r}`), "Succeeded");
      const el = await targetElement(ns, vm, `run-${r}`, current);
      if (JSON.stringify([el.ips, el.mac]) !== before.get(vm)) changes++;
      targets++;
    }
    const end = await claimsAfter(ns, vmCount, before);
    changes += end.changes;
    const { seen, duplicates } = end;
    console.log(
      `      migration invariant: ${runs} migrations of ${vmCount} VMs, ${targets} target pods checked, ${changes} address/MAC changes, ${duplicates} duplicates`,
    );
    assert.equal(targets, runs);
    assert.equal(duplicates, 0, `duplicate addresses or MACs: ${JSON.stringify([...seen])}`);
    assert.equal(changes, 0);
  });
});
