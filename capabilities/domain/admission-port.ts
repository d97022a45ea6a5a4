// The port between admission and the runtime: everything the webhook handlers need from the
// operator's process, as an interface. pepr.ts hands an implementation (runtime/admission-port.ts,
// over the operator's caches and binder) to the admission capability, so admission imports neither
// the controllers nor the runtime, and tests may hand it their own. Types only.
import type { ClaimLike } from "./launcher-pod";
import type { AdmissionSnapshot, IPPoolLike } from "./snapshot";
import type { MacIndex } from "./vm-security";

/** The in-memory view the rules read; every method answers from memory (no API call). */
export interface AdmissionView extends AdmissionSnapshot, MacIndex {
  pools(): (IPPoolLike & { spec?: { networks?: string[] } })[];
  /** The IPClaims of a VM (by spec.vm), bound or not. */
  claimsOfVm(namespace: string, vm: string): ClaimLike[];
}

export interface AdmissionPort {
  /** The view, once the caches are filled (the first call may wait for the first List). */
  view(): Promise<AdmissionView>;
  /** Re-reads the pools from the API server now: a pool applied moments ago may not be cached yet. */
  refreshPools(): Promise<void>;
  /**
   * Binds the claims of a VM now, through the same allocators as the controller (the launcher pod
   * arrived first). Resolves when done or when the VM is gone or being deleted (it gets no new
   * address); the caller bounds the time it waits.
   */
  bindNow(namespace: string, vm: string): Promise<void>;
}
