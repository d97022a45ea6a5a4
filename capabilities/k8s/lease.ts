// Leader election through a coordination.k8s.io Lease, the algorithm of client-go's
// leaderelection package (@kubernetes/client-node 1.4 has none): a candidate takes the Lease when
// it is free or its holder stopped renewing for leaseDuration, measured on the candidate's own
// clock from when it last saw the record change (so clock skew between nodes does not matter);
// the leader renews every retryPeriod and gives up once it could not renew for renewDeadline.
// Optimistic concurrency (resourceVersion on update, AlreadyExists on create) settles races.
import { KubeClient } from "./client";
import { errorText, isAlreadyExists, isConflict, isNotFound } from "./errors";
import { KindRef } from "./kinds";

export const LEASE: KindRef = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", plural: "leases", namespaced: true };

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface ElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's defaults (kube-controller-manager uses the same). */
export const DEFAULT_TIMING: ElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** What a candidate saw last: the record and, on its own clock, when it changed. */
export interface Observation {
  key: string;
  at: number;
}

export type Decision =
  | { action: "create" }
  | { action: "renew" }
  | { action: "take"; transitions: number }
  | { action: "wait"; holder: string };

const recordKey = (s: LeaseSpec | undefined): string => `${s?.holderIdentity ?? ""}|${s?.renewTime ?? ""}|${s?.leaseDurationSeconds ?? ""}`;

/** The observation after seeing `lease` at `now`: its time moves only when the record changed. */
export function observe(prev: Observation | undefined, lease: Lease | undefined, now: number): Observation {
  const key = recordKey(lease?.spec);
  return prev && prev.key === key ? prev : { key, at: now };
}

/** Pure: what `me` should do about the Lease as it reads now. */
export function decide(lease: Lease | undefined, seen: Observation, me: string, now: number, timing: ElectionTiming): Decision {
  if (!lease) return { action: "create" };
  const spec = lease.spec ?? {};
  const holder = spec.holderIdentity ?? "";
  if (holder === me) return { action: "renew" };
  const durationMs = (spec.leaseDurationSeconds ?? timing.leaseDurationMs / 1000) * 1000;
  if (holder === "" || seen.at + durationMs <= now) return { action: "take", transitions: (spec.leaseTransitions ?? 0) + 1 };
  return { action: "wait", holder };
}

export interface ElectorEvents {
  onStartedLeading(): void;
  /** Leadership lost (could not renew in time) or released: the caller stops writing. */
  onStoppedLeading(reason: string): void;
  onNewLeader?(holder: string): void;
  onError?(message: string): void;
}

// A referenced timer: the election loop alone keeps a process alive (a standby does nothing else).
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

export class LeaseElector {
  #seen: Observation | undefined;
  #leading = false;
  #lastRenew = 0;
  #stopped = false;
  #lastHolder = "";
  /** The round in flight: stop() waits for it, so a renewal can never land after the release. */
  #inflight: Promise<boolean> = Promise.resolve(false);

  constructor(
    private readonly client: KubeClient,
    readonly name: string,
    readonly namespace: string,
    readonly identity: string,
    private readonly events: ElectorEvents,
    readonly timing: ElectionTiming = DEFAULT_TIMING,
    private readonly clock: () => number = Date.now,
  ) {}

  get leading(): boolean {
    return this.#leading;
  }

  /** Runs until stop(): acquires, renews, and reports every change through the events. */
  async run(): Promise<void> {
    while (!this.#stopped) {
      await this.tryOnce();
      await sleep(this.timing.retryPeriodMs);
    }
  }

  /** One round of acquire-or-renew; true while leading. */
  tryOnce(): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    this.#inflight = this.#round();
    return this.#inflight;
  }

  async #round(): Promise<boolean> {
    const now = this.clock();
    try {
      const lease = await this.client.getOrUndefined<Lease>(LEASE, this.name, this.namespace);
      this.#seen = observe(this.#seen, lease, now);
      const d = decide(lease, this.#seen, this.identity, now, this.timing);
      if (d.action === "wait") return this.#follow(d.holder);
      await this.#write(d, lease, now);
      this.#led(now);
      return true;
    } catch (err) {
      return this.#failed(err, now);
    }
  }

  /** Another holder leads: report a new one, and step down if we led. */
  #follow(holder: string): false {
    if (holder !== this.#lastHolder) this.events.onNewLeader?.(holder);
    this.#lastHolder = holder;
    if (this.#leading) this.#lose(`the Lease is held by ${holder}`);
    return false;
  }

  /** Creates, takes or renews the Lease as `d` says, holder us. */
  async #write(d: Exclude<Decision, { action: "wait" }>, lease: Lease | undefined, now: number): Promise<void> {
    const stamp = microTime(now);
    const spec: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.round(this.timing.leaseDurationMs / 1000),
      renewTime: stamp,
    };
    if (d.action === "create" || !lease) {
      await this.client.create<Lease>(LEASE, {
        metadata: { name: this.name, namespace: this.namespace },
        spec: { ...spec, acquireTime: stamp, leaseTransitions: 0 },
      });
      return;
    }
    const keep = lease.spec ?? {};
    const next = d.action === "take" ? { ...keep, ...spec, acquireTime: stamp, leaseTransitions: d.transitions } : { ...keep, ...spec };
    await this.#update({ ...lease, spec: next });
  }

  /** The Lease is ours as of `now`. */
  #led(now: number): void {
    this.#lastRenew = now;
    this.#lastHolder = this.identity;
    if (this.#leading) return;
    this.#leading = true;
    this.events.onStartedLeading();
  }

  /** Lost a race (someone else created or updated first) or the API server is away. */
  #failed(err: unknown, now: number): boolean {
    if (!isAlreadyExists(err) && !isConflict(err)) this.events.onError?.(`lease ${this.namespace}/${this.name}: ${errorText(err)}`);
    if (this.#leading && now - this.#lastRenew >= this.timing.renewDeadlineMs)
      this.#lose(`could not renew the Lease for ${Math.round((now - this.#lastRenew) / 1000)} s`);
    return this.#leading;
  }

  /** Stops the loop; a leader hands the Lease over at once (holder cleared) instead of letting it expire. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#inflight.catch(() => false);
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const lease = await this.client.get<Lease>(LEASE, this.name, this.namespace);
      if (lease.spec?.holderIdentity === this.identity) {
        await this.#update({
          ...lease,
          spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(this.clock()) },
        });
      }
    } catch (err) {
      if (!isNotFound(err)) this.events.onError?.(`releasing lease ${this.namespace}/${this.name}: ${errorText(err)}`);
    }
    this.events.onStoppedLeading("released");
  }

  #lose(reason: string): void {
    this.#leading = false;
    this.events.onStoppedLeading(reason);
  }

  #update(lease: Lease): Promise<Lease> {
    return this.client.request<Lease>({
      method: "PUT",
      path: `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases/${encodeURIComponent(this.name)}`,
      body: { apiVersion: LEASE.apiVersion, kind: LEASE.kind, ...lease },
      what: `update Lease ${this.namespace}/${this.name}`,
    });
  }
}

/** A Lease's MicroTime (microseconds, as client-go writes it) of a time in milliseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
