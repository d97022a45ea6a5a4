// Image figures for BENCHMARKS.md in one run: the operator image's size, and for the production
// bundle (the image's /app/module.js run by the image's node, from its unpacked rootfs) against
// the same module under tsx (`node --import tsx pepr.ts`, as the local runner does): cold start
// (process start to /healthz answering 200, and to the admission routes bound) and idle RSS.
// Both run as an admission replica (PEPR_WATCH_MODE=false) against a local control plane.
//
//   npx tsx test/bench/image.ts [--runs 3] [--idle-seconds 20]
import { ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { KubeClient } from "../../capabilities/k8s/client";
import { installCrds } from "../../hack/cluster-setup";
import { startControlPlane } from "../../hack/control-plane";
import { buildImage } from "../../hack/image/build";
import { readArchive, rootfsCommand, unpackRootfs } from "../../hack/image/inspect";
import { freePort } from "../../hack/operator-process";
import { servingCert, waitUntilServing } from "../../hack/serving";

const ROOT = path.join(__dirname, "..", "..");

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

function healthz(port: number): Promise<number> {
  return new Promise(resolve => {
    const req = https.get({ host: "127.0.0.1", port, path: "/healthz", rejectUnauthorized: false }, res => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
  });
}

async function waitHealthy(port: number): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if ((await healthz(port)) === 200) return;
    await new Promise(r => setTimeout(r, 25));
  }
  throw new Error(`no /healthz on ${port} in 30 s`);
}

/** Resident set of a process and its descendants (tsx adds none: one process with --import). */
function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

interface Sample {
  healthzMs: number;
  boundMs: number;
  rss: number;
}

async function measure(argv: string[], env: NodeJS.ProcessEnv, idleSeconds: number): Promise<Sample> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const token = crypto.randomBytes(8).toString("hex");
  const t0 = performance.now();
  const child: ChildProcess = spawn(argv[0], argv.slice(1), {
    env: {
      ...env,
      PEPR_API_PATH: token,
      PEPR_WATCH_MODE: "false",
      VMNET_WEBHOOK_PORT: String(port),
      VMNET_METRICS_PORT: String(metricsPort),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    await waitHealthy(port);
    const healthzMs = performance.now() - t0;
    await waitUntilServing(port);
    const boundMs = performance.now() - t0;
    await new Promise(r => setTimeout(r, idleSeconds * 1000));
    return { healthzMs, boundMs, rss: rssMiB(child.pid!) };
  } finally {
    const exited = new Promise(r => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const runs = arg("runs", 3);
  const idleSeconds = arg("idle-seconds", 20);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "vmnet-image-bench-"));
  const img = await buildImage("operator");
  const oci = readArchive(img.archive, fs.mkdtempSync(path.join(work, "oci-")));
  const layers = oci.layers.map(l => fs.statSync(l).size);
  const rootfs = unpackRootfs(oci, path.join(work, "rootfs"));
  const cp = await startControlPlane({
    beforeControllerManager: async kubeconfig => {
      process.env.KUBECONFIG = kubeconfig;
      const client = await KubeClient.fromDefault();
      await installCrds(client);
      await client.close();
    },
  });
  try {
    const tls = servingCert(work);
    const env = { PATH: process.env.PATH, KUBECONFIG: cp.kubeconfig, SSL_KEY_PATH: tls.key, SSL_CERT_PATH: tls.cert };
    const variants: [string, string[]][] = [
      ["bundle (image node + /app/module.js)", rootfsCommand(rootfs, "usr/local/bin/node", [path.join(rootfs, "app/module.js")])],
      ["tsx (node --import tsx pepr.ts)", [process.execPath, "--import", "tsx", path.join(ROOT, "pepr.ts")]],
    ];
    const results = new Map<string, Sample[]>(variants.map(([n]) => [n, []]));
    // Alternating runs, so both see the same machine load.
    for (let i = 0; i < runs; i++)
      for (const [name, argv] of variants) results.get(name)!.push(await measure(argv, { ...env }, idleSeconds));
    console.log(`image ${img.reference} ${img.digest}`);
    console.log(
      `  archive ${(fs.statSync(img.archive).size / 2 ** 20).toFixed(1)} MiB, layers (gzip) ${layers.map(s => (s / 2 ** 20).toFixed(1)).join(" + ")} MiB`,
    );
    for (const [name, samples] of results) {
      const f = (xs: number[], d = 0): string => `${median(xs).toFixed(d)} (${xs.map(x => x.toFixed(d)).join(", ")})`;
      console.log(`${name}, ${runs} runs, median (all):`);
      console.log(`  start to /healthz 200      ${f(samples.map(s => s.healthzMs))} ms`);
      console.log(`  start to admission bound   ${f(samples.map(s => s.boundMs))} ms`);
      console.log(
        `  RSS after ${idleSeconds} s idle        ${f(
          samples.map(s => s.rss),
          1,
        )} MiB`,
      );
    }
  } finally {
    await cp.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
