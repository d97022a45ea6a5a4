// Summaries of the profiles `npm run bench -- --profile <dir>` writes, for BENCHMARKS.md:
//   npx tsx test/bench/profile-summary.ts <file.cpuprofile | file.heapsnapshot> [rows] [--bundle module.js]
// CPU: self time by package (node_modules/<pkg>, our code, node internals, idle, GC) and by
// function. Heap: self size by node type and constructor, and the largest strings' shapes.
import fs from "node:fs";

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Line -> source module of an esbuild bundle built with whitespace (its `// path` comments). */
let bundleModules: { line: number; module: string }[] = [];

function loadBundle(file: string): void {
  bundleModules = [];
  fs.readFileSync(file, "utf8")
    .split("\n")
    .forEach((text, line) => {
      const m = /^\/\/ ((?:node_modules|capabilities|pepr\.ts|package\.json)\S*)$/.exec(text);
      if (m) bundleModules.push({ line, module: m[1] });
    });
}

function moduleAt(line: number): string | undefined {
  let lo = 0;
  let hi = bundleModules.length - 1;
  let found: string | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (bundleModules[mid].line <= line) {
      found = bundleModules[mid].module;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

const PSEUDO_FUNCTIONS = new Set(["(idle)", "(program)", "(garbage collector)"]);

/** The package of a line of the bundle, by the module map read from its source map. */
function bundlePackage(line: number): string {
  const mod = moduleAt(line) ?? "";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(mod);
  if (nm) return nm[1];
  if (mod.startsWith("capabilities/")) return `vmnet ${mod.split("/").slice(0, 2).join("/")}`;
  return mod || "bundle (module.js)";
}

function packageOf(url: string, fn: string, line = 0): string {
  if (PSEUDO_FUNCTIONS.has(fn)) return fn;
  if (url.endsWith("module.js") && bundleModules.length) return bundlePackage(line);
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.includes("/capabilities/")) return "vmnet (capabilities/)";
  if (url.endsWith("module.js")) return "bundle (module.js)";
  if (url.startsWith("node:") || url === "") return "node internals";
  return url.replace(/^.*\//, "");
}

function cpu(file: string, rows: number): void {
  const p = JSON.parse(fs.readFileSync(file, "utf8")) as {
    nodes: CpuNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
  };
  const byId = new Map(p.nodes.map(n => [n.id, n]));
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
  const byPkg = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    add(byPkg, packageOf(url, functionName, lineNumber), us);
    const where =
      url.endsWith("module.js") && bundleModules.length
        ? (moduleAt(lineNumber) ?? "module.js").replace(/^node_modules\//, "")
        : url.replace(/^.*\//, "");
    add(byFn, `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`, us);
  }
  const show = (title: string, m: Map<string, number>): void => {
    console.log(title);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, rows))
      console.log(`  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  };
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
  show("self time by package:", byPkg);
  show("self time by function:", byFn);
}

function heap(file: string, rows: number): void {
  const snap = JSON.parse(fs.readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const f = snap.snapshot.meta.node_fields;
  const width = f.length;
  const [iType, iName, iSize] = ["type", "name", "self_size"].map(x => f.indexOf(x));
  const types = snap.snapshot.meta.node_types[0];
  const bySize = new Map<string, { size: number; count: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]];
    const size = snap.nodes[i + iSize];
    total += size;
    const name = type === "object" || type === "closure" || type === "native" ? `${type} ${snap.strings[snap.nodes[i + iName]]}` : type;
    const e = bySize.get(name) ?? { size: 0, count: 0 };
    e.size += size;
    e.count++;
    bySize.set(name, e);
  }
  console.log(`${file}: ${(total / 2 ** 20).toFixed(1)} MiB in ${(snap.nodes.length / width).toLocaleString()} nodes`);
  console.log("self size by type and constructor:");
  for (const [k, v] of [...bySize].sort((a, b) => b[1].size - a[1].size).slice(0, rows))
    console.log(`  ${(v.size / 2 ** 20).toFixed(2).padStart(7)} MiB  ${v.count.toLocaleString().padStart(9)}  ${k.slice(0, 100)}`);
}

const args = process.argv.slice(2);
const b = args.indexOf("--bundle");
if (b >= 0) loadBundle(args.splice(b, 2)[1]);
const [file, rows = "25"] = args;
if (!file) throw new Error("usage: profile-summary.ts <file.cpuprofile|file.heapsnapshot> [rows] [--bundle module.js]");
(file.endsWith(".heapsnapshot") ? heap : cpu)(file, Number(rows));
