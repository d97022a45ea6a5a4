// A local cluster with a real node: the control plane of hack/control-plane.ts (with
// kube-scheduler and the controllers a Deployment install needs), plus containerd and runc from
// Debian, a kubelet and kube-proxy built from the same pinned release, Multus (thin plugin) as the
// node's CNI with a pod network from the reference CNI plugins and ovs-cni on the node's Open
// vSwitch bridge (userspace datapath) for NADs (hack/node-multus.ts), and the KubeVirt simulator,
// whose launcher pods the kubelet really runs (the launcher image: pause plus `ip` and `ping`).
// Images are imported into the node's containerd from OCI archives, never pulled.
// `npm run cluster` runs one until Ctrl-C; startNodeCluster() is the same for tests.
//
// Networking: the node lives in a network namespace of its own, joined to the host by a veth
// pair on a private /24. kube-apiserver binds to the host end of that veth; the kubelet,
// kube-proxy, containerd and every pod run inside the namespace, so kube-proxy's iptables rules,
// the CNI bridge and the kubelet's ports exist only there and a second cluster never collides.
// The host gets two routes through that veth (pod and Service ranges) and nothing else: no host
// route, address or firewall rule of its own is touched, and the namespace has no default route.
// containerd and the kubelet also share a mount namespace of their own, in which the node's OVS
// directory is mounted on /run/openvswitch (ovs-cni's default OVSDB socket).
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ControlPlane, ensureBinaries, startControlPlane } from "./control-plane";
import { cacheDir, launcherImage, pauseImage } from "./image/reference";
import { multusConfig, multusKubeconfig, OVS_BRIDGE, OVS_RUN_DIR, ovsDaemonArgs, ovsSchema } from "./node-multus";
import { KubeClient } from "../capabilities/k8s/client";
import { kubevirtKubeconfig } from "../test/kubevirt-sim/identity";

const REPO = path.join(__dirname, "..");
const DOWN_SCRIPT = path.join(__dirname, "node-cluster-down.sh");
const RUN_ROOT = path.join(os.tmpdir(), "vmnet-node");
/** Where `npm run image` writes its OCI archives; each is imported into the node's containerd. */
export const IMAGES_DIR = path.join(cacheDir(), "images");
/** The node's sandbox image (built by `npm run image`). */
export const PAUSE_IMAGE = pauseImage();
/** The simulator's launcher pods' image (built by `npm run image`): pause plus `ip` and `ping`. */
export const LAUNCHER_IMAGE = launcherImage();
export const NODE_NAME = "vmnet-node";
/** The label the simulator's launcher pods select (KubeVirt's virt-handler sets it on nodes). */
const SCHEDULABLE_LABEL = "kubevirt.io/schedulable=true";
const SLOTS = 64;

const log = (msg: string): void => void process.stderr.write(`[node-cluster] ${msg}\n`);

/** Thrown when the machine cannot run a node (not root, a tool missing); tests under CI fail on it. */
export class NodeClusterUnavailable extends Error {}

export interface NodeCluster {
  /** Admin kubeconfig (the server is the API server's address on the node link). */
  kubeconfig: string;
  controlPlane: ControlPlane;
  nodeName: string;
  addresses: NodeAddresses;
  runDir: string;
  /** Imports an OCI archive into the node's containerd (as `ctr -n k8s.io images import`). */
  importImage(archive: string): void;
  /** Runs `kubectl` with the admin kubeconfig; returns stdout. */
  kubectl(args: string[], input?: string): string;
  /** The node's Open vSwitch (ovsdb-server and ovs-vswitchd of the node, userspace datapath). */
  ovs: NodeOvs;
  stop(): Promise<void>;
}

export interface NodeOvs {
  bridge: string;
  /** OVSDB's socket as the host sees it (inside the node it is /run/openvswitch/db.sock). */
  socket: string;
  vsctl(...args: string[]): string;
}

export interface NodeClusterOptions {
  /** OCI archives to import; default every *.tar in IMAGES_DIR (VMNET_IMAGE_ARCHIVES, comma-separated, overrides). */
  images?: string[];
  /** Do not run the KubeVirt simulator. */
  withoutSimulator?: boolean;
  /** The simulator's time between migration phases (KUBEVIRT_SIM_STEP_MS); its default otherwise. */
  simulatorStepMs?: number;
}

/** The addresses and names of one cluster slot: each slot has its own /24s, netns and veth. */
export interface NodeAddresses {
  slot: number;
  /** The host end of the veth: kube-apiserver binds here. */
  hostIp: string;
  /** The node end, inside the netns: the kubelet's address and the node's InternalIP. */
  nodeIp: string;
  linkPrefix: number;
  podCidr: string;
  podGateway: string;
  serviceCidr: string;
  netns: string;
  veth: string;
}

export function nodeAddresses(slot: number): NodeAddresses {
  return {
    slot,
    hostIp: `10.213.${slot}.1`,
    nodeIp: `10.213.${slot}.2`,
    linkPrefix: 24,
    podCidr: `10.214.${slot}.0/24`,
    podGateway: `10.214.${slot}.1`,
    serviceCidr: `10.215.${slot}.0/24`,
    netns: `vmnet-n${slot}`,
    veth: `vmnet-h${slot}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Host commands

function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}

function checkPrerequisites(): void {
  if (process.getuid?.() !== 0) throw new NodeClusterUnavailable("a node cluster needs root (network namespaces, mounts, containerd)");
  for (const tool of [
    "containerd",
    "containerd-shim-runc-v2",
    "runc",
    "ctr",
    "ip",
    "iptables",
    "nsenter",
    "unshare",
    "flock",
    "conntrack",
    ...OVS_TOOLS,
  ]) {
    try {
      run("sh", ["-c", `PATH="$PATH:${SBIN}" command -v ${tool}`]);
    } catch {
      throw new NodeClusterUnavailable(
        `${tool} is missing: apt-get install containerd runc iproute2 iptables conntrack util-linux openvswitch-switch (see .ci/run)`,
      );
    }
  }
  if (!ovsSchema())
    throw new NodeClusterUnavailable("Open vSwitch's vswitch.ovsschema is missing: apt-get install openvswitch-switch (see .ci/run)");
}

const OVS_TOOLS = ["ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl"];
// Debian puts the OVS daemons in /usr/sbin, which a non-login PATH may lack.
const SBIN = "/usr/local/sbin:/usr/sbin:/sbin";
const withSbin = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...env, PATH: `${env.PATH ?? "/usr/bin:/bin"}:${SBIN}` });

function ensureCniPlugins(): string {
  const out = execFileSync("bash", [path.join(__dirname, "build-cni.sh")], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  return out.trim().split("\n").pop() as string;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Tears a run directory down (hack/node-cluster-down.sh). Its own process group, so a second
 * Ctrl-C does not cut it short; asynchronous, so this process reaps the children it kills.
 */
function teardown(runDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [DOWN_SCRIPT, runDir], { stdio: ["ignore", "inherit", "inherit"], detached: true });
    child.on("error", reject);
    child.on("exit", code => (code === 0 ? resolve() : reject(new Error(`${DOWN_SCRIPT} ${runDir} exited with ${code}`))));
  });
}

/** Whether anything on the host already uses one of the slot's ranges. */
function slotInUse(a: NodeAddresses): boolean {
  const routes = run("ip", ["-4", "route", "show", "table", "all"]) + run("ip", ["-4", "-o", "addr", "show"]);
  const prefixes = [a.hostIp, a.podCidr, a.serviceCidr].map(ip => ip.split(".").slice(0, 3).join(".") + ".");
  return prefixes.some(p => routes.includes(p)) || run("ip", ["netns", "list"]).split(/\s/).includes(a.netns);
}

/**
 * Claims the first free slot: its run directory is made atomically, and one left by a process
 * that died is torn down first.
 */
function claimSlot(): { addresses: NodeAddresses; runDir: string } {
  fs.mkdirSync(RUN_ROOT, { recursive: true });
  for (let slot = 0; slot < SLOTS; slot++) {
    const runDir = path.join(RUN_ROOT, `n${slot}`);
    const owner = Number(fs.existsSync(path.join(runDir, "owner")) ? fs.readFileSync(path.join(runDir, "owner"), "utf8") : 0);
    if (fs.existsSync(runDir) && (owner === 0 || !alive(owner))) {
      log(`tearing down ${runDir}, left by process ${owner || "?"} that is gone`);
      execFileSync("bash", [DOWN_SCRIPT, runDir], { stdio: ["ignore", "inherit", "inherit"] });
    }
    const addresses = nodeAddresses(slot);
    if (slotInUse(addresses)) continue;
    try {
      fs.mkdirSync(runDir);
    } catch {
      continue; // another cluster claimed it first
    }
    fs.writeFileSync(path.join(runDir, "owner"), String(process.pid));
    return { addresses, runDir };
  }
  throw new Error(`all ${SLOTS} node cluster slots under ${RUN_ROOT} are in use`);
}

/** The netns with a veth to the host; the host's routes to pods and Services go through it. */
function setUpNetwork(a: NodeAddresses, runDir: string): void {
  fs.writeFileSync(path.join(runDir, "netns"), a.netns);
  fs.writeFileSync(path.join(runDir, "veth"), a.veth);
  const ip = (...args: string[]): string => run("ip", args);
  ip("netns", "add", a.netns);
  ip("link", "add", a.veth, "type", "veth", "peer", "name", "eth0", "netns", a.netns);
  ip("addr", "add", `${a.hostIp}/${a.linkPrefix}`, "dev", a.veth);
  ip("link", "set", a.veth, "up");
  ip("-n", a.netns, "link", "set", "lo", "up");
  ip("-n", a.netns, "addr", "add", `${a.nodeIp}/${a.linkPrefix}`, "dev", "eth0");
  ip("-n", a.netns, "link", "set", "eth0", "up");
  ip("route", "add", a.podCidr, "via", a.nodeIp, "dev", a.veth);
  ip("route", "add", a.serviceCidr, "via", a.nodeIp, "dev", a.veth);
  // The node routes between its pods' bridge and the veth (inside its own namespace only).
  ip("netns", "exec", a.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1");
}

const mountNamespace = (runDir: string): string => path.join(runDir, "mntns");
const ovsDir = (runDir: string): string => path.join(runDir, "ovs");

/**
 * The mount namespace containerd and the kubelet share (kept by a bind mount of its nsfs file
 * under the run directory, which the teardown unmounts): the same mounts as the host, plus the
 * node's OVS directory on /run/openvswitch. The host only gets that directory as an empty mount
 * point when it has none.
 */
function setUpMountNamespace(runDir: string): void {
  fs.mkdirSync(ovsDir(runDir), { recursive: true });
  fs.mkdirSync(OVS_RUN_DIR, { recursive: true });
  fs.writeFileSync(mountNamespace(runDir), "");
  run("unshare", [`--mount=${mountNamespace(runDir)}`, "--propagation", "private", "true"]);
  run("nsenter", [`--mount=${mountNamespace(runDir)}`, "--", "mount", "--bind", ovsDir(runDir), OVS_RUN_DIR]);
}

/**
 * The node's Open vSwitch: ovsdb-server (socket, database, logs in <runDir>/ovs) and ovs-vswitchd
 * inside the node's netns (the netdev datapath opens ports by name in its own netns, where
 * ovs-cni puts the pods' veth ends), and the bridge with the userspace datapath (no kernel module).
 */
async function startOvs(runDir: string, a: NodeAddresses): Promise<NodeOvs> {
  const dir = ovsDir(runDir);
  // OVS_RUNDIR keeps the bridge's management sockets out of the host's /var/run/openvswitch.
  const env = withSbin({ ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir });
  const socket = path.join(dir, "db.sock");
  const vsctl = (...args: string[]): string =>
    execFileSync("ovs-vsctl", [`--db=unix:${socket}`, "--timeout=30", ...args], {
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  execFileSync("ovsdb-tool", ["create", path.join(dir, "conf.db"), ovsSchema() as string], { env, stdio: ["ignore", "ignore", "pipe"] });
  launch(
    runDir,
    "ovsdb-server",
    "ovsdb-server",
    [path.join(dir, "conf.db"), `--remote=punix:${socket}`, ...ovsDaemonArgs(dir, "ovsdb-server")],
    { env },
  );
  const logs = [path.join(dir, "ovsdb-server.log"), path.join(dir, "ovs-vswitchd.log")];
  await waitUntil("ovsdb-server did not answer", () => (vsctl("--no-wait", "init"), true), 30_000, logs);
  launch(runDir, "ovs-vswitchd", "ovs-vswitchd", [`unix:${socket}`, ...ovsDaemonArgs(dir, "ovs-vswitchd")], { netns: a.netns, env });
  // Without --no-wait, ovs-vsctl returns once ovs-vswitchd has made the bridge: a readiness check.
  vsctl("add-br", OVS_BRIDGE, "--", "set", "bridge", OVS_BRIDGE, "datapath_type=netdev");
  return { bridge: OVS_BRIDGE, socket, vsctl };
}

// ---------------------------------------------------------------------------------------------
// Node configuration files (pure renderers)

export function containerdConfig(dir: string, cniBin: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
# /opt/containerd would be shared with every other containerd on the machine.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # The sandbox lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  # Pod network namespaces under our state directory, not /run/netns.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  # Inside the node's netns: only the kubelet (same netns) reaches it.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc's state under ours, not /run/containerd/runc shared by every containerd.
        Root = "${dir}/state/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${cniBin}"
    conf_dir = "${dir}/net.d"
    max_conf_num = 1
`;
}

/**
 * The pod network: a bridge inside the node's netns, addresses from host-local, hostPorts by
 * portmap. Routes only to what a pod can reach (the host link and the Services; the pod range is
 * on the bridge), no default route: the namespace has none to offer, and a NIC whose IPPool says
 * `defaultRoute: true` gets it through Multus's `default-route`, which Multus v4.2.3 adds only
 * when the pod has no default route yet (it never removes the cluster network's: its
 * DeleteDefaultGW looks for a nil destination, which netlink v1.3 no longer reports).
 */
export function cniConfig(a: NodeAddresses, ipamDir: string): Record<string, unknown> {
  const hostLink = `${a.hostIp.split(".").slice(0, 3).join(".")}.0/${a.linkPrefix}`;
  return {
    cniVersion: "1.0.0",
    name: a.netns,
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        // No masquerade: pods talk only to the node, the host and each other.
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: a.podCidr, gateway: a.podGateway }]],
          routes: [{ dst: hostLink }, { dst: a.serviceCidr }],
          dataDir: ipamDir,
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

export interface KubeletPaths {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  containerdSocket: string;
}

/** The kubelet settings this machine needs (cgroup v1, no CAP_SYS_RESOURCE, swap) and our paths. */
export function kubeletConfig(a: NodeAddresses, p: KubeletPaths): Record<string, unknown> {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: a.nodeIp,
    port: 10250,
    readOnlyPort: 0,
    healthzPort: 0,
    tlsCertFile: p.certFile,
    tlsPrivateKeyFile: p.keyFile,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: p.caFile } },
    authorization: { mode: "Webhook" },
    containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
    // cgroup v1 here, managed by hand (no systemd).
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    // No cluster DNS, and the host's resolvers are not reachable from pods.
    resolvConf: "",
    volumePluginDir: path.join(p.dir, "volume-plugins"),
    // Not /var/log/pods, which another node on this machine would share.
    podLogsDir: path.join(p.dir, "pod-logs"),
    // Imported images cannot be pulled again: never garbage-collect them, never evict for disk.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { "memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%" },
    serializeImagePulls: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    nodeStatusReportFrequency: "1m",
  };
}

export function kubeProxyConfig(a: NodeAddresses, kubeconfig: string): Record<string, unknown> {
  return {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig },
    hostnameOverride: NODE_NAME,
    mode: "iptables",
    clusterCIDR: a.podCidr,
    // The netns's own loopback: no collision with the host or another cluster.
    healthzBindAddress: "127.0.0.1:10256",
    metricsBindAddress: "127.0.0.1:10249",
    nodePortAddresses: [`${a.nodeIp}/32`],
    // Masquerade all Service traffic: a pod reaching a Service backed by a pod on the same bridge
    // then gets its replies through the node, whatever br_netfilter says.
    iptables: { masqueradeAll: true, localhostNodePorts: false, syncPeriod: "30s", minSyncPeriod: "1s" },
    // nf_conntrack_max is machine-wide: leave conntrack settings as they are.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
  };
}

function clientKubeconfig(server: string, caFile: string, cert: { cert: string; key: string }): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "vmnet-local", cluster: { server, "certificate-authority": caFile } }],
    users: [{ name: "u", user: { "client-certificate": cert.cert, "client-key": cert.key } }],
    contexts: [{ name: "vmnet-local", context: { cluster: "vmnet-local", user: "u" } }],
    "current-context": "vmnet-local",
  });
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Launched {
  name: string;
  child: ChildProcess;
}

/** Starts a process in its own group (inside `netns`, and the node's mount namespace, if given), logging to <runDir>/<name>.log. */
function launch(
  runDir: string,
  name: string,
  cmd: string,
  args: string[],
  opts: { netns?: string; mountns?: string; env?: NodeJS.ProcessEnv } = {},
): Launched {
  const out = fs.openSync(path.join(runDir, `${name}.log`), "a");
  // nsenter --net enters only the network namespace: `ip netns exec` would also remount /sys and
  // hide the cgroup mounts the kubelet needs.
  const namespaces = [...(opts.netns ? [`--net=/run/netns/${opts.netns}`] : []), ...(opts.mountns ? [`--mount=${opts.mountns}`] : [])];
  const [file, argv] = namespaces.length ? ["nsenter", [...namespaces, "--", cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, { stdio: ["ignore", out, out], detached: true, env: opts.env ?? process.env });
  fs.closeSync(out);
  fs.appendFileSync(path.join(runDir, "pids"), `${name} ${child.pid}\n`);
  return { name, child };
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

async function waitUntil(what: string, check: () => boolean, timeoutMs: number, logs: string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (check()) return;
    } catch {
      /* not yet */
    }
    await sleep(500);
  }
  const tails = logs
    .filter(f => fs.existsSync(f))
    .map(f => `--- ${path.basename(f)}\n${fs.readFileSync(f, "utf8").split("\n").slice(-15).join("\n")}`)
    .join("\n");
  throw new Error(`${what} within ${timeoutMs / 1000} s; last log lines:\n${tails}`);
}

function defaultArchives(): string[] {
  const env = process.env.VMNET_IMAGE_ARCHIVES;
  if (env) return env.split(",").filter(Boolean);
  if (!fs.existsSync(IMAGES_DIR)) return [];
  return fs
    .readdirSync(IMAGES_DIR)
    .filter(f => f.endsWith(".tar"))
    .map(f => path.join(IMAGES_DIR, f));
}

// ---------------------------------------------------------------------------------------------

export async function startNodeCluster(opts: NodeClusterOptions = {}): Promise<NodeCluster> {
  checkPrerequisites();
  const archives = opts.images ?? defaultArchives();
  const t0 = Date.now();
  const binDir = ensureBinaries();
  const cniBin = ensureCniPlugins();
  const { addresses: a, runDir } = claimSlot();
  // Cleans up if this process dies without stopping the cluster (SIGKILL, a crashed test run).
  spawn("bash", [DOWN_SCRIPT, runDir, "--after", String(process.pid)], { detached: true, stdio: "ignore" }).unref();
  let controlPlane: ControlPlane | undefined;
  const stop = async (): Promise<void> => {
    const t = Date.now();
    await teardown(runDir);
    await controlPlane?.stop();
    log(`stopped in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };
  try {
    setUpNetwork(a, runDir);
    setUpMountNamespace(runDir);
    const ovs = await startOvs(runDir, a);
    controlPlane = await startControlPlane({ address: a.hostIp, serviceCidr: a.serviceCidr, forNode: true });
    const cp = controlPlane;
    fs.writeFileSync(path.join(runDir, "control-plane"), cp.dir);
    const kubectl = (args: string[], input?: string): string =>
      run(path.join(binDir, "kubectl"), ["--kubeconfig", cp.kubeconfig, ...args], input);
    const phases: string[] = [];
    const timed = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
      const t = Date.now();
      const result = await step();
      phases.push(`${what} ${((Date.now() - t) / 1000).toFixed(1)} s`);
      return result;
    };
    phases.push(`control plane ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // The simulator starts meanwhile (its TypeScript takes a while to load); a VM made before the
    // node is Ready just waits for the scheduler.
    const simulator = opts.withoutSimulator ? Promise.resolve() : startSimulator(runDir, cp, kubectl, opts.simulatorStepMs);
    simulator.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    const multusKc = await timed("Multus identity", () => writeMultusKubeconfig(runDir, cp));
    const { importImage } = await timed("containerd and images", () => startContainerd(runDir, a, cniBin, archives, multusKc));
    await timed("kubelet to Ready", () => startNodeAgents(runDir, a, cp, binDir, kubectl));
    await timed("simulator (after that)", () => simulator);
    log(
      `node ${NODE_NAME} Ready at ${a.nodeIp} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${phases.join(", ")} (logs in ${runDir} and ${cp.dir})`,
    );
    return { kubeconfig: cp.kubeconfig, controlPlane: cp, nodeName: NODE_NAME, addresses: a, runDir, importImage, kubectl, ovs, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

const containerdSocket = (runDir: string): string => path.join(runDir, "containerd", "containerd.sock");

/** Multus's own kubeconfig (MULTUS_USER, least privilege: hack/node-multus.ts). */
async function writeMultusKubeconfig(runDir: string, cp: ControlPlane): Promise<string> {
  const admin = await KubeClient.fromDefault(2, cp.kubeconfig);
  const source = await multusKubeconfig(cp, admin).finally(() => admin.close());
  const file = path.join(runDir, "multus", "multus.kubeconfig");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.copyFileSync(source, file);
  return file;
}

/** containerd in the node's netns, with the images a node needs before its first pod. */
async function startContainerd(
  runDir: string,
  a: NodeAddresses,
  cniBin: string,
  archives: string[],
  multusKc: string,
): Promise<{ importImage: (archive: string) => void }> {
  const dir = path.join(runDir, "containerd");
  fs.mkdirSync(path.join(dir, "net.d"), { recursive: true });
  fs.writeFileSync(path.join(dir, "config.toml"), containerdConfig(dir, cniBin));
  const multusPaths = {
    kubeconfig: multusKc,
    binDir: cniBin,
    cniDir: path.join(runDir, "multus"),
    logFile: path.join(runDir, "multus.log"),
  };
  fs.writeFileSync(
    path.join(dir, "net.d", "00-multus.conf"),
    JSON.stringify(multusConfig(a.netns, cniConfig(a, path.join(runDir, "cni-ipam")), multusPaths), null, 2),
  );
  launch(runDir, "containerd", "containerd", ["--config", path.join(dir, "config.toml")], {
    netns: a.netns,
    mountns: mountNamespace(runDir),
    env: withSbin(process.env),
  });
  const ctr = (...args: string[]): string => run("ctr", ["--address", containerdSocket(runDir), "-n", "k8s.io", ...args]);
  await waitUntil("containerd did not answer", () => (ctr("version"), true), 30_000, [path.join(runDir, "containerd.log")]);
  const importImage = (archive: string): void => {
    log(`importing ${archive}`);
    ctr("images", "import", archive);
  };
  for (const archive of archives) importImage(archive);
  const images = ctr("images", "ls", "-q").split("\n");
  for (const needed of [PAUSE_IMAGE, LAUNCHER_IMAGE]) {
    if (!images.includes(needed)) {
      throw new NodeClusterUnavailable(
        `the node needs ${needed}, and no archive in ${archives.length ? archives.join(", ") : IMAGES_DIR} holds it: run \`npm run image\` first`,
      );
    }
  }
  return { importImage };
}

/** kubelet and kube-proxy in the node's netns, with certificates from the cluster CA; resolves once the node is Ready. */
async function startNodeAgents(
  runDir: string,
  a: NodeAddresses,
  cp: ControlPlane,
  binDir: string,
  kubectl: (args: string[]) => string,
): Promise<void> {
  const f = (name: string): string => path.join(runDir, name);
  const kubeletDir = f("kubelet");
  fs.mkdirSync(kubeletDir, { recursive: true });
  const serving = cp.issueCertificate("kubelet-serving", { commonName: NODE_NAME, serverIps: [a.nodeIp], dnsNames: [NODE_NAME] });
  const nodeClient = cp.issueCertificate("kubelet-client", { commonName: `system:node:${NODE_NAME}`, groups: ["system:nodes"] });
  const proxyClient = cp.issueCertificate("kube-proxy-client", { commonName: "system:kube-proxy" });
  fs.writeFileSync(f("kubelet.kubeconfig"), clientKubeconfig(cp.server, cp.caCertFile, nodeClient));
  fs.writeFileSync(f("kube-proxy.kubeconfig"), clientKubeconfig(cp.server, cp.caCertFile, proxyClient));
  const paths: KubeletPaths = {
    dir: kubeletDir,
    caFile: cp.caCertFile,
    certFile: serving.cert,
    keyFile: serving.key,
    containerdSocket: containerdSocket(runDir),
  };
  fs.writeFileSync(f("kubelet.yaml"), JSON.stringify(kubeletConfig(a, paths), null, 2));
  fs.writeFileSync(f("kube-proxy.yaml"), JSON.stringify(kubeProxyConfig(a, f("kube-proxy.kubeconfig")), null, 2));
  const kubeletArgs = [
    `--config=${f("kubelet.yaml")}`,
    `--kubeconfig=${f("kubelet.kubeconfig")}`,
    `--root-dir=${path.join(kubeletDir, "root")}`,
    `--cert-dir=${path.join(kubeletDir, "pki")}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${a.nodeIp}`,
    `--node-labels=${SCHEDULABLE_LABEL}`,
    "--v=1",
  ];
  launch(runDir, "kubelet", path.join(binDir, "kubelet"), kubeletArgs, { netns: a.netns, mountns: mountNamespace(runDir) });
  launch(runDir, "kube-proxy", path.join(binDir, "kube-proxy"), [`--config=${f("kube-proxy.yaml")}`, "--v=1"], { netns: a.netns });
  const ready = (): boolean =>
    kubectl(["get", "node", NODE_NAME, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).trim() === "True";
  await waitUntil(`node ${NODE_NAME} was not Ready`, ready, 120_000, [f("kubelet.log"), f("containerd.log")]);
}

/** The KubeVirt simulator as its own process, as KubeVirt's controller (test/kubevirt-sim/identity.ts), on the real node. */
async function startSimulator(
  runDir: string,
  cp: ControlPlane,
  kubectl: (args: string[], input?: string) => string,
  stepMs?: number,
): Promise<void> {
  kubectl([
    "apply",
    "--server-side",
    "-f",
    path.join(REPO, "test/fixtures/kubevirt-crds.yaml"),
    "-f",
    path.join(REPO, "test/fixtures/multus-crd.yaml"),
  ]);
  kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/virtualmachines.kubevirt.io",
    "crd/virtualmachineinstances.kubevirt.io",
    "crd/virtualmachineinstancemigrations.kubevirt.io",
  ]);
  // virt-controller's identity and RBAC: only its launcher pods get addresses from the operator.
  const admin = await KubeClient.fromDefault(2, cp.kubeconfig);
  const simKubeconfig = await kubevirtKubeconfig(cp, admin).finally(() => admin.close());
  const tsx = path.join(REPO, "node_modules", ".bin", "tsx");
  launch(runDir, "kubevirt-sim", tsx, [path.join(REPO, "test/kubevirt-sim/main.ts")], {
    // Both: its watches read KUBECONFIG, its client KUBEVIRT_SIM_KUBECONFIG (which a test process may have set for another cluster).
    env: {
      ...process.env,
      KUBECONFIG: simKubeconfig,
      KUBEVIRT_SIM_KUBECONFIG: simKubeconfig,
      KUBEVIRT_SIM_LAUNCHER_IMAGE: LAUNCHER_IMAGE,
      ...(stepMs !== undefined ? { KUBEVIRT_SIM_STEP_MS: String(stepMs) } : {}),
    },
  });
  // Its watches are open once it says so (test/kubevirt-sim/main.ts): a VM made after this is seen.
  const logFile = path.join(runDir, "kubevirt-sim.log");
  await waitUntil(
    "the KubeVirt simulator did not start",
    () => fs.readFileSync(logFile, "utf8").includes("[kubevirt-sim] running"),
    90_000,
    [logFile],
  );
}

if (require.main === module) {
  void (async () => {
    const cluster = await startNodeCluster().catch((err: unknown) => {
      console.error(`[node-cluster] failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
    console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
    let stopping = false;
    const stop = (why: string): void => {
      if (stopping) return;
      stopping = true;
      log(`stopping (${why})`);
      void cluster.stop().then(() => process.exit(0));
    };
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => stop(sig));
    // When whatever started us goes (its shell closed, npm killed), we are re-parented: stop too.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop(`parent ${parent} exited`);
    }, 1000);
  })();
}
