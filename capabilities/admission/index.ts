// Pepr wiring for admission: which requests reach which handler. Rules live in the pure modules
// beside this file; handlers.ts adapts them to Pepr.
import { Capability, a } from "pepr";
import { IPPool } from "../api/ippool-v1alpha1";
import { VirtualMachine } from "../api/external/kubevirt";
import { NetworkAttachmentDefinition } from "../api/external/multus";
import { handlers } from "./handlers";

const { mutateLauncherPod, validateIPPool, validateLauncherPod, validateNetworkAttachment, validateVirtualMachine } = handlers;

export const Admission = new Capability({
  name: "vmnet-admission",
  description: "Validates VM NIC configurations, IPPools and NADs; puts fixed addresses on virt-launcher pods",
});

const { When } = Admission;

When(a.Pod).IsCreated().WithLabel("kubevirt.io", "virt-launcher").Mutate(mutateLauncherPod);
When(a.Pod).IsCreated().WithLabel("kubevirt.io", "virt-launcher").Validate(validateLauncherPod);
When(VirtualMachine).IsCreatedOrUpdated().Validate(validateVirtualMachine);
When(IPPool).IsCreatedOrUpdated().Validate(validateIPPool);
When(IPPool).IsDeleted().Validate(validateIPPool);
When(NetworkAttachmentDefinition).IsCreatedOrUpdated().Validate(validateNetworkAttachment);
