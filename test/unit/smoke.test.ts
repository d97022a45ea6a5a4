import assert from "node:assert/strict";
import { vmNics } from "../../capabilities/api/external/kubevirt";

describe("vmNics", () => {
  it("joins interfaces with networks by name", () => {
    const nics = vmNics({
      domain: { devices: { interfaces: [{ name: "default", masquerade: {} }, { name: "ovs1", bridge: {} }] } },
      networks: [{ name: "default", pod: {} }, { name: "ovs1", multus: { networkName: "tenant-a/vlan100" } }],
    });
    assert.deepEqual(nics.map(n => [n.interface, n.bindings, n.networkKind, n.networkName]), [
      ["default", ["masquerade"], "pod", undefined],
      ["ovs1", ["bridge"], "multus", "tenant-a/vlan100"],
    ]);
  });
});
