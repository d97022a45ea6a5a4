// What the operator needs around Pepr when it runs as installed (the Deployments in config/ and
// the chart set the environment): the serving certificate from its Secret with reload on renewal,
// the watcher's leader election, and the probes. Locally (hack/run-operator.ts) none of the
// VMNET_TLS_MODE / VMNET_LEADER_ELECTION variables is set and Pepr reads its files as before.
import crypto from "node:crypto";
import os from "node:os";
import { operator, Operator } from "../controllers/operator";
import { KubeClient } from "../k8s/client";
import { errorText } from "../k8s/errors";
import { DEFAULT_TIMING, LeaseElector } from "../k8s/lease";
import { logger } from "../log";
import { leader, leaderTransitions, serveMetrics, tlsExpiry, tlsReloads } from "../metrics";
import { captureHttpsServers, reloadCertificate } from "../tls/server";
import { TlsManager, TlsMode } from "../tls/manager";
import { Health, onNeverPassing, peprRoutesBound } from "./health";
import type { ShutdownTiming } from "./shutdown";

const log = logger("runtime");

export interface RuntimeEnv {
  namespace: string;
  podName: string;
  tlsMode?: TlsMode;
  tlsSecret: string;
  services: string[];
  webhookConfigs: string[];
  certDir: string;
  tlsCheckSeconds: number;
  leaderElection: boolean;
  leaseName: string;
  metricsPort: number;
  webhookPort: number;
  /** How long Pepr may take to bind its routes before the process exits to be restarted. */
  peprStartSeconds: number;
  /** SIGTERM on an admission pod (./shutdown.ts): serving on while the endpoint removal spreads, then the drain's bound. */
  shutdown: ShutdownTiming;
}

/** A setting that must name one of a few values: refuses a typo instead of running unprotected. */
export class InvalidSettingError extends Error {
  constructor(name: string, value: string, allowed: string[]) {
    super(`${name}=${value}: expected one of ${allowed.join(", ")}`);
    this.name = "InvalidSettingError";
  }
}

export function runtimeEnv(env: NodeJS.ProcessEnv = process.env): RuntimeEnv {
  return {
    namespace: env.POD_NAMESPACE ?? "pepr-system",
    podName: env.POD_NAME ?? `${os.hostname()}-${crypto.randomBytes(3).toString("hex")}`,
    ...tlsEnv(env),
    leaderElection: env.VMNET_LEADER_ELECTION === "true",
    leaseName: env.VMNET_LEASE_NAME ?? "vmnet-operator-watcher",
    metricsPort: Number(env.VMNET_METRICS_PORT ?? 9464),
    webhookPort: Number(env.VMNET_WEBHOOK_PORT ?? 3000),
    peprStartSeconds: Number(env.VMNET_PEPR_START_SECONDS ?? 90),
    shutdown: shutdownTiming(env),
  };
}

function shutdownTiming(env: NodeJS.ProcessEnv): ShutdownTiming {
  return {
    endpointDelayMs: 1000 * Number(env.VMNET_SHUTDOWN_DELAY_SECONDS ?? 5),
    // Longer than the webhooks' timeout (10 s): a request still open after that is one the API server gave up on.
    drainMs: 1000 * Number(env.VMNET_DRAIN_SECONDS ?? 12),
  };
}

type TlsEnv = Pick<RuntimeEnv, "tlsMode" | "tlsSecret" | "services" | "webhookConfigs" | "certDir" | "tlsCheckSeconds">;

/** The serving certificate's settings; an unknown VMNET_TLS_MODE is refused. */
function tlsEnv(env: NodeJS.ProcessEnv): TlsEnv {
  const mode = env.VMNET_TLS_MODE;
  if (mode !== undefined && mode !== "" && mode !== "self-managed" && mode !== "cert-manager")
    throw new InvalidSettingError("VMNET_TLS_MODE", mode, ["self-managed", "cert-manager"]);
  return {
    tlsMode: mode ? mode : undefined,
    tlsSecret: env.VMNET_TLS_SECRET ?? "vmnet-operator-tls",
    services: listSetting(env.VMNET_TLS_SERVICES, "vmnet-operator"),
    webhookConfigs: listSetting(env.VMNET_WEBHOOK_CONFIGURATIONS, "vmnet-operator"),
    certDir: env.VMNET_CERT_DIR ?? "/tmp/vmnet-certs",
    tlsCheckSeconds: Number(env.VMNET_TLS_CHECK_SECONDS ?? 300),
  };
}

/** A comma-separated setting, `fallback` when unset. */
function listSetting(value: string | undefined, fallback: string): string[] {
  return (value ?? fallback)
    .split(",")
    .map(s => s.trim())
    .filter(Boolean);
}

/**
 * Everything before Pepr may start its server: the certificate files it reads, the handle on its
 * server for reloads, the operator (behind the Lease in the watcher), metrics and probes. Returns
 * once Pepr can be started, with the probes' Health (the admission front server adds its own check).
 */
export async function startRuntime(env: RuntimeEnv = runtimeEnv()): Promise<Health> {
  const health = new Health();
  const op = startOperator(env);
  health.addReadiness("caches", async () => (await Promise.race([op, Promise.resolve(undefined)]))?.synced === true);
  const routes = peprRoutesBound(env.webhookPort);
  health.addReadiness("pepr-routes", routes);
  if (env.metricsPort > 0)
    serveMetrics(env.metricsPort, health.routes()).on("error", err =>
      log.error(`metrics server on port ${env.metricsPort}: ${err.message}`),
    );
  if (env.tlsMode) await startTls(env);
  // The clock starts when Pepr starts (right after this returns), not before the certificate
  // wait: on a starved node the start up to here took 80 s, and the watchdog killed healthy pods.
  onNeverPassing(routes, env.peprStartSeconds * 1000, () => {
    log.error(
      `Pepr has not bound its routes within ${env.peprStartSeconds} s of its start (a lost race creating its PeprStore leaves it so): exiting to be restarted`,
    );
    process.exit(1);
  });
  return health;
}

function startOperator(env: RuntimeEnv): Promise<Operator | undefined> {
  if (!env.leaderElection) return operator().catch(logStartFailure);
  let acquired!: () => void;
  const leadership = { acquired: new Promise<void>(r => (acquired = r)) };
  void KubeClient.fromDefault(2).then(client => {
    client.maxAttempts = 1; // a renewal must not outlive the renew deadline in retries
    const lease = `${env.namespace}/${env.leaseName}`;
    leader.set({ lease }, 0);
    const elector = new LeaseElector(
      client,
      env.leaseName,
      env.namespace,
      env.podName,
      {
        onStartedLeading: () => {
          log.info({ lease, identity: env.podName }, `became the leader (Lease ${lease}): reconciling`);
          leader.set({ lease }, 1);
          leaderTransitions.inc({ lease, to: "leader" });
          acquired();
        },
        onStoppedLeading: reason => {
          leader.set({ lease }, 0);
          leaderTransitions.inc({ lease, to: "follower" });
          if (reason === "released") return log.info({ lease }, "released the leader Lease on shutdown");
          // Like controller-runtime: a leader that lost its Lease exits; the Deployment restarts it as a follower.
          log.error({ lease }, `lost the leader Lease (${reason}): exiting so that only one watcher writes`);
          process.exit(1);
        },
        onNewLeader: holder => log.info({ lease, holder }, `the leader is ${holder}: following (caches warm, no writes)`),
        onError: message => log.warn(message),
      },
      DEFAULT_TIMING,
    );
    releaseOnShutdown(elector);
    void elector.run();
  });
  return operator({ leadership }).catch(logStartFailure);
}

function logStartFailure(err: unknown): undefined {
  log.error(`operator failed to start: ${errorText(err)}`);
  return undefined;
}

/**
 * SIGTERM (rolling update, drain): hand the Lease over at once instead of making the next leader
 * wait out its duration. Pepr's own SIGTERM handler exits when its server closed, so the exit
 * waits (bounded) for the release.
 */
function releaseOnShutdown(elector: LeaseElector): void {
  let releasing: Promise<void> | undefined;
  process.prependListener("SIGTERM", () => {
    releasing ??= Promise.race([elector.stop(), new Promise<void>(r => setTimeout(r, 3000))]);
  });
  const exit = process.exit.bind(process);
  process.exit = ((code?: number) => {
    if (!releasing) return exit(code);
    void releasing.finally(() => exit(code));
    return undefined as never;
  }) as typeof process.exit;
}

async function startTls(env: RuntimeEnv): Promise<void> {
  const client = await KubeClient.fromDefault(2);
  const tls = new TlsManager(client, {
    mode: env.tlsMode!,
    namespace: env.namespace,
    secret: env.tlsSecret,
    services: env.services,
    webhookConfigs: env.webhookConfigs,
    certDir: env.certDir,
    checkSeconds: env.tlsCheckSeconds,
  });
  // Pepr reads the files once, at start: wait for a certificate (cert-manager may not have issued it yet).
  let pair: { key: string; cert: string } | undefined;
  for (let attempt = 1; !pair; attempt++) {
    try {
      pair = await tls.current();
    } catch (err) {
      if (attempt === 1 || attempt % 10 === 0) log.warn(`no serving certificate yet (retrying): ${errorText(err)}`);
      await new Promise(r => setTimeout(r, Math.min(5000, 250 * attempt)));
    }
  }
  const { keyPath, certPath } = tls.writeFiles(pair);
  process.env.SSL_KEY_PATH = keyPath;
  process.env.SSL_CERT_PATH = certPath;
  noteExpiry(pair.cert);
  captureHttpsServers();
  tls.watch(renewed => {
    const servers = reloadCertificate(renewed.key, renewed.cert);
    tlsReloads.inc();
    noteExpiry(renewed.cert);
    log.info({ servers }, "serving a renewed certificate (no restart)");
  });
}

function noteExpiry(pem: string): void {
  tlsExpiry.set(Date.parse(new crypto.X509Certificate(pem).validTo) / 1000);
}
