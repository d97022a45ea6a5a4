// The one NIC model every layer reads (vm-nics.ts), through its exported readers. Oracles:
// KubeVirt v1.9.0 (an interface joins the network of its name; bridge, masquerade, sriov,
// passtBinding and binding are its bindings; macAddress and multus.networkName are strings, a
// value of another type is no value), Multus (a networkName without a namespace is the NAD of that
// name in the VM's namespace), DESIGN (only a NIC whose one binding is bridge, on a Multus network,
// gets an IPClaim), and the readers' documented contracts.
import assert from "node:assert/strict";
import { Findings } from "../../../capabilities/domain/findings";
import { bridgeNics, isBridgeNic, nicPorts, readNics, vmNics } from "../../../capabilities/domain/vm-nics";

type Obj = Record<string, unknown>;
const vmOf = (interfaces: Obj[], networks: Obj[], namespace = "tenant-a"): Obj => ({
  metadata: { name: "vm", namespace },
  spec: { template: { spec: { domain: { devices: { interfaces } }, networks } } },
});
const nic = (iface: Obj, net: Obj): ReturnType<typeof vmNics>[number] => vmNics(vmOf([iface], [net]))[0];

describe("vm-nics: the NIC model", () => {
  it("only a NIC whose one binding is bridge, on a Multus network, is a bridge NIC", () => {
    assert.equal(isBridgeNic(nic({ name: "a", bridge: {} }, { name: "a", multus: { networkName: "vlan100" } })), true);
    assert.equal(isBridgeNic(nic({ name: "a", bridge: {} }, { name: "a", pod: {} })), false, "bridge on the pod network");
    assert.equal(
      isBridgeNic(nic({ name: "a", bridge: {} }, { name: "a", multus: { networkName: "" } })),
      false,
      "a Multus network naming nothing",
    );
    assert.equal(isBridgeNic(nic({ name: "a", masquerade: {} }, { name: "a", multus: { networkName: "vlan100" } })), false, "masquerade");
    assert.equal(
      isBridgeNic(nic({ name: "a", bridge: {}, sriov: {} }, { name: "a", multus: { networkName: "vlan100" } })),
      false,
      "two bindings",
    );
    assert.equal(isBridgeNic(vmNics(vmOf([{ name: "a", bridge: {} }], []))[0]), false, "no network");
  });

  it("bridgeNics: each bridge NIC with its qualified network and its MAC", () => {
    const vm = vmOf(
      [
        { name: "default", masquerade: {} },
        { name: "a", bridge: {}, macAddress: "02:00:00:00:00:01" },
        { name: "b", bridge: {} },
        { name: "c", masquerade: {} },
      ],
      [
        { name: "default", pod: {} },
        { name: "a", multus: { networkName: "vlan100" } },
        { name: "b", multus: { networkName: "tenant-b/vlan7" } },
        { name: "c", multus: { networkName: "vlan100" } },
      ],
    );
    assert.deepEqual(bridgeNics(vm), [
      { interface: "a", network: "tenant-a/vlan100", macAddress: "02:00:00:00:00:01" },
      { interface: "b", network: "tenant-b/vlan7", macAddress: undefined },
    ]);
  });

  it("macAddress and networkName are read only when strings", () => {
    const [a, b] = vmNics(
      vmOf(
        [
          { name: "a", bridge: {}, macAddress: ["02:00:00:00:00:01"] },
          { name: "b", bridge: {}, macAddress: "02:00:00:00:00:02" },
        ],
        [
          { name: "a", multus: { networkName: 5 } },
          { name: "b", multus: { networkName: "vlan100" } },
        ],
      ),
    );
    assert.equal(a.macAddress, undefined);
    assert.equal("macAddress" in a, false);
    assert.equal(a.network?.networkName, undefined);
    assert.equal(a.network?.qualified, undefined);
    assert.equal(b.macAddress, "02:00:00:00:00:02");
    assert.equal(b.network?.networkName, "vlan100");
    assert.equal(b.network?.qualified, "tenant-a/vlan100");
    const { nets } = readNics({ networks: [{ name: "e", multus: { networkName: "" } }] }, "tenant-a", new Findings());
    assert.equal(nets[0].networkName, "", "an empty name is kept as written (KubeVirt's rule reports it)");
    assert.equal(nets[0].qualified, undefined);
  });

  it("nicPorts: only the listed ports that give a port number", () => {
    const ports = [{ port: 22 }, { name: "http" }, "http", null, { port: "80" }, { port: 443, protocol: "TCP" }];
    assert.deepEqual(nicPorts(nic({ name: "default", masquerade: {}, ports }, { name: "default", pod: {} })), [
      { port: 22 },
      { port: 443, protocol: "TCP" },
    ]);
    assert.deepEqual(nicPorts(nic({ name: "default", masquerade: {}, ports: { port: 22 } }, { name: "default", pod: {} })), []);
  });
});
