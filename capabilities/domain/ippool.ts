// Admission rules for IPPools. Pure.
import { Findings, ValidationResult, isRecord, ratchet, show } from "./findings";
import { poolConflicts } from "./pool-conflicts";
import { validatePoolSpec } from "../ipam/pool-layout";
import { CIDR, Span, contains, familyName, overlaps, parseAddressOrCIDR, parseCIDR, parseIP, parseSpan, readCIDR } from "./net";
import { parseNetworkRef } from "./names";
import { nadRoutesVia } from "./nad-readiness";
import { isMarkedDefault, isSpecInput, layoutOf, listOf, poolName, whyNotAllocatable } from "./pool-view";
import { effectiveNamespaceLabels, selectorMatches, selectorProblems } from "./selector";
import type { AdmissionSnapshot, AllocationLike, IPPoolLike } from "./snapshot";
import type { PoolLayout } from "../ipam/pool-layout";

/** At most this many held addresses are named one by one in a denial; the rest are counted. */
const MAX_NAMED_HOLDERS = 10;

interface PoolCtx {
  pool: IPPoolLike;
  name: string;
  spec: Record<string, unknown>;
  cidr?: CIDR;
  /** Fields the pool layout (ipam) refused; the policy checks below skip them. */
  refused?: Set<string>;
}

/**
 * Validates an IPPool. On update (oldPool given) a denial the old pool already had is only a
 * warning, and addresses that are allocated must stay allocatable.
 */
export function validatePool(pool: IPPoolLike | unknown, snapshot: AdmissionSnapshot, oldPool?: IPPoolLike | unknown): ValidationResult {
  const result = checkPool(pool, snapshot, oldPool);
  return oldPool === undefined ? result : ratchet(result, checkPool(oldPool, snapshot, undefined));
}

/** Refuses deleting a pool that still has allocations. */
export function validatePoolDelete(pool: IPPoolLike | unknown, snapshot: AdmissionSnapshot): ValidationResult {
  const out = new Findings();
  const name = poolName(pool as IPPoolLike);
  const allocations = name === "" ? [] : snapshot.allocationsInPool(name);
  if (allocations.length === 0) return out.result();
  const spec = isRecord(pool) && isRecord(pool.spec) ? pool.spec : {};
  const networks =
    listOf(spec.networks)
      .filter(n => typeof n === "string")
      .join(", ") || "its networks";
  const examples = allocations
    .slice(0, 3)
    .map(a => `${a.address} held by ${holderText(a)}`)
    .join("; ");
  out.deny(
    "status.allocated",
    allocations.length,
    `IPPool ${show(name)} still has ${allocations.length} allocated address${allocations.length === 1 ? "" : "es"} (${examples}${allocations.length > 3 ? "; ..." : ""}); ` +
      `drain it first: delete the VMs on ${networks} or move them to another network, delete their IPClaims if the pool's reclaimPolicy is Retain, ` +
      `and delete the pool when kubectl get ippool ${name} shows 0 allocated`,
  );
  return out.result();
}

function checkPool(pool: unknown, snapshot: AdmissionSnapshot, oldPool: unknown): ValidationResult {
  const out = new Findings();
  const spec = isRecord(pool) && isRecord(pool.spec) ? pool.spec : undefined;
  if (!spec) {
    out.deny("spec", isRecord(pool) ? pool.spec : pool, 'must be an object with at least a cidr, such as {cidr: "10.100.0.0/24"}');
    return out.result();
  }
  const ctx: PoolCtx = { pool: pool as IPPoolLike, name: poolName(pool as IPPoolLike), spec, cidr: checkCIDR(spec.cidr, out) };
  checkImmutableCIDR(ctx, oldPool, out);
  if (ctx.cidr && checkShapes(ctx, out)) {
    checkLayout(ctx, out);
    checkCapacity(ctx, out);
    checkExcludes(ctx, ctx.cidr, out);
    checkGateway(ctx, out);
    checkGatewayRouted(ctx, snapshot, out);
    checkSharedNetworks(ctx, ctx.cidr, snapshot, out);
    checkSharedSegment(ctx, snapshot, out);
  }
  checkNetworks(ctx, out);
  selectorProblems(spec.namespaceSelector).forEach(([suffix, value, msg]) =>
    out.deny(`spec.namespaceSelector${suffix}`, value, `${show(value)} ${msg}`),
  );
  checkAllocations(ctx, snapshot, out);
  return out.result();
}

function checkCIDR(value: unknown, out: Findings): CIDR | undefined {
  const cidr = readCIDR(value);
  if ("error" in cidr) {
    out.deny("spec.cidr", value, `${show(value)} ${cidr.error}; ${cidr.fix ?? "write the subnet such as 10.100.0.0/24 or fd00:100::/64"}`);
    return undefined;
  }
  if (value !== cidr.text) out.deny("spec.cidr", value, `${show(value)} is not in canonical form; write ${cidr.text}`);
  return cidr;
}

function checkImmutableCIDR(ctx: PoolCtx, oldPool: unknown, out: Findings): void {
  if (oldPool === undefined) return;
  const old = isRecord(oldPool) && isRecord(oldPool.spec) ? oldPool.spec.cidr : undefined;
  if (old !== undefined && old !== ctx.spec.cidr) {
    out.deny(
      "spec.cidr",
      ctx.spec.cidr,
      `spec.cidr is immutable (was ${show(old)}, now ${show(ctx.spec.cidr)}); create a new IPPool for a new subnet`,
    );
  }
}

/** spec.ranges and spec.exclude are lists of strings and the gateway a string: the shape the layout reads. */
function checkShapes(ctx: PoolCtx, out: Findings): boolean {
  const { ranges, exclude, gateway } = ctx.spec;
  let ok = true;
  const deny = (field: string, value: unknown, message: string): void => {
    out.deny(field, value, message);
    ok = false;
  };
  if (ranges !== undefined && !Array.isArray(ranges))
    deny("spec.ranges", ranges, `${show(ranges)} must be a list such as ["10.100.0.10-10.100.0.200"]`);
  if (exclude !== undefined && !Array.isArray(exclude))
    deny("spec.exclude", exclude, `${show(exclude)} must be a list of addresses and CIDRs`);
  listOf(ranges).forEach(
    (r, i) => typeof r !== "string" && deny(`spec.ranges[${i}]`, r, `range ${show(r)} must be a string such as "10.100.0.10-10.100.0.200"`),
  );
  listOf(exclude).forEach(
    (e, i) =>
      typeof e !== "string" &&
      deny(`spec.exclude[${i}]`, e, `exclusion ${show(e)} must be a string such as "10.100.0.50" or "10.100.0.64/28"`),
  );
  if (gateway !== undefined && typeof gateway !== "string")
    deny("spec.gateway", gateway, `gateway ${show(gateway)} must be a string such as "10.100.0.1"`);
  return ok && isSpecInput(ctx.spec);
}

/** Ranges, exclusions and gateway as the allocator reads them (ipam's pool layout), every problem at once. */
function checkLayout(ctx: PoolCtx, out: Findings): void {
  ctx.refused = new Set();
  if (!isSpecInput(ctx.spec)) return;
  for (const e of validatePoolSpec(ctx.spec)) {
    if (e.field === "spec.cidr") continue; // checkCIDR reported it
    ctx.refused.add(e.field);
    out.deny(e.field, e.value, `${show(e.value)} ${e.reason}; ${e.fix}`);
  }
}

/**
 * A pool that can hand out nothing is a mistake: refused. A /31, /32, /127 or /128 is served
 * whole (pool-layout reserves no network or broadcast address there, RFC 3021), so it holds one
 * or two addresses at most, and its NICs get a prefix with no on-link neighbour: a warning.
 */
function checkCapacity(ctx: PoolCtx, out: Findings): void {
  const layout = layoutOf(ctx.pool);
  if ("error" in layout) return; // checkLayout's denials say what to fix
  const cidr = ctx.spec.cidr;
  if (layout.capacity === 0n) {
    const by = reservers(layout);
    const last = by.pop();
    const who = by.length ? `${by.join(", ")} and ${last} take` : `${last} takes`;
    out.deny(
      "spec.cidr",
      cidr,
      `spec.cidr ${show(cidr)} leaves this pool no address to hand out: ${who} out every address of its ranges; widen spec.cidr or spec.ranges, or reserve less`,
    );
  } else if ((layout.family === 4 ? 32 : 128) - layout.prefix <= 1) {
    const n = Number(layout.capacity);
    out.warn(
      "spec.cidr",
      cidr,
      `spec.cidr ${show(cidr)} is a /${layout.prefix}, a point-to-point subnet: the pool holds ${n} address${n === 1 ? "" : "es"} and so serves ${n === 1 ? "one NIC" : `${n} NICs`} at most; use a wider CIDR (spec.ranges can narrow what is handed out) unless that is meant`,
    );
  }
}

/** The spec fields whose reservations cover the pool's ranges, each named once: "spec.gateway and spec.exclude[0]". */
function reservers(layout: PoolLayout): string[] {
  return [...new Set(layout.reserved.filter(r => layout.ranges.overlaps(r.first, r.last)).map(r => r.field))];
}

/** Stricter than the layout, which clips an exclusion to the CIDR: at admission it is a mistake worth naming. */
function checkExcludes(ctx: PoolCtx, cidr: CIDR, out: Findings): void {
  listOf(ctx.spec.exclude).forEach((e, i) => {
    const span = parseAddressOrCIDR(e);
    if (!span || ctx.refused?.has(`spec.exclude[${i}]`) || contains(cidr, span)) return;
    out.deny(
      `spec.exclude[${i}]`,
      e,
      `exclusion ${show(e)} is not inside spec.cidr ${cidr.text}; exclude only addresses of the pool's subnet`,
    );
  });
}

/** Stricter than the layout, which reserves a gateway inside a range: at admission it is a range to split. */
function checkGateway(ctx: PoolCtx, out: Findings): void {
  const value = ctx.spec.gateway;
  const gw = parseIP(value);
  if (!gw || ctx.refused?.has("spec.gateway")) return;
  const point: Span = { family: gw.family, first: gw.value, last: gw.value };
  listOf(ctx.spec.ranges).forEach((r, i) => {
    const span = parseSpan(r);
    if (span && contains(span, point)) {
      out.deny(
        "spec.gateway",
        value,
        `gateway ${show(value)} lies inside spec.ranges[${i}] ${show(r)}; split the range around the gateway, or choose a gateway outside the ranges`,
      );
    }
  });
}

/**
 * A gateway that nothing routes through: Multus gives static IPAM no gateway, so a NIC gets a
 * route via the pool's gateway only from spec.defaultRoute (Multus's default-route) or from its
 * NAD's static IPAM routes naming it.
 */
function checkGatewayRouted(ctx: PoolCtx, snapshot: AdmissionSnapshot, out: Findings): void {
  const gateway = ctx.spec.gateway;
  if (typeof gateway !== "string" || !parseIP(gateway) || ctx.spec.defaultRoute === true) return;
  const nads = listOf(ctx.spec.networks)
    .map(n => parseNetworkRef(n, ""))
    .filter((r): r is { namespace: string; name: string; qualified: string } => "qualified" in r);
  if (nads.some(r => nadRoutesVia(snapshot.nad(r.namespace, r.name)?.spec?.config, gateway))) return;
  out.warn(
    "spec.gateway",
    gateway,
    `gateway ${show(gateway)}: nothing routes through it, because Multus passes static IPAM no gateway, so the VM NICs of this pool get no route via ${gateway}; ` +
      `set spec.defaultRoute: true to make it their default route, or give the static IPAM of ${nads.length ? nads.map(r => r.qualified).join(", ") : "the pool's NADs"} "routes" entries with "gw": ${show(gateway)}`,
  );
}

function checkNetworks(ctx: PoolCtx, out: Findings): void {
  const networks = ctx.spec.networks;
  if (networks !== undefined && !Array.isArray(networks)) {
    out.deny("spec.networks", networks, `${show(networks)} must be a list of "namespace/name" network references`);
    return;
  }
  const seen = new Set<string>();
  listOf(networks).forEach((n, i) => {
    const ref =
      typeof n === "string" && n.includes("/")
        ? parseNetworkRef(n, "")
        : { error: 'must be "namespace/name" of a NetworkAttachmentDefinition' };
    if ("error" in ref) out.deny(`spec.networks[${i}]`, n, `network ${show(n)} ${ref.error}`);
    else if (seen.has(ref.qualified)) out.deny(`spec.networks[${i}]`, n, `network ${show(n)} is listed twice; list it once`);
    else seen.add(ref.qualified);
  });
}

/**
 * Pools of one IP family on a shared network must not overlap, and at most one of them may be its
 * default; with several and none marked, NICs without a choice get no address (a warning).
 */
function checkSharedNetworks(ctx: PoolCtx, cidr: CIDR, snapshot: AdmissionSnapshot, out: Findings): void {
  listOf(ctx.spec.networks).forEach((n, i) => {
    if (typeof n !== "string") return;
    const others = snapshot
      .poolsForNetwork(n)
      .filter(o => poolName(o) !== ctx.name && parseCIDR(isRecord(o.spec) ? o.spec.cidr : undefined)?.family === cidr.family);
    for (const other of others) {
      const otherName = poolName(other);
      const otherCidr = parseCIDR(isRecord(other.spec) ? other.spec.cidr : undefined)!;
      if (overlaps(cidr, otherCidr))
        out.deny(
          `spec.networks[${i}]`,
          n,
          `network ${show(n)} is already served by ${familyName(cidr.family)} IPPool ${show(otherName)} (${otherCidr.text}), overlapping this pool's ${cidr.text}; ` +
            `pools of one network must not overlap: give this pool a disjoint CIDR, add the addresses to ${show(otherName)}, or remove the network from one of the pools`,
        );
      else if (isMarkedDefault(ctx.pool) && isMarkedDefault(other))
        out.deny(
          "spec.default",
          true,
          `network ${show(n)} already has a default ${familyName(cidr.family)} pool, IPPool ${show(otherName)}; a network has at most one default pool per IP family: remove spec.default from one of them`,
        );
    }
    if (others.length && !isMarkedDefault(ctx.pool) && !others.some(isMarkedDefault))
      out.warn(
        `spec.networks[${i}]`,
        n,
        `network ${show(n)} is also served by ${familyName(cidr.family)} IPPool ${others.map(o => show(poolName(o))).join(", ")} and none of them is marked default: a NIC whose namespace more than one of them selects gets an address only when its VM chooses a pool (annotation vmnet.io/pools); set spec.default: true on one of them`,
      );
  });
}

/** Overlapping CIDRs on networks that share a bridge and VLAN would hand one address out twice there. */
function checkSharedSegment(ctx: PoolCtx, snapshot: AdmissionSnapshot, out: Findings): void {
  for (const c of poolConflicts(ctx.pool, snapshot)) {
    if (c.kind !== "segment") continue; // checkSharedNetworks names the others, with their field
    out.deny(
      "spec.cidr",
      ctx.spec.cidr,
      `${c.why}; one address would be handed out twice there: give the pools disjoint CIDRs, or serve both networks from one pool`,
    );
  }
}

/** Allocated addresses must stay allocatable: name the holders of those the new spec drops. */
function checkAllocations(ctx: PoolCtx, snapshot: AdmissionSnapshot, out: Findings): void {
  if (ctx.name === "") return;
  const allocations = snapshot.allocationsInPool(ctx.name);
  if (allocations.length === 0) return;
  const layout = layoutOf(ctx.pool);
  if ("error" in layout) return; // the spec's own denials say why
  let dropped = 0;
  for (const a of allocations) {
    const ip = parseIP(a.address);
    const why = ip ? whyNotAllocatable(layout, ip) : undefined;
    if (!why) continue;
    dropped++;
    if (dropped > MAX_NAMED_HOLDERS) continue;
    out.deny(
      why.field,
      a.address,
      `allocated address ${a.address} (held by ${holderText(a)}) ${why.reason}; keep it in the pool until that VM is deleted`,
    );
  }
  if (dropped > MAX_NAMED_HOLDERS) {
    out.deny(
      "spec",
      dropped,
      `${dropped - MAX_NAMED_HOLDERS} more allocated addresses would leave the pool; list them with kubectl get ipallocations and keep them in the pool`,
    );
  }
  warnDeselected(ctx, allocations, snapshot, out);
}

function warnDeselected(ctx: PoolCtx, allocations: AllocationLike[], snapshot: AdmissionSnapshot, out: Findings): void {
  const namespaces = [...new Set(allocations.map(a => a.namespace))];
  const dropped = namespaces.filter(
    ns => !selectorMatches(ctx.spec.namespaceSelector, effectiveNamespaceLabels(ns, snapshot.namespaceLabels(ns))),
  );
  if (dropped.length === 0) return;
  out.warn(
    "spec.namespaceSelector",
    dropped,
    `namespaces ${dropped.join(", ")} hold addresses of this pool but are no longer selected; their VMs keep their addresses, new VMs there are refused`,
  );
}

function holderText(a: AllocationLike): string {
  const iface = a.claim.startsWith(`${a.vm}.`) ? a.claim.slice(a.vm.length + 1) : a.claim;
  return `VM ${a.namespace}/${a.vm} interface ${show(iface)}`;
}
