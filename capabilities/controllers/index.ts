// Pepr wiring for the controllers: watch events go to the operator, which updates its caches and
// enqueues work. Handlers only enqueue, so Pepr dropping a failed callback cannot lose work.
// (In an admission-only process Pepr runs no watches; the operator then watches by itself.)
import { Capability, a } from "pepr";
import { IPAllocation } from "../api/ipallocation-v1alpha1";
import { IPClaim } from "../api/ipclaim-v1alpha1";
import { IPPool } from "../api/ippool-v1alpha1";
import { VirtualMachine, VirtualMachineInstanceMigration } from "../api/external/kubevirt";
import { NetworkAttachmentDefinition } from "../api/external/multus";
import { HasMeta } from "../k8s/cache";
import { operator, Phase, WatchedKind } from "./operator";

export const Controllers = new Capability({
  name: "vmnet-controllers",
  description: "Binds fixed addresses to VM NICs, keeps pool status, releases addresses of deleted VMs",
});

const { When } = Controllers;

const forward =
  (kind: WatchedKind, phase: Phase) =>
  async (obj: HasMeta): Promise<void> =>
    (await operator()).onEvent(kind, phase, obj);

When(VirtualMachine).IsCreatedOrUpdated().Watch(forward("VirtualMachine", "MODIFIED"));
When(VirtualMachine).IsDeleted().Watch(forward("VirtualMachine", "DELETED"));
When(VirtualMachineInstanceMigration).IsCreatedOrUpdated().Watch(forward("VirtualMachineInstanceMigration", "MODIFIED"));
When(IPPool).IsCreatedOrUpdated().Watch(forward("IPPool", "MODIFIED"));
When(IPPool).IsDeleted().Watch(forward("IPPool", "DELETED"));
When(IPClaim).IsCreatedOrUpdated().Watch(forward("IPClaim", "MODIFIED"));
When(IPClaim).IsDeleted().Watch(forward("IPClaim", "DELETED"));
When(IPAllocation).IsCreatedOrUpdated().Watch(forward("IPAllocation", "MODIFIED"));
When(IPAllocation).IsDeleted().Watch(forward("IPAllocation", "DELETED"));
When(NetworkAttachmentDefinition).IsCreatedOrUpdated().Watch(forward("NetworkAttachmentDefinition", "MODIFIED"));
When(NetworkAttachmentDefinition).IsDeleted().Watch(forward("NetworkAttachmentDefinition", "DELETED"));
When(a.Namespace).IsCreatedOrUpdated().Watch(forward("Namespace", "MODIFIED"));
When(a.Service).IsCreatedOrUpdated().WithLabel("app.kubernetes.io/managed-by", "vmnet-operator").Watch(forward("Service", "MODIFIED"));
When(a.Service).IsDeleted().WithLabel("app.kubernetes.io/managed-by", "vmnet-operator").Watch(forward("Service", "DELETED"));
