// The controller's own check of KubeVirt's network rules (issue 13, item 4): a VM that got past
// admission while the validating webhook was unregistered (an operator outage; its failurePolicy
// is Ignore) must not have a NIC KubeVirt refuses silently bound. Real API server, operator as its
// own process.
import assert from "node:assert/strict";
import type { IPAllocation } from "../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import type { VirtualMachine } from "../../capabilities/api/external/kubevirt";
import { KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { boundClaim, claimCondition, EventObject, eventsOf, eventually, poolNetwork, vmManifest } from "../helpers";
import { cluster, duringWebhookOutage } from "../setup/cluster";

const client = (): ReturnType<typeof cluster>["client"] => cluster().client;

const network = (): Promise<{ ns: string; pool: string }> => poolNetwork("ctl");

/** A VM whose one bridge NIC sets a NIC model KubeVirt does not support. */
function badModelVm(ns: string, name: string): KubeObject {
  const vm = vmManifest(ns, name, [{ name: "ovs1", network: "vlan100" }]) as KubeObject & {
    spec: { template: { spec: { domain: { devices: { interfaces: Record<string, unknown>[] } } } } };
  };
  vm.spec.template.spec.domain.devices.interfaces[0].model = "tulip";
  return vm;
}

async function allocationsOfClaim(pool: string, ns: string, claim: string): Promise<IPAllocation[]> {
  const list = await client().list<IPAllocation>(Kinds.IPAllocation, { labelSelector: `vmnet.io/pool=${pool}` });
  return list.items.filter(a => a.spec?.claimRef.namespace === ns && a.spec.claimRef.name === claim);
}

async function eventOf(
  namespace: string,
  kind: string,
  name: string,
  match: (e: EventObject) => boolean,
): Promise<EventObject | undefined> {
  return (await eventsOf(namespace, kind, name)).find(match);
}

const keptWarning = (e: EventObject): boolean => e.reason === "InvalidInterface" && /stay held/.test(e.message);

function boundCondition(claim: IPClaim): { status: string; reason: string; message: string } {
  const bound = claim.status?.conditions?.find(c => c.type === "Bound");
  assert.ok(bound, "the claim has a Bound condition");
  return bound;
}

/** Bound=False/InvalidInterface naming the field, and nothing allocated. */
function assertRefused(claim: IPClaim, field: RegExp): void {
  const bound = boundCondition(claim);
  assert.equal(bound.status, "False");
  assert.equal(bound.reason, "InvalidInterface");
  assert.match(bound.message, field, "names the field");
  assert.equal(claim.status?.addresses, undefined, "no address shown");
  assert.equal(claim.status?.mac, undefined);
}

/** Sets the model of every interface of the VM (a merge patch replaces the whole list). */
async function setModel(vm: VirtualMachine, model: string): Promise<void> {
  const interfaces = (vm.spec?.template?.spec?.domain?.devices?.interfaces ?? []).map(i => ({ ...i, model }));
  await client().mergePatch(Kinds.VirtualMachine, vm.metadata!.name!, vm.metadata!.namespace, {
    spec: { template: { spec: { domain: { devices: { interfaces } } } } },
  });
}

describe("the controller re-checks KubeVirt's network rules", () => {
  it("reports a NIC KubeVirt refuses on its claim (condition and Warning Event, field and fix), holds no address for it, and binds it once the VM is fixed", async function () {
    this.timeout(180_000); // includes an operator restart
    const { ns, pool } = await network();
    await duringWebhookOutage(async () => {
      await client().create(Kinds.VirtualMachine, badModelVm(ns, "bad"));
      // While the webhook is still away the running operator already sees the VM.
      await claimCondition(ns, "bad.ovs1", "InvalidInterface");
    });
    const claim = await claimCondition(ns, "bad.ovs1", "InvalidInterface");
    assertRefused(claim, /spec\.template\.spec\.domain\.devices\.interfaces\[0\]\.model/);
    assert.match(boundCondition(claim).message, /"tulip".*use one of e1000, .*virtio/, "says the value and the fix");
    assert.deepEqual(await allocationsOfClaim(pool, ns, "bad.ovs1"), [], "no IPAllocation holds an address for it");

    const vm = await client().get<VirtualMachine>(Kinds.VirtualMachine, "bad", ns);
    const warning = await eventually("a Warning InvalidInterface Event on the VM", () =>
      eventOf(ns, "VirtualMachine", "bad", e => e.type === "Warning" && e.reason === "InvalidInterface"),
    );
    assert.equal(warning.involvedObject.uid, vm.metadata?.uid);
    assert.match(warning.message, /interfaces\[0\]\.model/);

    // The webhook is back: the fix passes admission and the operator binds the NIC.
    await setModel(vm, "virtio");
    const fixed = await boundClaim(ns, "bad.ovs1");
    assert.equal(fixed.metadata?.uid, claim.metadata?.uid, "the same claim");
    assert.equal((await allocationsOfClaim(pool, ns, "bad.ovs1")).length, 1);
  });

  it("keeps the addresses of a bound claim whose VM is changed to a refused NIC past an outage, and says so", async function () {
    this.timeout(180_000);
    const { ns, pool } = await network();
    await client().create(Kinds.VirtualMachine, vmManifest(ns, "run", [{ name: "ovs1", network: "vlan100" }]));
    const before = await boundClaim(ns, "run.ovs1");
    await duringWebhookOutage(async () => {
      await setModel(await client().get<VirtualMachine>(Kinds.VirtualMachine, "run", ns), "tulip");
      await eventually("a Warning InvalidInterface Event on the claim", () => eventOf(ns, "IPClaim", "run.ovs1", keptWarning));
    });
    const after = await client().get<IPClaim>(Kinds.IPClaim, "run.ovs1", ns);
    assert.deepEqual(after.status?.addresses, before.status?.addresses, "a running VMI of the earlier spec may use them");
    assert.equal((await allocationsOfClaim(pool, ns, "run.ovs1")).length, 1);
  });
});
