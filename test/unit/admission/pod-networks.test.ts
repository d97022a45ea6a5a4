// Reading Multus's annotations as its Go decoder does, and who may put an address on a pod.
import assert from "node:assert/strict";
import { decodeNetworkSelection, elementKeyLists } from "../../../capabilities/domain/network-selection";
import { GuardedNetworks, l2Domain } from "../../../capabilities/domain/l2";
import { checkPodNetworks, PodRequest } from "../../../capabilities/domain/pod-networks";
import { conflictLoss, poolConflicts } from "../../../capabilities/domain/pool-conflicts";
import { nad, pool, snapshot } from "./fixtures";

const LAUNCHER = "system:serviceaccount:kubevirt:kubevirt-controller";
const world = snapshot({
  pools: [pool("a-vlan100", { cidr: "10.100.0.0/24", networks: ["tenant-a/vlan100"] })],
  nads: [
    nad("tenant-a", "vlan100"),
    nad("tenant-b", "own-static"),
    nad("tenant-b", "elsewhere", JSON.stringify({ type: "ovs", bridge: "br2", ipam: { type: "static" } })),
  ],
});
const guarded = new GuardedNetworks(world);

function podReq(networks: string, over: Partial<PodRequest> = {}, annotation = "k8s.v1.cni.cncf.io/networks"): PodRequest {
  return {
    operation: "CREATE",
    namespace: "tenant-b",
    pod: "thief",
    username: "system:serviceaccount:tenant-b:default",
    object: { metadata: { name: "thief", namespace: "tenant-b", annotations: { [annotation]: networks } } },
    ...over,
  };
}
const steal = (el: Record<string, unknown>): string => JSON.stringify([{ ips: ["10.100.0.23/24"], mac: "02:00:0a:64:00:17", ...el }]);

describe("decodeNetworkSelection (Multus's reading)", () => {
  it("reads plain JSON and the short form, defaulting the namespace to the pod's", () => {
    const json = decodeNetworkSelection('[{"name":"vlan100","namespace":"tenant-a","interface":"net1"},{"name":"x"}]', "tenant-b");
    assert.ok(json.ok);
    assert.deepEqual(
      json.elements.map(e => [e.network, e.interface]),
      [
        ["tenant-a/vlan100", "net1"],
        ["tenant-b/x", undefined],
      ],
    );
    const short = decodeNetworkSelection(" tenant-a/vlan100@net1 , other", "tenant-b");
    assert.ok(short.ok);
    assert.deepEqual(
      short.elements.map(e => [e.network, e.interface]),
      [
        ["tenant-a/vlan100", "net1"],
        ["tenant-b/other", undefined],
      ],
    );
  });

  it("refuses keys Go folds onto a field: other case, non-ASCII look-alikes, duplicates", () => {
    for (const [text, why] of [
      ['[{"name":"decoy","Name":"vlan100","namespace":"tenant-a"}]', /"Name", which Multus reads as "name"/],
      ['[{"name":"vlan100","namespace":"tenant-a","IPS":["10.100.0.23"]}]', /"IPS", which Multus reads as "ips"/],
      ['[{"name":"vlan100","name\u017fpace":"tenant-a"}]', /outside printable ASCII/],
      ['[{"name":"vlan100","ip\\u017f":["10.100.0.23"]}]', /outside printable ASCII/],
      ['[{"name":"decoy","name":"vlan100"}]', /"name" more than once/],
    ] as const) {
      const r = decodeNetworkSelection(text, "tenant-b");
      assert.equal(r.ok, false, text);
      assert.match((r as { error: string }).error, why, text);
    }
  });

  it("decodes escapes in keys and values as Go does", () => {
    const r = decodeNetworkSelection(
      '[{"n\\u0061me":"vlan\\u0031\\u00300","namespace":"tenant-a","\\u0069ps":["10.100.0.23"]}]',
      "tenant-b",
    );
    assert.ok(r.ok);
    assert.equal(r.elements[0].network, "tenant-a/vlan100");
    assert.deepEqual(r.elements[0].addressKeys, ["ips"]);
  });

  it("takes JSON whenever [ { or a quote appears anywhere, and refuses what Go would not parse", () => {
    assert.equal(decodeNetworkSelection('vlan100, "x"', "ns").ok, false);
    assert.equal(decodeNetworkSelection('{"name":"vlan100"}', "ns").ok, false);
    assert.equal(decodeNetworkSelection("[1]", "ns").ok, false);
  });

  it("lists every key with duplicates, however deep the values nest", () => {
    assert.deepEqual(elementKeyLists('[{"a":{"b":[1,{"c":2}]},"a":"x"},{"d":"}"}]'), [["a", "a"], ["d"]]);
  });
});

describe("checkPodNetworks (who may carry an address)", () => {
  it("refuses a plain pod that sets ips and mac on another tenant's pool-backed NAD, however it is spelled", () => {
    for (const text of [
      steal({ name: "vlan100", namespace: "tenant-a" }),
      JSON.stringify([{ name: "vlan100", namespace: "tenant-a", "cni-args": { ips: ["10.100.0.23/24"] } }]),
      JSON.stringify([{ name: "vlan100", namespace: "tenant-a", "ipam-claim-reference": "web-1.ovs1" }]),
    ]) {
      const v = checkPodNetworks(podReq(text), LAUNCHER, guarded);
      assert.equal(v.kind, "deny", text);
      assert.match((v as { message: string }).message, /tenant-a\/vlan100/);
    }
  });

  it("refuses labels and ownerReferences that name a VM: only the request's user counts", () => {
    const obj = {
      metadata: {
        name: "thief",
        namespace: "tenant-b",
        labels: { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": "web-1" },
        ownerReferences: [{ kind: "VirtualMachineInstance", name: "web-1", apiVersion: "kubevirt.io/v1", uid: "x" }],
        annotations: { "k8s.v1.cni.cncf.io/networks": steal({ name: "vlan100", namespace: "tenant-a" }) },
      },
    };
    const v = checkPodNetworks(podReq("", { object: obj }), LAUNCHER, guarded);
    assert.equal(v.kind, "deny");
    assert.match(
      (v as { message: string }).message,
      /only virt-launcher pods created by system:serviceaccount:kubevirt:kubevirt-controller/,
    );
  });

  it("refuses an address in v1.multus-cni.io/default-network even from the launcher identity", () => {
    const v = checkPodNetworks(
      podReq(steal({ name: "vlan100", namespace: "tenant-a" }), { username: LAUNCHER }, "v1.multus-cni.io/default-network"),
      LAUNCHER,
      guarded,
    );
    assert.equal(v.kind, "deny");
  });

  it("refuses an address on a tenant's own NAD that shares the pool's bridge and VLAN", () => {
    const v = checkPodNetworks(podReq(steal({ name: "own-static" })), LAUNCHER, guarded);
    assert.equal(v.kind, "deny");
    assert.match((v as { message: string }).message, /shares its bridge and VLAN/);
    assert.equal(checkPodNetworks(podReq(steal({ name: "elsewhere" })), LAUNCHER, guarded).kind, "allow");
  });

  it("hands the launcher identity's pod on a pool-backed network to the claim comparison", () => {
    const obj = {
      metadata: {
        name: "virt-launcher-web-1-x",
        namespace: "tenant-b",
        labels: { "vm.kubevirt.io/name": "web-1" },
        annotations: { "k8s.v1.cni.cncf.io/networks": steal({ name: "vlan100", namespace: "tenant-a" }) },
      },
    };
    assert.deepEqual(checkPodNetworks(podReq("", { object: obj, username: LAUNCHER }), LAUNCHER, guarded), {
      kind: "launcher",
      vm: "web-1",
    });
  });

  it("on UPDATE looks only at a changed selection, and checks the new one", () => {
    const same = podReq(steal({ name: "vlan100", namespace: "tenant-a" }));
    assert.equal(checkPodNetworks({ ...same, operation: "UPDATE", oldObject: same.object }, LAUNCHER, guarded).kind, "allow");
    const before = podReq('[{"name":"vlan100","namespace":"tenant-a"}]');
    assert.equal(checkPodNetworks({ ...same, operation: "UPDATE", oldObject: before.object }, LAUNCHER, guarded).kind, "deny");
  });

  it("lets a pod without addresses through with a warning that it gets none", () => {
    const v = checkPodNetworks(podReq('[{"name":"vlan100","namespace":"tenant-a"}]'), LAUNCHER, guarded);
    assert.equal(v.kind, "allow");
    assert.match((v as { warnings: string[] }).warnings[0], /gets no address/);
  });
});

describe("L2 segments and pool conflicts", () => {
  it("keys an ovs NAD by bridge and VLAN", () => {
    assert.equal(l2Domain(JSON.stringify({ type: "ovs", bridge: "br1", vlan: 100 })), "ovs:br1:vlan100");
    assert.equal(l2Domain(JSON.stringify({ plugins: [{ type: "ovs", bridge: "br1" }, { type: "tuning" }] })), "ovs:br1:vlan0");
    assert.equal(l2Domain(JSON.stringify({ type: "macvlan", master: "eth0" })), undefined);
  });

  it("finds overlapping pools on one segment and lets the older one win", () => {
    const older = {
      metadata: { name: "b-pool", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: { cidr: "10.100.0.0/24", networks: ["tenant-a/vlan100"] },
    };
    const younger = {
      metadata: { name: "a-pool", creationTimestamp: "2026-01-01T00:00:01Z" },
      spec: { cidr: "10.100.0.128/25", networks: ["tenant-b/own-static"] },
    };
    const w = snapshot({ pools: [older, younger], nads: [nad("tenant-a", "vlan100"), nad("tenant-b", "own-static")] });
    assert.equal(poolConflicts(younger, w).length, 1);
    assert.match(
      conflictLoss(younger, w) ?? "",
      /overlaps 10.100.0.128\/25 on the same L2 segment \(Open vSwitch bridge "br1", VLAN 100\)/,
    );
    assert.equal(conflictLoss(older, w), undefined);
  });

  it("breaks a tie of creation time by name, so both controllers agree", () => {
    const t = "2026-01-01T00:00:00Z";
    const p1 = { metadata: { name: "p1", creationTimestamp: t }, spec: { cidr: "10.1.0.0/24", networks: ["ns/net"] } };
    const p2 = { metadata: { name: "p2", creationTimestamp: t }, spec: { cidr: "10.1.0.128/25", networks: ["ns/net"] } };
    const w = snapshot({ pools: [p1, p2] });
    assert.equal(conflictLoss(p1, w), undefined);
    assert.match(conflictLoss(p2, w) ?? "", /also serves network "ns\/net" and overlaps 10.1.0.128\/25/);
  });

  it("lets disjoint pools share a network; two marked default for it conflict, the younger loses", () => {
    const older = {
      metadata: { name: "b", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: { cidr: "10.1.0.0/24", networks: ["ns/net"], default: true },
    };
    const younger = {
      metadata: { name: "a", creationTimestamp: "2026-01-01T00:00:01Z" },
      spec: { cidr: "10.2.0.0/24", networks: ["ns/net"] },
    };
    assert.deepEqual(poolConflicts(younger, snapshot({ pools: [older, younger] })), []);
    const twice = { ...younger, spec: { ...younger.spec, default: true } };
    const w = snapshot({ pools: [older, twice] });
    assert.equal(conflictLoss(older, w), undefined);
    assert.match(
      conflictLoss(twice, w) ?? "",
      /IPPool "b" \(10.1.0.0\/24\) is also marked default for network "ns\/net".*a NIC without a pool choice would not know its pool/,
    );
    const v6 = { metadata: { name: "c" }, spec: { cidr: "fd00::/64", networks: ["ns/net"], default: true } };
    assert.deepEqual(poolConflicts(v6, snapshot({ pools: [older, v6] })), [], "one default per family");
  });
});
