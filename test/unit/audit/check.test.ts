// `kubectl vmnet check`'s pure core: findings with their advice, the scope, the safe fixes, and
// the launcher pods compared with their VMs' claims (the networks annotation and Multus's
// network-status). The same kinds are planted through the real API server in
// test/integration/kubectl-plugin.test.ts.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../../capabilities/api/ippool-v1alpha1";
import { launcherInterfaceName } from "../../../capabilities/domain/launcher-pod";
import { ADVICE, checkSnapshot, safeFixes, toFinding } from "../../../capabilities/audit/check";
import type { Snapshot } from "../../../capabilities/audit/invariants";
import { checkLauncherPods, PodLike } from "../../../capabilities/audit/launcher-pods";

const NS = "t";
const NET = `${NS}/vlan100`;
const MAC = "02:00:0a:01:00:17";

const pool = (name: string, cidr: string, allocated: number): IPPool =>
  ({ metadata: { name }, spec: { cidr, networks: [NET] }, status: { allocated } }) as unknown as IPPool;

function claim(vm: string, iface: string, addresses: string[], mac: string, ns = NS): IPClaim {
  return {
    metadata: { name: `${vm}.${iface}`, namespace: ns, uid: `uid-${vm}-${iface}` },
    spec: { vm, interface: iface, network: NET, pool: "p4", pools: ["p4"] },
    status: {
      addresses,
      mac,
      conditions: [{ type: "Bound", status: "True", reason: "Allocated", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" }],
    },
  } as unknown as IPClaim;
}

const record = (address: string, claimName: string, ns = NS): IPAllocation =>
  ({
    metadata: { name: `p4.${address.replace(/\./g, "-")}`, uid: `r-${address}` },
    spec: { pool: "p4", address, claimRef: { namespace: ns, name: claimName, uid: `uid-${claimName.replace(".", "-")}` } },
  }) as IPAllocation;

const vm = (name: string, ns = NS): Snapshot["vms"][number] => ({
  metadata: { name, namespace: ns },
  spec: {
    template: {
      spec: {
        domain: { devices: { interfaces: [{ name: "ovs1", bridge: {} }] } },
        networks: [{ name: "ovs1", multus: { networkName: "vlan100" } }],
      },
    },
  },
});

interface PodParts {
  name?: string;
  vm?: string;
  elements?: Record<string, unknown>[];
  status?: Record<string, unknown>[];
  phase?: string;
  launcher?: boolean;
}

function pod(parts: PodParts = {}): PodLike {
  const vmName = parts.vm ?? "a";
  const annotations: Record<string, string> = {
    "k8s.v1.cni.cncf.io/networks": JSON.stringify(
      parts.elements ?? [{ name: "vlan100", namespace: NS, interface: launcherInterfaceName("ovs1"), ips: ["10.1.0.23/24"], mac: MAC }],
    ),
  };
  if (parts.status) annotations["k8s.v1.cni.cncf.io/network-status"] = JSON.stringify(parts.status);
  return {
    metadata: {
      name: parts.name ?? `virt-launcher-${vmName}-abcde`,
      namespace: NS,
      labels: parts.launcher === false ? {} : { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": vmName },
      ownerReferences: [{ apiVersion: "kubevirt.io/v1", kind: "VirtualMachineInstance", name: vmName, uid: "vmi", controller: true }],
      annotations,
    },
    status: { phase: parts.phase ?? "Running" },
  } as PodLike;
}

/** VM a holds 10.1.0.23 on p4, recorded; its launcher pod carries it. */
function clean(pods: PodLike[] = [pod()]): Snapshot {
  return {
    pools: [pool("p4", "10.1.0.0/24", 1)],
    claims: [claim("a", "ovs1", ["10.1.0.23/24"], MAC)],
    allocations: [record("10.1.0.23", "a.ovs1")],
    vms: [vm("a")],
    pods,
  };
}

const kinds = (s: Snapshot, namespace?: string): string[] => checkSnapshot(s, { namespace }).map(f => f.kind);
const podProblems = (pods: PodLike[], claims = clean().claims): string[] => checkLauncherPods({ pods, claims, pools: clean().pools });

describe("kubectl vmnet check (pure)", () => {
  it("finds nothing in a clean listing, in one namespace or all", () => {
    assert.deepEqual(checkSnapshot(clean(), { namespace: NS }), []);
    assert.deepEqual(checkSnapshot(clean(), {}), []);
  });

  it("turns each problem into kind, message and the advice of its kind; every kind has advice", () => {
    assert.deepEqual(toFinding("leak: p4/10.1.0.9 recorded for missing claim t/x.ovs1"), {
      kind: "leak",
      message: "p4/10.1.0.9 recorded for missing claim t/x.ovs1",
      advice: ADVICE.leak,
    });
    assert.equal(toFinding("no colon here").kind, "problem");
    for (const kind of ["missing", "orphan", "duplicate", "leak", "count", "pod-address", "pod-mac"]) assert.ok(ADVICE[kind], kind);
  });

  it("reports a leak, a stale count and a duplicate once each, however many namespaces are checked", () => {
    const s = clean();
    s.allocations.push(record("10.1.0.99", "gone.ovs1"));
    s.claims.push(claim("b", "ovs1", ["10.1.0.23/24"], "02:00:0a:01:00:18", "u"));
    s.vms.push(vm("b", "u"));
    const all = kinds(s);
    assert.equal(all.filter(k => k === "leak").length, 1, all.join());
    assert.equal(all.filter(k => k === "duplicate").length, 1, all.join());
    assert.ok(all.includes("count"), all.join());
  });

  it("--fix deletes only records whose claim is gone, and only in scope", () => {
    const s = clean();
    s.allocations.push(record("10.1.0.99", "gone.ovs1"), record("10.1.0.98", "gone.ovs1", "other"));
    s.claims[0] = { ...s.claims[0], status: { ...s.claims[0].status, addresses: ["10.1.0.24/24"] } } as IPClaim; // shows another address: not safe
    assert.deepEqual(
      safeFixes(s, { namespace: NS }).map(a => a.spec?.address),
      ["10.1.0.99"],
    );
    assert.deepEqual(
      safeFixes(s, {})
        .map(a => a.spec?.address)
        .sort(),
      ["10.1.0.98", "10.1.0.99"],
    );
  });

  describe("launcher pods", () => {
    it("accept a pod carrying exactly its claim's address and MAC, in any spelling of the MAC", () => {
      assert.deepEqual(
        podProblems([
          pod({
            elements: [
              {
                name: "vlan100",
                interface: launcherInterfaceName("ovs1"),
                ips: ["10.1.0.23/24"],
                mac: MAC.toUpperCase().replace(/:/g, "-"),
              },
            ],
          }),
        ]),
        [],
      );
    });

    it("report an address the claim does not hold and a MAC that differs, one line each with the pod, VM, claim and source", () => {
      const problems = podProblems([
        pod({
          elements: [
            { name: "vlan100", namespace: NS, interface: launcherInterfaceName("ovs1"), ips: ["10.1.0.77/24"], mac: "02:00:0a:01:00:4d" },
          ],
        }),
      ]);
      assert.deepEqual(
        problems.map(p => p.split(":")[0]),
        ["pod-address", "pod-mac"],
      );
      assert.match(
        problems[0],
        /^pod-address: launcher pod t\/virt-launcher-a-abcde of VM a carries 10\.1\.0\.77\/24 on network t\/vlan100 interface pod[0-9a-f]{11} \(its k8s\.v1\.cni\.cncf\.io\/networks annotation\), which IPClaim t\/a\.ovs1 does not hold \(it holds 10\.1\.0\.23\/24\)$/,
      );
      assert.match(problems[1], /^pod-mac: .* has MAC 02:00:0a:01:00:4d .* but IPClaim t\/a\.ovs1 holds MAC 02:00:0a:01:00:17$/);
    });

    it("compare Multus's network-status too, where present (addresses without prefix), skipping the cluster network", () => {
      const status = [
        { name: "sim-pod-network", interface: "eth0", ips: ["10.244.0.5"], mac: "aa:bb:cc:dd:ee:ff", default: true },
        { name: NET, interface: launcherInterfaceName("ovs1"), ips: ["10.1.0.23"], mac: MAC },
      ];
      assert.deepEqual(podProblems([pod({ status })]), []);
      const drifted = podProblems([pod({ status: [status[0], { ...status[1], ips: ["10.1.0.5"], mac: "02:00:0a:01:00:05" }] })]);
      assert.equal(drifted.length, 2, drifted.join("\n"));
      assert.ok(
        drifted.every(p => p.includes("(Multus's k8s.v1.cni.cncf.io/network-status)")),
        drifted.join("\n"),
      );
    });

    it("match a VM's two NICs on one network by KubeVirt's interface name, not by order", () => {
      const claims = [claim("a", "front", ["10.1.0.23/24"], MAC), claim("a", "data", ["10.1.0.24/24"], "02:00:0a:01:00:18")];
      const elements = [
        { name: "vlan100", interface: launcherInterfaceName("data"), ips: ["10.1.0.24/24"], mac: "02:00:0a:01:00:18" },
        { name: "vlan100", interface: launcherInterfaceName("front"), ips: ["10.1.0.23/24"], mac: MAC },
      ];
      assert.deepEqual(podProblems([pod({ elements })], claims), []);
      const swapped = [
        { ...elements[0], interface: launcherInterfaceName("front") },
        { ...elements[1], interface: launcherInterfaceName("data") },
      ];
      assert.equal(podProblems([pod({ elements: swapped })], claims).length, 4);
    });

    it("report an address on a pool-backed network of a VM without a claim there; leave other networks alone", () => {
      const foreign = podProblems([
        pod({
          vm: "nobody",
          elements: [
            { name: "vlan100", ips: ["10.1.0.23/24"] },
            { name: "free-net", ips: ["192.168.9.9/24"] },
          ],
        }),
      ]);
      assert.deepEqual(foreign.length, 1, foreign.join("\n"));
      assert.match(
        foreign[0],
        /^pod-address: launcher pod t\/virt-launcher-nobody-abcde of VM nobody carries 10\.1\.0\.23\/24 on pool-backed network t\/vlan100 \(its .*annotation\), but VM nobody has no IPClaim for that NIC$/,
      );
    });

    it("skip finished pods, pods being deleted and pods that are not launcher pods", () => {
      const wrong = { name: "vlan100", interface: launcherInterfaceName("ovs1"), ips: ["10.1.0.77/24"] };
      assert.deepEqual(
        podProblems([
          pod({ elements: [wrong], phase: "Succeeded" }),
          pod({ elements: [wrong], phase: "Failed" }),
          pod({ elements: [wrong], launcher: false }),
        ]),
        [],
      );
      const deleting = pod({ elements: [wrong] });
      deleting.metadata!.deletionTimestamp = "2026-01-01T00:00:00Z";
      assert.deepEqual(podProblems([deleting]), []);
    });

    it("are part of checkSnapshot, limited to the namespace checked", () => {
      const bad = pod({ elements: [{ name: "vlan100", interface: launcherInterfaceName("ovs1"), ips: ["10.1.0.77/24"], mac: MAC }] });
      const findings = checkSnapshot(clean([bad]), { namespace: NS });
      assert.deepEqual(
        findings.map(f => f.kind),
        ["pod-address"],
      );
      assert.equal(findings[0].advice, ADVICE["pod-address"]);
      assert.deepEqual(
        checkSnapshot(clean([bad]), { namespace: "elsewhere" }).filter(f => f.kind.startsWith("pod-")),
        [],
      );
    });
  });
});
