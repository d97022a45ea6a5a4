// The launcher-pod renderer's edge cases, with expected annotations written out by hand from the
// Multus network-selection format and KubeVirt's pod interface naming (pod + sha256[0:11]).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import {
  ClaimLike,
  isClaimBound,
  isLauncherPod,
  launcherInterfaceName,
  parseElements,
  renderLauncherNetworks,
  vmNameOfPod,
} from "../../../capabilities/domain/launcher-pod";

// KubeVirt's pod interface names of NICs "a" and "b": "pod" + the first 11 hex digits of sha256(name).
const POD_A = "podca978112ca1";
const POD_B = "pod3e23e816003";

const bound = (iface: string, network: string, addresses: string[], mac?: string): ClaimLike => ({
  metadata: { name: `web.${iface}`, namespace: "t" },
  spec: { vm: "web", interface: iface, network, pool: "p" },
  status: { addresses, mac, conditions: [{ type: "Bound", status: "True" }] },
});

describe("launcher pod renderer, edge cases", () => {
  it("KubeVirt's interface name of any network name, also asked twice (the hash is kept per name)", () => {
    // Fresh names: a name some earlier test hashed would be answered from the memo, not hashed.
    const kubevirt = (name: string): string => `pod${createHash("sha256").update(name).digest("hex").slice(0, 11)}`;
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 63 }), fc.nat(), (name, salt) => {
        const fresh = `${name}-${salt}-${Math.random()}`;
        assert.equal(launcherInterfaceName(fresh), kubevirt(fresh));
        assert.equal(launcherInterfaceName(fresh), kubevirt(fresh));
      }),
      { numRuns: 200 },
    );
  });

  it("KubeVirt's interface names are pod + sha256[0:11] (the constants these tests use)", () => {
    const value = JSON.stringify([
      { name: "vlan", interface: POD_B },
      { name: "vlan", interface: POD_A },
    ]);
    const r = renderLauncherNetworks(value, "t", [bound("a", "t/vlan", ["10.0.0.10/24"]), bound("b", "t/vlan", ["10.0.0.11/24"])]);
    assert.deepEqual(JSON.parse(r.value), [
      { name: "vlan", interface: POD_B, ips: ["10.0.0.11/24"] },
      { name: "vlan", interface: POD_A, ips: ["10.0.0.10/24"] },
    ]);
  });

  it("an element with another claim's hashed name is not given this claim by position", () => {
    // Only claim "a" exists; the element names b's pod interface, so it must not get a's addresses.
    const r = renderLauncherNetworks(JSON.stringify([{ name: "vlan", interface: POD_B }]), "t", [bound("a", "t/vlan", ["10.0.0.10/24"])]);
    assert.equal(r.changed, false);
    assert.deepEqual(r.missing, ["t/vlan"]);
    // An interface name not of KubeVirt's form ("net1") is matched by position.
    const byPosition = renderLauncherNetworks(JSON.stringify([{ name: "vlan", interface: "net1" }]), "t", [
      bound("a", "t/vlan", ["10.0.0.10/24"]),
    ]);
    assert.deepEqual(JSON.parse(byPosition.value), [{ name: "vlan", interface: "net1", ips: ["10.0.0.10/24"] }]);
  });

  it("each claim serves one element: a second element of the network is missing", () => {
    const r = renderLauncherNetworks('[{"name":"vlan"},{"name":"vlan"}]', "t", [
      bound("a", "t/vlan", ["10.0.0.10/24"], "02:00:0a:00:00:0a"),
    ]);
    assert.deepEqual(JSON.parse(r.value), [
      { name: "vlan", ips: ["10.0.0.10/24"], mac: "02:00:0a:00:00:0a", "cni-args": { mac: "02:00:0a:00:00:0a" } },
      { name: "vlan" },
    ]);
    assert.deepEqual(r.missing, ["t/vlan"]);
    assert.equal(r.changed, true);
  });

  it("uses the element's namespace when it has one, the pod's when it is absent or empty", () => {
    const claims = [bound("a", "other/vlan", ["10.0.0.10/24"])];
    assert.deepEqual(JSON.parse(renderLauncherNetworks('[{"name":"vlan","namespace":"other"}]', "t", claims).value), [
      { name: "vlan", namespace: "other", ips: ["10.0.0.10/24"] },
    ]);
    assert.equal(renderLauncherNetworks('[{"name":"vlan","namespace":""}]', "other", claims).changed, true);
    assert.equal(renderLauncherNetworks('[{"name":"vlan","namespace":""}]', "t", claims).changed, false);
    assert.equal(renderLauncherNetworks('[{"name":"vlan"}]', "t", claims).changed, false);
  });

  it("rewrites ips that differ, adds a MAC that is missing or differs, keeps the element when both match", () => {
    const claims = [bound("a", "t/vlan", ["10.0.0.10/24", "fd00::a/64"], "02:00:0a:00:00:0a")];
    const render = (el: object): { value: unknown; changed: boolean } => {
      const r = renderLauncherNetworks(JSON.stringify([el]), "t", claims);
      return { value: JSON.parse(r.value), changed: r.changed };
    };
    // The MAC also goes in cni-args, where newer ovs-cni reads it.
    const want = [
      { name: "vlan", ips: ["10.0.0.10/24", "fd00::a/64"], mac: "02:00:0a:00:00:0a", "cni-args": { mac: "02:00:0a:00:00:0a" } },
    ];
    assert.deepEqual(render({ name: "vlan", ips: ["10.0.0.10/24"], mac: "02:00:0a:00:00:0a" }), { value: want, changed: true });
    assert.deepEqual(render({ name: "vlan", ips: ["fd00::a/64", "10.0.0.10/24"], mac: "02:00:0a:00:00:0a" }), {
      value: want,
      changed: true,
    });
    assert.deepEqual(render({ name: "vlan", ips: ["10.0.0.10/24", "fd00::a/64"] }), { value: want, changed: true });
    assert.deepEqual(render({ name: "vlan", ips: ["10.0.0.10/24", "fd00::a/64"], mac: "02:00:0a:00:00:0b" }), {
      value: want,
      changed: true,
    });
    assert.deepEqual(render({ name: "vlan", ips: "10.0.0.10/24", mac: "02:00:0a:00:00:0a" }), { value: want, changed: true });
    assert.deepEqual(render(want[0]), { value: want, changed: false });
    // A claim without a MAC sets ips only and leaves the element's MAC alone.
    const noMac = renderLauncherNetworks('[{"name":"vlan","mac":"02:aa:00:00:00:01"}]', "t", [bound("a", "t/vlan", ["10.0.0.10/24"])]);
    assert.deepEqual(JSON.parse(noMac.value), [{ name: "vlan", mac: "02:aa:00:00:00:01", ips: ["10.0.0.10/24"] }]);
    const same = '[{"name":"vlan","ips":["10.0.0.10/24"],"mac":"02:aa:00:00:00:01"}]';
    assert.deepEqual(renderLauncherNetworks(same, "t", [bound("a", "t/vlan", ["10.0.0.10/24"])]), {
      value: same,
      changed: false,
      missing: [],
    });
  });

  it("passes elements without a name through, and ignores claims without a network", () => {
    const value = '[{"interface":"x"}, 7, {"name":"vlan"}]';
    const noNetwork = { ...bound("a", "t/vlan", ["10.0.0.10/24"]), spec: { vm: "web", interface: "a" } } as ClaimLike;
    const r = renderLauncherNetworks(value, "t", [noNetwork]);
    assert.deepEqual(r, { value, changed: false, missing: [] });
    assert.deepEqual(renderLauncherNetworks(value, "t", "junk" as unknown as ClaimLike[]), { value, changed: false, missing: [] });
  });

  it("reads the short form: name, namespace/name, namespace/name@interface", () => {
    assert.deepEqual(parseElements(" a , b/c , d/e@f ,, "), {
      elements: [{ name: "a" }, { name: "c", namespace: "b" }, { name: "e", namespace: "d", interface: "f" }],
      shortForm: true,
    });
    assert.deepEqual(parseElements("a@net1"), { elements: [{ name: "a", interface: "net1" }], shortForm: true });
    assert.deepEqual(parseElements("   "), { elements: [], shortForm: false });
    assert.deepEqual(parseElements('[{"name":"a"}]'), { elements: [{ name: "a" }], shortForm: false });
  });

  it("says why an annotation cannot be read", () => {
    assert.deepEqual(parseElements(5), { error: "the annotation is not a string" });
    assert.deepEqual(parseElements('{"name":"a"}'), { error: "the annotation is JSON but not a list of network selection elements" });
    assert.deepEqual(parseElements("a b"), {
      error: 'the annotation element "a b" is not "name", "namespace/name" or "namespace/name@interface"',
    });
    assert.deepEqual(parseElements("a/b/c"), {
      error: 'the annotation element "a/b/c" is not "name", "namespace/name" or "namespace/name@interface"',
    });
    const bad = parseElements("[1,");
    assert.ok("error" in bad && /^the annotation is not valid JSON: .+ at offset \d+$/.test(bad.error), JSON.stringify(bad));
  });

  it("the VM of a launcher pod: the VMI owner reference wins over the hostname-safe label", () => {
    const pod = (ownerReferences: unknown, label?: string): unknown => ({
      metadata: { ownerReferences, labels: label === undefined ? {} : { "vm.kubevirt.io/name": label } },
    });
    assert.equal(vmNameOfPod(pod([{ kind: "VirtualMachineInstance", name: "web.1" }], "web")), "web.1");
    assert.equal(
      vmNameOfPod(
        pod(
          [
            { kind: "Pod", name: "x" },
            { kind: "VirtualMachineInstance", name: "web.1" },
          ],
          "web",
        ),
      ),
      "web.1",
    );
    assert.equal(vmNameOfPod(pod([{ kind: "ReplicaSet", name: "x" }], "web")), "web");
    assert.equal(vmNameOfPod(pod([{ kind: "VirtualMachineInstance" }], "web")), "web");
    assert.equal(vmNameOfPod(pod("not a list", "web")), "web");
    assert.equal(vmNameOfPod(pod([], "")), undefined);
    assert.equal(vmNameOfPod(pod([])), undefined);
    assert.equal(vmNameOfPod(null), undefined);
    assert.equal(isLauncherPod({ metadata: { labels: "kubevirt.io=virt-launcher" } }), false);
    assert.equal(isLauncherPod(null), false);
  });

  it("a claim is bound only with a True Bound condition and at least one address", () => {
    const c = (status: unknown): ClaimLike => ({ status }) as ClaimLike;
    assert.equal(
      isClaimBound(
        c({
          addresses: ["10.0.0.1/24"],
          conditions: [
            { type: "Ready", status: "True" },
            { type: "Bound", status: "True" },
          ],
        }),
      ),
      true,
    );
    assert.equal(isClaimBound(c({ addresses: ["10.0.0.1/24"], conditions: [{ type: "Bound", status: "Unknown" }] })), false);
    assert.equal(isClaimBound(c({ addresses: ["10.0.0.1/24"], conditions: [{ type: "Ready", status: "True" }] })), false);
    assert.equal(isClaimBound(c({ addresses: "10.0.0.1/24", conditions: [{ type: "Bound", status: "True" }] })), false);
    assert.equal(isClaimBound(c({ addresses: ["10.0.0.1/24"], conditions: "Bound" })), false);
    assert.equal(isClaimBound(c(undefined)), false);
  });
});
