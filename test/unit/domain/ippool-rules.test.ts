// validatePool and validatePoolDelete at the edges the mutation run found unasserted. Oracles: the
// IPPool API (docs/design: cidr, ranges and exclude lists of strings, gateway a string, networks a
// list of "namespace/name"), Multus (static IPAM gets no gateway: a route via the pool's gateway
// comes from spec.defaultRoute or from a NAD's static "routes" naming it), DESIGN (pools of one
// family on one network do not overlap and at most one is its default; pools on networks sharing
// an Open vSwitch bridge and VLAN do not overlap; allocated addresses stay allocatable and a pool
// with allocations is not deleted; holders are named up to a bound, the rest counted), and the
// Finding contract (one denial per problem, at the field to fix).
import assert from "node:assert/strict";
import { validatePool, validatePoolDelete } from "../../../capabilities/admission/rules";
import type { ValidationResult } from "../../../capabilities/domain/findings";
import { nad, pool, snapshot, tenantWorld } from "../admission/fixtures";

type Held = { pool: string; address: string; namespace: string; claim: string; vm: string };
const held = (address: string, i: number, namespace = "tenant-a"): Held => ({
  pool: "p",
  address,
  namespace,
  claim: `web-${i}.ovs1`,
  vm: `web-${i}`,
});
const ROUTED = JSON.stringify({
  cniVersion: "0.4.0",
  type: "ovs",
  bridge: "br2",
  vlan: 200,
  ipam: { type: "static", routes: [{ dst: "0.0.0.0/0", gw: "10.200.0.1" }] },
  capabilities: { ips: true },
});
const UNROUTED = JSON.stringify({
  cniVersion: "0.4.0",
  type: "ovs",
  bridge: "br2",
  vlan: 201,
  ipam: { type: "static" },
  capabilities: { ips: true },
});
const world = (allocations: Held[] = [], extraPools: ReturnType<typeof pool>[] = []): ReturnType<typeof snapshot> =>
  snapshot(
    tenantWorld({
      nads: [nad("tenant-a", "vlan200", ROUTED), nad("tenant-a", "vlan201", UNROUTED), nad("tenant-b", "shared")],
      pools: extraPools,
      allocations,
    }),
  );
/** Pool "p", 10.200.0.0/24 on tenant-a/vlan200, its default route: no other rule speaks unless `extra` asks. */
const p = (extra: Record<string, unknown> = {}): ReturnType<typeof pool> =>
  pool("p", { cidr: "10.200.0.0/24", networks: ["tenant-a/vlan200"], defaultRoute: true, ...extra });
const fields = (r: ValidationResult): string[] => r.denials.map(d => d.field);
const show = (r: ValidationResult): string => JSON.stringify(r, null, 1);

describe("validatePool: shapes, one denial each", () => {
  it("ranges, exclude and networks that are not lists, and elements that are not strings", () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ranges: "x" }, "spec.ranges", /^"x" must be a list such as \["10\.100\.0\.10-10\.100\.0\.200"\]$/],
      [{ exclude: "x" }, "spec.exclude", /^"x" must be a list of addresses and CIDRs$/],
      [{ ranges: [5] }, "spec.ranges[0]", /^range 5 must be a string such as "10\.100\.0\.10-10\.100\.0\.200"$/],
      [
        { exclude: ["10.200.0.9", 5] },
        "spec.exclude[1]",
        /^exclusion 5 must be a string such as "10\.100\.0\.50" or "10\.100\.0\.64\/28"$/,
      ],
      [{ networks: "x" }, "spec.networks", /^"x" must be a list of "namespace\/name" network references$/],
      [{ gateway: 5 }, "spec.gateway", /^gateway 5 must be a string such as "10\.100\.0\.1"$/],
      [{ gateway: {} }, "spec.gateway", /^gateway \{\} must be a string such as "10\.100\.0\.1"$/],
    ];
    for (const [extra, field, message] of cases) {
      const r = validatePool(p(extra), world());
      assert.deepEqual(fields(r), [field], `${JSON.stringify(extra)}: ${show(r)}`);
      assert.match(r.denials[0].message, message);
    }
  });

  it("a CIDR that does not parse gets the example of a subnet", () => {
    const r = validatePool(p({ cidr: "banana" }), world());
    assert.match(r.denials[0].message, /; write the subnet such as 10\.100\.0\.0\/24 or fd00:100::\/64$/);
  });

  it("an exclusion or gateway the layout refused is not refused a second time", () => {
    const wrongFamily = validatePool(p({ exclude: ["fd00::5"] }), world());
    assert.deepEqual(fields(wrongFamily), ["spec.exclude[0]"], show(wrongFamily));
    const outside = validatePool(p({ gateway: "10.9.0.1", ranges: ["10.9.0.0-10.9.0.10"] }), world());
    assert.deepEqual(fields(outside).sort(), ["spec.gateway", "spec.ranges[0]"], show(outside));
  });
});

describe("validatePool: a pool that holds one or two addresses, or none", () => {
  // pool-layout serves a /31, /32, /127 and /128 whole (no network or broadcast address, RFC 3021).
  const at = (extra: Record<string, unknown>): ValidationResult => validatePool(p(extra), world());
  const findings = (r: ValidationResult): string[][] => [
    ...r.denials.map(d => ["deny", d.field, d.message]),
    ...r.warnings.map(w => ["warn", w.field, w.message]),
  ];
  const pointToPoint = (cidr: string, n: number): string[] => [
    "warn",
    "spec.cidr",
    `spec.cidr "${cidr}" is a /${cidr.split("/")[1]}, a point-to-point subnet: the pool holds ${n} address${n === 1 ? "" : "es"} and so serves ${n === 1 ? "one NIC" : `${n} NICs`} at most; use a wider CIDR (spec.ranges can narrow what is handed out) unless that is meant`,
  ];
  const empty = (cidr: string, by: string, s = "s"): string[] => [
    "deny",
    "spec.cidr",
    `spec.cidr "${cidr}" leaves this pool no address to hand out: ${by} take${s} out every address of its ranges; widen spec.cidr or spec.ranges, or reserve less`,
  ];

  it("a /32, /31, /128 or /127 is admitted with a warning at spec.cidr saying how many NICs it serves", () => {
    assert.deepEqual(findings(at({ cidr: "10.200.0.5/32" })), [pointToPoint("10.200.0.5/32", 1)]);
    assert.deepEqual(findings(at({ cidr: "10.200.0.4/31" })), [pointToPoint("10.200.0.4/31", 2)]);
    assert.deepEqual(findings(at({ cidr: "10.200.0.4/31", gateway: "10.200.0.4" })), [pointToPoint("10.200.0.4/31", 1)]);
    assert.deepEqual(findings(at({ cidr: "fd00:200::5/128" })), [pointToPoint("fd00:200::5/128", 1)]);
    assert.deepEqual(findings(at({ cidr: "fd00:200::4/127" })), [pointToPoint("fd00:200::4/127", 2)]);
    assert.deepEqual(findings(at({ cidr: "10.200.0.0/30" })), [], "a /30 keeps network and broadcast and serves two");
    assert.deepEqual(findings(at({ cidr: "fd00:200::/126" })), []);
  });

  it("a pool whose reservations take out every address is refused at spec.cidr, naming the fields that do", () => {
    assert.deepEqual(findings(at({ cidr: "10.200.0.5/32", gateway: "10.200.0.5" })), [empty("10.200.0.5/32", "spec.gateway")]);
    assert.deepEqual(findings(at({ cidr: "fd00:200::4/127", exclude: ["fd00:200::4/127"] })), [
      empty("fd00:200::4/127", "spec.exclude[0]"),
    ]);
    assert.deepEqual(findings(at({ cidr: "10.200.0.0/30", gateway: "10.200.0.1", exclude: ["10.200.0.2"] })), [
      empty("10.200.0.0/30", "spec.gateway, spec.cidr and spec.exclude[0]", ""),
    ]);
    // Reservations outside spec.ranges (the gateway, network and broadcast here) are not named.
    assert.deepEqual(findings(at({ cidr: "10.200.0.0/24", gateway: "10.200.0.1", ranges: ["10.200.0.10"], exclude: ["10.200.0.10"] })), [
      empty("10.200.0.0/24", "spec.exclude[0]"),
    ]);
  });

  it("on update, a pool that was already empty is only warned about; a layout error is not also an empty pool", () => {
    const old = p({ cidr: "10.200.0.5/32", gateway: "10.200.0.5" });
    const r = validatePool(p({ cidr: "10.200.0.5/32", gateway: "10.200.0.5", defaultRoute: false }), world(), old);
    assert.deepEqual(r.denials, [], show(r));
    assert.ok(
      r.warnings.some(w => w.field === "spec.cidr" && w.message.includes("leaves this pool no address")),
      show(r),
    );
    assert.deepEqual(fields(at({ cidr: "10.200.0.5/32", ranges: ["10.200.0.6"] })), ["spec.ranges[0]"]);
  });
});

describe("validatePool: a gateway nothing routes through", () => {
  it("is warned about unless defaultRoute or one of its NADs routes via it", () => {
    const noDefault = { defaultRoute: false, gateway: "10.200.0.1" };
    assert.deepEqual(validatePool(p(noDefault), world()).warnings, [], "vlan200's NAD routes via 10.200.0.1");
    assert.deepEqual(
      validatePool(p({ ...noDefault, networks: ["tenant-a/vlan201", "tenant-a/vlan200"] }), world()).warnings,
      [],
      "one routing NAD is enough",
    );
    const r = validatePool(p({ ...noDefault, networks: ["tenant-a/vlan201", "tenant-a/gone"] }), world());
    assert.deepEqual(
      r.warnings.map(w => w.field),
      ["spec.gateway"],
    );
    assert.match(
      r.warnings[0].message,
      /give the static IPAM of tenant-a\/vlan201, tenant-a\/gone "routes" entries with "gw": "10\.200\.0\.1"$/,
    );
    const invalid = validatePool(p({ ...noDefault, networks: ["tenant-a/vlan201", "Bad/Name"] }), world());
    assert.match(invalid.warnings[0]?.message ?? "", /give the static IPAM of tenant-a\/vlan201 "routes"/, show(invalid));
    const none = validatePool(p({ ...noDefault, networks: [] }), world());
    assert.match(none.warnings[0]?.message ?? "", /give the static IPAM of the pool's NADs "routes"/, show(none));
  });

  it("a gateway that is no address is the layout's denial only, with no routing warning", () => {
    const r = validatePool(p({ defaultRoute: false, gateway: "banana" }), world());
    assert.deepEqual(fields(r), ["spec.gateway"]);
    assert.deepEqual(r.warnings, [], show(r));
  });

  it("a NAD without spec routes nothing", () => {
    const bare = {
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { namespace: "tenant-a", name: "bare" },
    } as never;
    const w = snapshot({ pools: [], nads: [bare], namespaces: { "tenant-a": {} } });
    const r = validatePool(p({ defaultRoute: false, gateway: "10.200.0.1", networks: ["tenant-a/bare"] }), w);
    assert.deepEqual(
      r.warnings.map(x => x.field),
      ["spec.gateway"],
      show(r),
    );
  });
});

describe("validatePool: pools sharing a network or a segment", () => {
  it("a second default of the family is refused at spec.default, with the value true", () => {
    const other = pool("q", { cidr: "10.201.0.0/24", networks: ["tenant-a/vlan200"], default: true });
    const r = validatePool(p({ default: true }), world([], [other]));
    assert.deepEqual(fields(r), ["spec.default"]);
    assert.equal(r.denials[0].value, true);
  });

  it("several pools of the family and none marked: one warning naming the others; one marked elsewhere: none", () => {
    const q = pool("q", { cidr: "10.201.0.0/24", networks: ["tenant-a/vlan200"] });
    const s = pool("s", { cidr: "10.202.0.0/24", networks: ["tenant-a/vlan200"] });
    const r = validatePool(p(), world([], [q, s]));
    assert.match(r.warnings[0]?.message ?? "", /is also served by IPv4 IPPool "q", "s" and none of them is marked default/, show(r));
    const marked = pool("s", { cidr: "10.202.0.0/24", networks: ["tenant-a/vlan200"], default: true });
    assert.deepEqual(validatePool(p(), world([], [q, marked])).warnings, []);
  });

  it("another pool of the network whose CIDR does not parse is no pool of the family", () => {
    const broken = pool("q", { cidr: "nope", networks: ["tenant-a/vlan200"] });
    assert.deepEqual(validatePool(p(), world([], [broken])), { denials: [], warnings: [] });
  });

  it("overlapping a pool of another network on the same bridge and VLAN: refused at spec.cidr", () => {
    const other = pool("b", { cidr: "10.100.0.128/25", networks: ["tenant-b/shared"] });
    const r = validatePool(
      pool("p", { cidr: "10.100.0.0/24", networks: ["tenant-a/vlan100"], default: true, defaultRoute: true }),
      world([], [other]),
    );
    const atCidr = r.denials.filter(d => d.field === "spec.cidr");
    assert.equal(atCidr.length, 1, show(r));
    assert.match(
      atCidr[0].message,
      /on the same L2 segment \(Open vSwitch bridge "br1", VLAN 100\); one address would be handed out twice there/,
    );
  });

  it("overlapping a pool of the same network is refused at that network, not also at spec.cidr", () => {
    const r = validatePool(pool("p", { cidr: "10.100.0.0/25", networks: ["tenant-a/vlan100"], defaultRoute: true }), world());
    assert.deepEqual(fields(r), ["spec.networks[0]"], show(r));
  });
});

describe("validatePool on update: allocated addresses stay allocatable", () => {
  const ten = Array.from({ length: 10 }, (_, i) => held(`10.200.0.${10 + i}`, i));

  it("ten dropped are each named; an eleventh is counted", () => {
    const narrowed = p({ ranges: ["10.200.0.100-10.200.0.200"] });
    const r10 = validatePool(narrowed, world(ten), p());
    assert.equal(r10.denials.length, 10, show(r10));
    assert.ok(
      r10.denials.every(d => d.field === "spec.ranges"),
      show(r10),
    );
    const r11 = validatePool(narrowed, world([...ten, held("10.200.0.20", 10)]), p());
    assert.equal(r11.denials.length, 11);
    assert.deepEqual(r11.denials[10], {
      field: "spec",
      value: 11,
      message: "1 more allocated addresses would leave the pool; list them with kubectl get ipallocations and keep them in the pool",
    });
  });

  it("a spec that cannot be laid out says so, and is not also checked against the allocations", () => {
    const r = validatePool(p({ ranges: ["10.9.0.0-10.9.0.10"] }), world(ten), p());
    assert.deepEqual(fields(r), ["spec.ranges[0]"], show(r));
  });

  it("namespaces that hold addresses and are no longer selected are warned about by name; still selected, none", () => {
    const mixed = [held("10.200.0.10", 1), held("10.200.0.11", 2, "tenant-b")];
    const onlyB = p({ namespaceSelector: { matchLabels: { tenant: "b" } } });
    const r = validatePool(onlyB, world(mixed), p());
    assert.deepEqual(r.warnings, [
      {
        field: "spec.namespaceSelector",
        value: ["tenant-a"],
        message:
          "namespaces tenant-a hold addresses of this pool but are no longer selected; their VMs keep their addresses, new VMs there are refused",
      },
    ]);
    assert.deepEqual(validatePool(p({ defaultRoute: true }), world(mixed), p()).warnings, []);
    const three = [...mixed, held("10.200.0.12", 3, "tenant-c")];
    const none = validatePool(p({ namespaceSelector: { matchLabels: { tenant: "z" } } }), world(three), p());
    assert.match(none.warnings[0]?.message ?? "", /^namespaces tenant-a, tenant-b, tenant-c hold addresses/, show(none));
  });
});

describe("validatePoolDelete", () => {
  const del = (
    n: number,
    spec: Record<string, unknown> | "no spec" = { cidr: "10.200.0.0/24", networks: ["tenant-a/vlan200", "tenant-a/vlan201"] },
  ): ValidationResult =>
    validatePoolDelete(
      spec === "no spec" ? { metadata: { name: "p" } } : pool("p", spec),
      world(Array.from({ length: n }, (_, i) => held(`10.200.0.${10 + i}`, i))),
    );

  it("one allocation: named, in the singular, with the networks to drain", () => {
    assert.deepEqual(del(1).denials, [
      {
        field: "status.allocated",
        value: 1,
        message:
          'IPPool "p" still has 1 allocated address (10.200.0.10 held by VM tenant-a/web-0 interface "ovs1"); drain it first: delete the VMs on tenant-a/vlan200, tenant-a/vlan201 or move them to another network, delete their IPClaims if the pool\'s reclaimPolicy is Retain, and delete the pool when kubectl get ippool p shows 0 allocated',
      },
    ]);
  });

  it("up to three are named, more are elided; the plural; a pool without networks or spec says 'its networks'", () => {
    assert.match(
      del(2).denials[0].message,
      /still has 2 allocated addresses \(10\.200\.0\.10 held by VM tenant-a\/web-0 interface "ovs1"; 10\.200\.0\.11 held by VM tenant-a\/web-1 interface "ovs1"\); drain/,
    );
    assert.match(del(3).denials[0].message, /interface "ovs1"\); drain/);
    const four = del(4).denials[0].message;
    assert.match(four, /still has 4 allocated addresses \(.*10\.200\.0\.12 held by VM tenant-a\/web-2 interface "ovs1"; \.\.\.\); drain/);
    assert.ok(!four.includes("10.200.0.13"), four);
    assert.match(del(1, { cidr: "10.200.0.0/24" }).denials[0].message, /delete the VMs on its networks or move them/);
    assert.match(del(1, "no spec").denials[0].message, /delete the VMs on its networks or move them/);
    assert.deepEqual(del(0).denials, []);
  });
});
