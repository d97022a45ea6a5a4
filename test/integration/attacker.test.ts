// Tests as an attacker: two tenants, each a real user (client certificate) whose Role lets it manage
// VMs, pods and NADs in its own namespace only, try every known way to take, copy or learn another
// tenant's address or MAC, against the real API server and the operator's webhooks. Any that gets
// through fails the suite; the denials must read as a person needs them and name nothing of the
// other tenant.
import assert from "node:assert/strict";
import https from "node:https";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import { launcherInterfaceName } from "../../capabilities/domain/launcher-pod";
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { ApiError } from "../../capabilities/k8s/errors";
import { KindRef, Kinds } from "../../capabilities/k8s/kinds";
import { boundClaim, createNad, createPool, eventually, OVS_STATIC_CONFIG, uniqueSubnet, vmManifest } from "../helpers";
import { cluster, duringWebhookOutage, freshNamespace, launcherClient, operatorProcess } from "../setup/cluster";

const ROLE: KindRef = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", plural: "roles", namespaced: true };
const ROLE_BINDING: KindRef = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true };
const NETWORKS = "k8s.v1.cni.cncf.io/networks";

interface Tenant {
  user: string;
  ns: string;
  client: KubeClient;
}

/** A tenant: a namespace and a user who may manage VMs, pods and NADs there (not Services). */
async function tenant(user: string, extraRules: Record<string, unknown>[] = []): Promise<Tenant> {
  const ns = await freshNamespace(`atk-${user}`);
  const admin = cluster().client;
  await admin.apply(ROLE, {
    metadata: { name: "tenant", namespace: ns },
    rules: [
      { apiGroups: ["kubevirt.io"], resources: ["virtualmachines"], verbs: ["*"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["*"] },
      { apiGroups: ["k8s.cni.cncf.io"], resources: ["network-attachment-definitions"], verbs: ["*"] },
      { apiGroups: ["vmnet.io"], resources: ["ipclaims"], verbs: ["get", "list", "watch"] },
      ...extraRules,
    ],
  });
  await admin.apply(ROLE_BINDING, {
    metadata: { name: "tenant", namespace: ns },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "tenant" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
  });
  const client = await KubeClient.fromDefault(4, cluster().controlPlane.userKubeconfig(user, ["tenants"]));
  client.maxAttempts = 1;
  return { user, ns, client };
}

function pod(
  ns: string,
  name: string,
  annotations: Record<string, string>,
  labels: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): KubeObject {
  return { metadata: { name, namespace: ns, labels, annotations, ...extra }, spec: { containers: [{ name: "c", image: "x:1" }] } };
}

/** The call must be refused; returns the message. */
async function refused(what: string, call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    assert.ok(err instanceof ApiError, `${what}: ${String(err)}`);
    assert.ok(err.status >= 400 && err.status < 500, `${what}: status ${err.status}: ${err.message}`);
    return err.message;
  }
  assert.fail(`${what}: got through`);
}

/** A denial naming nothing of the victim. */
function namesNothingOf(message: string, victim: Tenant, secrets: string[]): void {
  for (const s of [victim.ns, ...secrets]) assert.ok(!message.includes(s), `the denial leaks ${JSON.stringify(s)}: ${message}`);
}

describe("attacker: no address theft between tenants", function () {
  this.timeout(180_000);
  let alice: Tenant;
  let bob: Tenant;
  let prefix: string;
  let victim: IPClaim;
  let addr: string;
  let mac: string;
  let vlan: number;
  const pools: string[] = [];

  before(async () => {
    alice = await tenant("alice", [{ apiGroups: [""], resources: ["services"], verbs: ["create", "get", "list"] }]);
    bob = await tenant("bob");
    const subnet = uniqueSubnet();
    prefix = subnet.prefix;
    vlan = 2000 + (process.pid % 1000);
    await createNad(alice.ns, "vlan100", OVS_STATIC_CONFIG("vlan100", vlan));
    await createPool(`atk-${alice.ns}`, {
      cidr: subnet.cidr,
      gateway: `${prefix}.1`,
      networks: [`${alice.ns}/vlan100`, `${bob.ns}/vlan100`],
    });
    pools.push(`atk-${alice.ns}`);
    await createNad(bob.ns, "vlan100", OVS_STATIC_CONFIG("vlan100", vlan));
    await alice.client.create(Kinds.VirtualMachine, vmManifest(alice.ns, "web-1", [{ name: "ovs1", network: "vlan100" }]));
    victim = await boundClaim(alice.ns, "web-1.ovs1");
    addr = String(victim.status!.addresses![0]);
    mac = String(victim.status!.mac);
  });

  after(async () => {
    await alice?.client.close();
    await bob?.client.close();
    for (const p of pools)
      await cluster()
        .client.delete(Kinds.IPPool, p)
        .catch(() => undefined);
  });

  const stolen = (el: Record<string, unknown>): string => JSON.stringify([{ ips: [addr], mac, ...el }]);

  it("refuses a plain pod that sets another tenant's address and MAC on its NAD, or on its own", async () => {
    for (const [what, annotation] of [
      ["victim's NAD", stolen({ name: "vlan100", namespace: alice.ns })],
      ["own pool-backed NAD", stolen({ name: "vlan100" })],
      ["cni-args", JSON.stringify([{ name: "vlan100", "cni-args": { ips: [addr], mac } }])],
    ]) {
      const msg = await refused(what, () => bob.client.create(Kinds.Pod, pod(bob.ns, "plain", { [NETWORKS]: annotation })));
      assert.match(
        msg,
        /only virt-launcher pods created by system:serviceaccount:kubevirt:kubevirt-controller|an address there comes only from the VM's IPClaim/,
        msg,
      );
      assert.match(msg, /remove "/, msg);
    }
  });

  it("refuses the same with launcher labels, a VM name label and an ownerReference to a VMI", async () => {
    const msg = await refused("launcher look-alike", () =>
      bob.client.create(
        Kinds.Pod,
        pod(
          bob.ns,
          "virt-launcher-web-1-xxxxx",
          { [NETWORKS]: stolen({ name: "vlan100", namespace: alice.ns, interface: launcherInterfaceName("ovs1") }) },
          { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": "web-1" },
          {
            ownerReferences: [
              {
                apiVersion: "kubevirt.io/v1",
                kind: "VirtualMachineInstance",
                name: "web-1",
                uid: String(victim.metadata?.uid ?? "0"),
                controller: true,
              },
            ],
          },
        ),
      ),
    );
    assert.match(msg, /only virt-launcher pods created by/);
  });

  it("never writes a VM's address onto a pod that merely names the VM (same namespace, no addresses asked)", async () => {
    await bob.client.create(Kinds.VirtualMachine, vmManifest(bob.ns, "db", [{ name: "ovs1", network: "vlan100" }]));
    await boundClaim(bob.ns, "db.ovs1");
    const created = await bob.client.create<KubeObject>(
      Kinds.Pod,
      pod(
        bob.ns,
        "copycat",
        { [NETWORKS]: JSON.stringify([{ name: "vlan100", interface: launcherInterfaceName("ovs1") }]) },
        { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": "db" },
      ),
    );
    const value = String((created.metadata!.annotations as Record<string, string>)[NETWORKS]);
    assert.ok(!value.includes('"ips"') && !value.includes('"mac"'), `the webhook put an address on a tenant's pod: ${value}`);
  });

  it("refuses every spelling Multus's Go decoder would read as the victim's network or as ips", async () => {
    const ns = alice.ns;
    const variants: [string, string][] = [
      ["decoy name, Name wins in Go", `[{"name":"decoy","Name":"vlan100","namespace":"${ns}","ips":["${addr}"],"mac":"${mac}"}]`],
      ["upper-case IPS", `[{"name":"vlan100","namespace":"${ns}","IPS":["${addr}"]}]`],
      ["long-s namespace", `[{"name":"vlan100","name\u017fpace":"${ns}","ips":["${addr}"]}]`],
      ["escaped key", `[{"name":"vlan100","namespace":"${ns}","\\u0069ps":["${addr}"]}]`],
      ["duplicate namespace, last wins", `[{"name":"vlan100","namespace":"decoy","namespace":"${ns}","ips":["${addr}"]}]`],
      ["escaped value", `[{"name":"vlan\\u0031\\u00300","namespace":"${ns}","ips":["${addr}"]}]`],
      ["mac only", `[{"name":"vlan100","namespace":"${ns}","mac":"${mac}"}]`],
    ];
    for (const [what, annotation] of variants) {
      const msg = await refused(what, () => bob.client.create(Kinds.Pod, pod(bob.ns, "spelled", { [NETWORKS]: annotation })));
      assert.match(msg, /metadata\.annotations\["k8s\.v1\.cni\.cncf\.io\/networks"\]/, `${what}: ${msg}`);
    }
  });

  it("refuses an address in v1.multus-cni.io/default-network", async () => {
    const msg = await refused("default-network", () =>
      bob.client.create(
        Kinds.Pod,
        pod(bob.ns, "default-net", { "v1.multus-cni.io/default-network": stolen({ name: "vlan100", namespace: alice.ns }) }),
      ),
    );
    assert.match(msg, /default-network/);
  });

  it("refuses rewriting the networks annotation of an admitted pod", async () => {
    await bob.client.create(Kinds.Pod, pod(bob.ns, "later", { [NETWORKS]: JSON.stringify([{ name: "vlan100", namespace: alice.ns }]) }));
    const msg = await refused("UPDATE", () =>
      bob.client.mergePatch(Kinds.Pod, "later", bob.ns, {
        metadata: { annotations: { [NETWORKS]: stolen({ name: "vlan100", namespace: alice.ns }) } },
      }),
    );
    assert.match(msg, /only virt-launcher pods created by/);
    // The launcher identity may not change its pod's addresses to another VM's either.
    const launched = await launcherClient().create<KubeObject>(
      Kinds.Pod,
      pod(
        bob.ns,
        "virt-launcher-db-aaaaa",
        { [NETWORKS]: JSON.stringify([{ name: "vlan100", interface: launcherInterfaceName("ovs1") }]) },
        { "kubevirt.io": "virt-launcher", "vm.kubevirt.io/name": "db" },
      ),
    );
    assert.match(String((launched.metadata!.annotations as Record<string, string>)[NETWORKS]), /"ips"/);
    // (The mutation puts the VM's own address back over it, so the update ends with db's address.)
    const patched = await launcherClient().mergePatch<KubeObject>(Kinds.Pod, "virt-launcher-db-aaaaa", bob.ns, {
      metadata: { annotations: { [NETWORKS]: stolen({ name: "vlan100", interface: launcherInterfaceName("ovs1") }) } },
    });
    const after = String((patched.metadata!.annotations as Record<string, string>)[NETWORKS]);
    assert.ok(!after.includes(addr) && !after.includes(mac), `the launcher pod now carries the victim's address: ${after}`);
  });

  it("refuses a tenant's own static NAD on the pool's bridge and VLAN carrying an address", async () => {
    await bob.client.create(Kinds.NetworkAttachmentDefinition, {
      metadata: { name: "sneaky", namespace: bob.ns },
      spec: { config: OVS_STATIC_CONFIG("sneaky", vlan) },
    });
    await eventually("the operator sees the NAD", async () => {
      const msg = await refused("L2-shared NAD", () =>
        bob.client.create(Kinds.Pod, pod(bob.ns, "sneaky", { [NETWORKS]: stolen({ name: "sneaky" }) })),
      ).catch(() => undefined);
      return msg !== undefined && /shares its bridge and VLAN/.test(msg);
    });
  });

  it("refuses a spec macAddress another NIC holds on the L2 segment, naming nothing of it", async () => {
    const msg = await refused("MAC copy", () =>
      bob.client.create(Kinds.VirtualMachine, vmManifest(bob.ns, "mac-thief", [{ name: "ovs1", network: "vlan100", macAddress: mac }])),
    );
    assert.match(msg, /macAddress .* is already in use on its L2 segment/);
    namesNothingOf(msg, alice, ["web-1"]);
  });

  it("answers a held address with 'in use', not with its holder or the pool's ranges", async () => {
    const msg = await refused("address oracle", () =>
      bob.client.create(
        Kinds.VirtualMachine,
        vmManifest(bob.ns, "probe", [{ name: "ovs1", network: "vlan100" }], { "vmnet.io/addresses": `{"ovs1": "${addr.split("/")[0]}"}` }),
      ),
    );
    assert.match(msg, /is in use; pick another address/);
    namesNothingOf(msg, alice, ["web-1", "IPClaim"]);
  });

  it("says nothing of a pool that does not serve the tenant", async () => {
    const ns = await freshNamespace("atk-closed");
    await createNad(ns, "closed", OVS_STATIC_CONFIG("closed", vlan + 1));
    const secretPool = `atk-secret-${ns}`;
    pools.push(secretPool);
    await createPool(secretPool, {
      cidr: uniqueSubnet().cidr,
      networks: [`${ns}/closed`],
      namespaceSelector: { matchLabels: { secret: "yes" } },
    });
    const msg = await refused("closed pool", () =>
      eventually(
        "the pool is seen",
        () =>
          bob.client
            .create(
              Kinds.VirtualMachine,
              vmManifest(bob.ns, "closed", [{ name: "ovs1", network: `${ns}/closed` }], { "vmnet.io/addresses": '{"ovs1": "10.1.2.3"}' }),
            )
            .then(() => false),
        5000,
      ),
    ).catch(err => String(err));
    assert.match(msg, /an IPPool that does not serve namespace/);
    assert.ok(!msg.includes(secretPool) && !msg.includes("matchLabels") && !msg.includes("secret"), msg);
  });

  it("lets no one without the right to create Services make the operator create one", async () => {
    const msg = await refused("expose deputy", () =>
      bob.client.create(
        Kinds.VirtualMachine,
        vmManifest(bob.ns, "lb", [{ name: "default", ports: [{ port: 22 }] }], { "vmnet.io/expose": "LoadBalancer" }),
      ),
    );
    assert.match(msg, /may not create Services there/);
    // Adding it later is the same request.
    await bob.client.create(Kinds.VirtualMachine, vmManifest(bob.ns, "lb", [{ name: "default", ports: [{ port: 22 }] }]));
    await refused("expose on update", () =>
      bob.client.mergePatch(Kinds.VirtualMachine, "lb", bob.ns, { metadata: { annotations: { "vmnet.io/expose": "NodePort" } } }),
    );
    // Alice may create Services: her VM gets one.
    await alice.client.create(
      Kinds.VirtualMachine,
      vmManifest(alice.ns, "ssh", [{ name: "default", ports: [{ port: 22 }] }], { "vmnet.io/expose": "ClusterIP" }),
    );
    await eventually("alice's Service", () => cluster().client.getOrUndefined(Kinds.Service, "ssh", alice.ns));
  });

  it("refuses an oversized or deeply nested VM in milliseconds, with no stack trace", async () => {
    const nics = Array.from({ length: 8000 }, (_, i) => ({ name: `n${i}`, network: "vlan100" }));
    const big = vmManifest(bob.ns, "huge", nics);
    const t0 = Date.now();
    const msg = await refused("8,000 NICs", () =>
      bob.client.request({
        method: "POST",
        path: `/apis/kubevirt.io/v1/namespaces/${bob.ns}/virtualmachines`,
        query: { dryRun: "All" },
        body: big,
        what: "huge VM",
      }),
    );
    const took = Date.now() - t0;
    assert.match(msg, /has 8000 entries; KubeVirt allows at most 256/);
    let deep: Record<string, unknown> = {};
    // 4,000 levels: as deep as this client's own JSON.stringify goes; the gate refuses anything past 64.
    for (let i = 0; i < 4000; i++) deep = { d: deep };
    const nested = vmManifest(bob.ns, "deep", [{ name: "default" }]);
    (nested.spec as Record<string, unknown>).extra = deep;
    const msg2 = await refused("4,000 deep", () =>
      bob.client.request({
        method: "POST",
        path: `/apis/kubevirt.io/v1/namespaces/${bob.ns}/virtualmachines`,
        query: { dryRun: "All" },
        body: nested,
        what: "deep VM",
      }),
    );
    assert.ok(!/at [\w/.]+:\d+|node_modules|\.ts:/.test(msg + msg2), `a stack trace or path in: ${msg} ${msg2}`);
    console.log(`      8,000-NIC VM refused in ${took} ms (API server round trip included)`);
  });

  it("answers malformed requests to the webhook port with one plain line: no stack, no path, token first", async () => {
    const cfg = await cluster().client.get<KubeObject & { webhooks: { clientConfig: { url: string } }[] }>(
      Kinds.ValidatingWebhookConfiguration,
      "vmnet-operator",
    );
    const url = new URL(cfg.webhooks[0].clientConfig.url);
    const token = url.pathname.split("/").pop()!;
    const post = (path: string, body: string): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const req = https.request(
          {
            host: "localhost",
            port: operatorProcess().port,
            path,
            method: "POST",
            rejectUnauthorized: false,
            headers: { "content-type": "application/json" },
          },
          res => {
            let text = "";
            res.on("data", d => (text += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    for (const [path, body, status] of [
      [`/validate/${token}`, "{not json", 400],
      [`/validate/${token}`, '{"request": {"kind": {"kind": "Pod"}}}', 400],
      ["/validate/wrong-token", "{not json", 401],
      [`/mutate/${token}`, `${"[".repeat(100000)}`, 400],
    ] as const) {
      const r = await post(path, body);
      assert.equal(r.status, status, `${path} ${body.slice(0, 20)}: ${r.text}`);
      assert.ok(r.text.length < 100 && !/node_modules|\.js|\.ts|at /.test(r.text), `leaks: ${r.text}`);
    }
  });

  it("ends two default pools created at once for one network with one of them not Ready, with a reason", async () => {
    const ns = await freshNamespace("atk-race");
    await createNad(ns, "twice", OVS_STATIC_CONFIG("twice", vlan + 2));
    const [p1, p2] = [`atk-race-a-${ns}`, `atk-race-b-${ns}`];
    pools.push(p1, p2);
    // With the webhooks gone, as when both pass admission at the same moment: the controller decides.
    await duringWebhookOutage(async () => {
      await Promise.all([
        createPool(p1, { cidr: uniqueSubnet().cidr, networks: [`${ns}/twice`], default: true }),
        createPool(p2, { cidr: uniqueSubnet().cidr, networks: [`${ns}/twice`], default: true }),
      ]);
    });
    const ready = async (p: string): Promise<{ status?: string; reason?: string; message?: string } | undefined> =>
      (
        await cluster().client.get<
          KubeObject & { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }
        >(Kinds.IPPool, p)
      ).status?.conditions?.find(c => c.type === "Ready");
    const [r1, r2] = await eventually("one pool marked Conflict", async () => {
      const rs = [await ready(p1), await ready(p2)];
      return rs.filter(r => r?.reason === "Conflict").length === 1 && rs.filter(r => r?.status === "True").length === 1 ? rs : undefined;
    });
    const loser = r1?.reason === "Conflict" ? r1 : r2;
    assert.match(
      String(loser?.message),
      /is also marked default for network .*twice.*a NIC without a pool choice would not know its pool, so this pool serves no address/,
    );
  });
});
