// Pool controller: status recounted from IPAllocation records every time (never a running
// counter, which drifts), Ready from the pool's spec and its networks' NADs, Exhausted when full.
import type { IPPool } from "../api/ippool-v1alpha1";
import { nadPoolReadiness } from "../domain/nad-readiness";
import { conflictLoss } from "../domain/pool-conflicts";
import { KubeApi } from "../k8s/client";
import { isNotFound } from "../k8s/errors";
import { Kinds } from "../k8s/kinds";
import { ClusterView } from "./cluster-view";
import { done, KeyOf, Result } from "./reconcile";
import { Condition, setCondition } from "./render";

export interface PoolStatus {
  capacity: number;
  allocated: number;
  available: number;
  observedGeneration?: number;
  conditions: Condition[];
}

export class PoolController {
  constructor(
    private readonly client: KubeApi,
    private readonly view: ClusterView,
  ) {}

  async reconcile({ name }: KeyOf<"pool">): Promise<Result> {
    const pool = this.view.caches.pools.get(name);
    if (!pool) {
      this.view.forgetPool(name);
      return done;
    }
    const status = this.desiredStatus(pool);
    if (sameStatus(pool.status as PoolStatus | undefined, status)) return done;
    try {
      const updated = await this.client.mergePatch<IPPool>(Kinds.IPPool, name, undefined, { status }, "status");
      this.view.caches.pools.upsert(updated);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return done;
  }

  desiredStatus(pool: IPPool, now = new Date().toISOString()): PoolStatus {
    const name = pool.metadata!.name as string;
    const state = this.view.poolState(name);
    const allocated = this.view.allocationCount(name);
    const capacity = safeNumber(state?.layout?.capacity ?? 0n);
    const generation = pool.metadata?.generation as number | undefined;
    const prev = (pool.status as PoolStatus | undefined)?.conditions;
    const conditions = setCondition(
      setCondition(prev, this.#ready(pool, state?.error, generation), now),
      exhausted(capacity, allocated, generation),
      now,
    );
    return { capacity, allocated, available: Math.max(0, capacity - allocated), observedGeneration: generation, conditions };
  }

  /** Ready, or why not: the spec cannot be laid out, another pool wins its addresses, or a network is not ready. */
  #ready(pool: IPPool, specError: string | undefined, generation: number | undefined): ConditionInput {
    const conflict = specError ? undefined : conflictLoss(pool, this.view);
    const notReady = specError ?? conflict ?? this.#networkProblem(pool);
    if (!notReady)
      return {
        type: "Ready",
        status: "True",
        reason: "Ready",
        message: "the pool and its networks can serve addresses",
        observedGeneration: generation,
      };
    const reason = specError ? "InvalidSpec" : conflict ? "Conflict" : "NetworkNotReady";
    return { type: "Ready", status: "False", reason, message: notReady, observedGeneration: generation };
  }

  /** Why a network of the pool cannot carry fixed addresses, or undefined when all can. */
  #networkProblem(pool: IPPool): string | undefined {
    const problems: string[] = [];
    for (const network of pool.spec?.networks ?? []) {
      const [ns, name] = network.split("/");
      const nad = this.view.nad(ns, name);
      if (!nad) {
        problems.push(`NetworkAttachmentDefinition ${network} does not exist`);
        continue;
      }
      const readiness = nadPoolReadiness(nad.spec?.config);
      if (!readiness.ready) problems.push(`NetworkAttachmentDefinition ${network}: ${readiness.reason}`);
    }
    return problems.length ? problems.join("; ") : undefined;
  }
}

function sameStatus(a: PoolStatus | undefined, b: PoolStatus): boolean {
  const view = (s: PoolStatus | undefined): string =>
    JSON.stringify([
      s?.capacity,
      s?.allocated,
      s?.available,
      s?.observedGeneration,
      (s?.conditions ?? []).map(c => [c.type, c.status, c.reason, c.message]),
    ]);
  return view(a) === view(b);
}

type ConditionInput = Omit<Condition, "lastTransitionTime">;

/** Exhausted when every address is allocated; else how many are free. Pure. */
function exhausted(capacity: number, allocated: number, generation: number | undefined): ConditionInput {
  if (capacity > 0 && allocated >= capacity) {
    return {
      type: "Exhausted",
      status: "True",
      reason: "NoFreeAddress",
      message: `all ${capacity} addresses are allocated: widen spec.ranges or free addresses`,
      observedGeneration: generation,
    };
  }
  return {
    type: "Exhausted",
    status: "False",
    reason: "FreeAddresses",
    message: `${Math.max(0, capacity - allocated)} addresses free`,
    observedGeneration: generation,
  };
}

/** A capacity as a status number: an IPv6 pool's can exceed what a JSON number holds exactly. */
function safeNumber(n: bigint): number {
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}
