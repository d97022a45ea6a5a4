// The KubeVirt simulator (test/kubevirt-sim): its renderers against KubeVirt's own expectations,
// then its behaviour against the real API server with the operator (and its launcher-pod
// webhook, when registered) in the loop.
import assert from "node:assert/strict";
import { K8s } from "kubernetes-fluent-client";
import { VirtualMachineInstanceMigration } from "../../capabilities/api/external/kubevirt";
import type { KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { hashedInterfaceName, KubevirtSim, MIGRATION_PHASES, networkSelection, startKubevirtSim, vmiInterfaces } from "../kubevirt-sim";
import type { NetworkSelectionElement, SimPod, SimVm, SimVmi, SimVmim } from "../kubevirt-sim/types";
import { boundClaim, createNad, createPool, eventually, gone, NicSpec, uniqueSubnet, vmManifest } from "../helpers";
import { cluster, freshNamespace } from "../setup/cluster";

const client = (): ReturnType<typeof cluster>["client"] => cluster().client;
const NETWORKS = "k8s.v1.cni.cncf.io/networks";

describe("KubeVirt simulator: renderers", () => {
  const vmi = (networks: unknown[], interfaces: unknown[]): SimVmi =>
    ({
      metadata: { name: "testvmi", namespace: "default", uid: "vmi-uid" },
      spec: { networks, domain: { devices: { interfaces } } },
    }) as SimVmi;

  it("names pod interfaces and renders the networks annotation byte for byte as KubeVirt does", () => {
    // Expectations copied from KubeVirt's pkg/network/multus and namescheme tests.
    assert.equal(hashedInterfaceName("blue"), "pod16477688c0e");
    assert.equal(hashedInterfaceName("red"), "podb1f51a511f1");
    assert.equal(hashedInterfaceName("green"), "podba4788b226a");
    const rendered = networkSelection(
      vmi(
        [
          { name: "default", pod: {} },
          { name: "blue", multus: { networkName: "test1" } },
          { name: "red", multus: { networkName: "other-namespace/test1" } },
        ],
        [
          { name: "default", masquerade: {} },
          { name: "blue", bridge: {} },
          { name: "red", bridge: {} },
        ],
      ),
    );
    assert.equal(
      JSON.stringify(rendered),
      '[{"name":"test1","namespace":"default","interface":"pod16477688c0e"},{"name":"test1","namespace":"other-namespace","interface":"podb1f51a511f1"}]',
    );
  });

  it("leaves the default Multus network out and carries a spec macAddress", () => {
    const rendered = networkSelection(
      vmi(
        [
          { name: "primary", multus: { networkName: "ns1/flat", default: true } },
          { name: "ovs1", multus: { networkName: "vlan100" } },
        ],
        [
          { name: "primary", bridge: {} },
          { name: "ovs1", bridge: {}, macAddress: "02:aa:bb:cc:dd:ee" },
        ],
      ),
    );
    assert.deepEqual(rendered, [
      { name: "vlan100", namespace: "default", mac: "02:aa:bb:cc:dd:ee", interface: hashedInterfaceName("ovs1") },
    ]);
  });

  it("reports a Multus NIC's ips (without prefix length) and mac from the pod's annotation, the pod IP for the pod network", () => {
    const v = vmi(
      [
        { name: "default", pod: {} },
        { name: "ovs1", multus: { networkName: "vlan100" } },
      ],
      [
        { name: "default", masquerade: {} },
        { name: "ovs1", bridge: {} },
      ],
    );
    const element = {
      name: "vlan100",
      namespace: "default",
      interface: hashedInterfaceName("ovs1"),
      ips: ["10.1.2.3/24", "fd00::3/64"],
      mac: "02:0a:01:02:03:00",
    };
    const pod: SimPod = {
      metadata: { uid: "pod-uid", annotations: { [NETWORKS]: JSON.stringify([element]) } },
      status: { podIP: "10.244.7.8" },
    };
    const [primary, ovs1] = vmiInterfaces(v, pod);
    assert.equal(primary.ipAddress, "10.244.7.8");
    assert.deepEqual(
      { ip: ovs1.ipAddress, ips: ovs1.ipAddresses, mac: ovs1.mac },
      { ip: "10.1.2.3", ips: ["10.1.2.3", "fd00::3"], mac: "02:0a:01:02:03:00" },
    );
  });
});

describe("KubeVirt simulator against the API server", function () {
  let sim: KubevirtSim;

  before(async () => {
    sim = await startKubevirtSim({ stepDelayMs: 100, resyncMs: 2000, namespaces: ns => ns.startsWith("kvsim-") });
  });

  after(async () => {
    await sim?.stop();
  });

  it("starts a VM with runStrategy Always: VMI and launcher pod with KubeVirt's labels, owners, hashed interfaces, and Running status", async () => {
    const ns = await network();
    const nics: NicSpec[] = [
      { name: "default" },
      { name: "ovs1", network: "vlan100", macAddress: "02:aa:00:00:00:01" },
      { name: "ovs2", network: `${ns}/vlan200` },
    ];
    const manifest = vmManifest(ns, "web", nics) as SimVm;
    manifest.spec!.template!.metadata = { labels: { app: "web" }, annotations: { note: "kept" } };
    const vm = await client().create<SimVm>(Kinds.VirtualMachine, manifest);
    const { vmi, pod } = await running(ns, "web");
    assertVmiOf(vm, vmi);
    assertLauncherPodOf(vmi, pod);

    // The elements the simulator rendered (the operator's webhook may add ips and mac to pool-backed ones).
    const elements = annotationOf(pod);
    assert.deepEqual(
      elements.map(e => pick(e, ["name", "namespace", "interface"])),
      [
        { name: "vlan100", namespace: ns, interface: "pod1c7714507bd" }, // sha256("ovs1")
        { name: "vlan200", namespace: ns, interface: hashedInterfaceName("ovs2") },
      ],
    );
    assert.equal(elements[0].mac, "02:aa:00:00:00:01", "the interface's spec macAddress");

    const vmStatus = await vmStatusWith(ns, "web", "Running");
    assert.deepEqual(pick(vmStatus, ["ready", "created"]), { ready: true, created: true });
  });

  it("settles: once objects are as they should be, a resync writes nothing", async () => {
    const ns = await network();
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "calm", [{ name: "default" }, { name: "ovs1", network: "vlan100" }]));
    await running(ns, "calm");
    await vmStatusWith(ns, "calm", "Running");
    await new Promise(r => setTimeout(r, 500)); // the operator's own writes (finalizer, claims) come and go
    await sim.idle();
    const before = sim.writes();
    await new Promise(r => setTimeout(r, 2500)); // longer than the 2 s resync
    await sim.idle();
    assert.equal(sim.writes() - before, 0, "writes during a resync of a steady cluster");
  });

  it("stops a VM on runStrategy Halted (VMI and pod go, status Stopped), starts it again, honours spec.running, and cleans up on VM deletion", async () => {
    const ns = await network();
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "stopper", [{ name: "default" }, { name: "ovs1", network: "vlan100" }]));
    const first = await running(ns, "stopper");
    await client().mergePatch(Kinds.VirtualMachine, "stopper", ns, { spec: { runStrategy: "Halted" } });
    await gone(Kinds.VirtualMachineInstance, "stopper", ns);
    await gone(Kinds.Pod, String(first.pod.metadata?.name), ns);
    const stopped = await vmStatusWith(ns, "stopper", "Stopped");
    assert.deepEqual(pick(stopped, ["ready", "created"]), { ready: false, created: false });

    await client().mergePatch(Kinds.VirtualMachine, "stopper", ns, { spec: { runStrategy: "Always" } });
    const second = await running(ns, "stopper");
    assert.notEqual(second.vmi.metadata?.uid, first.vmi.metadata?.uid, "a new VMI");
    assert.notEqual(second.pod.metadata?.name, first.pod.metadata?.name, "a new launcher pod");

    const legacy = vmManifest(ns, "legacy", [{ name: "default" }]) as SimVm;
    delete legacy.spec!.runStrategy;
    legacy.spec!.running = true;
    await client().create(Kinds.VirtualMachine, legacy);
    await running(ns, "legacy");
    await client().mergePatch(Kinds.VirtualMachine, "legacy", ns, { spec: { running: false } });
    await gone(Kinds.VirtualMachineInstance, "legacy", ns);

    await client().delete(Kinds.VirtualMachine, "stopper", ns);
    await gone(Kinds.VirtualMachine, "stopper", ns);
    await gone(Kinds.VirtualMachineInstance, "stopper", ns);
    await gone(Kinds.Pod, String(second.pod.metadata?.name), ns);
  });

  it("walks a migration through every phase to Succeeded: target pod with migrationJobUID/Name, source pod deleted, VMI moved", async () => {
    const ns = await network();
    await client().create(
      Kinds.VirtualMachine,
      vmManifest(ns, "mover", [{ name: "default" }, { name: "ovs1", network: "vlan100", macAddress: "02:aa:00:00:00:02" }]),
    );
    const source = await running(ns, "mover");
    const { vmim, phases } = await migrate(ns, "mig-1", "mover");

    assert.deepEqual(phases, [...MIGRATION_PHASES], "phases seen by a watch, in order");
    assert.deepEqual(
      vmim.status?.phaseTransitionTimestamps?.map(t => t.phase),
      [...MIGRATION_PHASES],
    );
    const vmi = await client().get<SimVmi>(Kinds.VirtualMachineInstance, "mover", ns);
    const target = await client().get<SimPod>(Kinds.Pod, String(vmi.status?.migrationState?.targetPod), ns);
    assertMovedVmi(vmi, vmim, source.pod, target);
    assertTargetPod(target, vmim, vmi, source.pod);
    await gone(Kinds.Pod, String(source.pod.metadata?.name), ns);
    await vmStatusWith(ns, "mover", "Running");

    const back = await migrate(ns, "mig-2", "mover");
    assert.equal(back.vmim.status?.phase, "Succeeded");
    const again = await client().get<SimVmi>(Kinds.VirtualMachineInstance, "mover", ns);
    assert.equal(again.status?.nodeName, "sim-node-1", "migrations alternate between the two nodes");
  });

  it("fails a migration annotated vmnet.io/sim-fail after TargetReady: target pod deleted, VMI stays on its source pod", async () => {
    const ns = await network();
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "stay", [{ name: "default" }, { name: "ovs1", network: "vlan100" }]));
    const source = await running(ns, "stay");
    const { vmim, phases } = await migrate(ns, "doomed", "stay", { "vmnet.io/sim-fail": "true" });

    assert.deepEqual(phases, ["Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Failed"]);
    await eventually(
      "the target pod to be deleted",
      async () => (await podsOf(ns, `kubevirt.io/migrationJobUID=${vmim.metadata?.uid}`)).length === 0,
    );
    const vmi = await client().get<SimVmi>(Kinds.VirtualMachineInstance, "stay", ns);
    assert.equal(vmi.status?.nodeName, "sim-node-1");
    assert.deepEqual(vmi.status?.activePods, { [String(source.pod.metadata?.uid)]: "sim-node-1" });
    assert.deepEqual(pick(vmi.status?.migrationState, ["completed", "failed", "migrationUid"]), {
      completed: true,
      failed: true,
      migrationUid: vmim.metadata?.uid,
    });
    assert.ok(await client().getOrUndefined(Kinds.Pod, String(source.pod.metadata?.name), ns), "the source pod is kept");
    await event(ns, "doomed", "FailedMigration", /sim-fail/);
  });

  it("fails a migration of a VMI that does not exist, with a message", async () => {
    const ns = await network();
    const { vmim, phases } = await migrate(ns, "orphan", "no-such-vmi");
    assert.deepEqual(phases, ["Failed"]);
    assert.match(String(vmim.status?.migrationState?.failureReason), new RegExp(`VirtualMachineInstance ${ns}/no-such-vmi does not exist`));
    await event(ns, "orphan", "FailedMigration", /no-such-vmi does not exist/);
  });

  describe("VMI status interfaces and the operator's launcher-pod webhook", () => {
    let ns: string;
    let pod: SimPod;
    let vmi: SimVmi;

    before(async () => {
      ns = await network();
      const subnet = uniqueSubnet();
      await createPool(`pool-${ns}`, {
        cidr: subnet.cidr,
        gateway: `${subnet.prefix}.1`,
        networks: [`${ns}/vlan100`],
        reclaimPolicy: "Delete",
      });
      await client().create(Kinds.VirtualMachine, vmManifest(ns, "addr", [{ name: "default" }, { name: "ovs1", network: "vlan100" }]));
      ({ pod, vmi } = await running(ns, "addr"));
    });

    it("reflects the launcher pod's networks annotation (ips, mac) and the pod IP in VMI status.interfaces", () => {
      const element = annotationOf(pod).find(e => e.interface === hashedInterfaceName("ovs1"));
      assert.ok(element, "an element for ovs1");
      const ovs1 = vmi.status?.interfaces?.find(i => i.name === "ovs1");
      const primary = vmi.status?.interfaces?.find(i => i.name === "default");
      assert.equal(primary?.ipAddress, pod.status?.podIP);
      assert.deepEqual(
        ovs1?.ipAddresses,
        element.ips?.map(ip => ip.split("/")[0]),
      );
      if (element.mac) assert.equal(ovs1?.mac, element.mac);
      else assert.match(String(ovs1?.mac), /^02(:[0-9a-f]{2}){5}$/);
    });

    // The operator's launcher-pod webhook is registered by the harness: the pod must carry the claim's address.
    it("puts the Bound IPClaim's ips and mac on the launcher pod (operator webhook) and into VMI status", async function () {
      const claim = await boundClaim(ns, "addr.ovs1");
      const { addresses, mac } = claim.status ?? {};
      const element = annotationOf(pod).find(e => e.interface === hashedInterfaceName("ovs1")) ?? { name: "(none)" };
      assert.deepEqual(element.ips, addresses, "ips of the Bound claim on the pod's networks element");
      assert.equal(element.mac, mac, "mac of the Bound claim on the pod's networks element");
      const ovs1 = (vmi.status?.interfaces ?? []).find(i => i.name === "ovs1");
      assert.deepEqual(
        ovs1?.ipAddresses,
        (addresses ?? []).map(a => a.split("/")[0]),
      );
      assert.equal(ovs1?.mac, mac);
    });
  });
});

// ---------------------------------------------------------------------------------------------

/** A namespace in the simulator's scope with two OVS NADs. */
async function network(): Promise<string> {
  const ns = await freshNamespace("kvsim");
  await createNad(ns, "vlan100");
  await createNad(ns, "vlan200");
  return ns;
}

function pick<T extends object>(obj: T | undefined, keys: string[]): Record<string, unknown> {
  const rec = (obj ?? {}) as Record<string, unknown>;
  return Object.fromEntries(keys.filter(k => rec[k] !== undefined).map(k => [k, rec[k]]));
}

function annotationOf(pod: SimPod): NetworkSelectionElement[] {
  return JSON.parse(pod.metadata?.annotations?.[NETWORKS] ?? "[]") as NetworkSelectionElement[];
}

/** A VMI as KubeVirt's VM controller makes it: owned by the VM, template labels, spec copied. */
function assertVmiOf(vm: SimVm, vmi: SimVmi): void {
  const meta = vmi.metadata ?? {};
  assert.deepEqual(meta.ownerReferences, [
    {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      name: vm.metadata?.name,
      uid: vm.metadata?.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.equal(meta.labels?.app, "web");
  assert.equal(meta.annotations?.note, "kept");
  assert.deepEqual(vmi.spec, vm.spec?.template?.spec);
  assert.equal(vmi.status?.nodeName, "sim-node-1");
}

/** A launcher pod as KubeVirt renders it, and running as kubelet would report it. */
function assertLauncherPodOf(vmi: SimVmi, pod: SimPod): void {
  const meta = pod.metadata ?? {};
  assert.match(String(meta.name), /^virt-launcher-web-[a-z0-9]{5}$/);
  assert.deepEqual(pick(meta.labels, ["kubevirt.io", "vm.kubevirt.io/name", "kubevirt.io/created-by", "app"]), {
    "kubevirt.io": "virt-launcher",
    "vm.kubevirt.io/name": "web",
    "kubevirt.io/created-by": vmi.metadata?.uid,
    app: "web",
  });
  assert.deepEqual(meta.ownerReferences, [
    {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstance",
      name: "web",
      uid: vmi.metadata?.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  const containers = (pod.spec as { containers: { name: string; image: string }[] }).containers;
  assert.deepEqual(
    containers.map(c => [c.name, c.image]),
    [["compute", "quay.io/kubevirt/virt-launcher:sim"]],
  );
  const status = pod.status ?? {};
  assert.equal(status.phase, "Running");
  assert.match(String(status.podIP), /^10\.244\.\d+\.\d+$/);
  assert.ok(status.conditions?.some(c => c.type === "Ready" && c.status === "True"));
  assert.deepEqual(vmi.status?.activePods, { [String(meta.uid)]: "sim-node-1" });
}

/** A VMI after a successful migration: on the target node and pod, migrationState complete. */
function assertMovedVmi(vmi: SimVmi, vmim: SimVmim, source: SimPod, target: SimPod): void {
  const status = vmi.status ?? {};
  const state = status.migrationState ?? {};
  assert.deepEqual(pick(state, ["migrationUid", "sourceNode", "targetNode", "completed", "failed", "sourcePod", "targetPod"]), {
    migrationUid: vmim.metadata?.uid,
    sourceNode: "sim-node-1",
    targetNode: "sim-node-2",
    completed: true,
    failed: false,
    sourcePod: source.metadata?.name,
    targetPod: target.metadata?.name,
  });
  assert.ok(state.startTimestamp && state.endTimestamp, "start and end timestamps");
  assert.equal(status.nodeName, "sim-node-2");
  assert.deepEqual(status.activePods, { [String(target.metadata?.uid)]: "sim-node-2" });
  assert.deepEqual(status.interfaces, vmiInterfaces(vmi, target), "interfaces read from the target pod");
}

/** A migration target pod: the source's labels and networks plus the migration's uid and name. */
function assertTargetPod(target: SimPod, vmim: SimVmim, vmi: SimVmi, source: SimPod): void {
  const labels = target.metadata?.labels ?? {};
  assert.equal(labels["kubevirt.io/migrationJobUID"], vmim.metadata?.uid);
  assert.equal(target.metadata?.annotations?.["kubevirt.io/migrationJobName"], vmim.metadata?.name);
  assert.equal(labels["kubevirt.io/created-by"], vmi.metadata?.uid);
  assert.equal(labels["vm.kubevirt.io/name"], vmi.metadata?.name);
  const rendered = (pod: SimPod): Record<string, unknown>[] =>
    annotationOf(pod).map(e => pick(e, ["name", "namespace", "interface", "mac"]));
  assert.deepEqual(rendered(target), rendered(source));
}

async function podsOf(ns: string, labelSelector: string): Promise<SimPod[]> {
  return (await client().list<SimPod>(Kinds.Pod, { namespace: ns, labelSelector })).items.filter(p => !p.metadata?.deletionTimestamp);
}

/** Waits for the VMI to run in exactly one launcher pod; says why on timeout (e.g. a denied pod). */
async function running(ns: string, name: string): Promise<{ vmi: SimVmi; pod: SimPod }> {
  try {
    return await eventually(`VMI ${ns}/${name} Running in one Running launcher pod`, () => runningOnce(ns, name));
  } catch (err) {
    const events = (await client().list<KubeObject & { reason?: string; message?: string }>(Kinds.Event, { namespace: ns })).items;
    const why = events.filter(e => e.reason === "FailedCreate").map(e => e.message);
    throw new Error(`${(err as Error).message}${why.length ? `; FailedCreate: ${why[why.length - 1]}` : ""}`);
  }
}

async function runningOnce(ns: string, name: string): Promise<{ vmi: SimVmi; pod: SimPod } | undefined> {
  const vmi = await client().getOrUndefined<SimVmi>(Kinds.VirtualMachineInstance, name, ns);
  if (!vmi || vmi.status?.phase !== "Running" || vmi.metadata?.deletionTimestamp) return undefined;
  const pods = await podsOf(ns, `kubevirt.io/created-by=${vmi.metadata?.uid}`);
  return pods.length === 1 && pods[0].status?.phase === "Running" ? { vmi, pod: pods[0] } : undefined;
}

async function vmStatusWith(ns: string, name: string, printableStatus: string): Promise<Record<string, unknown>> {
  return eventually(`VM ${ns}/${name} printableStatus ${printableStatus}`, async () => {
    const vm = await client().get<SimVm>(Kinds.VirtualMachine, name, ns);
    return vm.status?.printableStatus === printableStatus ? vm.status : undefined;
  });
}

/** Creates a migration and waits for its end, recording each phase a watch sees. */
async function migrate(
  ns: string,
  name: string,
  vmiName: string,
  annotations: Record<string, string> = {},
): Promise<{ vmim: SimVmim; phases: string[] }> {
  const phases: string[] = [];
  const watcher = K8s(VirtualMachineInstanceMigration)
    .InNamespace(ns)
    .Watch(m => {
      const phase = m.metadata?.name === name ? m.status?.phase : undefined;
      if (phase && phases[phases.length - 1] !== phase) phases.push(phase);
    });
  await watcher.start();
  try {
    await client().create(Kinds.VirtualMachineInstanceMigration, { metadata: { name, namespace: ns, annotations }, spec: { vmiName } });
    const vmim = await eventually(`migration ${ns}/${name} to finish`, async () => {
      const m = await client().get<SimVmim>(Kinds.VirtualMachineInstanceMigration, name, ns);
      return m.status?.phase === "Succeeded" || m.status?.phase === "Failed" ? m : undefined;
    });
    await eventually(`the watch to see migration ${name} end`, async () => phases[phases.length - 1] === vmim.status?.phase, 5000);
    return { vmim, phases };
  } finally {
    watcher.close();
  }
}

async function event(ns: string, involved: string, reason: string, message: RegExp): Promise<void> {
  await eventually(`a ${reason} Event on ${involved} matching ${message}`, async () => {
    const events = (
      await client().list<KubeObject & { reason?: string; message?: string; involvedObject?: { name?: string } }>(Kinds.Event, {
        namespace: ns,
      })
    ).items;
    return events.some(e => e.reason === reason && e.involvedObject?.name === involved && message.test(String(e.message)));
  });
}
