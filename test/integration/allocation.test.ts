// Fixed addresses for bridge NICs, end to end against the real API server and the operator
// running as its own process: claims, allocations, finalizer, release by policy, pool status.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../capabilities/api/ippool-v1alpha1";
import type { VirtualMachine } from "../../capabilities/api/external/kubevirt";
import { KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { boundClaim, claimCondition, createNad, createPool, eventually, gone, macOf, uniqueSubnet, vmManifest } from "../helpers";
import { cluster, duringWebhookOutage, freshNamespace, restartOperator } from "../setup/cluster";

const client = (): ReturnType<typeof cluster>["client"] => cluster().client;

async function poolStatus(name: string, allocated: number): Promise<IPPool> {
  return eventually(`IPPool ${name} allocated=${allocated}`, async () => {
    const p = await client().get<IPPool>(Kinds.IPPool, name);
    return p.status?.allocated === allocated ? p : undefined;
  });
}

async function events(namespace: string): Promise<{ reason: string; message: string; involvedObject: { name: string } }[]> {
  const list = await client().list<KubeObject>(Kinds.Event, { namespace });
  return list.items as never;
}

/** A namespace with an OVS NAD and a pool serving it. */
async function network(
  opts: { reclaimPolicy?: string; ranges?: string[]; cidr?: string; gateway?: string } = {},
): Promise<{ ns: string; pool: string; prefix: string }> {
  const ns = await freshNamespace("alloc");
  const subnet = uniqueSubnet();
  const pool = `pool-${ns}`;
  await createNad(ns, "vlan100");
  await createPool(pool, {
    cidr: opts.cidr ?? subnet.cidr,
    gateway: opts.gateway ?? (opts.cidr ? undefined : `${subnet.prefix}.1`),
    networks: [`${ns}/vlan100`],
    ...(opts.ranges ? { ranges: opts.ranges } : {}),
    reclaimPolicy: opts.reclaimPolicy ?? "Delete",
  });
  return { ns, pool, prefix: subnet.prefix };
}

describe("fixed addresses for bridge NICs", () => {
  it("binds one IPClaim per pool-backed bridge NIC, with a derived MAC and pool count, and no finalizer on the VM", async () => {
    const { ns, pool, prefix } = await network();
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "web-1", [{ name: "default" }, { name: "ovs1", network: "vlan100" }]));
    const claim = await boundClaim(ns, "web-1.ovs1");
    assert.equal(claim.status?.addresses?.[0], `${prefix}.2/24`, "first free address after the gateway");
    assert.equal(claim.status?.mac, macOf(`${prefix}.2`));
    assert.equal(claim.status?.gateway, `${prefix}.1`);
    assert.deepEqual(claim.spec, { vm: "web-1", interface: "ovs1", network: `${ns}/vlan100`, pool, pools: [pool] });
    assert.equal(await client().getOrUndefined(Kinds.IPClaim, "web-1.default", ns), undefined, "no claim for the masquerade NIC");
    const vm = await client().get<VirtualMachine>(Kinds.VirtualMachine, "web-1", ns);
    assert.ok(
      !vm.metadata?.finalizers?.includes("vmnet.io/release"),
      "a finalizer would leave the VM stuck once the operator is uninstalled",
    );
    const alloc = await client().get<IPAllocation>(Kinds.IPAllocation, `${pool}.${prefix.replace(/\./g, "-")}-2`);
    assert.equal(alloc.spec?.claimRef.uid, claim.metadata?.uid);
    const status = await poolStatus(pool, 1);
    assert.equal(status.status?.capacity, 253, "a /24 minus network, broadcast and gateway");
    assert.equal(status.status?.available, 252);
  });

  it("honours vmnet.io/addresses and, when the webhook was down, reports a taken address with its holder", async function () {
    this.timeout(150_000); // includes an operator restart
    const { ns, prefix } = await network();
    await client().create(
      Kinds.VirtualMachine,
      vmManifest(ns, "a", [{ name: "ovs1", network: "vlan100" }], { "vmnet.io/addresses": JSON.stringify({ ovs1: `${prefix}.23` }) }),
    );
    const a = await boundClaim(ns, "a.ovs1");
    assert.equal(a.status?.addresses?.[0], `${prefix}.23/24`);
    await duringWebhookOutage(async () => {
      await client().create(
        Kinds.VirtualMachine,
        vmManifest(ns, "b", [{ name: "ovs1", network: "vlan100" }], { "vmnet.io/addresses": JSON.stringify({ ovs1: `${prefix}.23` }) }),
      );
    });
    const b = await claimCondition(ns, "b.ovs1", "Conflict");
    assert.match(String(b.status?.conditions?.[0].message), new RegExp(`${prefix}.23.*held by.*${ns}/a.ovs1`));
  });

  it("keeps addresses when the VM stops and is changed, and a spec macAddress wins", async () => {
    const { ns } = await network();
    await client().create(
      Kinds.VirtualMachine,
      vmManifest(ns, "db", [{ name: "ovs1", network: "vlan100", macAddress: "02:aa:bb:cc:dd:ee" }]),
    );
    const before = await boundClaim(ns, "db.ovs1");
    assert.equal(before.status?.mac, "02:aa:bb:cc:dd:ee");
    await client().mergePatch(Kinds.VirtualMachine, "db", ns, {
      spec: { runStrategy: "Halted" },
      metadata: { labels: { touched: "yes" } },
    });
    await new Promise(r => setTimeout(r, 1500));
    const after = await client().get<IPClaim>(Kinds.IPClaim, "db.ovs1", ns);
    assert.deepEqual(after.status?.addresses, before.status?.addresses);
    assert.equal(after.metadata?.uid, before.metadata?.uid);
  });

  for (const propagationPolicy of ["Background", "Foreground", "Orphan"]) {
    it(`releases addresses when the VM is deleted (${propagationPolicy} propagation) under reclaimPolicy Delete`, async () => {
      const { ns, pool } = await network();
      await client().create(
        Kinds.VirtualMachine,
        vmManifest(ns, "gone", [
          { name: "ovs1", network: "vlan100" },
          { name: "ovs2", network: "vlan100" },
        ]),
      );
      await boundClaim(ns, "gone.ovs1");
      await boundClaim(ns, "gone.ovs2");
      await poolStatus(pool, 2);
      await client().delete(Kinds.VirtualMachine, "gone", ns, { propagationPolicy });
      await gone(Kinds.VirtualMachine, "gone", ns);
      await gone(Kinds.IPClaim, "gone.ovs1", ns);
      await gone(Kinds.IPClaim, "gone.ovs2", ns);
      await poolStatus(pool, 0);
    });
  }

  it("retains addresses under reclaimPolicy Retain, gives them back to a re-created VM, and frees them when the claim is deleted", async () => {
    const { ns, pool } = await network({ reclaimPolicy: "Retain" });
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "keep", [{ name: "ovs1", network: "vlan100" }]));
    const first = await boundClaim(ns, "keep.ovs1");
    await client().delete(Kinds.VirtualMachine, "keep", ns);
    await gone(Kinds.VirtualMachine, "keep", ns);
    const released = await claimCondition(ns, "keep.ovs1", "Released");
    assert.equal((released.status as { released?: boolean }).released, true);
    await poolStatus(pool, 1);
    // Another VM meanwhile must not get the retained address.
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "other", [{ name: "ovs1", network: "vlan100" }]));
    const other = await boundClaim(ns, "other.ovs1");
    assert.notDeepEqual(other.status?.addresses, first.status?.addresses);
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "keep", [{ name: "ovs1", network: "vlan100" }]));
    const adopted = await boundClaim(ns, "keep.ovs1");
    assert.deepEqual(adopted.status?.addresses, first.status?.addresses);
    assert.equal(adopted.metadata?.uid, first.metadata?.uid);
    await client().delete(Kinds.VirtualMachine, "keep", ns);
    await claimCondition(ns, "keep.ovs1", "Released");
    await client().delete(Kinds.IPClaim, "keep.ovs1", ns);
    await poolStatus(pool, 1); // only "other" is left
  });

  it("marks a claim Exhausted when the pool is full and binds it as soon as an address is freed", async () => {
    const subnet = uniqueSubnet();
    const { ns, pool } = await network({ cidr: subnet.cidr, ranges: [`${subnet.prefix}.10-${subnet.prefix}.11`] });
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "v1", [{ name: "ovs1", network: "vlan100" }]));
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "v2", [{ name: "ovs1", network: "vlan100" }]));
    const v1 = await boundClaim(ns, "v1.ovs1");
    await boundClaim(ns, "v2.ovs1");
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "v3", [{ name: "ovs1", network: "vlan100" }]));
    await claimCondition(ns, "v3.ovs1", "Exhausted");
    const full = await poolStatus(pool, 2);
    assert.equal(full.status?.conditions?.find(c => c.type === "Exhausted")?.status, "True");
    await client().delete(Kinds.VirtualMachine, "v1", ns);
    const v3 = await boundClaim(ns, "v3.ovs1");
    assert.equal(v3.status?.addresses?.[0], v1.status?.addresses?.[0], "v3 takes the address v1 freed");
  });

  it("serves an IPv6 /64 and dual-stack NICs (one address per family, MAC from the IPv4 address)", async () => {
    const { ns, prefix } = await network();
    await createPool(`v6-${ns}`, { cidr: "fd00:abcd:0:1::/64", gateway: "fd00:abcd:0:1::1", networks: [`${ns}/vlan100`] });
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "dual", [{ name: "ovs1", network: "vlan100" }]));
    const claim = await eventually("a dual-stack claim", async () => {
      const c = await boundClaim(ns, "dual.ovs1");
      return c.status?.addresses?.length === 2 ? c : undefined;
    });
    assert.deepEqual(claim.status?.addresses, [`${prefix}.2/24`, "fd00:abcd:0:1::2/64"]);
    assert.equal(claim.status?.mac, macOf(`${prefix}.2`));
  });

  it("refuses a pool whose namespaceSelector excludes the namespace (past a webhook outage), and says why on the claim", async function () {
    this.timeout(150_000); // includes an operator restart
    const ns = await freshNamespace("sel");
    await createNad(ns, "vlan100");
    await createPool(`sel-${ns}`, {
      cidr: uniqueSubnet().cidr,
      networks: [`${ns}/vlan100`],
      namespaceSelector: { matchLabels: { tenant: "someone-else" } },
    });
    await duringWebhookOutage(async () => {
      await client().create(Kinds.VirtualMachine, vmManifest(ns, "vm", [{ name: "ovs1", network: "vlan100" }]));
    });
    const claim = await claimCondition(ns, "vm.ovs1", "NetworkNotReady");
    assert.match(
      String(claim.status?.conditions?.[0].message),
      /draws addresses from an IPPool that does not serve namespace "sel-[^"]+"; use a network whose pool serves this namespace, or ask the cluster admin/,
    );
    assert.equal(claim.status?.addresses, undefined);
  });

  it("reports a malformed vmnet.io/addresses annotation and an address outside the pool that got past a webhook outage, and keeps serving other VMs", async function () {
    this.timeout(150_000); // includes an operator restart
    const { ns, prefix } = await network();
    await duringWebhookOutage(async () => {
      await client().create(
        Kinds.VirtualMachine,
        vmManifest(ns, "bad", [{ name: "ovs1", network: "vlan100" }], { "vmnet.io/addresses": "{not json" }),
      );
      await client().create(
        Kinds.VirtualMachine,
        vmManifest(ns, "far", [{ name: "ovs1", network: "vlan100" }], { "vmnet.io/addresses": '{"ovs1": "192.0.2.9"}' }),
      );
    });
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "fine", [{ name: "ovs1", network: "vlan100" }]));
    await boundClaim(ns, "fine.ovs1");
    const far = await claimCondition(ns, "far.ovs1", "InvalidRequest");
    assert.match(String(far.status?.conditions?.[0].message), /192\.0\.2\.9/);
    await eventually("an InvalidRequest Event naming the annotation", async () =>
      (await events(ns)).some(e => e.reason === "InvalidRequest" && e.message.includes("vmnet.io/addresses")),
    );
    void prefix;
  });

  it("releases a VM deleted while the operator was down, and rebuilds its index on restart", async function () {
    this.timeout(150_000);
    const { ns, pool, prefix } = await network();
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "x", [{ name: "ovs1", network: "vlan100" }]));
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "y", [{ name: "ovs1", network: "vlan100" }]));
    await boundClaim(ns, "x.ovs1");
    const y = await boundClaim(ns, "y.ovs1");
    await restartOperator("SIGKILL", async () => {
      await client().delete(Kinds.VirtualMachine, "x", ns);
    });
    await gone(Kinds.VirtualMachine, "x", ns);
    await poolStatus(pool, 1);
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "z", [{ name: "ovs1", network: "vlan100" }]));
    const z = await boundClaim(ns, "z.ovs1");
    assert.notEqual(z.status?.addresses?.[0], y.status?.addresses?.[0], "the rebuilt index knows y's address");
    assert.ok(z.status?.addresses?.[0].startsWith(prefix));
  });

  it("releases a deleted VM's claim at once, and takes off the finalizer of earlier versions", async () => {
    const { ns, pool } = await network();
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "old", [{ name: "ovs1", network: "vlan100" }]));
    await boundClaim(ns, "old.ovs1");
    await poolStatus(pool, 1);
    // A VM as an earlier version left it: with the finalizer. The operator removes it.
    await client().mergePatch(Kinds.VirtualMachine, "old", ns, {
      metadata: { finalizers: ["vmnet.io/release"], annotations: { touched: "1" } },
    });
    await eventually(
      "the legacy finalizer is removed",
      async () => !(await client().get<VirtualMachine>(Kinds.VirtualMachine, "old", ns)).metadata?.finalizers?.includes("vmnet.io/release"),
    );
    await client().delete(Kinds.VirtualMachine, "old", ns);
    await gone(Kinds.VirtualMachine, "old", ns);
    await gone(Kinds.IPClaim, "old.ovs1", ns);
    await poolStatus(pool, 0);
  });

  it("sweeps an allocation whose claim is gone, and a claim whose VM vanished while the operator was down", async function () {
    this.timeout(150_000);
    const { ns, pool, prefix } = await network();
    await client().create(Kinds.IPAllocation, {
      metadata: { name: `${pool}.${prefix.replace(/\./g, "-")}-200` },
      spec: { pool, address: `${prefix}.200`, claimRef: { namespace: ns, name: "nobody.ovs1" } },
    });
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "ghost", [{ name: "ovs1", network: "vlan100" }]));
    await boundClaim(ns, "ghost.ovs1");
    await restartOperator("SIGTERM", async () => {
      // With the operator down, the VM goes: nobody sees its delete event.
      await client().delete(Kinds.VirtualMachine, "ghost", ns);
      await gone(Kinds.VirtualMachine, "ghost", ns);
    });
    await gone(Kinds.IPClaim, "ghost.ovs1", ns);
    await poolStatus(pool, 0);
  });
});
