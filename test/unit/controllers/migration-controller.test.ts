// The migration controller on the in-memory client: once a migration ends it records on each claim
// of the VM (condition Migrated) and as an Event on the VM whether the target pod kept the claim's
// addresses and MAC, once per migration.
import assert from "node:assert/strict";
import type { IPClaim } from "../../../capabilities/api/ipclaim-v1alpha1";
import { NETWORKS_ANNOTATION } from "../../../capabilities/api/external/multus";
import { MIGRATION_JOB_LABEL } from "../../../capabilities/controllers/migration-controller";
import { migrationKey, vmKey } from "../../../capabilities/controllers/reconcile";
import { launcherInterfaceName } from "../../../capabilities/domain/launcher-pod";
import { KubeObject } from "../../../capabilities/k8s/client";
import { Kinds } from "../../../capabilities/k8s/kinds";
import { vmManifest, World } from "../support/world";

/** A bound VM and a migration of it in the given phase. */
async function migrated(phase: "Succeeded" | "Failed" | "Running"): Promise<{ w: World; claim: IPClaim; vmim: KubeObject }> {
  const w = new World();
  w.network("t", "vlan100", "pa", "10.1.0.0/24");
  w.client.seed(Kinds.VirtualMachine, vmManifest("t", "web", [{ name: "ovs1", network: "vlan100" }]));
  await w.sync();
  await w.vms.reconcile(vmKey("t", "web"));
  const [vmim] = w.client.seed(Kinds.VirtualMachineInstanceMigration, {
    metadata: { name: "mig1", namespace: "t" },
    spec: { vmiName: "web" },
    status: { phase },
  });
  return { w, claim: w.claim("t", "web.ovs1") as IPClaim, vmim };
}

function targetPod(w: World, vmim: KubeObject, ips: string[], mac: string): void {
  const element = { name: "vlan100", namespace: "t", interface: launcherInterfaceName("ovs1"), ips, mac };
  w.client.seed(Kinds.Pod, {
    metadata: {
      name: "virt-launcher-web-target",
      namespace: "t",
      labels: { [MIGRATION_JOB_LABEL]: String(vmim.metadata?.uid) },
      annotations: { [NETWORKS_ANNOTATION]: JSON.stringify([element]) },
    },
  });
}

const migratedCondition = (w: World): { status: string; reason: string; message: string } | undefined =>
  w.claim("t", "web.ovs1")?.status?.conditions?.find(c => c.type === "Migrated");

describe("MigrationController (in-memory client)", () => {
  it("records AddressKept (condition and Normal Event on the VM) when the target pod carries the claim's addresses and MAC, once", async () => {
    const { w, claim, vmim } = await migrated("Succeeded");
    targetPod(w, vmim, claim.status!.addresses!, claim.status!.mac!);
    await w.sync();
    await w.migrations.reconcile(migrationKey("t", "mig1"));

    const c = migratedCondition(w);
    assert.equal(c?.status, "True");
    assert.equal(c?.reason, "AddressKept");
    assert.match(String(c?.message), /^migration mig1: target pod virt-launcher-web-target kept /);
    const events = w.eventsWith("AddressKept");
    assert.equal(events.length, 1);
    assert.equal(events[0].type, "Normal");
    assert.equal(events[0].kind, "VirtualMachine");
    assert.equal(events[0].uid, w.client.peek(Kinds.VirtualMachine, "web", "t")?.metadata?.uid);

    await w.sync();
    await w.migrations.reconcile(migrationKey("t", "mig1"));
    assert.equal(w.client.writes("patch", "IPClaim").length, 0, "recorded once per migration");
    assert.equal(w.eventsWith("AddressKept").length, 1);
  });

  it("records AddressChanged (Warning) when the target pod carries other addresses", async () => {
    const { w, claim, vmim } = await migrated("Succeeded");
    targetPod(w, vmim, ["10.1.0.99/24"], claim.status!.mac!);
    await w.sync();
    await w.migrations.reconcile(migrationKey("t", "mig1"));
    const c = migratedCondition(w);
    assert.equal(c?.status, "False");
    assert.equal(c?.reason, "AddressChanged");
    assert.match(String(c?.message), /10\.1\.0\.99/);
    assert.equal(w.eventsWith("AddressChanged")[0]?.type, "Warning");
  });

  it("records TargetPodGone when no target pod is found, and MigrationFailed (addresses kept) for a failed migration", async () => {
    const gone = await migrated("Succeeded");
    await gone.w.sync();
    await gone.w.migrations.reconcile(migrationKey("t", "mig1"));
    assert.equal(migratedCondition(gone.w)?.reason, "TargetPodGone");
    assert.equal(migratedCondition(gone.w)?.status, "False");

    const failed = await migrated("Failed");
    await failed.w.sync();
    await failed.w.migrations.reconcile(migrationKey("t", "mig1"));
    assert.equal(migratedCondition(failed.w)?.reason, "MigrationFailed");
    assert.equal(migratedCondition(failed.w)?.status, "True");
    assert.deepEqual(failed.w.claim("t", "web.ovs1")?.status?.addresses, failed.claim.status?.addresses, "nothing released");
  });

  it("does nothing while the migration runs", async () => {
    const { w } = await migrated("Running");
    await w.sync();
    await w.migrations.reconcile(migrationKey("t", "mig1"));
    assert.equal(migratedCondition(w), undefined);
    assert.deepEqual(
      w.client.calls.filter(c => c.verb !== "get"),
      [],
    );
  });
});
