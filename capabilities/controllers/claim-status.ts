// A claim's status from a bind's outcome, the MAC of a NIC, and when two statuses need no write:
// the rules the binder and the VM controller write claim status by. In a file of their own so the
// mutation set names the file (stryker.config.json), not line ranges of binder.ts that every edit
// above them would move. Pure.
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import { macFor } from "../ipam/mac";
import type { BindOutcome, ClaimStatus } from "./binder";
import { setCondition } from "./render";

/** The MAC of a NIC: the VM spec's macAddress, else derived from its IPv4 address (dual stack too), else its IPv6 one. Pure. */
export function claimMac(addresses: string[], specMac?: string): string {
  const v4 = addresses.find(a => !a.includes(":")) ?? addresses[0];
  return specMac?.toLowerCase() ?? macFor(v4.split("/")[0]);
}

export function statusFor(claim: IPClaim, outcome: BindOutcome, now = new Date().toISOString()): ClaimStatus {
  const prev = (claim.status ?? {}) as ClaimStatus;
  const generation = claim.metadata?.generation as number | undefined;
  if (outcome.bound) {
    const message = `${outcome.addresses.join(", ")} with MAC ${outcome.mac}`;
    return {
      addresses: outcome.addresses,
      mac: outcome.mac,
      ...(outcome.gateway ? { gateway: outcome.gateway } : {}),
      released: false,
      observedGeneration: generation,
      conditions: setCondition(
        prev.conditions,
        { type: "Bound", status: "True", reason: "Allocated", message, observedGeneration: generation },
        now,
      ),
    };
  }
  return {
    ...prev,
    observedGeneration: generation,
    conditions: setCondition(
      prev.conditions,
      { type: "Bound", status: "False", reason: outcome.reason, message: outcome.message, observedGeneration: generation },
      now,
    ),
  };
}

/** Equal apart from condition timestamps (and key order): no write needed. */
export function sameStatus(a: ClaimStatus | undefined, b: ClaimStatus): boolean {
  const view = (s: ClaimStatus | undefined): string =>
    JSON.stringify([
      s?.addresses ?? [],
      s?.mac,
      s?.gateway,
      Boolean(s?.released),
      s?.observedGeneration,
      (s?.conditions ?? []).map(c => [c.type, c.status, c.reason, c.message, c.observedGeneration]),
    ]);
  return view(a) === view(b);
}
