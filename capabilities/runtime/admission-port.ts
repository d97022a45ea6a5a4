// The runtime's side of the admission port (domain/admission-port.ts): the operator singleton's
// caches, pool refresh and binder. Wired into the admission capability by pepr.ts.
import type { VirtualMachine } from "../api/external/kubevirt";
import { operator } from "../controllers/operator";
import type { AdmissionPort, AdmissionView } from "../domain/admission-port";
import type { ClaimLike } from "../domain/launcher-pod";
import { Kinds } from "../k8s/kinds";

export const operatorAdmissionPort: AdmissionPort = {
  async view(): Promise<AdmissionView> {
    const { view } = await operator();
    // ClusterView implements the snapshot; its claims are IPClaims, which the renderer reads as ClaimLike.
    return view as typeof view & { claimsOfVm(namespace: string, vm: string): ClaimLike[] };
  },

  async refreshPools(): Promise<void> {
    await (await operator()).refreshPools();
  },

  async bindNow(namespace: string, name: string): Promise<void> {
    const op = await operator();
    const vm =
      op.view.caches.vms.get(`${namespace}/${name}`) ??
      (await op.client.getOrUndefined<VirtualMachine>(Kinds.VirtualMachine, name, namespace));
    if (!vm || vm.metadata?.deletionTimestamp) return; // a VM on its way out gets no new address
    await op.vms.ensureBound(vm);
  },
};
