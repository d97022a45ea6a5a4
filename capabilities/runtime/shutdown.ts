// SIGTERM on an admission pod, in the order a rollout needs. Kubernetes sends SIGTERM and removes
// the pod from the Service's endpoints at the same time, and the removal takes a while to reach
// every kube-proxy (and the API server's own connection pool keeps kept-alive connections to the
// pod regardless). Pepr 1.1.4's own SIGTERM handler closes its server and exits at once, so
// requests already on their way would meet a closed socket: the launcher-pod webhook fails closed,
// and the API server answered those pod creates with `internal error`. Here:
//   1. readiness turns false at once (the probe, and whatever else reads /readyz, stops sending);
//   2. every answer from now on closes its connection, so the API server's kept-alive
//      connections leave this pod after their next answer;
//   3. the front server keeps serving for `endpointDelayMs`, while the endpoint removal spreads;
//   4. it stops accepting and waits for the requests in flight (at most `drainMs`);
//   5. only then Pepr's own handler runs: its server closes and the process exits.
// The pod's terminationGracePeriodSeconds (hack/install/objects.ts) covers 3 + 4 with room.
import type { AdmissionServer } from "../webhook-server/server";
import { errorText } from "../k8s/errors";
import { logger } from "../log";

const log = logger("shutdown");

export interface ShutdownTiming {
  endpointDelayMs: number;
  drainMs: number;
}

/**
 * Calls `start` (which registers Pepr's SIGTERM listeners) and takes those listeners over: on
 * SIGTERM they run only after `first` has settled. A second SIGTERM changes nothing.
 */
export function runFirstOnSigterm(start: () => void, first: () => Promise<void>): void {
  const before = new Set(process.listeners("SIGTERM"));
  start();
  const theirs = process.listeners("SIGTERM").filter(l => !before.has(l));
  for (const l of theirs) process.removeListener("SIGTERM", l);
  let started = false;
  process.on("SIGTERM", () => {
    if (started) return;
    started = true;
    void first()
      .catch(err => log.error(`shutdown step failed: ${errorText(err)}`))
      .finally(() => {
        for (const l of theirs) l("SIGTERM");
      });
  });
}

/** Steps 1-4 above. `stopping` turns readiness false. */
export async function drainAdmission(front: AdmissionServer, stopping: () => void, t: ShutdownTiming): Promise<void> {
  const t0 = Date.now();
  stopping();
  front.beginClosing();
  log.info(`SIGTERM: unready, serving ${t.endpointDelayMs} ms more while the endpoint removal spreads`);
  await new Promise(r => setTimeout(r, t.endpointDelayMs));
  await front.drain(t.drainMs);
  log.info(`admission front server drained ${Date.now() - t0} ms after SIGTERM: stopping Pepr`);
}
