// Reading the Multus network selection annotation. Oracles from Multus (pkg/k8sclient
// parsePodNetworkAnnotation / parsePodNetworkObjectName, types.NetworkSelectionElement): an empty
// annotation selects nothing; any of [ { " means JSON, and JSON null is an empty list (Go's
// json.Unmarshal of null into a slice); the namespace defaults to the pod's; "interface" wins, the
// pre-3.2 "interfaceRequest" counts only when "interface" is empty; the short form is split at ","
// then "/" then "@" with every part trimmed, and namespace and name must be DNS-1123 labels. Plus the
// rule of capabilities/domain/network-selection.ts that every key is plain ASCII and present once.
import assert from "node:assert/strict";
import { decodeNetworkSelection } from "../../../capabilities/domain/network-selection";

const refused = (value: unknown): string => {
  const r = decodeNetworkSelection(value, "pod-ns");
  assert.equal(r.ok, false, String(value));
  return (r as { error: string }).error;
};
const decoded = (value: string): Extract<ReturnType<typeof decodeNetworkSelection>, { ok: true }> => {
  const r = decodeNetworkSelection(value, "pod-ns");
  assert.ok(r.ok, value);
  return r;
};

describe("decodeNetworkSelection (Multus's rules)", () => {
  it("an empty annotation selects nothing; a value that is not a string is refused", () => {
    assert.deepEqual(decodeNetworkSelection("", "pod-ns"), { ok: true, elements: [], json: false });
    assert.equal(refused(5), "is not a string");
    assert.equal(refused(undefined), "is not a string");
  });

  it('null, without any of [ { ", is the short form naming network null, not JSON', () => {
    assert.deepEqual(decodeNetworkSelection("null", "pod-ns"), {
      ok: true,
      json: false,
      elements: [{ index: 0, name: "null", namespace: "pod-ns", network: "pod-ns/null", addressKeys: [], raw: { name: "null" } }],
    });
  });

  it("says where JSON breaks and how to write it, and what is not a list or not an object", () => {
    assert.match(refused('[{"name": "vlan100",'), /^is not valid JSON \(.+ at offset \d+\); write it as \[\{"name": "vlan100"/);
    assert.match(refused('{"name": "vlan100"}'), /^is JSON but not a list of network selection elements; write it as \[/);
    assert.match(refused('[{"name": "a"}, "b"]'), /^element 1 is not an object; write each element as/);
  });

  it("reads a JSON element in full: namespace defaulted, interface, address keys present and not null", () => {
    const r = decoded('[{"name": "vlan100", "interface": "net1", "ips": ["10.0.0.5/24"], "mac": null}]');
    assert.deepEqual(r, {
      ok: true,
      json: true,
      elements: [
        {
          index: 0,
          name: "vlan100",
          namespace: "pod-ns",
          network: "pod-ns/vlan100",
          interface: "net1",
          addressKeys: ["ips"],
          raw: { name: "vlan100", interface: "net1", ips: ["10.0.0.5/24"], mac: null },
        },
      ],
    });
    assert.deepEqual(decoded('[{"name": "a", "namespace": ""}]').elements[0].addressKeys, []);
    assert.equal(decoded('[{"name": "a", "namespace": ""}]').elements[0].network, "pod-ns/a");
  });

  it("takes interfaceRequest (before Multus 3.2) only when interface is empty", () => {
    const iface = (el: Record<string, unknown>): string | undefined =>
      decoded(JSON.stringify([{ name: "a", ...el }])).elements[0].interface;
    assert.equal(iface({ interfaceRequest: "net2" }), "net2");
    assert.equal(iface({ interface: "", interfaceRequest: "net2" }), "net2");
    assert.equal(iface({ interface: "net1", interfaceRequest: "net2" }), "net1");
    assert.equal(iface({}), undefined);
    // Not a string: Go refuses to decode it into the string field; it is never an interface name here.
    assert.equal(iface({ interface: 7 }), undefined);
    assert.equal(iface({ interfaceRequest: 7 }), undefined);
  });

  it("refuses an element without a name string or with a namespace that is not a string", () => {
    for (const el of ['{"namespace": "a"}', '{"name": ""}', '{"name": 5}'])
      assert.match(refused(`[${el}]`), /^element 0 has no "name" string/, el);
    assert.match(refused('[{"name": "a"}, {"name": "b", "namespace": 5}]'), /^element 1 has a "namespace" that is not a string/);
  });

  it("ignores unknown keys, as Go does, but still wants every key once", () => {
    assert.equal(decoded('[{"name": "a", "bridge": "x"}]').elements[0].network, "pod-ns/a");
    assert.match(refused('[{"name": "a", "foo": 1, "FOO": 2}]'), /^element 0 has key "FOO" more than once/);
  });

  it("says which keys to write when a key is not printable ASCII", () => {
    assert.match(
      refused('[{"name": "a", "\u00e9": 1}]'),
      /outside printable ASCII; .* write keys exactly as name, namespace, ips, mac, \.\.\.$/,
    );
  });

  it("reads each element's keys on their own, even after an element with nested objects", () => {
    assert.match(
      refused('[{"name": "a", "cni-args": {"k": {"j": 1}}}, {"name": "b", "name": "c"}]'),
      /^element 1 has key "name" more than once/,
    );
  });
});

describe("decodeNetworkSelection, short form (namespace/name@interface)", () => {
  it("trims every part, as Multus does", () => {
    const r = decoded(" tenant-a / vlan100 @ net1 ,other");
    assert.deepEqual(r, {
      ok: true,
      json: false,
      elements: [
        {
          index: 0,
          name: "vlan100",
          namespace: "tenant-a",
          network: "tenant-a/vlan100",
          interface: "net1",
          addressKeys: [],
          raw: { name: "vlan100", namespace: "tenant-a", interface: "net1" },
        },
        { index: 1, name: "other", namespace: "pod-ns", network: "pod-ns/other", addressKeys: [], raw: { name: "other" } },
      ],
    });
  });

  it("quotes the element as Multus reads it, trimmed", () => {
    assert.equal(refused(" a/b/c "), 'element "a/b/c" has more than one "/"; write "namespace/name@interface"');
    assert.equal(refused(" Tenant/b "), 'element "Tenant/b": "Tenant" is not a lower-case DNS label');
  });

  it("refuses a second / or @", () => {
    assert.equal(refused("a/b/c"), 'element "a/b/c" has more than one "/"; write "namespace/name@interface"');
    assert.equal(refused(" b@c@d "), 'element "b@c@d" has more than one "@"; write "namespace/name@interface"');
  });

  it("wants lower-case DNS labels for namespace and name", () => {
    assert.equal(refused("Tenant/b"), 'element "Tenant/b": "Tenant" is not a lower-case DNS label');
    assert.equal(refused("a/vlan_100"), 'element "a/vlan_100": "vlan_100" is not a lower-case DNS label');
    assert.equal(refused("-b"), 'element "-b": "-b" is not a lower-case DNS label');
  });

  it("refuses an element that names no network", () => {
    assert.equal(refused("a, tenant-a/ @net1"), 'element "tenant-a/ @net1" names no network');
  });
});
