// Rules of DESIGN.md that deliberate bugs used to slip past (issue 17's list): each expectation is
// written out by hand or comes from the reference model in test/reference/ipam.ts, never from the
// code under test.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import { vmNameOfPod } from "../../../capabilities/domain/launcher-pod";
import type { BindOutcome, ClaimStatus } from "../../../capabilities/controllers/binder";
import { claimMac, sameStatus, statusFor } from "../../../capabilities/controllers/claim-status";
import { targetKept } from "../../../capabilities/controllers/migration-controller";
import { bridgeNics } from "../../../capabilities/controllers/render";
import { formatIP, macFor } from "../../../capabilities/ipam";
import { refMac } from "../../reference/ipam";

const claim = (status: ClaimStatus = {}): IPClaim =>
  ({
    metadata: { name: "web.ovs1", namespace: "t", generation: 1 },
    spec: { vm: "web", interface: "ovs1", network: "t/vlan100", pools: ["p"] },
    status,
  }) as unknown as IPClaim;

const bound = (gateway?: string): BindOutcome => ({
  bound: true,
  addresses: ["10.1.0.23/24"],
  mac: "02:00:0a:01:00:17",
  ...(gateway ? { gateway } : {}),
});

describe("DESIGN rules the mutants slipped past", () => {
  describe("claim status (binder)", () => {
    it("records the pool's gateway in the claim status, and none when the pool has none", () => {
      const s = statusFor(claim(), bound("10.1.0.1"), "2026-01-01T00:00:00Z");
      assert.deepEqual([s.addresses, s.mac, s.gateway, s.released], [["10.1.0.23/24"], "02:00:0a:01:00:17", "10.1.0.1", false]);
      assert.equal("gateway" in statusFor(claim(), bound(), "2026-01-01T00:00:00Z"), false);
    });

    it("keeps the previous addresses when binding fails, with the reason on the Bound condition", () => {
      const prev = statusFor(claim(), bound("10.1.0.1"), "2026-01-01T00:00:00Z");
      const s = statusFor(claim(prev), { bound: false, reason: "Exhausted", message: "full" }, "2026-01-02T00:00:00Z");
      assert.deepEqual([s.addresses, s.mac, s.gateway], [["10.1.0.23/24"], "02:00:0a:01:00:17", "10.1.0.1"]);
      const c = s.conditions!.find(x => x.type === "Bound")!;
      assert.deepEqual([c.status, c.reason, c.message], ["False", "Exhausted", "full"]);
    });

    it("sameStatus: a different MAC, address, gateway, released flag or condition needs a write; a new timestamp does not", () => {
      const a = statusFor(claim(), bound("10.1.0.1"), "2026-01-01T00:00:00Z");
      assert.equal(sameStatus(a, statusFor(claim(), bound("10.1.0.1"), "2026-03-03T00:00:00Z")), true);
      assert.equal(sameStatus(a, { ...a }), true);
      assert.equal(sameStatus(a, { ...a, mac: "02:00:0a:01:00:18" }), false);
      assert.equal(sameStatus(a, { ...a, addresses: ["10.1.0.24/24"] }), false);
      assert.equal(sameStatus(a, { ...a, gateway: undefined }), false);
      assert.equal(sameStatus(a, { ...a, released: true }), false);
      assert.equal(sameStatus(a, { ...a, observedGeneration: 2 }), false);
      assert.equal(sameStatus(a, { ...a, conditions: a.conditions!.map(c => ({ ...c, reason: "Other" })) }), false);
      assert.equal(sameStatus(undefined, {}), true);
      assert.equal(sameStatus(undefined, a), false);
    });

    it("a dual-stack NIC's MAC comes from its IPv4 address in either order; the VM spec's macAddress wins", () => {
      assert.equal(claimMac(["fd00::17/64", "10.100.0.23/24"]), "02:00:0a:64:00:17");
      assert.equal(claimMac(["10.100.0.23/24", "fd00::17/64"]), "02:00:0a:64:00:17");
      assert.equal(claimMac(["fd00::ab:cdef:1234/64"]), "0a:ab:cd:ef:12:34");
      assert.equal(claimMac(["10.100.0.23/24"], "02:AA:BB:CC:DD:EE"), "02:aa:bb:cc:dd:ee");
    });
  });

  describe("MAC derivation against the reference model", () => {
    it("macFor agrees with the reference model for every IPv4 and IPv6 address", () => {
      const v4 = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(n => formatIP(4, BigInt(n)));
      const v6 = fc
        .bigInt({ min: 0n, max: (1n << 128n) - 1n })
        .filter(v => v >> 32n !== 0xffffn)
        .map(v => formatIP(6, v));
      fc.assert(
        fc.property(fc.oneof(v4, v6), a => assert.equal(macFor(a), refMac([a]), a)),
        { numRuns: 2000 },
      );
    });

    it("neighbouring addresses have neighbouring MACs (no off-by-one at either end)", () => {
      assert.equal(macFor("10.0.0.0"), "02:00:0a:00:00:00");
      assert.equal(macFor("10.0.0.255"), "02:00:0a:00:00:ff");
      assert.equal(macFor("10.0.1.0"), "02:00:0a:00:01:00");
      assert.equal(macFor("fd00::ff:ffff:ffff"), "0a:ff:ff:ff:ff:ff");
      assert.equal(macFor("fd00::100:0:0"), "0a:00:00:00:00:00");
    });
  });

  describe("launcher pods and NICs", () => {
    it("names the VM of a launcher pod by its VMI owner reference before the hostname-safe label", () => {
      const pod = {
        metadata: {
          labels: { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": "web" },
          ownerReferences: [
            { kind: "ReplicaSet", name: "other" },
            { kind: "VirtualMachineInstance", name: "web.1" },
          ],
        },
      };
      assert.equal(vmNameOfPod(pod), "web.1");
      assert.equal(
        vmNameOfPod({ metadata: { labels: { "vm.kubevirt.io/name": "web" }, ownerReferences: [{ kind: "ReplicaSet", name: "other" }] } }),
        "web",
      );
      assert.equal(vmNameOfPod({ metadata: { labels: { "vm.kubevirt.io/name": "" } } }), undefined);
    });

    it("gives claims only to bridge NICs on Multus networks: not masquerade or SR-IOV on Multus, not bridge on the pod network", () => {
      const vm = {
        metadata: { name: "web", namespace: "t" },
        spec: {
          template: {
            spec: {
              domain: {
                devices: {
                  interfaces: [
                    { name: "m", masquerade: {} },
                    { name: "b", bridge: {}, macAddress: "02:00:00:00:00:09" },
                    { name: "s", sriov: {} },
                    { name: "p", bridge: {} },
                    { name: "q", bridge: {} },
                  ],
                },
              },
              networks: [
                { name: "m", multus: { networkName: "vlan100" } },
                { name: "b", multus: { networkName: "other/vlan200" } },
                { name: "s", multus: { networkName: "vlan300" } },
                { name: "p", pod: {} },
                { name: "q", multus: { networkName: "vlan400" } },
              ],
            },
          },
        },
      } as unknown as VirtualMachine;
      assert.deepEqual(bridgeNics(vm), [
        { interface: "b", network: "other/vlan200", macAddress: "02:00:00:00:00:09" },
        { interface: "q", network: "t/vlan400", macAddress: undefined },
      ]);
    });
  });

  describe("migration target check", () => {
    const status: ClaimStatus = { addresses: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17" };
    // KubeVirt's pod interface name of NIC ovs1: "pod" + sha256("ovs1")[0:11], written out (not computed when the file loads).
    const iface = "pod1c7714507bd";

    it("keeps a target carrying the claim's address and MAC", () => {
      assert.equal(
        targetKept(claim(status), "t", [{ name: "vlan100", interface: iface, ips: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17" }]).kept,
        true,
      );
      assert.equal(targetKept(claim(status), "t", [{ name: "vlan100", ips: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17" }]).kept, true);
    });

    it("reports a changed IP, a changed MAC, a missing element", () => {
      const changedIp = targetKept(claim(status), "t", [
        { name: "vlan100", interface: iface, ips: ["10.1.0.24/24"], mac: "02:00:0a:01:00:17" },
      ]);
      assert.equal(changedIp.kept, false);
      assert.match(changedIp.detail, /10\.1\.0\.24/);
      assert.equal(targetKept(claim(status), "t", [{ name: "vlan100", interface: iface, mac: "02:00:0a:01:00:17" }]).kept, false);
      assert.equal(
        targetKept(claim(status), "t", [{ name: "vlan100", interface: iface, ips: ["10.1.0.23/24"], mac: "02:00:0a:01:00:18" }]).kept,
        false,
      );
      assert.equal(targetKept(claim(status), "t", [{ name: "vlan999", ips: ["10.1.0.23/24"], mac: "02:00:0a:01:00:17" }]).kept, false);
    });
  });
});
