// kubectl-vmnet: a kubectl plugin (`kubectl vmnet <command>`) showing pools, VM NIC addresses and
// why a NIC has, or has not, an address, and an audit of the pools (check). It only reads, except
// `check --fix`; the logic lives in capabilities/explain and capabilities/audit. Shipped as one
// bundled file (npm run plugin -> dist/kubectl-vmnet) that runs on plain node with no checkout.
import { parseArgs } from "node:util";
import type { IPAllocation } from "../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../capabilities/api/ippool-v1alpha1";
import type { VirtualMachine } from "../capabilities/api/external/kubevirt";
import type { NetworkAttachmentDefinition } from "../capabilities/api/external/multus";
import { parseNetworkRef } from "../capabilities/domain/names";
import { IPS_HEADERS, nicRows } from "../capabilities/explain/ips";
import { POOL_HEADERS, poolRows } from "../capabilities/explain/pools";
import { CheckScope, checkSnapshot, safeFixes } from "../capabilities/audit/check";
import type { Snapshot } from "../capabilities/audit/invariants";
import { Format, parseFormat, renderCheck, rowsToRecords, serialize, UnknownFormatError } from "../capabilities/explain/output";
import { formatTable } from "../capabilities/explain/table";
import { expectedRecords, explainVm, renderExplanation, WhyInput } from "../capabilities/explain/why";
import type { KubeClient, KubeObject } from "../capabilities/k8s/client";
import { ApiError } from "../capabilities/k8s/errors";
import { Kinds } from "../capabilities/k8s/kinds";

const HELP = `kubectl vmnet: fixed IP and MAC addresses of KubeVirt VM NICs (vmnet-operator)

Usage:
  kubectl vmnet pools [-o FORMAT]                IPPools with capacity, allocated, available and readiness
  kubectl vmnet ips [-n NS | -A] [VM] [-o FORMAT] VM NICs with their network, pool, addresses, MAC and state
  kubectl vmnet why VM [-n NS] [-o FORMAT]       why each interface of a VM has, or has no, address
  kubectl vmnet check [-n NS | -A] [--fix]       audit claims, IPAllocations, pool counts and launcher pods

Flags:
  -n, --namespace NS     namespace (default: the kubeconfig context's, else "default")
  -A, --all-namespaces   every namespace (ips, check)
  -o, --output FORMAT    table (default), json or yaml
      --kubeconfig PATH  kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME     kubeconfig context (default: the current one)
  -h, --help             this help; \`kubectl vmnet VERB --help\` for one verb

Exit codes: 0 done and nothing wrong; 1 could not run (usage, API server, object not found);
2 ran and found problems (why printed a ✗, check found an inconsistency).
`;

const VERB_HELP: Record<string, string> = {
  pools: `kubectl vmnet pools [-o table|json|yaml]

Lists every IPPool (cluster-scoped): CIDR, networks served, capacity, allocated and available
addresses, readiness (with its message when not ready) and reclaim policy.`,
  ips: `kubectl vmnet ips [-n NAMESPACE | -A] [VM] [-o table|json|yaml]

Lists the NICs of the VMs of a namespace (or every namespace with -A): network, pool,
addresses, MAC and the claim's state. A VM name narrows the list to that VM.`,
  why: `kubectl vmnet why VM [-n NAMESPACE] [-o table|json|yaml]

Explains, interface by interface, why a VM's NIC has its address or why it has none: the
NetworkAttachmentDefinition, the pool serving it, the namespace selector, the claim and its
IPAllocation records. Exits 2 when a line is marked ✗ (a problem), 1 when the VM is not found.`,
  check: `kubectl vmnet check [-n NAMESPACE | -A] [--fix] [-o table|json|yaml]

Audits the pools: every VM NIC on a pool-backed network has a Bound claim; no address or MAC is
shown by two claims; every held address has its IPAllocation and every IPAllocation a claim
holding it (no leaks, no stale records); addresses lie inside their pool and are not reserved;
pools' status.allocated matches their records; every running virt-launcher pod carries (in its
k8s.v1.cni.cncf.io/networks annotation, and in Multus's network-status where present) only
addresses its VM's claims hold, and their MACs. One line per problem with what to do; exits 2
when it finds any, 0 when clean.

--fix makes only the repair that is safe without a person deciding: it deletes IPAllocations
whose claim no longer exists (confirmed by a fresh read of the claim, deleted with the record's
uid as precondition). Everything else is reported, not touched.`,
};

/** A failure the user can act on: printed without a stack trace, exit code 1. */
class UsageError extends Error {}

/** Exit codes, as the help text says. */
export const EXIT = { ok: 0, failed: 1, problems: 2 } as const;

interface Options {
  command?: string;
  args: string[];
  namespace?: string;
  allNamespaces: boolean;
  help: boolean;
  output: Format;
  context?: string;
  fix: boolean;
}

interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        namespace: { type: "string", short: "n" },
        "all-namespaces": { type: "boolean", short: "A", default: false },
        output: { type: "string", short: "o" },
        kubeconfig: { type: "string" },
        context: { type: "string" },
        fix: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    // Node's parser words it for programmers ("Unknown option '--x'. To specify a positional ..."): keep its first sentence.
    throw new UsageError(`${String((err as Error).message).split(". ")[0]} (see kubectl vmnet --help)`);
  }
  const { values, positionals } = parsed;
  if (values.kubeconfig) process.env.KUBECONFIG = values.kubeconfig;
  const [command, ...args] = positionals;
  return {
    command,
    args,
    namespace: values.namespace,
    allNamespaces: values["all-namespaces"] ?? false,
    help: values.help ?? false,
    output: parseFormat(values.output),
    context: values.context,
    fix: values.fix ?? false,
  };
}

/** The namespace of the kubeconfig's (chosen) context, as kubectl defaults to it. */
async function contextNamespace(context?: string): Promise<string> {
  const { KubeClient } = await import("../capabilities/k8s/client");
  return KubeClient.contextNamespace(context);
}

// The Kubernetes client is loaded only when a verb talks to the API server: --help and usage
// errors answer at once, without parsing @kubernetes/client-node (most of the start time).
async function connect(opts: Options): Promise<KubeClient> {
  const { KubeClient } = await import("../capabilities/k8s/client");
  const client = await KubeClient.fromDefault(4, undefined, opts.context);
  client.maxAttempts = 3; // a person is waiting: fail within seconds when the server is down
  return client;
}

function printRows(io: Output, opts: Options, headers: string[], rows: (string | number | undefined)[][]): void {
  io.out(opts.output === "table" ? formatTable(headers, rows) : serialize(opts.output, { items: rowsToRecords(headers, rows) }));
}

// ---- commands --------------------------------------------------------------------------------

async function pools(client: KubeClient, opts: Options, io: Output): Promise<number> {
  if (opts.args.length) throw new UsageError(`pools takes no arguments, got: ${opts.args.join(" ")}`);
  const { items } = await client.list<IPPool>(Kinds.IPPool);
  if (!items.length && opts.output === "table") io.err("No IPPools found.");
  else printRows(io, opts, POOL_HEADERS, poolRows(items));
  return EXIT.ok;
}

async function ips(client: KubeClient, opts: Options, io: Output): Promise<number> {
  if (opts.args.length > 1) throw new UsageError(`ips takes at most one VM name, got: ${opts.args.join(" ")}`);
  if (opts.allNamespaces && opts.namespace) throw new UsageError("use either -n NAMESPACE or -A, not both");
  const namespace = opts.allNamespaces ? undefined : (opts.namespace ?? (await contextNamespace(opts.context)));
  const [vms, claims, poolList] = await Promise.all([
    client.list<VirtualMachine>(Kinds.VirtualMachine, { namespace }),
    client.list<IPClaim>(Kinds.IPClaim, { namespace }),
    client.list<IPPool>(Kinds.IPPool),
  ]);
  const rows = nicRows({ vms: vms.items, claims: claims.items, pools: poolList.items, vm: opts.args[0] });
  if (!rows.length && opts.output === "table")
    io.err(`No VM NICs found${opts.args[0] ? ` for VM ${opts.args[0]}` : ""}${namespace ? ` in namespace ${namespace}` : ""}.`);
  else printRows(io, opts, IPS_HEADERS, rows);
  return EXIT.ok;
}

async function why(client: KubeClient, opts: Options, io: Output): Promise<number> {
  if (opts.args.length !== 1) throw new UsageError("why takes one VM name: kubectl vmnet why VM [-n NAMESPACE]");
  if (opts.allNamespaces) throw new UsageError("why works in one namespace: use -n NAMESPACE, not -A");
  const input = await whyInput(client, opts.namespace ?? (await contextNamespace(opts.context)), opts.args[0]);
  const explanation = explainVm(input);
  if (!explanation.found) throw new UsageError(`VirtualMachine "${input.name}" not found in namespace "${input.namespace}"`);
  io.out(opts.output === "table" ? renderExplanation(explanation).join("\n") : serialize(opts.output, explanation));
  const failed = [...explanation.lines, ...explanation.interfaces.flatMap(i => i.lines)].some(l => l.mark === "problem");
  return failed ? EXIT.problems : EXIT.ok;
}

async function check(client: KubeClient, opts: Options, io: Output): Promise<number> {
  if (opts.args.length) throw new UsageError(`check takes no arguments, got: ${opts.args.join(" ")}`);
  if (opts.allNamespaces && opts.namespace) throw new UsageError("use either -n NAMESPACE or -A, not both");
  const scope = { namespace: opts.allNamespaces ? undefined : (opts.namespace ?? (await contextNamespace(opts.context))) };
  let s = await auditSnapshot(client, scope.namespace);
  const fixed = opts.fix ? await fixLeaks(client, s, scope) : [];
  if (fixed.length) s = await auditSnapshot(client, scope.namespace);
  const findings = checkSnapshot(s, scope);
  const counted = { claims: s.claims.length, allocations: s.allocations.length, pools: s.pools.length, pods: s.pods?.length ?? 0 };
  io.out(renderCheck(opts.output, { findings, fixed, counted }));
  return findings.length ? EXIT.problems : EXIT.ok;
}

/** `check --fix`: deletes the records safeFixes names whose claim is still gone; returns their names. */
async function fixLeaks(client: KubeClient, s: Snapshot, scope: CheckScope): Promise<string[]> {
  const fixed: string[] = [];
  for (const record of safeFixes(s, scope)) if (await fixLeak(client, record)) fixed.push(record.metadata?.name as string);
  return fixed;
}

/** Everything the audit reads, listed from the API server (VMs of every namespace; launcher pods of the scope). */
async function auditSnapshot(client: KubeClient, namespace: string | undefined): Promise<Snapshot> {
  const [claims, allocations, poolList, vms, pods] = await Promise.all([
    client.list<IPClaim>(Kinds.IPClaim),
    client.list<IPAllocation>(Kinds.IPAllocation),
    client.list<IPPool>(Kinds.IPPool),
    client.list<KubeObject>(Kinds.VirtualMachine),
    client.list<KubeObject>(Kinds.Pod, { namespace, labelSelector: "kubevirt.io=virt-launcher" }),
  ]);
  return { claims: claims.items, allocations: allocations.items, pools: poolList.items, vms: vms.items, pods: pods.items };
}

/** Deletes a leaked record once a fresh read confirms its claim is still gone; the uid precondition spares a re-created record. */
async function fixLeak(client: KubeClient, record: IPAllocation): Promise<boolean> {
  const ref = record.spec!.claimRef;
  if (await client.getOrUndefined<IPClaim>(Kinds.IPClaim, ref.name, ref.namespace)) return false;
  await client.delete(Kinds.IPAllocation, record.metadata?.name as string, undefined, { uid: record.metadata?.uid });
  return true;
}

/** Reads what the explanation needs: the VM, its namespace, pools, its NADs, claims and records. */
async function whyInput(client: KubeClient, namespace: string, name: string): Promise<WhyInput> {
  const [vm, ns, poolList] = await Promise.all([
    client.getOrUndefined<VirtualMachine>(Kinds.VirtualMachine, name, namespace),
    client.getOrUndefined<KubeObject>(Kinds.Namespace, namespace),
    client.list<IPPool>(Kinds.IPPool),
  ]);
  const base: WhyInput = { namespace, name, vm, namespaceLabels: ns?.metadata?.labels, pools: poolList.items, nads: [], claims: [] };
  if (!vm) return base;
  const spec = vm.spec?.template?.spec;
  const networks = spec?.networks ?? [];
  const interfaces = spec?.domain?.devices?.interfaces ?? [];
  const [nads, claims] = await Promise.all([
    present(networks.map(n => nadOf(client, n.multus?.networkName, namespace))),
    present(interfaces.map(i => client.getOrUndefined<IPClaim>(Kinds.IPClaim, `${name}.${i.name}`, namespace))),
  ]);
  const allocations = await present(claims.flatMap(expectedRecords).map(r => client.getOrUndefined<IPAllocation>(Kinds.IPAllocation, r)));
  return { ...base, nads, claims, allocations };
}

function nadOf(client: KubeClient, networkName: string | undefined, namespace: string): Promise<NetworkAttachmentDefinition | undefined> {
  const ref = networkName === undefined ? undefined : parseNetworkRef(networkName, namespace);
  if (!ref || "error" in ref) return Promise.resolve(undefined);
  return client.getOrUndefined<NetworkAttachmentDefinition>(Kinds.NetworkAttachmentDefinition, ref.name, ref.namespace);
}

/** The values of lookups already under way, without the absent ones. */
async function present<T>(lookups: Promise<T | undefined>[]): Promise<T[]> {
  const found: T[] = [];
  for (const lookup of lookups) {
    const value = await lookup;
    if (value !== undefined) found.push(value);
  }
  return found;
}

// ---- entry point -----------------------------------------------------------------------------

const COMMANDS: Record<string, (client: KubeClient, opts: Options, io: Output) => Promise<number>> = { pools, ips, why, check };

/** Runs the plugin; returns the exit code. */
export async function main(argv: string[], io: Output = defaultOutput()): Promise<number> {
  try {
    const opts = parseOptions(argv);
    if (opts.command === "help") return printHelp(io.out, VERB_HELP[opts.args[0]] ?? HELP, EXIT.ok);
    if (opts.help) return printHelp(io.out, (opts.command && VERB_HELP[opts.command]) || HELP, EXIT.ok);
    if (!opts.command) return printHelp(io.err, HELP, EXIT.failed);
    const run = COMMANDS[opts.command];
    if (!run) throw new UsageError(`unknown command "${opts.command}": use pools, ips, why or check (kubectl vmnet --help)`);
    if (opts.fix && opts.command !== "check") throw new UsageError("--fix belongs to check");
    const client = await connect(opts);
    try {
      return await run(client, opts, io);
    } finally {
      await client.close();
    }
  } catch (err) {
    io.err(`error: ${errorMessage(err)}`);
    return EXIT.failed;
  }
}

function printHelp(write: (text: string) => void, text: string, code: number): number {
  write(text.trimEnd());
  return code;
}

function errorMessage(err: unknown): string {
  if (err instanceof ApiError && err.status === 404) return `${err.message} (are the vmnet-operator and KubeVirt CRDs installed?)`;
  if (err instanceof UnknownFormatError) return err.message;
  if (err instanceof ApiError && err.status === 0) return `cannot reach the API server: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

function defaultOutput(): Output {
  return { out: text => process.stdout.write(`${text}\n`), err: text => process.stderr.write(`${text}\n`) };
}

if (require.main === module) {
  void main(process.argv.slice(2)).then(code => {
    process.exitCode = code;
  });
}
