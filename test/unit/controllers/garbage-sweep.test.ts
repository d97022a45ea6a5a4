// The garbage sweep on the in-memory client: an orphaned allocation is freed only when seen twice
// a grace period apart and confirmed by a live read; a claim whose VM is gone is released.
import assert from "node:assert/strict";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import { renderAllocation } from "../../../capabilities/controllers/render";
import { vmKey } from "../../../capabilities/controllers/reconcile";
import { Kinds } from "../../../capabilities/k8s/kinds";
import { oneNicVm, World } from "../support/world";

const GRACE = 10_000;

/** oneNicVm, reconciled (its claim Bound) and synced again. */
async function bound(): Promise<World> {
  const w = await oneNicVm();
  await w.vms.reconcile(vmKey("t", "web"));
  await w.sync();
  return w;
}

describe("GarbageSweep (in-memory client)", () => {
  it("frees an orphaned allocation (its claim is gone) after two sightings a grace period apart", async () => {
    const w = await bound();
    w.client.seed(Kinds.IPAllocation, renderAllocation("pa", "10.1.0.50", { namespace: "t", name: "gone.ovs1", uid: "u-gone" }));
    await w.sync();
    const sweep = w.sweeper(GRACE);
    assert.deepEqual(await sweep.sweep(1_000), [], "first sighting frees nothing");
    assert.deepEqual(await sweep.sweep(1_000 + GRACE - 1), [], "within the grace period");
    const freed = await sweep.sweep(1_000 + GRACE);
    assert.equal(freed.length, 1);
    assert.match(freed[0], /^allocation\/pa\.10-1-0-50\//);
    assert.equal(w.client.peek(Kinds.IPAllocation, "pa.10-1-0-50"), undefined, "deleted");
    assert.equal(w.view.allocator("pa")?.holderOf("10.1.0.50"), undefined);
    assert.equal(w.client.all(Kinds.IPAllocation).length, 1, "the live VM's allocation stays");
  });

  it("keeps an allocation whose claim the cache lost but a live read finds", async () => {
    const w = await bound();
    const claim = w.view.caches.claims.get("t/web.ovs1") as IPClaim;
    w.view.caches.claims.remove(claim);
    const sweep = w.sweeper(GRACE);
    assert.deepEqual(await sweep.sweep(1_000), []);
    assert.deepEqual(await sweep.sweep(1_000 + GRACE), [], "the live read finds the claim");
    assert.equal(w.client.all(Kinds.IPAllocation).length, 1);
  });

  it("releases a claim whose VM is gone (confirmed live), freeing its address", async () => {
    const w = await bound();
    await w.client.delete(Kinds.VirtualMachine, "web", "t");
    await w.sync();
    const sweep = w.sweeper(GRACE);
    assert.deepEqual(await sweep.sweep(1_000), []);
    const freed = await sweep.sweep(1_000 + GRACE);
    assert.deepEqual(
      freed.map(f => f.split("/").slice(0, 3).join("/")),
      ["claim/t/web.ovs1"],
    );
    assert.deepEqual(w.client.all(Kinds.IPClaim), []);
    assert.deepEqual(w.client.all(Kinds.IPAllocation), []);
  });
});
