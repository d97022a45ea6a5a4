// The binder's error paths on the in-memory client, through a work queue wired as the operator's:
// a taken allocation name moves on to the next address, a status conflict is retried, and a
// terminal refusal is reported once and not retried.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import { renderAllocation } from "../../../capabilities/controllers/render";
import { vmKey } from "../../../capabilities/controllers/reconcile";
import { ApiError, apiError, ConflictError } from "../../../capabilities/k8s/errors";
import { Kinds } from "../../../capabilities/k8s/kinds";
import { boundCondition, oneNicVm, vmManifest, World } from "../support/world";

/** oneNicVm, and another replica took the 64 lowest addresses: this process's cache has seen none of their records. */
async function contendedVm(): Promise<World> {
  const w = await oneNicVm();
  for (let i = 2; i < 66; i++)
    w.client.seed(Kinds.IPAllocation, renderAllocation("pa", `10.1.0.${i}`, { namespace: "other", name: `db-${i}.ovs1`, uid: "x" }));
  return w;
}

describe("Binder (in-memory client)", () => {
  it("takes the next address when the allocation name is taken (AlreadyExists) by a claim the cache has not seen", async () => {
    const w = await oneNicVm();
    // Another replica took the lowest address; this process's cache has not seen its record yet.
    w.client.seed(Kinds.IPAllocation, renderAllocation("pa", "10.1.0.2", { namespace: "other", name: "db.ovs1", uid: "x" }));
    await w.vms.reconcile(vmKey("t", "web"));

    const creates = w.client.writes("create", "IPAllocation").map(c => c.name);
    assert.deepEqual(creates, ["pa.10-1-0-2", "pa.10-1-0-3"], "tried the lowest address, refused, then the next");
    assert.deepEqual(w.claim("t", "web.ovs1")?.status?.addresses, ["10.1.0.3/24"]);
    assert.equal(w.view.allocator("pa")?.holderOf("10.1.0.2"), "other/db.ovs1", "the holder is remembered");
    const live = w.client.peek<IPAllocation>(Kinds.IPAllocation, "pa.10-1-0-2");
    assert.equal(live?.spec?.claimRef.name, "db.ovs1", "the other claim's record is untouched");
  });

  it("retries a Conflict on the claim's status with backoff, then binds", async () => {
    const w = await oneNicVm();
    w.client.failNext({ verb: "patch", kind: "IPClaim", subresource: "status" }, () =>
      apiError(409, "Conflict", "patch IPClaim t/web.ovs1/status: 409 Conflict: the object has been modified"),
    );
    const q = w.queue();
    q.add(vmKey("t", "web"));
    await q.idle();

    assert.equal(w.retries.length, 1, "one retryable failure");
    assert.ok(w.retries[0].err instanceof ConflictError);
    assert.equal(w.retries[0].key, "vm/t/web");
    assert.equal(boundCondition(w.claim("t", "web.ovs1"))?.status, "True", "bound on the retry");
    assert.equal(w.client.all(Kinds.IPAllocation).length, 1, "the retry adopts its record: one address");
    assert.equal(q.failures(vmKey("t", "web")), 0, "success forgets the failures");
    assert.deepEqual(w.errorLines, []);
  });

  it("reports a terminal refusal (422 on the allocation) once, as a Warning on the VM and a log line, and does not retry it", async () => {
    const w = await oneNicVm();
    const refusal = (): ApiError =>
      apiError(422, "Invalid", 'create IPAllocation pa.10-1-0-2: 422 Invalid: IPAllocation.vmnet.io "pa.10-1-0-2" is invalid');
    w.client.failNext({ verb: "create", kind: "IPAllocation" }, refusal, 10);
    const q = w.queue();
    q.add(vmKey("t", "web"));
    await q.idle();
    await new Promise(r => setTimeout(r, 60)); // longer than any backoff: a retry would have run

    assert.equal(w.client.writes("create", "IPAllocation").length, 1, "not retried");
    assert.deepEqual(w.retries, []);
    assert.equal(w.errorLines.length, 1);
    assert.match(w.errorLines[0], /vm\/t\/web .*not retried.*422 Invalid/);
    const warnings = w.events.filter(e => e.reason === "Invalid");
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].kind, "VirtualMachine");
    assert.equal(warnings[0].uid, w.client.peek(Kinds.VirtualMachine, "web", "t")?.metadata?.uid);

    // A new event runs the key again; the same refusal is not reported a second time.
    q.add(vmKey("t", "web"));
    await q.idle();
    assert.equal(w.client.writes("create", "IPAllocation").length, 2);
    assert.equal(w.errorLines.length, 1, "reported once");
    assert.equal(w.events.filter(e => e.reason === "Invalid").length, 1);
    assert.equal(w.view.allocator("pa")?.holderOf("10.1.0.2"), undefined, "the refused address is not held");
  });

  it("gives up after 64 addresses taken concurrently and asks to run again later (requeueAfter)", async () => {
    const w = await contendedVm();
    const result = await w.vms.reconcile(vmKey("t", "web"));
    assert.equal(result.kind, "requeue", "the reconcile asks to run again");
    assert.ok(
      result.kind === "requeue" && result.afterMs >= 500 && result.afterMs <= 1000,
      `a short jittered wait: ${JSON.stringify(result)}`,
    );
    assert.equal(w.client.writes("create", "IPAllocation").length, 64, "64 tries, each refused");
    const bound = boundCondition(w.claim("t", "web.ovs1"));
    assert.equal(bound?.status, "False");
    assert.equal(bound?.reason, "Exhausted");
    assert.match(String(bound?.message), /gave up after 64 addresses of pool pa were taken concurrently; will retry/);
  });

  it("binds on the requeued run through the work queue, with no further event and no failure counted", async () => {
    const w = await contendedVm();
    const q = w.queue();
    q.add(vmKey("t", "web"));
    await q.idle();
    assert.deepEqual(w.claim("t", "web.ovs1")?.status?.addresses, ["10.1.0.66/24"], "bound on the second run, past the 64 taken");
    assert.equal(w.client.writes("create", "IPAllocation").length, 65, "64 refused on the first run, one created on the second");
    assert.deepEqual(w.retries, [], "a requeue is no failure");
    assert.equal(q.failures(vmKey("t", "web")), 0);
  });

  it("a pool that is really full is no contention: the reconcile is done (a freed address or a bigger pool is an event)", async () => {
    const w = new World();
    w.network("t", "vlan100", "tiny", "10.1.0.0/30"); // one usable address besides the gateway
    w.client.seed(Kinds.IPAllocation, renderAllocation("tiny", "10.1.0.2", { namespace: "other", name: "db.ovs1", uid: "x" }));
    w.client.seed(Kinds.VirtualMachine, vmManifest("t", "web", [{ name: "ovs1", network: "vlan100" }]));
    await w.sync();
    const result = await w.vms.reconcile(vmKey("t", "web"));
    assert.equal(result.kind, "done");
    assert.equal(boundCondition(w.claim("t", "web.ovs1"))?.reason, "Exhausted");
  });
});
