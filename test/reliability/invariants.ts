// The invariant checker every reliability scenario (and the soak, and end-to-end churn runs) ends
// with. Its pure core lives in capabilities/audit/invariants.ts (`kubectl vmnet check` runs the
// same checks); here it runs on the reference model of test/reference/ipam.ts, not
// capabilities/ipam, so the oracle does not share the code under test's mistakes.
import type { IPAllocation } from "../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../capabilities/api/ippool-v1alpha1";
import { findProblems as auditProblems, InvariantOptions, InvariantReport, Snapshot } from "../../capabilities/audit/invariants";
import type { AddressRules } from "../../capabilities/audit/rules";
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";
import { inCidr, refMac, refParse, refWhyNot, sameIP } from "../reference/ipam";

export type { InvariantOptions, InvariantReport, Snapshot };

/** The reference model's rules, independent of capabilities/ipam. */
export const referenceRules: AddressRules = { parse: refParse, inCidr, sameIP, whyNot: refWhyNot, mac: refMac };

/** The checks on one listing, on the reference rules; pure, so it is unit- and mutation-tested apart from any cluster. */
export function findProblems(s: Snapshot, opts: InvariantOptions): InvariantReport {
  return auditProblems(s, opts, referenceRules);
}

/** Lists what the checker reads from the API server. */
export async function snapshot(client: KubeClient, namespace: string): Promise<Snapshot> {
  const [claims, allocations, pools, vms] = await Promise.all([
    client.list<IPClaim>(Kinds.IPClaim),
    client.list<IPAllocation>(Kinds.IPAllocation),
    client.list<IPPool>(Kinds.IPPool),
    client.list<KubeObject>(Kinds.VirtualMachine, { namespace }),
  ]);
  return { claims: claims.items, allocations: allocations.items, pools: pools.items, vms: vms.items };
}

export async function checkInvariants(client: KubeClient, opts: InvariantOptions): Promise<InvariantReport> {
  return findProblems(await snapshot(client, opts.namespace), opts);
}

/** The problems alone (empty when every invariant holds). */
export async function invariantProblems(client: KubeClient, opts: InvariantOptions): Promise<string[]> {
  return (await checkInvariants(client, opts)).problems;
}

/** Thrown by `settle` when the invariants still do not hold at its deadline; carries the last report. */
export class InvariantsUnsettled extends Error {
  constructor(
    readonly report: InvariantReport,
    readonly waitedMs: number,
    what: string,
  ) {
    super(
      `invariants did not hold after ${waitedMs} ms waiting for ${what}: ${report.problems.length} problem(s):\n${report.problems.slice(0, 10).join("\n")}`,
    );
    this.name = "InvariantsUnsettled";
  }
}

const describeWait = (opts: InvariantOptions): string =>
  `namespace ${opts.namespace}, pools ${opts.pools.join(",")}${opts.expectBound !== undefined ? `, ${opts.expectBound} bound claims` : ""}`;

/**
 * Polls until the invariants hold (the operator settles asynchronously) and returns that clean
 * report; throws InvariantsUnsettled with the last report when they still fail at the deadline.
 */
export async function settle(client: KubeClient, opts: InvariantOptions, timeoutMs = 60_000): Promise<InvariantReport> {
  const started = Date.now();
  let report = await checkInvariants(client, opts);
  let told = false;
  while (report.problems.length) {
    if (Date.now() - started >= timeoutMs) throw new InvariantsUnsettled(report, Date.now() - started, describeWait(opts));
    await new Promise(r => setTimeout(r, 500));
    report = await checkInvariants(client, opts);
    if (!told && Date.now() - started > 15_000 && report.problems.length) {
      told = true; // a slow settle is worth seeing even when it ends well
      console.log(`      still settling after 15 s: ${report.problems.slice(0, 3).join("; ")}`);
    }
  }
  return report;
}
