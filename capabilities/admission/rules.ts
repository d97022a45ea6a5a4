// Pure admission rules and the launcher-pod renderer, in one import. The Pepr adapters (handlers.ts) turn their
// results into Approve/Deny and warnings; the controllers re-check the same rules.
export { formatFinding, formatFindings, objectRef, ratchet } from "./findings";
export type { Finding, ValidationResult } from "./findings";
export type { AdmissionSnapshot, AddressHolder, AllocationLike, IPPoolLike } from "./snapshot";
export { validateVM, EXPOSE_ANNOTATION, SERVICE_IP_ANNOTATION, ALLOW_POD_BRIDGE_MIGRATION, EXPOSE_TYPES } from "./vm";
export { parseAddressesAnnotation, ADDRESSES_ANNOTATION } from "./vm-addresses";
export { parsePoolsAnnotation, POOLS_ANNOTATION } from "./vm-pools";
export type { PoolsParse } from "./vm-pools";
export { nicPools, defaultPool } from "./pool-choice";
export type { NicPools, NicPoolRequest, PoolProblem } from "./pool-choice";
export { KUBEVIRT_RELEASE, kubevirtNetworkVerdict, interfaceProblems } from "./kubevirt-rules";
export type { KubeVirtRuleOptions } from "./kubevirt-rules";
export type { AddressesParse } from "./vm-addresses";
export { validatePool, validatePoolDelete } from "./ippool";
export { validateNAD, nadPoolReadiness } from "./nad";
export type { PoolReadiness } from "./nad";
export {
  renderLauncherNetworks,
  isLauncherPod,
  vmNameOfPod,
  isClaimBound,
  launcherInterfaceName,
  LAUNCHER_LABEL,
  VM_NAME_LABEL,
} from "./launcher-pod";
export type { ClaimLike, RenderedNetworks } from "./launcher-pod";
export { selectorMatches } from "./selector";
