// `npm run bench`: every figure of DESIGN section 5 measured in one run on this machine, printed
// as a table for BENCHMARKS.md. Not a test: nothing here passes or fails.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLocalCluster } from "../../hack/cluster-setup";
import { benchAdmission, MAX_RATE_P99_MS } from "./admission";
import { perVmLine, pprofTop } from "./apiserver";
import { cpuLine } from "./cpu";
import { operatorBuild } from "./operator-build";
import { removeScaleObjects } from "./cleanup";
import { benchScale, ScaleResult } from "./scale";
import { benchWhereabouts } from "./whereabouts";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const log = (s: string): void => console.error(`[bench] ${s}`);
const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

async function main(): Promise<void> {
  const vms = arg("vms", 1000);
  const concurrency = arg("concurrency", 32);
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${new Date().toISOString()}, load average ${os
      .loadavg()
      .map(l => l.toFixed(1))
      .join(" ")}`,
  );
  const profileDir = flag("profile");
  console.log(`operator: ${await operatorBuild(process.argv, profileDir !== undefined)}`);
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  if (!process.argv.includes("--skip-allocator")) {
    console.log("\n## Allocator core (pure, no API server)");
    const tsx = path.join(__dirname, "..", "..", "node_modules", "tsx", "dist", "cli.mjs");
    console.log(
      execFileSync(process.execPath, ["--expose-gc", tsx, path.join(__dirname, "allocator.bench.ts")], { encoding: "utf8" }).trim(),
    );
  }
  // Profiling (on by default in a real cluster, off in our test control plane) only to profile it.
  const cp = await startLocalCluster(profileDir ? { apiServerFlags: ["--profiling=true"] } : {});
  try {
    if (process.argv.includes("--only-admission")) return await admission(profileDir, cp.dir);
    const apiServer = { server: cp.server, dir: cp.dir, profileSeconds: profileDir ? arg("apiserver-profile-seconds", 3) : undefined };
    const s = await benchScale({
      vms,
      concurrency,
      log,
      profileDir,
      settleSeconds: arg("settle-seconds", 30),
      controlPlaneDir: cp.dir,
      apiServer,
    });
    printScale(s, vms, concurrency);
    for (const [window, files] of Object.entries(s.apiServerProfiles))
      if (files.length)
        log(
          `kube-apiserver CPU profile while ${window === "bind" ? "binding" : "replaying"} (${files.join(" ")}):\n${pprofTop(files, 25, true)}`,
        );
    if (process.argv.includes("--only-scale")) return;
    await removeScaleObjects(log);
    const wb = await benchWhereabouts({ kubeconfig: cp.kubeconfig, count: vms, concurrency: 8 });
    console.log(`\n## Whereabouts ${"v0.9.4"} IPAM, ${vms} CNI ADDs at concurrency 8, same API server`);
    console.log(
      `whereabouts: ${wb.seconds.toFixed(1)} s (${wb.perSecond.toFixed(1)}/s), duplicates ${wb.duplicates}, failures ${wb.failures}, per-call p50 ${wb.latency.p50.toFixed(2)} s p99 ${wb.latency.p99.toFixed(2)} s`,
    );
    console.log(
      `vmnet-operator is ${(wb.seconds / s.bindSeconds).toFixed(1)}x faster (first claim to all Bound), ${(wb.seconds / s.operatorSeconds).toFixed(1)}x counting its process start`,
    );
    await admission(profileDir, cp.dir);
  } finally {
    await cp.stop();
  }
}

/** The scale run's figures, one line each (compared from run to run: keep their wording). */
function printScale(s: ScaleResult, vms: number, concurrency: number): void {
  console.log(`\n## ${vms} VMs bound (operator concurrency ${concurrency})`);
  console.log(
    `operator: first claim to all Bound ${s.bindSeconds.toFixed(1)} s (${(vms / s.bindSeconds).toFixed(0)} VMs/s); from process start ${s.operatorSeconds.toFixed(1)} s (start-up until webhooks registered ${s.startupSeconds.toFixed(1)} s)`,
  );
  console.log(
    `writes: ${Object.entries(s.writes)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")} (${s.writesPerVm.toFixed(2)} per VM)`,
  );
  console.log(
    `API server ceiling (same writes, concurrency ${concurrency}): ${s.ceilingSeconds.toFixed(1)} s; ratio operator/ceiling = ${s.ratio.toFixed(2)}`,
  );
  console.log(`CPU seconds while binding: ${cpuLine(s.cpu.bind)}; while replaying for the ceiling: ${cpuLine(s.cpu.ceiling)}`);
  console.log(`API server while binding: ${perVmLine(s.requests.bind, vms)}`);
  console.log(`API server while replaying: ${perVmLine(s.requests.ceiling, vms)}`);
  console.log(
    `operator memory with ${vms} VMs, claims and allocations cached: RSS ${s.rssMiB.toFixed(0)} MiB, heap used ${s.heapMiB.toFixed(0)} MiB`,
  );
  console.log(
    `operator memory ${s.settled.seconds} s after the last bind, idle, no forced GC: RSS ${s.settled.rssMiB.toFixed(0)} MiB, heap used ${s.settled.heapMiB.toFixed(0)} MiB`,
  );
  console.log(
    `operator memory before the first VM (a start with none, 2 s after it serves): RSS ${s.base.rssMiB.toFixed(0)} MiB, ${s.base.gcRssMiB.toFixed(0)} MiB after a full GC`,
  );
  console.log(
    `heap per VM: ${s.gc.heapPerVmKB.toFixed(1)} KB (after full GC: heap ${s.gc.baseHeapMiB.toFixed(1)} MiB with no VM, ${s.gc.heapMiB.toFixed(1)} MiB with ${vms}; RSS ${s.gc.rssMiB.toFixed(0)} MiB)`,
  );
  console.log(
    `load average at the end of the scale run: ${os
      .loadavg()
      .map(l => l.toFixed(1))
      .join(" ")}`,
  );
}

async function admission(profileDir: string | undefined, controlPlaneDir: string): Promise<void> {
  // --compare-pepr: first every review through Pepr's server (VMNET_DIRECT_ADMISSION=false, the
  // path before the front server answered them itself), then as configured; same run, same cluster.
  if (process.argv.includes("--compare-pepr"))
    await admissionRun(
      profileDir,
      "through Pepr (VMNET_DIRECT_ADMISSION=false)",
      { VMNET_DIRECT_ADMISSION: "false" },
      "pepr",
      controlPlaneDir,
    );
  await admissionRun(profileDir, "", {}, "direct", controlPlaneDir);
}

async function admissionRun(
  profileDir: string | undefined,
  title: string,
  env: Record<string, string>,
  label: string,
  controlPlaneDir: string,
): Promise<void> {
  const rate = arg("rate", 200);
  const searchSeconds = arg("search-seconds", 5);
  const lat = await benchAdmission({ rate, seconds: arg("seconds", 10), log, profileDir, searchSeconds, env, label, controlPlaneDir });
  console.log(
    `\n## Admission latency at the webhook, ${rate} requests/s over TLS on loopback${title ? `, ${title}` : ""} (load average ${os
      .loadavg()
      .map(l => l.toFixed(1))
      .join(" ")})`,
  );
  for (const r of lat)
    console.log(
      `${r.path}: ${r.requests} requests (sent at ${r.sentPerSecond.toFixed(0)}/s), ${r.errors} errors, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms`,
    );
  for (const r of lat)
    console.log(
      `${r.path}: CPU per request at ${rate}/s: operator ${r.cpuMsPerRequest.operator.toFixed(2)} ms, load generator ${r.cpuMsPerRequest.loadGenerator.toFixed(2)} ms (operator busy ${(r.operatorBusy * 100).toFixed(0)}% of a core; idle just before: ${(r.operatorIdleBusy * 100).toFixed(1)}%); control plane in the window: ${cpuLine(r.controlPlane)} CPU-s, after waiting ${r.settledAfter.toFixed(0)} s for it to settle`,
    );
  for (const r of lat)
    if (r.maxRate !== undefined)
      console.log(
        `${r.path}: highest rate with p99 <= ${MAX_RATE_P99_MS} ms: ${r.maxRate}/s (p99 ${r.maxRateP99?.toFixed(2)} ms; steps of ${searchSeconds} s)`,
      );
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
