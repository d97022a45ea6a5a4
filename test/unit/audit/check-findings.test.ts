// `kubectl vmnet check`'s pure part: findings with advice, scoping by namespace, deduplication
// across namespaces, and which records --fix may delete. Listings are written by hand.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../../capabilities/api/ippool-v1alpha1";
import { ADVICE, checkSnapshot, safeFixes, toFinding } from "../../../capabilities/audit/check";
import type { Snapshot } from "../../../capabilities/audit/invariants";
import type { KubeObject } from "../../../capabilities/k8s/client";

const pool = (name: string, cidr: string, networks: string[], allocated: number): IPPool =>
  ({ metadata: { name }, spec: { cidr, networks }, status: { allocated } }) as unknown as IPPool;

function claim(ns: string, vm: string, pool: string, address: string, mac: string): IPClaim {
  return {
    metadata: { name: `${vm}.ovs1`, namespace: ns, uid: `uid-${ns}-${vm}` },
    spec: { vm, interface: "ovs1", network: `${ns}/vlan`, pool, pools: [pool] },
    status: { addresses: [address], mac, conditions: [{ type: "Bound", status: "True", reason: "Allocated", message: "" }] },
  } as unknown as IPClaim;
}

const record = (name: string, pool: string, address: string, ns: string, claimName: string): IPAllocation =>
  ({ metadata: { name, uid: `r-${name}` }, spec: { pool, address, claimRef: { namespace: ns, name: claimName } } }) as IPAllocation;

const vm = (ns: string, name: string): KubeObject => ({
  metadata: { name, namespace: ns },
  spec: {
    template: {
      spec: {
        domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } },
        networks: [{ name: "ovs1", multus: { networkName: "vlan" } }],
      },
    },
  },
});

/** Namespaces a and b, each with a pool of its own and one healthy VM. */
function listing(): Snapshot {
  return {
    pools: [pool("pa", "10.1.0.0/24", ["a/vlan"], 1), pool("pb", "10.2.0.0/24", ["b/vlan"], 1)],
    claims: [claim("a", "web", "pa", "10.1.0.5/24", "02:00:0a:01:00:05"), claim("b", "db", "pb", "10.2.0.5/24", "02:00:0a:02:00:05")],
    allocations: [record("pa.10-1-0-5", "pa", "10.1.0.5", "a", "web.ovs1"), record("pb.10-2-0-5", "pb", "10.2.0.5", "b", "db.ovs1")],
    vms: [vm("a", "web"), vm("b", "db")],
  };
}

describe("kubectl vmnet check findings and advice (audit/check)", () => {
  it("splits a problem into kind and message and adds the kind's advice", () => {
    assert.deepEqual(toFinding("leak: pa/10.1.0.9 recorded for missing claim a/x"), {
      kind: "leak",
      message: "pa/10.1.0.9 recorded for missing claim a/x",
      advice: ADVICE.leak,
    });
    assert.deepEqual(toFinding("novel: something"), { kind: "novel", message: "something", advice: "inspect the objects named" });
    assert.deepEqual(toFinding("no kind here"), { kind: "problem", message: "no kind here", advice: "inspect the objects named" });
    assert.deepEqual(toFinding(": starts with a colon"), {
      kind: "problem",
      message: ": starts with a colon",
      advice: "inspect the objects named",
    });
    for (const kind of [
      "missing",
      "empty",
      "orphan",
      "outside",
      "reserved",
      "duplicate",
      "mac",
      "gateway",
      "unpooled",
      "unrecorded",
      "mismatch",
      "stale",
      "leak",
      "count",
      "expected",
    ]) {
      assert.ok(ADVICE[kind] && ADVICE[kind].length > 10, kind);
    }
  });

  it("finds nothing in a healthy listing, scoped or not", () => {
    assert.deepEqual(checkSnapshot(listing(), {}), []);
    assert.deepEqual(checkSnapshot(listing(), { namespace: "a" }), []);
    assert.deepEqual(checkSnapshot(listing(), { namespace: "nobody" }), []);
    assert.deepEqual(checkSnapshot({ pools: [], claims: [], allocations: [], vms: [] }, {}), []);
  });

  it("reports each problem once across namespaces, and only the namespace's own when scoped", () => {
    const s = listing();
    s.vms = s.vms.filter(v => v.metadata?.name !== "db"); // b/db.ovs1 is an orphan now
    s.allocations.push(record("pa.10-1-0-9", "pa", "10.1.0.9", "a", "ghost.ovs1")); // a leak in pa
    const all = checkSnapshot(s, {});
    assert.deepEqual(all.map(f => f.kind).sort(), ["count", "leak", "orphan"]);
    assert.equal(all.filter(f => f.kind === "leak").length, 1, "a record problem is not repeated per namespace");
    const inA = checkSnapshot(s, { namespace: "a" });
    assert.deepEqual(inA.map(f => f.kind).sort(), ["count", "leak"]);
    assert.ok(
      inA.every(f => !f.message.includes("b/db")),
      JSON.stringify(inA),
    );
    const inB = checkSnapshot(s, { namespace: "b" });
    assert.deepEqual(
      inB.map(f => `${f.kind}: ${f.message}`),
      ["orphan: b/db.ovs1 is Bound but its VM db is gone"],
    );
  });

  it("a scoped check covers the pools its claims name even when no network of the namespace is served by them", () => {
    const s = listing();
    s.pools[1] = pool("pb", "10.2.0.0/24", ["elsewhere/vlan"], 2); // count drift on a pool b's claim names
    const inB = checkSnapshot(s, { namespace: "b" });
    assert.deepEqual(
      inB.map(f => f.kind),
      ["count"],
    );
    assert.match(inB[0].message, /pool pb says allocated=2, records say 1/);
    assert.deepEqual(checkSnapshot(s, { namespace: "a" }), []);
  });

  it("a Bound claim naming no pool, in a namespace no pool serves, is found scoped and unscoped, once, with its advice", () => {
    const s = listing();
    const stray = claim("c", "app", "", "10.1.0.7/24", "02:00:0a:01:00:07");
    stray.spec = { vm: "app", interface: "ovs1", network: "c/vlan" };
    s.claims.push(stray);
    s.vms.push(vm("c", "app"));
    const want = [
      {
        kind: "unpooled",
        message: "c/app.ovs1 is Bound showing 10.1.0.7/24 but names no pool, so no IPAllocation backs it",
        advice: ADVICE.unpooled,
      },
    ];
    assert.deepEqual(checkSnapshot(s, { namespace: "c" }), want);
    assert.deepEqual(checkSnapshot(s, {}), want);
    assert.deepEqual(checkSnapshot(s, { namespace: "a" }), []);
  });

  it("--fix deletes only records whose claim does not exist at all, within the scope", () => {
    const s = listing();
    s.allocations.push(record("pa.10-1-0-9", "pa", "10.1.0.9", "a", "ghost.ovs1"));
    s.allocations.push(record("pb.10-2-0-9", "pb", "10.2.0.9", "b", "ghost.ovs1"));
    s.allocations.push(record("pa.10-1-0-10", "pa", "10.1.0.10", "a", "web.ovs1")); // claim exists (mid-rebind?): left alone
    s.allocations.push({ metadata: { name: "no-ref" }, spec: { pool: "pa", address: "10.1.0.11" } } as unknown as IPAllocation);
    assert.deepEqual(
      safeFixes(s, {}).map(r => r.metadata?.name),
      ["pa.10-1-0-9", "pb.10-2-0-9"],
    );
    assert.deepEqual(
      safeFixes(s, { namespace: "a" }).map(r => r.metadata?.name),
      ["pa.10-1-0-9"],
    );
    assert.deepEqual(safeFixes(s, { namespace: "c" }), []);
  });
});
