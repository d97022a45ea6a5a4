// Calls a CNI plugin the way Multus does for one element of a launcher pod's
// k8s.v1.cni.cncf.io/networks annotation, so the data-plane tests hand real plugins exactly what
// the operator's webhook makes Multus hand them. What Multus does, from its source
// (pkg/types/conf.go, pkg/multus/multus.go) and libcni (libcni/api.go, pkg/invoke/args.go):
// - capability args "ips" and "mac" come from the element; libcni puts into stdin's
//   "runtimeConfig" only those the NAD config declares under "capabilities";
// - CNI_ARGS is IgnoreUnknown=true;K8S_POD_NAMESPACE;K8S_POD_NAME;K8S_POD_INFRA_CONTAINER_ID;
//   K8S_POD_UID, and on ADD also MAC= and IP= (comma-joined) from the element;
// - CNI_IFNAME is the element's "interface"; on DEL and CHECK libcni passes the cached ADD
//   result as "prevResult" when cniVersion >= 0.4.0.
import { spawn } from "node:child_process";
import path from "node:path";
import type { NetworkSelectionElement } from "../../capabilities/api/external/multus";

export type { NetworkSelectionElement };

export type CniCommand = "ADD" | "DEL" | "CHECK";

/** The pod sandbox the runtime (kubelet, then Multus) networks. */
export interface PodSandbox {
  namespace: string;
  name: string;
  uid: string;
  /** Sandbox ID: CNI_CONTAINERID and K8S_POD_INFRA_CONTAINER_ID. */
  containerId: string;
  /** Path of the network namespace, e.g. /var/run/netns/vmnet-dp-1a2b3c. */
  netns: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { version?: string; address: string; gateway?: string; interface?: number }[];
  [key: string]: unknown;
}

export interface CniInvocation {
  /** Absolute path of the plugin binary: CNI_PATH/<type>. */
  plugin: string;
  stdin: string;
  /** Only the CNI_* variables; the runner adds the caller's environment, as libcni does. */
  env: Record<string, string>;
}

/** Multus' default interface name for a delegate without "interface": net<index>, 1 for the first NAD. */
const DEFAULT_IFNAME = "net1";

/** Builds stdin and environment for one plugin call. Pure. */
export function multusInvocation(
  command: CniCommand,
  nadConfig: string,
  element: NetworkSelectionElement,
  pod: PodSandbox,
  cniPath: string,
  prevResult?: CniResult,
): CniInvocation {
  const conf = parseNadConfig(nadConfig, element.name);
  const stdin: Record<string, unknown> = { ...conf };
  const runtimeConfig = capabilityArgs(conf, element);
  if (Object.keys(runtimeConfig).length > 0) stdin.runtimeConfig = runtimeConfig;
  if (command !== "ADD" && prevResult && versionAtLeast(String(conf.cniVersion), [0, 4, 0])) stdin.prevResult = prevResult;

  const args: [string, string][] = [
    ["IgnoreUnknown", "true"],
    ["K8S_POD_NAMESPACE", pod.namespace],
    ["K8S_POD_NAME", pod.name],
    ["K8S_POD_INFRA_CONTAINER_ID", pod.containerId],
    ["K8S_POD_UID", pod.uid],
  ];
  // Multus adds these in delegateAdd only (deprecated there since 3.5, still sent).
  if (command === "ADD" && element.mac) args.push(["MAC", element.mac]);
  if (command === "ADD" && element.ips && element.ips.length > 0) args.push(["IP", element.ips.join(",")]);

  return {
    plugin: path.join(cniPath, String(conf.type)),
    stdin: JSON.stringify(stdin),
    env: {
      CNI_COMMAND: command,
      CNI_CONTAINERID: pod.containerId,
      CNI_NETNS: pod.netns,
      CNI_ARGS: args.map(([k, v]) => `${k}=${v}`).join(";"),
      CNI_IFNAME: element.interface ?? DEFAULT_IFNAME,
      CNI_PATH: cniPath,
    },
  };
}

function parseNadConfig(nadConfig: string, nadName: string): Record<string, unknown> {
  const conf = JSON.parse(nadConfig) as unknown;
  if (typeof conf !== "object" || conf === null || Array.isArray(conf)) throw new Error("the NAD config is not a JSON object");
  const c = conf as Record<string, unknown>;
  if (Array.isArray(c.plugins)) throw new Error("conflists are not supported here: give a single-plugin NAD config");
  if (typeof c.type !== "string" || c.type === "") throw new Error('the NAD config has no "type"');
  if (typeof c.cniVersion !== "string") throw new Error('the NAD config has no "cniVersion"');
  // Multus names an unnamed config after its NetworkAttachmentDefinition.
  return typeof c.name === "string" && c.name !== "" ? c : { ...c, name: nadName };
}

/** libcni's injectRuntimeConfig: only capabilities the config declares true, and only when given. */
function capabilityArgs(conf: Record<string, unknown>, element: NetworkSelectionElement): Record<string, unknown> {
  const offered: Record<string, unknown> = {};
  if (element.ips && element.ips.length > 0) offered.ips = element.ips;
  if (element.mac) offered.mac = element.mac;
  const declared =
    typeof conf.capabilities === "object" && conf.capabilities !== null ? (conf.capabilities as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const [cap, supported] of Object.entries(declared)) {
    if (supported === true && cap in offered) out[cap] = offered[cap];
  }
  return out;
}

function versionAtLeast(version: string, min: [number, number, number]): boolean {
  const parts = version.split(".").map(n => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const p = parts[i] ?? 0;
    if (p !== min[i]) return p > min[i];
  }
  return true;
}

export interface RunOptions {
  /** Run the plugin inside this named network namespace (the test's stand-in for the node). */
  hostNetns?: string;
  timeoutMs?: number;
}

/** Runs the plugin; resolves with its result (ADD) or undefined (empty stdout), rejects with its CNI error. */
export async function runPlugin(inv: CniInvocation, opts: RunOptions = {}): Promise<CniResult | undefined> {
  const [cmd, argv] = opts.hostNetns ? ["ip", ["netns", "exec", opts.hostNetns, inv.plugin]] : [inv.plugin, []];
  const { code, stdout, stderr } = await run(cmd, argv, inv.stdin, { ...process.env, ...inv.env }, opts.timeoutMs ?? 30_000);
  if (code !== 0) {
    const what = `${path.basename(inv.plugin)} ${inv.env.CNI_COMMAND} (netns ${inv.env.CNI_NETNS}, ifname ${inv.env.CNI_IFNAME})`;
    // The plugin's stderr is its log (ovs-cni logs every OVSDB transaction): keep only the tail.
    const tail = stderr.trim().split("\n").slice(-8).join("\n");
    throw new Error(`${what} exited ${code}: ${cniError(stdout)}\nstdin: ${inv.stdin}\nstderr (tail):\n${tail}`);
  }
  return stdout.trim() === "" ? undefined : (JSON.parse(stdout) as CniResult);
}

function cniError(stdout: string): string {
  try {
    const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    return `CNI error ${e.code ?? "?"}: ${e.msg ?? ""}${e.details ? ` (${e.details})` : ""}`;
  } catch {
    return stdout.trim() || "(no output)";
  }
}

interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, argv: string[], input: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env, stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", code => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
