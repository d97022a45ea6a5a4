import assert from "node:assert/strict";
import { nadPoolReadiness, validateNAD } from "../../../capabilities/admission/rules";
import { OVS_READY, assertDenied, assertNoDenials, assertWarned, nad, snapshot, tenantWorld } from "./fixtures";

const empty = snapshot();
const check = (config: unknown): ReturnType<typeof validateNAD> =>
  validateNAD(nad("tenant-a", "net"), empty) && validateNAD(nad("tenant-a", "net", config), empty);
const json = (x: unknown): string => JSON.stringify(x);

describe("validateNAD", () => {
  it("accepts a pool-ready OVS config, a plain bridge and a macvlan config", () => {
    assert.deepEqual(check(OVS_READY), { denials: [], warnings: [] });
    assertNoDenials(check(json({ cniVersion: "0.3.1", type: "bridge", bridge: "br0", vlan: 10, ipam: {} })));
    assertNoDenials(check(json({ type: "macvlan", master: "eth1", mode: "bridge", ipam: { type: "host-local", subnet: "10.1.0.0/24" } })));
  });

  it("accepts a NAD without spec.config (the config lives on the nodes)", () => {
    assertNoDenials(validateNAD({ metadata: { namespace: "a", name: "b" }, spec: {} }, empty));
  });

  it("refuses config that is not JSON, naming the position", () => {
    const r = check('{\n  "type": "ovs",\n  "bridge": br1\n}');
    assertDenied(r, "spec.config", "not valid JSON", "line 3, column 13", "Unexpected token 'b'");
    assertDenied(check('{"type": "ovs", "bridge": "br1"'), "spec.config", "line 1, column 32", "ends too early");
  });

  it("refuses config that is not a string or not an object", () => {
    assertDenied(check(5), "spec.config", "must be a string");
    assertDenied(check("[1, 2]"), "spec.config", "[1,2]", "JSON object");
    assertDenied(check("{}"), "spec.config.type", "type is required");
  });

  it("refuses an OVS config without a bridge", () => {
    assertDenied(check(json({ type: "ovs" })), "spec.config.bridge", "bridge is required", '"ovs"', '"br1"');
  });

  it("refuses OVS VLAN, trunk and MTU values out of range", () => {
    const r = check(
      json({ type: "ovs", bridge: "br1", vlan: 5000, mtu: 100, trunk: [{ id: 4095 }, { minID: 200, maxID: 100 }, { foo: 1 }] }),
    );
    assertDenied(r, "spec.config.vlan", "5000", "<= 4094");
    assertDenied(r, "spec.config.mtu", "100", ">= 576");
    assertDenied(r, "spec.config.trunk[0].id", "4095", "0 to 4094");
    assertDenied(r, "spec.config.trunk[1].maxID", "100", ">= 200", "not be below minID");
    assertDenied(r, "spec.config.trunk[2]", '{"foo":1}', '{"id": 42}');
    assert.equal(r.denials.length, 5, json(r.denials));
    assertDenied(check(json({ type: "ovs", bridge: "br1", vlan: "100" })), "spec.config.vlan", '"100"', "must be integer");
    assertDenied(check(json({ type: "ovs", bridge: "br1", vlan: 1.5 })), "spec.config.vlan", "1.5");
  });

  it("refuses a macvlan mode outside its enum", () => {
    assertDenied(
      check(json({ type: "macvlan", master: "eth1", mode: "bridged" })),
      "spec.config.mode",
      '"bridged"',
      "bridge, private, vepa, passthru",
    );
  });

  it("validates each plugin of a conflist", () => {
    const r = check(
      json({ cniVersion: "0.4.0", name: "x", plugins: [{ type: "bridge", bridge: "br0" }, { type: "ovs", vlan: -1 }, "nope"] }),
    );
    assertDenied(r, "spec.config.plugins[1].bridge", "bridge is required");
    assertDenied(r, "spec.config.plugins[1].vlan", "-1", ">= 0");
    assertDenied(r, "spec.config.plugins[2]", '"nope"', "must be object");
    assertDenied(check(json({ plugins: [] })), "spec.config.plugins", "fewer than 1");
    assertDenied(check(json({ plugins: {} })), "spec.config.plugins", "must be array");
  });

  describe("on a network a pool serves", () => {
    const hostLocal = json({ type: "ovs", bridge: "br1", ipam: { type: "host-local" } });
    const allocated = tenantWorld({
      allocations: [{ pool: "tenant-a-vlan100", address: "10.100.0.23", namespace: "tenant-a", claim: "web-1.ovs1", vm: "web-1" }],
    });

    it("warns when it is not pool-ready and no address is allocated", () => {
      const r = validateNAD(nad("tenant-a", "vlan100", hostLocal), snapshot(tenantWorld()));
      assertNoDenials(r);
      assertWarned(r, "spec.config", "tenant-a/vlan100", '"tenant-a-vlan100"', '"host-local"', '"ipam": {"type": "static"}');
    });

    it("refuses a change that makes it not pool-ready while VMs hold addresses", () => {
      const r = validateNAD(nad("tenant-a", "vlan100", hostLocal), snapshot(allocated), nad("tenant-a", "vlan100"));
      assertDenied(r, "spec.config", "tenant-a/vlan100", '1 in "tenant-a-vlan100"', '"host-local"');
    });

    it("only warns when it was not pool-ready before either", () => {
      const noCaps = json({ type: "ovs", bridge: "br1", ipam: { type: "static" } });
      const r = validateNAD(nad("tenant-a", "vlan100", hostLocal), snapshot(allocated), nad("tenant-a", "vlan100", noCaps));
      assertNoDenials(r);
      assertWarned(r, "spec.config", '"host-local"');
    });

    it("accepts a pool-ready change", () => {
      const r = validateNAD(nad("tenant-a", "vlan100", OVS_READY.replace("100", "200")), snapshot(allocated), nad("tenant-a", "vlan100"));
      assert.deepEqual(r, { denials: [], warnings: [] });
    });
  });
});

describe("nadPoolReadiness", () => {
  const ready = (x: unknown): ReturnType<typeof nadPoolReadiness> => nadPoolReadiness(typeof x === "string" ? x : json(x));

  it("an OVS plugin with static IPAM and the ips capability is ready", () => {
    assert.deepEqual(ready(OVS_READY), { ready: true });
    assert.deepEqual(nadPoolReadiness(JSON.parse(OVS_READY)), { ready: true });
    assert.deepEqual(ready({ plugins: [JSON.parse(OVS_READY), { type: "tuning" }] }), { ready: true });
  });

  const notReady: [string, unknown, string][] = [
    ["empty config", "", "spec.config is empty"],
    ["invalid JSON", "{", "not a JSON object"],
    ["host-local IPAM", { type: "ovs", bridge: "br1", ipam: { type: "host-local" }, capabilities: { ips: true } }, '"host-local"'],
    ["no IPAM", { type: "ovs", bridge: "br1", capabilities: { ips: true } }, '"not set"'],
    [
      "no ips capability",
      { type: "ovs", bridge: "br1", ipam: { type: "static" } },
      "passes it the pool's address only as CNI_ARGS IP=, a path Multus marks deprecated",
    ],
    ["bridge without tuning", { type: "bridge", bridge: "br0", ipam: { type: "static" }, capabilities: { ips: true } }, '"tuning"'],
    [
      "bridge with tuning lacking the mac capability",
      { plugins: [{ type: "bridge", ipam: { type: "static" }, capabilities: { ips: true } }, { type: "tuning" }] },
      '"mac": true',
    ],
    ["empty plugin list", { plugins: [] }, "no plugin"],
  ];
  for (const [what, config, reason] of notReady) {
    it(`${what} is not ready`, () => {
      const r = ready(config);
      assert.equal(r.ready, false);
      assert.ok(r.reason?.includes(reason), r.reason);
    });
  }

  it("a bridge or macvlan chained with tuning {mac: true} is ready", () => {
    for (const type of ["bridge", "macvlan"]) {
      const r = ready({
        plugins: [
          { type, ipam: { type: "static" }, capabilities: { ips: true } },
          { type: "tuning", capabilities: { mac: true } },
        ],
      });
      assert.deepEqual(r, { ready: true });
    }
  });
});
