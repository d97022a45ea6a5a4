// Data plane: the addresses the operator assigns land on real interfaces. Real Open vSwitch
// (userspace netdev datapath), ovs-cni's `ovs` plugin and the `static` IPAM plugin, called the way
// Multus calls them, inside network namespaces this test makes. No Kubernetes API involved: the
// launcher pod's networks annotation is rendered by the operator's own pure renderer (the webhook's
// code) from bound claims. Needs root; skipped, loudly, when not root or when OVS cannot start.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import path from "node:path";
import { launcherInterfaceName, nadPoolReadiness, renderLauncherNetworks } from "../../capabilities/admission/rules";
import type { ClaimLike } from "../../capabilities/admission/rules";
import { macFor } from "../../capabilities/ipam/mac";
import { CniResult, multusInvocation, NetworkSelectionElement, PodSandbox, runPlugin } from "./cni";
import { addPodNetns, dataPlaneUnavailable, deleteNetns, icmpInEchos, linkIn, OvsNode, ping, startOvsNode } from "./node";

const TENANT = "tenant-a";

/** A NAD config as a platform team writes it for a pool-backed OVS network. */
function nadConfig(node: OvsNode, name: string, vlan: number, capabilities: Record<string, boolean>): string {
  return JSON.stringify({
    cniVersion: "0.4.0",
    name,
    type: "ovs",
    bridge: node.bridge,
    vlan,
    // Node-local: on a real node this is in /etc/cni/net.d/ovs.d/ovs.conf (ovs-cni merges it under
    // the NAD's settings). This test's OVS is private, so the config names its socket instead of
    // the test writing into the host's /etc.
    socket_file: node.socketFile,
    ipam: { type: "static" },
    capabilities,
  });
}

/** The element Multus sees after the webhook: KubeVirt's annotation plus the claim's ips and mac. */
function renderedElement(vm: string, nic: string, network: string, address: string): NetworkSelectionElement {
  const [namespace, name] = network.split("/");
  const annotation = JSON.stringify([{ name, namespace, interface: launcherInterfaceName(nic) }]);
  const claim: ClaimLike = {
    metadata: { name: `${vm}.${nic}`, namespace: TENANT },
    spec: { vm, interface: nic, network },
    status: { addresses: [address], mac: macFor(address.split("/")[0]), conditions: [{ type: "Bound", status: "True" }] },
  };
  const rendered = renderLauncherNetworks(annotation, TENANT, [claim]);
  assert.equal(rendered.error, undefined, rendered.error);
  return (JSON.parse(rendered.value) as NetworkSelectionElement[])[0];
}

function buildPlugins(): string {
  const script = path.join(__dirname, "..", "..", "hack", "build-cni.sh");
  const out = execFileSync("bash", [script], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  return out.trim().split("\n").pop() as string;
}

function shout(reason: string): void {
  const bar = "!".repeat(100);
  console.warn(`\n${bar}\n!! DATA-PLANE TESTS SKIPPED: ${reason}\n${bar}\n`);
  // CI runs as root with Open vSwitch installed by .ci/run: there a skip would hide a broken data plane.
  if (process.env.CI === "true") throw new Error(`data-plane tests cannot run in CI: ${reason}`);
}

interface Attachment {
  pod: PodSandbox;
  nad: string;
  element: NetworkSelectionElement;
  result?: CniResult;
}

describe("data plane: Open vSwitch (netdev) + ovs-cni + static IPAM", function () {
  this.timeout(120_000);
  let node: OvsNode | undefined;
  let cniPath = "";
  const attachments: Attachment[] = [];
  const namespaces: string[] = [];
  const stopOnExit = (): void => node?.stop();

  before(function () {
    const reason = dataPlaneUnavailable();
    if (reason) {
      shout(reason);
      this.skip();
    }
    this.timeout(900_000); // the first plugin build compiles ovs-cni (about a minute)
    cniPath = buildPlugins();
    try {
      node = startOvsNode();
    } catch (err) {
      shout(err instanceof Error ? err.message : String(err));
      this.skip();
    }
    // Safety net if mocha exits without running after hooks (e.g. Ctrl-C).
    process.once("exit", stopOnExit);
  });

  afterEach(async function () {
    // What kubelet does when a pod goes: Multus DEL for each attachment, then the sandbox's netns.
    const errors: string[] = [];
    for (const a of attachments.splice(0).reverse()) {
      await detach(a).catch((err: unknown) => errors.push(String(err)));
    }
    namespaces.splice(0).forEach(deleteNetns);
    assert.deepEqual(errors, [], "CNI DEL failed during cleanup");
  });

  after(function () {
    process.removeListener("exit", stopOnExit);
    node?.stop();
    node = undefined;
  });

  function ovs(): OvsNode {
    assert.ok(node, "OVS is not running");
    return node;
  }

  /** A launcher pod sandbox (KubeVirt-style pod name) in its own network namespace. */
  function launcherPod(vm: string): PodSandbox {
    const netns = addPodNetns();
    namespaces.push(netns);
    const suffix = crypto.randomBytes(3).toString("hex").slice(0, 5);
    return {
      namespace: TENANT,
      name: `virt-launcher-${vm}-${suffix}`,
      uid: crypto.randomUUID(),
      containerId: crypto.randomBytes(32).toString("hex"),
      netns: `/var/run/netns/${netns}`,
    };
  }

  async function attach(pod: PodSandbox, nad: string, element: NetworkSelectionElement): Promise<Attachment> {
    const a: Attachment = { pod, nad, element };
    attachments.push(a);
    try {
      a.result = await runPlugin(multusInvocation("ADD", nad, element, pod, cniPath), { hostNetns: ovs().netns });
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\novs-vswitchd.log (tail):\n${ovs().logTail()}`);
    }
    return a;
  }

  async function detach(a: Attachment): Promise<void> {
    await runPlugin(multusInvocation("DEL", a.nad, a.element, a.pod, cniPath, a.result), { hostNetns: ovs().netns });
  }

  function detachNow(a: Attachment): Promise<void> {
    attachments.splice(attachments.indexOf(a), 1);
    return detach(a);
  }

  /** One VM's launcher pod on one network, with the operator's address for it. */
  async function vmOn(vm: string, nad: string, network: string, address: string): Promise<Attachment> {
    return attach(launcherPod(vm), nad, renderedElement(vm, "ovs1", network, address));
  }

  const netnsName = (pod: PodSandbox): string => path.basename(pod.netns);

  /** Exactly this IPv4 address and MAC on the pod's interface, and the link up. */
  function assertAddressed(a: Attachment, cidr: string, mac: string): void {
    const ifname = a.element.interface as string;
    const link = linkIn(netnsName(a.pod), ifname);
    assert.ok(link, `no interface ${ifname} in ${a.pod.netns}`);
    assert.equal(link.address, mac, `MAC of ${ifname}`);
    const v4 = link.addr_info.filter(i => i.family === "inet").map(i => `${i.local}/${i.prefixlen}`);
    assert.deepEqual(v4, [cidr], `IPv4 addresses of ${ifname}`);
    assert.equal(link.operstate, "UP", `state of ${ifname}`);
  }

  function ovsPortTag(a: Attachment): string {
    const where = [`external_ids:contNetns=${a.pod.netns}`, `external_ids:contIface=${a.element.interface as string}`];
    return ovs()
      .vsctl("--bare", "--columns=tag", "find", "Port", ...where)
      .trim();
  }

  it("puts the operator's IP and MAC on the launcher pod's interface", async function () {
    const nad = nadConfig(ovs(), "vlan100", 100, { ips: true, mac: true });
    const element = renderedElement("web-1", "ovs1", `${TENANT}/vlan100`, "10.100.0.23/24");
    // The webhook's output has the shape Multus expects (see DESIGN.md section 3, step 2).
    assert.deepEqual(element, {
      name: "vlan100",
      namespace: TENANT,
      interface: launcherInterfaceName("ovs1"),
      ips: ["10.100.0.23/24"],
      mac: "02:00:0a:64:00:17",
    });
    assert.equal(nadPoolReadiness(nad).ready, true, nadPoolReadiness(nad).reason);

    const a = await attach(launcherPod("web-1"), nad, element);
    assertAddressed(a, "10.100.0.23/24", "02:00:0a:64:00:17");
    assert.equal(ovsPortTag(a), "100", "VLAN tag of the pod's OVS port");
    const podIface = a.result?.interfaces?.find(i => i.name === element.interface);
    assert.equal(podIface?.mac, "02:00:0a:64:00:17", "MAC in the CNI result");
    assert.deepEqual(
      a.result?.ips?.map(ip => ip.address),
      ["10.100.0.23/24"],
      "IPs in the CNI result",
    );
  });

  it("sets the MAC from CNI_ARGS when the NAD declares only the ips capability (the operator's readiness rule for ovs)", async function () {
    const nad = nadConfig(ovs(), "vlan100", 100, { ips: true });
    assert.equal(nadPoolReadiness(nad).ready, true, nadPoolReadiness(nad).reason);
    const a = await vmOn("web-2", nad, `${TENANT}/vlan100`, "10.100.0.30/24");
    assertAddressed(a, "10.100.0.30/24", macFor("10.100.0.30"));
  });

  it("gives a live-migration target the same IP and MAC, and the target answers once the source is gone", async function () {
    const nad = nadConfig(ovs(), "vlan100", 100, { ips: true, mac: true });
    const network = `${TENANT}/vlan100`;
    const mac = macFor("10.100.0.23");
    const peer = await vmOn("db-1", nad, network, "10.100.0.24/24");
    const source = await vmOn("web-1", nad, network, "10.100.0.23/24");
    assert.ok(ping(netnsName(peer.pod), "10.100.0.23"), "peer cannot reach the source VM");

    // KubeVirt renders the target pod from the same VMI, so it carries the same networks
    // annotation and the webhook gives it the same element. Like KubeVirt, network the target
    // while the source still runs: both hold the address for a moment.
    const target = await attach(launcherPod("web-1"), nad, renderedElement("web-1", "ovs1", network, "10.100.0.23/24"));
    assertAddressed(target, "10.100.0.23/24", mac);
    assertAddressed(source, "10.100.0.23/24", mac);

    // Migration completes: the source pod is deleted (CNI DEL), and nothing of it is left.
    await detachNow(source);
    assert.equal(linkIn(netnsName(source.pod), source.element.interface as string), undefined, "source interface still there");
    assert.equal(ovsPortTag(source), "", "source OVS port still on the bridge");

    // The peer reaches the VM's address, and it is the target that answers (same MAC: only the
    // target's own ICMP counter tells).
    const before = icmpInEchos(netnsName(target.pod));
    assert.ok(ping(netnsName(peer.pod), "10.100.0.23"), "peer cannot reach the migrated VM");
    assert.ok(icmpInEchos(netnsName(target.pod)) > before, "the target did not receive the peer's echo requests");
    assertAddressed(target, "10.100.0.23/24", mac);
  });

  it("connects two VMs on VLAN 100 and keeps a VM on VLAN 200 (same subnet) apart", async function () {
    const vlan100 = nadConfig(ovs(), "vlan100", 100, { ips: true, mac: true });
    const vlan200 = nadConfig(ovs(), "vlan200", 200, { ips: true, mac: true });
    const a = await vmOn("vm-a", vlan100, `${TENANT}/vlan100`, "10.100.0.41/24");
    const b = await vmOn("vm-b", vlan100, `${TENANT}/vlan100`, "10.100.0.42/24");
    const c = await vmOn("vm-c", vlan200, `${TENANT}/vlan200`, "10.100.0.43/24");
    const d = await vmOn("vm-d", vlan200, `${TENANT}/vlan200`, "10.100.0.44/24");
    assert.equal(ovsPortTag(c), "200", "VLAN tag of vm-c's OVS port");

    assert.ok(ping(netnsName(a.pod), "10.100.0.42"), "vm-a cannot reach vm-b on VLAN 100");
    assert.ok(ping(netnsName(b.pod), "10.100.0.41"), "vm-b cannot reach vm-a on VLAN 100");
    // VLAN 200 works in itself, so the failure below is isolation, not a broken NIC.
    assert.ok(ping(netnsName(c.pod), "10.100.0.44"), "vm-c cannot reach vm-d on VLAN 200");
    assert.equal(ping(netnsName(a.pod), "10.100.0.43"), false, "vm-a (VLAN 100) reached vm-c (VLAN 200)");
    assert.equal(ping(netnsName(c.pod), "10.100.0.42"), false, "vm-c (VLAN 200) reached vm-b (VLAN 100)");
    assertAddressed(d, "10.100.0.44/24", macFor("10.100.0.44"));
  });
});
