// What a KubeVirt network denial carries besides its field: the offending value and the words that
// name it, through kubevirtNetworkVerdict only. Oracles: KubeVirt v1.9.0's admitters (a second
// `multus.default: true`, and one beside a pod network, are refused at that field; a network sets
// exactly one of pod, multus and resourceClaim, and resourceClaim needs the DRA gate; network and
// interface names are unique in their own list; masquerade and passt are pod-network bindings; a port
// name is checked only when set, "" is unset as for every Go string field), Multus (a networkName
// without a namespace is the NAD of that name in the VM's namespace) and our Finding contract
// (findings.ts: `value` is the offending value, the message names what it is about).
import assert from "node:assert/strict";
import { interfaceProblems, kubevirtNetworkVerdict } from "../../../capabilities/domain/kubevirt-rules";
import type { Finding, ValidationResult } from "../../../capabilities/domain/findings";

type Obj = Record<string, unknown>;
const T = "spec.template.spec";
const NETS = `${T}.networks`;
const IFACES = `${T}.domain.devices.interfaces`;

function verdict(interfaces: Obj[], networks: Obj[]): ValidationResult {
  return kubevirtNetworkVerdict(
    { metadata: { name: "vm", namespace: "tenant-a" }, spec: { template: { spec: { domain: { devices: { interfaces } }, networks } } } },
    { creating: true },
  );
}
const at = (r: ValidationResult, field: string): Finding[] => r.denials.filter(d => d.field === field);
const only = (r: ValidationResult, field: string): Finding => {
  const found = at(r, field);
  assert.equal(found.length, 1, `one denial at ${field}: ${JSON.stringify(r)}`);
  return found[0];
};

describe("KubeVirt network denials: the value and the words (kubevirtNetworkVerdict)", () => {
  it("a second Multus default, and one beside the pod network, carry the offending default: true", () => {
    const second = verdict(
      [
        { name: "a", bridge: {} },
        { name: "b", bridge: {} },
      ],
      [
        { name: "a", multus: { networkName: "tenant-a/x", default: true } },
        { name: "b", multus: { networkName: "tenant-a/y", default: true } },
      ],
    );
    assert.equal(only(second, `${NETS}[1].multus.default`).value, true);
    const besidePod = verdict(
      [
        { name: "default", masquerade: {} },
        { name: "a", bridge: {} },
      ],
      [
        { name: "default", pod: {} },
        { name: "a", multus: { networkName: "tenant-a/x", default: true } },
      ],
    );
    const d = only(besidePod, `${NETS}[1].multus.default`);
    assert.equal(d.value, true);
    assert.match(d.message, /replaces the pod network/);
  });

  it("a resourceClaim network is refused for its gate only, not also as a network without a source", () => {
    const r = verdict([{ name: "dra", sriov: {} }], [{ name: "dra", resourceClaim: { claimName: "c", requestName: "r" } }]);
    assert.deepEqual(at(r, `${NETS}[0]`), [], JSON.stringify(r));
    assert.match(only(r, `${NETS}[0].resourceClaim`).message, /NetworkDevicesWithDRA/);
  });

  it("a duplicate name says whether it is a network or an interface", () => {
    const r = verdict(
      [
        { name: "a", bridge: {} },
        { name: "a", bridge: {} },
      ],
      [
        { name: "a", multus: { networkName: "tenant-a/x" } },
        { name: "a", multus: { networkName: "tenant-a/y" } },
      ],
    );
    assert.match(only(r, `${NETS}[1].name`).message, /^network name "a" is already used by .*; give every network a unique name$/);
    assert.match(only(r, `${IFACES}[1].name`).message, /^interface name "a" is already used by .*; give every interface a unique name$/);
  });

  it("masquerade off the pod network names the Multus network, qualified in the VM's namespace as Multus reads it", () => {
    const d = only(
      verdict([{ name: "m", masquerade: {} }], [{ name: "m", multus: { networkName: "vlan100" } }]),
      `${IFACES}[0].masquerade`,
    );
    assert.equal(d.value, "tenant-a/vlan100");
    assert.match(d.message, /^masquerade binding on Multus network "tenant-a\/vlan100" is not allowed/);
    const qualified = only(
      verdict([{ name: "m", masquerade: {} }], [{ name: "m", multus: { networkName: "tenant-b/vlan7" } }]),
      `${IFACES}[0].masquerade`,
    );
    assert.equal(qualified.value, "tenant-b/vlan7");
  });

  it("masquerade on a Multus name no NAD can have names that name as written", () => {
    const d = only(
      verdict([{ name: "m", masquerade: {} }], [{ name: "m", multus: { networkName: "Tenant_A/x" } }]),
      `${IFACES}[0].masquerade`,
    );
    assert.equal(d.value, "Tenant_A/x");
    assert.match(d.message, /^masquerade binding on Multus network "Tenant_A\/x" is not allowed/);
  });

  it("masquerade on a network that is neither pod nor a named Multus network names the network", () => {
    const shapes: Obj[] = [
      { name: "m", resourceClaim: { claimName: "c", requestName: "r" } },
      { name: "m" },
      { name: "m", multus: { networkName: 5 } },
      { name: "m", multus: "x" },
    ];
    for (const net of shapes) {
      const d = only(verdict([{ name: "m", masquerade: {} }], [net]), `${IFACES}[0].masquerade`);
      assert.equal(d.value, "m", JSON.stringify(net));
      assert.match(d.message, /^masquerade binding on network "m", which is not the pod network, is not allowed/, JSON.stringify(net));
    }
  });

  it('a port name of "" is no name: not checked, and not counted as a duplicate', () => {
    const r = verdict(
      [
        {
          name: "default",
          masquerade: {},
          ports: [
            { port: 80, name: "" },
            { port: 81, name: "" },
          ],
        },
      ],
      [{ name: "default", pod: {} }],
    );
    assert.deepEqual(r, { denials: [], warnings: [] });
  });
});

describe("KubeVirt network denials: values of the wrong type (kubevirtNetworkVerdict)", () => {
  // A list whose text would pass a string rule (["http"] prints as http): KubeVirt's JSON decoding
  // refuses any non-string for these string fields, so the rule must not read the text of a list.
  const onPod = (extra: Obj): ValidationResult => verdict([{ name: "default", masquerade: {}, ...extra }], [{ name: "default", pod: {} }]);

  it("a port name, macAddress or pciAddress that is a list is denied, whatever its text", () => {
    assert.equal(at(onPod({ ports: [{ port: 80, name: ["http"] }] }), `${IFACES}[0].ports[0].name`).length, 1);
    assert.equal(at(onPod({ macAddress: ["02:00:00:00:00:01"] }), `${IFACES}[0].macAddress`).length, 1);
    assert.equal(at(onPod({ pciAddress: ["0000:81:00.1"] }), `${IFACES}[0].pciAddress`).length, 1);
    assert.deepEqual(onPod({ ports: [{ port: 80, name: "http" }], macAddress: "02:00:00:00:00:01", pciAddress: "0000:81:00.1" }), {
      denials: [],
      warnings: [],
    });
  });

  it("the reserved masquerade MAC: the note on spelling only when spelt otherwise", () => {
    const exact = only(onPod({ macAddress: "02:00:00:00:00:00" }), `${IFACES}[0].macAddress`);
    assert.equal(
      exact.message,
      'macAddress "02:00:00:00:00:00" of masquerade interface "default" is the MAC KubeVirt gives the pod-side bridge; choose another MAC, or omit it',
    );
    const other = only(onPod({ macAddress: "02-00-00-00-00-00" }), `${IFACES}[0].macAddress`);
    assert.match(other.message, /KubeVirt refuses only the spelling 02:00:00:00:00:00\); choose another MAC/);
  });

  it("a binding that is not an object says what it must be", () => {
    const d = only(
      verdict([{ name: "m", binding: "macvtap" }], [{ name: "m", multus: { networkName: "tenant-a/x" } }]),
      `${IFACES}[0].binding`,
    );
    assert.match(d.message, /^must be an object naming a network binding plugin, such as \{name: "macvtap"\}, not /);
  });
});

describe("interfaceProblems: the denials of one interface, its network, and the VM-wide ones", () => {
  const vmOf = (interfaces: Obj[], networks: Obj[]): Obj => ({
    metadata: { name: "vm", namespace: "tenant-a" },
    spec: { template: { spec: { domain: { devices: { interfaces } }, networks } } },
  });

  it("a denial at the network's own path belongs to its interface", () => {
    const vm = vmOf(
      [
        { name: "a", bridge: {} },
        { name: "b", bridge: {} },
      ],
      [{ name: "a" }, { name: "b", multus: { networkName: "tenant-a/x" } }],
    );
    const v = kubevirtNetworkVerdict(vm);
    assert.deepEqual(
      interfaceProblems(v, vm, "a").map(f => f.field),
      [`${NETS}[0]`],
    );
    assert.deepEqual(interfaceProblems(v, vm, "b"), []);
  });

  it("an interface without a network: its own denials, and no failure", () => {
    const vm = vmOf([{ name: "a", bridge: {} }], []);
    const v = kubevirtNetworkVerdict(vm);
    assert.deepEqual(
      interfaceProblems(v, vm, "a").map(f => f.field),
      [`${IFACES}[0].name`],
    );
    assert.deepEqual(interfaceProblems(v, vm, "missing"), []);
  });
});
