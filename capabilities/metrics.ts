// Prometheus metrics at /metrics (prom-client): allocations, pool capacity and use, allocation and
// webhook latency, work queue depth and watch staleness. Served on their own port together with
// Pepr's own metrics (Pepr keeps its registry private).
import http from "node:http";
import { metricsCollector } from "pepr";
import client from "prom-client";

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry }); // process RSS, heap, event loop lag

export const apiWrites = new client.Counter({
  name: "vmnet_api_writes_total",
  help: "Writes the operator sent to the API server, by verb and kind",
  labelNames: ["verb", "kind"],
  registers: [registry],
});

export const allocations = new client.Counter({
  name: "vmnet_allocations_total",
  help: "IPAllocation create attempts by pool and result (created, taken, adopted, error)",
  labelNames: ["pool", "result"],
  registers: [registry],
});

export const bindDuration = new client.Histogram({
  name: "vmnet_allocation_duration_seconds",
  help: "Time to bind one IPClaim (all its pools) including API writes",
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const webhookDuration = new client.Histogram({
  name: "vmnet_webhook_duration_seconds",
  help: "Time spent in our admission handlers, by handler",
  labelNames: ["handler"],
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
  registers: [registry],
});

export const apiRetries = new client.Counter({
  name: "vmnet_api_retries_total",
  help: "API answers retried with backoff, by HTTP status (429 overload, 5xx, 0 for a failed connection)",
  labelNames: ["status"],
  registers: [registry],
});

/** Gauges computed at scrape time from the operator's view. */
export interface MetricsSource {
  pools(): { name: string; capacity: number; allocated: number }[];
  queueDepth(): number;
  /** IPClaims in the cache, bound and not. */
  claims(): { bound: number; unbound: number };
  /** Seconds since the last watch event or relist, per kind. */
  staleness(): Record<string, number>;
}

let source: MetricsSource | undefined;

new client.Gauge({
  name: "vmnet_pool_capacity",
  help: "Addresses a pool can hand out",
  labelNames: ["pool"],
  registers: [registry],
  collect() {
    this.reset();
    for (const p of source?.pools() ?? []) this.set({ pool: p.name }, p.capacity);
  },
});

new client.Gauge({
  name: "vmnet_pool_allocated",
  help: "Addresses of a pool held by IPAllocation records",
  labelNames: ["pool"],
  registers: [registry],
  collect() {
    this.reset();
    for (const p of source?.pools() ?? []) this.set({ pool: p.name }, p.allocated);
  },
});

new client.Gauge({
  name: "vmnet_claims",
  help: "IPClaims known to the operator, by state (bound, unbound)",
  labelNames: ["state"],
  registers: [registry],
  collect() {
    const c = source?.claims() ?? { bound: 0, unbound: 0 };
    this.set({ state: "bound" }, c.bound);
    this.set({ state: "unbound" }, c.unbound);
  },
});

new client.Gauge({
  name: "vmnet_queue_depth",
  help: "Reconcile keys waiting or backing off",
  registers: [registry],
  collect() {
    this.set(source?.queueDepth() ?? 0);
  },
});

new client.Gauge({
  name: "vmnet_watch_staleness_seconds",
  help: "Seconds since the last watch event or relist, per kind (a silent watch shows here, and is restarted)",
  labelNames: ["kind"],
  registers: [registry],
  collect() {
    this.reset();
    for (const [kind, seconds] of Object.entries(source?.staleness() ?? {})) this.set({ kind }, seconds);
  },
});

// --- leader election (install track): 1 while this process holds the watcher Lease ---
export const leader = new client.Gauge({
  name: "vmnet_leader",
  help: "1 while this watcher holds the leader Lease (only the leader reconciles), 0 otherwise",
  labelNames: ["lease"],
  registers: [registry],
});

export const leaderTransitions = new client.Counter({
  name: "vmnet_leader_transitions_total",
  help: "Times this process started or stopped leading",
  labelNames: ["lease", "to"],
  registers: [registry],
});

export const tlsReloads = new client.Counter({
  name: "vmnet_tls_reloads_total",
  help: "Serving certificates swapped into the running admission server without a restart",
  registers: [registry],
});

export const tlsExpiry = new client.Gauge({
  name: "vmnet_tls_cert_expiry_timestamp_seconds",
  help: "When the serving certificate in use expires (Unix time)",
  registers: [registry],
});
// --- end leader election and TLS ---

export function setMetricsSource(s: MetricsSource): void {
  source = s;
}

/** Measures an async function into a histogram. */
export async function timed<T>(histogram: client.Histogram<string>, labels: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const end = histogram.startTimer(labels);
  try {
    return await fn();
  } finally {
    end();
  }
}

/** The named metrics of our registry, one after the other (a metric's collect may set others: prom-client's CPU counters). */
async function singleMetrics(names: string[]): Promise<string> {
  const texts: string[] = [];
  for (const name of names) texts.push(await registry.getSingleMetricAsString(name));
  return texts.join("\n");
}

/** Extra plain-HTTP routes on the metrics port (the probes: /readyz, /livez). */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function serveMetrics(port: number, routes: Record<string, Route> = {}): http.Server {
  return http
    .createServer((req, res) => {
      const route = routes[(req.url ?? "").split("?")[0]];
      if (route) return route(req, res);
      const url = new URL(req.url ?? "/", "http://metrics");
      if (url.pathname !== "/metrics") {
        res.writeHead(404).end();
        return;
      }
      // Some of our metrics alone (`?name=vmnet_claims&name=...`, rendered in that order): what a
      // poller that reads one figure asks for, so polling it often does not render every metric
      // each time (the scale benchmark).
      const names = url.searchParams.getAll("name");
      if (names.length) {
        singleMetrics(names)
          .then(text => res.writeHead(200, { "Content-Type": registry.contentType }).end(text))
          .catch(err => res.writeHead(404).end(String(err)));
        return;
      }
      Promise.all([registry.metrics(), metricsCollector.getMetrics()])
        .then(([ours, pepr]) => res.writeHead(200, { "Content-Type": registry.contentType }).end(`${ours}\n${pepr}`))
        .catch(err => res.writeHead(500).end(String(err)));
    })
    .listen(port);
}
