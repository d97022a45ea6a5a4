// The operator's runtime: caches filled by a List and kept by watches, the work queue, the
// reconcilers and the timers for full resync and the garbage sweep. One per process; admission
// and controllers share it, so the webhook binds through the same allocators.
import type { IPAllocation } from "../api/ipallocation-v1alpha1";
import { IPPool } from "../api/ippool-v1alpha1";
import { KubeClient } from "../k8s/client";
import { HasMeta } from "../k8s/cache";
import { Informer } from "../k8s/informer";
import { errorText } from "../k8s/errors";
import { eventRecorder, EventSink } from "../k8s/events";
import { Kinds } from "../k8s/kinds";
import { logger } from "../log";
import { apiRetries, apiWrites, setMetricsSource } from "../metrics";
import { Binder } from "./binder";
import { claimNameParts, ClusterView } from "./cluster-view";
import { GarbageSweep } from "./garbage-sweep";
import { MigrationController } from "./migration-controller";
import { PoolController } from "./pool-controller";
import { claimKey, done, keyId, KeyOf, migrationKey, Result, vmKey, WorkKey, WorkKind } from "./reconcile";
import { terminalReporter } from "./report";
import { ServiceController } from "./service-controller";
import { VmController } from "./vm-controller";
import { MANAGED_SELECTOR, Phase, RouteContext, watched, WATCHED, Watched, WatchedKind } from "./watched";
import { WorkQueue } from "./work-queue";

export type { Phase, WatchedKind } from "./watched";

export interface OperatorOptions {
  /** Run reconcilers (watch process); false in an admission-only process. */
  controllers: boolean;
  /** Reconcile every cached object this often (no API call). */
  resyncSeconds?: number;
  /** A full List of every kind this often, behind the watches (0: never; 410 Gone still relists). */
  relistSeconds?: number;
  gcIntervalSeconds?: number;
  gcGraceSeconds?: number;
  concurrency?: number;
  /** A watch with no event for this long is restarted at the next resync. */
  watchSilenceSeconds?: number;
  /** Leader election (install track): reconcile only once this resolves; until then caches stay warm, no writes. */
  leadership?: { acquired: Promise<void> };
}

const log = logger("operator");

/** Which reconciler runs each kind of key. */
type Reconcilers = { [K in WorkKind]: (key: KeyOf<K>) => Promise<Result | void> };

export class Operator {
  readonly view = new ClusterView();
  readonly queue: WorkQueue<WorkKey>;
  readonly binder: Binder;
  readonly vms: VmController;
  readonly pools: PoolController;
  readonly migrations: MigrationController;
  readonly sweep: GarbageSweep;
  readonly event: EventSink;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #informers = new Map<WatchedKind, Informer<HasMeta>>();
  /** When each kind's watch last delivered an event (relists do not count). */
  readonly #lastWatchEvent = new Map<WatchedKind, number>();
  /** Pool generation last acted on: only a spec change re-examines every VM. */
  readonly #poolGenerations = new Map<string, number>();
  readonly #startedAt = Date.now();
  readonly #reconcilers: Reconcilers;
  /** What the table's routes may read: the view, and whether a pool's spec changed. */
  readonly #routes: RouteContext = {
    view: this.view,
    poolSpecChanged: (name, generation) => {
      if (this.#poolGenerations.get(name) === generation) return false; // our own status write
      this.#poolGenerations.set(name, generation);
      return true;
    },
  };
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
    this.vms = new VmController(
      client,
      this.view,
      this.binder,
      this.event,
      new ServiceController(client, this.view.caches.services, this.event),
    );
    this.pools = new PoolController(client, this.view);
    this.migrations = new MigrationController(client, this.view, this.binder, this.event);
    this.sweep = new GarbageSweep(client, this.view, this.vms, (opts.gcGraceSeconds ?? 60) * 1000);
    this.#reconcilers = {
      vm: key => this.vms.reconcile(key),
      pool: key => this.pools.reconcile(key),
      migration: key => this.migrations.reconcile(key),
      claim: key => this.#claimDeleted(key),
    };
    this.queue = new WorkQueue<WorkKey>(key => this.#handle(key), {
      concurrency: opts.concurrency ?? 32,
      id: keyId,
      onError: (key, err, attempt) =>
        log.warn(
          { key: keyId(key), attempt },
          `reconcile ${keyId(key)} failed (attempt ${attempt}, retrying with backoff): ${errorText(err)}`,
        ),
      onTerminal: terminalReporter(this.view, this.event, log),
    });
  }

  /**
   * Informers fill the caches (a List each) and keep them by watch, in every mode (admission,
   * watcher, dev): Pepr's Watch bindings are not used, since each of them keeps full copies of
   * every object in a watch cache of its own. A kind whose watch stops hearing from the API
   * server is re-watched at the next resync, and relists keep the caches right meanwhile.
   */
  async start(): Promise<void> {
    setMetricsSource({
      pools: () =>
        this.view.pools().map(p => ({
          name: p.metadata!.name as string,
          capacity: Number((p.status as { capacity?: number } | undefined)?.capacity ?? 0),
          allocated: this.view.allocationCount(p.metadata!.name as string),
        })),
      queueDepth: () => this.queue.depth,
      claims: () => this.view.claimCounts(),
      staleness: () =>
        Object.fromEntries(WATCHED.map(w => [w.kind, (Date.now() - (this.#lastWatchEvent.get(w.kind) ?? this.#startedAt)) / 1000])),
    });
    await Promise.all(WATCHED.map(w => this.#informer(w).start()));
    this.#forgetPools();
    this.synced = true;
    if (!this.opts.controllers) return;
    // Resync is from the caches, as client-go's: every object reconciled again, no API call. A
    // full List of every kind (30,000 objects at 10,000 VMs, read from etcd, parsed, and the
    // allocators rebuilt under binds in flight) only backs the watches up, rarely.
    this.#every(this.opts.resyncSeconds ?? 60, async () => {
      if (this.#leading) this.enqueueAll();
      this.#restartSilentWatches();
    });
    if ((this.opts.relistSeconds ?? 1800) > 0) this.#every(this.opts.relistSeconds ?? 1800, () => this.relist());
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
    this.#informers.forEach(w => w.stop());
    this.#informers.clear();
    this.queue.stop();
  }

  /** Replaces every cache with a fresh (paged) List; allocators are rebuilt if the allocations or pools differed. */
  async relist(): Promise<void> {
    await Promise.all([...this.#informers.values()].map(i => i.relist()));
  }

  #forgetPools(): void {
    for (const pool of this.view.caches.pools.keys()) this.view.forgetPool(pool);
  }

  /** Re-reads the pools now (cheap: few objects); for admission when a pool may be too new for the cache. */
  async refreshPools(): Promise<void> {
    const { items } = await this.client.list<IPPool>(Kinds.IPPool);
    for (const pool of items) this.onEvent("IPPool", "MODIFIED", pool as HasMeta);
  }

  /** The informer of a kind: its Lists replace the cache, its events go through onEvent. */
  #informer(w: Watched): Informer<HasMeta> {
    const cache = this.#cache(w.kind);
    const informer = new Informer<HasMeta>(
      this.client,
      w.ref,
      {
        event: (phase, obj) => this.onEvent(w.kind, phase, obj),
        listed: (items, resourceVersion) => {
          // No allocator is rebuilt under binds in flight: they follow the allocations the List
          // changed (ClusterView.replaceAllocations), and a pool's allocator is rebuilt only when
          // its spec changes (ClusterView.poolState).
          const changed =
            w.kind === "IPAllocation"
              ? this.view.replaceAllocations(items as IPAllocation[], resourceVersion)
              : cache.replace(items, resourceVersion);
          this.#lastWatchEvent.set(w.kind, Date.now());
          if (changed.length && this.opts.controllers && this.#leading) this.#enqueueChanged(w.kind, changed);
        },
      },
      {
        labelSelector: w.managedOnly ? `${MANAGED_SELECTOR.key}=${MANAGED_SELECTOR.value}` : undefined,
        project: obj => cache.project(obj as HasMeta),
        onError: err => log.warn({ kind: w.kind }, `watch of ${w.kind} failed (retrying): ${errorText(err)}`),
      },
    );
    this.#informers.set(w.kind, informer);
    return informer;
  }

  /** After a List that replaced a cache (a watch that could not resume): what it changed gets reconciled. */
  #enqueueChanged(kind: WatchedKind, keys: string[]): void {
    // Pools, NADs, namespaces, Services, allocations: few, or touching many VMs; look at all.
    if (kind !== "VirtualMachine" && kind !== "VirtualMachineInstanceMigration" && kind !== "IPClaim") return this.enqueueAll();
    for (const key of keys) {
      const [ns, name] = key.split("/");
      if (kind === "VirtualMachine") this.queue.add(vmKey(ns, name));
      else if (kind === "VirtualMachineInstanceMigration") this.queue.add(migrationKey(ns, name));
      else {
        this.queue.add(claimKey(ns, name));
        this.queue.add(vmKey(ns, claimNameParts(name).vm));
      }
    }
  }

  /** Every object's own reconcile (the full resync): pools, VMs, migrations, as the table says. */
  enqueueAll(): void {
    for (const w of WATCHED) {
      if (!w.own) continue;
      for (const obj of this.#cache(w.kind).values()) this.queue.add(w.own(obj));
    }
  }

  /** Entry point for every watch event (our informers) and for refreshPools. */
  onEvent(kind: WatchedKind, phase: Phase, obj: HasMeta): void {
    this.#lastWatchEvent.set(kind, Date.now());
    const w = watched(kind);
    const cache = w.cache(this.view.caches);
    const changed = phase === "DELETED" ? cache.remove(obj) : cache.upsert(obj);
    if (!changed && !w.routeUnchanged) return;
    w.note?.(this.view, obj, phase === "DELETED");
    if (this.opts.controllers && this.#leading) for (const key of w.route(phase, obj, this.#routes)) this.queue.add(key);
  }

  /** Runs one key's reconciler; the queue acts on its Result. */
  #handle(key: WorkKey): Promise<Result | void> {
    const run = this.#reconcilers[key.kind] as (k: WorkKey) => Promise<Result | void>;
    return run(key);
  }

  /** A deleted claim frees its addresses at once (the sweep would, later), unless it is back. */
  async #claimDeleted({ namespace, name }: KeyOf<"claim">): Promise<Result> {
    if (!this.view.caches.claims.get(`${namespace}/${name}`)) await this.vms.freeAddresses(namespace, name);
    return done;
  }

  #cache(kind: WatchedKind): ReturnType<Watched["cache"]> {
    return watched(kind).cache(this.view.caches);
  }

  /**
   * A watch can hang without an error (a half-open connection). With bookmarks the API server
   * speaks on every watch about once a minute; one silent for too long is reconnected.
   * Relists keep the caches right meanwhile.
   */
  #restartSilentWatches(): void {
    const limitMs = (this.opts.watchSilenceSeconds ?? 600) * 1000;
    for (const [kind, informer] of this.#informers) {
      const last = Math.max(informer.lastHeardAt, this.#startedAt);
      if (Date.now() - last < limitMs) continue;
      log.warn({ kind }, `watch of ${kind} silent for ${Math.round((Date.now() - last) / 1000)} s: restarting it`);
      informer.restartWatch();
    }
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
      resyncSeconds: Number(process.env.VMNET_RESYNC_SECONDS ?? 60),
      relistSeconds: Number(process.env.VMNET_RELIST_SECONDS ?? 1800),
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
