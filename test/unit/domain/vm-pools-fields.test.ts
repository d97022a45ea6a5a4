// Where validateVM files a pool problem and what value it names, and which NICs vm-pools.ts
// resolves at all. Oracles: the Finding contract (findings.ts: field is where the user fixes it,
// value the offending value), DESIGN (a choice the user wrote is fixed in vmnet.io/pools, a
// network without a default or a NIC that keeps its held pool without choosing is about the
// network; only bridge NICs on a Multus network draw from a pool, and vmnet.io/addresses for
// another NIC is refused, while one for a network no pool serves yet only waits).
import assert from "node:assert/strict";
import { validateVM } from "../../../capabilities/admission/rules";
import type { AdmissionSnapshot, ClaimHolding } from "../../../capabilities/domain/snapshot";
import type { ValidationResult } from "../../../capabilities/domain/findings";
import { NETS, nad, pool, snapshot, vm } from "../admission/fixtures";

const POOLS = "metadata.annotations['vmnet.io/pools']";
const ADDRESSES = "metadata.annotations['vmnet.io/addresses']";
const NET = "tenant-a/vlan100";
const NET_FIELD = `${NETS}[1].multus.networkName`;
const WEB = pool("web", { cidr: "10.100.0.0/24", networks: [NET], default: true });
const DB = pool("db", { cidr: "10.101.0.0/24", networks: [NET] });
const V6A = pool("v6a", { cidr: "fd00:100::/64", networks: [NET] });
const V6B = pool("v6b", { cidr: "fd00:101::/64", networks: [NET] });

function world(pools = [WEB, DB, V6A], holdings: Record<string, ClaimHolding> = {}): AdmissionSnapshot {
  const base = snapshot({ pools, nads: [nad("tenant-a", "vlan100")], namespaces: { "tenant-a": { tenant: "a" } } });
  return { ...base, claimHolding: (ns, claim) => holdings[`${ns}/${claim}`], freeCount: () => 100n };
}
const at = (r: ValidationResult, field: string): ValidationResult["denials"] => r.denials.filter(d => d.field === field);
const show = (r: ValidationResult): string => JSON.stringify(r, null, 1);

describe("validateVM: the field and value of a pool problem", () => {
  it("a chosen pool that does not exist: at the choice, naming that pool", () => {
    const r = validateVM(vm({ annotations: { "vmnet.io/pools": '{"ovs1": "nope"}' } }), world());
    const d = at(r, `${POOLS}.ovs1`);
    assert.equal(d.length, 1, show(r));
    assert.equal(d[0].value, "nope");
  });

  it("a family without a default beside a chosen IPv4 pool: at the network, naming the network", () => {
    const r = validateVM(vm({ annotations: { "vmnet.io/pools": '{"ovs1": "db"}' } }), world([WEB, DB, V6A, V6B]));
    assert.deepEqual(at(r, `${POOLS}.ovs1`), [], show(r));
    const d = at(r, NET_FIELD);
    assert.equal(d.length, 1, show(r));
    assert.equal(d[0].value, NET);
    assert.match(d[0].message, /has 2 IPv6 pools for namespace "tenant-a"/);
  });

  it("a held pool the NIC did not choose (the admin moved the default): at the network, naming the network", () => {
    const holdings = { "tenant-a/web-1.ovs1": { pools: ["db"], released: false } };
    const r = validateVM(vm(), world([WEB, DB], holdings));
    const d = at(r, NET_FIELD);
    assert.equal(d.length, 1, show(r));
    assert.equal(d[0].value, NET);
    assert.match(d[0].message, /holds its addresses in IPPool "db", not in "web"/);
  });

  it("a held pool against the NIC's own choice: at the choice, naming the choice", () => {
    const holdings = { "tenant-a/web-1.ovs1": { pools: ["web"], released: false } };
    const r = validateVM(vm({ annotations: { "vmnet.io/pools": '{"ovs1": "db"}' } }), world([WEB, DB], holdings));
    const d = at(r, `${POOLS}.ovs1`);
    assert.equal(d.length, 1, show(r));
    assert.deepEqual(d[0].value, ["db"]);
  });

  it("a valid choice on a network pools serve is checked, not told to wait for a pool", () => {
    const r = validateVM(vm({ annotations: { "vmnet.io/pools": '{"ovs1": "db"}' } }), world());
    assert.deepEqual(r, { denials: [], warnings: [] });
  });
});

describe("validateVM: vmnet.io/addresses for a NIC that draws from no pool", () => {
  it("a bridge NIC on the pod network is refused, not told to wait for a pool", () => {
    const v = vm({
      interfaces: [{ name: "default", bridge: {} }],
      networks: [{ name: "default", pod: {} }],
      annotations: { "vmnet.io/addresses": '{"default": "10.100.0.23"}' },
      templateAnnotations: { "kubevirt.io/allow-pod-bridge-network-live-migration": "" },
    });
    const r = validateVM(v, world());
    const d = at(r, `${ADDRESSES}.default`);
    assert.equal(d.length, 1, show(r));
    assert.match(d[0].message, /which is not on a \(valid\) Multus network/);
    assert.deepEqual(
      r.warnings.filter(w => w.field === `${ADDRESSES}.default`),
      [],
    );
  });
});
