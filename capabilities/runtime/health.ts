// The probes, on the plain-HTTP metrics port. Readiness: every registered check passes (the
// caches are filled by a List, Pepr bound its routes, a certificate is served). Liveness: the
// process answers at all, i.e. its event loop turns; it never depends on the API server, so an
// API server outage makes pods unready, not restarted.
import https from "node:https";
import type { Route } from "../metrics";

export type Check = () => boolean | Promise<boolean>;

export class Health {
  readonly #checks = new Map<string, Check>();
  #stopping = false;

  /** The pod is asked to stop (SIGTERM): unready from now on, whatever the checks say. */
  stopping(): void {
    this.#stopping = true;
  }

  /** A named readiness condition. */
  addReadiness(name: string, check: Check): void {
    this.#checks.set(name, check);
  }

  /** The names of the readiness checks that fail now. */
  async failing(): Promise<string[]> {
    if (this.#stopping) return ["stopping"];
    const results = await Promise.all(
      [...this.#checks].map(async ([name, check]) => {
        try {
          return (await check()) ? undefined : name;
        } catch {
          return name;
        }
      }),
    );
    return results.filter((n): n is string => n !== undefined);
  }

  routes(): Record<string, Route> {
    return {
      "/livez": (_req, res) => void res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n"),
      "/readyz": (_req, res) => {
        this.failing()
          .then(failing => {
            if (failing.length) res.writeHead(503, { "Content-Type": "text/plain" }).end(`not ready: ${failing.join(", ")}\n`);
            else res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
          })
          .catch(err => res.writeHead(500).end(String(err)));
      },
    };
  }
}

/**
 * True once Pepr's server answers /healthz on the port: Pepr binds /healthz and the admission
 * routes together, only after its store is read. Sticky: routes are never unbound.
 */
export function peprRoutesBound(port: number): Check {
  let bound = false;
  return () =>
    bound ||
    new Promise<boolean>(resolve => {
      const req = https.get({ host: "127.0.0.1", port, path: "/healthz", rejectUnauthorized: false, timeout: 2000 }, res => {
        res.resume();
        bound = res.statusCode === 200;
        resolve(bound);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
    });
}

/**
 * Calls `giveUp` when `check` has not passed within `deadlineMs`. Pepr 1.1.4 binds its routes only
 * after its PeprStore exists; when two replicas start together, both find none, both apply one, and
 * the loser's apply fails with a field-manager conflict that Pepr logs and never retries
 * ("Failed to create Pepr store"), so it would stay unready for ever. Exiting lets the kubelet
 * restart the container, which then finds the store.
 */
export function onNeverPassing(check: Check, deadlineMs: number, giveUp: () => void, everyMs = 2000): () => void {
  const deadline = Date.now() + deadlineMs;
  const timer = setInterval(() => {
    void Promise.resolve(check()).then(ok => {
      if (ok) clearInterval(timer);
      else if (Date.now() >= deadline) {
        clearInterval(timer);
        giveUp();
      }
    });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
