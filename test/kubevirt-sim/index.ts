// A small stand-in for KubeVirt's virt-controller (plus the kubelet and Multus status it would
// see), running in-process against the cluster in KUBECONFIG: VMs get VMIs and virt-launcher
// pods, migrations walk KubeVirt's phases. See README.md for where it departs from KubeVirt.
import { KubeClient } from "../../capabilities/k8s/client";
import { errorText, isConflict } from "../../capabilities/k8s/errors";
import { WorkQueue } from "../../capabilities/controllers/work-queue";
import { logger } from "../../capabilities/log";
import { SimApi } from "./api";
import { Informer } from "./informer";
import { reconcileInstance } from "./instances";
import { MigrationController } from "./migrations";
import type { SimVmim } from "./types";

export { hashedInterfaceName, networkSelection, renderLauncherPod, renderVmi, vmiInterfaces } from "./render";
export { Annotation, Label, LAUNCHER_IMAGE, MIGRATION_PHASES, NODES } from "./types";
export { KUBEVIRT_GROUPS, KUBEVIRT_USER, kubevirtKubeconfig } from "./identity";

export interface KubevirtSimOptions {
  /**
   * Client to use; default: a new one from KUBEVIRT_SIM_KUBECONFIG (see identity.ts: KubeVirt's
   * own identity, the only one whose launcher pods get addresses) or else KUBECONFIG, closed by stop().
   */
  client?: KubeClient;
  /** Delay between migration phases (default 100 ms, or KUBEVIRT_SIM_STEP_MS). */
  stepDelayMs?: number;
  /** Period of the full relist that backs up the watches (default 5 s). */
  resyncMs?: number;
  /** Fail these migrations after TargetReady, besides those annotated vmnet.io/sim-fail: "true". */
  failMigration?: (vmim: SimVmim) => boolean;
  /** Only look after these namespaces (default: all). */
  namespaces?: (namespace: string) => boolean;
  /** Longest retry backoff for a failing key (default 2 s: a denied pod is retried soon). */
  maxRetryDelayMs?: number;
  /**
   * A real node runs the launcher pods (default: none, the simulator writes their status): their
   * container runs this image, never pulled (default KUBEVIRT_SIM_LAUNCHER_IMAGE).
   */
  launcherImage?: string;
}

export interface KubevirtSim {
  stop(): Promise<void>;
  /** Resolves when no key is queued, running or waiting to retry (migration timers aside). */
  idle(): Promise<void>;
  /** Writes the simulator has sent to the API server so far. */
  writes(): number;
}

const log = logger("kubevirt-sim");
log.level = process.env.KUBEVIRT_SIM_LOG_LEVEL ?? "warn";

interface Running {
  sim: KubevirtSim;
  users: number;
}
// One simulator per process: two would both create launcher pods for the same VMI. A second
// start shares the running one (its options are ignored) and stop() ends it with the last user.
let running: Promise<Running> | undefined;

export async function startKubevirtSim(opts: KubevirtSimOptions = {}): Promise<KubevirtSim> {
  running ??= launch(opts).then(sim => ({ sim, users: 0 }));
  let shared: Running;
  try {
    shared = await running;
  } catch (err) {
    running = undefined;
    throw err;
  }
  shared.users++;
  let stopped = false;
  return {
    idle: () => shared.sim.idle(),
    writes: () => shared.sim.writes(),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (--shared.users > 0) return;
      running = undefined;
      await shared.sim.stop();
    },
  };
}

async function launch(opts: KubevirtSimOptions): Promise<KubevirtSim> {
  const client = opts.client ?? (await KubeClient.fromDefault(16, process.env.KUBEVIRT_SIM_KUBECONFIG || undefined));
  const api = new SimApi(client, opts.launcherImage ?? (process.env.KUBEVIRT_SIM_LAUNCHER_IMAGE || undefined));
  const stepDelayMs = opts.stepDelayMs ?? Number(process.env.KUBEVIRT_SIM_STEP_MS ?? 100);
  let stopping = false;
  const onError =
    (what: string) =>
    (key: string, err: unknown, attempt: number): void => {
      // A conflict is the resourceVersion guard doing its job: the retry reads afresh.
      if (!stopping) log[isConflict(err) ? "debug" : "warn"]({ key, attempt }, `${what} ${key}: ${errorText(err)}`);
    };
  const queueOpts = { baseDelayMs: 50, maxDelayMs: opts.maxRetryDelayMs ?? 2000 };
  const instances = new WorkQueue(key => reconcileInstance(api, key), { ...queueOpts, concurrency: 16, onError: onError("reconcile") });
  // The controller schedules its next steps into the queue that runs it.
  const migrationQueue: WorkQueue = new WorkQueue(key => migrations.reconcile(key), {
    ...queueOpts,
    concurrency: 8,
    onError: onError("migration"),
  });
  const migrations = new MigrationController(api, { stepDelayMs, failMigration: opts.failMigration }, key => migrationQueue.add(key));
  const informer = new Informer(api, {
    instance: key => instances.add(key),
    migration: key => migrationQueue.add(key),
    migrationDeleted: (key, vmim) => migrations.onDeleted(key, vmim),
    inScope: opts.namespaces ?? ((): boolean => true),
    onError: (what, err) => log.warn(`${what}: ${errorText(err)}`),
  });
  await informer.start(opts.resyncMs ?? 5000);
  log.info("kubevirt simulator running");
  return {
    idle: async () => {
      await Promise.all([instances.idle(), migrationQueue.idle()]);
    },
    writes: () => api.writes,
    stop: async () => {
      stopping = true;
      informer.stop();
      migrations.stop();
      instances.stop();
      migrationQueue.stop();
      // Let in-flight calls finish (bounded) before the connection pool closes under them.
      await Promise.race([Promise.all([instances.idle(), migrationQueue.idle()]), new Promise(r => setTimeout(r, 3000).unref())]);
      if (!opts.client) await client.close();
    },
  };
}
