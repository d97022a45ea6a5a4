// Several pools on one network, one of them its default, chosen per NIC with vmnet.io/pools:
// against the real API server, its admission webhooks and the operator. One NIC on a chosen pool
// and one on the default, both Bound from the right pools; the webhook's refusals (a pool of
// another network, a pool that does not select the namespace, a full pool, a change of pool on a
// bound NIC); the re-addressing its message describes; a second default refused.
import assert from "node:assert/strict";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import { ApiError } from "../../capabilities/k8s/errors";
import { Kinds } from "../../capabilities/k8s/kinds";
import { KubeObject } from "../../capabilities/k8s/client";
import { boundClaim, createNad, createPool, gone, uniqueSubnet, vmManifest } from "../helpers";
import { cluster, freshNamespace } from "../setup/cluster";

const POOLS = "vmnet.io/pools";

async function refused(what: string, write: () => Promise<unknown>): Promise<string> {
  try {
    await write();
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.match(err.message, /denied the request/, err.message);
    return err.message;
  }
  assert.fail(`${what} was admitted`);
}

const inSubnet = (claim: IPClaim, prefix: string): boolean =>
  (claim.status?.addresses ?? []).length === 1 && claim.status!.addresses![0].startsWith(`${prefix}.`);

describe("pool choice: several pools per network, one default, vmnet.io/pools per NIC", () => {
  let ns: string;
  const subnet = { def: uniqueSubnet(), db: uniqueSubnet(), tiny: uniqueSubnet(), other: uniqueSubnet(), foreign: uniqueSubnet() };
  const pool = (which: keyof typeof subnet): string => `${which}-${ns}`;

  before(async () => {
    ns = await freshNamespace("choice", { tenant: "choice" });
    await Promise.all([createNad(ns, "vlan100"), createNad(ns, "other")]);
    const mine = { matchLabels: { "kubernetes.io/metadata.name": ns } };
    await createPool(pool("def"), { cidr: subnet.def.cidr, networks: [`${ns}/vlan100`], namespaceSelector: mine, default: true });
    await createPool(pool("db"), {
      cidr: subnet.db.cidr,
      gateway: `${subnet.db.prefix}.1`,
      networks: [`${ns}/vlan100`],
      namespaceSelector: mine,
    });
    await createPool(pool("tiny"), {
      cidr: subnet.tiny.cidr,
      ranges: [`${subnet.tiny.prefix}.10`],
      networks: [`${ns}/vlan100`],
      namespaceSelector: mine,
    });
    await createPool(pool("other"), { cidr: subnet.other.cidr, networks: [`${ns}/other`], namespaceSelector: mine });
    await createPool(pool("foreign"), {
      cidr: subnet.foreign.cidr,
      networks: [`${ns}/vlan100`],
      namespaceSelector: { matchLabels: { tenant: "somebody-else" } },
    });
  });

  after(async () => {
    await cluster().client.delete(Kinds.Namespace, ns);
  });

  it("binds one NIC from the pool it chose and one from the network's default; vmnet.io/addresses works within the chosen pool", async () => {
    const nics = [
      { name: "front", network: "vlan100" },
      { name: "data", network: "vlan100" },
    ];
    await cluster().client.create(
      Kinds.VirtualMachine,
      vmManifest(ns, "app", nics, {
        [POOLS]: JSON.stringify({ data: pool("db") }),
        "vmnet.io/addresses": JSON.stringify({ data: `${subnet.db.prefix}.42` }),
      }),
    );
    const [front, data] = await Promise.all([boundClaim(ns, "app.front"), boundClaim(ns, "app.data")]);
    assert.deepEqual(front.spec?.pools, [pool("def")]);
    assert.ok(inSubnet(front, subnet.def.prefix), JSON.stringify(front.status));
    assert.deepEqual(data.spec?.pools, [pool("db")]);
    assert.deepEqual([data.status?.addresses, data.status?.gateway], [[`${subnet.db.prefix}.42/24`], `${subnet.db.prefix}.1`]);
  });

  it("refuses a pool that does not serve the NIC's network, and one that does not select the namespace without showing its ranges", async () => {
    const vm = (name: string, choice: string): KubeObject =>
      vmManifest(ns, name, [{ name: "ovs1", network: "vlan100" }], { [POOLS]: JSON.stringify({ ovs1: choice }) });
    const wrongNet = await refused("a pool of another network", () =>
      cluster().client.create(Kinds.VirtualMachine, vm("wrong-net", pool("other"))),
    );
    assert.match(
      wrongNet,
      new RegExp(
        `IPPool "${pool("other")}" does not serve network "${ns}/vlan100"; choose one of the pools of network "${ns}/vlan100" that serve it`,
      ),
    );
    const foreign = await refused("a pool that does not select the namespace", () =>
      cluster().client.create(Kinds.VirtualMachine, vm("foreign", pool("foreign"))),
    );
    assert.match(foreign, new RegExp(`no IPPool named "${pool("foreign")}" serves namespace "${ns}"`));
    assert.ok(!foreign.includes(subnet.foreign.prefix) && !foreign.includes("somebody-else"), foreign);
    const absent = await refused("a pool that does not exist", () =>
      cluster().client.create(Kinds.VirtualMachine, vm("absent", "no-such-pool")),
    );
    assert.equal(
      absent.replace(/"no-such-pool"/g, "X").replace(/VirtualMachine \S+/g, ""),
      foreign.replace(new RegExp(`"${pool("foreign")}"`, "g"), "X").replace(/VirtualMachine \S+/g, ""),
      "no oracle",
    );
  });

  it("refuses a chosen pool with no free address", async () => {
    const choice = { [POOLS]: JSON.stringify({ ovs1: pool("tiny") }) };
    await cluster().client.create(Kinds.VirtualMachine, vmManifest(ns, "filler", [{ name: "ovs1", network: "vlan100" }], choice));
    assert.deepEqual((await boundClaim(ns, "filler.ovs1")).status?.addresses, [`${subnet.tiny.prefix}.10/24`]);
    const full = await refused("a full pool", () =>
      cluster().client.create(Kinds.VirtualMachine, vmManifest(ns, "late", [{ name: "ovs1", network: "vlan100" }], choice)),
    );
    assert.match(full, new RegExp(`IPPool "${pool("tiny")}" has no free address; choose another pool`));
  });

  it("refuses a change of pool on a bound NIC, saying how to re-address it; that way then works", async () => {
    const before = await boundClaim(ns, "app.data");
    const message = await refused("a change of pool", () =>
      cluster().client.mergePatch(Kinds.VirtualMachine, "app", ns, {
        metadata: { annotations: { [POOLS]: JSON.stringify({ data: pool("def") }) } },
      }),
    );
    assert.match(message, new RegExp(`interface "data" holds its addresses in IPPool "${pool("db")}", not in "${pool("def")}"`));
    assert.match(message, /stop the VM, remove interface "data" from it/);
    assert.deepEqual(
      (await cluster().client.get<IPClaim>(Kinds.IPClaim, "app.data", ns)).status?.addresses,
      before.status?.addresses,
      "the claim kept its address",
    );
    // The way the message gives: remove the NIC (the claim and its address are released), then add it back with the new choice.
    const vm = await cluster().client.get<
      KubeObject & {
        spec: { runStrategy: string; template: { spec: { domain: { devices: { interfaces: unknown[] } }; networks: unknown[] } } };
      }
    >(Kinds.VirtualMachine, "app", ns);
    const spec = vm.spec.template.spec;
    await cluster().client.mergePatch(Kinds.VirtualMachine, "app", ns, {
      spec: {
        runStrategy: "Halted",
        template: {
          spec: { domain: { devices: { interfaces: spec.domain.devices.interfaces.slice(0, 1) } }, networks: spec.networks.slice(0, 1) },
        },
      },
      metadata: { annotations: { [POOLS]: null, "vmnet.io/addresses": null } },
    });
    await gone(Kinds.IPClaim, "app.data", ns);
    await cluster().client.mergePatch(Kinds.VirtualMachine, "app", ns, {
      spec: {
        runStrategy: "Always",
        template: { spec: { domain: { devices: { interfaces: spec.domain.devices.interfaces } }, networks: spec.networks } },
      },
      metadata: { annotations: { [POOLS]: JSON.stringify({ data: pool("def") }) } },
    });
    const after = await boundClaim(ns, "app.data");
    assert.deepEqual(after.spec?.pools, [pool("def")]);
    assert.ok(inSubnet(after, subnet.def.prefix), JSON.stringify(after.status));
  });

  it("refuses a second default pool for the network and IP family", async () => {
    const message = await refused("a second default", () =>
      createPool(`second-${ns}`, { cidr: uniqueSubnet().cidr, networks: [`${ns}/vlan100`], default: true }),
    );
    assert.match(message, new RegExp(`network "${ns}/vlan100" already has a default IPv4 pool, IPPool "${pool("def")}"`));
  });
});
