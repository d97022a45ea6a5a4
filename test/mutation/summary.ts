// Summarises Stryker JSON reports (reports/mutation/*.json): per file killed / survived / timeout /
// no coverage and the score (killed + timeout over all valid mutants, Stryker's "mutation score"),
// then every surviving mutant as file:line, mutator and replacement, for test/mutation/SURVIVORS.md.
// Usage: npx tsx test/mutation/summary.ts reports/mutation/a.json [more.json ...] [--only file:from-to ...]
import { readFileSync } from "node:fs";

interface Mutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}

interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

const args = process.argv.slice(2);
const onlyAt = args.indexOf("--only");
const files = onlyAt < 0 ? args : args.slice(0, onlyAt);
// "path:from-to" keeps mutants of those lines only (the line ranges of stryker.config.json).
const only =
  onlyAt < 0
    ? []
    : args
        .slice(onlyAt + 1)
        .map(s => /^(.*?)(?::(\d+)-(\d+))?$/.exec(s)!)
        .map(m => ({ file: m[1], from: Number(m[2] ?? 0), to: Number(m[3] ?? Infinity) }));

const byFile = new Map<string, Mutant[]>();
const sources = new Map<string, string[]>();
for (const f of files) {
  const report = JSON.parse(readFileSync(f, "utf8")) as Report;
  for (const [name, file] of Object.entries(report.files)) {
    const keep = (m: Mutant): boolean =>
      only.length === 0 || only.some(o => name.endsWith(o.file) && m.location.start.line >= o.from && m.location.start.line <= o.to);
    byFile.set(name, [...(byFile.get(name) ?? []), ...file.mutants.filter(keep)]);
    sources.set(name, file.source.split("\n"));
  }
}

const VALID = ["Killed", "Survived", "Timeout", "NoCoverage"];
const total = { Killed: 0, Survived: 0, Timeout: 0, NoCoverage: 0, other: 0 };
const rows: string[] = [];
const survivors: string[] = [];
for (const [name, mutants] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
  const count = (s: string): number => mutants.filter(m => m.status === s).length;
  const [k, s, t, n] = VALID.map(count);
  const other = mutants.length - k - s - t - n;
  total.Killed += k;
  total.Survived += s;
  total.Timeout += t;
  total.NoCoverage += n;
  total.other += other;
  const valid = k + s + t + n;
  rows.push(`| ${name} | ${k} | ${t} | ${s} | ${n} | ${other} | ${valid ? ((100 * (k + t)) / valid).toFixed(1) : "-"}% |`);
  for (const m of mutants
    .filter(x => x.status === "Survived" || x.status === "NoCoverage")
    .sort((a, b) => a.location.start.line - b.location.start.line)) {
    const line = sources.get(name)![m.location.start.line - 1].trim().slice(0, 90);
    survivors.push(
      `- ${name}:${m.location.start.line} ${m.mutatorName} (${m.status}) -> \`${(m.replacement ?? "").replace(/\s+/g, " ").slice(0, 60)}\` in \`${line}\``,
    );
  }
}
const valid = total.Killed + total.Survived + total.Timeout + total.NoCoverage;
console.log("| file | killed | timeout | survived | no coverage | ignored/errors | score |\n|---|---|---|---|---|---|---|");
console.log(rows.join("\n"));
console.log(
  `| **total** | ${total.Killed} | ${total.Timeout} | ${total.Survived} | ${total.NoCoverage} | ${total.other} | **${((100 * (total.Killed + total.Timeout)) / valid).toFixed(1)}%** |`,
);
console.log(`\nSurvivors (${survivors.length}):\n${survivors.join("\n")}`);
