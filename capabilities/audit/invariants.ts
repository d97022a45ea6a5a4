// The invariant checker of the pools, shared by `kubectl vmnet check` and every reliability
// scenario (and the soak, and end-to-end churn runs). From one listing of claims, IPAllocations,
// pools and VMs it reports:
// - missing:   a VM's pool-backed bridge NIC without a Bound claim
// - empty:     a Bound claim showing no address, or not one address per pool, or no MAC
// - orphan:    a Bound claim whose VM is gone
// - outside:   a claim address inside none of its pools' CIDRs (addresses are matched to pools by
//              CIDR, never by list position)
// - reserved:  an address handed out that its pool never may hand out (gateway, excluded, outside
//              the ranges, network/broadcast), shown by a claim or recorded
// - duplicate: one address of a pool shown by two claims; one MAC shown by two claims of a pool
// - mac / gateway: a claim's MAC or gateway differing from what the rules give
// - unpooled:  a Bound claim of the namespace naming no pool (spec.pool/pools may be empty when no
//              pool serves the network, but then the claim is not Bound): no record can back it
// - unrecorded / mismatch / stale: a claim address without its IPAllocation, a record whose spec
//              disagrees with its name or the claim, a record for another claim (or incarnation)
// - leak:      an IPAllocation whose claim is gone or shows another address
// - count:     pool status.allocated differing from the records; a pool asked for but not listed
// - expected:  not the expected number of Bound claims
// The address rules come in as a parameter: `kubectl vmnet check` passes capabilities/ipam's
// (ipamRules), the tests pass the reference model of test/reference/ipam.ts so their oracle does
// not share the allocator's mistakes. Pure: one listing in, findings out.
import type { IPAllocation } from "../api/ipallocation-v1alpha1";
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import type { IPPool } from "../api/ippool-v1alpha1";
import { allocationName } from "../ipam/address";
import type { KubeObject } from "../k8s/client";
import { AddressRules, ipamRules } from "./rules";
import { hasBoundCondition } from "../domain/claims";
import { bridgeNics, vmNics } from "../domain/vm-nics";

export interface InvariantReport {
  claims: number;
  bound: number;
  allocations: number;
  problems: string[];
}

export interface InvariantOptions {
  /** The namespace whose VMs and claims are checked. */
  namespace: string;
  /** The pools whose records are checked; addresses of other pools are out of scope. */
  pools: string[];
  expectBound?: number;
}

/** Everything the checker reads, as listed from the API server. */
export interface Snapshot {
  /** Claims of every namespace (records and duplicates reach across namespaces). */
  claims: IPClaim[];
  allocations: IPAllocation[];
  pools: IPPool[];
  /** VirtualMachines of opts.namespace. */
  vms: KubeObject[];
  /** virt-launcher pods, for `kubectl vmnet check` (launcher-pods.ts); findProblems does not read them. */
  pods?: KubeObject[];
}

interface Held {
  owner: string; // namespace/name
  claim: IPClaim;
  bound: boolean;
  /** pool -> address (no prefix), matched by CIDR. */
  byPool: Map<string, string>;
}

const isBound = (c: IPClaim): boolean => hasBoundCondition(c);
const isReleased = (c: IPClaim): boolean => (c.status as { released?: boolean } | undefined)?.released === true;
const ownerOf = (c: IPClaim): string => `${c.metadata?.namespace}/${c.metadata?.name}`;
const claimPools = (c: IPClaim): string[] => (c.spec?.pools?.length ? c.spec.pools : c.spec?.pool ? [c.spec.pool] : []);
const bare = (cidr: string): string => String(cidr).split("/")[0];

function safeAllocationName(pool: string, address: string): string | undefined {
  try {
    return allocationName(pool, address);
  } catch {
    return undefined;
  }
}

/** Matches each shown address to the claim's pool whose CIDR contains it (first unused one). */
function matchPools(c: IPClaim, pools: Map<string, IPPool>, problems: string[], r: AddressRules): Map<string, string> {
  const byPool = new Map<string, string>();
  for (const shown of c.status?.addresses ?? []) {
    const address = bare(shown);
    const pool = claimPools(c).find(p => !byPool.has(p) && pools.get(p) && r.inCidr(address, pools.get(p)!.spec!.cidr));
    if (pool) byPool.set(pool, address);
    else
      problems.push(
        `outside: ${ownerOf(c)} shows ${shown}, inside none of its pools' CIDRs (${claimPools(c)
          .map(p => `${p}=${pools.get(p)?.spec?.cidr ?? "not listed"}`)
          .join(", ")})`,
      );
  }
  return byPool;
}

/** Checks of one Bound claim on its own: shape, MAC, gateway, VM still there. */
function checkBoundClaim(c: IPClaim, pools: Map<string, IPPool>, vm: KubeObject | undefined, problems: string[], r: AddressRules): void {
  const name = ownerOf(c);
  checkAddressCount(c, name, problems);
  checkClaimMac(c, name, vm, problems, r);
  checkClaimGateway(c, name, pools, problems, r);
  if (!vm) problems.push(`orphan: ${name} is Bound but its VM ${c.spec?.vm} is gone`);
}

/** One address per pool. */
function checkAddressCount(c: IPClaim, name: string, problems: string[]): void {
  const addresses = c.status?.addresses ?? [];
  if (!addresses.length) problems.push(`empty: ${name} is Bound with no address`);
  else if (addresses.length !== claimPools(c).length)
    problems.push(
      `empty: ${name} is Bound with ${addresses.length} address(es) for ${claimPools(c).length} pool(s) (${claimPools(c).join(",")})`,
    );
}

/** The MAC of the VM spec when it sets one, else the one derived from the addresses. */
function checkClaimMac(c: IPClaim, name: string, vm: KubeObject | undefined, problems: string[], r: AddressRules): void {
  const addresses = c.status?.addresses ?? [];
  const specMac = vm ? vmNics(vm).find(n => n.name === c.spec?.interface)?.macAddress : undefined;
  const wantMac = specMac?.toLowerCase() ?? r.mac(addresses);
  if (!c.status?.mac) problems.push(`empty: ${name} is Bound with no MAC`);
  else if (wantMac && c.status.mac !== wantMac)
    problems.push(`mac: ${name} shows MAC ${c.status.mac} for ${addresses.join(",")}, expected ${wantMac}`);
}

/** The gateway of the first of the claim's pools that has one, or none. */
function checkClaimGateway(c: IPClaim, name: string, pools: Map<string, IPPool>, problems: string[], r: AddressRules): void {
  const gateway = claimPools(c)
    .map(p => pools.get(p)?.spec?.gateway)
    .find(g => g !== undefined);
  const shownGateway = c.status?.gateway;
  if (gateway !== undefined && (shownGateway === undefined || !r.sameIP(gateway, shownGateway)))
    problems.push(`gateway: ${name} shows gateway ${shownGateway}, its pool's is ${gateway}`);
  if (gateway === undefined && shownGateway !== undefined)
    problems.push(`gateway: ${name} shows gateway ${shownGateway}, its pools have none`);
}

/** Every pool-backed bridge NIC of a live VM has a Bound (or, for a stopped VM, still Bound) claim. */
function checkVms(s: Snapshot, opts: InvariantOptions, claims: Map<string, IPClaim>, problems: string[]): void {
  const scoped = s.pools.filter(p => opts.pools.includes(p.metadata?.name as string));
  for (const vm of s.vms) {
    if (vm.metadata?.deletionTimestamp) continue;
    for (const nic of bridgeNics(vm)) {
      const network = nic.network;
      const pool = scoped.find(p => p.spec?.networks?.includes(network));
      if (!pool) continue;
      const claimName = `${vm.metadata?.name}.${nic.interface}`;
      const claim = claims.get(`${opts.namespace}/${claimName}`);
      if (!claim)
        problems.push(
          `missing: VM ${opts.namespace}/${vm.metadata?.name} NIC ${nic.interface} on ${network} (pool ${pool.metadata?.name}) has no IPClaim ${claimName}`,
        );
      else if (!isBound(claim))
        problems.push(`missing: ${opts.namespace}/${claimName} is not Bound (${JSON.stringify(claim.status?.conditions)})`);
    }
  }
}

/** Each address a claim holds: allowed in its pool, shown once, recorded for exactly this claim. */
function checkHeldAddresses(
  held: Held[],
  pools: Map<string, IPPool>,
  records: Map<string, IPAllocation>,
  problems: string[],
  r: AddressRules,
): void {
  const shownBy = new Map<string, string>();
  const macs = new Map<string, string>();
  for (const h of held) {
    for (const [pool, address] of h.byPool) {
      const key = `${pool}/${address}`;
      const ip = r.parse(address);
      const canonical = `${pool}/${ip?.family}:${ip?.value ?? address}`; // one key whatever the spelling
      if (shownBy.has(canonical)) problems.push(`duplicate: ${key} shown by ${shownBy.get(canonical)} and ${h.owner}`);
      shownBy.set(canonical, h.owner);
      const why = r.whyNot(pools.get(pool)!.spec!, address);
      if (why) problems.push(`reserved: ${h.owner} holds ${key}, which ${why} of pool ${pool}`);
      checkMacShownOnce(h, pool, macs, problems);
      checkRecordOf(h, pool, address, records, problems, r);
    }
  }
}

/** One MAC of a pool is shown by one claim; `macs` maps pool/MAC to the claim that showed it first. */
function checkMacShownOnce(h: Held, pool: string, macs: Map<string, string>, problems: string[]): void {
  const mac = h.claim.status?.mac;
  if (!mac) return;
  const macKey = `${pool}/${mac}`;
  if (macs.has(macKey) && macs.get(macKey) !== h.owner)
    problems.push(`duplicate: MAC ${mac} in pool ${pool} shown by ${macs.get(macKey)} and ${h.owner}`);
  macs.set(macKey, h.owner);
}

function checkRecordOf(
  h: Held,
  pool: string,
  address: string,
  records: Map<string, IPAllocation>,
  problems: string[],
  r: AddressRules,
): void {
  const key = `${pool}/${address}`;
  const name = safeAllocationName(pool, address);
  const record = name ? records.get(name) : undefined;
  if (!record) {
    problems.push(`unrecorded: ${h.owner} shows ${key} without an IPAllocation`);
    return;
  }
  const spec = record.spec!;
  if (spec.pool !== pool || !r.sameIP(spec.address, address))
    problems.push(`mismatch: IPAllocation ${name} of ${key} (${h.owner}) says pool ${spec.pool} address ${spec.address}`);
  const ref = spec.claimRef;
  if (`${ref.namespace}/${ref.name}` !== h.owner)
    problems.push(`stale: ${key} is recorded for ${ref.namespace}/${ref.name}, shown by ${h.owner}`);
  else if (ref.uid && h.claim.metadata?.uid && ref.uid !== h.claim.metadata.uid)
    problems.push(`stale: ${key} is recorded for an earlier ${h.owner} (uid ${ref.uid}, now ${h.claim.metadata.uid})`);
}

/** Each record of the pools: well named, an allowed address, held by the claim it names. */
function checkRecords(
  mine: IPAllocation[],
  pools: Map<string, IPPool>,
  holders: Map<string, Held>,
  problems: string[],
  r: AddressRules,
): void {
  for (const a of mine) {
    const spec = a.spec!;
    const key = `${spec.pool}/${spec.address}`;
    const name = a.metadata?.name as string;
    if (safeAllocationName(spec.pool, spec.address) !== name)
      problems.push(
        `mismatch: IPAllocation ${name} says ${key}, which names ${safeAllocationName(spec.pool, spec.address) ?? "no record"}`,
      );
    const pool = pools.get(spec.pool);
    const why = pool ? r.whyNot(pool.spec!, spec.address) : undefined;
    if (why) problems.push(`reserved: IPAllocation ${name} records ${key}, which ${why} of pool ${spec.pool}`);
    const owner = `${spec.claimRef.namespace}/${spec.claimRef.name}`;
    const holder = holders.get(owner);
    if (!holder) problems.push(`leak: ${key} recorded for missing (or not Bound) claim ${owner}`);
    else if (!r.sameIP(holder.byPool.get(spec.pool) ?? "", spec.address))
      problems.push(
        `leak: ${key} recorded for ${owner}, which shows ${[...holder.byPool].map(([p, x]) => `${p}/${x}`).join(",") || "no address"}`,
      );
  }
}

/** The checks on one listing; pure, so it is unit- and mutation-tested apart from any cluster. */
export function findProblems(s: Snapshot, opts: InvariantOptions, r: AddressRules = ipamRules): InvariantReport {
  const problems: string[] = [];
  const pools = new Map(s.pools.map(p => [p.metadata?.name as string, p]));
  for (const p of opts.pools) if (!pools.has(p)) problems.push(`count: pool ${p} is not listed`);
  const claims = new Map(s.claims.map(c => [ownerOf(c), c]));
  const held = heldClaims(s, opts, pools, problems, r);
  checkUnpooled(s, opts, problems);
  checkVms(s, opts, claims, problems);
  const records = new Map(s.allocations.map(a => [a.metadata?.name as string, a]));
  checkHeldAddresses(held, pools, records, problems, r);
  const mine = s.allocations.filter(a => opts.pools.includes(a.spec!.pool));
  checkRecords(mine, pools, new Map(held.map(h => [h.owner, h])), problems, r);
  checkPoolCounts(s, opts, mine, problems);
  const own = s.claims.filter(c => c.metadata?.namespace === opts.namespace);
  const bound = own.filter(isBound).length;
  if (opts.expectBound !== undefined && bound !== opts.expectBound)
    problems.push(`expected: ${opts.expectBound} bound claims in ${opts.namespace}, found ${bound} (of ${own.length} listed)`);
  return { claims: own.length, bound, allocations: mine.length, problems };
}

/**
 * The claims of the scoped pools that hold addresses: Bound, or released under reclaimPolicy
 * Retain (addresses kept). Each Bound one of the namespace is checked on its own on the way.
 */
function heldClaims(s: Snapshot, opts: InvariantOptions, pools: Map<string, IPPool>, problems: string[], r: AddressRules): Held[] {
  const vms = new Map(s.vms.map(v => [v.metadata?.name as string, v]));
  const inScope = (c: IPClaim): boolean => claimPools(c).some(p => opts.pools.includes(p));
  const held: Held[] = [];
  for (const c of s.claims.filter(x => inScope(x) && (isBound(x) || isReleased(x)))) {
    const h: Held = { owner: ownerOf(c), claim: c, bound: isBound(c), byPool: matchPools(c, pools, problems, r) };
    held.push(h);
    if (h.bound && c.metadata?.namespace === opts.namespace) checkBoundClaim(c, pools, vms.get(c.spec?.vm as string), problems, r);
  }
  return held;
}

/**
 * A Bound claim of the namespace that names no pool is in no pool's scope, so heldClaims skips it;
 * but the addresses it shows are exactly what no IPAllocation backs (records are per pool).
 */
function checkUnpooled(s: Snapshot, opts: InvariantOptions, problems: string[]): void {
  for (const c of s.claims.filter(x => x.metadata?.namespace === opts.namespace && isBound(x) && !claimPools(x).length)) {
    const shown = c.status?.addresses?.join(",") || "no address";
    problems.push(`unpooled: ${ownerOf(c)} is Bound showing ${shown} but names no pool, so no IPAllocation backs it`);
  }
}

/** Each scoped pool's status.allocated equals its records. */
function checkPoolCounts(s: Snapshot, opts: InvariantOptions, mine: IPAllocation[], problems: string[]): void {
  for (const p of s.pools.filter(x => opts.pools.includes(x.metadata?.name as string))) {
    const count = mine.filter(a => a.spec!.pool === p.metadata!.name).length;
    if (p.status?.allocated !== count)
      problems.push(`count: pool ${p.metadata!.name} says allocated=${p.status?.allocated}, records say ${count}`);
  }
}
