// The churn test's arithmetic: refusal kinds and the time a Lease had no leader.
import assert from "node:assert/strict";
import { classifyRefusal, leaderGaps } from "../../e2e/churn-figures";

describe("churn figures", () => {
  it("tells the designed refusals (not bound yet, mutation missed) from a webhook outage and from anything else", () => {
    const denied =
      'admission webhook "pods.vmnet.io" denied the request: Pod churn/virt-launcher-vm-1-x of VirtualMachine vm-1: metadata.annotations["k8s.v1.cni.cncf.io/networks"]: no bound address for network ovs1 (no IPClaim yet); it is admitted once ...';
    assert.equal(classifyRefusal(denied), "not-bound-yet");
    assert.equal(
      classifyRefusal(
        'Internal error occurred: failed calling webhook "launcher-pods.vmnet.io": failed to call webhook: Post "https://vmnet-operator.x.svc:443/mutate/abc": dial tcp 10.215.0.7:443: connect: connection refused',
      ),
      "webhook-unreachable",
    );
    assert.equal(
      classifyRefusal(
        'admission webhook "launcher-pods.vmnet.io" denied the request: ...: carries addresses other than its VM\'s IPClaims hold; it is admitted once ...',
      ),
      "mutation-missed",
    );
    assert.equal(
      classifyRefusal(
        'admission webhook "pods.vmnet.io" denied the request: Pod a/b: metadata.annotations: "ips" on network a/vlan100 is for KubeVirt\'s launcher pods only',
      ),
      "other",
    );
  });

  it("measures each handover from the old holder's last renewal, or its release, to the new holder's acquisition", () => {
    const g = leaderGaps([
      { at: 0, holder: "a", acquireTime: 0, renewTime: 0 },
      { at: 2000, holder: "a", renewTime: 2000 },
      { at: 4100, holder: "a", renewTime: 4100 },
      { at: 5000, holder: "", renewTime: 5000 }, // a released it on SIGTERM
      { at: 6500, holder: "b", acquireTime: 6400, renewTime: 6400 },
      { at: 8400, holder: "b", renewTime: 8400 },
      { at: 30000, holder: "c", acquireTime: 26000, renewTime: 26000 }, // b died: c waited out the lease
    ]);
    assert.equal(g.handovers, 2);
    assert.equal(g.leaderlessMs, 1400 + (26000 - 8400));
    assert.equal(g.longestMs, 26000 - 8400);
    assert.equal(g.longestRenewMs, 2100);
    assert.deepEqual(g.detail, ["a (released) -> b after 1400 ms", "b -> c after 17600 ms"]);
  });

  it("does not count the first acquisition, nor a holder that keeps renewing", () => {
    const g = leaderGaps([
      { at: 0, holder: "a", acquireTime: 0, renewTime: 0 },
      { at: 2000, holder: "a", renewTime: 2000 },
      { at: 2250, holder: "a", renewTime: 2000 },
    ]);
    assert.deepEqual([g.handovers, g.leaderlessMs, g.longestRenewMs], [0, 0, 2000]);
  });
});
