// Binds an IPClaim: picks free addresses from the in-memory allocators and makes them real by
// creating one IPAllocation per address. The IPAllocation's name is derived from pool and address,
// so the API server's AlreadyExists is the only arbiter of uniqueness: however many processes
// allocate at once, an address is handed out once. Used by the VM controller and by the mutating
// webhook (which binds on the spot when a launcher pod arrives first).
import type { IPAllocation } from "../api/ipallocation-v1alpha1";
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import { macFor } from "../ipam/mac";
import { allocationName, parseIP } from "../ipam/address";
import { IpamError } from "../ipam/errors";
import type { AllocateResult, PoolAllocator } from "../ipam/allocator";
import { KubeApi } from "../k8s/client";
import { isAlreadyExists, isConflict } from "../k8s/errors";
import { Kinds } from "../k8s/kinds";
import { allocations, bindDuration, timed } from "../metrics";
import { domainOfNetwork } from "../domain/l2";
import { ClusterView, claimNameParts, ownerOf } from "./cluster-view";
import { MacUse, macClash, specMacUses } from "./mac-guard";
import { claimMac, sameStatus, statusFor } from "./claim-status";
import { Condition, renderAllocation } from "./render";

export interface BindRequest {
  claim: IPClaim;
  /** Addresses asked for with the vmnet.io/addresses annotation, any family order. */
  requested?: string[];
  /** macAddress from the VM spec: it wins over the derived MAC. */
  specMac?: string;
}

export type BindOutcome =
  | { bound: true; addresses: string[]; mac: string; gateway?: string }
  | {
      bound: false;
      reason: "Exhausted" | "Conflict" | "NetworkNotReady" | "InvalidRequest" | "InvalidInterface";
      message: string;
      /** see contended() */ retryAfterMs?: number;
    };

export interface ClaimStatus {
  addresses?: string[];
  mac?: string;
  gateway?: string;
  released?: boolean;
  observedGeneration?: number;
  conditions?: Condition[];
}

const MAX_ATTEMPTS = 64;

/** The claim an IPAllocation names (its claimRef). */
type ClaimRef = { namespace: string; name: string; uid?: string };

/** What the binder needs to keep a derived MAC unique on the segment while it picks addresses. */
interface MacCheck {
  derivesMac: boolean;
  shown: string[];
  requested?: string;
  /** Addresses skipped for their MAC: meeting one again means every free address clashes. */
  skipped: Set<string>;
}

/** Serialises work per key inside one process (controller and webhook share the allocator). */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.#tails.set(key, next);
    try {
      return await next;
    } finally {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    }
  }
}

export class Binder {
  readonly mutex = new KeyedMutex();

  constructor(
    private readonly client: KubeApi,
    private readonly view: ClusterView,
  ) {}

  /** Binds every pool of the claim and writes its status. Safe to call again at any time. */
  async bind(req: BindRequest): Promise<BindOutcome> {
    const ns = req.claim.metadata!.namespace as string;
    const name = req.claim.metadata!.name as string;
    return this.mutex.run(ownerOf(ns, name), () =>
      timed(bindDuration, {}, async () => {
        const outcome = await this.#bindPools(req);
        await this.writeStatus(req.claim, statusFor(req.claim, outcome));
        return outcome;
      }),
    );
  }

  async #bindPools(req: BindRequest): Promise<BindOutcome> {
    const pools = req.claim.spec?.pools?.length ? req.claim.spec.pools : req.claim.spec?.pool ? [req.claim.spec.pool] : [];
    if (!pools.length) {
      return {
        bound: false,
        reason: "NetworkNotReady",
        message: `no IPPool serves network "${req.claim.spec?.network}" for this namespace`,
      };
    }
    const addresses: string[] = [];
    let gateway: string | undefined;
    const macPool = req.specMac ? undefined : this.#macSource(pools);
    for (const pool of pools) {
      const result = await this.#bindPool(req, pool, pool === macPool);
      if (typeof result !== "string") return result;
      const layout = this.view.poolState(pool)!.layout!;
      addresses.push(`${result}/${layout.prefix}`);
      gateway ??= layout.gateway;
    }
    return { bound: true, addresses, mac: claimMac(addresses, req.specMac), gateway };
  }

  /** The pool whose address the NIC's MAC derives from (claimMac): its IPv4 pool, else its first. */
  #macSource(pools: string[]): string {
    return pools.find(p => this.view.poolState(p)?.layout?.family === 4) ?? pools[0];
  }

  /** Returns the bound address of the claim in one pool, or why there is none. `derivesMac`: the NIC's MAC comes from this address. */
  async #bindPool(req: BindRequest, pool: string, derivesMac: boolean): Promise<string | BindOutcome> {
    const state = this.view.poolState(pool);
    if (!state?.allocator || !state.layout) return notReady(pool, state?.error);
    const { allocator, layout } = state;
    const claim = req.claim;
    const ns = claim.metadata!.namespace as string;
    const name = claim.metadata!.name as string;
    const owner = ownerOf(ns, name);
    const { shown, kept, requested } = wantedAddress(req, layout.family);
    const macs: MacCheck = { derivesMac, shown, requested, skipped: new Set<string>() };
    const ref = { namespace: ns, name, uid: claim.metadata?.uid as string | undefined };

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { held, result } = pick(allocator, owner, requested, await this.#heldAddress(allocator, pool, owner, kept, ref));
      if (!result.ok) return failure(result.error, pool);
      const address = result.address;
      const macVerdict = this.#macVerdict(claim, pool, address, held, macs);
      if (macVerdict === "next") continue;
      if (macVerdict) return macVerdict;
      const outcome = await this.#makeReal(pool, address, ref);
      if (outcome === "ours") return address;
      // Someone else holds it: remember them, and try the next address (or report the conflict).
      allocator.release(address);
      allocator.markTaken(address, outcome.holder);
      if (requested) return heldBy(requested, pool, outcome.holder, ns);
    }
    return contended(pool);
  }

  /**
   * The address this process holds for the claim in the pool. The one the claim shows (`kept`)
   * wins whenever the API server holds its record for the claim, though this allocator may not
   * have seen that record yet (its watch lags, or a relist listed allocations before claims) and
   * may hold another record for the claim: a racing writer's that lost, which the sweep frees.
   * Handing that one out rewrote a Bound claim under a launcher pod already admitted with the
   * shown address (CI of 56bce65). Memory alone never moves a Bound claim to another address.
   */
  async #heldAddress(
    allocator: PoolAllocator,
    pool: string,
    owner: string,
    kept: string | undefined,
    claim: ClaimRef,
  ): Promise<string | undefined> {
    if (kept === undefined) return allocator.addressOf(owner);
    if (allocator.holderOf(kept) === owner) return kept;
    if (!(await this.#recordIsClaims(pool, kept, claim))) return allocator.addressOf(owner);
    allocator.markTaken(kept, owner);
    return kept;
  }

  /** The API server holds the IPAllocation of `address` for this claim (the cache when it says so, else a live read). */
  async #recordIsClaims(pool: string, address: string, claim: ClaimRef): Promise<boolean> {
    const name = allocationName(pool, address);
    const cached = this.view.caches.allocations.get(name);
    if (cached && sameClaim(cached, claim)) return true;
    const live = await this.client.getOrUndefined<IPAllocation>(Kinds.IPAllocation, name);
    if (live) this.view.caches.allocations.upsert(live);
    return live !== undefined && sameClaim(live, claim);
  }

  /**
   * A fresh pick whose derived MAC is in use: "next" (released; the next pick moves on), or the
   * outcome that ends the bind. Undefined: keep the address (also one the claim holds or showed).
   */
  #macVerdict(claim: IPClaim, pool: string, address: string, held: boolean, c: MacCheck): "next" | BindOutcome | undefined {
    if (!c.derivesMac || held || c.shown.includes(address)) return undefined;
    const blocked = this.#macInUse(claim, address);
    if (!blocked) return undefined;
    this.view.allocator(pool)?.release(address);
    const stop = macStop(pool, blocked, address === c.requested, c.skipped.has(address));
    c.skipped.add(address);
    return stop ?? "next";
  }

  /**
   * Why the MAC derived from `address` cannot be this claim's: another NIC on its L2 segment uses
   * it, set in that VM's spec or shown by its claim. Names the holder only within the namespace.
   */
  #macInUse(claim: IPClaim, address: string): string | undefined {
    const mac = macFor(address);
    const ns = claim.metadata!.namespace as string;
    const fromClaims: MacUse[] = this.view
      .macHolders(mac)
      .map(h => ({ ...claimNameParts(h.claim), namespace: h.namespace, network: h.network, mac }));
    const fromSpecs = this.view.caches.vms.by("derivedMac", "yes").flatMap(specMacUses);
    const self = { namespace: ns, vm: claim.spec!.vm, iface: claim.spec!.interface };
    const clash = macClash(mac, claim.spec!.network, self, [...fromClaims, ...fromSpecs], n => domainOfNetwork(this.view, n));
    if (!clash) return undefined;
    const who = clash.namespace === ns ? `interface ${clash.iface} of VM ${ns}/${clash.vm}` : "a NIC of another namespace";
    return `${address} would get MAC ${mac}, which ${who} already uses on this L2 segment`;
  }

  /** Creates the IPAllocation if absent. "ours" when it exists for this claim afterwards. */
  async #makeReal(pool: string, address: string, claim: ClaimRef): Promise<"ours" | { holder: string }> {
    const existing = this.view.caches.allocations.get(allocationName(pool, address));
    if (existing && sameClaim(existing, claim)) return "ours";
    if (await this.#create(pool, address, claim)) return "ours";
    const live = await this.client.getOrUndefined<IPAllocation>(Kinds.IPAllocation, allocationName(pool, address));
    if (!live) return this.#makeReal(pool, address, claim); // deleted meanwhile: try again
    this.view.caches.allocations.upsert(live);
    const ours = sameClaim(live, claim); // ours from before a crash, or from another replica
    allocations.inc({ pool, result: ours ? "adopted" : "taken" });
    if (ours) return "ours";
    if (live.spec?.claimRef.namespace === claim.namespace && live.spec?.claimRef.name === claim.name) {
      // Left by an earlier claim of the same name that was deleted: free it, then take it again.
      await this.client.delete(Kinds.IPAllocation, live.metadata!.name as string, undefined, { uid: live.metadata!.uid as string });
      this.view.caches.allocations.remove(live);
      return this.#makeReal(pool, address, claim);
    }
    return { holder: ownerOf(live.spec!.claimRef.namespace, live.spec!.claimRef.name) };
  }

  /** Creates the IPAllocation: true when created, false when its name is taken (AlreadyExists). */
  async #create(pool: string, address: string, claim: { namespace: string; name: string; uid?: string }): Promise<boolean> {
    try {
      const created = await this.client.create(Kinds.IPAllocation, renderAllocation(pool, address, claim));
      this.view.caches.allocations.upsert(created as IPAllocation);
      allocations.inc({ pool, result: "created" });
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      this.view.allocator(pool)?.release(address);
      allocations.inc({ pool, result: "error" });
      throw err;
    }
  }

  /**
   * Writes claim status when it differs; the resourceVersion guard makes concurrent writers retry.
   * A conflict with a writer that wrote this very status (the watcher and an admission replica
   * binding one claim at once, to the one address both adopt) is no failure: the live claim is
   * taken into the view, so a launcher pod is rendered from it now instead of being refused.
   */
  async writeStatus(claim: IPClaim, status: ClaimStatus): Promise<void> {
    if (sameStatus(claim.status as ClaimStatus | undefined, status)) return;
    const name = claim.metadata!.name as string;
    const namespace = claim.metadata!.namespace as string;
    try {
      const updated = await this.client.mergePatch<IPClaim>(
        Kinds.IPClaim,
        name,
        namespace,
        { metadata: { resourceVersion: claim.metadata!.resourceVersion }, status },
        "status",
      );
      this.view.caches.claims.upsert(updated);
    } catch (err) {
      if (!isConflict(err)) throw err;
      const live = await this.client.getOrUndefined<IPClaim>(Kinds.IPClaim, name, namespace);
      if (!live || live.metadata?.uid !== claim.metadata?.uid || !sameStatus(live.status as ClaimStatus | undefined, status)) throw err;
      this.view.caches.claims.upsert(live);
    }
  }
}

function sameClaim(alloc: IPAllocation, claim: ClaimRef): boolean {
  const ref = alloc.spec?.claimRef;
  if (!ref || ref.namespace !== claim.namespace || ref.name !== claim.name) return false;
  return !ref.uid || !claim.uid || ref.uid === claim.uid;
}

function familyOf(address: string): 4 | 6 {
  try {
    return parseIP(address).family;
  } catch {
    return address.includes(":") ? 6 : 4;
  }
}

/** The address held for the claim (`held`, from #heldAddress), else a fresh pick honouring the request. */
function pick(
  allocator: PoolAllocator,
  owner: string,
  requested: string | undefined,
  held: string | undefined,
): { held: boolean; result: AllocateResult } {
  return held ? { held: true, result: { ok: true, address: held } } : { held: false, result: allocator.tryAllocate(owner, requested) };
}

/** No allocator for the pool: it does not exist, or its spec cannot be laid out. Pure. */
function notReady(pool: string, error: string | undefined): BindOutcome {
  return { bound: false, reason: "NetworkNotReady", message: error ?? `IPPool "${pool}" does not exist` };
}

/**
 * The address of this family the claim should get: one it already shows (`kept`: its record may
 * have been lost), else the one requested. Pure.
 */
function wantedAddress(req: BindRequest, family: 4 | 6): { shown: string[]; kept?: string; requested?: string } {
  const shown = ((req.claim.status as ClaimStatus | undefined)?.addresses ?? []).map(a => a.split("/")[0]);
  const kept = shown.find(a => familyOf(a) === family);
  return { shown, kept, requested: kept ?? (req.requested ?? []).find(a => familyOf(a) === family) };
}

/** The requested address is another claim's. The claim's status is the tenant's to read: the holder is named only within the namespace. Pure. */
function heldBy(requested: string, pool: string, holder: string, ns: string): BindOutcome {
  const who = holder.startsWith(`${ns}/`) ? `IPClaim ${holder}` : "a VM of another namespace";
  return { bound: false, reason: "Conflict", message: `${requested} in pool ${pool} is held by ${who}` };
}

/** A MAC clash ends the bind when the address was asked for, or when every free one clashes. Pure. */
function macStop(pool: string, why: string, requested: boolean, seenBefore: boolean): BindOutcome | undefined {
  if (requested)
    return {
      bound: false,
      reason: "Conflict",
      message: `pool ${pool}: ${why}; request another address, or set macAddress on this interface`,
    };
  if (seenBefore)
    return {
      bound: false,
      reason: "Exhausted",
      message: `pool ${pool}: every free address derives a MAC in use on this L2 segment (${why})`,
    };
  return undefined;
}

function failure(error: IpamError, pool: string): BindOutcome {
  const reason =
    error.code === "Exhausted" ? "Exhausted" : error.code === "Taken" || error.code === "Conflict" ? "Conflict" : "InvalidRequest";
  return { bound: false, reason, message: `pool ${pool}: ${error.message}` };
}

/** A claim that lost MAX_ATTEMPTS races waits this long, up to twice as long (jitter spreads the losers out), before its VM runs again. */
const CONTENTION_RETRY_MS = 500;

/**
 * MAX_ATTEMPTS addresses in a row were taken by other writers (replicas, the webhook) this
 * process had not yet seen. The pool may have room: nothing is wrong with the claim, and no event
 * may come to say the race is over (the winners' records are events for their own claims), so the
 * outcome carries a short, jittered wait after which the reconciler runs the VM again. Pure.
 */
function contended(pool: string, random = Math.random): BindOutcome {
  const message = `gave up after ${MAX_ATTEMPTS} addresses of pool ${pool} were taken concurrently; will retry`;
  return { bound: false, reason: "Exhausted", message, retryAfterMs: Math.round(CONTENTION_RETRY_MS * (1 + random())) };
}
