// The data plane on the real node (issue 12): the operator installed with `helm install`, and
// the fixed addresses reaching the launcher pods' interfaces through the real chain with nothing
// of ours in between: API server -> kubelet -> containerd -> Multus (thin plugin, v4.2.3) ->
// ovs-cni (v0.39.0) -> static IPAM, on the node's Open vSwitch bridge (userspace datapath).
// The launcher pods run the launcher image (pause plus `ip` and `ping`), so every check below is
// `kubectl exec ... ip` or `ping` inside a launcher pod, or Multus's own network-status annotation.
//
// Migration on one node: source and target pods sit on the same bridge and VLAN with the same
// MAC and address while both run (on a real cluster they would be on two nodes). So the test checks
// the addresses of both during the overlap, and traffic only once the source pod and its OVS port
// are gone: then only the target can answer, on the same address and MAC.
// Needs root; under CI=true a machine that cannot run it fails the suite instead of skipping.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ensureBinaries } from "../../hack/control-plane";
import type { NodeCluster } from "../../hack/node-cluster";
import { MULTUS_USER } from "../../hack/node-multus";
import { launcherInterfaceName } from "../../capabilities/admission/rules";
import { eventually, vmManifest } from "../helpers";
import { Figures, Installed, nodeClusterOrSkip, seconds } from "./installed-cluster";

const NS = "dp";
const HELM_NS = "vmnet-dataplane";
const NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status";
/** The pod interface KubeVirt names for the VM network "ovs1". */
const IFACE = launcherInterfaceName("ovs1");
/** Slow enough that the test can look at both pods of a migration while they overlap. */
const SIM_STEP_MS = 4000;
/** Another tag of the operator image (VMNET_IMAGE_TAG=... npm run image), for a run beside other builds; default the chart's. */
const IMAGE_TAG = process.env.VMNET_OPERATOR_IMAGE_TAG;

interface Pod {
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { image: string }[] };
  status?: { phase?: string };
}
interface Claim {
  status?: { addresses?: string[]; mac?: string; conditions?: { type: string; status: string }[] };
}
interface NetStatus {
  name: string;
  interface?: string;
  ips?: string[];
  mac?: string;
}
interface Link {
  ifname: string;
  address: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

const figures = new Figures("dataplane-node");
const record = (line: string): void => figures.record(line);

describe("e2e: fixed addresses on the real node through Multus, ovs-cni and static IPAM", function () {
  this.timeout(900_000);
  let cluster: NodeCluster | undefined;
  const c = (): NodeCluster => cluster as NodeCluster;
  const kubectl = (...args: string[]): string => c().kubectl(args);
  const apply = (obj: unknown): string => c().kubectl(["apply", "-f", "-"], JSON.stringify(obj));
  const json = <T>(...args: string[]): T => JSON.parse(kubectl("get", ...args, "-o", "json")) as T;
  const exec = (pod: string, ...cmd: string[]): string => kubectl("exec", "-n", NS, pod, "--", ...cmd);
  /** Exit code of a command in a pod (kubectl exec passes it through). */
  const execStatus = (pod: string, ...cmd: string[]): number => {
    const kc = path.join(ensureBinaries(), "kubectl");
    return (
      spawnSync(kc, ["--kubeconfig", c().kubeconfig, "exec", "-n", NS, pod, "--", ...cmd], { encoding: "utf8", timeout: 60_000 }).status ??
      -1
    );
  };
  const ping = (from: string, to: string): boolean => execStatus(from, "ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "2", to) === 0;
  const ipOnly = (cidr: string): string => cidr.split("/")[0];

  before(async function () {
    // A loaded machine: 97 s to a Ready node and 271 s for helm install --wait were seen at a load average of 80.
    this.timeout(900_000);
    cluster = await nodeClusterOrSkip(this, { simulatorStepMs: SIM_STEP_MS });
    const t0 = Date.now();
    const tag = IMAGE_TAG ? ["--set", `image.tag=${IMAGE_TAG}`] : [];
    await new Installed(cluster).helmAsync(
      "install",
      "vmnet-operator",
      "charts/vmnet-operator",
      "-n",
      HELM_NS,
      "--create-namespace",
      "--wait",
      "--timeout",
      "10m",
      ...tag,
    );
    record(`helm install --wait ${seconds(t0)} s`);
  });
  after(async () => {
    figures.print();
    await cluster?.stop();
  });

  const launchers = (vm: string): Pod[] =>
    json<{ items: Pod[] }>("pods", "-n", NS, "-l", `kubevirt.io=virt-launcher,vm.kubevirt.io/name=${vm}`).items.filter(
      p => !p.metadata.deletionTimestamp,
    );
  const claimOf = (vm: string): Promise<Claim> =>
    eventually(
      `IPClaim ${NS}/${vm}.ovs1 Bound`,
      async () => {
        const claim = json<Claim>("ipclaim", `${vm}.ovs1`, "-n", NS);
        return claim.status?.conditions?.some(x => x.type === "Bound" && x.status === "True") ? claim : undefined;
      },
      120_000,
    );
  const runningLauncher = (vm: string, not?: string): Promise<Pod> =>
    eventually(
      `a Running launcher pod of ${vm}${not ? ` other than ${not}` : ""}`,
      async () => launchers(vm).find(p => p.status?.phase === "Running" && p.metadata.name !== not),
      180_000,
    );

  /** Multus's network-status and `ip addr` in the pod both show the claim's address and MAC on the NIC. */
  function assertAddressOnInterface(pod: Pod, network: string, claim: Claim): void {
    const [address] = claim.status?.addresses ?? [];
    const mac = claim.status?.mac;
    assert.ok(address && mac, "the claim has an address and a MAC");
    const status = JSON.parse(pod.metadata.annotations?.[NETWORK_STATUS] ?? "[]") as NetStatus[];
    const entry = status.find(s => s.name === network);
    assert.deepEqual(
      { interface: entry?.interface, ips: entry?.ips, mac: entry?.mac },
      { interface: IFACE, ips: [ipOnly(address)], mac },
      `${pod.metadata.name}: Multus's ${NETWORK_STATUS} for ${network}: ${JSON.stringify(status)}`,
    );
    const link = (JSON.parse(exec(pod.metadata.name, "ip", "-j", "addr", "show", "dev", IFACE)) as Link[])[0];
    const v4 = link.addr_info.filter(a => a.family === "inet").map(a => `${a.local}/${a.prefixlen}`);
    assert.deepEqual(
      { mac: link.address, addresses: v4 },
      { mac, addresses: [address] },
      `${pod.metadata.name}: ip addr show dev ${IFACE}`,
    );
  }

  const routes = (pod: string): string => exec(pod, "ip", "-4", "route", "show");

  const claims: Record<string, Claim> = {};
  const pods: Record<string, Pod> = {};

  it("runs Multus as its own least-privilege user", () => {
    const can = (...args: string[]): string => {
      const kc = path.join(ensureBinaries(), "kubectl");
      return spawnSync(kc, ["--kubeconfig", c().kubeconfig, "auth", "can-i", ...args, `--as=${MULTUS_USER}`], {
        encoding: "utf8",
      }).stdout.trim();
    };
    for (const allowed of [
      ["get", "pods"],
      ["update", "pods", "--subresource=status"],
      ["get", "network-attachment-definitions.k8s.cni.cncf.io"],
      ["create", "events"],
    ]) {
      assert.equal(can(...allowed, "-n", "default"), "yes", allowed.join(" "));
    }
    for (const denied of [
      ["list", "pods"],
      ["update", "pods"],
      ["delete", "pods"],
      ["get", "secrets"],
      ["list", "network-attachment-definitions.k8s.cni.cncf.io"],
    ]) {
      assert.equal(can(...denied, "-n", "default"), "no", denied.join(" "));
    }
  });

  it("admission warns about a pool whose gateway nothing routes through", () => {
    apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    const kc = path.join(ensureBinaries(), "kubectl");
    const pool = {
      apiVersion: "vmnet.io/v1alpha1",
      kind: "IPPool",
      metadata: { name: "dp-unrouted" },
      spec: { cidr: "10.101.7.0/24", gateway: "10.101.7.1", networks: [`${NS}/nowhere`] },
    };
    const r = spawnSync(kc, ["--kubeconfig", c().kubeconfig, "apply", "--dry-run=server", "-f", "-"], {
      input: JSON.stringify(pool),
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Warning: .*gateway "10\.101\.7\.1": nothing routes through it/, r.stderr);
  });

  it("gives each VM's launcher pod its claim's IP and MAC on its interface (network-status and ip addr), with its pool's routes", async () => {
    // vlan100: the pool's gateway is the NICs' default route (spec.defaultRoute, Multus's default-route).
    // vlan200: the same subnet on another VLAN (disjoint ranges), its gateway reached through the NAD's static IPAM routes.
    // vlan200's NAD declares only the ips capability (all the readiness rule asks of ovs): ovs-cni
    // v0.39.0 then sets the MAC from CNI_ARGS MAC=, which Multus still sends.
    const nad = (name: string, vlan: number, ipam: Record<string, unknown>, capabilities: Record<string, boolean>): unknown => ({
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { name, namespace: NS },
      spec: { config: JSON.stringify({ cniVersion: "0.4.0", name, type: "ovs", bridge: c().ovs.bridge, vlan, ipam, capabilities }) },
    });
    apply(nad("vlan100", 100, { type: "static" }, { ips: true, mac: true }));
    apply(nad("vlan200", 200, { type: "static", routes: [{ dst: "10.250.0.0/16", gw: "10.100.7.254" }] }, { ips: true }));
    const pool = (name: string, spec: Record<string, unknown>): unknown => ({
      apiVersion: "vmnet.io/v1alpha1",
      kind: "IPPool",
      metadata: { name },
      spec: { cidr: "10.100.7.0/24", ...spec },
    });
    apply(
      pool("dp-vlan100", { ranges: ["10.100.7.10-10.100.7.49"], gateway: "10.100.7.1", defaultRoute: true, networks: [`${NS}/vlan100`] }),
    );
    apply(pool("dp-vlan200", { ranges: ["10.100.7.50-10.100.7.89"], gateway: "10.100.7.254", networks: [`${NS}/vlan200`] }));

    const t0 = Date.now();
    const vms: [string, string][] = [
      ["a", "vlan100"],
      ["b", "vlan100"],
      ["c", "vlan200"],
    ];
    for (const [vm, network] of vms) apply(vmManifest(NS, vm, [{ name: "default" }, { name: "ovs1", network }]));
    for (const [vm, network] of vms) {
      claims[vm] = await claimOf(vm);
      pods[vm] = await runningLauncher(vm);
      assert.equal(pods[vm].spec.nodeName, c().nodeName);
      assertAddressOnInterface(pods[vm], `${NS}/${network}`, claims[vm]);
    }
    record(`three VMs to launcher pods Running with their addresses ${seconds(t0)} s`);
    // Multus wrote network-status (its client's field manager), not the simulator.
    const managed = json<{
      metadata: { managedFields?: { manager: string; fieldsV1?: { "f:metadata"?: { "f:annotations"?: Record<string, unknown> } } }[] };
    }>("pod", pods.a.metadata.name, "-n", NS, "--show-managed-fields").metadata.managedFields;
    const writers = (managed ?? [])
      .filter(m => `f:${NETWORK_STATUS}` in (m.fieldsV1?.["f:metadata"]?.["f:annotations"] ?? {}))
      .map(m => m.manager);
    assert.deepEqual(writers, ["multus"], `the managers of ${NETWORK_STATUS}`);
    assert.ok(new Set(Object.values(claims).map(x => x.status?.mac)).size === 3, "three MACs");

    // defaultRoute: the default route goes through the pool's gateway on the NIC.
    assert.match(
      routes(pods.a.metadata.name),
      new RegExp(`^default via 10\\.100\\.7\\.1 dev ${IFACE}`, "m"),
      "a's default route via its pool's gateway",
    );
    // The NAD's static IPAM route through the vlan200 pool's gateway, and no default route there.
    const cRoutes = routes(pods.c.metadata.name);
    assert.match(
      cRoutes,
      new RegExp(`^10\\.250\\.0\\.0/16 via 10\\.100\\.7\\.254 dev ${IFACE}`, "m"),
      "c's NAD route via its pool's gateway",
    );
    assert.doesNotMatch(
      cRoutes,
      new RegExp(`^default .*dev ${IFACE}`, "m"),
      "c has no default route on the NIC: its pool does not ask for one",
    );
  });

  it("lets two VMs on one VLAN ping each other by their fixed addresses, and not a third on another VLAN", () => {
    const ip = (vm: string): string => ipOnly(String(claims[vm].status?.addresses?.[0]));
    const t0 = Date.now();
    assert.ok(ping(pods.a.metadata.name, ip("b")), "a pings b (vlan100)");
    assert.ok(ping(pods.b.metadata.name, ip("a")), "b pings a (vlan100)");
    record(`two pings on vlan100 ${seconds(t0)} s`);
    // c's address is in the same subnet: only the VLAN keeps it apart, so its ARP for a goes unanswered.
    assert.equal(ping(pods.c.metadata.name, ip("a")), false, "c (vlan200) cannot ping a (vlan100)");
    assert.equal(ping(pods.a.metadata.name, ip("c")), false, "a (vlan100) cannot ping c (vlan200)");
    const neigh = exec(pods.c.metadata.name, "ip", "neigh", "show", ip("a"));
    assert.doesNotMatch(neigh, /lladdr/, `c never learned a's MAC: ${neigh}`);
    // b learned a's MAC from a's ARP replies: the claim's.
    assert.match(exec(pods.b.metadata.name, "ip", "neigh", "show", ip("a")), new RegExp(`lladdr ${claims.a.status?.mac}`));
  });

  it("keeps the address through a live migration: both pods carry it, and the new pod answers on the same address and MAC", async () => {
    const source = pods.a;
    const ipA = ipOnly(String(claims.a.status?.addresses?.[0]));
    const t0 = Date.now();
    apply({
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstanceMigration",
      metadata: { name: "mig-a", namespace: NS },
      spec: { vmiName: "a" },
    });
    const target = await runningLauncher("a", source.metadata.name);
    const phase = json<{ status?: { phase?: string } }>("virtualmachineinstancemigration", "mig-a", "-n", NS).status?.phase;
    // Both pods at once, while the migration runs (the simulator waits SIM_STEP_MS between phases).
    const both = launchers("a");
    assert.deepEqual(
      both.map(p => p.metadata.name).sort(),
      [source.metadata.name, target.metadata.name].sort(),
      `both pods of the migration (phase ${phase})`,
    );
    for (const p of both) assertAddressOnInterface(p, `${NS}/vlan100`, claims.a);
    const after = json<{ status?: { phase?: string } }>("virtualmachineinstancemigration", "mig-a", "-n", NS).status?.phase;
    assert.notEqual(after, "Failed");
    record(`migration target Running with the address beside the source (phases ${phase} .. ${after}) ${seconds(t0)} s`);

    await eventually(
      "migration mig-a Succeeded",
      async () => json<{ status?: { phase?: string } }>("virtualmachineinstancemigration", "mig-a", "-n", NS).status?.phase === "Succeeded",
      120_000,
    );
    // The source pod gone, and its port with it: only the target can answer on a's address now.
    await eventually(
      `source pod ${source.metadata.name} gone`,
      async () => !launchers("a").some(p => p.metadata.name === source.metadata.name),
      120_000,
    );
    await eventually(
      "three ports on the bridge (a's target, b, c)",
      async () => c().ovs.vsctl("list-ports", c().ovs.bridge).trim().split("\n").filter(Boolean).length === 3,
      60_000,
    );
    const sent = (): number =>
      (
        JSON.parse(exec(target.metadata.name, "ip", "-s", "-j", "link", "show", "dev", IFACE)) as { stats64: { tx: { packets: number } } }[]
      )[0].stats64.tx.packets;
    const before = sent();
    assert.ok(ping(pods.b.metadata.name, ipA), "b pings a's address, now on the target pod");
    assert.ok(sent() >= before + 3, `the target pod's ${IFACE} sent the three replies (tx packets ${before} -> ${sent()})`);
    assert.match(
      exec(pods.b.metadata.name, "ip", "neigh", "show", ipA),
      new RegExp(`lladdr ${claims.a.status?.mac}`),
      "a's address at a's MAC",
    );
    assert.match(
      routes(target.metadata.name),
      new RegExp(`^default via 10\\.100\\.7\\.1 dev ${IFACE}`, "m"),
      "the target pod has the pool's default route too",
    );
    record(`migration to answering on the same address and MAC ${seconds(t0)} s`);
  });
});
