// The renderers' outputs written out in full, from DESIGN.md (IPClaim per bridge NIC on a Multus
// network, IPAllocation named <pool>.<address>), not from the code: each field a reconciler
// writes is pinned, so a renderer that drops or alters one fails here (mutation testing showed
// which ones the broader tests let through).
import assert from "node:assert/strict";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import { claimMac, sameStatus, statusFor } from "../../../capabilities/controllers/claim-status";
import { targetKept } from "../../../capabilities/controllers/migration-controller";
import {
  bridgeNics,
  claimName,
  claimSpecDiffers,
  renderAllocation,
  renderClaim,
  requestedAddresses,
  setCondition,
} from "../../../capabilities/controllers/render";

type Iface = Record<string, unknown> & { name: string };
type Net = Record<string, unknown> & { name: string };

function vmWith(interfaces: Iface[], networks: Net[], meta: Record<string, unknown> = { name: "web", namespace: "t" }): VirtualMachine {
  return { metadata: meta, spec: { template: { spec: { domain: { devices: { interfaces } }, networks } } } } as unknown as VirtualMachine;
}

const multus = (name: string, networkName: string): Net => ({ name, multus: { networkName } });

describe("controller renderers, field by field", () => {
  describe("bridgeNics", () => {
    it("takes a bridge NIC on a Multus network and nothing else", () => {
      const vm = vmWith(
        [
          { name: "br", bridge: {}, macAddress: "02:aa:00:00:00:01" },
          { name: "masq", masquerade: {} },
          { name: "pod-br", bridge: {} },
          { name: "both", bridge: {}, sriov: {} },
          { name: "sriov", sriov: {} },
          { name: "no-net", bridge: {} },
          { name: "empty-name", bridge: {} },
        ],
        [
          multus("br", "vlan100"),
          multus("masq", "vlan100"),
          { name: "pod-br", pod: {} },
          multus("both", "vlan100"),
          multus("sriov", "vlan100"),
          multus("empty-name", ""),
        ],
      );
      assert.deepEqual(bridgeNics(vm), [{ interface: "br", network: "t/vlan100", macAddress: "02:aa:00:00:00:01" }]);
    });

    it("keeps a namespaced network name and qualifies a bare one with the VM's namespace, default when it has none", () => {
      const nets = [multus("a", "other/vlan1"), multus("b", "vlan2")];
      const ifaces = [
        { name: "a", bridge: {} },
        { name: "b", bridge: {} },
      ];
      assert.deepEqual(
        bridgeNics(vmWith(ifaces, nets)).map(n => n.network),
        ["other/vlan1", "t/vlan2"],
      );
      assert.deepEqual(
        bridgeNics(vmWith(ifaces, nets, { name: "web" })).map(n => n.network),
        ["other/vlan1", "default/vlan2"],
      );
    });
  });

  it("renders the claim of a NIC: name vm.nic, labels, spec with the first pool as pool", () => {
    const vm = vmWith([{ name: "ovs1", bridge: {} }], [multus("ovs1", "vlan100")]);
    const nic = bridgeNics(vm)[0];
    assert.equal(claimName("web", "ovs1"), "web.ovs1");
    assert.deepEqual(renderClaim(vm, nic, ["p4", "p6"]), {
      apiVersion: "vmnet.io/v1alpha1",
      kind: "IPClaim",
      metadata: { name: "web.ovs1", namespace: "t", labels: { "vmnet.io/vm": "web", "app.kubernetes.io/managed-by": "vmnet-operator" } },
      spec: { vm: "web", interface: "ovs1", network: "t/vlan100", pool: "p4", pools: ["p4", "p6"] },
    });
    assert.equal(renderClaim(vm, nic, []).spec?.pool, "");
  });

  it("renders the IPAllocation of an address: named <pool>.<encoded address>, labelled with the pool, pointing at the claim", () => {
    assert.deepEqual(renderAllocation("p4", "10.1.0.23", { namespace: "t", name: "web.ovs1", uid: "u-1" }), {
      apiVersion: "vmnet.io/v1alpha1",
      kind: "IPAllocation",
      metadata: { name: "p4.10-1-0-23", labels: { "vmnet.io/pool": "p4", "app.kubernetes.io/managed-by": "vmnet-operator" } },
      spec: { pool: "p4", address: "10.1.0.23", claimRef: { namespace: "t", name: "web.ovs1", uid: "u-1" } },
    });
  });

  it("claimSpecDiffers: network, pool and pools matter; vm and interface alone do not", () => {
    const spec = { vm: "web", interface: "ovs1", network: "t/vlan100", pool: "p4", pools: ["p4", "p6"] };
    const c = (s: Record<string, unknown> | undefined): IPClaim => ({ spec: s }) as unknown as IPClaim;
    assert.equal(claimSpecDiffers(c(spec), c({ ...spec })), false);
    assert.equal(claimSpecDiffers(c(spec), c({ ...spec, vm: "other", interface: "x" })), false);
    assert.equal(claimSpecDiffers(c(spec), c({ ...spec, network: "t/vlan200" })), true);
    assert.equal(claimSpecDiffers(c(spec), c({ ...spec, pool: "q4" })), true);
    assert.equal(claimSpecDiffers(c(spec), c({ ...spec, pools: ["p4"] })), true);
    assert.equal(claimSpecDiffers(c({ ...spec, pools: undefined }), c({ ...spec, pools: [] })), false);
    assert.equal(claimSpecDiffers(c({ ...spec, pools: undefined }), c({ ...spec, pools: ["p4"] })), true);
    assert.equal(claimSpecDiffers(undefined, c(spec)), true);
    assert.equal(claimSpecDiffers(c(undefined), c(spec)), true);
    assert.equal(claimSpecDiffers(c(spec), c(undefined)), true);
  });

  describe("requestedAddresses (vmnet.io/addresses)", () => {
    const vm = (value?: string): VirtualMachine =>
      ({
        metadata: { name: "web", namespace: "t", annotations: value === undefined ? {} : { "vmnet.io/addresses": value } },
      }) as unknown as VirtualMachine;
    const read = (value?: string): { byInterface: [string, string[]][]; error?: string } => {
      const r = requestedAddresses(vm(value));
      return { byInterface: [...r.byInterface], ...(r.error === undefined ? {} : { error: r.error }) };
    };

    it("reads a list or a single string per interface; no annotation or an empty one means none", () => {
      assert.deepEqual(read('{"ovs1": "10.0.0.5", "ovs2": ["10.0.1.5", "fd00::5"]}'), {
        byInterface: [
          ["ovs1", ["10.0.0.5"]],
          ["ovs2", ["10.0.1.5", "fd00::5"]],
        ],
      });
      assert.deepEqual(read(), { byInterface: [] });
      assert.deepEqual(read(""), { byInterface: [] });
      assert.deepEqual(requestedAddresses({ metadata: {} } as unknown as VirtualMachine).byInterface.size, 0);
    });

    it("names the annotation, its value and what is wrong", () => {
      // One parser (domain/vm-addresses.ts) for the webhook and the controller: the same words in both.
      const fix = '; write it as {"ovs1": "10.100.0.23"} or {"ovs1": ["10.100.0.23", "fd00:100::23"]}';
      const prefix = "metadata.annotations['vmnet.io/addresses']";
      assert.deepEqual(read("[1]"), {
        byInterface: [],
        error: `${prefix} = "[1]" is not valid: Invalid input: expected record, received array${fix}`,
      });
      assert.deepEqual(read("null"), {
        byInterface: [],
        error: `${prefix} = "null" is not valid: Invalid input: expected record, received null${fix}`,
      });
      assert.deepEqual(read('"x"'), {
        byInterface: [],
        error: `${prefix} = "\\"x\\"" is not valid: Invalid input: expected record, received string${fix}`,
      });
      assert.deepEqual(read('{"ovs1": [5]}'), {
        byInterface: [],
        error: `${prefix}.ovs1 = "{\\"ovs1\\": [5]}" is not valid: must be an address or a list of one or two addresses (one per IP family)${fix}`,
      });
      const bad = read("{nope");
      assert.match(String(bad.error), /^metadata\.annotations\['vmnet\.io\/addresses'\] = "\{nope" is not valid: is not JSON \S/);
    });
  });

  describe("setCondition", () => {
    it("replaces the condition of the same type, keeps the others, sorted by type", () => {
      const list = setCondition(
        [
          { type: "Ready", status: "True", reason: "R", message: "", lastTransitionTime: "t0" },
          { type: "Bound", status: "False", reason: "Exhausted", message: "m", lastTransitionTime: "t0" },
        ],
        { type: "Bound", status: "True", reason: "Allocated", message: "ok" },
        "t1",
      );
      assert.deepEqual(list, [
        { type: "Bound", status: "True", reason: "Allocated", message: "ok", lastTransitionTime: "t1" },
        { type: "Ready", status: "True", reason: "R", message: "", lastTransitionTime: "t0" },
      ]);
      const added = setCondition(
        [{ type: "Ready", status: "True", reason: "R", message: "", lastTransitionTime: "t0" }],
        { type: "Bound", status: "True", reason: "A", message: "" },
        "t2",
      );
      assert.deepEqual(
        added.map(c => `${c.type}@${c.lastTransitionTime}`),
        ["Bound@t2", "Ready@t0"],
      );
    });
  });

  describe("claim status (binder)", () => {
    it("the MAC: the spec's macAddress lowercased, else from the IPv4 address of a dual-stack NIC, else from the IPv6 one", () => {
      assert.equal(claimMac(["10.1.0.23/24"]), "02:00:0a:01:00:17");
      assert.equal(claimMac(["fd00:1::17/64", "10.1.0.23/24"]), "02:00:0a:01:00:17");
      assert.equal(claimMac(["fd00:1::ab:cdef:1234/64"]), "0a:ab:cd:ef:12:34");
      assert.equal(claimMac(["10.1.0.23/24"], "02:AB:00:00:00:01"), "02:ab:00:00:00:01");
    });

    it("a bound status carries addresses, MAC, gateway, generation and a True Bound condition", () => {
      const claim = { metadata: { generation: 3 }, status: { released: true } } as unknown as IPClaim;
      const s = statusFor(claim, { bound: true, addresses: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17", gateway: "10.1.0.1" }, "t1");
      assert.deepEqual(s, {
        addresses: ["10.1.0.23/24"],
        mac: "02:00:0a:01:00:17",
        gateway: "10.1.0.1",
        released: false,
        observedGeneration: 3,
        conditions: [
          {
            type: "Bound",
            status: "True",
            reason: "Allocated",
            message: "10.1.0.23/24 with MAC 02:00:0a:01:00:17",
            observedGeneration: 3,
            lastTransitionTime: "t1",
          },
        ],
      });
      assert.equal("gateway" in statusFor(claim, { bound: true, addresses: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17" }, "t1"), false);
    });

    it("a failed bind keeps what the claim shows and sets Bound False with the reason", () => {
      const claim = {
        metadata: { generation: 2 },
        status: { addresses: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17" },
      } as unknown as IPClaim;
      assert.deepEqual(statusFor(claim, { bound: false, reason: "Exhausted", message: "pool p4: full" }, "t1"), {
        addresses: ["10.1.0.23/24"],
        mac: "02:00:0a:01:00:17",
        observedGeneration: 2,
        conditions: [
          {
            type: "Bound",
            status: "False",
            reason: "Exhausted",
            message: "pool p4: full",
            observedGeneration: 2,
            lastTransitionTime: "t1",
          },
        ],
      });
    });

    it("sameStatus sees every field but the timestamps", () => {
      const claim = { metadata: { generation: 1 }, status: {} } as unknown as IPClaim;
      const base = statusFor(claim, { bound: true, addresses: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17", gateway: "10.1.0.1" }, "t1");
      const cond = base.conditions![0];
      assert.equal(sameStatus(base, { ...base, conditions: [{ ...cond, lastTransitionTime: "t9" }] }), true);
      const variants: [string, object][] = [
        ["addresses", { addresses: ["10.1.0.24/24"] }],
        ["mac", { mac: "02:00:0a:01:00:18" }],
        ["gateway", { gateway: "10.1.0.254" }],
        ["released", { released: true }],
        ["observedGeneration", { observedGeneration: 2 }],
        ["condition type", { conditions: [{ ...cond, type: "Ready" }] }],
        ["condition status", { conditions: [{ ...cond, status: "False" }] }],
        ["condition reason", { conditions: [{ ...cond, reason: "Other" }] }],
        ["condition message", { conditions: [{ ...cond, message: "other" }] }],
        ["condition generation", { conditions: [{ ...cond, observedGeneration: 2 }] }],
        ["no conditions", { conditions: [] }],
      ];
      for (const [what, change] of variants) assert.equal(sameStatus(base, { ...base, ...change }), false, what);
      assert.equal(sameStatus(undefined, base), false);
      assert.equal(sameStatus({}, { addresses: [], conditions: [] }), true, "absent lists equal empty ones");
      assert.equal(sameStatus({ addresses: [] }, {}), true);
      const two = statusFor(claim, { bound: true, addresses: ["10.1.0.23/24", "fd00:1::17/64"], mac: "02:00:0a:01:00:17" }, "t1");
      assert.equal(two.conditions![0].message, "10.1.0.23/24, fd00:1::17/64 with MAC 02:00:0a:01:00:17");
      assert.equal(sameStatus(undefined, {} as typeof base), true);
    });
  });

  describe("migration target check (targetKept)", () => {
    // KubeVirt's pod interface names: "pod" + sha256(NIC name)[0:11], written out.
    const OVS1 = "pod1c7714507bd";
    const claim = {
      spec: { vm: "web", interface: "ovs1", network: "t/vlan100" },
      status: { addresses: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17" },
    } as unknown as IPClaim;
    const el = (over: Record<string, unknown>): { name: string } =>
      ({ name: "vlan100", ips: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17", ...over }) as { name: string };

    it("finds the element by hashed interface name first, else by network (the pod's namespace when none)", () => {
      const wrongFirst = [el({ mac: "02:00:0a:01:00:99" }), el({ interface: OVS1, name: "renamed" })];
      assert.deepEqual(targetKept(claim, "t", wrongFirst), { kept: true, detail: "10.1.0.23/24 MAC 02:00:0a:01:00:17" });
      assert.equal(targetKept(claim, "t", [el({ namespace: "t" })]).kept, true);
      assert.equal(targetKept(claim, "t", [el({ namespace: "" })]).kept, true);
      assert.deepEqual(targetKept(claim, "other", [el({})]), {
        kept: false,
        detail: "the target pod has no element for network t/vlan100",
      });
      assert.deepEqual(targetKept(claim, "t", [el({ namespace: "x" })]), {
        kept: false,
        detail: "the target pod has no element for network t/vlan100",
      });
    });

    it("says what the target carries against what the claim holds", () => {
      assert.deepEqual(targetKept(claim, "t", [el({ ips: ["10.1.0.24/24"] })]), {
        kept: false,
        detail: 'the target pod carries ["10.1.0.24/24"] MAC 02:00:0a:01:00:17, the claim ["10.1.0.23/24"] MAC 02:00:0a:01:00:17',
      });
      assert.deepEqual(targetKept(claim, "t", [el({ ips: undefined, mac: undefined })]), {
        kept: false,
        detail: 'the target pod carries [] MAC undefined, the claim ["10.1.0.23/24"] MAC 02:00:0a:01:00:17',
      });
      const bare = { spec: { vm: "web", interface: "ovs1", network: "t/vlan100" } } as unknown as IPClaim;
      assert.deepEqual(targetKept(bare, "t", [el({ ips: undefined, mac: undefined })]), { kept: true, detail: " MAC undefined" });
    });
  });
});
