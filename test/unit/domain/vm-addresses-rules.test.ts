// vmnet.io/addresses through validateVM, at the edges the mutation run found unasserted. Oracles:
// the annotation format in docs (a JSON object of interface name to one address or a list of
// one or two, one per family), DESIGN (an address is requested only for a bridge NIC on a Multus
// network a pool serves; one for a network no pool serves yet waits, GitOps may apply the pool
// later; an address another tenant holds is only "in use", naming nobody; each NIC gets its own
// address), and the Finding contract (one denial per problem, where the user fixes it).
import assert from "node:assert/strict";
import { validateVM } from "../../../capabilities/admission/rules";
import type { AdmissionSnapshot, ValidationResult } from "../../../capabilities/admission/rules";
import { nad, pool, snapshot, tenantWorld, vm } from "../admission/fixtures";

const ADDR = "metadata.annotations['vmnet.io/addresses']";
const NET = "tenant-a/vlan100";
const snap = snapshot(tenantWorld({ nads: [nad("tenant-a", "lonely")] }));
const show = (r: ValidationResult): string => JSON.stringify(r, null, 1);
const at = (r: ValidationResult, field: string): ValidationResult["denials"] => r.denials.filter(d => d.field === field);
/** A VM with the pod NIC and bridge NICs ovs1 and ovs2 on tenant-a/vlan100, asking for `addresses`. */
const twoNics = (addresses: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  vm({
    interfaces: [
      { name: "default", masquerade: {} },
      { name: "ovs1", bridge: {} },
      { name: "ovs2", bridge: {} },
    ],
    networks: [
      { name: "default", pod: {} },
      { name: "ovs1", multus: { networkName: NET } },
      { name: "ovs2", multus: { networkName: NET } },
    ],
    annotations: { "vmnet.io/addresses": JSON.stringify(addresses), ...extra },
  });

describe("validateVM: vmnet.io/addresses, one denial per problem", () => {
  it("two NICs asking for the same address that cannot be had: each its own denial, no duplicate on top", () => {
    for (const address of ["banana", "10.100.0.1", "10.100.0.50"]) {
      const r = validateVM(twoNics({ ovs1: address, ovs2: address }), snap);
      assert.deepEqual(
        r.denials.map(d => d.field),
        [`${ADDR}.ovs1`, `${ADDR}.ovs2`],
        `${address}: ${show(r)}`,
      );
      assert.ok(!show(r).includes("every interface needs its own address"), show(r));
    }
    const same = validateVM(twoNics({ ovs1: "10.100.0.23", ovs2: "10.100.0.23" }), snap);
    assert.deepEqual(
      same.denials.map(d => d.field),
      [`${ADDR}.ovs2`],
    );
    assert.match(same.denials[0].message, /requested for interfaces "ovs1" and "ovs2"/);
  });

  it("the hint for a malformed address: a prefix length is named, anything else gets an example", () => {
    const r = validateVM(twoNics({ ovs1: "10.100.0.23/24", ovs2: "banana" }), snap);
    assert.match(at(r, `${ADDR}.ovs1`)[0]?.message ?? "", /; give the address without a prefix length$/, show(r));
    assert.match(at(r, `${ADDR}.ovs2`)[0]?.message ?? "", /; give an IPv4 or IPv6 address such as 10\.100\.0\.23$/, show(r));
  });

  it("an interface the VM lacks: the message lists the VM's interfaces", () => {
    const r = validateVM(twoNics({ ovs9: "10.100.0.23" }), snap);
    assert.match(at(r, `${ADDR}.ovs9`)[0]?.message ?? "", /which the VM does not have \(interfaces: default, ovs1, ovs2\)/, show(r));
    const bare = validateVM(vm({ interfaces: [], networks: [], annotations: { "vmnet.io/addresses": '{"ovs9": "10.100.0.23"}' } }), snap);
    assert.match(at(bare, `${ADDR}.ovs9`)[0]?.message ?? "", /which the VM does not have \(interfaces: none\)/, show(bare));
  });

  it('an empty interface name is refused at the annotation with our own message, not zod\'s "Invalid key in record"', () => {
    for (const value of [{ "": "10.100.0.23" }, { ovs1: "10.100.0.23", "": ["10.100.0.24"] }]) {
      const r = validateVM(twoNics(value), snap);
      assert.deepEqual(
        r.denials.map(d => [d.field, d.message]),
        [
          [
            ADDR,
            `annotation vmnet.io/addresses ${JSON.stringify(JSON.stringify(value))} has an empty interface name (""): each key must name one of the VM's interfaces; write it as {"ovs1": "10.100.0.23"} or {"ovs1": ["10.100.0.23", "fd00:100::23"]}`,
          ],
        ],
        show(r),
      );
    }
  });

  it("an IPv6 address whose MAC twin this NIC holds itself is its own MAC, no collision; another NIC's twin is", () => {
    const twin = (claim: string): AdmissionSnapshot =>
      snapshot(
        tenantWorld({
          allocations: [
            { pool: "tenant-a-vlan100-v6", address: "fd00:100::1:0:0:23", namespace: "tenant-a", claim, vm: claim.split(".")[0] },
          ],
        }),
      );
    const v = vm({ annotations: { "vmnet.io/addresses": '{"ovs1": ["10.100.0.23", "fd00:100::1:ab00:0:23"]}' } });
    assert.deepEqual(validateVM(v, twin("web-1.ovs1")).denials, []);
    const r = validateVM(v, twin("web-2.ovs1"));
    assert.match(at(r, `${ADDR}.ovs1[1]`)[0]?.message ?? "", /would get MAC 0a:00:00:00:00:23, which an address already held/, show(r));
  });

  it("with vmnet.io/pools unreadable, the addresses are not checked: the pools' denial says why", () => {
    const r = validateVM(twoNics({ ovs1: "10.100.0.23" }, { "vmnet.io/pools": "{nope" }), snap);
    assert.deepEqual(
      r.denials.map(d => d.field),
      ["metadata.annotations['vmnet.io/pools']"],
      show(r),
    );
  });

  it("a network no pool serves yet: a warning naming that network", () => {
    const v = vm({
      annotations: { "vmnet.io/addresses": '{"ovs1": "10.9.0.5"}' },
      networks: [
        { name: "default", pod: {} },
        { name: "ovs1", multus: { networkName: "tenant-a/lonely" } },
      ],
    });
    const r = validateVM(v, snap);
    assert.deepEqual(r.denials, [], show(r));
    const w = r.warnings.find(x => x.field === `${ADDR}.ovs1`);
    assert.match(w?.message ?? "", /names interface "ovs1", whose network "tenant-a\/lonely" no IPPool serves yet/, show(r));
  });

  it("a pool that cannot lay out its addresses refuses the request, naming the pool", () => {
    const broken = pool("broken", { cidr: "10.7.0.0/24", ranges: ["10.8.0.1-10.8.0.5"], networks: ["tenant-a/other"] });
    const world = snapshot({ pools: [broken], nads: [nad("tenant-a", "other")], namespaces: { "tenant-a": {} } });
    const v = vm({
      annotations: { "vmnet.io/addresses": '{"ovs1": "10.7.0.5"}' },
      networks: [
        { name: "default", pod: {} },
        { name: "ovs1", multus: { networkName: "tenant-a/other" } },
      ],
    });
    const r = validateVM(v, world);
    const d = at(r, `${ADDR}.ovs1`);
    assert.equal(d.length, 1, show(r));
    assert.match(d[0].message, /: IPPool "broken" cannot hand out addresses \(spec\.ranges\[0\]/);
  });

  it("an address another namespace's NIC holds is in use, even when its claim has this VM's name", () => {
    const held = snapshot(
      tenantWorld({
        allocations: [{ pool: "tenant-a-vlan100", address: "10.100.0.23", namespace: "tenant-b", claim: "web-1.ovs1", vm: "web-1" }],
      }),
    );
    const r = validateVM(vm({ annotations: { "vmnet.io/addresses": '{"ovs1": "10.100.0.23"}' } }), held);
    const d = at(r, `${ADDR}.ovs1`);
    assert.equal(d.length, 1, show(r));
    assert.match(d[0].message, /is in use; pick another address/);
    assert.ok(!d[0].message.includes("tenant-b"), "names nobody");
    const own = snapshot(
      tenantWorld({
        allocations: [{ pool: "tenant-a-vlan100", address: "10.100.0.23", namespace: "tenant-a", claim: "web-1.ovs1", vm: "web-1" }],
      }),
    );
    assert.deepEqual(
      validateVM(vm({ annotations: { "vmnet.io/addresses": '{"ovs1": "10.100.0.23"}' } }), own).denials,
      [],
      "its own address",
    );
  });

  it("a snapshot that cannot ask the allocator (no requestRefusal) still checks the rest", () => {
    const bare: AdmissionSnapshot = { ...snap, requestRefusal: undefined };
    assert.deepEqual(validateVM(vm({ annotations: { "vmnet.io/addresses": '{"ovs1": "10.100.0.23"}' } }), bare).denials, []);
    assert.equal(validateVM(vm({ annotations: { "vmnet.io/addresses": '{"ovs1": "10.100.0.1"}' } }), bare).denials.length, 1);
  });
});
