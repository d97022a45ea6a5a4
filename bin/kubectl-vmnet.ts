// kubectl-vmnet: a kubectl plugin (`kubectl vmnet <command>`) showing pools, VM NIC addresses and
// why a NIC has, or has not, an address. It only reads; the logic lives in capabilities/explain.
import { KubeConfig } from "@kubernetes/client-node";
import { parseArgs } from "node:util";
import type { IPAllocation } from "../capabilities/api/ipallocation-v1alpha1";
import type { IPClaim } from "../capabilities/api/ipclaim-v1alpha1";
import type { IPPool } from "../capabilities/api/ippool-v1alpha1";
import type { VirtualMachine } from "../capabilities/api/external/kubevirt";
import type { NetworkAttachmentDefinition } from "../capabilities/api/external/multus";
import { parseNetworkRef } from "../capabilities/admission/names";
import { IPS_HEADERS, nicRows } from "../capabilities/explain/ips";
import { POOL_HEADERS, poolRows } from "../capabilities/explain/pools";
import { formatTable } from "../capabilities/explain/table";
import { expectedRecords, explainVm, renderExplanation, WhyInput } from "../capabilities/explain/why";
import { KubeClient, KubeObject } from "../capabilities/k8s/client";
import { ApiError } from "../capabilities/k8s/errors";
import { Kinds } from "../capabilities/k8s/kinds";

const HELP = `kubectl vmnet: fixed IP and MAC addresses of KubeVirt VM NICs (vmnet-operator)

Usage:
  kubectl vmnet pools                      IPPools with capacity, allocated, available and readiness
  kubectl vmnet ips [-n NS | -A] [VM]      VM NICs with their network, pool, addresses, MAC and state
  kubectl vmnet why VM [-n NS]             why each interface of a VM has, or has no, address

Flags:
  -n, --namespace NS     namespace (default: the kubeconfig context's, else "default")
  -A, --all-namespaces   every namespace (ips)
      --kubeconfig PATH  kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
  -h, --help             this help
`;

/** A failure the user can act on: printed without a stack trace, exit code 1. */
class UsageError extends Error {}

interface Options {
  command?: string;
  args: string[];
  namespace?: string;
  allNamespaces: boolean;
  help: boolean;
}

interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: "string", short: "n" },
      "all-namespaces": { type: "boolean", short: "A", default: false },
      kubeconfig: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.kubeconfig) process.env.KUBECONFIG = values.kubeconfig;
  const [command, ...args] = positionals;
  return { command, args, namespace: values.namespace, allNamespaces: values["all-namespaces"] ?? false, help: values.help ?? false };
}

/** The namespace of the kubeconfig's current context, as kubectl defaults to it. */
function contextNamespace(): string {
  try {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return kc.getContextObject(kc.getCurrentContext())?.namespace || "default";
  } catch {
    return "default";
  }
}

async function connect(): Promise<KubeClient> {
  const client = await KubeClient.fromDefault(4);
  client.maxAttempts = 3; // a person is waiting: fail within seconds when the server is down
  return client;
}

// ---- commands --------------------------------------------------------------------------------

async function pools(client: KubeClient, opts: Options, io: Output): Promise<void> {
  if (opts.args.length) throw new UsageError(`pools takes no arguments, got: ${opts.args.join(" ")}`);
  const { items } = await client.list<IPPool>(Kinds.IPPool);
  if (!items.length) return io.err("No IPPools found.");
  io.out(formatTable(POOL_HEADERS, poolRows(items)));
}

async function ips(client: KubeClient, opts: Options, io: Output): Promise<void> {
  if (opts.args.length > 1) throw new UsageError(`ips takes at most one VM name, got: ${opts.args.join(" ")}`);
  if (opts.allNamespaces && opts.namespace) throw new UsageError("use either -n NAMESPACE or -A, not both");
  const namespace = opts.allNamespaces ? undefined : (opts.namespace ?? contextNamespace());
  const [vms, claims, poolList] = await Promise.all([
    client.list<VirtualMachine>(Kinds.VirtualMachine, { namespace }),
    client.list<IPClaim>(Kinds.IPClaim, { namespace }),
    client.list<IPPool>(Kinds.IPPool),
  ]);
  const rows = nicRows({ vms: vms.items, claims: claims.items, pools: poolList.items, vm: opts.args[0] });
  if (!rows.length) return io.err(`No VM NICs found${opts.args[0] ? ` for VM ${opts.args[0]}` : ""}${namespace ? ` in namespace ${namespace}` : ""}.`);
  io.out(formatTable(IPS_HEADERS, rows));
}

async function why(client: KubeClient, opts: Options, io: Output): Promise<void> {
  if (opts.args.length !== 1) throw new UsageError("why takes one VM name: kubectl vmnet why VM [-n NAMESPACE]");
  if (opts.allNamespaces) throw new UsageError("why works in one namespace: use -n NAMESPACE, not -A");
  const input = await whyInput(client, opts.namespace ?? contextNamespace(), opts.args[0]);
  const explanation = explainVm(input);
  if (!explanation.found) throw new UsageError(`VirtualMachine "${input.name}" not found in namespace "${input.namespace}"`);
  io.out(renderExplanation(explanation).join("\n"));
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

const COMMANDS: Record<string, (client: KubeClient, opts: Options, io: Output) => Promise<void>> = { pools, ips, why };

/** Runs the plugin; returns the exit code. */
export async function main(argv: string[], io: Output = defaultOutput()): Promise<number> {
  try {
    const opts = parseOptions(argv);
    if (opts.help || opts.command === "help") return printHelp(io.out, 0);
    if (!opts.command) return printHelp(io.err, 1);
    const run = COMMANDS[opts.command];
    if (!run) throw new UsageError(`unknown command "${opts.command}": use pools, ips or why (kubectl vmnet --help)`);
    const client = await connect();
    try {
      await run(client, opts, io);
    } finally {
      await client.close();
    }
    return 0;
  } catch (err) {
    io.err(`error: ${errorMessage(err)}`);
    return 1;
  }
}

function printHelp(write: (text: string) => void, code: number): number {
  write(HELP.trimEnd());
  return code;
}

function errorMessage(err: unknown): string {
  if (err instanceof ApiError && err.status === 404) return `${err.message} (are the vmnet-operator and KubeVirt CRDs installed?)`;
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
