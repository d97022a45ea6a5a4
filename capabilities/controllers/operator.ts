// The operator's runtime: caches filled by a List and kept by watches, the work queue, the
// reconcilers and the timers for full resync and the garbage sweep. One per process; admission
// and controllers share it, so the webhook binds through the same allocators.
import { GenericClass, K8s, kind as coreKinds } from "kubernetes-fluent-client";
import { IPAllocation } from "../api/ipallocation-v1alpha1";
import { IPClaim } from "../api/ipclaim-v1alpha1";
import { IPPool } from "../api/ippool-v1alpha1";
import { VirtualMachine, VirtualMachineInstanceMigration } from "../api/external/kubevirt";
import { NetworkAttachmentDefinition } from "../api/external/multus";
import { KubeClient, KubeObject } from "../k8s/client";
import { HasMeta, keyOf, ObjectCache } from "../k8s/cache";
import { errorText } from "../k8s/errors";
import { eventRecorder, EventSink } from "../k8s/events";
import { KindRef, Kinds } from "../k8s/kinds";
import { logger } from "../log";
import { apiRetries, apiWrites, setMetricsSource } from "../metrics";
import { Binder } from "./binder";
import { ClusterView } from "./cluster-view";
import { GarbageSweep } from "./garbage-sweep";
import { MigrationController } from "./migration-controller";
import { PoolController } from "./pool-controller";
import { ServiceController } from "./service-controller";
import { VmController } from "./vm-controller";
import { WorkQueue } from "./work-queue";
import { hasBoundCondition } from "../domain/claims";

export type Phase = "ADDED" | "MODIFIED" | "DELETED";
export type WatchedKind =
  | "VirtualMachine"
  | "VirtualMachineInstanceMigration"
  | "IPPool"
  | "IPClaim"
  | "IPAllocation"
  | "NetworkAttachmentDefinition"
  | "Namespace"
  | "Service";

export interface OperatorOptions {
  /** Run reconcilers (watch process); false in an admission-only process. */
  controllers: boolean;
  /** Pepr's Watch bindings deliver events (watch and dev mode): no informers of our own at start. */
  peprWatches?: boolean;
  resyncSeconds?: number;
  gcIntervalSeconds?: number;
  gcGraceSeconds?: number;
  concurrency?: number;
  /** A watch with no event for this long is restarted at the next resync. */
  watchSilenceSeconds?: number;
  /** Leader election (install track): reconcile only once this resolves; until then caches stay warm, no writes. */
  leadership?: { acquired: Promise<void> };
}

const log = logger("operator");

const MANAGED_SELECTOR = { key: "app.kubernetes.io/managed-by", value: "vmnet-operator" };

const WATCHED: { kind: WatchedKind; ref: KindRef; model: GenericClass; managedOnly?: boolean }[] = [
  { kind: "Service", ref: Kinds.Service, model: coreKinds.Service, managedOnly: true },
  { kind: "Namespace", ref: Kinds.Namespace, model: coreKinds.Namespace },
  { kind: "NetworkAttachmentDefinition", ref: Kinds.NetworkAttachmentDefinition, model: NetworkAttachmentDefinition },
  { kind: "IPPool", ref: Kinds.IPPool, model: IPPool },
  { kind: "IPAllocation", ref: Kinds.IPAllocation, model: IPAllocation },
  { kind: "IPClaim", ref: Kinds.IPClaim, model: IPClaim },
  { kind: "VirtualMachine", ref: Kinds.VirtualMachine, model: VirtualMachine },
  { kind: "VirtualMachineInstanceMigration", ref: Kinds.VirtualMachineInstanceMigration, model: VirtualMachineInstanceMigration },
];

export class Operator {
  readonly view = new ClusterView();
  readonly queue: WorkQueue;
  readonly binder: Binder;
  readonly vms: VmController;
  readonly pools: PoolController;
  readonly migrations: MigrationController;
  readonly sweep: GarbageSweep;
  readonly event: EventSink;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #watchers = new Map<WatchedKind, { close(): void }>();
  /** When each kind's watch last delivered an event (relists do not count). */
  readonly #lastWatchEvent = new Map<WatchedKind, number>();
  /** Pool generation last acted on: only a spec change re-examines every VM. */
  readonly #poolGenerations = new Map<string, number>();
  readonly #startedAt = Date.now();
  /** Reconcilers run (leader, or no election); events before that are covered by enqueueAll. */
  #leading = false;
  /** The first List has filled every cache (readiness). */
  synced = false;

  constructor(
    readonly client: KubeClient,
    readonly opts: OperatorOptions,
  ) {
    this.event = eventRecorder(client, msg => log.warn(msg));
    this.binder = new Binder(client, this.view);
    this.vms = new VmController(client, this.view, this.binder, this.event, new ServiceController(client, this.view.caches.services, this.event));
    this.pools = new PoolController(client, this.view);
    this.migrations = new MigrationController(client, this.view, this.binder, this.event);
    this.sweep = new GarbageSweep(client, this.view, this.vms, (opts.gcGraceSeconds ?? 60) * 1000);
    this.queue = new WorkQueue(key => this.#handle(key), {
      concurrency: opts.concurrency ?? 32,
      onError: (key, err, attempt) => log.warn({ key, attempt }, `reconcile ${key} failed (attempt ${attempt}, retrying with backoff): ${errorText(err)}`),
    });
  }

  /**
   * With Pepr's watches running (watch or dev mode), their events feed the caches; otherwise
   * (admission-only) our own informers do. Either way a kind whose events stop is re-watched by
   * an informer of ours at the next resync, and relists keep the caches right meanwhile.
   */
  async start(): Promise<void> {
    setMetricsSource({
      pools: () =>
        this.view.pools().map(p => ({
          name: p.metadata!.name as string,
          capacity: Number((p.status as { capacity?: number } | undefined)?.capacity ?? 0),
          allocated: this.view.allocationsOfPool(p.metadata!.name as string).length,
        })),
      queueDepth: () => this.queue.depth,
      claims: () => {
        let bound = 0;
        for (const c of this.view.caches.claims.values()) if (hasBoundCondition(c)) bound++;
        return { bound, unbound: this.view.caches.claims.size - bound };
      },
      staleness: () => Object.fromEntries(WATCHED.map(w => [w.kind, (Date.now() - (this.#lastWatchEvent.get(w.kind) ?? this.#startedAt)) / 1000])),
    });
    await this.relist();
    this.synced = true;
    if (!this.opts.peprWatches) for (const w of WATCHED) this.#watch(w);
    if (!this.opts.controllers) return;
    this.#every(this.opts.resyncSeconds ?? 60, async () => {
      await this.relist();
      if (this.#leading) this.enqueueAll();
      this.#restartSilentWatches();
    });
    // --- leader election (install track): a follower keeps its caches warm (watches and the
    // resync relist) and writes nothing. start() returns once the caches are filled, so Pepr's
    // watch callbacks (which await the operator) keep feeding them; the reconcilers start when
    // the Lease is ours, after a fresh List.
    if (this.opts.leadership) {
      log.info("caches filled; waiting for the leader Lease before reconciling");
      void this.opts.leadership.acquired
        .then(() => this.relist())
        .catch(err => log.warn(`relist on taking the Lease failed (the resync retries): ${errorText(err)}`))
        .then(() => this.#startControllers());
      return;
    }
    // --- end leader election ---
    this.#startControllers();
  }

  #every(seconds: number, fn: () => Promise<unknown>): void {
    const t = setInterval(() => void fn().catch(err => log.warn(`periodic task failed: ${errorText(err)}`)), seconds * 1000);
    t.unref();
    this.#timers.push(t);
  }

  #startControllers(): void {
    this.#leading = true;
    this.enqueueAll();
    this.#every(this.opts.gcIntervalSeconds ?? 30, async () => {
      const freed = await this.sweep.sweep();
      if (freed.length) log.info({ freed }, `garbage sweep freed ${freed.length} orphans`);
    });
    log.info("controllers started");
  }

  stop(): void {
    this.#timers.forEach(t => clearInterval(t));
    this.#watchers.forEach(w => w.close());
    this.#watchers.clear();
    this.queue.stop();
  }

  /** Replaces every cache with a fresh List; allocators are rebuilt from the IPAllocation records. */
  async relist(): Promise<void> {
    const lists = await Promise.all(
      WATCHED.map(w => this.client.list<KubeObject>(w.ref, w.managedOnly ? { labelSelector: `${MANAGED_SELECTOR.key}=${MANAGED_SELECTOR.value}` } : {})),
    );
    WATCHED.forEach((w, i) => this.#cache(w.kind).replace(lists[i].items as HasMeta[] as never[]));
    for (const pool of this.view.caches.pools.keys()) this.view.forgetPool(pool);
  }

  /** Re-reads the pools now (cheap: few objects); for admission when a pool may be too new for the cache. */
  async refreshPools(): Promise<void> {
    const { items } = await this.client.list<IPPool>(Kinds.IPPool);
    for (const pool of items) this.onEvent("IPPool", "MODIFIED", pool as HasMeta);
  }

  enqueueAll(): void {
    for (const key of this.view.caches.pools.keys()) this.queue.add(`pool/${key}`);
    for (const key of this.view.caches.vms.keys()) this.queue.add(`vm/${key}`);
    for (const key of this.view.caches.migrations.keys()) this.queue.add(`migration/${key}`);
  }

  /** Entry point for every watch event, from our informers and from Pepr's Watch bindings. */
  onEvent(kind: WatchedKind, phase: Phase, obj: HasMeta): void {
    this.#lastWatchEvent.set(kind, Date.now());
    const cache = this.#cache(kind);
    const changed = phase === "DELETED" ? cache.remove(obj as never) : cache.upsert(obj as never);
    // Allocation events always recount their pool: the binder may have cached the object first.
    if (!changed && kind !== "IPAllocation") return;
    if (kind === "IPAllocation") this.view.noteAllocation(obj as IPAllocation, phase === "DELETED");
    if (this.opts.controllers && this.#leading) this.#enqueueFor(kind, phase, obj);
  }

  #enqueueFor(kind: WatchedKind, phase: Phase, obj: HasMeta): void {
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name as string;
    switch (kind) {
      case "VirtualMachine":
        return this.queue.add(`vm/${ns}/${name}`);
      case "VirtualMachineInstanceMigration":
        return this.queue.add(`migration/${ns}/${name}`);
      case "IPClaim":
        if (phase === "DELETED") this.queue.add(`claim/${ns}/${name}`);
        return this.queue.add(`vm/${ns}/${(obj as IPClaim).spec?.vm}`);
      case "IPAllocation": {
        this.queue.add(`pool/${(obj as IPAllocation).spec?.pool}`);
        if (phase === "DELETED") this.#enqueueWaiting();
        return;
      }
      case "IPPool":
        return this.#onPool(obj as IPPool, phase);
      case "NetworkAttachmentDefinition":
        for (const p of this.view.poolsForNetwork(`${ns}/${name}`)) this.queue.add(`pool/${p.metadata?.name}`);
        return;
      case "Service":
        // Someone changed or deleted a Service we keep: put it back.
        if (ns) this.queue.add(`vm/${ns}/${name}`);
        return;
      case "Namespace":
        for (const vm of this.view.caches.vms.values()) if (vm.metadata?.namespace === name) this.queue.add(`vm/${keyOf(vm)}`);
        return;
    }
  }

  #onPool(pool: IPPool, phase: Phase): void {
    const name = pool.metadata!.name as string;
    this.queue.add(`pool/${name}`);
    const generation = phase === "DELETED" ? -1 : Number(pool.metadata?.generation ?? 0);
    if (this.#poolGenerations.get(name) === generation) return; // our own status write
    this.#poolGenerations.set(name, generation);
    for (const key of this.view.caches.vms.keys()) this.queue.add(`vm/${key}`);
  }

  /** VMs whose claims wait for an address: a freed address may now serve them. */
  #enqueueWaiting(): void {
    for (const claim of this.view.caches.claims.values()) {
      if (!hasBoundCondition(claim)) this.queue.add(`vm/${claim.metadata?.namespace}/${claim.spec?.vm}`);
    }
  }

  async #handle(key: string): Promise<void> {
    const [type, ...rest] = key.split("/");
    if (type === "vm") return this.vms.reconcile(rest[0], rest[1]);
    if (type === "pool") return this.pools.reconcile(rest[0]);
    if (type === "migration") return this.migrations.reconcile(rest[0], rest[1]);
    if (type === "claim") {
      // A deleted claim frees its addresses at once (the sweep would, later).
      if (!this.view.caches.claims.get(`${rest[0]}/${rest[1]}`)) await this.vms.freeAddresses(rest[0], rest[1]);
    }
  }

  #cache(kind: WatchedKind): ObjectCache<HasMeta> {
    const c = this.view.caches;
    // The caches differ only in their element type; events carry plain objects of that kind.
    const byKind: Record<WatchedKind, unknown> = {
      VirtualMachine: c.vms,
      IPPool: c.pools,
      IPClaim: c.claims,
      IPAllocation: c.allocations,
      NetworkAttachmentDefinition: c.nads,
      Namespace: c.namespaces,
      Service: c.services,
      VirtualMachineInstanceMigration: c.migrations,
    };
    return byKind[kind] as ObjectCache<HasMeta>;
  }

  /**
   * Pepr's and kubernetes-fluent-client's watches can go silent (seen after HTTP 429) without an
   * error. Relists keep the caches right meanwhile; a watch silent for too long is restarted.
   */
  #restartSilentWatches(): void {
    const limitMs = (this.opts.watchSilenceSeconds ?? 600) * 1000;
    for (const w of WATCHED) {
      const last = this.#lastWatchEvent.get(w.kind) ?? this.#startedAt;
      if (Date.now() - last < limitMs) continue;
      log.warn({ kind: w.kind }, `watch of ${w.kind} silent for ${Math.round((Date.now() - last) / 1000)} s: restarting it`);
      this.#watchers.get(w.kind)?.close();
      this.#lastWatchEvent.set(w.kind, Date.now());
      this.#watch(w);
    }
  }

  #watch({ kind, model, managedOnly }: (typeof WATCHED)[number]): void {
    const query = managedOnly ? K8s(model).WithLabel(MANAGED_SELECTOR.key, MANAGED_SELECTOR.value) : K8s(model);
    const watcher = query.Watch((obj, phase) => this.onEvent(kind, phase as Phase, obj as HasMeta), {
      resyncDelaySec: 1,
      resyncFailureMax: Number.MAX_SAFE_INTEGER, // never give up: a silent watch is worse than a noisy one
      relistIntervalSec: 300,
    });
    watcher.start().catch(err => log.error(`watch ${kind} failed to start: ${errorText(err)}`));
    this.#watchers.set(kind, watcher);
  }
}

let singleton: Promise<Operator> | undefined;

/** The process's operator, created and started on first use (`extra`: options of the first call only). */
export function operator(extra: Partial<OperatorOptions> = {}): Promise<Operator> {
  singleton ??= (async () => {
    const client = await KubeClient.fromDefault();
    client.onWrite = (verb, kind) => apiWrites.inc({ verb, kind });
    client.onRetry = status => apiRetries.inc({ status: String(status) });
    const controllers = process.env.PEPR_WATCH_MODE === "true" || process.env.PEPR_MODE === "dev";
    const op = new Operator(client, {
      controllers,
      peprWatches: controllers,
      resyncSeconds: Number(process.env.VMNET_RESYNC_SECONDS ?? 60),
      gcIntervalSeconds: Number(process.env.VMNET_GC_INTERVAL_SECONDS ?? 30),
      gcGraceSeconds: Number(process.env.VMNET_GC_GRACE_SECONDS ?? 60),
      watchSilenceSeconds: Number(process.env.VMNET_WATCH_SILENCE_SECONDS ?? 600),
      concurrency: Number(process.env.VMNET_CONCURRENCY ?? 32),
      ...extra,
    });
    await op.start();
    return op;
  })();
  return singleton;
}
