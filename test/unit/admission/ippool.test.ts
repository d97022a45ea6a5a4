import assert from "node:assert/strict";
import { validatePool, validatePoolDelete } from "../../../capabilities/admission/rules";
import {
  OVS_READY,
  VLAN100_POOL,
  VLAN100_POOL6,
  assertDenied,
  assertNoDenials,
  assertWarned,
  nad,
  pool,
  snapshot,
  tenantWorld,
} from "./fixtures";

const snap = snapshot(tenantWorld());
const spec = (extra: Record<string, unknown>): Record<string, unknown> => ({
  cidr: "10.100.0.0/24",
  networks: ["tenant-a/vlan100"],
  ...extra,
});
const held = (
  address: string,
  vm = "web-1",
  iface = "ovs1",
  namespace = "tenant-a",
): { pool: string; address: string; namespace: string; claim: string; vm: string } => ({
  pool: "tenant-a-vlan100",
  address,
  namespace,
  claim: `${vm}.${iface}`,
  vm,
});

describe("validatePool", () => {
  it("accepts the pools of the design (IPv4 with ranges, exclusions and gateway; IPv6 /64)", () => {
    assert.deepEqual(validatePool(VLAN100_POOL, snap), { denials: [], warnings: [] });
    assert.deepEqual(validatePool(VLAN100_POOL6, snap), { denials: [], warnings: [] });
  });

  it("refuses a missing spec and a bad or non-canonical CIDR", () => {
    assertDenied(validatePool({ metadata: { name: "p" } }, snap), "spec", "cidr");
    assertDenied(validatePool(pool("p", { cidr: "10.100.0.0/33" }), snap), "spec.cidr", '"10.100.0.0/33"', "invalid prefix length");
    assertDenied(
      validatePool(pool("p", { cidr: "10.100.0.7/24" }), snap),
      "spec.cidr",
      '"10.100.0.7/24"',
      "host bits set",
      "write 10.100.0.0/24",
    );
    assertDenied(validatePool(pool("p", { cidr: "FD00:100::/64" }), snap), "spec.cidr", "fd00:100::/64");
  });

  it("refuses ranges outside the CIDR, malformed, reversed or of mixed family", () => {
    const r = validatePool(
      pool("p", { cidr: "10.9.0.0/24", ranges: ["10.9.0.10-10.9.1.5", "10.9.0.x", "10.9.0.20-10.9.0.10", "10.9.0.1-fd00::1", "a-b-c"] }),
      snap,
    );
    assertDenied(r, "spec.ranges[0]", '"10.9.0.10-10.9.1.5"', "reaches outside spec.cidr 10.9.0.0/24");
    assertDenied(r, "spec.ranges[1]", '"10.9.0.x"', "two joined by '-'");
    assertDenied(r, "spec.ranges[2]", '"10.9.0.20-10.9.0.10"', "10.9.0.10-10.9.0.20");
    assertDenied(r, "spec.ranges[3]", '"10.9.0.1-fd00::1"', "is IPv6 but spec.cidr 10.9.0.0/24 is IPv4");
    assertDenied(r, "spec.ranges[4]", '"a-b-c"', "not an address or a range");
  });

  it("refuses exclusions outside the CIDR or malformed", () => {
    const r = validatePool(pool("p", { cidr: "10.9.0.0/24", exclude: ["10.9.1.1", "10.9.0.0/16", "nope"] }), snap);
    assertDenied(r, "spec.exclude[0]", '"10.9.1.1"', "not inside spec.cidr");
    assertDenied(r, "spec.exclude[1]", '"10.9.0.0/16"', "not inside spec.cidr");
    assertDenied(r, "spec.exclude[2]", '"nope"', "neither an address nor a CIDR");
  });

  it("warns when nothing routes through the gateway: no defaultRoute and no NAD static IPAM route naming it", () => {
    const bare = pool("p", { cidr: "10.9.0.0/24", gateway: "10.9.0.1", networks: ["tenant-a/vlan100"] });
    assertWarned(
      validatePool(bare, snap),
      "spec.gateway",
      '"10.9.0.1"',
      "nothing routes through it",
      "spec.defaultRoute: true",
      "tenant-a/vlan100",
    );
    assert.deepEqual(gatewayWarnings(validatePool(pool("p", { ...bare.spec, defaultRoute: true }), snap)), []);
    const routes = { type: "static", routes: [{ dst: "10.250.0.0/16", gw: "10.9.0.1" }] };
    const routed = snapshot({
      ...tenantWorld(),
      nads: [nad("tenant-a", "vlan100", JSON.stringify({ ...(JSON.parse(OVS_READY) as object), ipam: routes }))],
    });
    assert.deepEqual(gatewayWarnings(validatePool(bare, routed)), []);
    // No gateway: nothing to route through, nothing to warn about.
    assert.deepEqual(gatewayWarnings(validatePool(pool("p", { cidr: "10.9.0.0/24", networks: ["tenant-a/vlan100"] }), snap)), []);
  });

  it("refuses a gateway outside the CIDR, malformed, or inside a range (naming the range)", () => {
    assertDenied(
      validatePool(pool("p", { cidr: "10.9.0.0/24", gateway: "10.8.0.1" }), snap),
      "spec.gateway",
      '"10.8.0.1"',
      "outside spec.cidr",
    );
    assertDenied(validatePool(pool("p", { cidr: "10.9.0.0/24", gateway: "gw" }), snap), "spec.gateway", '"gw"', "not an IP address");
    const r = validatePool(
      pool("p", { cidr: "10.9.0.0/24", gateway: "10.9.0.1", ranges: ["10.9.0.100-10.9.0.200", "10.9.0.1-10.9.0.50"] }),
      snap,
    );
    assertDenied(r, "spec.gateway", '"10.9.0.1"', 'spec.ranges[1] "10.9.0.1-10.9.0.50"', "split the range");
    assert.equal(r.denials.length, 1);
  });

  it("refuses malformed and duplicate networks", () => {
    const r = validatePool(pool("p", { cidr: "10.9.0.0/24", networks: ["vlan100", "Tenant/x", "tenant-a/x", "tenant-a/x"] }), snap);
    assertDenied(r, "spec.networks[0]", '"vlan100"', '"namespace/name"');
    assertDenied(r, "spec.networks[1]", '"Tenant/x"', "DNS-1123");
    assertDenied(r, "spec.networks[3]", '"tenant-a/x"', "listed twice");
  });

  it("refuses a second pool of the same family on a shared network that overlaps the first, naming it", () => {
    const r = validatePool(pool("other", spec({ cidr: "10.100.0.128/25" })), snap);
    assertDenied(
      r,
      "spec.networks[0]",
      '"tenant-a/vlan100"',
      'IPv4 IPPool "tenant-a-vlan100"',
      "overlapping this pool's 10.100.0.128/25",
      "must not overlap",
    );
  });

  it("accepts a disjoint second pool on a shared network, warning while neither is its default", () => {
    const apart = validatePool(pool("other", spec({ cidr: "10.111.0.0/24" })), snap);
    assertNoDenials(apart);
    assertWarned(apart, "spec.networks[0]", 'IPv4 IPPool "tenant-a-vlan100"', "none of them is marked default", "vmnet.io/pools");
    const marked = validatePool(pool("other", spec({ cidr: "10.111.0.0/24", default: true })), snap);
    assert.deepEqual([marked.denials, marked.warnings], [[], []]);
  });

  it("refuses a second default pool of one family for a network, not one of the other family", () => {
    const first = pool("first", spec({ cidr: "10.111.0.0/24", default: true }));
    const r = validatePool(pool("second", spec({ cidr: "10.112.0.0/24", default: true })), snapshot({ pools: [first] }));
    assertDenied(
      r,
      "spec.default",
      'network "tenant-a/vlan100" already has a default IPv4 pool, IPPool "first"',
      "remove spec.default from one of them",
    );
    assertNoDenials(validatePool(pool("v6", spec({ cidr: "fd00:200::/64", default: true })), snapshot({ pools: [first] })));
  });

  it("accepts a pool of the other family on the same network, and the pool itself on update", () => {
    assertNoDenials(validatePool(pool("v6", spec({ cidr: "fd00:200::/64" })), snapshot({ pools: [VLAN100_POOL] })));
    assertNoDenials(validatePool(VLAN100_POOL, snap, VLAN100_POOL));
  });

  it("refuses malformed namespace selectors", () => {
    const r = validatePool(
      pool("p", {
        cidr: "10.9.0.0/24",
        namespaceSelector: {
          matchLabels: { tenant: 5 },
          matchExpressions: [
            { key: "a", operator: "In" },
            { key: "b", operator: "Exists", values: ["x"] },
            { key: "c", operator: "Gt", values: ["1"] },
          ],
        },
      }),
      snap,
    );
    assertDenied(r, "spec.namespaceSelector.matchLabels.tenant", "5", "must be a string");
    assertDenied(r, "spec.namespaceSelector.matchExpressions[0].values", "needs at least one value");
    assertDenied(r, "spec.namespaceSelector.matchExpressions[1].values", '["x"]', "takes no values");
    assertDenied(r, "spec.namespaceSelector.matchExpressions[2].operator", '"Gt"');
  });

  describe("updates with allocated addresses", () => {
    const world = snapshot(tenantWorld({ allocations: [held("10.100.0.23"), held("10.100.0.150", "db-1", "ovs2", "tenant-b")] }));
    const updated = (extra: Record<string, unknown>): ReturnType<typeof pool> =>
      pool("tenant-a-vlan100", { ...VLAN100_POOL.spec, ...extra });

    it("refuses changing the CIDR", () => {
      assertDenied(validatePool(updated({ cidr: "10.100.0.0/23" }), world, VLAN100_POOL), "spec.cidr", "immutable", '"10.100.0.0/24"');
    });

    it("refuses shrinking a range under an allocated address, naming the holder", () => {
      const r = validatePool(updated({ ranges: ["10.100.0.10-10.100.0.100"] }), world, VLAN100_POOL);
      assertDenied(r, "spec.ranges", "10.100.0.150", "VM tenant-b/db-1", 'interface "ovs2"', "outside the pool's ranges");
      assert.equal(r.denials.length, 1);
    });

    it("refuses excluding an allocated address, naming the holder and the exclusion", () => {
      const r = validatePool(updated({ exclude: ["10.100.0.50", "10.100.0.64/28", "10.100.0.16/28"] }), world, VLAN100_POOL);
      assertDenied(r, "spec.exclude[2]", "10.100.0.23", "VM tenant-a/web-1", 'interface "ovs1"', "spec.exclude[2] (10.100.0.16/28)");
    });

    it("refuses making an allocated address the gateway", () => {
      const r = validatePool(updated({ gateway: "10.100.0.23", ranges: undefined }), world, VLAN100_POOL);
      assertDenied(r, "spec.gateway", "10.100.0.23", "VM tenant-a/web-1", "gateway");
    });

    it("names at most ten holders and counts the rest", () => {
      const many = Array.from({ length: 25 }, (_, i) => held(`10.100.0.${150 + i}`, `vm-${i}`));
      const r = validatePool(updated({ ranges: ["10.100.0.10-10.100.0.100"] }), snapshot(tenantWorld({ allocations: many })), VLAN100_POOL);
      assert.equal(r.denials.length, 11);
      assertDenied(r, "spec", "15 more allocated addresses");
    });

    it("warns when namespaces holding addresses are no longer selected", () => {
      const r = validatePool(updated({ namespaceSelector: { matchLabels: { tenant: "a" } } }), world, VLAN100_POOL);
      assertNoDenials(r);
      assertWarned(r, "spec.namespaceSelector", "tenant-b", "keep their addresses");
    });

    it("does not block an update for a problem the old pool already had", () => {
      const old = pool("legacy", { cidr: "10.9.0.0/24", gateway: "10.9.0.1", ranges: ["10.9.0.1-10.9.0.50"] });
      const next = pool("legacy", { ...old.spec, reclaimPolicy: "Retain" });
      const r = validatePool(next, snap, old);
      assertNoDenials(r);
      assertWarned(r, "spec.gateway", "already so before this update");
    });
  });
});

describe("validatePoolDelete", () => {
  it("allows deleting an empty pool", () => {
    assert.deepEqual(validatePoolDelete(VLAN100_POOL, snap), { denials: [], warnings: [] });
  });

  it("refuses deleting a pool with allocations, with the count and how to drain it", () => {
    const world = snapshot(tenantWorld({ allocations: [held("10.100.0.23"), held("10.100.0.24", "web-2")] }));
    const d = assertDenied(
      validatePoolDelete(VLAN100_POOL, world),
      "status.allocated",
      '"tenant-a-vlan100"',
      "2 allocated addresses",
      "VM tenant-a/web-1",
      "tenant-a/vlan100",
      "Retain",
      "drain",
    );
    assert.equal(d.value, 2);
  });
});

/** The gateway warnings alone (a pool on a network another pool serves also gets the default-marker warning). */
function gatewayWarnings(r: { warnings: { field: string }[] }): { field: string }[] {
  return r.warnings.filter(w => w.field === "spec.gateway");
}
