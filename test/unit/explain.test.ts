// The kubectl plugin's pure logic: `why` explanations for each reason a NIC has or has no
// address, and the rows of the `pools` and `ips` tables.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../capabilities/api/ippool-v1alpha1";
import type { VirtualMachine } from "../../capabilities/api/external/kubevirt";
import type { NetworkAttachmentDefinition } from "../../capabilities/api/external/multus";
import { IPS_HEADERS, nicRows } from "../../capabilities/explain/ips";
import { POOL_HEADERS, poolRows } from "../../capabilities/explain/pools";
import { formatTable } from "../../capabilities/explain/table";
import { explainVm, InterfaceExplanation, Mark, renderExplanation, VmExplanation, WhyInput } from "../../capabilities/explain/why";

const NS = "tenant-a";
const NET = `${NS}/vlan100`;
const OVS = JSON.stringify({
  cniVersion: "0.4.0",
  type: "ovs",
  bridge: "br1",
  ipam: { type: "static" },
  capabilities: { ips: true, mac: true },
});

interface NicDef {
  name: string;
  network?: string;
  binding?: string;
}

function vm(name: string, nics: NicDef[], annotations: Record<string, string> = {}): VirtualMachine {
  return {
    metadata: { name, namespace: NS, annotations },
    spec: {
      template: {
        spec: {
          domain: { devices: { interfaces: nics.map(n => ({ name: n.name, [n.binding ?? (n.network ? "bridge" : "masquerade")]: {} })) } },
          networks: nics.map(n => (n.network ? { name: n.name, multus: { networkName: n.network } } : { name: n.name, pod: {} })),
        },
      },
    },
  } as VirtualMachine;
}

function pool(
  name: string,
  opts: {
    networks?: string[];
    selector?: Record<string, unknown>;
    capacity?: number;
    allocated?: number;
    ready?: [string, string, string];
  } = {},
): IPPool {
  const capacity = opts.capacity ?? 253;
  const allocated = opts.allocated ?? 1;
  const [status, reason, message] = opts.ready ?? ["True", "Ready", "the pool and its networks can serve addresses"];
  const full = allocated >= capacity;
  return {
    metadata: { name },
    spec: { cidr: "10.100.0.0/24", networks: opts.networks ?? [NET], ...(opts.selector ? { namespaceSelector: opts.selector } : {}) },
    status: {
      capacity,
      allocated,
      available: Math.max(0, capacity - allocated),
      conditions: [
        { type: "Ready", status, reason, message },
        full
          ? {
              type: "Exhausted",
              status: "True",
              reason: "NoFreeAddress",
              message: `all ${capacity} addresses are allocated: widen spec.ranges or free addresses`,
            }
          : { type: "Exhausted", status: "False", reason: "FreeAddresses", message: "free" },
      ],
    },
  } as unknown as IPPool;
}

function nad(name: string, config = OVS): NetworkAttachmentDefinition {
  return { metadata: { name, namespace: NS }, spec: { config } } as NetworkAttachmentDefinition;
}

function claim(
  vmName: string,
  iface: string,
  bound: { status: "True" | "False"; reason: string; message: string },
  extra: Record<string, unknown> = {},
): IPClaim {
  return {
    metadata: { name: `${vmName}.${iface}`, namespace: NS },
    spec: { vm: vmName, interface: iface, network: NET, pool: "pool-a", pools: ["pool-a"] },
    status: { conditions: [{ type: "Bound", ...bound }], ...extra },
  } as unknown as IPClaim;
}

const BOUND = claim(
  "web",
  "ovs1",
  { status: "True", reason: "Allocated", message: "10.100.0.2/24 with MAC 02:00:0a:64:00:02" },
  {
    addresses: ["10.100.0.2/24"],
    mac: "02:00:0a:64:00:02",
    gateway: "10.100.0.1",
  },
);

function record(name: string, claimName: string): IPAllocation {
  return {
    metadata: { name },
    spec: { pool: "pool-a", address: "10.100.0.2", claimRef: { namespace: NS, name: claimName } },
  } as IPAllocation;
}

function why(overrides: Partial<WhyInput>): VmExplanation {
  return explainVm({
    namespace: NS,
    name: "web",
    vm: vm("web", [{ name: "ovs1", network: "vlan100" }]),
    pools: [pool("pool-a")],
    nads: [nad("vlan100")],
    claims: [],
    ...overrides,
  });
}

function iface(e: VmExplanation, name = "ovs1"): InterfaceExplanation {
  const found = e.interfaces.find(i => i.interface === name);
  assert.ok(found, `interface ${name} explained`);
  return found;
}

/** Asserts one line with this mark contains every fragment. */
function hasLine(i: InterfaceExplanation, mark: Mark, ...fragments: string[]): void {
  const hit = i.lines.some(l => l.mark === mark && fragments.every(f => l.text.includes(f)));
  assert.ok(hit, `no ${mark} line with ${JSON.stringify(fragments)} in:\n${i.lines.map(l => `${l.mark} ${l.text}`).join("\n")}`);
}

function lastLine(i: InterfaceExplanation): string {
  return i.lines[i.lines.length - 1].text;
}

describe("kubectl vmnet why: explanations", () => {
  it("bound: every check passes and the address, MAC, gateway and IPAllocation record are named", () => {
    const i = iface(why({ claims: [BOUND], allocations: [record("pool-a.10-100-0-2", "web.ovs1")] }));
    assert.equal(i.verdict, "bound");
    assert.equal(i.summary, "10.100.0.2/24 (MAC 02:00:0a:64:00:02)");
    assert.deepEqual(
      i.lines.map(l => l.mark),
      ["ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"],
    );
    hasLine(i, "ok", "bridge NIC on Multus network tenant-a/vlan100");
    hasLine(i, "ok", "NetworkAttachmentDefinition tenant-a/vlan100 exists");
    hasLine(i, "ok", "IPPool pool-a", "selects namespace tenant-a", "every namespace");
    hasLine(i, "ok", "static IPAM with the ips capability");
    hasLine(i, "ok", "252 of 253 addresses free");
    hasLine(i, "ok", "IPClaim web.ovs1 is Bound (Allocated)");
    hasLine(i, "ok", "address 10.100.0.2/24, MAC 02:00:0a:64:00:02, gateway 10.100.0.1");
    assert.equal(lastLine(i), "recorded by IPAllocation pool-a.10-100-0-2");
  });

  it("bound without records looked up still names the record; a missing or foreign record is a problem", () => {
    assert.equal(lastLine(iface(why({ claims: [BOUND] }))), "recorded by IPAllocation pool-a.10-100-0-2");
    const missing = iface(why({ claims: [BOUND], allocations: [] }));
    hasLine(missing, "problem", "IPAllocation pool-a.10-100-0-2 is missing");
    const foreign = iface(why({ claims: [BOUND], allocations: [record("pool-a.10-100-0-2", "other.ovs1")] }));
    hasLine(foreign, "problem", "belongs to IPClaim tenant-a/other.ovs1");
  });

  it("masquerade NIC: no pool address by design, with the expose hint", () => {
    const e = why({ vm: vm("web", [{ name: "default" }, { name: "ovs1", network: "vlan100" }]), claims: [BOUND] });
    const i = iface(e, "default");
    assert.equal(i.verdict, "none");
    assert.match(i.summary, /masquerade on the pod network/);
    hasLine(i, "info", "masquerade on the pod network", "no IPPool address");
    hasLine(i, "info", "vmnet.io/expose: ClusterIP");
    assert.equal(iface(e).verdict, "bound", "the bridge NIC next to it is unaffected");
    const exposed = iface(why({ vm: vm("web", [{ name: "default" }], { "vmnet.io/expose": "NodePort" }) }), "default");
    hasLine(exposed, "info", "vmnet.io/expose: NodePort", "Service web");
  });

  it("a non-bridge binding on a Multus network and bridge on the pod network get no pool address", () => {
    const sriov = iface(why({ vm: vm("web", [{ name: "ovs1", network: "vlan100", binding: "sriov" }]) }));
    assert.equal(sriov.verdict, "none");
    hasLine(sriov, "info", "sriov binding", "only bridge NICs");
    const podBridge = iface(why({ vm: vm("web", [{ name: "p", binding: "bridge" }]) }), "p");
    hasLine(podBridge, "info", "bridge binding on the pod network", "cluster's CNI");
  });

  it("NAD missing: says to create it, and still goes on to the pool and the claim", () => {
    const i = iface(why({ nads: [], claims: [BOUND] }));
    hasLine(i, "problem", "NetworkAttachmentDefinition tenant-a/vlan100 does not exist: create it");
    assert.equal(i.verdict, "bound", "the operator binds regardless; the pod cannot start until the NAD exists");
    assert.equal(i.summary, "10.100.0.2/24 (MAC 02:00:0a:64:00:02), but see the problems marked ✗");
    assert.ok(!i.lines.some(l => l.text.includes("static IPAM")), "no IPAM check without a NAD");
  });

  it("no pool for the network: names the network and the fix, and stops there", () => {
    const i = iface(why({ pools: [pool("pool-b", { networks: ["tenant-a/other"] })] }));
    assert.equal(i.verdict, "unbound");
    assert.equal(lastLine(i), "no IPPool serves network tenant-a/vlan100: add it to an IPPool's spec.networks");
    assert.match(i.summary, /no IPPool serves its network/);
  });

  it("a network named with its namespace is the same network", () => {
    const i = iface(why({ vm: vm("web", [{ name: "ovs1", network: "tenant-a/vlan100" }]), claims: [BOUND] }));
    assert.equal(i.verdict, "bound");
  });

  it("namespace not selected: names the pool, its selector and the namespace's labels", () => {
    const selector = { matchLabels: { tenant: "b" } };
    const i = iface(why({ pools: [pool("pool-a", { selector })], namespaceLabels: { tenant: "a" } }));
    assert.equal(i.verdict, "unbound");
    hasLine(
      i,
      "problem",
      "IPPool pool-a serves network tenant-a/vlan100",
      '{"matchLabels":{"tenant":"b"}}',
      "does not select namespace tenant-a",
      '"tenant":"a"',
    );
    assert.match(i.summary, /no IPPool of its network selects this namespace/);
    const selected = iface(why({ pools: [pool("pool-a", { selector })], namespaceLabels: { tenant: "b" }, claims: [BOUND] }));
    hasLine(selected, "ok", 'namespaceSelector {"matchLabels":{"tenant":"b"}} selects namespace tenant-a');
  });

  it("the namespace name label counts for the selector, as the API server sets it", () => {
    const selector = { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [NS] }] };
    assert.equal(iface(why({ pools: [pool("pool-a", { selector })], claims: [BOUND] })).verdict, "bound");
  });

  it("NAD without static IPAM: explains the IPAM fix", () => {
    const hostLocal = JSON.stringify({ type: "ovs", bridge: "br1", ipam: { type: "host-local", subnet: "10.1.0.0/24" } });
    const notReady = pool("pool-a", {
      ready: ["False", "NetworkNotReady", `NetworkAttachmentDefinition ${NET}: the IPAM is "host-local"`],
    });
    const i = iface(why({ nads: [nad("vlan100", hostLocal)], pools: [notReady], claims: [BOUND] }));
    hasLine(
      i,
      "problem",
      "NetworkAttachmentDefinition tenant-a/vlan100 cannot apply the pool's address",
      '"host-local"',
      '"ipam": {"type": "static"}',
    );
    assert.ok(!i.lines.some(l => l.text.includes("Ready=False")), "a pool's Ready=False about this NAD is not repeated");
    const noCapability = JSON.stringify({ type: "ovs", bridge: "br1", ipam: { type: "static" } });
    hasLine(iface(why({ nads: [nad("vlan100", noCapability)] })), "problem", '"capabilities": {"ips": true}');
  });

  it("pool exhausted: a problem for an unbound NIC, with the claim's Exhausted reason", () => {
    const exhausted = claim("web", "ovs1", { status: "False", reason: "Exhausted", message: "pool pool-a: no free address" });
    const i = iface(why({ pools: [pool("pool-a", { capacity: 1, allocated: 1 })], claims: [exhausted] }));
    assert.equal(i.verdict, "unbound");
    assert.equal(i.summary, "no address: Exhausted");
    hasLine(i, "problem", "IPPool pool-a is exhausted", "all 1 addresses are allocated", "widen its spec.ranges");
    hasLine(i, "problem", "IPClaim web.ovs1 is not bound: Exhausted: pool pool-a: no free address", "as soon as an address is free");
  });

  it("pool exhausted but this NIC holds an address: only informational", () => {
    const i = iface(why({ pools: [pool("pool-a", { capacity: 1, allocated: 1 })], claims: [BOUND] }));
    assert.equal(i.verdict, "bound");
    hasLine(i, "info", "exhausted", "already holds its address");
    assert.ok(!i.lines.some(l => l.mark === "problem"));
  });

  it("conflict: the claim's message names the holder, with the fix", () => {
    const conflict = claim("web", "ovs1", {
      status: "False",
      reason: "Conflict",
      message: "10.100.0.23 in pool pool-a is held by IPClaim tenant-a/db.ovs1",
    });
    const i = iface(why({ claims: [conflict] }));
    assert.equal(i.verdict, "unbound");
    hasLine(i, "problem", "is not bound: Conflict", "held by IPClaim tenant-a/db.ovs1", "vmnet.io/addresses");
  });

  it("claim missing, not yet bound, or released", () => {
    hasLine(iface(why({ claims: [] })), "problem", "IPClaim web.ovs1 does not exist yet", "operator is running");
    const pending = { ...BOUND, status: {} } as IPClaim;
    hasLine(iface(why({ claims: [pending] })), "info", "has not been bound yet");
    const released = { ...BOUND, status: { ...BOUND.status, released: true } } as IPClaim;
    const r = iface(why({ claims: [released] }));
    assert.equal(r.verdict, "unbound");
    hasLine(r, "problem", "is released");
  });

  it("pool not ready for an invalid spec is a problem; no status yet is reported", () => {
    const invalid = pool("pool-a", { ready: ["False", "InvalidSpec", "spec.cidr is not a CIDR"] });
    hasLine(iface(why({ pools: [invalid] })), "problem", "Ready=False (InvalidSpec): spec.cidr is not a CIDR");
    const otherNetwork = pool("pool-a", {
      ready: ["False", "NetworkNotReady", "NetworkAttachmentDefinition tenant-a/other does not exist"],
    });
    hasLine(
      iface(why({ pools: [otherNetwork] })),
      "info",
      "Ready=False (NetworkNotReady): NetworkAttachmentDefinition tenant-a/other does not exist",
    );
    const fresh = { ...pool("pool-a"), status: undefined } as IPPool;
    hasLine(iface(why({ pools: [fresh] })), "info", "has no status yet");
  });

  it("an interface without a network, a VM without interfaces, and a VM that does not exist", () => {
    const noNet = vm("web", [{ name: "ovs1", network: "vlan100" }]);
    noNet.spec!.template!.spec!.networks = [];
    const i = iface(why({ vm: noNet }));
    assert.equal(i.verdict, "unbound");
    hasLine(i, "problem", "has no network named ovs1");
    const empty = why({ vm: vm("web", []) });
    assert.deepEqual(empty.interfaces, []);
    assert.match(empty.lines[0].text, /no interfaces/);
    const missing = why({ vm: undefined });
    assert.equal(missing.found, false);
    assert.equal(missing.lines[0].text, "VirtualMachine tenant-a/web does not exist");
  });

  it("several pools on the network: names the chosen pool or the default, and a choice that cannot be served", () => {
    const a = { ...pool("pool-a"), spec: { ...pool("pool-a").spec, default: true } } as IPPool;
    const b = { ...pool("pool-b"), spec: { ...pool("pool-b").spec, cidr: "10.101.0.0/24" } } as IPPool;
    const nics = [
      { name: "ovs1", network: "vlan100" },
      { name: "ovs2", network: "vlan100" },
    ];
    const e = why({ vm: vm("web", nics, { "vmnet.io/pools": '{"ovs2": "pool-b"}' }), pools: [a, b] });
    hasLine(iface(e, "ovs1"), "ok", "IPPool pool-a is the network's default IPv4 pool for namespace tenant-a");
    hasLine(iface(e, "ovs2"), "ok", "annotation vmnet.io/pools chooses IPPool pool-b for interface ovs2");
    const wrong = iface(why({ vm: vm("web", nics, { "vmnet.io/pools": '{"ovs2": "pool-c"}' }), pools: [a, b] }), "ovs2");
    hasLine(wrong, "problem", 'no IPPool named "pool-c" serves namespace "tenant-a"');
    assert.equal(wrong.summary, "no address: no pool for it (see ✗)");
  });

  it("renders a header per interface and one marked line per check", () => {
    const text = renderExplanation(why({ vm: vm("web", [{ name: "default" }, { name: "ovs1", network: "vlan100" }]), claims: [BOUND] }));
    assert.equal(text[0], "VirtualMachine tenant-a/web");
    assert.ok(text.includes("interface ovs1: 10.100.0.2/24 (MAC 02:00:0a:64:00:02)"));
    assert.ok(text.includes("interface default: no IPPool address (masquerade on the pod network)"));
    assert.ok(text.includes("  ✓ NetworkAttachmentDefinition tenant-a/vlan100 exists"));
  });
});

describe("kubectl vmnet pools and ips: tables", () => {
  it("formats aligned columns with <none> for empty cells", () => {
    assert.equal(
      formatTable(
        ["NAME", "X"],
        [
          ["a", 1],
          ["longer", undefined],
        ],
      ),
      "NAME     X\na        1\nlonger   <none>",
    );
  });

  it("pool rows: networks joined, Ready with its message when False, reclaim defaulting to Delete", () => {
    const notReady = pool("b", {
      ready: ["False", "NetworkNotReady", "NetworkAttachmentDefinition tenant-a/vlan100 does not exist"],
      networks: [NET, "tenant-a/x"],
    });
    const rows = poolRows([notReady, pool("a")]);
    assert.equal(POOL_HEADERS.length, rows[0].length);
    assert.deepEqual(rows[0], ["a", "10.100.0.0/24", NET, 253, 1, 252, "True", "Delete"]);
    assert.deepEqual(rows[1].slice(2, 3), [`${NET},tenant-a/x`]);
    assert.equal(rows[1][6], "False: NetworkAttachmentDefinition tenant-a/vlan100 does not exist");
    assert.equal(poolRows([{ ...pool("c"), status: undefined } as IPPool])[0][6], "Unknown");
  });

  it("ip rows: claims for pool-backed NICs, a state for the others, orphaned claims last", () => {
    const vms = [
      vm("web", [{ name: "default" }, { name: "ovs1", network: "vlan100" }]),
      vm("lone", [
        { name: "ovs1", network: "nopool" },
        { name: "ovs2", network: "vlan100" },
      ]),
    ];
    const retained = {
      ...claim("gone", "ovs1", { status: "False", reason: "Released", message: "" }, { released: true, addresses: ["10.100.0.9/24"] }),
    } as IPClaim;
    const rows = nicRows({ vms, claims: [BOUND, retained], pools: [pool("pool-a")] });
    assert.equal(IPS_HEADERS.length, rows[0].length);
    assert.deepEqual(rows, [
      [NS, "gone", "ovs1", NET, "pool-a", "10.100.0.9/24", undefined, "Released"],
      [NS, "lone", "ovs1", "tenant-a/nopool", undefined, undefined, undefined, "NoPool"],
      [NS, "lone", "ovs2", NET, undefined, undefined, undefined, "Pending"],
      [NS, "web", "default", "pod", undefined, undefined, undefined, "PodNetwork"],
      [NS, "web", "ovs1", NET, "pool-a", "10.100.0.2/24", "02:00:0a:64:00:02", "Bound"],
    ]);
    assert.deepEqual(
      nicRows({ vms, claims: [BOUND, retained], pools: [], vm: "web" }).map(r => r[2]),
      ["default", "ovs1"],
    );
  });
});
