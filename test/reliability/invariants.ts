// The invariant checker every reliability scenario ends with: no duplicate, missing or stale
// address; every bound claim has exactly its IPAllocations and every IPAllocation a live claim
// showing it; pool counts equal the records.
import type { IPAllocation } from "../../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../../capabilities/api/ippool-v1alpha1";
import { allocationName } from "../../capabilities/ipam/address";
import { KubeClient, KubeObject } from "../../capabilities/k8s/client";
import { Kinds } from "../../capabilities/k8s/kinds";

export interface InvariantReport {
  claims: number;
  bound: number;
  allocations: number;
  problems: string[];
}

const isBound = (c: IPClaim): boolean => c.status?.conditions?.some(x => x.type === "Bound" && x.status === "True") === true;

export async function checkInvariants(client: KubeClient, opts: { namespace: string; pools: string[]; expectBound?: number }): Promise<InvariantReport> {
  const [claims, allocs, pools, vms] = await Promise.all([
    client.list<IPClaim>(Kinds.IPClaim, { namespace: opts.namespace }),
    client.list<IPAllocation>(Kinds.IPAllocation),
    client.list<IPPool>(Kinds.IPPool),
    client.list<KubeObject>(Kinds.VirtualMachine, { namespace: opts.namespace }),
  ]);
  const problems: string[] = [];
  const mine = allocs.items.filter(a => opts.pools.includes(a.spec!.pool));
  const byName = new Map(mine.map(a => [a.metadata!.name as string, a]));
  const holders = new Map<string, string>();
  const claimNames = new Set(claims.items.map(c => c.metadata!.name as string));
  const vmNames = new Set(vms.items.map(v => v.metadata!.name as string));

  for (const c of claims.items) {
    const name = `${opts.namespace}/${c.metadata!.name}`;
    if (!isBound(c)) {
      if (vmNames.has(c.spec!.vm) && !(c.status as { released?: boolean })?.released) problems.push(`missing: ${name} is not Bound (${JSON.stringify(c.status?.conditions)})`);
      continue;
    }
    const pools = c.spec?.pools?.length ? c.spec.pools : [c.spec!.pool!];
    (c.status?.addresses ?? []).forEach((cidr, i) => {
      const address = cidr.split("/")[0];
      const key = `${pools[i]}/${address}`;
      if (holders.has(key)) problems.push(`duplicate: ${key} shown by ${holders.get(key)} and ${name}`);
      holders.set(key, name);
      const record = byName.get(allocationName(pools[i], address));
      if (!record) problems.push(`unrecorded: ${name} shows ${key} without an IPAllocation`);
      else if (record.spec!.claimRef.name !== c.metadata!.name || record.spec!.claimRef.namespace !== opts.namespace) {
        problems.push(`stale: ${key} is recorded for ${record.spec!.claimRef.namespace}/${record.spec!.claimRef.name}, shown by ${name}`);
      }
    });
  }
  for (const a of mine) {
    const ref = a.spec!.claimRef;
    if (ref.namespace !== opts.namespace) continue;
    const key = `${a.spec!.pool}/${a.spec!.address}`;
    if (!claimNames.has(ref.name)) problems.push(`leak: ${key} recorded for missing claim ${ref.namespace}/${ref.name}`);
    else if (holders.get(key) !== `${ref.namespace}/${ref.name}`) problems.push(`leak: ${key} recorded for ${ref.name}, which shows another address`);
  }
  for (const p of pools.items.filter(p => opts.pools.includes(p.metadata!.name as string))) {
    const count = mine.filter(a => a.spec!.pool === p.metadata!.name).length;
    if (p.status?.allocated !== count) problems.push(`count: pool ${p.metadata!.name} says allocated=${p.status?.allocated}, records say ${count}`);
  }
  const bound = claims.items.filter(isBound).length;
  if (opts.expectBound !== undefined && bound !== opts.expectBound) problems.push(`expected ${opts.expectBound} bound claims, found ${bound}`);
  return { claims: claims.items.length, bound, allocations: mine.length, problems };
}

/** Thrown by `settle` when the invariants still do not hold at its deadline; carries the last report. */
export class InvariantsUnsettled extends Error {
  constructor(
    readonly report: InvariantReport,
    readonly waitedMs: number,
    what: string,
  ) {
    super(`invariants did not hold after ${waitedMs} ms waiting for ${what}: ${report.problems.length} problem(s):\n${report.problems.slice(0, 10).join("\n")}`);
    this.name = "InvariantsUnsettled";
  }
}

const describeWait = (opts: Parameters<typeof checkInvariants>[1]): string =>
  `namespace ${opts.namespace}, pools ${opts.pools.join(",")}${opts.expectBound !== undefined ? `, ${opts.expectBound} bound claims` : ""}`;

/**
 * Polls until the invariants hold (the operator settles asynchronously) and returns that clean
 * report; throws InvariantsUnsettled with the last report when they still fail at the deadline.
 */
export async function settle(client: KubeClient, opts: Parameters<typeof checkInvariants>[1], timeoutMs = 60_000): Promise<InvariantReport> {
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
