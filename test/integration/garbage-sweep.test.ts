// GarbageSweep against the real API server, through its own view and client (no new seam): an
// orphaned record is freed only on a second sighting a grace period after the first, and a record
// that only looks orphaned in a stale view is kept after the live read.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../capabilities/api/ipallocation-v1alpha1";
import { ClusterView } from "../../capabilities/controllers/cluster-view";
import { GarbageSweep } from "../../capabilities/controllers/garbage-sweep";
import { VmController } from "../../capabilities/controllers/vm-controller";
import { allocationName } from "../../capabilities/ipam/address";
import { Kinds } from "../../capabilities/k8s/kinds";
import { boundVm } from "../helpers";
import { cluster, restartOperator } from "../setup/cluster";

const GRACE = 10_000;
// Only allocations are swept in these tests: the claim branch (which needs the VM controller) never runs.
const NO_VM_CONTROLLER = undefined as unknown as VmController;

describe("garbage sweep (real API server)", function () {
  this.timeout(120_000);

  it("keeps a live claim's record that a stale view shows orphaned: the live read wins", async () => {
    const { pool, claim } = await boundVm("gc", "live");
    const address = claim.status!.addresses![0].split("/")[0];
    const record = await cluster().client.get<IPAllocation>(Kinds.IPAllocation, allocationName(pool, address));
    const view = new ClusterView();
    view.caches.allocations.upsert(record); // the claim is missing from this view: it looks orphaned
    const sweep = new GarbageSweep(cluster().client, view, NO_VM_CONTROLLER, GRACE);
    assert.deepEqual(await sweep.sweep(1_000), [], "first sighting frees nothing");
    assert.deepEqual(await sweep.sweep(1_000 + GRACE), [], "the live read finds the claim");
    assert.ok(
      await cluster().client.getOrUndefined(Kinds.IPAllocation, allocationName(pool, address)),
      "the live claim's record is still there",
    );
  });

  it("frees a truly orphaned record only on a second sighting at least the grace period later", async () => {
    const pool = `gc-orphan-${Date.now().toString(36)}`;
    const name = allocationName(pool, "10.9.9.9");
    // The shared operator would sweep the forged record itself: keep it stopped meanwhile.
    await restartOperator("SIGTERM", async () => {
      const forged = await cluster().client.create<IPAllocation>(Kinds.IPAllocation, {
        metadata: { name },
        spec: { pool, address: "10.9.9.9", claimRef: { namespace: "nowhere", name: "ghost.ovs1" } },
      });
      const view = new ClusterView();
      view.caches.allocations.upsert(forged);
      const sweep = new GarbageSweep(cluster().client, view, NO_VM_CONTROLLER, GRACE);
      assert.deepEqual(await sweep.sweep(1_000), [], "first sighting");
      assert.deepEqual(await sweep.sweep(1_000 + GRACE - 1), [], "within the grace period");
      assert.ok(await cluster().client.getOrUndefined(Kinds.IPAllocation, name), "not freed before the grace period ends");
      const freed = await sweep.sweep(1_000 + GRACE);
      assert.equal(freed.length, 1, JSON.stringify(freed));
      assert.match(freed[0], new RegExp(`^allocation/${name.replace(/\./g, "\\.")}/`));
      assert.equal(await cluster().client.getOrUndefined(Kinds.IPAllocation, name), undefined, "freed after the grace period");
    });
  });

  it("forgets a suspect that stopped looking orphaned, so a later sighting starts the grace period again", async () => {
    const pool = `gc-back-${Date.now().toString(36)}`;
    const name = allocationName(pool, "10.9.9.10");
    await restartOperator("SIGTERM", async () => {
      const forged = await cluster().client.create<IPAllocation>(Kinds.IPAllocation, {
        metadata: { name },
        spec: { pool, address: "10.9.9.10", claimRef: { namespace: "nowhere", name: "ghost.ovs1" } },
      });
      const view = new ClusterView();
      const sweep = new GarbageSweep(cluster().client, view, NO_VM_CONTROLLER, GRACE);
      view.caches.allocations.upsert(forged);
      assert.deepEqual(await sweep.sweep(1_000), []);
      view.caches.allocations.remove(forged); // gone from the view for one pass
      assert.deepEqual(await sweep.sweep(2_000), []);
      view.caches.allocations.upsert(forged);
      assert.deepEqual(await sweep.sweep(1_000 + GRACE), [], "seen again: a new first sighting, not the old one");
      assert.ok(await cluster().client.getOrUndefined(Kinds.IPAllocation, name));
      assert.equal((await sweep.sweep(1_000 + 2 * GRACE)).length, 1);
      await cluster().client.delete(Kinds.IPAllocation, name);
    });
  });
});
