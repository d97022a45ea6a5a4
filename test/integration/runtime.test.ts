// The module as the Deployments run it (capabilities/runtime): two watcher processes started the
// way the watcher Deployment starts them (PEPR_WATCH_MODE, VMNET_TLS_MODE=self-managed, leader
// election), on the host against the real API server. Both become ready (/readyz: caches filled,
// Pepr's routes bound, served over the certificate from the Secret they made), exactly one leads
// (vmnet_leader), and when it stops the other takes over.
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import http from "node:http";
import path from "node:path";
import tls from "node:tls";
import { fromSecretData, serviceDnsNames } from "../../capabilities/tls/certs";
import { SECRET } from "../../capabilities/tls/manager";
import { freePort } from "../../hack/operator-process";
import { eventually } from "../helpers";
import { cluster, freshNamespace } from "../setup/cluster";

const ROOT = path.join(__dirname, "..", "..");

interface Watcher {
  name: string;
  child: ChildProcess;
  metricsPort: number;
  webhookPort: number;
  out: () => string;
}

const get = (port: number, p: string): Promise<{ status: number; body: string }> =>
  new Promise(resolve => {
    const req = http.get({ host: "127.0.0.1", port, path: p, timeout: 3000 }, res => {
      let body = "";
      res.on("data", d => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.on("timeout", () => req.destroy());
  });

async function watcher(name: string, namespace: string): Promise<Watcher> {
  const metricsPort = await freePort();
  const webhookPort = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "pepr.ts")], {
    cwd: ROOT,
    env: {
      ...process.env,
      KUBECONFIG: cluster().controlPlane.kubeconfig,
      PEPR_WATCH_MODE: "true",
      LOG_LEVEL: "info",
      POD_NAMESPACE: namespace,
      POD_NAME: name,
      VMNET_TLS_MODE: "self-managed",
      VMNET_WEBHOOK_CONFIGURATIONS: "vmnet-runtime-test-none",
      VMNET_CERT_DIR: path.join("/tmp", `vmnet-runtime-${name}-${crypto.randomBytes(3).toString("hex")}`),
      VMNET_LEADER_ELECTION: "true",
      VMNET_METRICS_PORT: String(metricsPort),
      VMNET_WEBHOOK_PORT: String(webhookPort),
      VMNET_RESYNC_SECONDS: "10",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", d => (out = (out + d).slice(-200_000)));
  child.stderr!.on("data", d => (out = (out + d).slice(-200_000)));
  return { name, child, metricsPort, webhookPort, out: () => out };
}

const leading = async (w: Watcher): Promise<boolean> => /^vmnet_leader\{[^}]*\} 1$/m.test((await get(w.metricsPort, "/metrics")).body);

const stop = (w: Watcher, signal: NodeJS.Signals): Promise<void> =>
  new Promise(resolve => {
    if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
    w.child.once("exit", () => resolve());
    w.child.kill(signal);
  });

describe("the watcher as installed: self-managed TLS, Lease, probes (two processes)", function () {
  this.timeout(240_000);
  let ns = "";
  const watchers: Watcher[] = [];

  before(async () => {
    ns = await freshNamespace("runtime");
    watchers.push(await watcher("w-1", ns), await watcher("w-2", ns));
  });

  after(async () => {
    await Promise.all(watchers.map(w => stop(w, "SIGKILL")));
  });

  it("both answer /livez and turn ready; they share one certificate from the Secret and serve it", async () => {
    for (const w of watchers) {
      await eventually(`${w.name} /livez`, async () => (await get(w.metricsPort, "/livez")).status === 200, 90_000);
      await eventually(`${w.name} /readyz`, async () => (await get(w.metricsPort, "/readyz")).status === 200, 120_000).catch(err => {
        throw new Error(`${err}\n${w.out().slice(-4000)}`);
      });
    }
    const secret = await cluster().client.get<{ data: Record<string, string> }>(SECRET, "vmnet-operator-tls", ns);
    const m = fromSecretData(secret.data)!;
    for (const w of watchers) {
      const serial = await new Promise<string>((resolve, reject) => {
        const s = tls.connect(
          { host: "127.0.0.1", port: w.webhookPort, ca: m.caCert, servername: serviceDnsNames(["vmnet-operator"], ns)[2] },
          () => {
            resolve(s.getPeerX509Certificate()!.serialNumber);
            s.destroy();
          },
        );
        s.on("error", reject);
      });
      assert.equal(serial, new crypto.X509Certificate(m.cert).serialNumber, `${w.name} serves another certificate`);
    }
  });

  it("exactly one leads; after it stops (SIGTERM) the other takes over", async () => {
    const leader = await eventually(
      "a leader",
      async () => {
        const states = await Promise.all(watchers.map(leading));
        return states.filter(Boolean).length === 1 ? watchers[states.indexOf(true)] : undefined;
      },
      60_000,
    );
    const other = watchers.find(w => w !== leader)!;
    // The follower says so once it has read the Lease another holds (its next retry period).
    await eventually(`${other.name} to log that it follows`, async () => /following \(caches warm, no writes\)/.test(other.out()), 30_000);
    const t0 = Date.now();
    await stop(leader, "SIGTERM");
    await eventually(`${other.name} leads`, () => leading(other), 30_000);
    console.log(`      takeover after SIGTERM of the leading watcher: ${Date.now() - t0} ms`);
    assert.match(leader.out(), /released the leader Lease on shutdown/);
    assert.match(other.out(), /became the leader/);
  });
});
