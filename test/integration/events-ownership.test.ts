// Events, field manager and ownership of what the operator writes (issue 14, item 5), against the
// real API server and the operator as its own process (kube-controller-manager's garbage
// collector included): Events aggregated as client-go's recorder does, with the involved object's
// uid; a Normal Event on bind; every write under the field manager vmnet-operator; IPClaims owned
// by their VM unless a Retain pool keeps them.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import type { VirtualMachine } from "../../capabilities/api/external/kubevirt";
import { FIELD_MANAGER, KubeObject } from "../../capabilities/k8s/client";
import { EventRecorder, eventTarget } from "../../capabilities/k8s/events";
import { Kinds } from "../../capabilities/k8s/kinds";
import { boundClaim, claimCondition, createNad, createPool, eventsOf, eventually, gone, uniqueSubnet, vmManifest } from "../helpers";
import { cluster, freshNamespace, restartOperator } from "../setup/cluster";

const client = (): ReturnType<typeof cluster>["client"] => cluster().client;

/** The field managers of an object as stored, read fresh (the operator's caches drop managedFields). */
async function managers(kind: (typeof Kinds)[keyof typeof Kinds], name: string, namespace?: string): Promise<string[]> {
  const obj = await client().get<KubeObject & { metadata: { managedFields?: { manager: string }[] } }>(kind, name, namespace);
  return [...new Set((obj.metadata.managedFields ?? []).map(f => f.manager))];
}

async function network(
  opts: { reclaimPolicy?: string; ranges?: (prefix: string) => string[] } = {},
): Promise<{ ns: string; pool: string; prefix: string }> {
  const ns = await freshNamespace("evt");
  const subnet = uniqueSubnet();
  const pool = `evt-${ns}`;
  await createNad(ns, "vlan100");
  await createPool(pool, {
    cidr: subnet.cidr,
    gateway: `${subnet.prefix}.1`,
    networks: [`${ns}/vlan100`],
    reclaimPolicy: opts.reclaimPolicy ?? "Delete",
    ...(opts.ranges ? { ranges: opts.ranges(subnet.prefix) } : {}),
  });
  return { ns, pool, prefix: subnet.prefix };
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

describe("Events, field manager and ownership", function () {
  this.timeout(180_000);

  it("the recorder aggregates one object's repeated Event into one Event with a rising count, found again by its name after a restart", async () => {
    const ns = await freshNamespace("rec");
    const cm = await client().create<KubeObject>(Kinds.ConfigMap, { metadata: { name: "target", namespace: ns } });
    const target = eventTarget("v1", "ConfigMap", cm);
    const errors: string[] = [];
    const first = new EventRecorder(client(), e => errors.push(e), { intervalMs: 300 });
    for (let i = 0; i < 5; i++) first.record(target, "Warning", "Flaky", "the same message");
    await sleep(50);
    first.record(target, "Warning", "Flaky", "the same message");
    await sleep(400);
    await first.flush();
    let events = await eventsOf(ns, "ConfigMap", "target");
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.equal(events[0].count, 6);
    assert.equal(events[0].involvedObject.uid, cm.metadata?.uid);
    // A new process (no memory of the Event) counts on on the same object.
    const second = new EventRecorder(client(), e => errors.push(e), { intervalMs: 300 });
    second.record(target, "Warning", "Flaky", "the same message");
    await second.flush();
    events = await eventsOf(ns, "ConfigMap", "target");
    assert.equal(events.length, 1);
    assert.equal(events[0].count, 7);
    assert.deepEqual(
      await managers(Kinds.Event, events[0].metadata.name, ns),
      [FIELD_MANAGER],
      "create and merge patch both under our field manager",
    );
    assert.deepEqual(errors, []);
  });

  it("a NIC that fails again and again has one Warning Event per object with a rising count and the uid; a bind has a Normal Event", async () => {
    const { ns } = await network({ ranges: p => [`${p}.10-${p}.10`] });
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "first", [{ name: "ovs1", network: "vlan100" }]));
    await boundClaim(ns, "first.ovs1");
    const first = await client().get<VirtualMachine>(Kinds.VirtualMachine, "first", ns);
    const bound = await eventually("a Normal Bound Event on the VM", async () =>
      (await eventsOf(ns, "VirtualMachine", "first")).find(e => e.reason === "Bound"),
    );
    assert.equal(bound.type, "Normal");
    assert.equal(bound.involvedObject.uid, first.metadata?.uid);
    assert.match(bound.message, /interface ovs1: .*\.10\/24 with MAC 02:00:/);

    await client().create(Kinds.VirtualMachine, vmManifest(ns, "second", [{ name: "ovs1", network: "vlan100" }]));
    await claimCondition(ns, "second.ovs1", "Exhausted");
    const second = await client().get<VirtualMachine>(Kinds.VirtualMachine, "second", ns);
    // Each touch is a reconcile that fails again on the full pool.
    const warning = await eventually(
      "the Exhausted Event of the VM with count > 1",
      async () => {
        await client().mergePatch(Kinds.VirtualMachine, "second", ns, { metadata: { annotations: { touched: String(Date.now()) } } });
        await sleep(1000);
        return (await eventsOf(ns, "VirtualMachine", "second")).find(e => e.reason === "Exhausted" && (e.count ?? 0) > 1);
      },
      60_000,
    );
    const all = (await eventsOf(ns, "VirtualMachine", "second")).filter(e => e.reason === "Exhausted");
    assert.equal(all.length, 1, `one Event object, not one per failure: ${all.map(e => e.metadata.name).join(", ")}`);
    assert.equal(warning.involvedObject.uid, second.metadata?.uid);
    assert.match(warning.metadata.name, /^second\.[0-9a-f]{16}$/, "a name derived from object, reason and message");
    const claim = await client().get<IPClaim>(Kinds.IPClaim, "second.ovs1", ns);
    const onClaim = (await eventsOf(ns, "IPClaim", "second.ovs1")).filter(e => e.reason === "Exhausted");
    assert.equal(onClaim.length, 1);
    assert.equal(onClaim[0].involvedObject.uid, claim.metadata?.uid);
    assert.deepEqual(await managers(Kinds.Event, warning.metadata.name, ns), [FIELD_MANAGER]);
  });

  it("writes claims (spec and status), allocations, pool status and the legacy finalizer's removal under the field manager vmnet-operator only", async () => {
    const { ns, pool, prefix } = await network();
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "web", [{ name: "ovs1", network: "vlan100" }]));
    const claim = await boundClaim(ns, "web.ovs1");
    assert.deepEqual(await managers(Kinds.IPClaim, "web.ovs1", ns), [FIELD_MANAGER]);
    const address = claim.status!.addresses![0].split("/")[0];
    assert.ok(address.startsWith(prefix));
    assert.deepEqual(await managers(Kinds.IPAllocation, `${pool}.${address.replace(/\./g, "-")}`), [FIELD_MANAGER]);
    await eventually(
      "pool status written",
      async () =>
        (await client().get<KubeObject & { status?: { allocated?: number } }>(Kinds.IPPool, pool)).status?.allocated === 1 || undefined,
    );
    assert.deepEqual(await managers(Kinds.IPPool, pool), [FIELD_MANAGER]);
    // The finalizer of earlier versions is taken off with a JSON patch: no manager but ours and the test's.
    const ssa = await client().request<KubeObject>({
      method: "PATCH",
      path: `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/web`,
      query: { fieldManager: "a-person" },
      body: { metadata: { finalizers: ["vmnet.io/release"] } },
      contentType: "application/merge-patch+json",
      what: "add the legacy finalizer",
    });
    assert.ok(ssa.metadata?.finalizers?.includes("vmnet.io/release"));
    await eventually(
      "the legacy finalizer is removed",
      async () => !(await client().get<VirtualMachine>(Kinds.VirtualMachine, "web", ns)).metadata?.finalizers?.length || undefined,
    );
    const vmManagers = await managers(Kinds.VirtualMachine, "web", ns);
    assert.ok(
      vmManagers.every(m => m === FIELD_MANAGER || m === "a-person"),
      `managers of the VM: ${vmManagers.join(", ")}`,
    );
    for (const e of await eventsOf(ns, "VirtualMachine", "web"))
      assert.deepEqual(await managers(Kinds.Event, e.metadata.name, ns), [FIELD_MANAGER]);
  });

  it("owns a claim by its VM under reclaimPolicy Delete, so the garbage collector removes it with a VM deleted while the operator is down, and its address is freed", async () => {
    const { ns, pool } = await network();
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "owned", [{ name: "ovs1", network: "vlan100" }]));
    const claim = await boundClaim(ns, "owned.ovs1");
    const vm = await client().get<VirtualMachine>(Kinds.VirtualMachine, "owned", ns);
    assert.deepEqual(claim.metadata?.ownerReferences, [
      { apiVersion: "kubevirt.io/v1", kind: "VirtualMachine", name: "owned", uid: vm.metadata?.uid },
    ]);
    await restartOperator("SIGKILL", async () => {
      await client().delete(Kinds.VirtualMachine, "owned", ns);
      await gone(Kinds.VirtualMachine, "owned", ns);
      await gone(Kinds.IPClaim, "owned.ovs1", ns, 60_000); // the garbage collector, not the operator
    });
    await eventually("the address freed by the operator after its restart", async () => {
      const list = await client().list<IPAllocation>(Kinds.IPAllocation, { labelSelector: `vmnet.io/pool=${pool}` });
      return list.items.length === 0 || undefined;
    });
  });

  it("gives no owner to a claim a Retain pool keeps: the VM's deletion leaves it released, not collected", async () => {
    const { ns } = await network({ reclaimPolicy: "Retain" });
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "kept", [{ name: "ovs1", network: "vlan100" }]));
    const claim = await boundClaim(ns, "kept.ovs1");
    assert.equal(claim.metadata?.ownerReferences, undefined);
    await client().delete(Kinds.VirtualMachine, "kept", ns);
    await gone(Kinds.VirtualMachine, "kept", ns);
    await claimCondition(ns, "kept.ovs1", "Released");
    await sleep(3000); // time for a garbage collector that should not act
    const after = await client().get<IPClaim>(Kinds.IPClaim, "kept.ovs1", ns);
    assert.equal(after.metadata?.uid, claim.metadata?.uid);
  });
});
