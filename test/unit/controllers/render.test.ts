import assert from "node:assert/strict";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import { sameStatus, statusFor } from "../../../capabilities/controllers/claim-status";
import { targetKept } from "../../../capabilities/controllers/migration-controller";
import {
  bridgeNics,
  claimableInterface,
  claimSpecDiffers,
  renderClaim,
  requestedAddresses,
  setCondition,
} from "../../../capabilities/controllers/render";
import { refusalMessage } from "../../../capabilities/controllers/vm-controller";
import { renderService } from "../../../capabilities/controllers/service-controller";
import { launcherInterfaceName } from "../../../capabilities/domain/launcher-pod";

const vm = (annotations: Record<string, string> = {}): VirtualMachine =>
  ({
    metadata: { name: "web", namespace: "t", uid: "u1", annotations },
    spec: {
      template: {
        spec: {
          domain: {
            devices: {
              interfaces: [
                { name: "default", masquerade: {}, ports: [{ port: 80, name: "http" }] },
                { name: "ovs1", bridge: {} },
                { name: "sr", sriov: {} },
              ],
            },
          },
          networks: [
            { name: "default", pod: {} },
            { name: "ovs1", multus: { networkName: "vlan100" } },
            { name: "sr", multus: { networkName: "x/sriov" } },
          ],
        },
      },
    },
  }) as VirtualMachine;

describe("controller renderers", () => {
  it("claims only bridge NICs on Multus networks, with the network made absolute", () => {
    assert.deepEqual(bridgeNics(vm()), [{ interface: "ovs1", network: "t/vlan100", macAddress: undefined }]);
    const claim = renderClaim(vm(), bridgeNics(vm())[0], ["p4", "p6"]);
    assert.equal(claim.metadata?.name, "web.ovs1");
    assert.deepEqual(claim.spec, { vm: "web", interface: "ovs1", network: "t/vlan100", pool: "p4", pools: ["p4", "p6"] });
    assert.equal(claim.metadata?.labels?.["vmnet.io/vm"], "web");
  });

  it("makes the VM the claim's owner (not its controller, not blocking) unless a Retain pool keeps the claim", () => {
    const owned = renderClaim(vm(), bridgeNics(vm())[0], ["p4"]);
    assert.deepEqual(owned.metadata?.ownerReferences, [{ apiVersion: "kubevirt.io/v1", kind: "VirtualMachine", name: "web", uid: "u1" }]);
    const kept = renderClaim(vm(), bridgeNics(vm())[0], ["p4"], false);
    assert.equal(kept.metadata?.ownerReferences, undefined);
    assert.equal(claimSpecDiffers(owned, kept), true, "a changed owner is re-applied");
    assert.equal(claimSpecDiffers(owned, renderClaim(vm(), bridgeNics(vm())[0], ["p4"])), false);
  });

  it("gives no claim to a dotted interface name: vm c + d.ovs1 and vm c.d + ovs1 would share one", () => {
    assert.equal(claimableInterface("d.ovs1"), false);
    assert.equal(claimableInterface("ovs1"), true);
  });

  it("says why a refused NIC gets no address with each field and fix", () => {
    const msg = refusalMessage("ovs1", [{ field: "spec.x.model", message: 'NIC model "tulip" is not supported; use virtio' }]);
    assert.match(
      msg,
      /^KubeVirt v\d+\.\d+\.\d+ refuses interface ovs1 .*spec\.x\.model: NIC model "tulip" is not supported; use virtio; once the VM is fixed/,
    );
  });

  it("reads vmnet.io/addresses leniently and names the annotation on errors", () => {
    assert.deepEqual(
      [...requestedAddresses(vm({ "vmnet.io/addresses": '{"ovs1": ["10.0.0.5", "fd00::5"]}' })).byInterface],
      [["ovs1", ["10.0.0.5", "fd00::5"]]],
    );
    assert.match(String(requestedAddresses(vm({ "vmnet.io/addresses": "[1]" })).error), /vmnet\.io\/addresses/);
  });

  it("keeps lastTransitionTime while a condition's status holds", () => {
    const first = setCondition(undefined, { type: "Bound", status: "False", reason: "Exhausted", message: "m" }, "t1");
    const second = setCondition(first, { type: "Bound", status: "False", reason: "Conflict", message: "n" }, "t2");
    assert.equal(second[0].lastTransitionTime, "t1");
    assert.equal(
      setCondition(second, { type: "Bound", status: "True", reason: "Allocated", message: "" }, "t3")[0].lastTransitionTime,
      "t3",
    );
  });

  it("writes no status when only timestamps would change", () => {
    const claim = { metadata: { generation: 1 }, status: {} } as unknown as IPClaim;
    const a = statusFor(claim, { bound: true, addresses: ["10.0.0.2/24"], mac: "02:00:0a:00:00:02" }, "t1");
    const b = statusFor({ ...claim, status: a } as IPClaim, { bound: true, addresses: ["10.0.0.2/24"], mac: "02:00:0a:00:00:02" }, "t2");
    assert.ok(sameStatus(a, b));
  });

  it("renders the exposed Service, or says why it cannot", () => {
    const r = renderService(vm({ "vmnet.io/expose": "LoadBalancer", "vmnet.io/service-ip": "10.96.0.50" }));
    assert.ok(r && "service" in r);
    assert.deepEqual(r.service.spec, {
      type: "LoadBalancer",
      selector: { "vm.kubevirt.io/name": "web" },
      ports: [{ name: "http", port: 80, targetPort: 80, protocol: "TCP" }],
      clusterIP: "10.96.0.50",
    });
    assert.equal(renderService(vm()), undefined);
    const bad = renderService(vm({ "vmnet.io/expose": "Ingress" }));
    assert.ok(bad && "problem" in bad && /ClusterIP, NodePort or LoadBalancer/.test(bad.problem));
  });

  it("tells whether a migration target pod kept the claim's address and MAC", () => {
    const claim = {
      spec: { vm: "web", interface: "ovs1", network: "t/vlan100" },
      status: { addresses: ["10.0.0.2/24"], mac: "02:00:0a:00:00:02" },
    } as unknown as IPClaim;
    const el = { name: "vlan100", interface: launcherInterfaceName("ovs1"), ips: ["10.0.0.2/24"], mac: "02:00:0a:00:00:02" };
    assert.equal(targetKept(claim, "t", [el]).kept, true);
    assert.equal(targetKept(claim, "t", [{ ...el, mac: "02:00:0a:00:00:09" }]).kept, false);
    assert.match(targetKept(claim, "t", []).detail, /no element for network t\/vlan100/);
  });
});
