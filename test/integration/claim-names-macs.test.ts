// Issue 11's leftovers, against the real API server with the operator as its own process: claim
// names stay one per NIC (VM "c" + interface "d.ovs1" and VM "c.d" + interface "ovs1" would both
// want "c.d.ovs1"), and the binder never derives a MAC that another NIC on the L2 segment sets
// in its spec. Both can only arise past a webhook outage: admission refuses them.
import assert from "node:assert/strict";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import { ApiError } from "../../capabilities/k8s/errors";
import { Kinds } from "../../capabilities/k8s/kinds";
import { OVS_STATIC_CONFIG, boundClaim, claimCondition, createNad, eventually, macOf, poolNetwork, vmManifest } from "../helpers";
import { cluster, duringWebhookOutage } from "../setup/cluster";

const client = (): ReturnType<typeof cluster>["client"] => cluster().client;

const network = (): Promise<{ ns: string; pool: string; prefix: string }> => poolNetwork("c11");

async function warnings(ns: string, vm: string): Promise<{ reason: string; message: string }[]> {
  const list = await client().list<{ reason: string; message: string; type: string }>(Kinds.Event, {
    namespace: ns,
    fieldSelector: `involvedObject.kind=VirtualMachine,involvedObject.name=${vm}`,
  });
  return list.items.filter(e => e.type === "Warning");
}

const invalidInterface = (e: { reason: string }): boolean => e.reason === "InvalidInterface";

describe("issue 11 leftovers: claim names and MACs", function () {
  this.timeout(180_000); // each test includes an operator restart

  it("gives VM c.d's NIC ovs1 the claim c.d.ovs1 even after VM c with NIC d.ovs1 came first, and refuses a dotted interface name at admission", async () => {
    const { ns } = await network();
    await duringWebhookOutage(async () => {
      await client().create(Kinds.VirtualMachine, vmManifest(ns, "c", [{ name: "d.ovs1", network: "vlan100" }]));
      await eventually("the operator's warning on VM c", async () => (await warnings(ns, "c")).find(invalidInterface));
      await client().create(Kinds.VirtualMachine, vmManifest(ns, "c.d", [{ name: "ovs1", network: "vlan100" }]));
      await boundClaim(ns, "c.d.ovs1");
    });
    const claim = await client().get<IPClaim>(Kinds.IPClaim, "c.d.ovs1", ns);
    assert.equal(claim.spec?.vm, "c.d");
    assert.equal(claim.spec?.interface, "ovs1");
    const ofC = await client().list<IPClaim>(Kinds.IPClaim, { namespace: ns, labelSelector: "vmnet.io/vm=c" });
    assert.deepEqual(
      ofC.items.map(c => c.metadata?.name),
      [],
      "VM c's dotted NIC has no claim",
    );
    const warning = (await warnings(ns, "c")).find(invalidInterface);
    assert.match(String(warning?.message), /interface d\.ovs1 has no address and no IPClaim: .*a dot is not allowed/);

    // With the webhook back, the colliding form is refused at once, with the field and the fix.
    const refused = await client()
      .create(Kinds.VirtualMachine, vmManifest(ns, "e", [{ name: "x.ovs1", network: "vlan100" }]))
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(refused instanceof ApiError, "the VM webhook refuses it");
    assert.match(
      refused.message,
      /interfaces\[0\]\.name: interface name "x\.ovs1" may hold only letters, digits, '-' and '_'; rename the interface and its network \(a dot is not allowed\)/,
    );
  });

  it("never derives a MAC that another NIC on the segment sets in its spec: the binder skips that address, and a request for it is a Conflict", async () => {
    const { ns, prefix } = await network();
    // Another NAD on the same bridge and VLAN: the same L2 segment, served by no pool.
    await createNad(ns, "vlan100-b", OVS_STATIC_CONFIG("vlan100-b", 100));
    await duringWebhookOutage(async () => {
      // A takes .50 and sets the MAC .2 would get; B (no pool, same segment) sets the MAC of .3.
      await client().create(
        Kinds.VirtualMachine,
        vmManifest(ns, "a", [{ name: "ovs1", network: "vlan100", macAddress: macOf(`${prefix}.2`) }], {
          "vmnet.io/addresses": JSON.stringify({ ovs1: `${prefix}.50` }),
        }),
      );
      await boundClaim(ns, "a.ovs1");
      await client().create(
        Kinds.VirtualMachine,
        vmManifest(ns, "b", [{ name: "ovs1", network: "vlan100-b", macAddress: macOf(`${prefix}.3`) }]),
      );
      await new Promise(r => setTimeout(r, 1500)); // time for VM b to reach the operator's cache
      await client().create(Kinds.VirtualMachine, vmManifest(ns, "c", [{ name: "ovs1", network: "vlan100" }]));
      await client().create(
        Kinds.VirtualMachine,
        vmManifest(ns, "d", [{ name: "ovs1", network: "vlan100" }], { "vmnet.io/addresses": JSON.stringify({ ovs1: `${prefix}.3` }) }),
      );
      await boundClaim(ns, "c.ovs1");
      await claimCondition(ns, "d.ovs1", "Conflict");
    });
    const a = await client().get<IPClaim>(Kinds.IPClaim, "a.ovs1", ns);
    assert.equal(a.status?.mac, macOf(`${prefix}.2`));
    const c = await client().get<IPClaim>(Kinds.IPClaim, "c.ovs1", ns);
    assert.deepEqual(c.status?.addresses, [`${prefix}.4/24`], ".2 and .3 are skipped: their MACs are in use on the segment");
    assert.equal(c.status?.mac, macOf(`${prefix}.4`));
    const d = await client().get<IPClaim>(Kinds.IPClaim, "d.ovs1", ns);
    const bound = d.status?.conditions?.find(x => x.type === "Bound");
    assert.match(
      String(bound?.message),
      new RegExp(
        `${prefix.replace(/\./g, "\\.")}\\.3 would get MAC ${macOf(`${prefix}.3`)}, which interface ovs1 of VM ${ns}/b already uses on this L2 segment`,
      ),
    );
    assert.equal(d.status?.addresses, undefined);
  });
});
