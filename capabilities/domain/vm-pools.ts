// The vmnet.io/pools annotation: the pool a VM chooses per NIC where a network is served by several
// (a list, one per IP family, for dual-stack), and the VM webhook's checks of every pool-backed NIC's
// pools (pool-choice.ts holds the rule itself). Pure.
//
// Decoded strictly, as the Multus annotation is (network-selection.ts): the webhook and the
// controller must read one choice, and so must any other reader (a Go tool matches keys case-
// insensitively and keeps the last duplicate, JSON.parse keeps the last duplicate exactly). So a
// key must be printable ASCII and may appear once, ignoring case; values are pool names.
import { POOLS_ANNOTATION } from "./keys";
import { Findings, show } from "./findings";
import { parseJson, describePosition, stringEnd } from "./json";
import { isDns1123Subdomain } from "./names";
import { NicPools, PoolProblem, nicPools } from "./pool-choice";
import { poolName } from "./pool-view";
import type { AdmissionSnapshot, ClaimHolding } from "./snapshot";
import { VMContext, annotationPath } from "./vm-context";
import { IfaceEntry, multusNetwork } from "./vm-nics";

export { POOLS_ANNOTATION };

const EXAMPLE = '{"ovs1": "tenant-a-vlan100-db"} or {"ovs1": ["pool-v4", "pool-v6"]}';

export type PoolsParse = { ok: true; choices: Map<string, string[]> } | { ok: false; field: string; message: string };

/** Parses the annotation value into interface name -> chosen pool names. */
export function parsePoolsAnnotation(value: unknown): PoolsParse {
  const base = annotationPath(POOLS_ANNOTATION);
  if (typeof value !== "string") return { ok: false, field: base, message: `must be a string holding JSON such as ${EXAMPLE}` };
  const json = parseJson(value);
  if (!json.ok)
    return { ok: false, field: base, message: `is not JSON (${json.message} at ${describePosition(json)}); write it as ${EXAMPLE}` };
  if (typeof json.value !== "object" || json.value === null || Array.isArray(json.value))
    return { ok: false, field: base, message: `must be a JSON object of interface name to pool name, such as ${EXAMPLE}` };
  const keyProblem = keysProblem(objectKeys(value));
  if (keyProblem) return { ok: false, field: base, message: keyProblem };
  const choices = new Map<string, string[]>();
  for (const [iface, raw] of Object.entries(json.value as Record<string, unknown>)) {
    const list = poolList(raw);
    if (typeof list === "string") return { ok: false, field: `${base}.${iface}`, message: list };
    choices.set(iface, list);
  }
  return { ok: true, choices };
}

/** One interface's value: its pool names, or what is wrong with them. */
function poolList(raw: unknown): string[] | string {
  const list = typeof raw === "string" ? [raw] : raw;
  if (!Array.isArray(list) || list.length < 1 || list.length > 2 || !list.every(p => typeof p === "string"))
    return `must be a pool name or a list of one or two pool names (one per IP family); write it as ${EXAMPLE}`;
  const bad = list.find(p => !isDns1123Subdomain(p));
  if (bad !== undefined) return `${show(bad)} is not an IPPool name (a lower-case DNS-1123 subdomain); write it as ${EXAMPLE}`;
  if (list.length === 2 && list[0] === list[1]) return `names IPPool ${show(list[0])} twice; list each pool once`;
  return list as string[];
}

/** The choices of a VM's annotations (none when absent); an annotation that does not parse says why. */
export function poolChoicesOf(annotations: Record<string, string> | undefined): PoolsParse {
  const value = annotations?.[POOLS_ANNOTATION];
  return value === undefined ? { ok: true, choices: new Map() } : parsePoolsAnnotation(value);
}

function keysProblem(keys: string[]): string | undefined {
  const seen = new Map<string, string>();
  for (const key of keys) {
    if (key === "" || !/^[\x20-\x7e]+$/.test(key))
      return `has key ${show(key)}, which is not a plain interface name (printable ASCII, not empty); name each interface exactly as in the VM`;
    const first = seen.get(key.toLowerCase());
    if (first !== undefined)
      return `names interface ${show(first)} twice${first === key ? "" : ` (as ${show(key)}: keys are matched ignoring case, as Go's decoder matches them)`}; list each interface once`;
    seen.set(key.toLowerCase(), key);
  }
  return undefined;
}

/**
 * The keys of a valid JSON text's top-level object, in order and with duplicates (JSON.parse keeps
 * only the last of duplicates). Iterative, so nesting depth costs no stack.
 */
export function objectKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      if (expectKey && depth === 1) keys.push(JSON.parse(text.slice(i, end + 1)) as string);
      expectKey = false;
      i = end;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = c === "{" && depth === 1;
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === ",") {
      expectKey = depth === 1;
    }
  }
  return keys;
}

/**
 * Checks the pools of every bridge NIC on a Multus network: the chosen pools serve the NIC's
 * network and namespace and have room, a NIC that holds addresses keeps their pool, and a network
 * with several pools has a default for NICs that choose none. Returns each such NIC's pools, which
 * vmnet.io/addresses is then checked against.
 */
export function checkPools(ctx: VMContext, snapshot: AdmissionSnapshot, out: Findings): Map<string, NicPools> {
  const value = ctx.annotations.get(POOLS_ANNOTATION);
  const parsed = value === undefined ? { ok: true as const, choices: new Map<string, string[]>() } : parsePoolsAnnotation(value);
  const result = new Map<string, NicPools>();
  if (!parsed.ok) {
    out.deny(parsed.field, value, `annotation ${POOLS_ANNOTATION} ${show(value)} ${parsed.message}`);
    return result;
  }
  for (const [name, chosen] of parsed.choices) checkChoiceTarget(ctx, name, chosen, snapshot, out);
  for (const iface of ctx.ifaces) {
    const network = multusNetwork(iface);
    if (!iface.bindings.includes("bridge") || network === undefined) continue;
    result.set(iface.name, checkNic(ctx, iface, network, parsed.choices.get(iface.name), snapshot, out));
  }
  return result;
}

function checkNic(
  ctx: VMContext,
  iface: IfaceEntry,
  network: string,
  chosen: string[] | undefined,
  snapshot: AdmissionSnapshot,
  out: Findings,
): NicPools {
  const holding = snapshot.claimHolding?.(ctx.namespace, `${ctx.name}.${iface.name}`);
  const pools = nicPools({ network, namespace: ctx.namespace, chosen, held: holding?.pools }, snapshot);
  if (!pools.poolBacked) return pools;
  for (const problem of pools.problems)
    out.deny(problemField(iface, problem, chosen), problemValue(network, problem, chosen), problemMessage(ctx, iface, problem, holding));
  if (chosen) checkRoom(iface, pools, chosen, holding, snapshot, out);
  return pools;
}

/** A key of the annotation must name a bridge interface on a Multus network of the VM. */
function checkChoiceTarget(ctx: VMContext, name: string, chosen: string[], snapshot: AdmissionSnapshot, out: Findings): void {
  const field = `${annotationPath(POOLS_ANNOTATION)}.${name}`;
  const iface = ctx.ifaceByName.get(name);
  const network = iface && multusNetwork(iface);
  let problem: string | undefined;
  if (!iface) {
    const similar = [...ctx.ifaceByName.keys()].find(k => k.toLowerCase() === name.toLowerCase());
    problem = similar
      ? `names interface ${show(name)}, which the VM does not have: interface names are matched exactly, write ${show(similar)}`
      : `names interface ${show(name)}, which the VM does not have (interfaces: ${[...ctx.ifaceByName.keys()].join(", ") || "none"})`;
  } else if (!iface.bindings.includes("bridge")) problem = `names interface ${show(name)}, which is not a bridge interface`;
  else if (network === undefined) problem = `names interface ${show(name)}, which is not on a (valid) Multus network`;
  else if (snapshot.poolsForNetwork(network).length === 0) {
    // GitOps may apply the pools after the VM: the controller binds once they exist.
    out.warn(
      field,
      chosen,
      `${POOLS_ANNOTATION} chooses a pool for interface ${show(name)}, whose network ${show(network)} no IPPool serves yet; the choice is checked when a pool serves it`,
    );
    return;
  }
  if (problem)
    out.deny(
      field,
      chosen,
      `${POOLS_ANNOTATION} ${problem}; choose pools only for bridge interfaces on Multus networks that an IPPool serves`,
    );
}

const CHOICE_KINDS: readonly PoolProblem["kind"][] = ["unknown", "not-serving", "not-ready", "family-twice"];

function problemField(iface: IfaceEntry, problem: PoolProblem, chosen: string[] | undefined): string {
  if (CHOICE_KINDS.includes(problem.kind) || (problem.kind === "held" && chosen))
    return `${annotationPath(POOLS_ANNOTATION)}.${iface.name}`;
  return `${iface.network!.path}.multus.networkName`;
}

function problemValue(network: string, problem: PoolProblem, chosen: string[] | undefined): unknown {
  if (problem.pool !== undefined) return problem.pool;
  return problem.kind === "held" && chosen ? chosen : network;
}

function problemMessage(ctx: VMContext, iface: IfaceEntry, problem: PoolProblem, holding: ClaimHolding | undefined): string {
  const name = show(iface.name);
  if (problem.kind === "not-selected") return problem.message;
  if (problem.kind !== "held") return `interface ${name}: ${problem.message}`;
  const claim = `IPClaim ${ctx.namespace}/${ctx.name}.${iface.name}`;
  const how = holding?.released
    ? `its addresses are retained (reclaimPolicy Retain) from an earlier VM of this name: to re-address it, delete ${claim} first, which frees them`
    : `to re-address it: stop the VM, remove interface ${name} from it (the operator then releases ${claim} and its addresses), and once that IPClaim is gone add the interface back with the pools you want and start the VM; or delete the VM and create it again`;
  return `interface ${name} ${problem.message}; ${how}`;
}

/** A chosen pool must have a free address for a NIC that does not hold one of it yet. */
function checkRoom(
  iface: IfaceEntry,
  pools: NicPools,
  chosen: string[],
  holding: ClaimHolding | undefined,
  snapshot: AdmissionSnapshot,
  out: Findings,
): void {
  if (!snapshot.freeCount) return;
  for (const pool of pools.pools) {
    const name = poolName(pool);
    if (!chosen.includes(name) || holding?.pools.includes(name) || snapshot.freeCount(name) !== 0n) continue;
    out.deny(
      `${annotationPath(POOLS_ANNOTATION)}.${iface.name}`,
      name,
      `interface ${show(iface.name)}: IPPool ${show(name)} has no free address; choose another pool of network ${show(multusNetwork(iface) ?? "")}, free addresses in it, or ask the cluster admin to widen it`,
    );
  }
}
