// claimSpecDiffers' owner comparison, which the mutation run found unasserted. Oracle: Kubernetes
// ownership (a claim owned by another object, e.g. a VM deleted and created again under its name
// with a new uid, must be re-applied so that garbage collection follows the live VM).
import assert from "node:assert/strict";
import { claimSpecDiffers } from "../../../capabilities/controllers/render";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";

describe("claimSpecDiffers: the owners", () => {
  it("another owner uid (the VM deleted and created again) differs; the same owners do not", () => {
    const spec = { vm: "web", interface: "ovs1", network: "t/vlan100", pools: ["p4"] };
    const owned = (...uids: string[]): IPClaim =>
      ({ metadata: { ownerReferences: uids.map(uid => ({ uid, kind: "VirtualMachine", name: "web" })) }, spec }) as unknown as IPClaim;
    assert.equal(claimSpecDiffers(owned("u1"), owned("u1")), false);
    assert.equal(claimSpecDiffers(owned("u1"), owned("u2")), true);
    assert.equal(claimSpecDiffers(owned("u1", "u2"), owned("u2", "u1")), true, "owner order is the order the operator writes");
  });
});
