// Admission as production runs it: the real API server calls the operator's webhook over TLS
// (registered with a caBundle), and kubectl shows the denials and warnings to the person.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import { launcherInterfaceName } from "../../capabilities/domain/launcher-pod";
import { KubeObject } from "../../capabilities/k8s/client";
import { ApiError } from "../../capabilities/k8s/errors";
import { Kinds } from "../../capabilities/k8s/kinds";
import { boundClaim, poolNetwork, uniqueSubnet, vmManifest } from "../helpers";
import { cluster, freshNamespace, launcherClient } from "../setup/cluster";

const run = promisify(execFile);

async function kubectl(args: string[], stdin?: string): Promise<{ code: number; out: string }> {
  const bin = path.join(cluster().controlPlane.binDir, "kubectl");
  const child = run(bin, ["--kubeconfig", cluster().controlPlane.kubeconfig, ...args], { encoding: "utf8" });
  if (stdin !== undefined) {
    child.child.stdin?.end(stdin);
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

const yaml = (obj: KubeObject): string => JSON.stringify(obj);

const network = (): Promise<{ ns: string; pool: string; prefix: string }> => poolNetwork("adm");

function launcherPod(ns: string, vm: string, networks: unknown[], name = `virt-launcher-${vm}-abcde`): KubeObject {
  return {
    metadata: {
      name,
      namespace: ns,
      labels: { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": vm },
      annotations: { "k8s.v1.cni.cncf.io/networks": JSON.stringify(networks) },
    },
    spec: { containers: [{ name: "compute", image: "virt-launcher:sim" }] },
  };
}

describe("admission webhooks over TLS", () => {
  it("kubectl apply of a VM with masquerade on a Multus network prints a denial naming field, value and fix", async () => {
    const { ns } = await network();
    const bad = vmManifest(ns, "bad", [{ name: "ovs1", network: "vlan100", binding: "masquerade" }]);
    const { code, out } = await kubectl(["apply", "-f", "-"], yaml(bad));
    assert.notEqual(code, 0);
    assert.match(out, /denied the request/);
    assert.match(out, /VirtualMachine .*\/bad/);
    assert.match(out, /spec\.template\.spec\.domain\.devices\.interfaces\[0\]/);
    assert.match(out, /masquerade/);
  });

  it("refuses an address held by another VM, naming the holder", async () => {
    const { ns, prefix } = await network();
    await cluster().client.create(
      Kinds.VirtualMachine,
      vmManifest(ns, "first", [{ name: "ovs1", network: "vlan100" }], { "vmnet.io/addresses": `{"ovs1": "${prefix}.40"}` }),
    );
    await boundClaim(ns, "first.ovs1");
    const second = vmManifest(ns, "second", [{ name: "ovs1", network: "vlan100" }], { "vmnet.io/addresses": `{"ovs1": "${prefix}.40"}` });
    const { code, out } = await kubectl(["apply", "-f", "-"], yaml(second));
    assert.notEqual(code, 0);
    assert.match(out, new RegExp(`${prefix}\\.40`));
    assert.match(out, /first/);
  });

  it("warns, without refusing, about a NAD that does not exist yet", async () => {
    const ns = await freshNamespace("adm");
    const vm = vmManifest(ns, "early", [{ name: "ovs1", network: "later-net" }]);
    const { code, out } = await kubectl(["apply", "-f", "-"], yaml(vm));
    assert.equal(code, 0, out);
    assert.match(out, /Warning: .*later-net/);
  });

  it("refuses a NAD whose config is not JSON, with the position", async () => {
    const ns = await freshNamespace("adm");
    const nad = {
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { name: "broken", namespace: ns },
      spec: { config: '{"type": "ovs", "bridge": }' },
    };
    const { code, out } = await kubectl(["apply", "-f", "-"], yaml(nad));
    assert.notEqual(code, 0);
    assert.match(out, /spec\.config/);
    assert.match(out, /line 1, column \d+/);
  });

  it("refuses deleting a pool that still has allocations, with the count", async () => {
    const { ns, pool } = await network();
    await cluster().client.create(Kinds.VirtualMachine, vmManifest(ns, "holder", [{ name: "ovs1", network: "vlan100" }]));
    await boundClaim(ns, "holder.ovs1");
    const { code, out } = await kubectl(["delete", "ippool", pool]);
    assert.notEqual(code, 0);
    assert.match(out, /1 allocated address/);
  });

  it("puts the claim's ips and mac on a virt-launcher pod and leaves other elements alone", async () => {
    const { ns } = await network();
    await cluster().client.create(Kinds.VirtualMachine, vmManifest(ns, "web", [{ name: "default" }, { name: "ovs1", network: "vlan100" }]));
    const claim = await boundClaim(ns, "web.ovs1");
    const pod = await launcherClient().create<KubeObject>(
      Kinds.Pod,
      launcherPod(ns, "web", [
        { name: "vlan100", namespace: ns, interface: launcherInterfaceName("ovs1") },
        { name: "unrelated", namespace: ns, interface: "pod0000000000b" },
      ]),
    );
    const elements = JSON.parse((pod.metadata!.annotations as Record<string, string>)["k8s.v1.cni.cncf.io/networks"]);
    assert.deepEqual(elements[0], {
      name: "vlan100",
      namespace: ns,
      interface: launcherInterfaceName("ovs1"),
      ips: claim.status?.addresses,
      mac: claim.status?.mac,
      "cni-args": { mac: claim.status?.mac },
    });
    assert.deepEqual(elements[1], { name: "unrelated", namespace: ns, interface: "pod0000000000b" });
  });

  it("binds on the spot when the launcher pod arrives before the controller bound the claim", async () => {
    const { ns, prefix } = await network();
    // Create VM and pod back to back: the webhook must not wait for the controller's queue.
    await cluster().client.create(Kinds.VirtualMachine, vmManifest(ns, "burst", [{ name: "ovs1", network: "vlan100" }]));
    // Like virt-controller, retry a refused pod: on a loaded machine the bind may outlast the
    // webhook's budget once, and the pod must then be refused, never admitted bare.
    const create = (): Promise<KubeObject> =>
      launcherClient().create<KubeObject>(
        Kinds.Pod,
        launcherPod(ns, "burst", [{ name: "vlan100", interface: launcherInterfaceName("ovs1") }]),
      );
    const pod = await create()
      .catch(async () => create())
      .catch(async () => create());
    const elements = JSON.parse((pod.metadata!.annotations as Record<string, string>)["k8s.v1.cni.cncf.io/networks"]);
    assert.ok(elements[0].ips?.[0]?.startsWith(`${prefix}.`), `got ${JSON.stringify(elements)}`);
    const claim = await cluster().client.get<IPClaim>(Kinds.IPClaim, "burst.ovs1", ns);
    assert.deepEqual(elements[0].ips, claim.status?.addresses);
  });

  it("never admits a pool-backed launcher pod without its address", async () => {
    const { ns, pool, prefix } = await network();
    // A pool with no free address (its one address held by another VM): the claim cannot be
    // bound, so the pod must be refused. (Excluding the whole CIDR is refused at admission.)
    await cluster().client.mergePatch(Kinds.IPPool, pool, undefined, { spec: { ranges: [`${prefix}.10`] } });
    await cluster().client.create(Kinds.VirtualMachine, vmManifest(ns, "first", [{ name: "ovs1", network: "vlan100" }]));
    await boundClaim(ns, "first.ovs1");
    await cluster().client.create(Kinds.VirtualMachine, vmManifest(ns, "nowhere", [{ name: "ovs1", network: "vlan100" }]));
    try {
      await launcherClient().create(Kinds.Pod, launcherPod(ns, "nowhere", [{ name: "vlan100", interface: launcherInterfaceName("ovs1") }]));
      assert.fail("a pool-backed launcher pod without an address was admitted");
    } catch (err) {
      assert.ok(err instanceof ApiError, String(err));
      assert.match(err.message, /no bound address for network .*vlan100/);
      assert.match(err.message, /kubectl get ipclaims/);
    }
  });

  it("refuses a pool that can hand out no address and warns about a /32, each at spec.cidr", async () => {
    const ns = await freshNamespace("adm");
    const { prefix } = uniqueSubnet();
    const ippool = (name: string, spec: Record<string, unknown>): KubeObject => ({
      apiVersion: "vmnet.io/v1alpha1",
      kind: "IPPool",
      metadata: { name: `${name}-${ns}` },
      spec: { networks: [`${ns}/vlan100`], ...spec },
    });
    const empty = await kubectl(["apply", "-f", "-"], yaml(ippool("empty", { cidr: `${prefix}.5/32`, gateway: `${prefix}.5` })));
    assert.notEqual(empty.code, 0, empty.out);
    assert.match(empty.out, /spec\.cidr ".*\/32" leaves this pool no address to hand out: spec\.gateway takes out every address/);
    const single = await kubectl(["apply", "-f", "-"], yaml(ippool("single", { cidr: `${prefix}.6/32` })));
    assert.equal(single.code, 0, single.out);
    assert.match(single.out, /Warning: .*spec\.cidr ".*\/32" is a \/32, a point-to-point subnet: the pool holds 1 address/);
    await cluster().client.delete(Kinds.IPPool, `single-${ns}`);
  });

  it("lets only the operator write IPAllocations (admission policy), even for a cluster admin", async () => {
    const alloc = {
      apiVersion: "vmnet.io/v1alpha1",
      kind: "IPAllocation",
      metadata: { name: "forged.10-9-9-9" },
      spec: { pool: "forged", address: "10.9.9.9", claimRef: { namespace: "x", name: "y" } },
    };
    const { code, out } = await kubectl(["create", "--as=mallory", "--as-group=system:masters", "-f", "-"], yaml(alloc));
    assert.notEqual(code, 0);
    assert.match(out, /only vmnet-operator/);
  });

  it("lets no tenant read or write IPAllocations without RBAC", async () => {
    const { code, out } = await kubectl(["get", "ipallocations", "--as=tenant-user"]);
    assert.notEqual(code, 0);
    assert.match(out, /forbidden/i);
  });
});
