// The pools the VM controller binds a NIC's claim to: pool-choice.ts's rule (the same the VM
// webhook checks) applied to the VM's vmnet.io/pools annotation and the claim it already has.
// A NIC that holds addresses keeps their pools whatever the annotation now says (the webhook
// refuses such a change; this keeps an address from moving under a running VM when the webhook
// was down). Pure.
import type { VirtualMachine } from "../api/external/kubevirt";
import { nicPools, PoolProblem, PoolSnapshot } from "../domain/pool-choice";
import { poolName } from "../domain/pool-view";
import type { ClaimHolding } from "../domain/snapshot";
import { poolChoicesOf, POOLS_ANNOTATION, PoolsParse } from "../domain/vm-pools";
import type { BindOutcome } from "./binder";
import { BridgeNic, claimName } from "./render";

export interface PoolsSource extends PoolSnapshot {
  claimHolding(namespace: string, claim: string): ClaimHolding | undefined;
}

export interface NicPlan {
  /** Pool names, one per family, IPv4 first; empty when `unbound` says why. */
  pools: string[];
  unbound?: Extract<BindOutcome, { bound: false }>;
}

/** The VM's pool choices; an annotation that does not parse leaves every NIC without a choice and says why. */
export function poolChoices(vm: VirtualMachine): PoolsParse {
  return poolChoicesOf(vm.metadata?.annotations);
}

const CHOICE_PROBLEMS: readonly PoolProblem["kind"][] = ["unknown", "not-serving", "family-twice"];

/** The pools of one bridge NIC, or undefined when no pool serves its network (it gets no claim). */
export function planNic(vm: VirtualMachine, nic: BridgeNic, choices: PoolsParse, view: PoolsSource): NicPlan | undefined {
  const namespace = vm.metadata!.namespace!;
  const held = view.claimHolding(namespace, claimName(vm.metadata!.name!, nic.interface))?.pools;
  const chosen = choices.ok ? choices.choices.get(nic.interface) : undefined;
  const r = nicPools({ network: nic.network, namespace, chosen, held }, view);
  if (!r.poolBacked) return undefined;
  if (r.kept) return { pools: r.kept.map(poolName) };
  const pools = r.pools.map(poolName);
  // A choice that does not parse is never served from the default (the owner meant another pool),
  // but a NIC that holds addresses of the default keeps them.
  const holdsThese = held !== undefined && held.length === pools.length && held.every(h => pools.includes(h));
  if (!choices.ok && !holdsThese)
    return { pools: [], unbound: { bound: false, reason: "InvalidRequest", message: `annotation ${POOLS_ANNOTATION} ${choices.message}` } };
  if (pools.length) return { pools };
  const problem = r.problems[0];
  const reason = CHOICE_PROBLEMS.includes(problem.kind) ? "InvalidRequest" : "NetworkNotReady";
  return { pools, unbound: { bound: false, reason, message: problem.message } };
}
