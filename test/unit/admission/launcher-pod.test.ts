import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  ClaimLike,
  isClaimBound,
  isLauncherPod,
  launcherInterfaceName,
  renderLauncherNetworks,
  vmNameOfPod,
} from "../../../capabilities/admission/rules";

const bound = (iface: string, network: string, addresses: string[], mac?: string): ClaimLike => ({
  metadata: { name: `web-1.${iface}`, namespace: "tenant-a" },
  spec: { vm: "web-1", interface: iface, network, pool: "p" },
  status: { addresses, mac, conditions: [{ type: "Bound", status: "True" }] },
});
const pending = (iface: string, network: string): ClaimLike => ({
  metadata: { name: `web-1.${iface}`, namespace: "tenant-a" },
  spec: { vm: "web-1", interface: iface, network },
  status: { conditions: [{ type: "Bound", status: "False" }] },
});

describe("renderLauncherNetworks", () => {
  it("adds ips and mac to the pool-backed element, keeping other fields and the order", () => {
    const value = JSON.stringify([
      { name: "other", namespace: "tenant-a", interface: "pod1234" },
      {
        name: "vlan100",
        namespace: "tenant-a",
        interface: launcherInterfaceName("ovs1"),
        "default-route": ["10.100.0.1"],
        cniArgs: { x: 1 },
      },
    ]);
    const r = renderLauncherNetworks(value, "tenant-a", [
      bound("ovs1", "tenant-a/vlan100", ["10.100.0.23/24", "fd00:100::23/64"], "02:00:0a:64:00:17"),
    ]);
    assert.equal(r.changed, true);
    assert.deepEqual(r.missing, []);
    assert.deepEqual(JSON.parse(r.value), [
      { name: "other", namespace: "tenant-a", interface: "pod1234" },
      {
        name: "vlan100",
        namespace: "tenant-a",
        interface: launcherInterfaceName("ovs1"),
        "default-route": ["10.100.0.1"],
        cniArgs: { x: 1 },
        ips: ["10.100.0.23/24", "fd00:100::23/64"],
        mac: "02:00:0a:64:00:17",
        "cni-args": { mac: "02:00:0a:64:00:17" },
      },
    ]);
  });

  it("passes the MAC also as cni-args (exactly {mac}), where newer ovs-cni reads it", () => {
    const value = JSON.stringify([{ name: "vlan100", "cni-args": { mac: "02:00:00:00:00:01", ips: ["10.100.0.99/24"] } }]);
    const r = renderLauncherNetworks(value, "tenant-a", [bound("ovs1", "tenant-a/vlan100", ["10.100.0.23/24"], "02:00:0a:64:00:17")]);
    assert.deepEqual(JSON.parse(r.value), [
      { name: "vlan100", ips: ["10.100.0.23/24"], mac: "02:00:0a:64:00:17", "cni-args": { mac: "02:00:0a:64:00:17" } },
    ]);
  });

  it("sets default-route to the gateways of the claim's pools that ask for it, and only those", () => {
    const claim = {
      ...bound("ovs1", "tenant-a/vlan100", ["10.100.0.23/24", "fd00:100::23/64"]),
      spec: { vm: "web-1", interface: "ovs1", network: "tenant-a/vlan100", pool: "v4", pools: ["v4", "v6"] },
    };
    const one = renderLauncherNetworks(
      '[{"name":"vlan100"}]',
      "tenant-a",
      [claim],
      new Set(),
      new Map([
        ["v4", "10.100.0.1"],
        ["other", "10.9.0.1"],
      ]),
    );
    assert.deepEqual((JSON.parse(one.value) as Record<string, unknown>[])[0]["default-route"], ["10.100.0.1"]);
    const both = renderLauncherNetworks(
      '[{"name":"vlan100"}]',
      "tenant-a",
      [claim],
      new Set(),
      new Map([
        ["v4", "10.100.0.1"],
        ["v6", "fd00:100::1"],
      ]),
    );
    assert.deepEqual((JSON.parse(both.value) as Record<string, unknown>[])[0]["default-route"], ["10.100.0.1", "fd00:100::1"]);
    const none = renderLauncherNetworks('[{"name":"vlan100"}]', "tenant-a", [claim], new Set(), new Map([["other", "10.9.0.1"]]));
    assert.equal((JSON.parse(none.value) as Record<string, unknown>[])[0]["default-route"], undefined);
    // Rendered once, the same again: the validating check sees no change.
    assert.equal(
      renderLauncherNetworks(
        both.value,
        "tenant-a",
        [claim],
        new Set(),
        new Map([
          ["v4", "10.100.0.1"],
          ["v6", "fd00:100::1"],
        ]),
      ).changed,
      false,
    );
  });

  it("defaults the element's namespace to the pod's", () => {
    const r = renderLauncherNetworks('[{"name": "vlan100", "interface": "net1"}]', "tenant-a", [
      bound("ovs1", "tenant-a/vlan100", ["10.100.0.23/24"]),
    ]);
    assert.deepEqual(JSON.parse(r.value), [{ name: "vlan100", interface: "net1", ips: ["10.100.0.23/24"] }]);
  });

  it("accepts the short form and writes JSON", () => {
    const r = renderLauncherNetworks("tenant-a/vlan100@eth1, other", "tenant-a", [
      bound("ovs1", "tenant-a/vlan100", ["10.100.0.23/24"], "02:00:0a:64:00:17"),
    ]);
    assert.deepEqual(JSON.parse(r.value), [
      {
        name: "vlan100",
        namespace: "tenant-a",
        interface: "eth1",
        ips: ["10.100.0.23/24"],
        mac: "02:00:0a:64:00:17",
        "cni-args": { mac: "02:00:0a:64:00:17" },
      },
      { name: "other" },
    ]);
  });

  it("matches two NICs on one network by KubeVirt's hashed interface names", () => {
    const value = JSON.stringify([
      { name: "vlan100", namespace: "tenant-a", interface: launcherInterfaceName("b") },
      { name: "vlan100", namespace: "tenant-a", interface: launcherInterfaceName("a") },
    ]);
    const claims = [bound("a", "tenant-a/vlan100", ["10.100.0.10/24"]), bound("b", "tenant-a/vlan100", ["10.100.0.11/24"])];
    const r = renderLauncherNetworks(value, "tenant-a", claims);
    assert.deepEqual(
      (JSON.parse(r.value) as { ips: string[] }[]).map(e => e.ips),
      [["10.100.0.11/24"], ["10.100.0.10/24"]],
    );
  });

  it("reports pool-backed elements without a bound claim as missing", () => {
    const value = '[{"name": "vlan100"}, {"name": "vlan200"}, {"name": "plain"}]';
    const r = renderLauncherNetworks(value, "tenant-a", [pending("ovs1", "tenant-a/vlan100")], new Set(["tenant-a/vlan200"]));
    assert.deepEqual(r.missing, ["tenant-a/vlan100", "tenant-a/vlan200"]);
    assert.equal(r.changed, false);
    assert.equal(r.value, value);
  });

  it("leaves the annotation untouched when nothing changes", () => {
    const value = '[{"name":"vlan100","ips":["10.100.0.23/24"],"mac":"02:00:0a:64:00:17","cni-args":{"mac":"02:00:0a:64:00:17"}}]';
    const r = renderLauncherNetworks(value, "tenant-a", [bound("ovs1", "tenant-a/vlan100", ["10.100.0.23/24"], "02:00:0a:64:00:17")]);
    assert.deepEqual(r, { value, changed: false, missing: [] });
    assert.deepEqual(renderLauncherNetworks("", "tenant-a", []), { value: "", changed: false, missing: [] });
    assert.deepEqual(renderLauncherNetworks("plain", "tenant-a", []), { value: "plain", changed: false, missing: [] });
  });

  it("reports an unreadable annotation as an error and leaves it untouched", () => {
    for (const value of ['[{"name": }]', '{"name": "x"}', "a/b/c", "x@y@z"]) {
      const r = renderLauncherNetworks(value, "tenant-a", []);
      assert.equal(r.value, value);
      assert.equal(r.changed, false);
      assert.ok(r.error, value);
    }
  });
});

describe("launcher pod helpers", () => {
  it("recognises the virt-launcher pod and its VM", () => {
    const pod = { metadata: { labels: { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": "web-1" } } };
    assert.equal(isLauncherPod(pod), true);
    assert.equal(vmNameOfPod(pod), "web-1");
    assert.equal(isLauncherPod({ metadata: { labels: { "kubevirt.io": "virt-handler" } } }), false);
    assert.equal(isLauncherPod({}), false);
    assert.equal(vmNameOfPod({ metadata: {} }), undefined);
  });

  it("names the pod interface as KubeVirt does: pod + 11 hex chars of sha256(network name)", () => {
    assert.equal(launcherInterfaceName("ovs1"), `pod${createHash("sha256").update("ovs1").digest("hex").slice(0, 11)}`);
    assert.match(launcherInterfaceName("x"), /^pod[0-9a-f]{11}$/);
  });

  it("a claim is bound when Bound is True and it has addresses", () => {
    assert.equal(isClaimBound(bound("a", "n/x", ["10.0.0.1/24"])), true);
    assert.equal(isClaimBound(bound("a", "n/x", [])), false);
    assert.equal(isClaimBound(pending("a", "n/x")), false);
  });
});
