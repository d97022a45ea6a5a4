// `kubectl vmnet why <vm>`: for each interface of a VM, why it has (or has no) address, in the
// order the operator decides it: the binding and network, the NAD, the pools serving the network
// and their namespaceSelector, the NAD's IPAM, the pool's free addresses, then the IPClaim and its
// IPAllocation records. Pure: it reads plain objects and returns lines; the CLI fetches them.
import type { IPAllocation } from "../api/ipallocation-v1alpha1";
import type { IPClaim } from "../api/ipclaim-v1alpha1";
import type { IPPool } from "../api/ippool-v1alpha1";
import type { NetworkAttachmentDefinition } from "../api/external/multus";
import type { VirtualMachine } from "../api/external/kubevirt";
import { IfaceEntry, soleBinding, vmNics } from "../domain/vm-nics";
import { nadPoolReadiness } from "../domain/nad-readiness";
import { describeSelector, effectiveNamespaceLabels, selectorMatches } from "../domain/selector";
import { allocationName } from "../ipam/address";
import { nicPools, NicPools, PoolSnapshot } from "../domain/pool-choice";
import type { IPPoolLike } from "../domain/snapshot";
import { POOLS_ANNOTATION, poolChoicesOf } from "../domain/vm-pools";
import { claimPools } from "./ips";
import { condition } from "./pools";
import { boundCondition, hasBoundCondition } from "../domain/claims";
import { EXPOSE_ANNOTATION } from "../domain/keys";

export type Mark = "ok" | "problem" | "info";

export interface Line {
  mark: Mark;
  text: string;
}

/** bound: the NIC has its pool address; unbound: it should have one and has not; none: no pool address by design. */
export type Verdict = "bound" | "unbound" | "none";

export interface InterfaceExplanation {
  interface: string;
  verdict: Verdict;
  /** One line: the address, or why there is none. */
  summary: string;
  lines: Line[];
}

export interface VmExplanation {
  /** namespace/name */
  vm: string;
  found: boolean;
  lines: Line[];
  interfaces: InterfaceExplanation[];
}

export interface WhyInput {
  namespace: string;
  name: string;
  /** undefined when the VM does not exist. */
  vm?: VirtualMachine;
  /** Labels of the VM's namespace (its name label is added). */
  namespaceLabels?: Record<string, string>;
  pools: IPPool[];
  /** NADs the VM's networks may name (any namespace). */
  nads: NetworkAttachmentDefinition[];
  /** IPClaims of the VM's namespace (at least this VM's). */
  claims: IPClaim[];
  /** IPAllocation records of this VM's claims; undefined when not looked up (then not checked). */
  allocations?: IPAllocation[];
}

interface IfaceCtx {
  input: WhyInput;
  nic: IfaceEntry;
  network?: string;
  nad?: NetworkAttachmentDefinition;
  /** Pools listing the network in spec.networks. */
  serving: IPPool[];
  /** Of those, the ones whose namespaceSelector selects the VM's namespace. */
  permitted: IPPool[];
  claim?: IPClaim;
  /** The NIC's pools by the rule the operator follows (pool-choice.ts). */
  choice?: NicPools;
  /** Pools the VM chose for the NIC with vmnet.io/pools. */
  chosen: string[];
}

interface Outcome {
  verdict: Verdict;
  summary: string;
}

interface StepResult {
  lines: Line[];
  /** Set when the explanation ends at this step. */
  stop?: Outcome;
}

type Step = (ctx: IfaceCtx) => StepResult;

const MARKS: Record<Mark, string> = { ok: "✓", problem: "✗", info: "·" };

const ok = (text: string): Line => ({ mark: "ok", text });
const problem = (text: string): Line => ({ mark: "problem", text });
const info = (text: string): Line => ({ mark: "info", text });
const noAddress = (summary = "no address"): Outcome => ({ verdict: "unbound", summary });
const noPoolAddress = (summary: string): Outcome => ({ verdict: "none", summary });

/** Explains every interface of the VM. */
export function explainVm(input: WhyInput): VmExplanation {
  const ref = `${input.namespace}/${input.name}`;
  if (!input.vm) {
    return { vm: ref, found: false, lines: [problem(`VirtualMachine ${ref} does not exist`)], interfaces: [] };
  }
  const nics = vmNics(input.vm);
  const lines: Line[] = [];
  if (input.vm.metadata?.deletionTimestamp) {
    lines.push(info("the VM is being deleted: its addresses are released, or kept under reclaimPolicy Retain, once it is gone"));
  }
  if (nics.length === 0) {
    lines.push(info("the VM lists no interfaces: KubeVirt gives it one masquerade NIC on the pod network, which gets no IPPool address"));
  }
  return { vm: ref, found: true, lines, interfaces: nics.map(nic => explainInterface(ifaceContext(input, nic))) };
}

const STEPS: Step[] = [bindingStep, nadStep, poolStep, choiceStep, nadReadinessStep, capacityStep, claimStep];

function explainInterface(ctx: IfaceCtx): InterfaceExplanation {
  const lines: Line[] = [];
  for (const step of STEPS) {
    const result = step(ctx);
    lines.push(...result.lines);
    if (result.stop) return { interface: ctx.nic.name, ...withCaveat(result.stop, lines), lines };
  }
  return { interface: ctx.nic.name, ...noAddress(), lines };
}

/** A bound NIC with a problem on the way (a NAD that cannot apply the address) says so up front. */
function withCaveat(outcome: Outcome, lines: Line[]): Outcome {
  if (outcome.verdict !== "bound" || !lines.some(l => l.mark === "problem")) return outcome;
  return { ...outcome, summary: `${outcome.summary}, but see the problems marked ${MARKS.problem}` };
}

function ifaceContext(input: WhyInput, nic: IfaceEntry): IfaceCtx {
  const ctx: IfaceCtx = { input, nic, serving: [], permitted: [], chosen: [] };
  const parsed = nic.network?.ref; // set for Multus networks only
  if (!parsed || "error" in parsed) return ctx;
  ctx.network = parsed.qualified;
  ctx.nad = input.nads.find(n => n.metadata?.namespace === parsed.namespace && n.metadata?.name === parsed.name);
  ctx.serving = input.pools
    .filter(p => p.spec?.networks?.includes(parsed.qualified) && !p.metadata?.deletionTimestamp)
    .sort((a, b) => poolName(a).localeCompare(poolName(b)));
  const labels = effectiveNamespaceLabels(input.namespace, input.namespaceLabels);
  ctx.permitted = ctx.serving.filter(p => selectorMatches(p.spec?.namespaceSelector, labels));
  ctx.claim = input.claims.find(c => c.metadata?.namespace === input.namespace && c.metadata?.name === `${input.name}.${nic.name}`);
  const choices = poolChoicesOf(input.vm?.metadata?.annotations);
  ctx.chosen = (choices.ok ? choices.choices.get(nic.name) : undefined) ?? [];
  const held = ctx.claim?.status?.addresses?.length ? claimPools(ctx.claim) : undefined;
  ctx.choice = nicPools({ network: ctx.network, namespace: input.namespace, chosen: ctx.chosen, held }, poolSnapshot(input));
  return ctx;
}

/** The explanation's input as the pool rule reads a cluster. */
function poolSnapshot(input: WhyInput): PoolSnapshot {
  return {
    poolsForNetwork: network => input.pools.filter(p => p.spec?.networks?.includes(network)),
    pool: name => input.pools.find(p => p.metadata?.name === name),
    pools: () => input.pools,
    nad: (namespace, name) => input.nads.find(n => n.metadata?.namespace === namespace && n.metadata?.name === name),
    namespaceLabels: () => input.namespaceLabels,
  };
}

// ---- 1. binding and network ---------------------------------------------------------------

function bindingStep(ctx: IfaceCtx): StepResult {
  const { nic } = ctx;
  const binding = nic.bindings.join("+") || "no binding";
  if (nic.network?.kind === "pod") return podNetworkStep(ctx, binding);
  if (nic.network?.kind !== "multus") {
    const text = `interface ${nic.name} has no network named ${nic.name} in spec.template.spec.networks: add one (KubeVirt refuses the VM without it)`;
    return { lines: [problem(text)], stop: noAddress() };
  }
  if (!ctx.network) {
    const text = `interface ${nic.name} names Multus network "${nic.network.networkName ?? ""}", which is not a valid "name" or "namespace/name"`;
    return { lines: [problem(text)], stop: noAddress() };
  }
  if (soleBinding(nic) !== "bridge") {
    const text = `interface ${nic.name} uses the ${binding} binding on Multus network ${ctx.network}: only bridge NICs get an IPPool address; use bridge: {} for a fixed address`;
    return { lines: [info(text)], stop: noPoolAddress(`no IPPool address (${binding} binding)`) };
  }
  return { lines: [ok(`interface ${nic.name} is a bridge NIC on Multus network ${ctx.network}`)] };
}

function podNetworkStep(ctx: IfaceCtx, binding: string): StepResult {
  const { nic } = ctx;
  if (soleBinding(nic) !== "masquerade") {
    const text = `interface ${nic.name} uses the ${binding} binding on the pod network: it gets the pod's IP from the cluster's CNI, not an IPPool address; put it on a Multus network for a fixed address`;
    return { lines: [info(text)], stop: noPoolAddress(`no IPPool address (pod network, ${binding})`) };
  }
  const lines = [
    info(
      `interface ${nic.name} uses masquerade on the pod network: the guest sees 10.0.2.2/24 behind the pod's IP, and masquerade NICs get no IPPool address`,
    ),
    exposeLine(ctx.input.vm),
  ];
  return { lines, stop: noPoolAddress("no IPPool address (masquerade on the pod network)") };
}

function exposeLine(vm: VirtualMachine | undefined): Line {
  const expose = vm?.metadata?.annotations?.[EXPOSE_ANNOTATION];
  if (expose)
    return info(
      `annotation ${EXPOSE_ANNOTATION}: ${expose}: Service ${vm?.metadata?.name} gives the VM one stable address across restarts and migrations`,
    );
  return info(
    `for one stable address across restarts and migrations, annotate the VM with ${EXPOSE_ANNOTATION}: ClusterIP (or NodePort, LoadBalancer)`,
  );
}

// ---- 2. the NetworkAttachmentDefinition -----------------------------------------------------

function nadStep(ctx: IfaceCtx): StepResult {
  if (ctx.nad) return { lines: [ok(`NetworkAttachmentDefinition ${ctx.network} exists`)] };
  return {
    lines: [
      problem(
        `NetworkAttachmentDefinition ${ctx.network} does not exist: create it (the VM's pod cannot start without it, and the pool reports Ready=False)`,
      ),
    ],
  };
}

// ---- 3. pools serving the network, and their namespaceSelector --------------------------------

function poolStep(ctx: IfaceCtx): StepResult {
  const ns = ctx.input.namespace;
  if (ctx.serving.length === 0) {
    return {
      lines: [problem(`no IPPool serves network ${ctx.network}: add it to an IPPool's spec.networks`)],
      stop: noAddress("no address: no IPPool serves its network"),
    };
  }
  const lines = ctx.serving.map(p =>
    ctx.permitted.includes(p)
      ? ok(
          `IPPool ${poolName(p)} (${p.spec?.cidr}) serves network ${ctx.network} and its namespaceSelector ${selectorText(p)} selects namespace ${ns}`,
        )
      : problem(
          `IPPool ${poolName(p)} serves network ${ctx.network}, but its namespaceSelector ${describeSelector(p.spec?.namespaceSelector)} does not select namespace ${ns} (labels ${labelsText(ctx.input)}): ask the pool's owner to select it, or use a network whose pool serves this namespace`,
        ),
  );
  if (ctx.permitted.length === 0) return { lines, stop: noAddress("no address: no IPPool of its network selects this namespace") };
  return { lines };
}

// ---- 3b. which of the pools: the NIC's choice (vmnet.io/pools), else the network's default --------

function choiceStep(ctx: IfaceCtx): StepResult {
  const choice = ctx.choice;
  if (!choice || ctx.permitted.length === 0 || plainChoice(ctx, choice)) return { lines: [] };
  const lines = choice.problems.map(p => problem(p.message));
  if (choice.kept)
    lines.push(info(`the NIC keeps IPPool ${choice.kept.map(p => String(p.metadata?.name)).join(", ")}, whose addresses it holds`));
  lines.push(...choice.pools.map(p => choiceLine(ctx, p)));
  if (!choice.pools.length && !choice.kept) return { lines, stop: noAddress("no address: no pool for it (see ✗)") };
  return { lines };
}

/** One pool per family and no choice: the pool lines above say it all. */
function plainChoice(ctx: IfaceCtx, choice: NicPools): boolean {
  return ctx.permitted.length < 2 && !ctx.chosen.length && !choice.problems.length && !choice.kept;
}

function choiceLine(ctx: IfaceCtx, pool: IPPoolLike): Line {
  const name = String(pool.metadata?.name);
  if (ctx.chosen.includes(name)) return ok(`annotation ${POOLS_ANNOTATION} chooses IPPool ${name} for interface ${ctx.nic.name}`);
  return ok(
    `IPPool ${name} is the network's default ${pool.spec?.cidr?.includes(":") ? "IPv6" : "IPv4"} pool for namespace ${ctx.input.namespace}`,
  );
}

function selectorText(pool: IPPool): string {
  const selector = pool.spec?.namespaceSelector;
  const empty = !selector || (!selector.matchLabels && !selector.matchExpressions?.length) || describeSelector(selector) === "{}";
  return empty ? "(empty, every namespace)" : describeSelector(selector);
}

function labelsText(input: WhyInput): string {
  return JSON.stringify(effectiveNamespaceLabels(input.namespace, input.namespaceLabels));
}

// ---- 4. the NAD can carry a fixed address -----------------------------------------------------

function nadReadinessStep(ctx: IfaceCtx): StepResult {
  if (!ctx.nad) return { lines: [] };
  const readiness = nadPoolReadiness(ctx.nad.spec?.config);
  if (readiness.ready) {
    return {
      lines: [ok(`NetworkAttachmentDefinition ${ctx.network} can apply the pool's address and MAC (static IPAM with the ips capability)`)],
    };
  }
  const text = `NetworkAttachmentDefinition ${ctx.network} cannot apply the pool's address: ${readiness.reason}; until then the pod's interface does not get the address`;
  return { lines: [problem(text)] };
}

// ---- 5. free addresses ----------------------------------------------------------------------

function capacityStep(ctx: IfaceCtx): StepResult {
  return { lines: poolsInUse(ctx).flatMap(p => [...readyLines(p, ctx.network), ...capacityLines(p, isBound(ctx.claim))]) };
}

/** The claim's pools when it names them, else the pools the operator would pick (one per family). */
function poolsInUse(ctx: IfaceCtx): IPPool[] {
  const named = claimPools(ctx.claim);
  if (named.length) return ctx.permitted.filter(p => named.includes(poolName(p)));
  return (ctx.choice?.pools ?? []) as IPPool[];
}

/** The pool's Ready=False, unless it only repeats what the NAD checks above said of this network. */
function readyLines(pool: IPPool, network: string | undefined): Line[] {
  const ready = condition(pool, "Ready");
  if (ready?.status !== "False") return [];
  const nads = [...(ready.message ?? "").matchAll(/NetworkAttachmentDefinition ([a-z0-9.-]+\/[a-z0-9.-]+)/g)].map(m => m[1]);
  if (ready.reason === "NetworkNotReady" && nads.length > 0 && nads.every(n => n === network)) return [];
  const line = ready.reason === "InvalidSpec" ? problem : info;
  return [line(`IPPool ${poolName(pool)} reports Ready=False (${ready.reason}): ${ready.message}`)];
}

function capacityLines(pool: IPPool, bound: boolean): Line[] {
  const name = poolName(pool);
  const lines: Line[] = [];
  const { capacity, available } = pool.status ?? {};
  const exhausted = condition(pool, "Exhausted")?.status === "True" || (capacity !== undefined && available === 0);
  if (capacity === undefined) lines.push(info(`IPPool ${name} has no status yet: is the operator running?`));
  else if (!exhausted) lines.push(ok(`IPPool ${name} has ${available} of ${capacity} addresses free`));
  else if (bound)
    lines.push(info(`IPPool ${name} is exhausted (all ${capacity} addresses allocated), but this NIC already holds its address`));
  else
    lines.push(
      problem(
        `IPPool ${name} is exhausted: all ${capacity} addresses are allocated: widen its spec.ranges or free addresses (delete VMs, or IPClaims retained by reclaimPolicy Retain)`,
      ),
    );
  return lines;
}

// ---- 6. the claim and its records ------------------------------------------------------------

const REASON_HINTS: Record<string, string> = {
  Conflict: "request another address in annotation vmnet.io/addresses, or remove it to take any free one",
  Exhausted: "the operator binds it as soon as an address is free",
  InvalidRequest: "fix annotation vmnet.io/addresses",
  InvalidInterface: "fix the VM's interface or network as the message says; the operator binds it then",
  NetworkNotReady: "fix the network or pool named above; the operator retries",
};

function claimStep(ctx: IfaceCtx): StepResult {
  const claim = ctx.claim;
  const name = `IPClaim ${ctx.input.name}.${ctx.nic.name}`;
  if (!claim) {
    return {
      lines: [problem(`${name} does not exist yet: the operator has not reconciled the VM; check that the operator is running`)],
      stop: noAddress(),
    };
  }
  if (claim.status?.released) {
    return {
      lines: [problem(`${name} is released (its VM was deleted under reclaimPolicy Retain); re-creating the VM adopts it`)],
      stop: noAddress(),
    };
  }
  const bound = boundCondition(claim);
  if (!bound) return { lines: [info(`${name} exists but has not been bound yet`)], stop: noAddress("no address yet") };
  if (bound.status !== "True") {
    const hint = REASON_HINTS[bound.reason] ? `; ${REASON_HINTS[bound.reason]}` : "";
    return {
      lines: [problem(`${name} is not bound: ${bound.reason}: ${bound.message}${hint}`)],
      stop: noAddress(`no address: ${bound.reason}`),
    };
  }
  return boundLines(ctx, claim, name, bound.reason);
}

function boundLines(ctx: IfaceCtx, claim: IPClaim, name: string, reason: string): StepResult {
  const { addresses = [], mac = "(none)", gateway } = claim.status ?? {};
  const pools = claimPools(claim);
  const lines = [
    ok(`${name} is Bound (${reason})`),
    ok(`address ${addresses.join(", ") || "(none)"}, MAC ${mac}${gateway ? `, gateway ${gateway}` : ""}`),
    ...addresses.map((address, i) => recordLine(ctx, claim, pools[i] ?? pools[0], address)),
  ];
  return { lines, stop: { verdict: "bound", summary: `${addresses.join(", ")} (MAC ${mac})` } };
}

/** Names the IPAllocation record of an address, and checks it when the records were looked up. */
function recordLine(ctx: IfaceCtx, claim: IPClaim, pool: string | undefined, address: string): Line {
  const record = recordName(pool, address);
  if (!record) return info(`the IPAllocation record of ${address} cannot be named (pool ${pool ?? "unknown"})`);
  if (!ctx.input.allocations) return ok(`recorded by IPAllocation ${record}`);
  const found = ctx.input.allocations.find(a => a.metadata?.name === record);
  const ref = found?.spec?.claimRef;
  if (!ref) return problem(`IPAllocation ${record} is missing: the address is not reserved; the operator re-creates it on its next resync`);
  if (ref.namespace !== claim.metadata?.namespace || ref.name !== claim.metadata?.name) {
    return problem(`IPAllocation ${record} belongs to IPClaim ${ref.namespace}/${ref.name}, not to this NIC: the address is held twice`);
  }
  return ok(`recorded by IPAllocation ${record}`);
}

function recordName(pool: string | undefined, address: string): string | undefined {
  if (!pool) return undefined;
  try {
    return allocationName(pool, address.split("/")[0]);
  } catch {
    return undefined;
  }
}

/** Names of the IPAllocation records a bound claim should have (for the CLI to look up). */
export function expectedRecords(claim: IPClaim): string[] {
  const pools = claimPools(claim);
  return (claim.status?.addresses ?? []).map((a, i) => recordName(pools[i] ?? pools[0], a)).filter((n): n is string => n !== undefined);
}

function isBound(claim: IPClaim | undefined): boolean {
  return !claim?.status?.released && hasBoundCondition(claim);
}

function poolName(pool: IPPool): string {
  return String(pool.metadata?.name ?? "");
}

// ---- rendering -------------------------------------------------------------------------------

/** The explanation as text lines for a terminal. */
export function renderExplanation(e: VmExplanation): string[] {
  const out = [`VirtualMachine ${e.vm}`, ...e.lines.map(l => `  ${MARKS[l.mark]} ${l.text}`)];
  for (const i of e.interfaces) {
    out.push("", `interface ${i.interface}: ${i.summary}`, ...i.lines.map(l => `  ${MARKS[l.mark]} ${l.text}`));
  }
  return out;
}
