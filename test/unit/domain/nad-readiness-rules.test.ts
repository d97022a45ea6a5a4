// Whether a NAD can carry a pool's address and MAC, and whether its static IPAM routes through a
// gateway. Oracles from the CNI and Multus documents (capabilities/domain/nad-readiness.ts cites
// them): Multus hands the pod element's "ips"/"mac" as runtimeConfig only to a plugin that declares
// the capability, static IPAM applies the address, ovs sets the MAC itself and any other main plugin
// needs a chained tuning plugin with the "mac" capability; static IPAM's "routes" entries name their
// next hop in "gw". Written against the public functions only.
import assert from "node:assert/strict";
import { nadPoolReadiness, nadRoutesVia } from "../../../capabilities/domain/nad-readiness";

const STATIC = { type: "static" };
const ovs = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: "ovs",
  bridge: "br1",
  ipam: STATIC,
  capabilities: { ips: true },
  ...over,
});
const reasonOf = (config: unknown): string => {
  const r = nadPoolReadiness(config);
  assert.equal(r.ready, false, JSON.stringify(config));
  return r.reason ?? "";
};

describe("nadPoolReadiness (spec-derived cases)", () => {
  it("a NAD without spec.config (undefined, null or empty) keeps its CNI config on the nodes: not ready", () => {
    for (const config of [undefined, null, ""]) assert.match(reasonOf(config), /^spec\.config is empty/, String(config));
  });

  it("the main plugin of a conflist is the one with an IPAM section, wherever it stands", () => {
    const chain = { plugins: [{ type: "tuning", capabilities: { mac: true } }, ovs()] };
    assert.deepEqual(nadPoolReadiness(JSON.stringify(chain)), { ready: true });
    // Without any IPAM section the first plugin is the main one, and its (missing) IPAM is reported.
    assert.match(reasonOf({ plugins: [{ type: "bridge" }, { type: "tuning" }] }), /CNI plugin "bridge" is "not set"/);
  });

  it("names a plugin without a type as (no type)", () => {
    assert.match(reasonOf({ ipam: { type: "host-local" } }), /the IPAM of CNI plugin "\(no type\)" is "host-local"/);
  });

  it('"capabilities": {"ips": false} is no ips capability', () => {
    assert.match(reasonOf(ovs({ capabilities: { ips: false } })), /does not declare "capabilities": \{"ips": true\}/);
    assert.match(reasonOf(ovs({ capabilities: "ips" })), /does not declare/);
  });

  it("only a tuning plugin with mac: true sets the MAC for a non-OVS main plugin", () => {
    const bridge = { type: "bridge", ipam: STATIC, capabilities: { ips: true } };
    assert.match(reasonOf({ plugins: [bridge, { type: "tuning", capabilities: { mac: false } }] }), /chain \{"type": "tuning"/);
    // Multus hands "mac" to any plugin declaring it, but portmap does not touch the interface's MAC.
    assert.match(
      reasonOf({ plugins: [bridge, { type: "portmap", capabilities: { mac: true, portMappings: true } }] }),
      /does not set the pool's MAC/,
    );
  });

  it("entries of a plugins list that are not objects are no plugins", () => {
    assert.match(reasonOf({ plugins: [null, "ovs", { type: "bridge" }] }), /the IPAM of CNI plugin "bridge" is "not set"/);
  });

  it('a "plugins" value that is not a list has no plugin', () => {
    assert.match(reasonOf({ plugins: "ovs" }), /has no plugin/);
    assert.match(reasonOf({ plugins: {} }), /has no plugin/);
  });
});

describe("nadRoutesVia (static IPAM routes through a gateway)", () => {
  const routed = (routes: unknown, extra: Record<string, unknown>[] = []): Record<string, unknown> => ({
    plugins: [{ type: "ovs", bridge: "br1", ipam: { type: "static", routes } }, ...extra],
  });

  it("finds a route whose gw is the gateway, in the JSON text or the parsed config, in any plugin", () => {
    const config = routed([{ dst: "0.0.0.0/0", gw: "10.100.0.1" }]);
    assert.equal(nadRoutesVia(JSON.stringify(config), "10.100.0.1"), true);
    assert.equal(nadRoutesVia(config, "10.100.0.1"), true);
    // The route sits on the second plugin: one plugin is enough.
    assert.equal(
      nadRoutesVia(
        { plugins: [{ type: "tuning" }, { type: "ovs", ipam: { type: "static", routes: [{ dst: "10.0.0.0/8", gw: "10.100.0.1" }] } }] },
        "10.100.0.1",
      ),
      true,
    );
  });

  it("compares addresses, not text: another spelling of the gateway counts", () => {
    assert.equal(nadRoutesVia(routed([{ dst: "::/0", gw: "fd00:0:0:0::1" }]), "fd00::1"), true);
  });

  it("a route via another address, without gw, or not an object does not route through the gateway", () => {
    assert.equal(nadRoutesVia(routed([{ dst: "0.0.0.0/0", gw: "10.100.0.254" }]), "10.100.0.1"), false);
    assert.equal(nadRoutesVia(routed([{ dst: "10.0.0.0/8" }, "10.100.0.1", null]), "10.100.0.1"), false);
    assert.equal(nadRoutesVia(routed("10.100.0.1"), "10.100.0.1"), false);
  });

  it("an IPv6 gw with the IPv4 gateway's 32-bit value is another address", () => {
    // ::a64:1 holds the same integer as 10.100.0.1 in another family.
    assert.equal(nadRoutesVia(routed([{ dst: "::/0", gw: "::a64:1" }]), "10.100.0.1"), false);
  });

  it("a gateway that is no address, a config that is not JSON or not an object routes nothing", () => {
    assert.equal(nadRoutesVia(routed([{ dst: "0.0.0.0/0", gw: "10.100.0.1" }]), "gateway"), false);
    assert.equal(nadRoutesVia('{"plugins": [', "10.100.0.1"), false);
    assert.equal(nadRoutesVia("[]", "10.100.0.1"), false);
    assert.equal(nadRoutesVia(undefined, "10.100.0.1"), false);
  });
});
