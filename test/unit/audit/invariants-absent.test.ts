// The invariant checker on listings where optional fields are absent rather than empty. Oracles:
// the CRDs (an IPClaim's status.addresses and an IPPool's spec.networks are optional: absent is a
// listing the checker meets) and DESIGN (a Bound claim shows one address per pool: absent
// addresses are "no address", one finding, nothing invented; a pool serving no network backs no
// NIC, so a VM's NIC is not missing a claim of it).
import assert from "node:assert/strict";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../../capabilities/api/ippool-v1alpha1";
import { findProblems, Snapshot } from "../../../capabilities/audit/invariants";
import type { KubeObject } from "../../../capabilities/k8s/client";

const NS = "t";
const BOUND = [{ type: "Bound", status: "True", reason: "Allocated", message: "" }];
const vm: KubeObject = {
  metadata: { name: "a", namespace: NS },
  spec: {
    template: {
      spec: {
        domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } },
        networks: [{ name: "ovs1", multus: { networkName: "vlan100" } }],
      },
    },
  },
};

describe("invariant checker: absent optional fields", () => {
  it("a Bound claim without status.addresses: exactly 'no address'", () => {
    const s = {
      pools: [{ metadata: { name: "p4" }, spec: { cidr: "10.1.0.0/24", networks: [`${NS}/vlan100`] }, status: { allocated: 0 } }],
      claims: [
        {
          metadata: { name: "a.ovs1", namespace: NS, uid: "u" },
          spec: { vm: "a", interface: "ovs1", network: `${NS}/vlan100`, pools: ["p4"] },
          status: { conditions: BOUND, mac: "02:00:0a:01:00:17" },
        },
      ],
      allocations: [],
      vms: [vm],
    } as unknown as Snapshot;
    assert.deepEqual(findProblems(s, { namespace: NS, pools: ["p4"] }).problems, ["empty: t/a.ovs1 is Bound with no address"]);
  });

  it("a pool in scope without spec.networks backs no NIC", () => {
    const s = {
      pools: [{ metadata: { name: "p4" }, spec: { cidr: "10.1.0.0/24" }, status: { allocated: 0 } } as unknown as IPPool],
      claims: [] as IPClaim[],
      allocations: [],
      vms: [vm],
    } as unknown as Snapshot;
    assert.deepEqual(findProblems(s, { namespace: NS, pools: ["p4"] }).problems, []);
  });
});
