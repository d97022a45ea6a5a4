// Garbage sweep: frees IPAllocations whose claim is gone and releases claims whose VM is gone,
// but only after seeing the same orphan twice, a grace period apart, and confirming it with a
// live read. Whereabouts and Spiderpool freed live addresses by sweeping from stale views.
import type { IPAllocation } from "../api/ipallocation-v1alpha1";
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import { KubeApi } from "../k8s/client";
import { Kinds } from "../k8s/kinds";
import { ClaimStatus } from "./binder";
import { ClusterView } from "./cluster-view";
import { VmController } from "./vm-controller";
import { hasBoundCondition } from "../domain/claims";

type Suspect = { kind: "allocation"; obj: IPAllocation } | { kind: "claim"; obj: IPClaim };

export class GarbageSweep {
  /** Orphan key -> when it was first seen orphaned. */
  readonly #firstSeen = new Map<string, number>();

  constructor(
    private readonly client: KubeApi,
    private readonly view: ClusterView,
    private readonly vms: VmController,
    private readonly graceMs: number,
  ) {}

  /** One pass; returns what it freed, for logs and tests. */
  async sweep(now = Date.now()): Promise<string[]> {
    const suspects = this.#suspects();
    for (const key of this.#firstSeen.keys()) if (!suspects.has(key)) this.#firstSeen.delete(key);
    const freed: string[] = [];
    for (const [key, suspect] of suspects) {
      if (!this.#due(key, now)) continue;
      if (await this.#collect(suspect)) freed.push(key);
      this.#firstSeen.delete(key);
    }
    return freed;
  }

  /** What the cache shows orphaned now, by a key that names the object and its incarnation (uid). */
  #suspects(): Map<string, Suspect> {
    const suspects = new Map<string, Suspect>();
    for (const obj of this.view.caches.allocations.values()) {
      if (this.#allocationOrphaned(obj)) suspects.set(`allocation/${obj.metadata?.name}/${obj.metadata?.uid}`, { kind: "allocation", obj });
    }
    for (const obj of this.view.caches.claims.values()) {
      if (this.#claimOrphaned(obj))
        suspects.set(`claim/${obj.metadata?.namespace}/${obj.metadata?.name}/${obj.metadata?.uid}`, { kind: "claim", obj });
    }
    return suspects;
  }

  /** Seen before, a grace period ago or more: its turn to be confirmed. The first sighting is remembered. */
  #due(key: string, now: number): boolean {
    const first = this.#firstSeen.get(key);
    if (first === undefined) {
      this.#firstSeen.set(key, now);
      return false;
    }
    return now - first >= this.graceMs;
  }

  /** A claim not released whose VM the cache does not hold. */
  #claimOrphaned(claim: IPClaim): boolean {
    const released = (claim.status as ClaimStatus | undefined)?.released;
    return !released && !this.view.caches.vms.get(`${claim.metadata?.namespace}/${claim.spec?.vm}`);
  }

  /** An allocation whose claim is gone, is another claim of the same name, or shows other addresses. */
  #allocationOrphaned(alloc: IPAllocation): boolean {
    const ref = alloc.spec?.claimRef;
    if (!ref) return true;
    const claim = this.view.caches.claims.get(`${ref.namespace}/${ref.name}`);
    if (!claim) return true;
    if (ref.uid && claim.metadata?.uid && ref.uid !== claim.metadata.uid) return true;
    return boundElsewhere(claim, alloc.spec!.address);
  }

  /** Confirms with live reads, then frees. */
  async #collect(s: Suspect): Promise<boolean> {
    if (s.kind === "claim") {
      const ns = s.obj.metadata!.namespace as string;
      const vm = await this.client.getOrUndefined(Kinds.VirtualMachine, s.obj.spec!.vm, ns);
      if (vm) return false;
      await this.vms.releaseClaim(s.obj, "its VM is gone");
      return true;
    }
    const ref = s.obj.spec!.claimRef;
    const live = await this.client.getOrUndefined<IPClaim>(Kinds.IPClaim, ref.name, ref.namespace);
    if (live) {
      this.view.caches.claims.upsert(live);
      if (!this.#allocationOrphaned(s.obj)) return false;
    }
    await this.client.delete(Kinds.IPAllocation, s.obj.metadata!.name as string, undefined, { uid: s.obj.metadata!.uid as string });
    this.view.caches.allocations.remove(s.obj);
    this.view.noteAllocation(s.obj, true);
    return true;
  }
}

/** A race loser: the claim is bound to other addresses of this address's family. Pure. */
function boundElsewhere(claim: IPClaim, address: string): boolean {
  const shown = ((claim.status as ClaimStatus | undefined)?.addresses ?? []).map(a => a.split("/")[0]);
  const v6 = address.includes(":");
  return hasBoundCondition(claim) && shown.length > 0 && !shown.includes(address) && shown.some(a => a.includes(":") === v6);
}
