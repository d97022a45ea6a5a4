import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import type { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import { bridgeNics, requestedAddresses } from "../../../capabilities/controllers/render";
import { projectAllocation, projectClaim, projectVm } from "../../../capabilities/controllers/projections";
import { ClusterView } from "../../../capabilities/controllers/cluster-view";
import { interfaceProblems, kubevirtNetworkVerdict } from "../../../capabilities/domain/kubevirt-rules";
import { planNic, poolChoices, PoolsSource } from "../../../capabilities/controllers/nic-pools";
import { specMacUses } from "../../../capabilities/controllers/mac-guard";
import { renderService } from "../../../capabilities/controllers/service-controller";
import { nad, pool, snapshot } from "../admission/fixtures";

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
      annotations: {
        "vmnet.io/addresses": '{"ovs1":"10.0.0.5"}',
        "kubectl.kubernetes.io/last-applied-configuration": "{...a whole copy...}",
      },
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
      metadata: {
        name: "web.ovs1",
        namespace: "tenant",
        uid: "c",
        resourceVersion: "7",
        managedFields,
        ownerReferences: [{ apiVersion: "kubevirt.io/v1", kind: "VirtualMachine", name: "web", uid: "u-1" }],
      },
      spec: { vm: "web", interface: "ovs1", network: "tenant/vlan100", pool: "p", pools: ["p"] },
      status: {
        addresses: ["10.0.0.5/24"],
        mac: "02:00:0a:00:00:05",
        conditions: [{ type: "Bound", status: "True", reason: "Allocated", message: "m", lastTransitionTime: "t" }],
      },
    } as unknown as IPClaim;
    const pc = projectClaim(claim);
    assert.equal(pc.metadata?.managedFields, undefined);
    assert.deepEqual(pc.metadata?.ownerReferences, claim.metadata?.ownerReferences);
    assert.deepEqual([pc.spec, pc.status], [claim.spec, claim.status]);
    const alloc = {
      metadata: { name: "p.10-0-0-5", uid: "a", resourceVersion: "8", labels: { "vmnet.io/pool": "p" }, managedFields },
      spec: { pool: "p", address: "10.0.0.5", claimRef: { namespace: "tenant", name: "web.ovs1", uid: "c" } },
    } as unknown as IPAllocation;
    const pa = projectAllocation(alloc);
    assert.deepEqual(pa, {
      metadata: { name: "p.10-0-0-5", uid: "a", resourceVersion: "8", labels: { "vmnet.io/pool": "p" } },
      spec: alloc.spec,
    });
  });

  it("is what the view's caches hold, whatever path an object comes in by", () => {
    const view = new ClusterView();
    view.caches.vms.upsert(fullVm());
    view.caches.vms.replace([fullVm()]);
    const held = view.caches.vms.get("tenant/web")!;
    assert.deepEqual(held, projectVm(fullVm()));
  });
});

// The controllers decide on the cached VM, a projection. Every reader they use (KubeVirt's rules
// checked again, pool choice, requested addresses, the NICs, spec MACs, the Service) must decide
// the same on the projection as on the VM as stored: a field the projection drops and a rule
// reads shows up here as a different verdict.
describe("projection of a VM: the controllers' verdicts are those on the full object", () => {
  const NET = "tenant/vlan100";
  const POOLS = [
    pool("web", { cidr: "10.1.0.0/24", networks: [NET], default: true }),
    pool("db", { cidr: "10.2.0.0/24", networks: [NET] }),
    pool("v6", { cidr: "fd00:1::/64", networks: [NET] }),
  ];
  const source: PoolsSource = { ...snapshot({ pools: POOLS, nads: [nad("tenant", "vlan100")] }), claimHolding: () => undefined };

  type Obj = Record<string, unknown>;
  /** The parts of a VM the cases edit. */
  interface Parts {
    annotations: Record<string, string>;
    tspec: Obj;
    devices: Obj;
    ifaces: Obj[];
    nets: Obj[];
  }
  /** A full VM (fullVm) with `edit` applied to a copy of it. */
  const variant = (edit: (p: Parts) => void): VirtualMachine => {
    const vm = fullVm();
    const tspec = vm.spec!.template!.spec! as unknown as Obj;
    const devices = vm.spec!.template!.spec!.domain!.devices! as unknown as Obj;
    edit({ annotations: vm.metadata!.annotations!, tspec, devices, ifaces: devices.interfaces as Obj[], nets: tspec.networks as Obj[] });
    return vm;
  };

  const cases: [string, VirtualMachine][] = [
    ["a valid VM", fullVm()],
    [
      "a NIC whose boot position a disk already has",
      variant(p => {
        p.devices.disks = [
          { name: "root", disk: {}, bootOrder: 1 },
          { name: "data", disk: {} },
          { name: "cd", cdrom: {}, bootOrder: 2 },
        ];
        p.ifaces[1].bootOrder = 2;
      }),
    ],
    [
      "a network probe without a pod network",
      variant(p => {
        p.tspec.networks = [{ name: "ovs1", multus: { networkName: "vlan100" } }];
        p.devices.interfaces = [{ name: "ovs1", bridge: {} }];
        p.tspec.readinessProbe = { httpGet: { port: 80 }, initialDelaySeconds: 5 };
        p.tspec.livenessProbe = { tcpSocket: { port: 22 }, periodSeconds: 3 };
      }),
    ],
    [
      "an exec probe without a pod network (allowed)",
      variant(p => {
        p.tspec.networks = [{ name: "ovs1", multus: { networkName: "vlan100" } }];
        p.devices.interfaces = [{ name: "ovs1", bridge: {} }];
        p.tspec.readinessProbe = { exec: { command: ["true"] } };
      }),
    ],
    [
      "interface fields KubeVirt refuses",
      variant(p => {
        Object.assign(p.ifaces[1], {
          model: "rtl9999",
          pciAddress: "0000:81:11.9",
          state: "down",
          portRanges: [{ start: 1 }],
          dhcpOptions: { ntpServers: ["fd00::1"], privateOptions: [{ option: 12 }] },
          ports: [{ port: 22 }],
        });
      }),
    ],
    [
      "two bindings, a plugin and a reserved masquerade MAC",
      variant(p => {
        p.ifaces[0].macAddress = "02:00:00:00:00:00";
        p.ifaces[1].masquerade = {};
        p.ifaces.push({ name: "plug", binding: { name: "macvtap" } });
        p.nets.push({ name: "plug", multus: { networkName: "vlan100" } });
      }),
    ],
    [
      "a network without an interface, autoattach left on",
      variant(p => {
        delete p.devices.autoattachPodInterface;
        p.nets.push({ name: "lonely", multus: { networkName: "vlan100" } });
      }),
    ],
    ["a pool chosen per NIC", variant(p => void (p.annotations["vmnet.io/pools"] = '{"ovs1": "db"}'))],
    ["a pool choice that does not parse", variant(p => void (p.annotations["vmnet.io/pools"] = "{broken"))],
    ["an exposed masquerade NIC", variant(p => void (p.annotations["vmnet.io/expose"] = "ClusterIP"))],
  ];

  /** Everything the VM controller decides from a VM, as plain data. */
  const decisions = (vm: VirtualMachine): unknown => {
    const verdict = kubevirtNetworkVerdict(vm);
    const choices = poolChoices(vm);
    return {
      verdict,
      perInterface: bridgeNics(vm).map(n => [n.interface, interfaceProblems(verdict, vm, n.interface)]),
      plans: bridgeNics(vm).map(n => planNic(vm, n, choices, source)),
      requested: requestedAddresses(vm),
      specMacs: specMacUses(vm),
      service: renderService(vm, ["ClusterIP"]),
    };
  };

  for (const [what, vm] of cases) {
    it(`decides the same on the projection: ${what}`, () => {
      assert.deepEqual(decisions(projectVm(vm)), decisions(vm));
    });
  }

  it("the cases above exercise the rules the projection must keep fields for (so a dropped field would fail)", () => {
    const fields = cases.flatMap(([, vm]) => kubevirtNetworkVerdict(vm).denials.map(d => d.field));
    for (const want of [
      /disks|bootOrder/,
      /readinessProbe\.httpGet/,
      /livenessProbe\.tcpSocket/,
      /\.model$/,
      /\.pciAddress$/,
      /\.dhcpOptions/,
      /\.portRanges$/,
      /\.macAddress$/,
      /\.masquerade$/,
      /networks\[\d+\]\.name$/,
    ])
      assert.ok(
        fields.some(f => want.test(f)),
        `no case is denied on a field matching ${want}: ${fields.join(", ")}`,
      );
    assert.deepEqual((decisions(cases[7][1]) as { plans: unknown }).plans, [{ pools: ["db", "v6"] }]);
    assert.equal((decisions(cases[8][1]) as { plans: { unbound?: { reason: string } }[] }).plans[0].unbound?.reason, "InvalidRequest");
    assert.ok("service" in (renderService(cases[9][1], ["ClusterIP"]) ?? {}));
  });
});
