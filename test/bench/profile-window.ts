// Where a CPU profile's time went within a time window (the bind window of a scale run, say):
// the busy share of each second, and the inclusive time of each function over the window.
//   npx tsx test/bench/profile-window.ts <file.cpuprofile> <from s> <to s> [rows] [--bundle module.js]
// Seconds count from the profile's start. With --bundle (a bundle built with whitespace, as
// `npm run bench -- --profile` builds it) each bundle line is named by its source module.
import fs from "node:fs";

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Source module of each bundle line, from esbuild's `// path` comments. */
function bundleModules(file: string | undefined): (line: number) => string {
  if (!file) return () => "";
  const starts: { line: number; module: string }[] = [];
  fs.readFileSync(file, "utf8")
    .split("\n")
    .forEach((text, line) => {
      const m = /^\/\/ ((?:node_modules|capabilities)\S*)$/.exec(text);
      if (m) starts.push({ line, module: m[1] });
    });
  return line => [...starts].reverse().find(s => s.line <= line)?.module ?? "";
}

function labeller(moduleAt: (line: number) => string): (n: CpuNode) => string {
  const cache = new Map<CpuNode, string>();
  return n => {
    let l = cache.get(n);
    if (l === undefined) {
      const where = n.callFrame.url.endsWith("module.js") ? moduleAt(n.callFrame.lineNumber) : n.callFrame.url.replace(/.*\//, "");
      l = `${n.callFrame.functionName || "(anonymous)"} ${where}:${n.callFrame.lineNumber}`;
      cache.set(n, l);
    }
    return l;
  };
}

/** Inclusive time (each function once per sample, wherever it is on the stack) and idle time in [from, to] µs. */
function inclusive(
  p: CpuProfile,
  from: number,
  to: number,
  label: (n: CpuNode) => string,
): { total: number; idle: number; perSecond: Map<number, { busy: number; all: number }>; times: Map<string, number> } {
  const byId = new Map(p.nodes.map(n => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const times = new Map<string, number>();
  const perSecond = new Map<number, { busy: number; all: number }>();
  let [t, total, idle] = [0, 0, 0];
  p.samples.forEach((id, i) => {
    t += p.timeDeltas[i];
    if (t < from || t > to) return;
    const d = p.timeDeltas[i];
    const second = perSecond.get(Math.floor(t / 1e6)) ?? { busy: 0, all: 0 };
    perSecond.set(Math.floor(t / 1e6), second);
    total += d;
    second.all += d;
    if (byId.get(id)?.callFrame.functionName === "(idle)") return void (idle += d);
    second.busy += d;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const l = label(byId.get(at) as CpuNode);
      if (!seen.has(l)) times.set(l, (times.get(l) ?? 0) + d);
      seen.add(l);
    }
  });
  return { total, idle, perSecond, times };
}

function main(): void {
  const [file, from, to, rows] = process.argv.slice(2).filter((a, i, all) => a !== "--bundle" && all[i - 1] !== "--bundle");
  const b = process.argv.indexOf("--bundle");
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const r = inclusive(profile, Number(from) * 1e6, Number(to) * 1e6, labeller(bundleModules(b > 0 ? process.argv[b + 1] : undefined)));
  console.log(
    `${file}: ${from}-${to} s, ${(r.total / 1e6).toFixed(1)} s sampled, busy ${((100 * (r.total - r.idle)) / r.total).toFixed(0)}%`,
  );
  for (const [s, v] of [...r.perSecond].sort((x, y) => x[0] - y[0]))
    console.log(`  ${String(s).padStart(4)} s: busy ${((100 * v.busy) / v.all).toFixed(0)}%`);
  console.log("inclusive time:");
  const top = [...r.times].sort((x, y) => y[1] - x[1]).slice(0, Number(rows ?? 40));
  for (const [l, v] of top) console.log(`${((100 * v) / r.total).toFixed(1).padStart(6)}% ${(v / 1000).toFixed(0).padStart(7)} ms  ${l}`);
}

main();
