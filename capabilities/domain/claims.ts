// The IPClaim facts every layer asks about: its name, the allocator's owner key, and whether it is
// Bound. Read defensively: a claim may come from a cache, an API answer or a test. Pure.

/** The claim of a VM NIC is named `<vm>.<interface>` (VM names may hold dots, interface names not). */
export function claimName(vm: string, iface: string): string {
  return `${vm}.${iface}`;
}

/** Reverses claimName: splits on the last dot. */
export function claimNameParts(claim: string): { vm: string; iface: string } {
  const dot = claim.lastIndexOf(".");
  return { vm: claim.slice(0, dot), iface: claim.slice(dot + 1) };
}

/** The allocator's owner key for a claim: its namespace and name. */
export function ownerOf(namespace: string, claim: string): string {
  return `${namespace}/${claim}`;
}

/** A condition as these helpers read it (the generated IPClaim Condition is one). */
export interface ConditionLike {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** The parts of a claim these helpers read. */
export interface ClaimStatusLike<C extends ConditionLike = ConditionLike> {
  status?: { addresses?: readonly unknown[]; conditions?: readonly C[] };
}

/** The claim's Bound condition, when it has one (of the claim's own condition type). */
export function boundCondition<C extends ConditionLike>(claim: ClaimStatusLike<C> | undefined): C | undefined {
  const conditions = claim?.status?.conditions;
  return Array.isArray(conditions) ? conditions.find((c: C) => typeof c === "object" && c !== null && c.type === "Bound") : undefined;
}

/** The Bound condition is True (the claim may still be released, or show no address yet). */
export function hasBoundCondition(claim: ClaimStatusLike | undefined): boolean {
  return boundCondition(claim)?.status === "True";
}

/** Bound and showing its addresses: what a launcher pod may receive. */
export function isClaimBound(claim: ClaimStatusLike | undefined): boolean {
  const addresses = claim?.status?.addresses;
  return hasBoundCondition(claim) && Array.isArray(addresses) && addresses.length > 0;
}
