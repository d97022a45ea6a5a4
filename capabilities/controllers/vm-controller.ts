// VM controller: one IPClaim per bridge NIC on a pool-backed network, bound to fixed addresses,
// released (or retained) when, and only when, the VM is gone: on its delete event, confirmed by a
// live read; if the operator missed the event, the garbage sweep releases them later.
// No finalizer on VMs (install track, uninstall): an operator that is uninstalled, or down, must
// never leave a VM (or its namespace) stuck in deletion. VMs that still carry the finalizer of
// earlier versions (vmnet.io/release) are released as before and lose it.
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import type { IPPool } from "../api/ippool-v1alpha1";
import { VirtualMachine } from "../api/external/kubevirt";
import type { Finding, ValidationResult } from "../domain/findings";
import { KUBEVIRT_RELEASE, interfaceProblems, kubevirtNetworkVerdict } from "../domain/kubevirt-rules";
import { KubeApi } from "../k8s/client";
import { InvalidError, isAlreadyExists, isNotFound } from "../k8s/errors";
import { EventSink, EventTarget, eventTarget } from "../k8s/events";
import { Kinds } from "../k8s/kinds";
import { ServiceController } from "./service-controller";
import { Binder, BindOutcome, ClaimStatus } from "./binder";
import { statusFor } from "./claim-status";
import { ClusterView, ownerOf } from "./cluster-view";
import { NicPlan, planNic, poolChoices } from "./nic-pools";
import {
  BridgeNic,
  claimName,
  claimSpecDiffers,
  FINALIZER,
  renderClaim,
  requestedAddresses,
  bridgeNics,
  setCondition,
  claimableInterface,
} from "./render";
import { isClaimBound } from "../domain/claims";
import { done, KeyOf, requeueAfter, Result, RetryableError } from "./reconcile";

/** A pool-backed NIC with its pools (chosen, default or kept: nic-pools.ts), or why it has none. */
type WantedClaim = { nic: BridgeNic } & NicPlan;

/** What binding a VM's NICs came to: the claims, what was newly bound (for its Event), and when to bind again. */
interface BindTally {
  claims: IPClaim[];
  newlyBound: string[];
  /** The shortest wait a NIC's outcome asked for (BindOutcome.retryAfterMs); none: no requeue. */
  retryAfterMs?: number;
}

export class VmController {
  constructor(
    private readonly client: KubeApi,
    private readonly view: ClusterView,
    private readonly binder: Binder,
    private readonly event: EventSink,
    private readonly services: ServiceController,
  ) {}

  async reconcile({ namespace, name }: KeyOf<"vm">): Promise<Result> {
    const vm = this.view.caches.vms.get(`${namespace}/${name}`);
    if (!vm) await this.#releaseIfGone(namespace, name);
    else if (vm.metadata?.deletionTimestamp) await this.#finalize(vm);
    else return this.#reconcileLive(vm);
    return done;
  }

  /** A live VM: its NICs bound and its Service kept; run again later when a bind lost its races. */
  async #reconcileLive(vm: VirtualMachine): Promise<Result> {
    const { retryAfterMs } = await this.#bindAll(vm);
    await this.services.reconcile(vm);
    return retryAfterMs === undefined ? done : requeueAfter(retryAfterMs);
  }

  /** Claims for every pool-backed NIC, bound. Also the webhook's on-the-spot path. */
  async ensureBound(vm: VirtualMachine): Promise<IPClaim[]> {
    return (await this.#bindAll(vm)).claims;
  }

  async #bindAll(vm: VirtualMachine): Promise<BindTally> {
    const wanted = this.#desiredClaims(vm);
    if (vm.metadata?.finalizers?.includes(FINALIZER) && !vm.metadata.deletionTimestamp) await this.#removeFinalizer(vm);
    const { byInterface, error } = requestedAddresses(vm);
    if (error) this.event(vmRef(vm), "Warning", "InvalidRequest", error);
    // The webhook may have been down when this VM was written: KubeVirt's own rules, checked again.
    const verdict = wanted.length ? kubevirtNetworkVerdict(vm) : { denials: [], warnings: [] };
    const tally: BindTally = { claims: [], newlyBound: [] };
    for (const want of wanted) {
      const claim = await this.#ensureNic(vm, want, byInterface.get(want.nic.interface), verdict, tally);
      if (claim) tally.claims.push(claim);
    }
    // One Normal Event per VM, not per NIC: it costs a write (the claims' status says the same).
    if (tally.newlyBound.length) this.event(vmRef(vm), "Normal", "Bound", `bound ${tally.newlyBound.join("; ")}`);
    const keep = wanted.filter(w => claimableInterface(w.nic.interface)).map(w => claimName(vm.metadata!.name!, w.nic.interface));
    await this.#pruneRemovedNics(vm, new Set(keep));
    return tally;
  }

  /** One NIC's claim, applied and bound, or why not reported on it; undefined when it can have none. */
  async #ensureNic(
    vm: VirtualMachine,
    want: WantedClaim,
    requested: string[] | undefined,
    verdict: ValidationResult,
    tally: BindTally,
  ): Promise<IPClaim | undefined> {
    const { nic, pools, unbound } = want;
    if (!claimableInterface(nic.interface)) return this.#unclaimable(vm, nic, verdict);
    const claim = await this.#applyClaim(vm, nic, pools);
    const problems = interfaceProblems(verdict, vm, nic.interface);
    if (problems.length) {
      await this.#reportRefused(vm, claim, problems);
    } else if (unbound) {
      await this.#reportUnbound(vm, claim, unbound);
    } else if (!isBound(claim) || !this.#recordsMatch(claim)) {
      const outcome = await this.binder.bind({ claim, requested, specMac: nic.macAddress });
      this.#announce(vm, claim, outcome);
      tallyOutcome(tally, claim, nic.interface, outcome);
    }
    return this.view.caches.claims.get(`${claim.metadata!.namespace}/${claim.metadata!.name}`) ?? claim;
  }

  /** Every address the claim shows is held for it by the allocators (its IPAllocation exists). */
  #recordsMatch(claim: IPClaim): boolean {
    const owner = ownerOf(claim.metadata!.namespace as string, claim.metadata!.name as string);
    const pools = claim.spec?.pools?.length ? claim.spec.pools : [claim.spec?.pool ?? ""];
    const shown = ((claim.status as ClaimStatus | undefined)?.addresses ?? []).map(a => a.split("/")[0]);
    return shown.length === pools.length && shown.every((a, i) => this.view.allocator(pools[i])?.holderOf(a) === owner);
  }

  #desiredClaims(vm: VirtualMachine): WantedClaim[] {
    const choices = poolChoices(vm);
    return bridgeNics(vm).flatMap(nic => {
      const plan = planNic(vm, nic, choices, this.view);
      return plan ? [{ nic, ...plan }] : [];
    });
  }

  async #applyClaim(vm: VirtualMachine, nic: BridgeNic, pools: string[]): Promise<IPClaim> {
    const want = renderClaim(vm, nic, pools, !this.#retains(pools));
    const key = `${want.metadata!.namespace}/${want.metadata!.name}`;
    const have = this.view.caches.claims.get(key);
    if (have && !claimSpecDiffers(have, want) && !(have.status as ClaimStatus | undefined)?.released) return have;
    // A new claim is created (cheaper for the API server than an apply, which must build managed
    // fields from a patch); an existing one is re-applied under our field manager.
    const applied = have ? await this.client.apply<IPClaim>(Kinds.IPClaim, want) : await this.#createOrApply(want);
    this.view.caches.claims.upsert(applied);
    if ((applied.status as ClaimStatus | undefined)?.released) {
      // A VM re-created under a retained name adopts its claim and addresses.
      const status = { ...(applied.status as ClaimStatus), released: false };
      await this.binder.writeStatus(applied, status);
      this.event(vmRef(vm), "Normal", "Adopted", `adopted retained IPClaim ${key} with ${(status.addresses ?? []).join(", ")}`);
    }
    return this.view.caches.claims.get(key) ?? applied;
  }

  async #createOrApply(want: IPClaim): Promise<IPClaim> {
    try {
      return await this.client.create<IPClaim>(Kinds.IPClaim, want);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      return this.client.apply<IPClaim>(Kinds.IPClaim, want); // our cache was behind
    }
  }

  /**
   * A NIC KubeVirt would refuse gets no address: its VM cannot start, and binding would take an
   * address from others. A claim bound before the VM was changed keeps its addresses (a running
   * VMI from the earlier spec may use them; KubeVirt refuses new VMIs from this one): only told.
   */
  async #reportRefused(vm: VirtualMachine, claim: IPClaim, problems: Finding[]): Promise<void> {
    const message = refusalMessage(claim.spec!.interface, problems);
    if (!isBound(claim)) return this.#reportUnbound(vm, claim, { bound: false, reason: "InvalidInterface", message });
    const kept = `${message}; the addresses it holds stay held`;
    this.event(vmRef(vm), "Warning", "InvalidInterface", kept);
    this.event(claimRef(claim), "Warning", "InvalidInterface", kept);
  }

  /** An interface name with a dot has no claim name of its own (vm "c" + "d.e" = vm "c.d" + "e"); KubeVirt refuses it anyway. */
  #unclaimable(vm: VirtualMachine, nic: BridgeNic, verdict: ValidationResult): undefined {
    const message = refusalMessage(nic.interface, interfaceProblems(verdict, vm, nic.interface));
    this.event(vmRef(vm), "Warning", "InvalidInterface", `interface ${nic.interface} has no address and no IPClaim: ${message}`);
    return undefined;
  }

  async #reportUnbound(vm: VirtualMachine, claim: IPClaim, outcome: BindOutcome): Promise<void> {
    await this.binder.writeStatus(claim, statusFor(claim, outcome));
    this.#announce(vm, claim, outcome);
  }

  #announce(vm: VirtualMachine, claim: IPClaim, outcome: BindOutcome): void {
    const iface = claim.spec?.interface;
    // A routine bind is visible on the claim's status; an Event per VM would cost a write per VM.
    if (!outcome.bound) {
      const msg = `interface ${iface} has no address: ${outcome.message}`;
      this.event(vmRef(vm), "Warning", outcome.reason, msg);
      this.event(claimRef(claim), "Warning", outcome.reason, outcome.message);
    }
  }

  async #removeFinalizer(vm: VirtualMachine): Promise<void> {
    const finalizers = vm.metadata?.finalizers ?? [];
    const index = finalizers.indexOf(FINALIZER);
    if (index < 0) return;
    const ops = [
      { op: "test", path: `/metadata/finalizers/${index}`, value: FINALIZER },
      { op: "remove", path: `/metadata/finalizers/${index}` },
    ];
    try {
      await this.client.jsonPatch(Kinds.VirtualMachine, vm.metadata!.name!, vm.metadata!.namespace, ops);
    } catch (err) {
      if (isNotFound(err)) return;
      // The test op failed (a 422): the finalizers changed meanwhile; a fresh read finds the index.
      if (err instanceof InvalidError)
        throw new RetryableError(`finalizers of VM ${vm.metadata!.namespace}/${vm.metadata!.name} changed meanwhile: ${err.message}`, {
          cause: err,
        });
      throw err;
    }
  }

  /** A VM being deleted: its claims are released now (and a legacy finalizer removed). */
  async #finalize(vm: VirtualMachine): Promise<void> {
    for (const claim of this.#claimsOfVm(vm.metadata!.namespace!, vm.metadata!.name!)) await this.releaseClaim(claim, "VM deleted");
    if (vm.metadata?.finalizers?.includes(FINALIZER)) await this.#removeFinalizer(vm);
  }

  /**
   * The cache has no such VM: its delete event, or a claim of a VM the cache has not seen yet (the
   * webhook binds on the spot). Only a live read that finds no VM releases its claims.
   */
  async #releaseIfGone(namespace: string, name: string): Promise<void> {
    const claims = this.#claimsOfVm(namespace, name).filter(c => !(c.status as ClaimStatus | undefined)?.released);
    if (!claims.length) return;
    if (await this.client.getOrUndefined<VirtualMachine>(Kinds.VirtualMachine, name, namespace)) return;
    for (const claim of claims) await this.releaseClaim(claim, "VM deleted");
  }

  #claimsOfVm(namespace: string, vm: string): IPClaim[] {
    return this.view.claimsOfVm(namespace, vm);
  }

  async #pruneRemovedNics(vm: VirtualMachine, keep: Set<string>): Promise<void> {
    for (const claim of this.#claimsOfVm(vm.metadata!.namespace!, vm.metadata!.name!)) {
      if (!keep.has(claim.metadata!.name as string)) await this.releaseClaim(claim, "interface removed from the VM", true);
    }
  }

  /**
   * Releases a claim by its pools' reclaimPolicy: Delete frees the addresses and deletes the claim;
   * Retain keeps both and marks the claim released, for a VM re-created under the same name.
   */
  async releaseClaim(claim: IPClaim, why: string, forceDelete = false): Promise<void> {
    const ns = claim.metadata!.namespace as string;
    const name = claim.metadata!.name as string;
    const pools = (claim.spec?.pools?.length ? claim.spec.pools : [claim.spec?.pool]).filter(Boolean) as string[];
    const retain = !forceDelete && this.#retains(pools);
    await this.binder.mutex.run(ownerOf(ns, name), async () => {
      if (retain) {
        const now = new Date().toISOString();
        const prev = (claim.status ?? {}) as ClaimStatus;
        const conditions = setCondition(
          prev.conditions,
          {
            type: "Bound",
            status: "False",
            reason: "Released",
            message: `${why}; addresses retained by reclaimPolicy Retain: delete this IPClaim to free them`,
          },
          now,
        );
        await this.binder.writeStatus(claim, { ...prev, released: true, conditions });
        return;
      }
      await this.freeAddresses(ns, name);
      await this.client.delete(Kinds.IPClaim, name, ns, { uid: claim.metadata?.uid as string });
      this.view.caches.claims.remove(claim);
    });
  }

  /** Whether a claim of these pools outlives its VM (reclaimPolicy Retain on any of them). */
  #retains(pools: string[]): boolean {
    return pools.some(p => (this.view.pool(p) as IPPool | undefined)?.spec?.reclaimPolicy === "Retain");
  }

  /** Deletes every IPAllocation of a claim and returns its addresses to the allocators. */
  async freeAddresses(namespace: string, claim: string): Promise<void> {
    for (const alloc of this.view.allocationsOfClaim(namespace, claim)) {
      await this.client.delete(Kinds.IPAllocation, alloc.metadata!.name as string, undefined, { uid: alloc.metadata?.uid as string });
      this.view.caches.allocations.remove(alloc);
      this.view.noteAllocation(alloc, true);
    }
  }
}

/** Why a NIC gets no address: KubeVirt's denials, each with its field path and fix. Pure. */
export function refusalMessage(iface: string, problems: Finding[]): string {
  const each = problems.map(p => `${p.field}: ${p.message}`).join("; ");
  return `KubeVirt ${KUBEVIRT_RELEASE} refuses interface ${iface} of this VM (it was admitted while vmnet-operator's webhook was unavailable): ${each}; once the VM is fixed the operator binds the NIC`;
}

/** Adds one NIC's bind outcome to the VM's tally: newly bound, or a wait it asks for. */
function tallyOutcome(tally: BindTally, claim: IPClaim, iface: string, outcome: BindOutcome): void {
  if (outcome.bound) {
    if (!sameAddresses(claim, outcome.addresses))
      tally.newlyBound.push(`interface ${iface}: ${outcome.addresses.join(", ")} with MAC ${outcome.mac}`);
  } else if (outcome.retryAfterMs !== undefined) {
    tally.retryAfterMs = Math.min(tally.retryAfterMs ?? Infinity, outcome.retryAfterMs);
  }
}

/** The claim showed these addresses, Bound, before: a re-bind that changed nothing (records re-made). */
function sameAddresses(claim: IPClaim, addresses: string[]): boolean {
  return isBound(claim) && JSON.stringify((claim.status as ClaimStatus | undefined)?.addresses ?? []) === JSON.stringify(addresses);
}

export function isBound(claim: IPClaim): boolean {
  return isClaimBound(claim);
}

const vmRef = (vm: VirtualMachine): EventTarget => eventTarget("kubevirt.io/v1", "VirtualMachine", vm);
const claimRef = (claim: IPClaim): EventTarget =>
  eventTarget("vmnet.io/v1alpha1", "IPClaim", claim as { metadata?: { name?: string; namespace?: string; uid?: string } });
