// kubectl vmnet check reads the launcher pods of every namespace when no namespace is given, and
// of that namespace only when one is. Oracle: the plugin's documented scope (README: `check`
// without -n checks every namespace; with -n only that one) and DESIGN (a launcher pod must carry
// its claim's addresses).
import assert from "node:assert/strict";
import { checkSnapshot } from "../../../capabilities/audit/check";
import type { Snapshot } from "../../../capabilities/audit/invariants";
import type { PodLike } from "../../../capabilities/audit/launcher-pods";
import { launcherInterfaceName } from "../../../capabilities/domain/launcher-pod";

const MAC = "02:00:0a:01:00:05";
const listing = (): Snapshot =>
  ({
    pools: [{ metadata: { name: "pa" }, spec: { cidr: "10.1.0.0/24", networks: ["a/vlan"] }, status: { allocated: 1 } }],
    claims: [
      {
        metadata: { name: "web.ovs1", namespace: "a", uid: "uid-web" },
        spec: { vm: "web", interface: "ovs1", network: "a/vlan", pool: "pa", pools: ["pa"] },
        status: { addresses: ["10.1.0.5/24"], mac: MAC, conditions: [{ type: "Bound", status: "True", reason: "Allocated", message: "" }] },
      },
    ],
    allocations: [
      {
        metadata: { name: "pa.10-1-0-5", uid: "r1" },
        spec: { pool: "pa", address: "10.1.0.5", claimRef: { namespace: "a", name: "web.ovs1" } },
      },
    ],
    vms: [
      {
        metadata: { name: "web", namespace: "a" },
        spec: {
          template: {
            spec: {
              domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } },
              networks: [{ name: "ovs1", multus: { networkName: "vlan" } }],
            },
          },
        },
      },
    ],
    pods: [
      {
        metadata: {
          name: "virt-launcher-web-abcde",
          namespace: "a",
          labels: { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": "web" },
          ownerReferences: [{ apiVersion: "kubevirt.io/v1", kind: "VirtualMachineInstance", name: "web", uid: "vmi", controller: true }],
          annotations: {
            "k8s.v1.cni.cncf.io/networks": JSON.stringify([
              { name: "vlan", namespace: "a", interface: launcherInterfaceName("ovs1"), ips: ["10.1.0.99/24"], mac: MAC },
            ]),
          },
        },
        status: { phase: "Running" },
      } as PodLike,
    ],
  }) as unknown as Snapshot;

describe("kubectl vmnet check: launcher pods in scope", () => {
  it("a pod carrying another address than its claim is found in every namespace's check and in its own", () => {
    const everywhere = checkSnapshot(listing(), {});
    assert.ok(
      everywhere.some(f => f.message.includes("10.1.0.99")),
      JSON.stringify(everywhere),
    );
    const own = checkSnapshot(listing(), { namespace: "a" });
    assert.ok(
      own.some(f => f.message.includes("10.1.0.99")),
      JSON.stringify(own),
    );
    const other = checkSnapshot(listing(), { namespace: "b" });
    assert.ok(!other.some(f => f.message.includes("10.1.0.99")), JSON.stringify(other));
  });
});
