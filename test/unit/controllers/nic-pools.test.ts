// The VM controller's plan for a NIC's claim: the pool it chose, else the default; a NIC that holds
// addresses keeps their pools whatever the annotation now says; a broken annotation or choice
// leaves the claim unbound with the reason (never silently on the default).
import assert from "node:assert/strict";
import type { VirtualMachine } from "../../../capabilities/api/external/kubevirt";
import type { ClaimHolding } from "../../../capabilities/domain/snapshot";
import { planNic, poolChoices, PoolsSource } from "../../../capabilities/controllers/nic-pools";
import { bridgeNics } from "../../../capabilities/controllers/render";
import { nad, pool, snapshot } from "../admission/fixtures";

const NET = "t/vlan100";
const POOLS = [
  pool("web", { cidr: "10.1.0.0/24", networks: [NET], default: true }),
  pool("db", { cidr: "10.2.0.0/24", networks: [NET] }),
  pool("v6", { cidr: "fd00:1::/64", networks: [NET] }),
];

function source(holdings: Record<string, ClaimHolding> = {}): PoolsSource {
  return { ...snapshot({ pools: POOLS, nads: [nad("t", "vlan100")] }), claimHolding: (ns, claim) => holdings[`${ns}/${claim}`] };
}

function vm(annotations: Record<string, string> = {}, network = "vlan100"): VirtualMachine {
  return {
    metadata: { name: "app", namespace: "t", annotations },
    spec: {
      template: {
        spec: {
          domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } },
          networks: [{ name: "ovs1", multus: { networkName: network } }],
        },
      },
    },
  } as VirtualMachine;
}

const plan = (v: VirtualMachine, holdings?: Record<string, ClaimHolding>): ReturnType<typeof planNic> =>
  planNic(v, bridgeNics(v)[0], poolChoices(v), source(holdings));

describe("VM controller: the pools of a NIC's claim", () => {
  it("takes the network's default of each family, or the pool the VM chose", () => {
    assert.deepEqual(plan(vm()), { pools: ["web", "v6"] });
    assert.deepEqual(plan(vm({ "vmnet.io/pools": '{"ovs1": "db"}' })), { pools: ["db", "v6"] });
  });

  it("keeps the pools a bound NIC holds when the annotation now names others (the webhook was down)", () => {
    assert.deepEqual(plan(vm({ "vmnet.io/pools": '{"ovs1": "db"}' }), { "t/app.ovs1": { pools: ["web", "v6"], released: false } }), {
      pools: ["web", "v6"],
    });
    assert.deepEqual(plan(vm({ "vmnet.io/pools": "{broken" }), { "t/app.ovs1": { pools: ["web", "v6"], released: false } }), {
      pools: ["web", "v6"],
    });
  });

  it("leaves the claim unbound with the reason for a choice it cannot serve or an annotation that does not parse", () => {
    assert.deepEqual(plan(vm({ "vmnet.io/pools": '{"ovs1": "nope"}' }))?.unbound?.reason, "InvalidRequest");
    const broken = plan(vm({ "vmnet.io/pools": '{"ovs1": "db", "OVS1": "web"}' }));
    assert.deepEqual(broken?.pools, []);
    assert.match(broken?.unbound?.message ?? "", /^annotation vmnet\.io\/pools names interface "ovs1" twice/);
  });

  it("makes no claim for a NIC on a network no pool serves, chosen or not", () => {
    assert.equal(plan(vm({}, "elsewhere")), undefined);
    assert.equal(plan(vm({ "vmnet.io/pools": '{"ovs1": "db"}' }, "elsewhere")), undefined);
  });
});
