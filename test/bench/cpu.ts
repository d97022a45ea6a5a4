// CPU seconds of the processes a scale run loads: the control plane's (kube-apiserver, etcd, ...,
// read from /proc by the pids the control plane wrote) and the writer's (the operator, from its
// metrics; or this process while it replays for the ceiling). Where the time beyond the ceiling
// goes: a busy API server, or a busy writer.
import fs from "node:fs";
import path from "node:path";

/** CPU seconds by process name. */
export type CpuSplit = Record<string, number>;

/** utime + stime of each control-plane process (by its comm), in seconds. */
export function controlPlaneCpu(dir: string | undefined): CpuSplit {
  const out: CpuSplit = {};
  const file = dir && path.join(dir, "pids");
  if (!file || !fs.existsSync(file)) return out;
  for (const pid of fs.readFileSync(file, "utf8").split("\n").filter(Boolean)) {
    try {
      const comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      // After "(comm) ": utime and stime are the 12th and 13th fields, in clock ticks (100 per second on Linux).
      const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      out[comm] = (out[comm] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // exited (a restarted API server leaves its old pid in the file)
    }
  }
  return out;
}

export function cpuDelta(before: CpuSplit, after: CpuSplit): CpuSplit {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

/** prom-client sets its CPU counters in the user counter's collect: asked for first, the system one is current too. */
const CPU_METRICS = ["process_cpu_user_seconds_total", "process_cpu_system_seconds_total"];

/** The operator's CPU seconds (user + system), asked of its metrics port for those two metrics only. */
export async function operatorCpu(metricsPort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics?${CPU_METRICS.map(n => `name=${n}`).join("&")}`);
  const text = await res.text();
  return CPU_METRICS.reduce((sum, name) => sum + Number(new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(text)?.[1] ?? 0), 0);
}

/** Control plane and operator now. */
export async function bindCpu(dir: string | undefined, metricsPort: number): Promise<CpuSplit> {
  return { ...controlPlaneCpu(dir), operator: await operatorCpu(metricsPort) };
}

/** Runs `fn` (the replay) and returns its result with the CPU the control plane and this process used meanwhile. */
export async function measured<T>(dir: string | undefined, fn: () => Promise<T>): Promise<{ result: T; cpu: CpuSplit }> {
  const [plane, self] = [controlPlaneCpu(dir), process.cpuUsage()];
  const result = await fn();
  const used = process.cpuUsage(self);
  return { result, cpu: { ...cpuDelta(plane, controlPlaneCpu(dir)), client: (used.user + used.system) / 1e6 } };
}

/** "kube-apiserver 12.3, etcd 4.5, operator 6.7 (total 23.5)". */
export function cpuLine(split: CpuSplit): string {
  const total = Object.values(split).reduce((a, b) => a + b, 0);
  return `${Object.entries(split)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(", ")} (total ${total.toFixed(1)})`;
}
