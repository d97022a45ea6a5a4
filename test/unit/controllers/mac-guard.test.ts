import assert from "node:assert/strict";
import { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import { derivedForm, hasDerivedFormMac, macClash, specMacUses } from "../../../capabilities/controllers/mac-guard";

const vm = (name: string, nics: { name: string; network?: string; mac?: string }[]): VirtualMachine =>
  ({
    metadata: { name, namespace: "t" },
    spec: {
      template: {
        spec: {
          domain: { devices: { interfaces: nics.map(n => ({ name: n.name, bridge: {}, ...(n.mac ? { macAddress: n.mac } : {}) })) } },
          networks: nics.map(n => (n.network ? { name: n.name, multus: { networkName: n.network } } : { name: n.name, pod: {} })),
        },
      },
    },
  }) as VirtualMachine;

describe("one MAC per L2 segment, binder side", () => {
  it("knows the forms a derived MAC takes", () => {
    assert.equal(derivedForm("02:00:0a:64:00:02"), true);
    assert.equal(derivedForm("0A-00-00-00-00-17"), true);
    assert.equal(derivedForm("02:aa:bb:cc:dd:ee"), false);
  });

  it("lists only derived-form spec MACs of Multus NICs, with the network made absolute", () => {
    const v = vm("a", [
      { name: "pod", mac: "02:00:0a:00:00:05" },
      { name: "ovs1", network: "vlan100", mac: "02:00:0A:00:00:05" },
      { name: "ovs2", network: "x/vlan2", mac: "02:aa:00:00:00:01" },
    ]);
    assert.deepEqual(specMacUses(v), [{ namespace: "t", vm: "a", iface: "ovs1", network: "t/vlan100", mac: "02:00:0a:00:00:05" }]);
    assert.equal(hasDerivedFormMac(v), true);
    assert.equal(hasDerivedFormMac(vm("b", [{ name: "ovs1", network: "vlan100" }])), false);
  });

  it("finds a clash on the same segment only, never with the NIC itself", () => {
    const segment = (n: string): string => (n === "t/vlan100" || n === "t/vlan100-b" ? "ovs:br:vlan100" : `nad:${n}`);
    const uses = [{ namespace: "t", vm: "a", iface: "ovs1", network: "t/vlan100-b", mac: "02:00:0a:00:00:05" }];
    const self = { namespace: "t", vm: "b", iface: "ovs1" };
    assert.equal(macClash("02:00:0A:00:00:05", "t/vlan100", self, uses, segment), uses[0], "another NAD on the same bridge and VLAN");
    assert.equal(macClash("02:00:0a:00:00:05", "t/other", self, uses, segment), undefined, "another segment");
    assert.equal(
      macClash("02:00:0a:00:00:05", "t/vlan100", { namespace: "t", vm: "a", iface: "ovs1" }, uses, segment),
      undefined,
      "itself",
    );
  });
});
