// Objects as the API server may list them half-written (no status yet, no spec, no metadata
// fields): the checker, kubectl vmnet check and the renderers must answer, not throw. Each
// optional field the code guards is left out here at least once.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../../capabilities/api/ippool-v1alpha1";
import { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import { ClaimLike, isClaimBound, renderLauncherNetworks, vmNameOfPod } from "../../../capabilities/domain/launcher-pod";
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
      {
        metadata: { name: "bound.ovs1", namespace: "t" },
        spec: { vm: "gone", interface: "ovs1", pool: "p4" },
        status: { conditions: BOUND },
      },
      { metadata: { namespace: "t" } },
      {},
    ] as unknown as IPClaim[],
    allocations: [] as IPAllocation[],
    vms: [
      { metadata: { name: "empty", namespace: "t" } },
      {
        metadata: { name: "nodomain", namespace: "t" },
        spec: { template: { spec: { networks: [{ name: "ovs1", multus: { networkName: "vlan" } }] } } },
      },
      {
        metadata: { name: "nonets", namespace: "t" },
        spec: { template: { spec: { domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } } } } },
      },
      {
        metadata: { name: "podnet", namespace: "t" },
        spec: {
          template: {
            spec: { domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } }, networks: [{ name: "ovs1", pod: {} }] },
          },
        },
      },
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
    s.allocations = [
      { metadata: { name: "p4.10-1-0-9" }, spec: { pool: "p4", address: "10.1.0.9", claimRef: { namespace: "t", name: "ghost" } } },
    ] as unknown as IPAllocation[];
    assert.ok(checkSnapshot(s, {}).length > 0);
    assert.ok(checkSnapshot(s, { namespace: "t" }).some(f => f.kind === "leak"));
    assert.deepEqual(
      safeFixes(s, {}).map(a => a.metadata?.name),
      ["p4.10-1-0-9"],
    );
    assert.deepEqual(checkSnapshot({ pools: [], claims: [{}] as IPClaim[], allocations: [], vms: [{}] as KubeObject[] }, {}), []);
  });

  it("a scoped check covers a pool that serves the namespace's networks even when no claim names it", () => {
    const s: Snapshot = {
      pools: [
        { metadata: { name: "p4" }, spec: { cidr: "10.1.0.0/24", networks: ["other/x", "t/vlan"] }, status: { allocated: 0 } },
        { metadata: { name: "q" }, spec: { cidr: "10.3.0.0/24", networks: ["elsewhere/t/vlan"] }, status: { allocated: 0 } },
      ] as unknown as IPPool[],
      claims: [],
      allocations: [],
      vms: [
        {
          metadata: { name: "web", namespace: "t" },
          spec: {
            template: {
              spec: {
                domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } },
                networks: [{ name: "ovs1", multus: { networkName: "vlan" } }],
              },
            },
          },
        },
      ],
    };
    assert.deepEqual(
      checkSnapshot(s, { namespace: "t" }).map(f => f.message),
      ["VM t/web NIC ovs1 on t/vlan (pool p4) has no IPClaim web.ovs1"],
    );
    // A claim naming a pool that is not listed does not bring it into scope.
    s.claims = [
      { metadata: { name: "web.ovs1", namespace: "t" }, spec: { vm: "web", interface: "ovs1", pools: ["ghost"] } },
    ] as unknown as IPClaim[];
    assert.deepEqual(
      checkSnapshot(s, { namespace: "t" }).map(f => f.kind),
      ["missing"],
    );
    // Pools are checked in name order, whatever order claims name them in.
    s.pools.push({
      metadata: { name: "a0" },
      spec: { cidr: "10.4.0.0/24", networks: ["t/other"] },
      status: { allocated: 1 },
    } as unknown as IPPool);
    s.claims = [
      { metadata: { name: "w.ovs1", namespace: "t" }, spec: { vm: "w", interface: "ovs1", pools: ["p4", "a0"] } },
    ] as unknown as IPClaim[];
    assert.deepEqual(
      checkSnapshot(s, { namespace: "t" })
        .map(f => f.kind)
        .sort(),
      ["count", "missing"],
    );
  });

  it("the renderers", () => {
    assert.deepEqual(bridgeNics({} as VirtualMachine), []);
    assert.deepEqual(bridgeNics({ metadata: {}, spec: {} } as VirtualMachine), []);
    assert.deepEqual(requestedAddresses({} as VirtualMachine).byInterface.size, 0);
    assert.deepEqual(requestedAddresses({ metadata: {} } as VirtualMachine).byInterface.size, 0);
    assert.equal(
      targetKept({ spec: { interface: "ovs1" } } as unknown as IPClaim, "t", []).detail,
      "the target pod has no element for network undefined",
    );
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
    assert.deepEqual(JSON.parse(r.value), [
      { name: "vlan", interface: "podca978112ca1" },
      { name: "vlan", ips: ["10.0.0.1/24"] },
    ]);
    assert.deepEqual(r.missing, ["t/vlan"]);
    assert.equal(isClaimBound({} as ClaimLike), false);
    assert.equal(isClaimBound({ status: { conditions: BOUND } } as ClaimLike), false);
    assert.equal(
      vmNameOfPod({
        metadata: { ownerReferences: [null, "x", { kind: "VirtualMachineInstance", name: 5 }], labels: { "vm.kubevirt.io/name": "web" } },
      }),
      "web",
    );
    assert.equal(vmNameOfPod({ metadata: { labels: { "vm.kubevirt.io/name": 5 } } }), undefined);
  });
});

describe("boundaries the checker, kubectl vmnet check and the renderers draw", () => {
  const pool = (name: string, cidr: string, networks: string[], allocated: number, gateway?: string): IPPool =>
    ({ metadata: { name }, spec: { cidr, networks, ...(gateway ? { gateway } : {}) }, status: { allocated } }) as unknown as IPPool;
  const vmOn = (name: string, network: string, extra: Record<string, unknown> = {}): KubeObject => ({
    metadata: { name, namespace: "t", ...extra },
    spec: {
      template: {
        spec: {
          domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } },
          networks: [{ name: "ovs1", multus: { networkName: network } }],
        },
      },
    },
  });
  const claimOf = (vm: string, pools: string[], status: Record<string, unknown>): IPClaim =>
    ({
      metadata: { name: `${vm}.ovs1`, namespace: "t" },
      spec: { vm, interface: "ovs1", network: "t/vlan", pools },
      status,
    }) as unknown as IPClaim;

  it("a Bound condition among others counts; a pending claim with addresses holds nothing; a VM being deleted needs no claim", () => {
    const s: Snapshot = {
      pools: [pool("p4", "10.1.0.0/24", ["t/vlan"], 0)],
      claims: [
        claimOf("a", ["p4"], {
          addresses: ["10.1.0.5/24"],
          mac: "02:00:0a:01:00:05",
          conditions: [
            { type: "Ready", status: "True" },
            { type: "Bound", status: "True" },
          ],
        }),
        claimOf("b", ["p4"], { addresses: ["10.1.0.6/24"], mac: "02:00:0a:01:00:06", conditions: [{ type: "Bound", status: "False" }] }),
      ],
      allocations: [
        { metadata: { name: "p4.10-1-0-5" }, spec: { pool: "p4", address: "10.1.0.5", claimRef: { namespace: "t", name: "a.ovs1" } } },
      ] as IPAllocation[],
      vms: [vmOn("a", "vlan"), vmOn("b", "vlan"), vmOn("c", "vlan", { deletionTimestamp: "2026-01-01T00:00:00Z" })],
    };
    s.pools[0].status!.allocated = 1;
    assert.deepEqual(findProblems(s, { namespace: "t", pools: ["p4"] }).problems, [
      `missing: t/b.ovs1 is not Bound ([{"type":"Bound","status":"False"}])`,
    ]);
  });

  it("two claims without a MAC are two empty claims, not one MAC twice; the gateway of the pool that has one", () => {
    const s: Snapshot = {
      pools: [pool("q4", "10.2.0.0/24", ["t/vlan"], 2), pool("p6", "fd00:1::/64", ["t/vlan"], 0, "fd00:1::1")],
      claims: [
        claimOf("a", ["q4", "p6"], { addresses: ["10.2.0.5/24", "fd00:1::5/64"], gateway: "fd00:1::1", conditions: BOUND }),
        claimOf("b", ["q4"], { addresses: ["10.2.0.6/24"], conditions: BOUND }),
      ],
      allocations: [
        { metadata: { name: "q4.10-2-0-5" }, spec: { pool: "q4", address: "10.2.0.5", claimRef: { namespace: "t", name: "a.ovs1" } } },
        { metadata: { name: "q4.10-2-0-6" }, spec: { pool: "q4", address: "10.2.0.6", claimRef: { namespace: "t", name: "b.ovs1" } } },
        {
          metadata: { name: "p6.fd00-0001-0000-0000-0000-0000-0000-0005" },
          spec: { pool: "p6", address: "fd00:1::5", claimRef: { namespace: "t", name: "a.ovs1" } },
        },
      ] as IPAllocation[],
      vms: [vmOn("a", "vlan"), vmOn("b", "vlan")],
    };
    s.pools[1].status!.allocated = 1;
    assert.deepEqual(findProblems(s, { namespace: "t", pools: ["q4", "p6"] }).problems, [
      "empty: t/a.ovs1 is Bound with no MAC",
      "empty: t/b.ovs1 is Bound with no MAC",
    ]);
    s.claims[0].status!.mac = "02:00:0a:02:00:07";
    s.claims[0].status!.addresses = ["10.2.0.5/24"];
    const problems = findProblems(s, { namespace: "t", pools: ["q4", "p6"] }).problems;
    assert.ok(problems.includes("empty: t/a.ovs1 is Bound with 1 address(es) for 2 pool(s) (q4,p6)"), problems.join("\n"));
    s.claims[0].status!.addresses = ["10.2.0.5/24", "fd00:1::5/64"];
    assert.ok(
      findProblems(s, { namespace: "t", pools: ["q4", "p6"] }).problems.includes(
        "mac: t/a.ovs1 shows MAC 02:00:0a:02:00:07 for 10.2.0.5/24,fd00:1::5/64, expected 02:00:0a:02:00:05",
      ),
    );
  });

  it("unscoped, every listed pool is checked; with no VM or claim at all the pools still are", () => {
    const drift: Snapshot = { pools: [pool("pz", "10.9.0.0/24", ["z/x"], 1)], claims: [], allocations: [], vms: [] };
    assert.deepEqual(
      checkSnapshot(drift, {}).map(f => f.message),
      ["pool pz says allocated=1, records say 0"],
    );
    drift.vms = [vmOn("a", "other")];
    assert.deepEqual(
      checkSnapshot(drift, {}).map(f => f.message),
      ["pool pz says allocated=1, records say 0"],
    );
    // A claim naming its pool by spec.pool only brings that pool into a scoped check.
    drift.claims = [
      { metadata: { name: "a.ovs1", namespace: "t" }, spec: { vm: "a", interface: "ovs1", pool: "pz" } },
    ] as unknown as IPClaim[];
    assert.deepEqual(
      checkSnapshot(drift, { namespace: "t" }).map(f => f.message),
      ["pool pz says allocated=1, records say 0"],
    );
  });

  it("sameIP compares families, the renderers join lists with ', '", () => {
    assert.equal(ipamRules.sameIP("10.0.0.1", "::a00:1"), false);
    assert.deepEqual(
      requestedAddresses({ metadata: { annotations: { "vmnet.io/addresses": '{"ovs1": ["10.0.0.1", 5]}' } } } as unknown as VirtualMachine)
        .byInterface.size,
      0,
    );
    assert.match(
      String(
        requestedAddresses({
          metadata: { annotations: { "vmnet.io/addresses": '{"ovs1": ["10.0.0.1", 5]}' } },
        } as unknown as VirtualMachine).error,
      ),
      /vmnet\.io\/addresses'\]\.ovs1 = .* is not valid: must be an address or a list/,
    );
    const claim = {
      spec: { interface: "ovs1", network: "t/vlan" },
      status: { addresses: ["10.0.0.1/24", "fd00::1/64"], mac: "02:00:0a:00:00:01" },
    } as unknown as IPClaim;
    assert.equal(
      targetKept(claim, "t", [{ name: "vlan", ips: ["10.0.0.1/24", "fd00::1/64"], mac: "02:00:0a:00:00:01" }]).detail,
      "10.0.0.1/24, fd00::1/64 MAC 02:00:0a:00:00:01",
    );
  });

  it("the launcher-pod renderer: a hashed pod interface and a claim whose interface is not text; partial ips are rewritten", () => {
    const claims = [
      { spec: { network: "t/vlan", interface: 5 }, status: { addresses: ["10.0.0.1/24"], conditions: BOUND } },
      { spec: { network: "t/vlan" } },
    ] as unknown as ClaimLike[];
    const r = renderLauncherNetworks('[{"name":"vlan","interface":"podca978112ca1"},{"name":"vlan"}]', "t", claims);
    assert.deepEqual(JSON.parse(r.value), [{ name: "vlan", interface: "podca978112ca1", ips: ["10.0.0.1/24"] }, { name: "vlan" }]);
    assert.deepEqual(r.missing, ["t/vlan"]);
    const two = [
      {
        spec: { network: "t/vlan", interface: "a" },
        status: { addresses: ["10.0.0.1/24", "fd00::1/64"], mac: "02:00:0a:00:00:01", conditions: BOUND },
      },
    ] as unknown as ClaimLike[];
    const partial = renderLauncherNetworks('[{"name":"vlan","ips":["10.0.0.1/24","fd00::9/64"],"mac":"02:00:0a:00:00:01"}]', "t", two);
    assert.deepEqual(JSON.parse(partial.value), [
      { name: "vlan", ips: ["10.0.0.1/24", "fd00::1/64"], mac: "02:00:0a:00:00:01", "cni-args": { mac: "02:00:0a:00:00:01" } },
    ]);
    const oneChar = [{ spec: { network: "t/vlan" }, status: { addresses: ["x"], conditions: BOUND } }] as unknown as ClaimLike[];
    assert.deepEqual(JSON.parse(renderLauncherNetworks('[{"name":"vlan","ips":"x"}]', "t", oneChar).value), [{ name: "vlan", ips: ["x"] }]);
    assert.deepEqual(renderLauncherNetworks("a/b/c", "t", []).missing, []);
    const nameless = [
      { spec: { network: "t/undefined" }, status: { addresses: ["10.0.0.1/24"], conditions: BOUND } },
    ] as unknown as ClaimLike[];
    assert.deepEqual(renderLauncherNetworks('[{"interface":"x"}]', "t", nameless), {
      value: '[{"interface":"x"}]',
      changed: false,
      missing: [],
    });
  });
});
