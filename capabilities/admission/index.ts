// Pepr wiring for admission: which requests reach which handler. Rules live in capabilities/domain;
// handlers.ts adapts them to Pepr and reads the cluster through the port pepr.ts hands in.
import { Capability, a } from "pepr";
import { IPPool } from "../api/ippool-v1alpha1";
import { VirtualMachine } from "../api/external/kubevirt";
import { NetworkAttachmentDefinition } from "../api/external/multus";
import type { AdmissionPort } from "../domain/admission-port";
import { admissionHandlers } from "./handlers";

/** The admission capability, reading the cluster through `port`. */
export function admissionCapability(port: AdmissionPort): Capability {
  const { mutateLauncherPod, validateIPPool, validatePod, validateNetworkAttachment, validateVirtualMachine } = admissionHandlers(port);
  const Admission = new Capability({
    name: "vmnet-admission",
    description: "Validates VM NIC configurations, IPPools and NADs; puts fixed addresses on virt-launcher pods",
  });
  const { When } = Admission;

  // The webhook configuration (hack/webhooks.ts) narrows these with matchConditions: the mutation
  // sees only the launcher identity's pods, the check only pods whose Multus annotations may set an
  // address; both see an UPDATE only when those annotations change.
  When(a.Pod).IsCreatedOrUpdated().WithLabel("kubevirt.io", "virt-launcher").Mutate(mutateLauncherPod);
  When(a.Pod).IsCreatedOrUpdated().Validate(validatePod);
  When(VirtualMachine).IsCreatedOrUpdated().Validate(validateVirtualMachine);
  When(IPPool).IsCreatedOrUpdated().Validate(validateIPPool);
  When(IPPool).IsDeleted().Validate(validateIPPool);
  When(NetworkAttachmentDefinition).IsCreatedOrUpdated().Validate(validateNetworkAttachment);
  return Admission;
}
