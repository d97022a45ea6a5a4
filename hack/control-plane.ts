// Starts a real Kubernetes control plane on loopback: etcd, kube-apiserver and
// kube-controller-manager built by hack/build-control-plane.sh. Used by the test harness and by
// `npm start`. Run directly (`npm run control-plane`) it starts one and waits until Ctrl-C.
// With `forNode` it is the control plane of a real node (hack/node-cluster.ts): kube-scheduler,
// Node authorization, the controllers a Deployment install needs, and the kubelet client cert.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { openssl, selfSignedCa, signedByCa } from "./pki";

export interface ControlPlane {
  kubeconfig: string;
  server: string;
  dir: string;
  binDir: string;
  /** PEM of the cluster CA, also used to sign webhook serving certificates. */
  caCertFile: string;
  caKeyFile: string;
  stop(): Promise<void>;
  /**
   * A kubeconfig for another user, signed by the cluster CA. Unlike the admin (system:masters),
   * such a user is subject to RBAC and to the API server's in-flight limits (429s).
   */
  userKubeconfig(user: string, groups?: string[]): string;
  /** Restarts kube-apiserver (and etcd when asked) in place, for fault tests. */
  restartApiServer(withEtcd?: boolean): Promise<void>;
  /** Issues a certificate signed by the cluster CA; returns the paths of `<name>.crt` and `<name>.key`. */
  issueCertificate(name: string, spec: CertificateSpec): { cert: string; key: string };
}

export interface CertificateSpec {
  commonName: string;
  /** Subject organisations: Kubernetes groups, for a client certificate. */
  groups?: string[];
  /** serverAuth with these IP SANs (and `dnsNames`), instead of clientAuth. */
  serverIps?: string[];
  dnsNames?: string[];
}

const HACK_DIR = __dirname;
const log = (msg: string): void => void process.stderr.write(`[control-plane] ${msg}\n`);

/** Builds the binaries once (cached outside git) and returns their directory. */
export function ensureBinaries(): string {
  const out = execFileSync("bash", [path.join(HACK_DIR, "build-control-plane.sh")], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  return out.trim().split("\n").pop() as string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * What kube-controller-manager and kube-scheduler share: the admin kubeconfig for the API and for
 * delegated authentication and authorization, no leader election (one instance of each), and no
 * serving port (nothing scrapes or probes them here).
 */
function componentFlags(kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--leader-elect=false",
    "--secure-port=0",
  ];
}

/** The cluster's certificates live a year (a local cluster is re-made long before). */
const CERT_DAYS = 365;

/** CA, API server serving cert (127.0.0.1, localhost and `ips`), admin client cert, SA signing key. */
function makePki(dir: string, ips: string[]): void {
  selfSignedCa(dir, "/CN=vmnet-local-ca", CERT_DAYS);
  signedByCa(
    dir,
    "apiserver",
    "/CN=kube-apiserver",
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" +
      `subjectAltName=${["127.0.0.1", ...ips].map(ip => `IP:${ip}`).join(",")},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n`,
    CERT_DAYS,
  );
  signCert(dir, "admin", { commonName: "vmnet-admin", groups: ["system:masters"] });
  openssl(["genrsa", "-out", "sa.key", "2048"], dir);
  openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
}

function signCert(dir: string, name: string, spec: CertificateSpec): void {
  const subj = [...(spec.groups ?? []).map(g => `/O=${g}`), `/CN=${spec.commonName}`].join("");
  const sans = [...(spec.serverIps ?? []).map(ip => `IP:${ip}`), ...(spec.dnsNames ?? []).map(d => `DNS:${d}`)];
  const usage = sans.length > 0 ? `extendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(",")}\n` : "extendedKeyUsage=clientAuth\n";
  signedByCa(dir, name, subj, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n${usage}`, CERT_DAYS);
}

function writeKubeconfig(dir: string, server: string, name = "admin"): string {
  const b64 = (f: string): string => fs.readFileSync(path.join(dir, f)).toString("base64");
  const file = path.join(dir, `${name}.kubeconfig`);
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: vmnet-local
  cluster: {server: "${server}", certificate-authority-data: ${b64("ca.crt")}}
users:
- name: vmnet-admin
  user: {client-certificate-data: ${b64(`${name}.crt`)}, client-key-data: ${b64(`${name}.key`)}}
contexts:
- name: vmnet-local
  context: {cluster: vmnet-local, user: vmnet-admin}
current-context: vmnet-local
`,
  );
  return file;
}

interface Proc {
  name: string;
  args: string[];
  child?: ChildProcess;
}

function launch(binDir: string, dir: string, p: Proc): void {
  const out = fs.openSync(path.join(dir, `${p.name}.log`), "a");
  // Own process group, so stop() can kill anything the binary forks.
  p.child = spawn(path.join(binDir, p.name), p.args, { stdio: ["ignore", out, out], detached: true });
  fs.closeSync(out);
  fs.appendFileSync(path.join(dir, "pids"), `${p.child.pid}\n`);
}

async function stopProc(p: Proc): Promise<void> {
  const child = p.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
  try {
    process.kill(-(child.pid as number), "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), "SIGKILL");
    } catch {
      /* already gone */
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise(r => setTimeout(r, 200));
  }
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n") : "";
  throw new Error(`${what} did not become ready in ${timeoutMs} ms; last log lines:\n${tail}`);
}

async function httpsReady(server: string, dir: string): Promise<boolean> {
  const https = await import("node:https");
  return new Promise(resolve => {
    const req = https.get(
      `${server}/readyz`,
      {
        ca: fs.readFileSync(path.join(dir, "ca.crt")),
        cert: fs.readFileSync(path.join(dir, "admin.crt")),
        key: fs.readFileSync(path.join(dir, "admin.key")),
        timeout: 2000,
      },
      res => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("error", () => resolve(false));
  });
}

function tcpReady(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.end();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Kills processes left by an earlier run whose owner died before stopping them. */
function reapStale(root: string): void {
  if (!fs.existsSync(root)) return;
  for (const entry of fs.readdirSync(root)) {
    const pids = path.join(root, entry, "pids");
    const owner = Number(fs.existsSync(path.join(root, entry, "owner")) ? fs.readFileSync(path.join(root, entry, "owner"), "utf8") : 0);
    if (!fs.existsSync(pids) || alive(owner)) continue;
    for (const pid of fs.readFileSync(pids, "utf8").split("\n").filter(Boolean)) {
      try {
        process.kill(-Number(pid), "SIGKILL");
      } catch {
        /* gone */
      }
    }
    fs.rmSync(path.join(root, entry), { recursive: true, force: true });
  }
}

export interface StartOptions {
  /** Extra kube-apiserver flags, e.g. a low --max-requests-inflight for overload tests. */
  apiServerFlags?: string[];
  /** Skip kube-controller-manager (namespace deletion and garbage collection need it). */
  withoutControllerManager?: boolean;
  /**
   * Runs once the API server is ready and before kube-controller-manager starts: install CRDs
   * here, so its garbage collector knows them at once instead of after its 30 s rediscovery.
   */
  beforeControllerManager?: (kubeconfig: string) => Promise<void>;
  /**
   * The address kube-apiserver binds to and advertises (default 127.0.0.1). It must exist before
   * the start: a real node's pods reach the API server there (hack/node-cluster.ts).
   */
  address?: string;
  /** Service ClusterIP range (default 10.96.0.0/16); its first address is in the serving cert. */
  serviceCidr?: string;
  /**
   * The control plane of a real node: kube-scheduler, Node authorization and NodeRestriction,
   * the controllers a Deployment install needs, and the client cert kube-apiserver shows kubelets.
   */
  forNode?: boolean;
}

/** The controllers the plain control plane runs: enough for namespaces and garbage collection. */
const BASE_CONTROLLERS = [
  "namespace-controller",
  "garbage-collector-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
];
/**
 * What a node cluster adds: Deployments and ReplicaSets, Service endpoints (the API server calls
 * webhooks through them), kube-root-ca.crt in every namespace (service-account token volumes
 * need it), PodDisruptionBudgets, RBAC aggregation, Jobs (Helm hooks), pod GC (deletes pods
 * bound to a node that is gone, and terminated pods past its threshold) and node lifecycle.
 */
const NODE_CONTROLLERS = [
  "deployment-controller",
  "replicaset-controller",
  "endpoints-controller",
  "endpointslice-controller",
  "endpointslice-mirroring-controller",
  "root-ca-certificate-publisher-controller",
  "disruption-controller",
  "clusterrole-aggregation-controller",
  "job-controller",
  "pod-garbage-collector-controller",
  // Lifts the not-ready taint a kubelet registers with (without it nothing schedules). No
  // taint-eviction-controller: a node that stops reporting keeps its pods.
  "node-lifecycle-controller",
];

/** The first address of a service CIDR: the `kubernetes` Service's ClusterIP. */
export function firstServiceIp(cidr: string): string {
  const [base] = cidr.split("/");
  const octets = base.split(".").map(Number);
  octets[3] += 1;
  return octets.join(".");
}

/** Lets kube-apiserver's kubelet client (group kubelet-api-admins) use the kubelet API. */
async function grantKubeletApi(binDir: string, kubeconfig: string): Promise<void> {
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "vmnet-kube-apiserver-kubelet-api" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:kubelet-api-admin" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "kubelet-api-admins" }],
  };
  execFileSync(path.join(binDir, "kubectl"), ["--kubeconfig", kubeconfig, "apply", "--server-side", "-f", "-"], {
    input: JSON.stringify(binding),
    stdio: ["pipe", "ignore", "pipe"],
  });
}

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const binDir = ensureBinaries();
  const root = path.join(os.tmpdir(), "vmnet-control-plane");
  reapStale(root);
  fs.mkdirSync(root, { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, "run-"));
  fs.writeFileSync(path.join(dir, "owner"), String(process.pid));
  const address = opts.address ?? "127.0.0.1";
  const serviceCidr = opts.serviceCidr ?? "10.96.0.0/16";
  makePki(dir, [address, firstServiceIp(serviceCidr)]);
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://${address}:${apiPort}`;
  const kubeconfig = writeKubeconfig(dir, server);
  const f = (name: string): string => path.join(dir, name);
  // kube-apiserver's identity towards kubelets (exec, logs, port-forward, node proxy).
  if (opts.forNode)
    signCert(dir, "apiserver-kubelet-client", { commonName: "kube-apiserver-kubelet-client", groups: ["kubelet-api-admins"] });
  const nodeApiFlags = [
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    `--kubelet-client-certificate=${f("apiserver-kubelet-client.crt")}`,
    `--kubelet-client-key=${f("apiserver-kubelet-client.key")}`,
    `--kubelet-certificate-authority=${f("ca.crt")}`,
    "--kubelet-preferred-address-types=InternalIP",
  ];

  const etcd: Proc = {
    name: "etcd",
    args: [
      `--data-dir=${f("etcd-data")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      "--unsafe-no-fsync", // test data only: fsync on a shared disk dominates write latency
      "--log-level=warn",
    ],
  };
  const apiserver: Proc = {
    name: "kube-apiserver",
    args: [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${f("apiserver.crt")}`,
      `--tls-private-key-file=${f("apiserver.key")}`,
      `--client-ca-file=${f("ca.crt")}`,
      `--service-account-issuer=https://kubernetes.default.svc`,
      `--service-account-key-file=${f("sa.pub")}`,
      `--service-account-signing-key-file=${f("sa.key")}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      ...(opts.forNode ? nodeApiFlags : ["--authorization-mode=RBAC"]),
      "--enable-priority-and-fairness=true",
      "--profiling=false",
      ...(opts.apiServerFlags ?? []),
    ],
  };
  const kcm: Proc = {
    name: "kube-controller-manager",
    args: [
      ...componentFlags(kubeconfig),
      `--service-account-private-key-file=${f("sa.key")}`,
      `--root-ca-file=${f("ca.crt")}`,
      `--controllers=${[...BASE_CONTROLLERS, ...(opts.forNode ? NODE_CONTROLLERS : [])].join(",")}`,
      "--concurrent-gc-syncs=10",
    ],
  };
  const scheduler: Proc = {
    name: "kube-scheduler",
    args: componentFlags(kubeconfig),
  };

  const startEtcd = async (): Promise<void> => {
    launch(binDir, dir, etcd);
    await waitFor("etcd", () => tcpReady(etcdPort), 30_000, f("etcd.log"));
  };
  const startApi = async (): Promise<void> => {
    launch(binDir, dir, apiserver);
    await waitFor("kube-apiserver", () => httpsReady(server, dir), 90_000, f("kube-apiserver.log"));
  };

  const t0 = Date.now();
  await startEtcd();
  await startApi();
  if (opts.forNode) await grantKubeletApi(binDir, kubeconfig);
  await opts.beforeControllerManager?.(kubeconfig);
  if (!opts.withoutControllerManager) launch(binDir, dir, kcm);
  if (opts.forNode) launch(binDir, dir, scheduler);
  log(`ready at ${server} in ${Date.now() - t0} ms (logs and kubeconfig in ${dir})`);

  return {
    kubeconfig,
    server,
    dir,
    binDir,
    caCertFile: f("ca.crt"),
    caKeyFile: f("ca.key"),
    userKubeconfig: (user, groups = []) => {
      const name = `user-${user.replace(/[^a-z0-9-]/gi, "-")}`;
      signCert(dir, name, { commonName: user, groups });
      return writeKubeconfig(dir, server, name);
    },
    issueCertificate: (name, spec) => {
      signCert(dir, name, spec);
      return { cert: f(`${name}.crt`), key: f(`${name}.key`) };
    },
    stop: async () => {
      await stopProc(scheduler);
      await stopProc(kcm);
      await stopProc(apiserver);
      await stopProc(etcd);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    restartApiServer: async (withEtcd = false) => {
      await stopProc(apiserver);
      if (withEtcd) {
        await stopProc(etcd);
        await startEtcd();
      }
      await startApi();
    },
  };
}

if (require.main === module) {
  void (async () => {
    const cp = await startControlPlane();
    console.log(`export KUBECONFIG=${cp.kubeconfig}`);
    const stop = (): void => void cp.stop().then(() => process.exit(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  })();
}
