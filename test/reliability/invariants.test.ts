// The invariant checker itself: every kind of problem it claims to catch is planted through the
// real API server (as the admin, with the operator stopped so nothing repairs it first) and must
// be reported; a correct state, including a dual-stack claim listing its addresses in the other
// order than its pools, must not be.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import { allocationName } from "../../capabilities/ipam/address";
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { POLICY_BINDING } from "../../hack/webhooks";
import { boundClaim, createNad, createPool, eventually, gone, vmManifest } from "../helpers";
import { cluster, freshNamespace, restartOperator } from "../setup/cluster";
import { checkInvariants, InvariantOptions, settle } from "./invariants";

const client = (): KubeClient => cluster().client;

/** Runs `fn` with the shared operator stopped; the returned `resume` starts it again. */
async function stopOperator(): Promise<{ resume: () => Promise<void> }> {
  let down!: () => void;
  let release!: () => void;
  const isDown = new Promise<void>(r => (down = r));
  const released = new Promise<void>(r => (release = r));
  const restarting = restartOperator("SIGTERM", async () => {
    down();
    await released;
  });
  await isDown;
  return {
    resume: async () => {
      release();
      await restarting;
    },
  };
}

/** An admin write, retried while the API server's admission-policy cache still has the binding we deleted. */
const plant = <T>(what: string, write: () => Promise<T>): Promise<T> =>
  eventually(`planting ${what}`, async () => (await write()) ?? (true as T), 20_000);

/** Merge-patches a claim's status (null removes a field), computed from its current status. */
async function setStatus(ns: string, name: string, change: (s: NonNullable<IPClaim["status"]>) => Record<string, unknown>): Promise<void> {
  const c = await client().get<IPClaim>(Kinds.IPClaim, name, ns);
  await plant(`status of ${ns}/${name}`, () => client().mergePatch(Kinds.IPClaim, name, ns, { status: change(c.status ?? {}) }, "status"));
}

async function replaceRecord(pool: string, address: string, spec: NonNullable<IPAllocation["spec"]>): Promise<void> {
  const name = allocationName(pool, address);
  await plant(`delete of ${name}`, () => client().delete(Kinds.IPAllocation, name));
  await plant(`record ${name}`, () => client().create(Kinds.IPAllocation, { metadata: { name }, spec }));
}

const bare = (a: string): string => a.split("/")[0];

describe("invariant checker: planted problems are reported", function () {
  this.timeout(300_000);
  let ns: string;
  let opts: InvariantOptions;
  let resume: (() => Promise<void>) | undefined;
  const third = 100 + Math.floor(Math.random() * 150);
  const p4 = `inv4-${third}`;
  const p4b = `inv4b-${third}`;
  const p6 = `inv6-${third}`;
  const v4 = `10.230.${third}`;
  const v4b = `10.231.${third}`;
  const claims = new Map<string, IPClaim>();
  const problems = async (o: InvariantOptions = opts): Promise<string[]> => (await checkInvariants(client(), o)).problems;
  const reported = (list: string[], kind: string, ...about: string[]): boolean =>
    list.some(p => p.startsWith(`${kind}:`) && about.every(a => p.includes(a)));

  before(async () => {
    ns = await freshNamespace("inv");
    await createNad(ns, "vlan100");
    await createNad(ns, "vlan200");
    await createPool(p4, {
      cidr: `${v4}.0/24`,
      gateway: `${v4}.1`,
      ranges: [`${v4}.10-${v4}.200`],
      exclude: [`${v4}.50`],
      networks: [`${ns}/vlan100`],
    });
    await createPool(p4b, { cidr: `${v4b}.0/24`, networks: [`${ns}/vlan200`] });
    await createPool(p6, { cidr: `fd00:230:${third.toString(16)}::/64`, networks: [`${ns}/vlan200`] });
    opts = { namespace: ns, pools: [p4, p4b, p6] };
    const names = ["empty", "orphan", "record", "mac-a", "mac-b", "gateway", "excluded", "outside", "leak"];
    for (const vm of names) await client().create(Kinds.VirtualMachine, vmManifest(ns, vm, [{ name: "ovs1", network: "vlan100" }]));
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "dual", [{ name: "ovs1", network: "vlan200" }]));
    for (const vm of [...names, "dual"]) claims.set(vm, await boundClaim(ns, `${vm}.ovs1`, 60_000));
    // The operator's work, untouched, is clean: no false alarm before anything is planted.
    await settle(client(), { ...opts, expectBound: names.length + 1 });
    ({ resume } = await stopOperator());
    // Let the admin plant what the operator alone may write (the operator restores the binding when it starts).
    await client().delete(POLICY_BINDING, "vmnet-operator-owned-kinds");
  });

  after(async () => {
    // Leave nothing for the restarted operator to trip over: forged records go, the namespace goes.
    for (const a of (await client().list<IPAllocation>(Kinds.IPAllocation)).items.filter(x => [p4, p4b, p6].includes(x.spec!.pool))) {
      await client().delete(Kinds.IPAllocation, a.metadata!.name as string);
    }
    await client().delete(Kinds.Namespace, ns);
    await resume?.();
  });

  it("a dual-stack claim listing its IPv6 address first is no problem (pools matched by CIDR, not position)", async () => {
    await setStatus(ns, "dual.ovs1", s => ({ addresses: [...(s.addresses ?? [])].reverse() }));
    const list = await problems();
    assert.deepEqual(
      list.filter(p => p.includes("dual")),
      [],
      list.join("\n"),
    );
  });

  it("reports a Bound claim with no address", async () => {
    await setStatus(ns, "empty.ovs1", () => ({ addresses: [] }));
    const list = await problems();
    assert.ok(reported(list, "empty", `${ns}/empty.ovs1`, "no address"), list.join("\n"));
  });

  it("reports a Bound claim whose VM is gone", async () => {
    await client().mergePatch(Kinds.VirtualMachine, "orphan", ns, { metadata: { finalizers: null } });
    // Claims are owned by their VM, so the garbage collector would delete this one with it: the leak
    // planted here is a claim that lost its owner reference (as after an orphan deletion).
    await client().mergePatch(Kinds.IPClaim, "orphan.ovs1", ns, { metadata: { ownerReferences: null } });
    await client().delete(Kinds.VirtualMachine, "orphan", ns);
    await gone(Kinds.VirtualMachine, "orphan", ns);
    const list = await problems();
    assert.ok(reported(list, "orphan", `${ns}/orphan.ovs1`), list.join("\n"));
  });

  it("reports a VM NIC with no claim", async () => {
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "unclaimed", [{ name: "ovs1", network: "vlan100" }]));
    const list = await problems();
    assert.ok(reported(list, "missing", `${ns}/unclaimed`, "ovs1", "no IPClaim"), list.join("\n"));
  });

  it("reports a record whose spec.address differs from the claim's address it is named for", async () => {
    const address = bare(claims.get("record")!.status!.addresses![0]);
    await replaceRecord(p4, address, { pool: p4, address: `${v4}.199`, claimRef: { namespace: ns, name: "record.ovs1" } });
    const list = await problems();
    assert.ok(reported(list, "mismatch", allocationName(p4, address), `${v4}.199`), list.join("\n"));
  });

  it("reports two claims of a pool with one MAC", async () => {
    await setStatus(ns, "mac-b.ovs1", () => ({ mac: claims.get("mac-a")!.status!.mac }));
    const list = await problems();
    assert.ok(
      reported(list, "duplicate", `MAC ${claims.get("mac-a")!.status!.mac}`, `${ns}/mac-a.ovs1`, `${ns}/mac-b.ovs1`),
      list.join("\n"),
    );
  });

  it("reports the gateway handed out", async () => {
    await setStatus(ns, "gateway.ovs1", () => ({ addresses: [`${v4}.1/24`] }));
    const list = await problems();
    assert.ok(reported(list, "reserved", `${ns}/gateway.ovs1`, `${v4}.1`, "gateway"), list.join("\n"));
  });

  it("reports an excluded address handed out, and one outside the ranges", async () => {
    await setStatus(ns, "excluded.ovs1", () => ({ addresses: [`${v4}.50/24`] }));
    const list = await problems();
    assert.ok(reported(list, "reserved", `${ns}/excluded.ovs1`, `${v4}.50`, "excluded"), list.join("\n"));
    await setStatus(ns, "excluded.ovs1", () => ({ addresses: [`${v4}.250/24`] }));
    assert.ok(reported(await problems(), "reserved", `${ns}/excluded.ovs1`, `${v4}.250`, "outside the ranges"));
  });

  it("reports an address inside none of the claim's pools", async () => {
    await setStatus(ns, "outside.ovs1", () => ({ addresses: [`${v4b}.77/24`] }));
    const list = await problems();
    assert.ok(reported(list, "outside", `${ns}/outside.ovs1`, `${v4b}.77`), list.join("\n"));
  });

  it("reports a record for a missing claim, and one for a claim showing another address", async () => {
    await plant("a record for a ghost", () =>
      client().create(Kinds.IPAllocation, {
        metadata: { name: allocationName(p4, `${v4}.180`) },
        spec: { pool: p4, address: `${v4}.180`, claimRef: { namespace: ns, name: "ghost.ovs1" } },
      }),
    );
    await plant("a second record for leak.ovs1", () =>
      client().create(Kinds.IPAllocation, {
        metadata: { name: allocationName(p4, `${v4}.181`) },
        spec: { pool: p4, address: `${v4}.181`, claimRef: { namespace: ns, name: "leak.ovs1" } },
      }),
    );
    const list = await problems();
    assert.ok(reported(list, "leak", `${p4}/${v4}.180`, `${ns}/ghost.ovs1`), list.join("\n"));
    assert.ok(reported(list, "leak", `${p4}/${v4}.181`, `${ns}/leak.ovs1`), list.join("\n"));
    assert.ok(reported(list, "count", p4), list.join("\n"));
  });

  it("reports a duplicate address, and the record of the second holder as stale", async () => {
    const address = claims.get("leak")!.status!.addresses![0];
    await setStatus(ns, "mac-a.ovs1", () => ({ addresses: [address] }));
    const list = await problems();
    assert.ok(reported(list, "duplicate", `${p4}/${bare(address)}`, `${ns}/leak.ovs1`, `${ns}/mac-a.ovs1`), list.join("\n"));
    assert.ok(reported(list, "stale", `${p4}/${bare(address)}`), list.join("\n"));
  });

  it("fails empty listings where objects are expected: a pool not listed, bound claims expected in an empty namespace", async () => {
    const list = await problems({ namespace: "no-such-namespace", pools: ["no-such-pool"], expectBound: 3 });
    assert.ok(reported(list, "count", "no-such-pool", "not listed"), list.join("\n"));
    assert.ok(reported(list, "expected", "3 bound", "found 0"), list.join("\n"));
  });

  it("reports a wrong MAC and a dropped gateway", async () => {
    const pool4 = await client().get<KubeObject & { spec: { gateway: string } }>(Kinds.IPPool, p4);
    assert.equal(pool4.spec.gateway, `${v4}.1`);
    await setStatus(ns, "record.ovs1", () => ({ gateway: null, mac: "02:00:00:00:00:01" }));
    const c = await client().get<IPClaim>(Kinds.IPClaim, "record.ovs1", ns);
    assert.equal(c.status?.gateway, undefined);
    const list = await problems();
    assert.ok(reported(list, "gateway", `${ns}/record.ovs1`), list.join("\n"));
    assert.ok(reported(list, "mac", `${ns}/record.ovs1`, "02:00:00:00:00:01"), list.join("\n"));
  });
});
