// `kubectl vmnet check`: the invariant checker over a whole listing and the launcher pods compared
// with their VMs' claims (launcher-pods.ts), each problem with what to do, and the one repair that
// is safe to make without a person deciding (see safeFixes). Pure.
import type { IPAllocation } from "../api/ipallocation-v1alpha1";
import { findProblems, Snapshot } from "./invariants";
import { checkLauncherPods } from "./launcher-pods";
import { AddressRules, ipamRules } from "./rules";

/** The kinds of problem findProblems reports, each with what the user should do about it. */
export const ADVICE: Record<string, string> = {
  missing: "the operator has not bound this NIC: run `kubectl vmnet why VM -n NAMESPACE` for the reason",
  empty: "the claim is Bound without its addresses or MAC: delete the IPClaim and restart the VM to re-address it",
  orphan: "the VM is gone: the operator's garbage sweep frees the claim after its grace period; delete the IPClaim to free it now",
  outside: "the pool changed under the claim: delete the IPClaim and restart the VM to re-address it",
  reserved: "the address is no longer one the pool may hand out: delete the IPClaim and restart the VM to re-address it",
  duplicate: "two NICs show one address (or MAC): stop one of the VMs, delete its IPClaim and start it again to re-address it",
  mac: "the MAC differs from the rules: delete the IPClaim and restart the VM (or set macAddress in the VM spec)",
  gateway: "the pool's gateway changed: restart the VM so its claim is re-rendered",
  unpooled:
    "the claim names no pool, so nothing protects its addresses from being handed out twice: delete the IPClaim and restart the VM to re-address it",
  unrecorded: "nothing protects this address from being handed out twice: restart the operator (its rebuild records every bound address)",
  mismatch: "a record disagrees with its name: delete that IPAllocation after checking which claim holds the address",
  stale: "the address is recorded for another claim: check both claims, then delete the IPAllocation of the one that should not hold it",
  leak: "an address is recorded for a claim that no longer holds it: `kubectl vmnet check --fix` deletes it when the claim is gone",
  count:
    "a pool's status.allocated drifted from its records: the pool controller recounts on its next pass; restart the operator if it stays",
  "pod-address":
    "the pod's interface may use an address its VM's claim does not hold (another NIC's, on the wire): restart the VM so a new launcher pod gets the claim's addresses (stop it first if the address belongs to another VM)",
  "pod-mac": "the pod's interface has another MAC than its claim: restart the VM so a new launcher pod gets the claim's MAC",
  expected: "not the expected number of bound claims",
};

export interface Finding {
  kind: string;
  message: string;
  advice: string;
}

/** Splits "kind: message" as findProblems words it and adds the advice of its kind. */
export function toFinding(problem: string): Finding {
  const colon = problem.indexOf(": ");
  const kind = colon > 0 ? problem.slice(0, colon) : "problem";
  const message = colon > 0 ? problem.slice(colon + 2) : problem;
  return { kind, message, advice: ADVICE[kind] ?? "inspect the objects named" };
}

export interface CheckScope {
  /** Check only this namespace's VMs and claims and the pools they use; undefined: every namespace. */
  namespace?: string;
}

const namespaceOf = (o: { metadata?: { namespace?: string } }): string => o.metadata?.namespace ?? "";

/** Pools that serve a network of the namespace or that one of its claims names. */
function poolsOf(s: Snapshot, namespace: string): string[] {
  const named = new Set(
    s.claims.filter(c => namespaceOf(c) === namespace).flatMap(c => [...(c.spec?.pools ?? []), ...(c.spec?.pool ? [c.spec.pool] : [])]),
  );
  for (const p of s.pools) if (p.spec?.networks?.some(n => n.startsWith(`${namespace}/`))) named.add(p.metadata?.name as string);
  return [...named].filter(p => s.pools.some(x => x.metadata?.name === p)).sort();
}

/**
 * Every problem of the listing (vms of every namespace checked), deduplicated: checks of records
 * and counts reach across namespaces and would repeat once per namespace otherwise.
 */
export function checkSnapshot(s: Snapshot, scope: CheckScope, rules: AddressRules = ipamRules): Finding[] {
  const namespaces = scope.namespace !== undefined ? [scope.namespace] : [...new Set([...s.vms, ...s.claims].map(namespaceOf))].sort();
  const problems = new Set<string>();
  const allPools = s.pools.map(p => p.metadata?.name as string);
  for (const namespace of namespaces.length ? namespaces : [""]) {
    const pools = scope.namespace !== undefined ? poolsOf(s, namespace) : allPools;
    const vms = s.vms.filter(v => namespaceOf(v) === namespace);
    for (const p of findProblems({ ...s, vms }, { namespace, pools }, rules).problems) problems.add(p);
  }
  const pods = (s.pods ?? []).filter(p => scope.namespace === undefined || namespaceOf(p) === scope.namespace);
  for (const p of checkLauncherPods({ pods, claims: s.claims, pools: s.pools }, rules)) problems.add(p);
  return [...problems].map(toFinding);
}

/**
 * The repairs `--fix` makes: deleting IPAllocations whose claim no longer exists at all. Safe,
 * because no live NIC can be using the address (a record for a claim that exists but shows
 * another address is left alone: the claim may be mid-rebind). The caller must confirm each
 * claim is still absent with a live read and delete with the record's uid as precondition.
 */
export function safeFixes(s: Snapshot, scope: CheckScope): IPAllocation[] {
  const claims = new Set(s.claims.map(c => `${namespaceOf(c)}/${c.metadata?.name}`));
  return s.allocations.filter(a => {
    const ref = a.spec?.claimRef;
    if (!ref || (scope.namespace !== undefined && ref.namespace !== scope.namespace)) return false;
    return !claims.has(`${ref.namespace}/${ref.name}`);
  });
}
