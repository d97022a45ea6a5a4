import assert from "node:assert/strict";
import { vmNics } from "../../capabilities/domain/vm-nics";

describe("vmNics", () => {
  it("joins interfaces with networks by name", () => {
    const nics = vmNics({
      spec: {
        template: {
          spec: {
            domain: {
              devices: {
                interfaces: [
                  { name: "default", masquerade: {} },
                  { name: "ovs1", bridge: {} },
                ],
              },
            },
            networks: [
              { name: "default", pod: {} },
              { name: "ovs1", multus: { networkName: "tenant-a/vlan100" } },
            ],
          },
        },
      },
    });
    assert.deepEqual(
      nics.map(n => [n.name, n.bindings, n.network?.kind, n.network?.networkName]),
      [
        ["default", ["masquerade"], "pod", undefined],
        ["ovs1", ["bridge"], "multus", "tenant-a/vlan100"],
      ],
    );
  });
});
