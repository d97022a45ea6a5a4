// The invariant checker's rules on hand-made listings (fast; the same kinds are planted through
// the real API server in test/reliability/invariants.test.ts). Expected addresses and MACs are
// written out by hand from DESIGN.md, not computed.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../../capabilities/api/ippool-v1alpha1";
import { KubeObject } from "../../../capabilities/k8s/client";
import { findProblems, InvariantOptions, Snapshot } from "../../reliability/invariants";

const NS = "t";
const OPTS: InvariantOptions = { namespace: NS, pools: ["p4", "p6", "q4"] };

function pool(name: string, spec: Record<string, unknown>, allocated: number): IPPool {
  return { metadata: { name }, spec, status: { allocated } } as unknown as IPPool;
}

function claim(vm: string, pools: string[], addresses: string[], mac: string, extra: Record<string, unknown> = {}): IPClaim {
  return {
    metadata: { name: `${vm}.ovs1`, namespace: NS, uid: `uid-${vm}` },
    spec: { vm, interface: "ovs1", network: `${NS}/vlan100`, pools },
    status: {
      addresses,
      mac,
      conditions: [{ type: "Bound", status: "True", reason: "Allocated", message: "", lastTransitionTime: new Date(0) }],
      ...extra,
    },
  } as unknown as IPClaim;
}

function record(name: string, pool: string, address: string, claimName: string, uid?: string): IPAllocation {
  return {
    metadata: { name },
    spec: { pool, address, claimRef: { namespace: NS, name: claimName, ...(uid ? { uid } : {}) } },
  } as IPAllocation;
}

function vm(name: string, network = "vlan100", macAddress?: string): KubeObject {
  return {
    metadata: { name, namespace: NS },
    spec: {
      template: {
        spec: {
          domain: { devices: { interfaces: [{ name: "ovs1", bridge: {}, ...(macAddress ? { macAddress } : {}) }] } },
          networks: [{ name: "ovs1", multus: { networkName: network } }],
        },
      },
    },
  };
}

/** A clean listing: a (single-stack) VM a on p4 with gateway, a dual-stack VM d on q4 + p6. */
function clean(): Snapshot {
  return {
    pools: [
      pool(
        "p4",
        {
          cidr: "10.1.0.0/24",
          gateway: "10.1.0.1",
          ranges: ["10.1.0.10-10.1.0.200"],
          exclude: ["10.1.0.50", "10.1.0.64/28"],
          networks: [`${NS}/vlan100`],
        },
        1,
      ),
      pool("q4", { cidr: "10.2.0.0/24", networks: [`${NS}/vlan200`] }, 1),
      pool("p6", { cidr: "fd00:1::/64", networks: [`${NS}/vlan200`] }, 1),
    ],
    claims: [
      claim("a", ["p4"], ["10.1.0.23/24"], "02:00:0a:01:00:17", { gateway: "10.1.0.1" }),
      // IPv6 first: matched by CIDR, and the MAC still comes from the IPv4 address.
      claim("d", ["q4", "p6"], ["fd00:1::17/64", "10.2.0.9/24"], "02:00:0a:02:00:09"),
    ],
    allocations: [
      record("p4.10-1-0-23", "p4", "10.1.0.23", "a.ovs1", "uid-a"),
      record("q4.10-2-0-9", "q4", "10.2.0.9", "d.ovs1"),
      record("p6.fd00-0001-0000-0000-0000-0000-0000-0017", "p6", "fd00:1::17", "d.ovs1"),
    ],
    vms: [vm("a"), vm("d", "vlan200")],
  };
}

const check = (s: Snapshot, opts: InvariantOptions = OPTS): string[] => findProblems(s, opts).problems;

function expectOne(s: Snapshot, kind: string, ...about: string[]): void {
  const problems = check(s);
  assert.ok(
    problems.some(p => p.startsWith(`${kind}:`) && about.every(a => p.includes(a))),
    `expected a "${kind}" problem about ${about.join(", ")}; got:\n${problems.join("\n") || "(none)"}`,
  );
}

const claimOf = (s: Snapshot, vmName: string): IPClaim => s.claims.find(c => c.spec?.vm === vmName)!;

describe("invariant checker rules (findProblems)", () => {
  it("finds nothing wrong in a clean listing, with the dual-stack addresses in the other order than the pools", () => {
    assert.deepEqual(check(clean()), []);
    const r = findProblems(clean(), { ...OPTS, expectBound: 2 });
    assert.deepEqual([r.claims, r.bound, r.allocations, r.problems], [2, 2, 3, []]);
  });

  it("reports a Bound claim with no address, and one with fewer addresses than pools", () => {
    const s = clean();
    claimOf(s, "a").status!.addresses = [];
    expectOne(s, "empty", "t/a.ovs1", "no address");
    claimOf(s, "d").status!.addresses = ["10.2.0.9/24"];
    expectOne(s, "empty", "t/d.ovs1", "1 address(es) for 2 pool(s)");
  });

  it("reports a Bound claim with no MAC", () => {
    const s = clean();
    delete claimOf(s, "a").status!.mac;
    expectOne(s, "empty", "t/a.ovs1", "no MAC");
  });

  it("reports a Bound claim whose VM is gone, but not while the VM is being deleted", () => {
    const s = clean();
    s.vms = s.vms.filter(v => v.metadata?.name !== "a");
    expectOne(s, "orphan", "t/a.ovs1");
    s.vms.push({ ...vm("a"), metadata: { name: "a", namespace: NS, deletionTimestamp: "2026-01-01T00:00:00Z" } });
    assert.deepEqual(check(s), []);
  });

  it("reports a VM's pool-backed bridge NIC without a claim, or with one not Bound", () => {
    const s = clean();
    s.vms.push(vm("b"));
    expectOne(s, "missing", "t/b", "ovs1", "no IPClaim b.ovs1");
    s.claims.push({
      ...claim("b", ["p4"], [], ""),
      status: { conditions: [{ type: "Bound", status: "False", reason: "Exhausted", message: "", lastTransitionTime: new Date(0) }] },
    } as unknown as IPClaim);
    expectOne(s, "missing", "t/b.ovs1", "not Bound");
  });

  it("ignores NICs on networks no checked pool serves, and masquerade NICs", () => {
    const s = clean();
    s.vms.push(vm("x", "other-net"));
    const masq = vm("m");
    (masq.spec as { template: { spec: { domain: { devices: { interfaces: object[] } } } } }).template.spec.domain.devices.interfaces = [
      { name: "ovs1", masquerade: {} },
    ];
    s.vms.push(masq);
    assert.deepEqual(check(s), []);
  });

  it("matches addresses to pools by CIDR: an address in none of the claim's pools is reported", () => {
    const s = clean();
    claimOf(s, "d").status!.addresses = ["fd00:1::17/64", "10.1.0.99/24"];
    expectOne(s, "outside", "t/d.ovs1", "10.1.0.99");
  });

  it("compares a record's spec with the claim's address, pool and name", () => {
    const s = clean();
    s.allocations[0] = record("p4.10-1-0-23", "p4", "10.1.0.24", "a.ovs1");
    expectOne(s, "mismatch", "p4.10-1-0-23", "10.1.0.24");
  });

  it("reports a record of another incarnation of the claim (uid) as stale", () => {
    const s = clean();
    s.allocations[0] = record("p4.10-1-0-23", "p4", "10.1.0.23", "a.ovs1", "uid-old");
    expectOne(s, "stale", "p4/10.1.0.23", "uid-old");
  });

  it("reports a shown address without its record, and a record for another claim", () => {
    const s = clean();
    s.allocations = s.allocations.slice(1);
    expectOne(s, "unrecorded", "t/a.ovs1", "p4/10.1.0.23");
    const t = clean();
    t.allocations[0] = record("p4.10-1-0-23", "p4", "10.1.0.23", "z.ovs1");
    expectOne(t, "stale", "p4/10.1.0.23", "t/z.ovs1");
  });

  it("reports one address shown by two claims, whatever its spelling", () => {
    const s = clean();
    s.vms.push(vm("e", "vlan200"));
    s.claims.push(claim("e", ["q4", "p6"], ["10.2.0.10/24", "FD00:1:0::17/64"], "02:00:0a:02:00:0a"));
    expectOne(s, "duplicate", "p6/", "t/d.ovs1", "t/e.ovs1");
  });

  it("reports one MAC shown by two claims of a pool", () => {
    const s = clean();
    s.vms.push(vm("b"));
    s.claims.push(claim("b", ["p4"], ["10.1.0.24/24"], "02:00:0a:01:00:17", { gateway: "10.1.0.1" }));
    s.allocations.push(record("p4.10-1-0-24", "p4", "10.1.0.24", "b.ovs1"));
    s.pools[0].status!.allocated = 2;
    expectOne(s, "duplicate", "MAC 02:00:0a:01:00:17", "t/a.ovs1", "t/b.ovs1");
  });

  for (const [address, why] of [
    ["10.1.0.1", "gateway"],
    ["10.1.0.50", "excluded"],
    ["10.1.0.70", "excluded"],
    ["10.1.0.5", "outside the ranges"],
  ]) {
    it(`reports ${address} handed out (${why})`, () => {
      const s = clean();
      const last = Number(address.split(".")[3]);
      claimOf(s, "a").status!.addresses = [`${address}/24`];
      claimOf(s, "a").status!.mac = `02:00:0a:01:00:${last.toString(16).padStart(2, "0")}`;
      s.allocations[0] = record(`p4.${address.replace(/\./g, "-")}`, "p4", address, "a.ovs1");
      expectOne(s, "reserved", "t/a.ovs1", address, why);
      expectOne(s, "reserved", `IPAllocation p4.${address.replace(/\./g, "-")}`, why);
    });
  }

  it("reports the network and broadcast addresses handed out, but not on a /31", () => {
    const s = clean();
    s.pools[1] = pool("q4", { cidr: "10.2.0.0/24", networks: [`${NS}/vlan200`] }, 1);
    claimOf(s, "d").status!.addresses = ["fd00:1::17/64", "10.2.0.255/24"];
    claimOf(s, "d").status!.mac = "02:00:0a:02:00:ff";
    s.allocations[1] = record("q4.10-2-0-255", "q4", "10.2.0.255", "d.ovs1");
    expectOne(s, "reserved", "10.2.0.255", "broadcast");
    s.pools[1] = pool("q4", { cidr: "10.2.0.254/31", networks: [`${NS}/vlan200`] }, 1);
    claimOf(s, "d").status!.addresses = ["fd00:1::17/64", "10.2.0.255/31"];
    assert.deepEqual(check(s), []);
  });

  it("reports a MAC not derived from the IPv4 address (not from the IPv6 one, not off by one)", () => {
    const s = clean();
    claimOf(s, "d").status!.mac = "0a:00:00:00:00:17";
    expectOne(s, "mac", "t/d.ovs1", "expected 02:00:0a:02:00:09");
    claimOf(s, "d").status!.mac = "02:00:0a:02:00:0a";
    expectOne(s, "mac", "t/d.ovs1");
  });

  it("takes the VM spec's macAddress as the expected MAC", () => {
    const s = clean();
    s.vms[0] = vm("a", "vlan100", "02:AA:BB:CC:DD:EE");
    expectOne(s, "mac", "t/a.ovs1", "expected 02:aa:bb:cc:dd:ee");
    claimOf(s, "a").status!.mac = "02:aa:bb:cc:dd:ee";
    assert.deepEqual(check(s), []);
  });

  it("reports a dropped or invented gateway", () => {
    const s = clean();
    delete claimOf(s, "a").status!.gateway;
    expectOne(s, "gateway", "t/a.ovs1", "10.1.0.1");
    const t = clean();
    claimOf(t, "d").status!.gateway = "10.2.0.1";
    expectOne(t, "gateway", "t/d.ovs1", "none");
  });

  it("reports a record for a missing claim, and one for a claim showing another address", () => {
    const s = clean();
    s.allocations.push(record("p4.10-1-0-180", "p4", "10.1.0.180", "ghost.ovs1"));
    expectOne(s, "leak", "p4/10.1.0.180", "t/ghost.ovs1");
    s.allocations.push(record("p4.10-1-0-181", "p4", "10.1.0.181", "a.ovs1"));
    expectOne(s, "leak", "p4/10.1.0.181", "t/a.ovs1", "p4/10.1.0.23");
    expectOne(s, "count", "p4", "allocated=1", "records say 3");
  });

  it("reports a record whose name is not the one its pool and address give", () => {
    const s = clean();
    s.allocations[0] = { ...s.allocations[0], metadata: { name: "p4.10-1-0-99" } };
    expectOne(s, "mismatch", "p4.10-1-0-99");
  });

  it("keeps a released claim's addresses held (reclaimPolicy Retain): no leak", () => {
    const s = clean();
    s.vms = s.vms.filter(v => v.metadata?.name !== "a");
    const a = claimOf(s, "a");
    a.status = {
      ...a.status,
      released: true,
      conditions: [{ type: "Bound", status: "False", reason: "Released", message: "", lastTransitionTime: new Date(0) }],
    } as IPClaim["status"];
    assert.deepEqual(check(s), []);
  });

  it("fails empty listings where objects are expected", () => {
    const empty: Snapshot = { claims: [], allocations: [], pools: [], vms: [] };
    const problems = check(empty, { namespace: NS, pools: ["p4"], expectBound: 2 });
    assert.ok(
      problems.some(p => p.startsWith("count:") && p.includes("p4 is not listed")),
      problems.join("\n"),
    );
    assert.ok(
      problems.some(p => p.startsWith("expected:") && p.includes("2 bound") && p.includes("found 0")),
      problems.join("\n"),
    );
  });

  it("reports a pool count that differs from its records", () => {
    const s = clean();
    s.pools[0].status!.allocated = 0;
    expectOne(s, "count", "p4", "allocated=0", "records say 1");
  });
});
