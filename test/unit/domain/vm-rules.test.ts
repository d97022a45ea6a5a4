// The VM validator's reading of a VM and its pool rules, through validateVM's verdict (denials and
// warnings by field path) and the public annotation parsers. Oracles: Kubernetes/KubeVirt JSON
// (null is absent; names are non-empty strings; a VM without a namespace lives in "default"),
// DESIGN (only bridge NICs on a Multus network draw from a pool; a choice for a network no pool
// serves yet waits for the pool, GitOps may apply it later; a chosen pool needs a free address;
// a network's default pool per family), and the annotation format in docs (vmnet.io/pools: a JSON
// object of interface name to one pool name or a list of one or two, each key once).
import assert from "node:assert/strict";
import { validateVM } from "../../../capabilities/admission/rules";
import type { AdmissionSnapshot, ValidationResult } from "../../../capabilities/admission/rules";
import { nicPools } from "../../../capabilities/domain/pool-choice";
import { parsePoolsAnnotation, poolChoicesOf } from "../../../capabilities/domain/vm-pools";
import { IFACES, NETS, VLAN100_POOL, VLAN100_POOL6, nad, pool, snapshot, tenantWorld, vm } from "../admission/fixtures";

const POOLS = "metadata.annotations['vmnet.io/pools']";
const EXPOSE = "metadata.annotations['vmnet.io/expose']";
const snap = snapshot(
  tenantWorld({ nads: [nad("tenant-a", "plain", JSON.stringify({ type: "bridge", bridge: "br0" })), nad("tenant-a", "sriov")] }),
);
const denied = (r: ValidationResult): string[] => r.denials.map(d => d.field);
const warned = (r: ValidationResult): string[] => r.warnings.map(d => d.field);
const messages = (r: ValidationResult): string => JSON.stringify(r, null, 1);
const one = (
  iface: Record<string, unknown>,
  net: Record<string, unknown>,
  annotations?: Record<string, unknown>,
): Record<string, unknown> =>
  vm({ interfaces: [{ name: "default", masquerade: {} }, iface], networks: [{ name: "default", pod: {} }, net], annotations });

describe("validateVM: reading the VM (null is absent, names are non-empty strings)", () => {
  it("null lists, annotations and bindings are absent", () => {
    const v = vm({ annotations: undefined });
    (v.metadata as Record<string, unknown>).annotations = null;
    ((v.spec as { template: { metadata: Record<string, unknown> } }).template.metadata as Record<string, unknown>).annotations = null;
    assert.deepEqual(validateVM(v, snap).denials, []);
    const nullNets = vm({ interfaces: [] });
    (nullNets.spec as { template: { spec: Record<string, unknown> } }).template.spec.networks = null;
    assert.deepEqual(validateVM(nullNets, snap).denials, []);
    const r = validateVM(
      vm({
        interfaces: [
          { name: "default", masquerade: {}, bridge: null },
          { name: "ovs1", bridge: {}, sriov: null },
        ],
      }),
      snap,
    );
    assert.deepEqual(r.denials, [], messages(r));
  });

  it("a list field that is not a list is one denial, naming its type", () => {
    for (const [value, type] of [
      ["x", "a string"],
      [{}, "a object"],
      [5, "a number"],
    ] as const) {
      const r = validateVM(vm({ networks: value as never, interfaces: [] }), snap);
      assert.deepEqual(denied(r), [NETS], String(value));
      assert.equal(r.denials[0].message, `must be a list, not ${type}`);
    }
    const r = validateVM(vm({ interfaces: [null, [], { name: "" }, { name: 5 }] as never, networks: [] }), snap);
    assert.deepEqual(denied(r), [`${IFACES}[0]`, `${IFACES}[1]`, `${IFACES}[2].name`, `${IFACES}[3].name`]);
    assert.match(r.denials[0].message, /not null$/);
    assert.match(r.denials[1].message, /not a list$/);
    assert.match(r.denials[2].message, /non-empty string/);
  });

  it("annotations that are not a map are denied at their own path", () => {
    const v = vm();
    ((v.spec as { template: { metadata: Record<string, unknown> } }).template.metadata as Record<string, unknown>).annotations = "x";
    assert.deepEqual(denied(validateVM(v, snap)), ["spec.template.metadata.annotations"]);
    const w = vm();
    (w.metadata as Record<string, unknown>).annotations = ["x"];
    const r = validateVM(w, snap);
    assert.deepEqual(denied(r), ["metadata.annotations"]);
    assert.match(r.denials[0].message, /not a list$/);
  });

  it("a VM without a namespace lives in default: its Multus names are qualified there", () => {
    for (const namespace of [undefined, "", 5]) {
      const v = one({ name: "ovs1", bridge: {} }, { name: "ovs1", multus: { networkName: "vlan100" } });
      (v.metadata as Record<string, unknown>).namespace = namespace;
      const r = validateVM(v, snap);
      assert.ok(
        r.warnings.some(w => w.message.includes("default/vlan100 does not exist")),
        `${String(namespace)}: ${messages(r)}`,
      );
    }
  });

  it("a network with neither or both sources gets KubeVirt's denial and is no pod or Multus network of ours", () => {
    const neither = validateVM(one({ name: "ovs1", bridge: {} }, { name: "ovs1" }), snap);
    assert.deepEqual(denied(neither), [`${NETS}[1]`]);
    assert.deepEqual(warned(neither), [], "no pod-bridge warning, no NAD warning");
    const both = validateVM(
      vm({ interfaces: [{ name: "ovs1", bridge: {} }], networks: [{ name: "ovs1", pod: {}, multus: { networkName: "tenant-a/nope" } }] }),
      snap,
    );
    assert.deepEqual(denied(both), [`${NETS}[0]`]);
    assert.deepEqual(warned(both), [], messages(both));
  });

  it("an interface joins the first network of its name", () => {
    const r = validateVM(
      vm({
        interfaces: [
          { name: "default", masquerade: {} },
          { name: "ovs1", bridge: {} },
        ],
        networks: [
          { name: "default", pod: {} },
          { name: "ovs1", multus: { networkName: "tenant-a/vlan100" } },
          { name: "ovs1", multus: { networkName: "tenant-a/missing" } },
        ],
      }),
      snap,
    );
    assert.deepEqual(denied(r), [`${NETS}[2].name`]);
    assert.ok(!messages(r).includes("tenant-a/missing does not exist"), messages(r));
  });
});

describe("validateVM: product rules beside KubeVirt's", () => {
  it("discontinued bindings: refused on create even beside another binding, kept on update", () => {
    const slirp = vm({
      interfaces: [
        { name: "default", masquerade: {}, slirp: {} },
        { name: "ovs1", bridge: {} },
      ],
    });
    assert.deepEqual(denied(validateVM(slirp, snap)), [`${IFACES}[0].slirp`]);
    assert.deepEqual(validateVM(slirp, snap, structuredClone(slirp)).denials, []);
  });

  it("an empty Multus name or a malformed MAC is KubeVirt's one denial, not a second one of ours", () => {
    assert.deepEqual(denied(validateVM(one({ name: "ovs1", bridge: {} }, { name: "ovs1", multus: { networkName: "" } }), snap)), [
      `${NETS}[1].multus.networkName`,
    ]);
    assert.deepEqual(
      denied(
        validateVM(
          one({ name: "ovs1", bridge: {}, macAddress: "zz:00" }, { name: "ovs1", multus: { networkName: "tenant-a/vlan100" } }),
          snap,
        ),
      ),
      [`${IFACES}[1].macAddress`],
    );
  });

  it("a Multus name no NAD can have is one denial, and no NAD lookup", () => {
    const r = validateVM(one({ name: "ovs1", bridge: {} }, { name: "ovs1", multus: { networkName: "Tenant_A/x" } }), snap);
    assert.deepEqual(denied(r), [`${NETS}[1].multus.networkName`]);
    assert.deepEqual(r.warnings, [], messages(r));
  });

  it("an empty protocol is TCP for the Service, as for KubeVirt", () => {
    const r = validateVM(
      vm({
        interfaces: [
          {
            name: "default",
            masquerade: {},
            ports: [
              { port: 22, protocol: "" },
              { port: 22, protocol: "TCP" },
            ],
          },
          { name: "ovs1", bridge: {} },
        ],
        annotations: { "vmnet.io/expose": "ClusterIP" },
      }),
      snap,
    );
    assert.deepEqual(denied(r), [`${IFACES}[0].ports[1]`]);
  });

  it("a non-bridge NIC is warned about a pool only when a pool serves its network", () => {
    const sriovOn = (network: string): ValidationResult =>
      validateVM(one({ name: "sr", sriov: {} }, { name: "sr", multus: { networkName: network } }), snap);
    assert.deepEqual(sriovOn("tenant-a/sriov").warnings, []);
    const served = sriovOn("tenant-a/vlan100");
    assert.deepEqual(warned(served), [`${NETS}[1].multus.networkName`]);
    assert.match(served.warnings[0].message, /served by IPPool "tenant-a-vlan100", but interface "sr" uses sriov: only bridge interfaces/);
  });

  it("NAD readiness matters only for a network a pool serves; a NAD without spec is not ready", () => {
    assert.deepEqual(
      validateVM(one({ name: "ovs1", bridge: {} }, { name: "ovs1", multus: { networkName: "tenant-a/plain" } }), snap).warnings,
      [],
    );
    const bare = {
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { namespace: "tenant-a", name: "vlan100" },
    } as never;
    const world = snapshot({ pools: [VLAN100_POOL], nads: [bare], namespaces: { "tenant-a": {} } });
    const r = validateVM(vm(), world);
    assert.deepEqual(warned(r), [`${NETS}[1].multus.networkName`]);
    assert.match(r.warnings[0].message, /is not ready for fixed addresses: spec\.config is empty/);
  });

  it("vmnet.io/expose needs ports on the masquerade NIC; a Service lists each port/protocol once, TCP by default", () => {
    const expose = (ports: unknown[], extra: Record<string, unknown> = {}): ValidationResult =>
      validateVM(
        vm({
          interfaces: [
            { name: "default", masquerade: {}, ports },
            { name: "ovs1", bridge: {} },
          ],
          annotations: { "vmnet.io/expose": "ClusterIP", ...extra },
        }),
        snap,
      );
    assert.deepEqual(denied(expose([])), [EXPOSE]);
    assert.deepEqual(denied(expose([{ port: 22 }, { port: 22, protocol: "TCP" }])), [`${IFACES}[0].ports[1]`]);
    assert.match(
      expose([{ port: 22 }, { port: 22, protocol: "TCP" }]).denials[0].message,
      /^port 22\/TCP of interface "default" is already listed at ports\[0\]/,
    );
    assert.deepEqual(denied(expose([{ port: 22, protocol: "UDP" }, { port: 22 }])), []);
    assert.deepEqual(denied(expose([{ name: "a" }, { name: "b" }])), [`${IFACES}[0].ports[0].port`, `${IFACES}[0].ports[1].port`]);
    assert.deepEqual(expose([{ port: 22 }], { "vmnet.io/service-ip": "10.96.0.50" }), { denials: [], warnings: [] });
  });

  it("the cluster's allowed Service types bound vmnet.io/expose", () => {
    const v = vm({ annotations: { "vmnet.io/expose": "LoadBalancer" } });
    assert.deepEqual(denied(validateVM(v, snap, undefined, { exposeTypes: ["ClusterIP"] })), [EXPOSE]);
    assert.deepEqual(validateVM(v, snap, undefined, { exposeTypes: ["ClusterIP", "LoadBalancer"] }).denials, []);
  });
});

describe("vmnet.io/pools: the annotation", () => {
  const bad = (value: unknown): string => {
    const r = parsePoolsAnnotation(value);
    assert.equal(r.ok, false, String(value));
    return (r as { message: string }).message;
  };

  it("is a JSON object; no annotation is no choice", () => {
    for (const text of ["[]", "null", "5", '"p"']) assert.match(bad(text), /^must be a JSON object of interface name to pool name/, text);
    assert.deepEqual(poolChoicesOf(undefined), { ok: true, choices: new Map() });
    assert.deepEqual(poolChoicesOf({ other: "x" }), { ok: true, choices: new Map() });
    assert.deepEqual(poolChoicesOf({ "vmnet.io/pools": '{"ovs1": "p"}' }), { ok: true, choices: new Map([["ovs1", ["p"]]]) });
  });

  it("values: one pool name or a list of one or two names, each once", () => {
    for (const text of ['{"ovs1": ["a", 5]}', '{"ovs1": [5]}', '{"ovs1": []}', '{"ovs1": ["a", "b", "c"]}', '{"ovs1": {"ovs1": "p"}}'])
      assert.match(bad(text), /^must be a pool name or a list of one or two pool names/, text);
    assert.match(bad('{"ovs1": ["a", "a"]}'), /^names IPPool "a" twice/);
    assert.deepEqual(parsePoolsAnnotation('{"ovs1": ["a", "b"], "ovs2": "ovs2"}'), {
      ok: true,
      choices: new Map([
        ["ovs1", ["a", "b"]],
        ["ovs2", ["ovs2"]],
      ]),
    });
  });

  it("keys: printable ASCII, not empty, each once ignoring case", () => {
    for (const text of ['{"": "p"}', '{"\u00e9x": "p"}', '{"x\u00e9": "p"}'])
      assert.match(bad(text), /which is not a plain interface name/, text);
    assert.match(bad('{"ovs1": "p", "OVS1": "q"}'), /^names interface "ovs1" twice \(as "OVS1"/);
  });
});

describe("vmnet.io/pools: the choice against the VM and the pools (validateVM)", () => {
  const twoPools = snapshot(
    tenantWorld({
      pools: [pool("tenant-a-vlan100-b", { cidr: "10.101.0.0/24", networks: ["tenant-a/vlan100"] })],
      nads: [nad("tenant-a", "lonely")],
    }),
  );

  it("names the VM's interfaces when the key names none of them, or says none", () => {
    const r = validateVM(vm({ annotations: { "vmnet.io/pools": '{"ovs9": "tenant-a-vlan100"}' } }), twoPools);
    const ovs9 = r.denials.find(d => d.field === `${POOLS}.ovs9`);
    assert.match(ovs9?.message ?? "", /which the VM does not have \(interfaces: default, ovs1\)/);
    const none = validateVM(
      vm({ interfaces: [], networks: [], annotations: { "vmnet.io/pools": '{"ovs9": "tenant-a-vlan100"}' } }),
      twoPools,
    );
    assert.match(none.denials[0].message, /\(interfaces: none\)/);
  });

  it("a choice for a bridge NIC on the pod network, or for a NIC without a network, is refused", () => {
    const onPod = validateVM(
      vm({
        interfaces: [{ name: "default", bridge: {} }],
        networks: [{ name: "default", pod: {} }],
        annotations: { "vmnet.io/pools": '{"default": "p"}' },
      }),
      twoPools,
    );
    assert.ok(
      onPod.denials.some(d => d.field === `${POOLS}.default` && d.message.includes("which is not on a (valid) Multus network")),
      messages(onPod),
    );
    const noNet = validateVM(
      vm({ interfaces: [{ name: "ovs1", bridge: {} }], networks: [], annotations: { "vmnet.io/pools": '{"ovs1": "p"}' } }),
      twoPools,
    );
    assert.ok(
      noNet.denials.some(d => d.field === `${POOLS}.ovs1`),
      messages(noNet),
    );
  });

  it("a choice for a network no pool serves yet only warns: the pool may come later", () => {
    const r = validateVM(
      one(
        { name: "ovs1", bridge: {} },
        { name: "ovs1", multus: { networkName: "tenant-a/lonely" } },
        { "vmnet.io/pools": '{"ovs1": "later"}' },
      ),
      twoPools,
    );
    assert.deepEqual(r.denials, [], messages(r));
    assert.deepEqual(warned(r), [`${POOLS}.ovs1`]);
    assert.match(r.warnings[0].message, /no IPPool serves yet/);
  });

  it("only bridge NICs draw from pools: an SR-IOV NIC on a network with two pools needs no default", () => {
    const r = validateVM(one({ name: "sr", sriov: {} }, { name: "sr", multus: { networkName: "tenant-a/vlan100" } }), twoPools);
    assert.deepEqual(r.denials, [], messages(r));
    const bridge = validateVM(vm(), twoPools);
    assert.deepEqual(denied(bridge), [`${NETS}[1].multus.networkName`]);
    assert.match(
      bridge.denials[0].message,
      /^interface "ovs1": network "tenant-a\/vlan100" has 2 IPv4 pools for namespace "tenant-a" \("tenant-a-vlan100", "tenant-a-vlan100-b"\) and none is its default/,
    );
  });

  it("a chosen pool needs a free address; without a free count nothing is checked", () => {
    const choose = vm({ annotations: { "vmnet.io/pools": '{"ovs1": ["tenant-a-vlan100", "tenant-a-vlan100-v6"]}' } });
    assert.deepEqual(validateVM(choose, twoPools).denials, []);
    const full: AdmissionSnapshot = { ...twoPools, freeCount: name => (name === "tenant-a-vlan100" ? 0n : 5n) };
    const r = validateVM(choose, full);
    assert.deepEqual(denied(r), [`${POOLS}.ovs1`]);
    assert.match(r.denials[0].message, /IPPool "tenant-a-vlan100" has no free address; choose another pool of network "tenant-a\/vlan100"/);
  });

  it("a network whose pools do not select the namespace: the message names neither pool nor interface", () => {
    const world = snapshot({
      pools: [pool("b-only", { cidr: "10.7.0.0/24", networks: ["tenant-a/vlan100"], namespaceSelector: { matchLabels: { tenant: "b" } } })],
      nads: [nad("tenant-a", "vlan100")],
      namespaces: { "tenant-a": { tenant: "a" } },
    });
    const r = validateVM(vm(), world);
    assert.deepEqual(denied(r), [`${NETS}[1].multus.networkName`]);
    assert.match(
      r.denials[0].message,
      /^network "tenant-a\/vlan100" draws addresses from an IPPool that does not serve namespace "tenant-a"/,
    );
    assert.ok(!r.denials[0].message.includes("b-only"));
  });
});

describe("nicPools (pool-choice rules)", () => {
  const world = snapshot(
    tenantWorld({
      pools: [
        pool("gone", { cidr: "10.9.0.0/24", networks: ["tenant-a/vlan100"] }),
        pool("bad-cidr", { cidr: "10.9.0.0/33", networks: ["tenant-a/vlan100"] }),
        pool("no-networks", { cidr: "10.8.0.0/24" }),
      ],
    }),
  );
  (world.pool("gone")!.metadata as Record<string, unknown>).deletionTimestamp = "2026-12-02T00:00:00Z";
  const req = { network: "tenant-a/vlan100", namespace: "tenant-a" };

  it("a pool being deleted, one without a valid CIDR, one not serving the network: each its own problem", () => {
    const kinds = (chosen: string[]): [string, string][] => nicPools({ ...req, chosen }, world).problems.map(p => [p.kind, p.message]);
    assert.match(kinds(["gone"])[0].join(" "), /^not-ready IPPool "gone" serves no address \(it is being deleted/);
    assert.match(kinds(["bad-cidr"])[0].join(" "), /^not-ready IPPool "bad-cidr" has no valid spec\.cidr; choose one of the pools/);
    assert.match(kinds(["no-networks"])[0].join(" "), /^not-serving IPPool "no-networks" does not serve network "tenant-a\/vlan100"/);
  });

  it("a deletionTimestamp of null is no deletion", () => {
    (world.pool("gone")!.metadata as Record<string, unknown>).deletionTimestamp = null;
    assert.deepEqual(nicPools({ ...req, chosen: ["gone"] }, world).problems, []);
    (world.pool("gone")!.metadata as Record<string, unknown>).deletionTimestamp = "2026-12-02T00:00:00Z";
  });

  it("two chosen pools of one family are refused by name", () => {
    const twoV4 = snapshot(tenantWorld({ pools: [pool("tenant-a-vlan100-b", { cidr: "10.101.0.0/24", networks: ["tenant-a/vlan100"] })] }));
    const r = nicPools({ ...req, chosen: ["tenant-a-vlan100", "tenant-a-vlan100-b"] }, twoV4);
    assert.deepEqual(
      r.problems.map(p => [p.kind, p.message]),
      [["family-twice", 'IPPools "tenant-a-vlan100" and "tenant-a-vlan100-b" are both IPv4; choose at most one pool per IP family']],
    );
  });

  it("a network no pool serves has no problem and is not pool-backed; a choice there names no pool to choose", () => {
    const r = nicPools({ network: "tenant-a/lonely", namespace: "tenant-a" }, world);
    assert.deepEqual(r, { pools: [], problems: [], poolBacked: false });
    assert.match(
      nicPools({ network: "tenant-a/lonely", namespace: "tenant-a", chosen: ["x"] }, world).problems[0].message,
      /that serve it: none$/,
    );
  });

  it("a held pool that no longer serves the NIC: the NIC follows its choice", () => {
    const r = nicPools({ ...req, held: [VLAN100_POOL.metadata!.name!, "vanished"] }, snapshot(tenantWorld()));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.pools.map(p => p.metadata?.name),
      [VLAN100_POOL.metadata!.name, VLAN100_POOL6.metadata!.name],
    );
    assert.equal(r.kept, undefined);
  });
});
