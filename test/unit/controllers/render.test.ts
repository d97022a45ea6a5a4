import assert from "node:assert/strict";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import { sameStatus, statusFor } from "../../../capabilities/controllers/binder";
import { targetKept } from "../../../capabilities/controllers/migration-controller";
import { bridgeNics, renderClaim, requestedAddresses, setCondition } from "../../../capabilities/controllers/render";
import { renderService } from "../../../capabilities/controllers/service-controller";
import { launcherInterfaceName } from "../../../capabilities/domain/launcher-pod";

const vm = (annotations: Record<string, string> = {}): VirtualMachine =>
  ({
    metadata: { name: "web", namespace: "t", uid: "u1", annotations },
    spec: {
      template: {
        spec: {
          domain: { devices: { interfaces: [{ name: "default", masquerade: {}, ports: [{ port: 80, name: "http" }] }, { name: "ovs1", bridge: {} }, { name: "sr", sriov: {} }] } },
          networks: [{ name: "default", pod: {} }, { name: "ovs1", multus: { networkName: "vlan100" } }, { name: "sr", multus: { networkName: "x/sriov" } }],
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

  it("reads vmnet.io/addresses leniently and names the annotation on errors", () => {
    assert.deepEqual([...requestedAddresses(vm({ "vmnet.io/addresses": '{"ovs1": ["10.0.0.5", "fd00::5"]}' })).byInterface], [["ovs1", ["10.0.0.5", "fd00::5"]]]);
    assert.match(String(requestedAddresses(vm({ "vmnet.io/addresses": "[1]" })).error), /vmnet\.io\/addresses/);
  });

  it("keeps lastTransitionTime while a condition's status holds", () => {
    const first = setCondition(undefined, { type: "Bound", status: "False", reason: "Exhausted", message: "m" }, "t1");
    const second = setCondition(first, { type: "Bound", status: "False", reason: "Conflict", message: "n" }, "t2");
    assert.equal(second[0].lastTransitionTime, "t1");
    assert.equal(setCondition(second, { type: "Bound", status: "True", reason: "Allocated", message: "" }, "t3")[0].lastTransitionTime, "t3");
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
    assert.deepEqual(r.service.spec, { type: "LoadBalancer", selector: { "vm.kubevirt.io/name": "web" }, ports: [{ name: "http", port: 80, targetPort: 80, protocol: "TCP" }], clusterIP: "10.96.0.50" });
    assert.equal(renderService(vm()), undefined);
    const bad = renderService(vm({ "vmnet.io/expose": "Ingress" }));
    assert.ok(bad && "problem" in bad && /ClusterIP, NodePort or LoadBalancer/.test(bad.problem));
  });

  it("tells whether a migration target pod kept the claim's address and MAC", () => {
    const claim = { spec: { vm: "web", interface: "ovs1", network: "t/vlan100" }, status: { addresses: ["10.0.0.2/24"], mac: "02:00:0a:00:00:02" } } as unknown as IPClaim;
    const el = { name: "vlan100", interface: launcherInterfaceName("ovs1"), ips: ["10.0.0.2/24"], mac: "02:00:0a:00:00:02" };
    assert.equal(targetKept(claim, "t", [el]).kept, true);
    assert.equal(targetKept(claim, "t", [{ ...el, mac: "02:00:0a:00:00:09" }]).kept, false);
    assert.match(targetKept(claim, "t", []).detail, /no element for network t\/vlan100/);
  });
});
