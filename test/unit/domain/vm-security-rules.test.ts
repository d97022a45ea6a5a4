// The VM rules about other tenants (vm-security.ts) through validateVM. Oracles: DESIGN (a MAC is
// unique on its L2 segment, and two Open vSwitch NADs on one bridge and VLAN are one segment; a
// MAC of the form the operator derives, 02:00:<IPv4 octets> or 0a:<low 40 bits of IPv6>, collides
// with the NIC a pool on that segment will give the address to; a refusal names nothing of the
// holder, who may be another tenant; a NAD of another namespace is allowed with a warning; the
// cluster admin bounds the Service types of vmnet.io/expose) and the Finding contract.
import assert from "node:assert/strict";
import { validateVM } from "../../../capabilities/admission/rules";
import type { AdmissionSnapshot, ValidationResult } from "../../../capabilities/admission/rules";
import type { MacHolder } from "../../../capabilities/domain/vm-security";
import { IFACES, NETS, VLAN100_POOL, nad, pool, snapshot, tenantWorld, vm } from "../admission/fixtures";

const MAC = `${IFACES}[1].macAddress`;
const EXPOSE = "metadata.annotations['vmnet.io/expose']";
/** tenant-a/vlan100 (ovs br1 VLAN 100, IPv4 and IPv6 pools), tenant-b/shared on the same bridge and VLAN, tenant-a/vlan7 on VLAN 7 with an IPv4 pool, tenant-a/plain (a Linux bridge, its own segment). */
const base = snapshot(
  tenantWorld({
    nads: [
      nad("tenant-b", "shared"),
      nad(
        "tenant-a",
        "vlan7",
        JSON.stringify({ cniVersion: "0.4.0", type: "ovs", bridge: "br1", vlan: 7, ipam: { type: "static" }, capabilities: { ips: true } }),
      ),
      nad("tenant-a", "plain", JSON.stringify({ type: "bridge", bridge: "br0" })),
    ],
    pools: [pool("vlan7", { cidr: "10.7.0.0/24", networks: ["tenant-a/vlan7"] })],
  }),
);
function world(holders: Record<string, MacHolder[]>): AdmissionSnapshot & { macHolders(mac: string): MacHolder[] } {
  return { ...base, macHolders: mac => holders[mac] ?? [] };
}
/** web-1 in tenant-a with the pod NIC and bridge NIC ovs1 on `network`, setting `macAddress`. */
const withMac = (macAddress: unknown, network = "tenant-a/vlan100", namespace = "tenant-a"): Record<string, unknown> =>
  vm({
    namespace,
    interfaces: [
      { name: "default", masquerade: {} },
      { name: "ovs1", bridge: {}, macAddress },
    ],
    networks: [
      { name: "default", pod: {} },
      { name: "ovs1", multus: { networkName: network } },
    ],
  });
const macDenials = (r: ValidationResult): ValidationResult["denials"] => r.denials.filter(d => d.field === MAC);
const show = (r: ValidationResult): string => JSON.stringify(r, null, 1);
const M = "02:aa:00:00:00:01";

describe("validateVM: a MAC is unique on its L2 segment", () => {
  it("held by another NIC on the same network: refused, naming the segment and nobody", () => {
    const r = validateVM(withMac(M), world({ [M]: [{ namespace: "tenant-b", claim: "db-1.ovs1", network: "tenant-a/vlan100" }] }));
    const d = macDenials(r);
    assert.equal(d.length, 1, show(r));
    assert.equal(d[0].value, M);
    assert.equal(
      d[0].message,
      `macAddress "${M}" of interface "ovs1" is already in use on its L2 segment (Open vSwitch bridge "br1", VLAN 100); pick another MAC, or omit macAddress to get one derived from the interface's fixed address`,
    );
    assert.ok(!show(r).includes("tenant-b") && !show(r).includes("db-1"), "names nobody");
  });

  it("held on another network of the same bridge and VLAN: refused; on another VLAN: allowed", () => {
    assert.equal(
      macDenials(validateVM(withMac(M), world({ [M]: [{ namespace: "tenant-b", claim: "x.ovs1", network: "tenant-b/shared" }] }))).length,
      1,
    );
    assert.deepEqual(
      macDenials(validateVM(withMac(M), world({ [M]: [{ namespace: "tenant-a", claim: "x.ovs1", network: "tenant-a/vlan7" }] }))),
      [],
    );
  });

  it("held by this NIC's own IPClaim: allowed; by a claim of that name in another namespace: refused", () => {
    assert.deepEqual(
      macDenials(validateVM(withMac(M), world({ [M]: [{ namespace: "tenant-a", claim: "web-1.ovs1", network: "tenant-a/vlan100" }] }))),
      [],
    );
    assert.equal(
      macDenials(validateVM(withMac(M), world({ [M]: [{ namespace: "tenant-b", claim: "web-1.ovs1", network: "tenant-a/vlan100" }] })))
        .length,
      1,
    );
    assert.equal(
      macDenials(validateVM(withMac(M), world({ [M]: [{ namespace: "tenant-a", claim: "web-1.ovs2", network: "tenant-a/vlan100" }] })))
        .length,
      1,
      "another NIC of the same VM",
    );
  });

  it("on a network whose NAD is no Open vSwitch one, the segment is the network itself", () => {
    const r = validateVM(
      withMac(M, "tenant-a/plain"),
      world({ [M]: [{ namespace: "tenant-a", claim: "x.ovs1", network: "tenant-a/plain" }] }),
    );
    assert.match(macDenials(r)[0]?.message ?? "", /is already in use on network "tenant-a\/plain"; pick another MAC/, show(r));
  });

  it("only a set, valid MAC on a Multus network is looked up; a snapshot without the index checks nothing", () => {
    const everywhere = world({ [M]: [{ namespace: "tenant-b", claim: "x.ovs1", network: "tenant-a/vlan100" }] });
    assert.deepEqual(macDenials(validateVM(withMac(undefined), everywhere)), []);
    assert.equal(macDenials(validateVM(withMac("zz"), everywhere)).length, 1, "the malformed MAC's own denial only");
    const onPod = vm({
      interfaces: [
        { name: "default", masquerade: {} },
        { name: "ovs1", bridge: {}, macAddress: M },
      ],
      networks: [
        { name: "default", pod: {} },
        { name: "ovs1", pod: {} },
      ],
    });
    assert.ok(!show(validateVM(onPod, everywhere)).includes("already in use"));
    assert.deepEqual(macDenials(validateVM(withMac(M), base)), [], "no macHolders: nothing to compare with");
  });
});

describe("validateVM: a MAC the operator derives for a pool's address", () => {
  const none = world({});
  it("02:00:<IPv4> of an address inside an IPv4 pool of the segment is refused, naming the address", () => {
    const r = validateVM(withMac("02:00:0a:64:00:17"), none);
    assert.match(
      macDenials(r)[0]?.message ?? "",
      /is the MAC vmnet-operator derives for 10\.100\.0\.23, an address a pool on this L2 segment hands out/,
      show(r),
    );
    assert.equal(macDenials(r).length, 1);
  });

  it("02:00:<IPv4> outside every pool of the segment, or of another segment's pool, is allowed", () => {
    assert.deepEqual(macDenials(validateVM(withMac("02:00:0a:65:00:17"), none)), [], "10.101.0.23: no pool");
    assert.deepEqual(macDenials(validateVM(withMac("02:00:0a:07:00:05"), none)), [], "10.7.0.5: the VLAN 7 pool's");
    assert.equal(macDenials(validateVM(withMac("02:00:0a:07:00:05", "tenant-a/vlan7"), none)).length, 1, "on VLAN 7 it is that pool's");
    assert.deepEqual(macDenials(validateVM(withMac("02:01:0a:64:00:17"), none)), [], "02:01: is no derived form");
    assert.deepEqual(macDenials(validateVM(withMac("06:00:0a:64:00:17"), none)), [], "06:00: is no derived form");
  });

  it("a pool of the segment whose CIDR does not parse derives nothing", () => {
    const broken = snapshot({
      pools: [pool("broken", { cidr: "nope", networks: ["tenant-a/vlan100"] }), VLAN100_POOL],
      nads: [nad("tenant-a", "vlan100")],
      namespaces: { "tenant-a": {} },
    });
    const r = validateVM(withMac("02:00:0a:64:00:17"), { ...broken, macHolders: () => [] });
    assert.equal(macDenials(r).length, 1, "the valid pool's address still counts");
  });

  it("0a:<40 bits> is refused where an IPv6 pool serves the segment, and only there", () => {
    const r = validateVM(withMac("0a:00:00:00:00:23"), none);
    assert.match(macDenials(r)[0]?.message ?? "", /derives for an IPv6 address of fd00:100::\/64/, show(r));
    assert.deepEqual(macDenials(validateVM(withMac("0a:00:00:00:00:23", "tenant-a/vlan7"), none)), [], "VLAN 7 has no IPv6 pool");
  });
});

describe("validateVM: NADs of other namespaces and the allowed Service types", () => {
  it("a NAD of another namespace is allowed with a warning naming both namespaces; one's own is not warned about", () => {
    const r = validateVM(withMac(undefined, "tenant-b/shared"), world({}));
    const w = r.warnings.filter(x => x.field === `${NETS}[1].multus.networkName`);
    assert.equal(w.length, 1, show(r));
    assert.equal(w[0].value, "tenant-b/shared");
    assert.match(
      w[0].message,
      /^network "tenant-b\/shared" is a NetworkAttachmentDefinition of namespace "tenant-b", not of this VM's namespace "tenant-a"/,
    );
    assert.deepEqual(validateVM(withMac(undefined), world({})).warnings, []);
  });

  it("a Service type the cluster does not allow names the allowed ones, or none", () => {
    const exposing = (type: unknown): Record<string, unknown> =>
      vm({
        interfaces: [
          { name: "default", masquerade: {}, ports: [{ port: 22 }] },
          { name: "ovs1", bridge: {} },
        ],
        annotations: { "vmnet.io/expose": type },
      });
    const some = validateVM(exposing("LoadBalancer"), base, undefined, { exposeTypes: ["ClusterIP", "NodePort"] });
    assert.match(
      some.denials.find(d => d.field === EXPOSE)?.message ?? "",
      /^Service type LoadBalancer is not allowed on this cluster \(allowed: ClusterIP, NodePort\)/,
      show(some),
    );
    const noneAllowed = validateVM(exposing("ClusterIP"), base, undefined, { exposeTypes: [] });
    assert.match(noneAllowed.denials.find(d => d.field === EXPOSE)?.message ?? "", /\(allowed: none\)/, show(noneAllowed));
    for (const bad of ["Foo", 5]) {
      const r = validateVM(exposing(bad), base, undefined, { exposeTypes: ["ClusterIP"] });
      assert.equal(r.denials.filter(d => d.field === EXPOSE).length, 1, `${String(bad)}: the one "not a Service type" denial: ${show(r)}`);
      assert.match(r.denials.find(d => d.field === EXPOSE)!.message, /is not a Service type/);
    }
  });
});
