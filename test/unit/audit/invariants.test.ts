// The invariant checker's scoping and exact wording, on hand-written listings: which claims,
// records and VMs it looks at (namespace, pools in scope), and the full text of each problem it
// prints (kubectl vmnet check shows them as they are). test/unit/reliability/invariants.test.ts
// covers each kind of problem; this file pins the boundaries between them.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../../capabilities/api/ippool-v1alpha1";
import { findProblems, InvariantOptions, Snapshot } from "../../../capabilities/audit/invariants";
import type { KubeObject } from "../../../capabilities/k8s/client";

const NS = "t";
const OPTS: InvariantOptions = { namespace: NS, pools: ["p4"] };
const BOUND = [{ type: "Bound", status: "True", reason: "Allocated", message: "" }];

const pool = (name: string, cidr: string, allocated: number, extra: Record<string, unknown> = {}): IPPool =>
  ({ metadata: { name }, spec: { cidr, networks: [`${NS}/vlan100`], ...extra }, status: { allocated } }) as unknown as IPPool;

function claim(vm: string, spec: Record<string, unknown>, status: Record<string, unknown>, ns = NS): IPClaim {
  return {
    metadata: { name: `${vm}.ovs1`, namespace: ns, uid: `uid-${vm}` },
    spec: { vm, interface: "ovs1", network: `${NS}/vlan100`, ...spec },
    status: { conditions: BOUND, ...status },
  } as unknown as IPClaim;
}

const record = (
  pool: string,
  address: string,
  claimName: string,
  name = `${pool}.${address.replace(/\./g, "-")}`,
  ns = NS,
  uid?: string,
): IPAllocation =>
  ({ metadata: { name }, spec: { pool, address, claimRef: { namespace: ns, name: claimName, ...(uid ? { uid } : {}) } } }) as IPAllocation;

function vm(name: string, network = "vlan100", ns = NS): KubeObject {
  return {
    metadata: { name, namespace: ns },
    spec: {
      template: {
        spec: {
          domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } },
          networks: [{ name: "ovs1", multus: { networkName: network } }],
        },
      },
    },
  };
}

/** VM a in t on p4 (10.1.0.0/24, no gateway), with its claim and record. */
function clean(): Snapshot {
  return {
    pools: [pool("p4", "10.1.0.0/24", 1)],
    claims: [claim("a", { pools: ["p4"] }, { addresses: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17" })],
    allocations: [record("p4", "10.1.0.23", "a.ovs1")],
    vms: [vm("a")],
  };
}

const problems = (s: Snapshot, opts: InvariantOptions = OPTS): string[] => findProblems(s, opts).problems;

describe("invariant checker: scope and wording (audit/findProblems)", () => {
  it("a clean listing, and the counts it reports", () => {
    assert.deepEqual(findProblems(clean(), { ...OPTS, expectBound: 1 }), { claims: 1, bound: 1, allocations: 1, problems: [] });
  });

  it("a claim naming only spec.pool (no spec.pools) is checked against that pool", () => {
    const s = clean();
    s.claims[0] = claim("a", { pool: "p4" }, { addresses: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17" });
    assert.deepEqual(problems(s), []);
    s.claims[0] = claim("a", { pool: "p4" }, { addresses: ["10.1.0.23/24", "10.1.0.24/24"], mac: "02:00:0a:01:00:17" });
    assert.deepEqual(problems(s), [
      "outside: t/a.ovs1 shows 10.1.0.24/24, inside none of its pools' CIDRs (p4=10.1.0.0/24)",
      "empty: t/a.ovs1 is Bound with 2 address(es) for 1 pool(s) (p4)",
    ]);
  });

  it("names an unlisted pool in the outside problem", () => {
    const s = clean();
    s.claims[0] = claim("a", { pools: ["p4", "gone"] }, { addresses: ["10.1.0.23/24", "10.9.0.1/24"], mac: "02:00:0a:01:00:17" });
    assert.ok(
      problems(s).includes("outside: t/a.ovs1 shows 10.9.0.1/24, inside none of its pools' CIDRs (p4=10.1.0.0/24, gone=not listed)"),
      problems(s).join("\n"),
    );
  });

  it("claims of pools out of scope, and Bound claims of other namespaces, are not checked as the namespace's own", () => {
    const s = clean();
    s.claims.push(claim("x", { pools: ["other"] }, { addresses: [], mac: "" })); // out of scope: would be "empty"
    s.claims.push(claim("y", { pools: ["p4"] }, { addresses: ["10.1.0.30/24"], mac: "" }, "elsewhere")); // no MAC, no VM: not this namespace's
    s.allocations.push(record("p4", "10.1.0.30", "y.ovs1", undefined, "elsewhere"));
    s.pools[0].status!.allocated = 2;
    assert.deepEqual(problems(s), []);
    const r = findProblems(s, OPTS);
    assert.deepEqual([r.claims, r.bound, r.allocations], [2, 2, 2]);
  });

  it("a Bound claim naming no pool is reported as unpooled (no record can back it); a pending one, or another namespace's, is not", () => {
    const s = clean();
    s.claims.push(claim("b", {}, { addresses: ["10.1.0.40/24", "fd00:1::28/64"], mac: "02:00:0a:01:00:28" }));
    s.claims.push(claim("c", { pool: "", pools: [] }, { addresses: [], mac: "" }));
    s.claims.push(claim("d", {}, { conditions: [{ type: "Bound", status: "False", reason: "NetworkNotReady" }] }));
    s.claims.push(claim("e", {}, { addresses: ["10.1.0.41/24"], mac: "02:00:0a:01:00:29" }, "elsewhere"));
    s.vms.push(vm("b", "vlan900"), vm("c", "vlan900"), vm("d", "vlan900"));
    assert.deepEqual(problems(s), [
      "unpooled: t/b.ovs1 is Bound showing 10.1.0.40/24,fd00:1::28/64 but names no pool, so no IPAllocation backs it",
      "unpooled: t/c.ovs1 is Bound showing no address but names no pool, so no IPAllocation backs it",
    ]);
    assert.deepEqual(problems(s, { namespace: "elsewhere", pools: [] }), [
      "unpooled: elsewhere/e.ovs1 is Bound showing 10.1.0.41/24 but names no pool, so no IPAllocation backs it",
    ]);
  });

  it("a VM NIC on a network served only by a pool out of scope is not missing; a namespaced network name counts", () => {
    const s = clean();
    s.pools.push(pool("other", "10.5.0.0/24", 0, { networks: [`${NS}/vlan500`] }));
    s.vms.push(vm("b", "vlan500"));
    assert.deepEqual(problems(s), []);
    s.vms.push(vm("c", `${NS}/vlan100`));
    assert.deepEqual(problems(s), [`missing: VM t/c NIC ovs1 on t/vlan100 (pool p4) has no IPClaim c.ovs1`]);
    const pending = claim("c", { pools: ["p4"] }, { conditions: [{ type: "Bound", status: "False", reason: "Exhausted" }] });
    s.claims.push(pending);
    assert.deepEqual(problems(s), [`missing: t/c.ovs1 is not Bound ([{"type":"Bound","status":"False","reason":"Exhausted"}])`]);
  });

  it("wording of the per-claim problems", () => {
    const s = clean();
    s.claims[0] = claim("a", { pools: ["p4"] }, { addresses: [], mac: "" });
    s.allocations = [];
    s.pools[0].status!.allocated = 0;
    assert.deepEqual(problems(s), ["empty: t/a.ovs1 is Bound with no address", "empty: t/a.ovs1 is Bound with no MAC"]);
    const t = clean();
    t.claims[0] = claim("a", { pools: ["p4"] }, { addresses: ["10.1.0.23/24"], mac: "02:00:0a:01:00:18" });
    assert.deepEqual(problems(t), ["mac: t/a.ovs1 shows MAC 02:00:0a:01:00:18 for 10.1.0.23/24, expected 02:00:0a:01:00:17"]);
    t.vms = [];
    assert.deepEqual(problems(t), [
      "mac: t/a.ovs1 shows MAC 02:00:0a:01:00:18 for 10.1.0.23/24, expected 02:00:0a:01:00:17",
      "orphan: t/a.ovs1 is Bound but its VM a is gone",
    ]);
  });

  it("gateway: the pool's must be shown; a wrong or invented one is reported", () => {
    const s = clean();
    s.pools[0] = pool("p4", "10.1.0.0/24", 1, { gateway: "10.1.0.1" });
    s.claims[0].status!.gateway = "10.1.0.1";
    assert.deepEqual(problems(s), []);
    s.claims[0].status!.gateway = "10.1.0.254";
    assert.deepEqual(problems(s), ["gateway: t/a.ovs1 shows gateway 10.1.0.254, its pool's is 10.1.0.1"]);
    delete s.claims[0].status!.gateway;
    assert.deepEqual(problems(s), ["gateway: t/a.ovs1 shows gateway undefined, its pool's is 10.1.0.1"]);
    const t = clean();
    t.claims[0].status!.gateway = "10.1.0.1";
    assert.deepEqual(problems(t), ["gateway: t/a.ovs1 shows gateway 10.1.0.1, its pools have none"]);
  });

  it("records: pool mismatch, a record of a pool not listed, leak wording with no address shown", () => {
    const s = clean();
    s.allocations[0] = {
      ...record("p4", "10.1.0.23", "a.ovs1"),
      spec: { pool: "q4", address: "10.1.0.23", claimRef: { namespace: NS, name: "a.ovs1" } },
    } as IPAllocation;
    const out = problems({ ...s, pools: [...s.pools] }, { namespace: NS, pools: ["p4", "q4"] });
    assert.ok(
      out.includes("mismatch: IPAllocation p4.10-1-0-23 of p4/10.1.0.23 (t/a.ovs1) says pool q4 address 10.1.0.23"),
      out.join("\n"),
    );
    assert.ok(out.includes("mismatch: IPAllocation p4.10-1-0-23 says q4/10.1.0.23, which names q4.10-1-0-23"), out.join("\n"));
    assert.ok(out.includes("count: pool q4 is not listed"), out.join("\n"));
    assert.ok(!out.some(p => p.startsWith("reserved:")), "no reserved check against a pool that is not listed");

    const t = clean();
    t.claims[0] = claim("a", { pools: ["p4"] }, { addresses: ["10.2.0.1/24"], mac: "02:00:0a:02:00:01" });
    assert.ok(problems(t).includes("leak: p4/10.1.0.23 recorded for t/a.ovs1, which shows no address"), problems(t).join("\n"));

    const u = clean(); // dual-stack: the leak names every address the claim shows
    u.pools.push(pool("p6", "fd00:1::/64", 0));
    u.claims[0] = claim("a", { pools: ["p4", "p6"] }, { addresses: ["10.1.0.24/24", "fd00:1::17/64"], mac: "02:00:0a:01:00:18" });
    const leak = problems(u, { namespace: NS, pools: ["p4", "p6"] });
    assert.ok(leak.includes("leak: p4/10.1.0.23 recorded for t/a.ovs1, which shows p4/10.1.0.24,p6/fd00:1::17"), leak.join("\n"));
  });

  it("a record whose address no pool may hand out, and a record with a name no pool and address give", () => {
    const s = clean();
    s.allocations.push(record("p4", "10.1.0.255", "ghost.ovs1"));
    s.pools[0].status!.allocated = 2;
    assert.deepEqual(problems(s), [
      "reserved: IPAllocation p4.10-1-0-255 records p4/10.1.0.255, which is the broadcast address of 10.1.0.0/24 of pool p4",
      "leak: p4/10.1.0.255 recorded for missing (or not Bound) claim t/ghost.ovs1",
    ]);
    const t = clean();
    t.allocations[0] = {
      ...t.allocations[0],
      spec: { pool: "p4", address: "not-an-ip", claimRef: { namespace: NS, name: "a.ovs1" } },
    } as IPAllocation;
    assert.ok(problems(t).includes("mismatch: IPAllocation p4.10-1-0-23 says p4/not-an-ip, which names no record"), problems(t).join("\n"));
  });

  it("one MAC twice in a pool is reported once per later claim; one claim's own MAC is not a duplicate", () => {
    const s = clean();
    s.vms.push(vm("b"));
    s.claims.push(claim("b", { pools: ["p4"] }, { addresses: ["10.1.0.24/24"], mac: "02:00:0a:01:00:17" }));
    s.allocations.push(record("p4", "10.1.0.24", "b.ovs1"));
    s.pools[0].status!.allocated = 2;
    assert.deepEqual(problems(s), [
      "mac: t/b.ovs1 shows MAC 02:00:0a:01:00:17 for 10.1.0.24/24, expected 02:00:0a:01:00:18",
      "duplicate: MAC 02:00:0a:01:00:17 in pool p4 shown by t/a.ovs1 and t/b.ovs1",
    ]);
  });

  it("a stale record: same claim name, another uid; a record without uid is not stale", () => {
    const s = clean();
    s.allocations[0] = record("p4", "10.1.0.23", "a.ovs1", undefined, NS, "uid-old");
    assert.deepEqual(problems(s), ["stale: p4/10.1.0.23 is recorded for an earlier t/a.ovs1 (uid uid-old, now uid-a)"]);
    s.allocations[0] = record("p4", "10.1.0.23", "a.ovs1", undefined, NS, "uid-a");
    assert.deepEqual(problems(s), []);
  });

  it("expected count and pool count wording", () => {
    assert.deepEqual(problems(clean(), { ...OPTS, expectBound: 2 }), ["expected: 2 bound claims in t, found 1 (of 1 listed)"]);
    const s = clean();
    s.pools[0].status = {} as IPPool["status"];
    assert.deepEqual(problems(s), ["count: pool p4 says allocated=undefined, records say 1"]);
  });

  it("the MAC a VM pins is read from the claim's own NIC, not from another NIC of the VM", () => {
    // DESIGN: a NIC with spec macAddress keeps it; a NIC without one gets the MAC derived from its address.
    const s = clean();
    const twoNics = (pinned: string): KubeObject => ({
      metadata: { name: "a", namespace: NS },
      spec: {
        template: {
          spec: {
            domain: {
              devices: {
                interfaces: [
                  { name: "ovs0", bridge: {}, macAddress: pinned },
                  { name: "ovs1", bridge: {} },
                ],
              },
            },
            networks: [
              { name: "ovs0", multus: { networkName: "vlan200" } },
              { name: "ovs1", multus: { networkName: "vlan100" } },
            ],
          },
        },
      },
    });
    s.vms = [twoNics("02:00:00:00:00:aa")];
    assert.deepEqual(problems(s), []);
    s.claims[0] = claim("a", { pools: ["p4"] }, { addresses: ["10.1.0.23/24"], mac: "02:00:00:00:00:aa" });
    assert.deepEqual(problems(s), ["mac: t/a.ovs1 shows MAC 02:00:00:00:00:aa for 10.1.0.23/24, expected 02:00:0a:01:00:17"]);
    // The VM no longer has the claim's NIC: its MAC is the one derived from the address.
    s.vms = [twoNics("02:00:00:00:00:aa")];
    (
      s.vms[0].spec as { template: { spec: { domain: { devices: { interfaces: unknown[] } } } } }
    ).template.spec.domain.devices.interfaces.pop();
    assert.ok(
      problems(s).includes("mac: t/a.ovs1 shows MAC 02:00:00:00:00:aa for 10.1.0.23/24, expected 02:00:0a:01:00:17"),
      problems(s).join("\n"),
    );
  });
});
