// Leader election, the pure part: who may take the Lease, measured on the candidate's own clock.
import assert from "node:assert/strict";
import { decide, DEFAULT_TIMING, Lease, observe } from "../../../capabilities/k8s/lease";

const lease = (holder: string, renewTime: string, durationS = 15, transitions = 3): Lease => ({
  metadata: { name: "l", resourceVersion: "1" },
  spec: { holderIdentity: holder, renewTime, leaseDurationSeconds: durationS, leaseTransitions: transitions },
});

describe("Lease leader election (decide)", () => {
  it("creates a missing Lease", () => {
    assert.deepEqual(decide(undefined, observe(undefined, undefined, 0), "me", 0, DEFAULT_TIMING), { action: "create" });
  });

  it("renews its own Lease", () => {
    const l = lease("me", "t1");
    assert.deepEqual(decide(l, observe(undefined, l, 0), "me", 0, DEFAULT_TIMING), { action: "renew" });
  });

  it("waits while another holder renews within the lease duration", () => {
    const l = lease("other", "t1");
    const seen = observe(undefined, l, 1000);
    assert.deepEqual(decide(l, seen, "me", 1000 + 14_000, DEFAULT_TIMING), { action: "wait", holder: "other" });
  });

  it("takes a Lease whose holder stopped renewing for its duration, counting the transition", () => {
    const l = lease("other", "t1");
    const seen = observe(undefined, l, 1000);
    assert.deepEqual(decide(l, seen, "me", 1000 + 15_000, DEFAULT_TIMING), { action: "take", transitions: 4 });
  });

  it("measures expiry from when it saw the record change, not from renewTime (clock skew)", () => {
    // renewTime far in the past by our clock: still only expires leaseDuration after we saw it change.
    const l1 = lease("other", "2000-01-01T00:00:00.000000Z");
    let seen = observe(undefined, l1, 50_000);
    assert.equal(decide(l1, seen, "me", 60_000, DEFAULT_TIMING).action, "wait");
    const l2 = lease("other", "2000-01-01T00:00:02.000000Z");
    seen = observe(seen, l2, 64_000); // renewed: the clock restarts
    assert.equal(seen.at, 64_000);
    assert.equal(decide(l2, seen, "me", 70_000, DEFAULT_TIMING).action, "wait");
    assert.equal(observe(seen, l2, 80_000).at, 64_000); // unchanged record: same observation
    assert.equal(decide(l2, observe(seen, l2, 80_000), "me", 80_000, DEFAULT_TIMING).action, "take");
  });

  it("takes a released Lease (holder cleared on shutdown) at once", () => {
    const l = lease("", "t1", 1);
    assert.equal(decide(l, observe(undefined, l, 0), "me", 0, DEFAULT_TIMING).action, "take");
  });
});
