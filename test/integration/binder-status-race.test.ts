// Binder.writeStatus against the real API server, through its own view and client: two writers
// binding one claim at once (the watcher, and an admission replica binding a launcher pod's claim
// on the spot) both adopt the one IPAllocation, and the slower one's status write meets a 409.
// Found by test/e2e/upgrade-churn.test.ts: the admission replica then admitted nothing and the pod
// was refused. A conflict with a writer that wrote the same status now takes the live claim; one
// with a different status still fails.
import assert from "node:assert/strict";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import { Binder, ClaimStatus } from "../../capabilities/controllers/binder";
import { ClusterView } from "../../capabilities/controllers/cluster-view";
import { isConflict } from "../../capabilities/k8s/errors";
import { Kinds } from "../../capabilities/k8s/kinds";
import { boundClaim, createNad, createPool, uniqueSubnet, vmManifest } from "../helpers";
import { cluster, freshNamespace } from "../setup/cluster";

describe("binder: a status write that lost a race (real API server)", function () {
  this.timeout(60_000);

  it("takes the live claim when the other writer wrote the same status, and fails when it wrote another", async () => {
    const ns = await freshNamespace("race");
    const subnet = uniqueSubnet();
    await createNad(ns, "vlan100");
    await createPool(`race-${ns}`, { cidr: subnet.cidr, networks: [`${ns}/vlan100`] });
    await cluster().client.create(Kinds.VirtualMachine, vmManifest(ns, "vm", [{ name: "ovs1", network: "vlan100" }]));
    const bound = await boundClaim(ns, "vm.ovs1");
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
    await assert.rejects(binder.writeStatus(stale, other), (err: unknown) => isConflict(err), "a different status written meanwhile is still a conflict");
  });
});
