import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import type { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import { bridgeNics, requestedAddresses } from "../../../capabilities/controllers/render";
import { projectAllocation, projectClaim, projectVm } from "../../../capabilities/controllers/projections";
import { ClusterView } from "../../../capabilities/controllers/cluster-view";

const managedFields = [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:spec": { "f:template": {} } } }];

/** A VM as the API server returns it: everything the operator does not read is here too. */
function fullVm(): VirtualMachine {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: {
      name: "web",
      namespace: "tenant",
      uid: "u-1",
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2026-12-02T08:00:00Z",
      labels: { app: "web" },
      annotations: { "vmnet.io/addresses": '{"ovs1":"10.0.0.5"}', "kubectl.kubernetes.io/last-applied-configuration": "{...a whole copy...}" },
      finalizers: ["vmnet.io/release"],
      managedFields,
    },
    spec: {
      runStrategy: "Always",
      dataVolumeTemplates: [{ metadata: { name: "disk" }, spec: { storage: { resources: { requests: { storage: "10Gi" } } } } }],
      template: {
        metadata: { labels: { "kubevirt.io/domain": "web" }, annotations: { a: "b" } },
        spec: {
          domain: {
            devices: {
              interfaces: [
                { name: "default", masquerade: {}, ports: [{ port: 80 }] },
                { name: "ovs1", bridge: {}, macAddress: "02:00:00:00:00:07" },
              ],
              disks: [{ name: "root", disk: { bus: "virtio" } }],
              autoattachPodInterface: false,
            },
            resources: { requests: { memory: "1Gi" } },
            cpu: { cores: 2 },
          },
          networks: [
            { name: "default", pod: {} },
            { name: "ovs1", multus: { networkName: "vlan100" } },
          ],
          volumes: [{ name: "root", dataVolume: { name: "disk" } }],
        },
      },
    },
    status: { printableStatus: "Running", ready: true, conditions: [{ type: "Ready", status: "True" }] },
  } as unknown as VirtualMachine;
}

describe("projections of cached objects", () => {
  it("keeps of a VM what the controllers read: metadata, run strategy, NICs, template labels", () => {
    const p = projectVm(fullVm());
    assert.deepEqual(p, {
      metadata: {
        name: "web",
        namespace: "tenant",
        uid: "u-1",
        resourceVersion: "42",
        generation: 3,
        labels: { app: "web" },
        annotations: { "vmnet.io/addresses": '{"ovs1":"10.0.0.5"}' },
        finalizers: ["vmnet.io/release"],
      },
      spec: {
        runStrategy: "Always",
        template: {
          metadata: { labels: { "kubevirt.io/domain": "web" }, annotations: { a: "b" } },
          spec: {
            networks: fullVm().spec!.template!.spec!.networks,
            domain: { devices: { interfaces: fullVm().spec!.template!.spec!.domain!.devices!.interfaces, autoattachPodInterface: false } },
          },
        },
      },
    });
  });

  it("gives the controllers' readers the same answers on the projection as on the full VM", () => {
    const vm = fullVm();
    assert.deepEqual(bridgeNics(projectVm(vm)), bridgeNics(vm));
    assert.deepEqual(requestedAddresses(projectVm(vm)), requestedAddresses(vm));
  });

  it("is idempotent and never shares the dropped parts", () => {
    const once = projectVm(fullVm());
    assert.deepEqual(projectVm(once), once);
    assert.equal((once as { status?: unknown }).status, undefined);
    assert.equal(JSON.stringify(once).includes("managedFields"), false);
  });

  it("keeps a VM without a spec or template as far as it goes", () => {
    assert.deepEqual(projectVm({ metadata: { name: "x", namespace: "n" } } as VirtualMachine), { metadata: { name: "x", namespace: "n" } });
    assert.deepEqual(projectVm({ metadata: { name: "x" }, spec: { running: false } } as VirtualMachine).spec, { running: false });
  });

  it("keeps a claim's spec and status and an allocation's spec, trimming their metadata", () => {
    const claim = {
      metadata: { name: "web.ovs1", namespace: "tenant", uid: "c", resourceVersion: "7", managedFields, ownerReferences: [{ apiVersion: "kubevirt.io/v1", kind: "VirtualMachine", name: "web", uid: "u-1" }] },
      spec: { vm: "web", interface: "ovs1", network: "tenant/vlan100", pool: "p", pools: ["p"] },
      status: { addresses: ["10.0.0.5/24"], mac: "02:00:0a:00:00:05", conditions: [{ type: "Bound", status: "True", reason: "Allocated", message: "m", lastTransitionTime: "t" }] },
    } as unknown as IPClaim;
    const pc = projectClaim(claim);
    assert.equal(pc.metadata?.managedFields, undefined);
    assert.deepEqual(pc.metadata?.ownerReferences, claim.metadata?.ownerReferences);
    assert.deepEqual([pc.spec, pc.status], [claim.spec, claim.status]);
    const alloc = { metadata: { name: "p.10-0-0-5", uid: "a", resourceVersion: "8", labels: { "vmnet.io/pool": "p" }, managedFields }, spec: { pool: "p", address: "10.0.0.5", claimRef: { namespace: "tenant", name: "web.ovs1", uid: "c" } } } as unknown as IPAllocation;
    const pa = projectAllocation(alloc);
    assert.deepEqual(pa, { metadata: { name: "p.10-0-0-5", uid: "a", resourceVersion: "8", labels: { "vmnet.io/pool": "p" } }, spec: alloc.spec });
  });

  it("is what the view's caches hold, whatever path an object comes in by", () => {
    const view = new ClusterView();
    view.caches.vms.upsert(fullVm());
    view.caches.vms.replace([fullVm()]);
    const held = view.caches.vms.get("tenant/web")!;
    assert.deepEqual(held, projectVm(fullVm()));
  });
});
