// The VM controller on the in-memory client: it binds every pool-backed NIC, refuses (and
// reports) a NIC KubeVirt would refuse, and releases a deleted VM's claims and addresses.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import { vmKey } from "../../../capabilities/controllers/reconcile";
import { Kinds } from "../../../capabilities/k8s/kinds";
import { boundCondition, vmManifest, World } from "../support/world";

async function twoNetworks(): Promise<World> {
  const w = new World();
  w.network("t", "vlan100", "pa", "10.1.0.0/24");
  w.network("t", "vlan200", "pb", "10.2.0.0/24");
  return w;
}

/** The claim `t/name`, asserted Bound with its first address matching `address`. */
function boundClaim(w: World, name: string, address: RegExp): IPClaim {
  const claim = w.claim("t", name);
  assert.ok(claim, `claim t/${name} exists`);
  assert.equal(boundCondition(claim)?.status, "True");
  assert.match(String(claim.status?.addresses?.[0]), address);
  return claim;
}

const ownerUids = (claim: IPClaim): string[] | undefined => claim.metadata?.ownerReferences?.map((o: { uid: string }) => o.uid);

const allocationsOf = (w: World, claim: string): IPAllocation[] =>
  w.client.all<IPAllocation>(Kinds.IPAllocation).filter(a => a.spec?.claimRef.name === claim);

describe("VmController (in-memory client)", () => {
  it("binds each pool-backed NIC: one Bound claim and one IPAllocation per NIC, none for the pod network", async () => {
    const w = await twoNetworks();
    w.client.seed(
      Kinds.VirtualMachine,
      vmManifest("t", "web", [{ name: "default" }, { name: "ovs1", network: "vlan100" }, { name: "ovs2", network: "vlan200" }]),
    );
    await w.sync();
    await w.vms.reconcile(vmKey("t", "web"));

    const one = boundClaim(w, "web.ovs1", /^10\.1\.0\.\d+\/24$/);
    boundClaim(w, "web.ovs2", /^10\.2\.0\.\d+\/24$/);
    const address = String(one.status?.addresses?.[0]);
    assert.notEqual(address, "10.1.0.1/24", "never the gateway");
    assert.equal(one.status?.gateway, "10.1.0.1");
    assert.deepEqual(
      allocationsOf(w, "web.ovs1").map(a => `${a.spec?.pool} ${a.spec?.address}`),
      [`pa ${address.split("/")[0]}`],
    );
    assert.equal(allocationsOf(w, "web.ovs2").length, 1);
    assert.equal(w.claim("t", "web.default"), undefined, "the masquerade NIC has no claim");
    assert.equal(w.client.all(Kinds.IPClaim).length, 2);
    const vm = w.client.peek(Kinds.VirtualMachine, "web", "t");
    assert.deepEqual(ownerUids(one), [vm?.metadata?.uid], "owned by its VM (reclaimPolicy Delete)");
    assert.equal(w.eventsWith("Bound").length, 1, "one Normal Event per VM");
    assert.match(w.eventsWith("Bound")[0].message, /interface ovs1: .*interface ovs2: /);
  });

  it("binds nothing more on a second reconcile of an unchanged VM", async () => {
    const w = await twoNetworks();
    w.client.seed(Kinds.VirtualMachine, vmManifest("t", "web", [{ name: "ovs1", network: "vlan100" }]));
    await w.sync();
    await w.vms.reconcile(vmKey("t", "web"));
    await w.sync();
    await w.vms.reconcile(vmKey("t", "web"));
    assert.deepEqual(
      w.client.calls.filter(c => c.verb !== "get" && c.verb !== "list"),
      [],
      "no write",
    );
  });

  it("re-checks KubeVirt's rules: a refused interface gets Bound=False/InvalidInterface naming the field, no address, and a Warning on the VM", async () => {
    const w = await twoNetworks();
    w.client.seed(Kinds.VirtualMachine, vmManifest("t", "bad", [{ name: "ovs1", network: "vlan100", model: "tulip" }]));
    await w.sync();
    await w.vms.reconcile(vmKey("t", "bad"));

    const bound = boundCondition(w.claim("t", "bad.ovs1"));
    assert.equal(bound?.status, "False");
    assert.equal(bound?.reason, "InvalidInterface");
    assert.match(String(bound?.message), /spec\.template\.spec\.domain\.devices\.interfaces\[0\]\.model/);
    assert.equal(w.claim("t", "bad.ovs1")?.status?.addresses, undefined);
    assert.deepEqual(allocationsOf(w, "bad.ovs1"), [], "no IPAllocation holds an address for it");
    const warning = w.events.find(e => e.kind === "VirtualMachine" && e.reason === "InvalidInterface");
    assert.ok(warning, "a Warning InvalidInterface Event on the VM");
    assert.equal(warning.type, "Warning");
    assert.equal(warning.uid, w.client.peek(Kinds.VirtualMachine, "bad", "t")?.metadata?.uid);
  });

  it("releases on VM deletion: claims deleted and addresses freed, but only once a live read finds no VM", async () => {
    const w = await twoNetworks();
    w.client.seed(
      Kinds.VirtualMachine,
      vmManifest("t", "web", [
        { name: "ovs1", network: "vlan100" },
        { name: "ovs2", network: "vlan200" },
      ]),
    );
    await w.sync();
    await w.vms.reconcile(vmKey("t", "web"));
    const address = w.claim("t", "web.ovs1")?.status?.addresses?.[0].split("/")[0] as string;
    assert.equal(w.view.allocator("pa")?.holderOf(address), "t/web.ovs1");

    // The cache lost the VM but the VM is still there: nothing is released.
    w.view.caches.vms.remove(w.view.caches.vms.get("t/web")!);
    await w.vms.reconcile(vmKey("t", "web"));
    assert.equal(w.client.all(Kinds.IPClaim).length, 2, "a VM the cache does not hold is not gone");

    await w.client.delete(Kinds.VirtualMachine, "web", "t");
    await w.sync();
    await w.vms.reconcile(vmKey("t", "web"));
    assert.deepEqual(w.client.all(Kinds.IPClaim), [], "claims deleted");
    assert.deepEqual(w.client.all(Kinds.IPAllocation), [], "addresses freed");
    assert.equal(w.view.allocator("pa")?.holderOf(address), undefined, "the allocator holds it no more");
  });

  it("keeps a released claim under reclaimPolicy Retain, marked released, with its address", async () => {
    const w = new World();
    w.network("t", "vlan100", "pa", "10.1.0.0/24", { reclaimPolicy: "Retain" as never });
    w.client.seed(Kinds.VirtualMachine, vmManifest("t", "db", [{ name: "ovs1", network: "vlan100" }]));
    await w.sync();
    await w.vms.reconcile(vmKey("t", "db"));
    const before = w.claim("t", "db.ovs1")?.status?.addresses;
    await w.client.delete(Kinds.VirtualMachine, "db", "t");
    await w.sync();
    await w.vms.reconcile(vmKey("t", "db"));
    const kept = w.claim("t", "db.ovs1");
    assert.equal((kept?.status as { released?: boolean }).released, true);
    assert.equal(boundCondition(kept)?.reason, "Released");
    assert.deepEqual(kept?.status?.addresses, before);
    assert.equal(allocationsOf(w, "db.ovs1").length, 1, "the address stays held");
  });
});
