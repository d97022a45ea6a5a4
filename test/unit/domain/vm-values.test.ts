// validateVM's product rules beside KubeVirt's, at the edges the mutation run found unasserted.
// Oracles: KubeVirt v1.9.0 (macAddress is a string; a value of another type is KubeVirt's own
// denial, so ours must not add a second one), DESIGN (only bridge NICs on a Multus network draw
// from a pool; the warning for another NIC names what it uses instead; a NIC's IPClaim is
// <vm name>.<interface>, so a VM without a name holds none).
import assert from "node:assert/strict";
import { validateVM } from "../../../capabilities/admission/rules";
import { IFACES, NETS, snapshot, tenantWorld, vm } from "../admission/fixtures";

const snap = snapshot(tenantWorld());
const one = (iface: Record<string, unknown>): Record<string, unknown> =>
  vm({
    interfaces: [{ name: "default", masquerade: {} }, iface],
    networks: [
      { name: "default", pod: {} },
      { name: "ovs1", multus: { networkName: "tenant-a/vlan100" } },
    ],
  });

describe("validateVM: values the product rules must leave to KubeVirt, and the words of a pool warning", () => {
  it("a macAddress that is a list (its text a MAC) is KubeVirt's one denial, not also a MAC of ours", () => {
    for (const macAddress of [["02:00:00:00:00:01"], ["02:00:00:00:00:01", "x"], { mac: "02:00:00:00:00:01" }]) {
      const r = validateVM(one({ name: "ovs1", bridge: {}, macAddress }), snap);
      assert.equal(r.denials.filter(d => d.field === `${IFACES}[1].macAddress`).length, 1, JSON.stringify(r));
    }
  });

  it("a NIC without a binding, or with others than bridge, on a pool-served network is told what it uses", () => {
    const r = validateVM(one({ name: "ovs1" }), snap);
    const w = r.warnings.find(x => x.field === `${NETS}[1].multus.networkName`);
    assert.match(w?.message ?? "", /but interface "ovs1" uses no binding: only bridge interfaces get a fixed address/, JSON.stringify(r));
    const two = validateVM(one({ name: "ovs1", masquerade: {}, sriov: {} }), snap);
    const w2 = two.warnings.find(x => x.field === `${NETS}[1].multus.networkName`);
    assert.match(w2?.message ?? "", /but interface "ovs1" uses masquerade, sriov: only bridge interfaces/, JSON.stringify(two));
  });

  it("a VM whose name is not a string is unnamed: no IPClaim is looked up under that value", () => {
    const asked: string[] = [];
    const spy = { ...snap, claimHolding: (_ns: string, claim: string) => (asked.push(claim), undefined) };
    const v = one({ name: "ovs1", bridge: {} });
    (v.metadata as Record<string, unknown>).name = 5;
    validateVM(v, spy);
    assert.ok(!asked.some(c => c.startsWith("5.")), JSON.stringify(asked));
    validateVM(one({ name: "ovs1", bridge: {} }), spy);
    assert.ok(asked.includes("web-1.ovs1"), "a named VM's claim is looked up by <vm>.<interface>");
  });
});
