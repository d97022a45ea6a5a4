// The pure rules (capabilities/domain) in one import, kept here for the tests and tools that import them
// from admission. handlers.ts turns their results into Approve/Deny and warnings.
export { formatFinding, formatFindings, objectRef, ratchet } from "../domain/findings";
export type { Finding, ValidationResult } from "../domain/findings";
export type { AdmissionSnapshot, AddressHolder, AllocationLike, IPPoolLike } from "../domain/snapshot";
export { validateVM, EXPOSE_ANNOTATION, SERVICE_IP_ANNOTATION, ALLOW_POD_BRIDGE_MIGRATION, EXPOSE_TYPES } from "../domain/vm";
export { parseAddressesAnnotation, ADDRESSES_ANNOTATION } from "../domain/vm-addresses";
export { KUBEVIRT_RELEASE, kubevirtNetworkVerdict, interfaceProblems } from "../domain/kubevirt-rules";
export type { KubeVirtRuleOptions } from "../domain/kubevirt-rules";
export type { AddressesParse } from "../domain/vm-addresses";
export { parsePoolsAnnotation, POOLS_ANNOTATION } from "../domain/vm-pools";
export type { PoolsParse } from "../domain/vm-pools";
export { nicPools, defaultPool } from "../domain/pool-choice";
export type { NicPools, NicPoolRequest, PoolProblem } from "../domain/pool-choice";
export { validatePool, validatePoolDelete } from "../domain/ippool";
export { validateNAD, nadPoolReadiness } from "../domain/nad";
export type { PoolReadiness } from "../domain/nad";
export {
  renderLauncherNetworks,
  isLauncherPod,
  vmNameOfPod,
  isClaimBound,
  launcherInterfaceName,
  LAUNCHER_LABEL,
  VM_NAME_LABEL,
} from "../domain/launcher-pod";
export type { ClaimLike, RenderedNetworks } from "../domain/launcher-pod";
export { selectorMatches } from "../domain/selector";
