// A List of IPAllocations that shows what the watch missed, taken while a bind is in flight (its
// address picked, its IPAllocation not created yet): the allocators follow the List record by
// record (ClusterView.replaceAllocations, what the operator's informer calls), so the address in
// flight is not handed out a second time to meet AlreadyExists.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import { renderAllocation } from "../../../capabilities/controllers/render";
import { vmKey } from "../../../capabilities/controllers/reconcile";
import { KindRef, Kinds } from "../../../capabilities/k8s/kinds";
import { vmManifest, World } from "../support/world";

const nic = [{ name: "ovs1", network: "vlan100" }];

/** Holds the next IPAllocation create until `release()`; `entered` resolves once it is held. */
function holdNextAllocationCreate(w: World): { entered: Promise<void>; release: () => void } {
  const create = w.client.create.bind(w.client);
  let release!: () => void;
  let enter!: () => void;
  const held = new Promise<void>(r => (release = r));
  const entered = new Promise<void>(r => (enter = r));
  let armed = true;
  w.client.create = async <T>(kind: KindRef, obj: T): Promise<T> => {
    if (armed && kind.kind === "IPAllocation") {
      armed = false;
      enter();
      await held;
    }
    return create(kind, obj);
  };
  return { entered, release };
}

async function relistAllocations(w: World): Promise<string[]> {
  const { items, resourceVersion } = await w.client.list<IPAllocation>(Kinds.IPAllocation);
  return w.view.replaceAllocations(items, resourceVersion);
}

describe("relist of IPAllocations under a bind in flight", () => {
  it("keeps the address in flight held, frees the record the List lacks, and no create meets AlreadyExists", async () => {
    const w = new World();
    w.network("t", "vlan100", "pa", "10.1.0.0/24");
    // Another claim's record at the lowest address: it goes later, unseen by any watch.
    w.client.seed(Kinds.IPAllocation, renderAllocation("pa", "10.1.0.2", { namespace: "other", name: "db.ovs1", uid: "x" }));
    w.client.seed(Kinds.VirtualMachine, ...["a", "b", "c"].map(n => vmManifest("t", n, nic)));
    await w.sync();
    await w.vms.reconcile(vmKey("t", "a"));
    assert.deepEqual(w.claim("t", "a.ovs1")?.status?.addresses, ["10.1.0.3/24"]);

    const b = holdNextAllocationCreate(w);
    const bindingB = w.vms.reconcile(vmKey("t", "b"));
    await b.entered; // b holds 10.1.0.4 in memory; its record does not exist yet
    await w.client.delete(Kinds.IPAllocation, "pa.10-1-0-2");
    const changed = await relistAllocations(w);
    assert.deepEqual(changed, ["pa.10-1-0-2"], "the List shows the vanished record");
    assert.equal(w.view.allocator("pa")?.holderOf("10.1.0.2"), undefined, "the record the List lacks is freed");
    assert.equal(w.view.allocator("pa")?.holderOf("10.1.0.4"), "t/b.ovs1", "the address in flight stays held");

    await w.vms.reconcile(vmKey("t", "c"));
    b.release();
    await bindingB;

    const creates = w.client.writes("create", "IPAllocation").map(c => c.name);
    assert.equal(creates.length, 3, `one create per VM, none refused: ${creates.join(", ")}`);
    assert.deepEqual(w.claim("t", "b.ovs1")?.status?.addresses, ["10.1.0.4/24"], "b keeps the address it picked");
    const addresses = ["a", "b", "c"].map(n => w.claim("t", `${n}.ovs1`)?.status?.addresses?.[0]);
    assert.equal(new Set(addresses).size, 3, `distinct addresses: ${addresses.join(", ")}`);
  });

  it("holds an address for the claim a listed record names, over what the allocator believed", async () => {
    const w = new World();
    w.network("t", "vlan100", "pa", "10.1.0.0/24");
    await w.sync();
    assert.equal(w.view.allocator("pa")?.holderOf("10.1.0.9"), undefined);
    // Written by another replica; this process's watch missed it.
    w.client.seed(Kinds.IPAllocation, renderAllocation("pa", "10.1.0.9", { namespace: "other", name: "db.ovs1", uid: "x" }));
    assert.deepEqual(await relistAllocations(w), ["pa.10-1-0-9"]);
    assert.equal(w.view.allocator("pa")?.holderOf("10.1.0.9"), "other/db.ovs1");
  });
});
