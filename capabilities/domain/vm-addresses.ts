// The vmnet.io/addresses annotation: requested fixed addresses per interface.
import { z } from "zod";
import { ADDRESSES_ANNOTATION } from "./keys";
import { Findings, isRecord, show } from "./findings";
import { parseJson, describePosition } from "./json";
import { AddressTakenError } from "../ipam/errors";
import type { PoolLayout } from "../ipam/pool-layout";
import { IP, familyName, parseCIDR, readIP } from "./net";
import { layoutOf, poolName, whyNotAllocatable } from "./pool-view";
import type { AdmissionSnapshot, IPPoolLike } from "./snapshot";
import { VMContext, annotationPath } from "./vm-context";
import { IfaceEntry, multusNetwork } from "./vm-nics";
import type { NicPools } from "./pool-choice";

export { ADDRESSES_ANNOTATION };

const EXAMPLE = '{"ovs1": "10.100.0.23"} or {"ovs1": ["10.100.0.23", "fd00:100::23"]}';

const EMPTY_KEY = 'has an empty interface name (""): each key must name one of the VM\'s interfaces';

const addressesSchema = z.record(
  z.string().min(1),
  z.union([z.string(), z.array(z.string()).min(1).max(2)], {
    error: "must be an address or a list of one or two addresses (one per IP family)",
  }),
);

export type AddressesParse = { ok: true; requests: Map<string, string[]> } | { ok: false; field: string; message: string };

/** Parses the annotation value into interface name -> requested addresses. */
export function parseAddressesAnnotation(value: unknown): AddressesParse {
  const base = annotationPath(ADDRESSES_ANNOTATION);
  if (typeof value !== "string") return { ok: false, field: base, message: `must be a string holding JSON such as ${EXAMPLE}` };
  const json = parseJson(value);
  if (!json.ok)
    return { ok: false, field: base, message: `is not JSON (${json.message} at ${describePosition(json)}); write it as ${EXAMPLE}` };
  const parsed = addressesSchema.safeParse(json.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // zod words a refused key (only the empty one is) "Invalid key in record", at a path that
    // names no field: say what is wrong, at the annotation.
    if (issue.code === "invalid_key") return { ok: false, field: base, message: `${EMPTY_KEY}; write it as ${EXAMPLE}` };
    const field = issue.path.length > 0 ? `${base}.${issue.path.map(String).join(".")}` : base;
    return { ok: false, field, message: `${issue.message}; write it as ${EXAMPLE}` };
  }
  const requests = new Map<string, string[]>();
  for (const [iface, addrs] of Object.entries(json.value as Record<string, string | string[]>)) {
    requests.set(iface, typeof addrs === "string" ? [addrs] : addrs);
  }
  return { ok: true, requests };
}

interface Request {
  ctx: VMContext;
  iface: string;
  address: string;
  field: string;
}

/** `nicPools`: each bridge NIC's pools as vm-pools.ts resolved them (chosen, default or kept). */
export function checkAddresses(ctx: VMContext, snapshot: AdmissionSnapshot, out: Findings, nicPools: Map<string, NicPools>): void {
  const value = ctx.annotations.get(ADDRESSES_ANNOTATION);
  if (value === undefined) return;
  const parsed = parseAddressesAnnotation(value);
  if (!parsed.ok) {
    out.deny(parsed.field, value, `annotation ${ADDRESSES_ANNOTATION} ${show(value)} ${parsed.message}`);
    return;
  }
  const taken = new Map<string, string>();
  for (const [name, addrs] of parsed.requests) {
    const field = `${annotationPath(ADDRESSES_ANNOTATION)}.${name}`;
    const pools = interfacePools(ctx, name, field, nicPools, out);
    if (!pools) continue;
    const families = new Set<number>();
    addrs.forEach((address, i) => {
      const req = { ctx, iface: name, address, field: addrs.length > 1 ? `${field}[${i}]` : field };
      const key = checkOne(req, pools, families, snapshot, out);
      if (key) noDuplicate(req, key, taken, out);
    });
  }
}

/** The pools of a requested interface, or undefined (denied here or in vm-pools.ts) when it cannot take an address. */
function interfacePools(
  ctx: VMContext,
  name: string,
  field: string,
  nicPools: Map<string, NicPools>,
  out: Findings,
): IPPoolLike[] | undefined {
  const iface = ctx.ifaceByName.get(name);
  const resolved = nicPools.get(name);
  if (iface && resolved && !resolved.poolBacked) {
    warnNotServedYet(iface, field, out);
    return undefined;
  }
  const problem = !iface
    ? `names interface ${show(name)}, which the VM does not have (interfaces: ${[...ctx.ifaceByName.keys()].join(", ") || "none"})`
    : notPoolBacked(iface);
  if (problem) {
    out.deny(
      field,
      name,
      `${ADDRESSES_ANNOTATION} ${problem}; request addresses only for bridge interfaces on Multus networks that an IPPool serves`,
    );
    return undefined;
  }
  // No pools: vm-pools.ts refused the NIC's pools (a bad choice, no default, a namespace not
  // selected), or the annotation vmnet.io/pools does not parse; that denial says why.
  const pools = resolved?.kept ?? resolved?.pools ?? [];
  return pools.length ? pools : undefined;
}

/** GitOps may apply the pool after the VM: the controller binds the address once it exists. */
function warnNotServedYet(iface: IfaceEntry, field: string, out: Findings): void {
  const network = multusNetwork(iface) ?? "";
  out.warn(
    field,
    iface.name,
    `${ADDRESSES_ANNOTATION} names interface ${show(iface.name)}, whose network ${show(network)} no IPPool serves yet; the address is checked when a pool serves it`,
  );
}

function notPoolBacked(iface: IfaceEntry): string | undefined {
  const name = show(iface.name);
  if (!iface.bindings.includes("bridge")) return `names interface ${name}, which is not a bridge interface`;
  if (multusNetwork(iface) === undefined) return `names interface ${name}, which is not on a (valid) Multus network`;
  return undefined;
}

/** Checks one requested address; returns "pool address" when it may be taken. */
function checkOne(
  req: Request,
  pools: IPPoolLike[],
  families: Set<number>,
  snapshot: AdmissionSnapshot,
  out: Findings,
): string | undefined {
  const what = `address ${show(req.address)} for interface ${show(req.iface)}`;
  const ip = readIP(req.address);
  if ("error" in ip) {
    const hint = req.address.includes("/")
      ? "give the address without a prefix length"
      : "give an IPv4 or IPv6 address such as 10.100.0.23";
    out.deny(req.field, req.address, `${what} ${ip.error}; ${ip.fix ?? hint}`);
    return undefined;
  }
  if (families.has(ip.family)) {
    out.deny(req.field, req.address, `${what} is a second ${familyName(ip.family)} address; give at most one address per IP family`);
    return undefined;
  }
  families.add(ip.family);
  const served = pools.find(p => parseCIDR(isRecord(p.spec) ? p.spec.cidr : undefined)?.family === ip.family);
  if (!served) {
    out.deny(
      req.field,
      req.address,
      `${what}: no ${familyName(ip.family)} pool serves the interface's network (pools: ${pools.map(poolName).join(", ")}); request an address of the pool's family`,
    );
    return undefined;
  }
  const pool = { name: poolName(served), layout: layoutOf(served) };
  if ("error" in pool.layout) {
    out.deny(
      req.field,
      req.address,
      `${what}: IPPool ${show(pool.name)} cannot hand out addresses (${pool.layout.error}); ask the cluster admin to fix the pool`,
    );
    return undefined;
  }
  return checkInPool(req, ip, { name: pool.name, layout: pool.layout }, snapshot, out) ? `${pool.name} ${ip.text}` : undefined;
}

function checkInPool(
  req: Request,
  ip: IP,
  pool: { name: string; layout: PoolLayout },
  snapshot: AdmissionSnapshot,
  out: Findings,
): boolean {
  const problem = unusable(req, ip, pool) ?? heldElsewhere(req, ip, pool.name, snapshot) ?? macTaken(req, ip, pool.name, snapshot);
  if (problem) out.deny(req.field, req.address, `address ${show(req.address)} for interface ${show(req.iface)} ${problem}`);
  return problem === undefined;
}

/** The pool's layout (the allocator's) keeps the address out. */
function unusable(req: Request, ip: IP, pool: { name: string; layout: PoolLayout }): string | undefined {
  const why = whyNotAllocatable(pool.layout, ip);
  return (
    why && `${why.reason} (IPPool ${show(pool.name)}); pick another address, or remove it from ${ADDRESSES_ANNOTATION} to get one assigned`
  );
}

/** Another NIC holds the address. */
function heldElsewhere(req: Request, ip: IP, pool: string, snapshot: AdmissionSnapshot): string | undefined {
  const holder = snapshot.holderOf(pool, ip.text);
  if (!holder || (holder.namespace === req.ctx.namespace && holder.claim === `${req.ctx.name}.${req.iface}`)) return undefined;
  // Another namespace's VM: say only that it is taken (naming it would let anyone map who holds what).
  if (holder.namespace !== req.ctx.namespace)
    return `is in use; pick another address, or remove it from ${ADDRESSES_ANNOTATION} to get one assigned`;
  const holderIface = holder.claim.startsWith(`${holder.vm}.`) ? holder.claim.slice(holder.vm.length + 1) : holder.claim;
  return `is held by VM ${holder.namespace}/${holder.vm} interface ${show(holderIface)} (IPClaim ${holder.namespace}/${holder.claim}); pick another address (it is freed only when that VM is deleted)`;
}

/** The allocator would refuse it for its derived MAC (an IPv6 address sharing its low 40 bits with a held one). */
function macTaken(req: Request, ip: IP, pool: string, snapshot: AdmissionSnapshot): string | undefined {
  const refusal = snapshot.requestRefusal?.(pool, `${req.ctx.namespace}/${req.ctx.name}.${req.iface}`, ip.text);
  if (!(refusal instanceof AddressTakenError) || !refusal.via) return undefined;
  // The holder may be another tenant's: name neither it nor its address.
  return `would get MAC ${refusal.via.mac}, which an address already held in IPPool ${show(pool)} has (the MAC is derived from the low 40 bits of an IPv6 address); pick another address, or remove it from ${ADDRESSES_ANNOTATION} to get one assigned`;
}

function noDuplicate(req: Request, key: string, taken: Map<string, string>, out: Findings): void {
  const other = taken.get(key);
  if (other !== undefined) {
    out.deny(
      req.field,
      req.address,
      `address ${show(req.address)} is requested for interfaces ${show(other)} and ${show(req.iface)}; every interface needs its own address`,
    );
  } else taken.set(key, req.iface);
}
