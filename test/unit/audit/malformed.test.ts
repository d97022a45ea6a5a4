// Objects as the API server may list them half-written (no status yet, no spec, no metadata
// fields): the checker, kubectl vmnet check and the renderers must answer, not throw. Each
// optional field the code guards is left out here at least once.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../../capabilities/api/ippool-v1alpha1";
import { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import { ClaimLike, isClaimBound, renderLauncherNetworks, vmNameOfPod } from "../../../capabilities/admission/launcher-pod";
import { checkSnapshot, safeFixes } from "../../../capabilities/audit/check";
import { findProblems, Snapshot } from "../../../capabilities/audit/invariants";
import { ipamRules } from "../../../capabilities/audit/rules";
import { bridgeNics, requestedAddresses } from "../../../capabilities/controllers/render";
import { targetKept } from "../../../capabilities/controllers/migration-controller";
import type { KubeObject } from "../../../capabilities/k8s/client";

const BOUND = [{ type: "Bound", status: "True" }];

function listing(): Snapshot {
  return {
    pools: [
      { metadata: { name: "p4" }, spec: { cidr: "10.1.0.0/24", networks: ["t/vlan"] }, status: { allocated: 0 } },
      { metadata: { name: "bare" } },
      { metadata: { name: "nonets" }, spec: { cidr: "10.2.0.0/24" } },
    ] as unknown as IPPool[],
    claims: [
      { metadata: { name: "nostatus.ovs1", namespace: "t" }, spec: { vm: "nostatus", interface: "ovs1", pools: ["p4"] } },
      { metadata: { name: "noconds.ovs1", namespace: "t" }, spec: { vm: "noconds", interface: "ovs1", pools: ["p4"] }, status: {} },
      { metadata: { name: "nospec.ovs1", namespace: "t" }, status: { conditions: BOUND } },
      { metadata: { name: "bound.ovs1", namespace: "t" }, spec: { vm: "gone", interface: "ovs1", pool: "p4" }, status: { conditions: BOUND } },
      { metadata: { namespace: "t" } },
      {},
    ] as unknown as IPClaim[],
    allocations: [] as IPAllocation[],
    vms: [
      { metadata: { name: "empty", namespace: "t" } },
      { metadata: { name: "nodomain", namespace: "t" }, spec: { template: { spec: { networks: [{ name: "ovs1", multus: { networkName: "vlan" } }] } } } },
      { metadata: { name: "nonets", namespace: "t" }, spec: { template: { spec: { domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } } } } } },
      { metadata: { name: "podnet", namespace: "t" }, spec: { template: { spec: { domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } }, networks: [{ name: "ovs1", pod: {} }] } } } },
      { metadata: { name: "nodevices", namespace: "t" }, spec: { template: { spec: { domain: {} } } } },
      { metadata: { namespace: "t" }, spec: {} },
    ] as KubeObject[],
  };
}

describe("half-written objects", () => {
  it("the invariant checker reports what it can and never throws", () => {
    const problems = findProblems(listing(), { namespace: "t", pools: ["p4", "bare", "nonets"] }).problems;
    assert.ok(problems.includes("empty: t/bound.ovs1 is Bound with no address"), problems.join("\n"));
    assert.ok(problems.includes("empty: t/bound.ovs1 is Bound with no MAC"), problems.join("\n"));
    assert.ok(problems.includes("orphan: t/bound.ovs1 is Bound but its VM gone is gone"), problems.join("\n"));
    assert.ok(!problems.some(p => p.includes("nostatus") || p.includes("noconds")), "claims without a Bound condition hold nothing");
    assert.deepEqual(findProblems(listing(), { namespace: "t", pools: ["p4"] }).bound, 2);
  });

  it("kubectl vmnet check and --fix too, scoped or not", () => {
    const s = listing();
    s.allocations = [{ metadata: { name: "p4.10-1-0-9" }, spec: { pool: "p4", address: "10.1.0.9", claimRef: { namespace: "t", name: "ghost" } } }] as unknown as IPAllocation[];
    assert.ok(checkSnapshot(s, {}).length > 0);
    assert.ok(checkSnapshot(s, { namespace: "t" }).some(f => f.kind === "leak"));
    assert.deepEqual(safeFixes(s, {}).map(a => a.metadata?.name), ["p4.10-1-0-9"]);
    assert.deepEqual(checkSnapshot({ pools: [], claims: [{}] as IPClaim[], allocations: [], vms: [{}] as KubeObject[] }, {}), []);
  });

  it("a scoped check covers a pool that serves the namespace's networks even when no claim names it", () => {
    const s: Snapshot = {
      pools: [{ metadata: { name: "p4" }, spec: { cidr: "10.1.0.0/24", networks: ["other/x", "t/vlan"] }, status: { allocated: 0 } }, { metadata: { name: "q" }, spec: { cidr: "10.3.0.0/24", networks: ["elsewhere/t/vlan"] }, status: { allocated: 0 } }] as unknown as IPPool[],
      claims: [],
      allocations: [],
      vms: [{ metadata: { name: "web", namespace: "t" }, spec: { template: { spec: { domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } }, networks: [{ name: "ovs1", multus: { networkName: "vlan" } }] } } } }],
    };
    assert.deepEqual(checkSnapshot(s, { namespace: "t" }).map(f => f.message), ["VM t/web NIC ovs1 on t/vlan (pool p4) has no IPClaim web.ovs1"]);
    // A claim naming a pool that is not listed does not bring it into scope.
    s.claims = [{ metadata: { name: "web.ovs1", namespace: "t" }, spec: { vm: "web", interface: "ovs1", pools: ["ghost"] } }] as unknown as IPClaim[];
    assert.deepEqual(checkSnapshot(s, { namespace: "t" }).map(f => f.kind), ["missing"]);
    // Pools are checked in name order, whatever order claims name them in.
    s.pools.push({ metadata: { name: "a0" }, spec: { cidr: "10.4.0.0/24", networks: ["t/other"] }, status: { allocated: 1 } } as unknown as IPPool);
    s.claims = [{ metadata: { name: "w.ovs1", namespace: "t" }, spec: { vm: "w", interface: "ovs1", pools: ["p4", "a0"] } }] as unknown as IPClaim[];
    assert.deepEqual(checkSnapshot(s, { namespace: "t" }).map(f => f.kind).sort(), ["count", "missing"]);
  });

  it("the renderers", () => {
    assert.deepEqual(bridgeNics({} as VirtualMachine), []);
    assert.deepEqual(bridgeNics({ metadata: {}, spec: {} } as VirtualMachine), []);
    assert.deepEqual(requestedAddresses({} as VirtualMachine).byInterface.size, 0);
    assert.deepEqual(requestedAddresses({ metadata: {} } as VirtualMachine).byInterface.size, 0);
    assert.equal(targetKept({ spec: { interface: "ovs1" } } as unknown as IPClaim, "t", []).detail, "the target pod has no element for network undefined");
    assert.equal(ipamRules.sameIP("10.0.0.1", "junk"), false);
    assert.equal(ipamRules.sameIP("junk", "10.0.0.1"), false);
  });

  it("the launcher-pod renderer", () => {
    const claims = [
      { spec: { network: "t/vlan" } },
      { metadata: {}, spec: { network: "t/vlan", interface: 5 }, status: { addresses: ["10.0.0.1/24"], conditions: BOUND } },
      "junk",
      { spec: "junk" },
    ] as unknown as ClaimLike[];
    const r = renderLauncherNetworks('[{"name":"vlan","interface":"podca978112ca1"},{"name":"vlan"}]', "t", claims);
    assert.deepEqual(JSON.parse(r.value), [{ name: "vlan", interface: "podca978112ca1" }, { name: "vlan", ips: ["10.0.0.1/24"] }]);
    assert.deepEqual(r.missing, ["t/vlan"]);
    assert.equal(isClaimBound({} as ClaimLike), false);
    assert.equal(isClaimBound({ status: { conditions: BOUND } } as ClaimLike), false);
    assert.equal(vmNameOfPod({ metadata: { ownerReferences: [null, "x", { kind: "VirtualMachineInstance", name: 5 }], labels: { "vm.kubevirt.io/name": "web" } } }), "web");
    assert.equal(vmNameOfPod({ metadata: { labels: { "vm.kubevirt.io/name": 5 } } }), undefined);
  });
});
