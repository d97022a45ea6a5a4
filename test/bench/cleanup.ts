// Removes what the scale run left in the cluster before the next phase starts its own operator.
// Without it, that operator's first List holds the scale run's VMs and the ceiling's throwaway
// claims (whose statuses name addresses no allocation backs): it reconciles all of them at start,
// which delays the admission bench's own bind past its wait and puts thousands of writes inside
// the latency it measures (the full 1,000-VM run of 2026-12-02 18:20 failed that way).
import { KubeClient } from "../../capabilities/k8s/client";
import { isNotFound } from "../../capabilities/k8s/errors";
import { Kinds } from "../../capabilities/k8s/kinds";
import { pool } from "./scale";

/** The scale run's namespaces (their pools are `pool-<namespace>`). */
export const SCALE_NAMESPACES = ["bench-scale", "bench-ceiling"];

export async function removeScaleObjects(log: (s: string) => void, timeoutMs = 180_000): Promise<void> {
  const client = await KubeClient.fromDefault(32);
  try {
    const pools = new Set(SCALE_NAMESPACES.map(ns => `pool-${ns}`));
    const { items } = await client.list<{ metadata?: { name?: string }; spec?: { pool?: string } }>(Kinds.IPAllocation);
    const doomed = items.filter(a => pools.has(a.spec?.pool ?? "")).map(a => a.metadata!.name!);
    log(`removing the scale run's objects: ${doomed.length} IPAllocations, pools and namespaces ${SCALE_NAMESPACES.join(", ")}`);
    await pool(doomed, 32, name => ignoreNotFound(client.delete(Kinds.IPAllocation, name)));
    for (const p of pools) await ignoreNotFound(client.delete(Kinds.IPPool, p));
    for (const ns of SCALE_NAMESPACES) await ignoreNotFound(client.delete(Kinds.Namespace, ns));
    await gone(client, timeoutMs);
  } finally {
    await client.close();
  }
}

/** Waits until the namespace controller has deleted the namespaces (their VMs and claims with them). */
async function gone(client: KubeClient, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = [];
    for (const ns of SCALE_NAMESPACES) if (await client.getOrUndefined(Kinds.Namespace, ns)) left.push(ns);
    if (!left.length) return;
    if (Date.now() > deadline) throw new Error(`namespaces ${left.join(", ")} still there after ${timeoutMs / 1000} s`);
    await new Promise(r => setTimeout(r, 500));
  }
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
