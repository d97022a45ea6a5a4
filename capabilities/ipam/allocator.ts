// The in-memory index of one pool: which addresses are held, by whom, and which one to hand out
// next. It is a cache of the IPAllocation records (the API server's "name already exists" is
// what guarantees uniqueness across processes); it never touches Kubernetes itself.
//
// Memory is proportional to the number of held (and remembered released) addresses, never to
// the pool size: an IPv6 /64 costs what its allocations cost.
import { ParsedIP, formatIP, maxValue, parseIP } from "./address";
import {
  AddressExcludedError,
  AddressOutOfRangeError,
  AddressTakenError,
  InvalidAddressError,
  IpamError,
  OwnerConflictError,
  PoolExhaustedError,
} from "./errors";
import { macFor, macKey } from "./mac";
import { PoolLayout, whyUnusable } from "./pool-layout";

export interface AllocationRecord {
  address: string;
  owner: string;
}

export interface RebuildResult {
  /** Records now held. */
  loaded: number;
  /** Records that could not be loaded (unparsable, other family, duplicate address), with why. */
  skipped: { address: string; owner: string; reason: string }[];
}

export type AllocateResult = { ok: true; address: string } | { ok: false; error: IpamError };

export interface PoolAllocatorOptions {
  /** Pool name used in error messages. Default: the CIDR. */
  name?: string;
  /**
   * How many released addresses to remember in the release FIFO (default 65536). Older ones
   * are forgotten and become plain free addresses, handed out after the FIFO runs dry; this
   * keeps memory bounded by allocations, not by history, in huge pools with heavy churn.
   */
  rememberReleased?: number;
}

/**
 * A map from key to values that is almost always one value per key. Records written by racing
 * processes can briefly give one owner two addresses (or two IPv6 addresses one MAC key);
 * those rare extras live in a second map so the common case stays one Map entry.
 */
class MostlyOneMap<K, V> {
  private readonly one = new Map<K, V>();
  private readonly more = new Map<K, V[]>();

  get(k: K): V | undefined {
    return this.one.get(k);
  }

  all(k: K): V[] {
    const v = this.one.get(k);
    return v === undefined ? [] : [v, ...(this.more.get(k) ?? [])];
  }

  add(k: K, v: V): void {
    if (this.one.get(k) === undefined) {
      this.one.set(k, v);
      return;
    }
    const extra = this.more.get(k);
    if (extra) extra.push(v);
    else this.more.set(k, [v]);
  }

  delete(k: K, v: V): void {
    const extra = this.more.size === 0 ? undefined : this.more.get(k);
    if (this.one.get(k) === v) {
      if (extra) this.one.set(k, extra.shift() as V);
      else this.one.delete(k);
    } else if (extra && extra.includes(v)) {
      extra.splice(extra.indexOf(v), 1);
    }
    if (extra && extra.length === 0) this.more.delete(k);
  }

  clear(): void {
    this.one.clear();
    this.more.clear();
  }
}

/**
 * Allocator of one pool. Order of hand-out:
 *  1. an owner that already holds an address gets it back (idempotent);
 *  2. a requested address, if usable and free;
 *  3. otherwise the lowest never-used address (a cursor moving up through the usable set);
 *  4. when those run out, released addresses, least recently released first, so an address
 *     freed just now goes out last (ARP caches of peers may still point at the old VM);
 *  5. then free addresses the allocator has no history for (after rebuild, or forgotten).
 * In IPv6 pools larger than 2^40 addresses, a candidate whose MAC (the low 40 bits) is used by
 * another held address is skipped, so MACs are unique within a pool by construction.
 */
export class PoolAllocator {
  readonly layout: PoolLayout;
  readonly name: string;
  private readonly remember: number;
  // Per address, one entry whichever its state, so moving between held and released is one
  // overwrite: a string is the owner holding it, a number its slot in `queue` (released).
  private readonly state = new Map<bigint, string | number>();
  private readonly owned = new MostlyOneMap<string, bigint>();
  // Released addresses in release order. Slot i is live while state.get(queue[i]) === i; slots
  // left behind when an address is taken again are skipped and dropped by compaction. (A Map
  // used as a queue is not O(1) in V8: deleted entries stay as holes that iteration walks.)
  private queue: bigint[] = [];
  private queueHead = 0;
  private releasedCount = 0;
  private heldCount = 0;
  private heldUsable = 0;
  // Only where two addresses of the pool can share a MAC key (IPv6 pools wider than /88).
  private readonly macs?: MostlyOneMap<bigint, bigint>;
  private readonly end: bigint;
  private readonly capacityN: number;
  private cursor: bigint;

  constructor(layout: PoolLayout, options: PoolAllocatorOptions = {}) {
    this.layout = layout;
    this.name = options.name ?? layout.cidr;
    this.remember = Math.max(0, options.rememberReleased ?? 65536);
    if (layout.family === 6 && layout.prefix < 88) this.macs = new MostlyOneMap();
    this.end = layout.usable.isEmpty ? layout.base : (layout.usable.last as bigint) + 1n;
    this.capacityN = layout.capacity > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(layout.capacity);
    this.cursor = layout.usable.first ?? layout.base;
  }

  /** Number of usable addresses. */
  get capacity(): bigint {
    return this.layout.capacity;
  }

  /** Number of held addresses (including held addresses the layout no longer makes usable). */
  get allocatedCount(): number {
    return this.heldCount;
  }

  /** Usable addresses not held. */
  get freeCount(): bigint {
    return this.layout.capacity - BigInt(this.heldUsable);
  }

  // ---- text API ---------------------------------------------------------------------------

  /**
   * Hands `owner` an address (canonical text). Idempotent: an owner that holds an address gets
   * it back, with or without the same `requested`.
   * @throws AddressOutOfRangeError, AddressExcludedError, AddressTakenError, OwnerConflictError for a bad request;
   *         PoolExhaustedError when nothing is free; InvalidAddressError for unparsable text
   */
  allocate(owner: string, requested?: string): string {
    const want = requested === undefined ? undefined : this.valueOf(requested);
    return this.format(this.allocateValue(owner, want));
  }

  /** allocate() that reports failure as a value instead of throwing (programming errors still throw). */
  tryAllocate(owner: string, requested?: string): AllocateResult {
    try {
      return { ok: true, address: this.allocate(owner, requested) };
    } catch (e) {
      if (e instanceof IpamError) return { ok: false, error: e };
      throw e;
    }
  }

  /**
   * Why `owner` could not take `requested`, or undefined when allocate(owner, requested) would
   * succeed. Takes nothing: for admission checks of requested addresses.
   */
  checkRequest(owner: string, requested: string): IpamError | undefined {
    try {
      const v = this.valueOf(requested);
      if (this.holder(v) === owner) return undefined;
      this.checkOwner(owner, v);
      this.checkFree(v);
      return undefined;
    } catch (e) {
      if (e instanceof IpamError) return e;
      throw e;
    }
  }

  /** Frees an address; false when it was not held (or is not of this pool's family). */
  release(address: string): boolean {
    const ip = parseIP(address);
    return ip.family === this.layout.family && this.releaseValue(ip.value);
  }

  /** Frees every address the owner holds; returns them. */
  releaseOwner(owner: string): string[] {
    const values = this.owned.all(owner);
    for (const v of values) this.releaseValue(v);
    return values.map(v => this.format(v));
  }

  /**
   * Records that `owner` holds `address` because the API server says so (an IPAllocation that
   * already exists). Authoritative: overrides what this index believed, and skips the usable
   * and MAC checks.
   */
  markTaken(address: string, owner: string): void {
    this.checkOwnerName(owner);
    const v = this.valueOf(address);
    const prev = this.state.get(v);
    if (prev === owner) return;
    if (typeof prev === "string") this.untake(v, prev);
    this.take(v, owner, this.layout.usable.contains(v), typeof prev === "number");
  }

  /** Owner holding the address, if any (undefined also for the other family). */
  holderOf(address: string): string | undefined {
    const ip = parseIP(address);
    return ip.family === this.layout.family ? this.holder(ip.value) : undefined;
  }

  /** The address the owner holds, if any. */
  addressOf(owner: string): string | undefined {
    const v = this.owned.get(owner);
    return v === undefined ? undefined : this.format(v);
  }

  /** Every address the owner holds (more than one only when racing writers left extra records). */
  addressesOf(owner: string): string[] {
    return this.owned.all(owner).map(v => this.format(v));
  }

  /** Held addresses and their owners, in no particular order. */
  *entries(): Generator<AllocationRecord> {
    for (const [v, s] of this.state) if (typeof s === "string") yield { address: this.format(v), owner: s };
  }

  /**
   * Replaces the index with the given records (the pool's IPAllocations). Records are
   * authoritative, so held addresses outside the usable set are kept (the layout may have
   * changed under them). The release history is not persisted: the cursor restarts above the
   * highest held address, so free addresses below it (possibly released just before a
   * restart) go out only after the never-used ones.
   */
  rebuild(records: Iterable<AllocationRecord>): RebuildResult {
    this.state.clear();
    this.owned.clear();
    this.macs?.clear();
    this.queue = [];
    this.queueHead = 0;
    this.releasedCount = 0;
    this.heldCount = 0;
    this.heldUsable = 0;
    const skipped: RebuildResult["skipped"] = [];
    let top: bigint | undefined;
    for (const { address, owner } of records) {
      const problem = this.loadRecord(address, owner);
      if (typeof problem === "string") skipped.push({ address, owner, reason: problem });
      else if (problem !== undefined && (top === undefined || problem > top)) top = problem;
    }
    this.cursor = top === undefined ? (this.layout.usable.first ?? this.layout.base) : top + 1n;
    return { loaded: this.heldCount, skipped };
  }

  // ---- value API (hot path: no text parsing or formatting) ----------------------------------

  /** allocate() on bigint values. */
  allocateValue(owner: string, requested?: bigint): bigint {
    this.checkOwnerName(owner);
    if (requested !== undefined && this.holder(requested) === owner) return requested;
    const held = this.checkOwner(owner, requested);
    if (held !== undefined) return held;
    if (requested === undefined) {
      const v = this.pick();
      this.take(v, owner, true, false);
      return v;
    }
    this.take(this.checkFree(requested), owner, true, typeof this.state.get(requested) === "number");
    return requested;
  }

  /** addressOf() as a bigint value. */
  addressValueOf(owner: string): bigint | undefined {
    return this.owned.get(owner);
  }

  /** release() on a bigint value. */
  releaseValue(v: bigint): boolean {
    const owner = this.state.get(v);
    if (typeof owner !== "string") return false;
    if (this.untake(v, owner)) this.pushReleased(v);
    else this.state.delete(v);
    return true;
  }

  // ---- internals --------------------------------------------------------------------------

  private holder(v: bigint): string | undefined {
    const s = this.state.get(v);
    return typeof s === "string" ? s : undefined;
  }

  private format(v: bigint): string {
    return formatIP(this.layout.family, v);
  }

  private checkOwnerName(owner: string): void {
    if (typeof owner !== "string" || owner.length === 0) throw new TypeError("owner must be a non-empty string");
  }

  /** Parses text of this pool's family. */
  private valueOf(address: string): bigint {
    const ip = parseIP(address);
    if (ip.family !== this.layout.family) {
      throw new AddressOutOfRangeError(
        address,
        `is IPv${ip.family} but the pool is IPv${this.layout.family} (${this.layout.cidr})`,
        this.name,
      );
    }
    return ip.value;
  }

  /** The owner's current address (to hand back), or throws when it asks for a different one. */
  private checkOwner(owner: string, requested: bigint | undefined): bigint | undefined {
    const held = this.owned.get(owner);
    if (held === undefined || requested === undefined || requested === held) return held;
    throw new OwnerConflictError(owner, this.format(held), this.format(requested), this.name);
  }

  /** Returns v when it may be handed out, else throws why not. */
  private checkFree(v: bigint): bigint {
    if (v < 0n || v > maxValue(this.layout.family)) {
      throw new InvalidAddressError(String(v), `is not an IPv${this.layout.family} address value`);
    }
    const ip: ParsedIP = { family: this.layout.family, value: v };
    const why = whyUnusable(this.layout, ip);
    if (why?.code === "OutOfRange") throw new AddressOutOfRangeError(this.format(v), why.reason, this.name);
    if (why) throw new AddressExcludedError(this.format(v), why.reason, this.name);
    const holder = this.holder(v);
    if (holder !== undefined) throw new AddressTakenError(this.format(v), holder, this.name);
    const twin = this.macTwin(v);
    if (twin !== undefined) {
      const via = { address: this.format(twin), mac: macFor(ip) };
      throw new AddressTakenError(this.format(v), this.holder(twin) as string, this.name, via);
    }
    return v;
  }

  /** Another held address with the same MAC key, if any. */
  private macTwin(v: bigint): bigint | undefined {
    if (!this.macs) return undefined;
    const twin = this.macs.get(macKey(6, v));
    return twin === v ? undefined : twin;
  }

  private pick(): bigint {
    if (this.heldUsable >= this.capacityN) throw this.exhausted("");
    const lapStart = this.cursor;
    let v = this.scan() ?? this.shiftReleased(this.macs ? (c: bigint): boolean => this.macTwin(c) === undefined : undefined);
    // Free addresses below the cursor that are not in the FIFO: after rebuild or forgetting.
    if (v === undefined && lapStart !== this.layout.usable.first) {
      this.cursor = this.layout.usable.first as bigint;
      v = this.scan();
    }
    if (v === undefined) throw this.exhausted(`; the ${this.freeCount} free addresses each share a MAC with a held address`);
    return v;
  }

  private exhausted(detail: string): PoolExhaustedError {
    return new PoolExhaustedError(this.name, this.layout.capacity, this.heldCount, detail);
  }

  /** Lowest usable address at or above the cursor that is neither held, remembered as released, nor a MAC twin. */
  private scan(): bigint | undefined {
    const usable = this.layout.usable;
    let c = usable.nextAtOrAfter(this.cursor);
    while (c !== undefined && (this.state.has(c) || this.macTwin(c) !== undefined)) {
      c = usable.nextAtOrAfter(c + 1n);
    }
    this.cursor = c === undefined ? this.end : c + 1n;
    return c;
  }

  private pushReleased(v: bigint): void {
    this.state.set(v, this.queue.length);
    this.queue.push(v);
    this.releasedCount++;
    if (this.releasedCount > this.remember) {
      // Forget the oldest: it stays free, handed out after the remembered ones.
      this.state.delete(this.shiftReleased() as bigint);
    }
  }

  /**
   * The least recently released address that passes `accept`, taken off the queue. Its state
   * entry still holds the slot number: the caller overwrites it (take) or deletes it (forget).
   */
  private shiftReleased(accept?: (v: bigint) => boolean): bigint | undefined {
    const q = this.queue;
    for (let i = this.queueHead; i < q.length; i++) {
      const live = this.state.get(q[i]) === i;
      if (!live && i === this.queueHead) this.queueHead++;
      if (!live || (accept && !accept(q[i]))) continue;
      if (i === this.queueHead) this.queueHead++;
      const v = q[i];
      // Mark the slot consumed: the state entry still points at it until the caller overwrites it.
      q[i] = -1n;
      this.releasedCount--;
      this.compactQueue();
      return v;
    }
    return undefined;
  }

  /** Drops consumed and stale slots once they are the majority, so memory follows the live count. */
  private compactQueue(): void {
    const q = this.queue;
    if (q.length < 1024 || q.length < 2 * this.releasedCount) return;
    const kept: bigint[] = [];
    for (let i = this.queueHead; i < q.length; i++) {
      if (this.state.get(q[i]) !== i) continue;
      this.state.set(q[i], kept.length);
      kept.push(q[i]);
    }
    this.queue = kept;
    this.queueHead = 0;
  }

  /** Records v as held. `wasReleased`: v is still queued as released (a request or markTaken), and leaves the FIFO. */
  private take(v: bigint, owner: string, usable: boolean, wasReleased: boolean): void {
    this.state.set(v, owner);
    if (wasReleased) this.releasedCount--;
    this.heldCount++;
    this.owned.add(owner, v);
    if (usable) this.heldUsable++;
    this.macs?.add(macKey(6, v), v);
  }

  /** Forgets that v is held (leaving its state entry to the caller); returns whether v is usable. */
  private untake(v: bigint, owner: string): boolean {
    this.heldCount--;
    this.owned.delete(owner, v);
    this.macs?.delete(macKey(6, v), v);
    const usable = this.layout.usable.contains(v);
    if (usable) this.heldUsable--;
    return usable;
  }

  /** Loads one record; returns why it was skipped, or the value when it is usable (for the cursor). */
  private loadRecord(address: string, owner: string): string | bigint | undefined {
    let ip: ParsedIP;
    try {
      ip = parseIP(address);
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
    if (typeof owner !== "string" || owner.length === 0) return "has no owner";
    if (ip.family !== this.layout.family) return `is IPv${ip.family} but the pool is IPv${this.layout.family}`;
    const holder = this.holder(ip.value);
    if (holder !== undefined) return `is already held by ${holder}`;
    const usable = this.layout.usable.contains(ip.value);
    this.take(ip.value, owner, usable, false);
    return usable ? ip.value : undefined;
  }
}
