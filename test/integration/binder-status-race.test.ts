// Binder.writeStatus against the real API server, through its own view and client: two writers
// binding one claim at once (the watcher, and an admission replica binding a launcher pod's claim
// on the spot) both adopt the one IPAllocation, and the slower one's status write meets a 409.
// Found by test/e2e/upgrade-churn.test.ts: the admission replica then admitted nothing and the pod
// was refused. A conflict with a writer that wrote the same status now takes the live claim; one
// with a different status still fails.
//
// The racing writer that lost (CI of 56bce65, test/reliability "racing allocators"): two
// processes bind one claim at once, each makes its own IPAllocation for it, the other one's status
// write wins. The loser's next bind saw the claim Bound to the winner's address but not yet the
// winner's IPAllocation, and wrote its own address over it: a launcher pod admitted with the
// winner's address then carried an address its claim no longer showed. The binder now keeps the
// address the claim shows whenever the API server holds its record for the claim.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../capabilities/api/ippool-v1alpha1";
import { Binder, ClaimStatus } from "../../capabilities/controllers/binder";
import { ClusterView } from "../../capabilities/controllers/cluster-view";
import { allocationName } from "../../capabilities/ipam/address";
import { isConflict } from "../../capabilities/k8s/errors";
import { Kinds } from "../../capabilities/k8s/kinds";
import { boundVm } from "../helpers";
import { cluster } from "../setup/cluster";

describe("binder: a status write that lost a race (real API server)", function () {
  this.timeout(60_000);

  it("takes the live claim when the other writer wrote the same status, and fails when it wrote another", async () => {
    const { ns, claim: bound } = await boundVm("race");
    const status = bound.status as ClaimStatus;
    // What the slower writer read: the claim before the status was written.
    const stale: IPClaim = { ...bound, status: undefined };
    // Someone writes the claim again, so the stale copy's resourceVersion is behind.
    await cluster().client.mergePatch(Kinds.IPClaim, "vm.ovs1", ns, { metadata: { annotations: { "test.vmnet.io/touched": "1" } } });

    const view = new ClusterView();
    const binder = new Binder(cluster().client, view);
    await binder.writeStatus(stale, status);
    const cached = view.caches.claims.get(`${ns}/vm.ovs1`);
    assert.deepEqual(cached?.status?.addresses, status.addresses, "the live claim is in the view");

    const other: ClaimStatus = { ...status, mac: "02:00:00:00:00:01" };
    await assert.rejects(
      binder.writeStatus(stale, other),
      (err: unknown) => isConflict(err),
      "a different status written meanwhile is still a conflict",
    );
  });

  it("keeps the address a Bound claim shows over another record this process holds for it (the writer that lost the race)", async () => {
    // The winner (here the shared operator) made its IPAllocation and wrote the claim's status.
    const { ns, pool, prefix, claim: bound } = await boundVm("race");
    const winner = (bound.status as ClaimStatus).addresses!;
    const own = `${prefix}.${winner[0].startsWith(`${prefix}.250/`) ? 251 : 250}`;
    await cluster().client.mergePatch(Kinds.IPClaim, "vm.ovs1", ns, { metadata: { annotations: { "test.vmnet.io/touched": "1" } } });

    // The loser: another process, which has seen the pool but none of the winner's writes.
    const view = new ClusterView();
    view.caches.pools.upsert(await cluster().client.get<IPPool>(Kinds.IPPool, pool));
    const binder = new Binder(cluster().client, view);
    // Its first bind read the claim unbound: it made a record of its own for it, and its status write lost.
    const unbound: IPClaim = { ...bound, status: undefined };
    await assert.rejects(
      binder.bind({ claim: unbound, requested: [own] }),
      (err: unknown) => isConflict(err),
      "the loser's status write meets a 409",
    );
    const extra = await cluster().client.get<IPAllocation>(Kinds.IPAllocation, allocationName(pool, own));
    assert.equal(extra.spec?.claimRef.name, "vm.ovs1", "the loser's record is the claim's too");
    // Then the claim's new status reached it (the claim watch), the winner's record not yet (the allocation watch lags).
    const live = await cluster().client.get<IPClaim>(Kinds.IPClaim, "vm.ovs1", ns);
    view.caches.claims.upsert(live);

    const outcome = await binder.bind({ claim: live });
    assert.ok(outcome.bound, `bound: ${JSON.stringify(outcome)}`);
    assert.deepEqual(outcome.addresses, winner, "the bind keeps the address the claim shows");
    const after = await cluster().client.get<IPClaim>(Kinds.IPClaim, "vm.ovs1", ns);
    assert.deepEqual(after.status?.addresses, winner, "the claim in the API server still shows the winner's address");
    assert.equal(
      view.allocator(pool)?.holderOf(winner[0].split("/")[0]),
      `${ns}/vm.ovs1`,
      "the loser's allocator now knows the winner's record",
    );
  });

  it("keeps a Bound claim Bound when this process's allocator still names another holder of its address", async () => {
    const { ns, pool, claim: live } = await boundVm("race");
    const shown = (live.status as ClaimStatus).addresses!;

    // A process whose memory is behind: the address was another claim's there (its delete not seen yet).
    const view = new ClusterView();
    view.caches.pools.upsert(await cluster().client.get<IPPool>(Kinds.IPPool, pool));
    view.caches.claims.upsert(live);
    view.allocator(pool)!.markTaken(shown[0].split("/")[0], `${ns}/gone.ovs1`);
    const outcome = await new Binder(cluster().client, view).bind({ claim: live });
    assert.ok(outcome.bound, `the API server's record decides, not stale memory: ${JSON.stringify(outcome)}`);
    assert.deepEqual(outcome.addresses, shown);
    const after = await cluster().client.get<IPClaim>(Kinds.IPClaim, "vm.ovs1", ns);
    assert.ok(
      after.status?.conditions?.some(c => c.type === "Bound" && c.status === "True"),
      "still Bound",
    );
  });
});
