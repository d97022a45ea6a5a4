// A stand-in for one Kubernetes node's data plane, made of real parts: its own network namespace
// ("the node"), a private Open vSwitch (ovsdb-server + ovs-vswitchd with the userspace netdev
// datapath, no kernel module) whose database, sockets and logs live in a temp dir, and bridge
// br-vmnet. ovs-vswitchd and the CNI plugins run inside the node namespace, so the veth host ends,
// the bridge's tap devices and all traffic stay there: the host's own network is never touched,
// and two runs at once do not collide.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const SCHEMA_DIRS = [process.env.OVS_PKGDATADIR, "/usr/share/openvswitch", "/usr/local/share/openvswitch"];
const OVS_TOOLS = ["ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl"];

export interface OvsNode {
  /** Name of the node's network namespace. */
  netns: string;
  bridge: string;
  /** ovs-cni's `socket_file` value for this OVS. */
  socketFile: string;
  dir: string;
  vsctl(...args: string[]): string;
  /** Tail of ovs-vswitchd's log, for failure messages. */
  logTail(lines?: number): string;
  stop(): void;
}

// Debian puts the OVS daemons in /usr/sbin, which a non-login PATH may lack.
const TOOL_PATH = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin"].filter(d => d !== "");

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeout = 30_000): string {
  return execFileSync(cmd, args, {
    env: { ...env, PATH: TOOL_PATH.join(":") },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout,
  });
}

function onPath(tool: string): boolean {
  return TOOL_PATH.some(d => fs.existsSync(path.join(d, tool)));
}

/** Why these tests cannot run here, or undefined when they can try. */
export function dataPlaneUnavailable(): string | undefined {
  if (process.platform !== "linux") return `needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "needs root (network namespaces, veth pairs, Open vSwitch); run npm test as root";
  const missing = ["ip", "ping", ...OVS_TOOLS].filter(t => !onPath(t));
  if (missing.length > 0) return `missing ${missing.join(", ")}: apt-get install openvswitch-switch iproute2 iputils-ping (.ci/run does)`;
  if (!schemaPath()) return `Open vSwitch schema vswitch.ovsschema not found in ${SCHEMA_DIRS.filter(Boolean).join(", ")}`;
  return undefined;
}

function schemaPath(): string | undefined {
  return SCHEMA_DIRS.filter((d): d is string => !!d)
    .map(d => path.join(d, "vswitch.ovsschema"))
    .find(p => fs.existsSync(p));
}

/** Starts OVS for one test run. Throws, with OVS's own words, when it cannot start. */
export function startOvsNode(bridge = "br-vmnet"): OvsNode {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-ovs-"));
  const netns = `vmnet-dp-node-${crypto.randomBytes(3).toString("hex")}`;
  // OVS_RUNDIR keeps the bridge's mgmt/snoop sockets and pidfiles out of /var/run/openvswitch.
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  const db = `unix:${path.join(dir, "db.sock")}`;
  const vsctl = (...args: string[]): string => sh("ovs-vsctl", [`--db=${db}`, "--timeout=20", ...args], env);
  const node: OvsNode = {
    netns,
    bridge,
    socketFile: db,
    dir,
    vsctl,
    logTail: (lines = 20) => tail(path.join(dir, "ovs-vswitchd.log"), lines),
    stop: () => stopOvsNode(node, env),
  };
  try {
    sh("ip", ["netns", "add", netns]);
    sh("ip", ["-n", netns, "link", "set", "lo", "up"]);
    sh("ovsdb-tool", ["create", path.join(dir, "conf.db"), schemaPath() as string]);
    // --detach returns only once the daemon is ready (socket listening, bridge configured).
    sh("ovsdb-server", [path.join(dir, "conf.db"), `--remote=punix:${path.join(dir, "db.sock")}`, ...daemonArgs(dir, "ovsdb-server")], env);
    vsctl("--no-wait", "init");
    sh("ip", ["netns", "exec", netns, "ovs-vswitchd", db, ...daemonArgs(dir, "ovs-vswitchd")], env);
    // Without --no-wait, ovs-vsctl waits until ovs-vswitchd has made the bridge: a readiness check.
    vsctl("add-br", bridge, "--", "set", "bridge", bridge, "datapath_type=netdev");
    return node;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const log = `${tail(path.join(dir, "ovsdb-server.log"), 5)}\n${tail(path.join(dir, "ovs-vswitchd.log"), 10)}`.trim();
    node.stop();
    throw new Error(`Open vSwitch did not start: ${why}${log ? `\n${log}` : ""}`);
  }
}

function daemonArgs(dir: string, name: string): string[] {
  return [
    `--pidfile=${path.join(dir, `${name}.pid`)}`,
    `--unixctl=${path.join(dir, `${name}.ctl`)}`,
    `--log-file=${path.join(dir, `${name}.log`)}`,
    "-vconsole:off",
    "--detach",
    "--no-chdir",
  ];
}

/** Idempotent and best effort: every step runs even when an earlier one fails. */
function stopOvsNode(node: OvsNode, env: NodeJS.ProcessEnv): void {
  const attempt = (f: () => void): void => {
    try {
      f();
    } catch {
      // Already gone, or never started.
    }
  };
  if (!fs.existsSync(node.dir)) return;
  attempt(() => node.vsctl("--if-exists", "del-br", node.bridge));
  // --cleanup also removes the netdev datapath and its tap devices.
  for (const [daemon, extra] of [
    ["ovs-vswitchd", ["--cleanup"]],
    ["ovsdb-server", []],
  ] as const) {
    attempt(() => sh("ovs-appctl", ["-t", path.join(node.dir, `${daemon}.ctl`), "exit", ...extra], env, 10_000));
    attempt(() => killFromPidfile(path.join(node.dir, `${daemon}.pid`)));
  }
  attempt(() => sh("ip", ["netns", "del", node.netns]));
  fs.rmSync(node.dir, { recursive: true, force: true });
}

/** Kills a daemon that did not exit when asked; only the process its own pidfile names. */
function killFromPidfile(pidfile: string): void {
  const pid = Number.parseInt(fs.readFileSync(pidfile, "utf8").trim(), 10);
  if (Number.isInteger(pid) && pid > 1) process.kill(pid, "SIGKILL");
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** A network namespace standing for one launcher pod. */
export function addPodNetns(): string {
  const name = `vmnet-dp-${crypto.randomBytes(3).toString("hex")}`;
  sh("ip", ["netns", "add", name]);
  return name;
}

export function deleteNetns(name: string): void {
  try {
    sh("ip", ["netns", "del", name]);
  } catch {
    // Already gone.
  }
}

export interface LinkInfo {
  ifname: string;
  address: string;
  operstate: string;
  addr_info: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/** `ip -j addr show` inside a namespace; undefined when the interface does not exist. */
export function linkIn(netns: string, ifname: string): LinkInfo | undefined {
  const links = JSON.parse(sh("ip", ["-n", netns, "-j", "addr", "show"])) as LinkInfo[];
  return links.find(l => l.ifname === ifname);
}

/** True when at least one of `count` echo requests is answered within 2 s of the last one. */
export function ping(fromNetns: string, address: string, count = 2): boolean {
  try {
    // -i 0.2 (root only) keeps a successful probe near 0.2 s instead of 1 s.
    sh("ip", ["netns", "exec", fromNetns, "ping", "-n", "-q", "-i", "0.2", "-c", String(count), "-W", "2", address], undefined, 15_000);
    return true;
  } catch {
    return false;
  }
}

/** ICMP echo requests this namespace's stack has received (Icmp InEchos in /proc/net/snmp). */
export function icmpInEchos(netns: string): number {
  const snmp = sh("ip", ["netns", "exec", netns, "cat", "/proc/net/snmp"])
    .split("\n")
    .filter(l => l.startsWith("Icmp:"));
  const [names, values] = snmp.map(l => l.trim().split(/\s+/));
  return Number(values[names.indexOf("InEchos")]);
}
