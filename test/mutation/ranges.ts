// Keeps the line ranges of stryker.config.json's mutate list on the functions they are meant to
// cover. Stryker takes only "file:from-to" ranges, which go stale whenever lines above them move
// (a merge, a reformat); this finds each named function with the TypeScript parser and prints,
// checks or rewrites the ranges. Usage:
//   npx tsx test/mutation/ranges.ts           # prints each range and the functions it covers
//   npx tsx test/mutation/ranges.ts --check   # exits 1 when a range no longer matches its functions
//   npx tsx test/mutation/ranges.ts --write   # rewrites the ranges in stryker.config.json
import { readFileSync, writeFileSync } from "node:fs";
import ts from "typescript";

/** The functions each ranged file is mutated for: one range per group of neighbouring functions. */
const RANGED: Record<string, string[][]> = {
  "capabilities/controllers/binder.ts": [["claimMac"], ["statusFor", "sameStatus"]],
  "capabilities/controllers/migration-controller.ts": [["targetKept"]],
};
const CONFIG = "stryker.config.json";

/** First and last line (1-based) of a top-level function declaration, its doc comment excluded. */
function functionLines(file: string, name: string): [number, number] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const fn = source.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === name);
  if (!fn) throw new Error(`${file}: no top-level function ${name}`);
  const line = (pos: number): number => source.getLineAndCharacterOfPosition(pos).line + 1;
  return [line(fn.getStart(source)), line(fn.getEnd())];
}

function wantedRanges(): string[] {
  return Object.entries(RANGED).flatMap(([file, groups]) =>
    groups.map(names => {
      const spans = names.map(n => functionLines(file, n));
      return `${file}:${Math.min(...spans.map(s => s[0]))}-${Math.max(...spans.map(s => s[1]))}`;
    }),
  );
}

const config = JSON.parse(readFileSync(CONFIG, "utf8")) as { mutate: string[] };
const isRanged = (m: string): boolean => Object.keys(RANGED).some(f => m.startsWith(`${f}:`));
const current = config.mutate.filter(isRanged);
const wanted = wantedRanges();
const mode = process.argv[2];

if (mode === "--write") {
  const at = config.mutate.findIndex(isRanged);
  config.mutate = config.mutate.filter(m => !isRanged(m));
  config.mutate.splice(at < 0 ? config.mutate.length : at, 0, ...wanted);
  writeFileSync(CONFIG, `${JSON.stringify(config, null, 2)}\n`);
  console.log(`${CONFIG}: ${wanted.join(", ")}`);
} else if (mode === "--check") {
  const stale = JSON.stringify(current) !== JSON.stringify(wanted);
  console.log(stale ? `stale ranges in ${CONFIG}: ${current.join(", ")}; the functions are at ${wanted.join(", ")} (run with --write)` : `${CONFIG}: ranges match their functions`);
  process.exitCode = stale ? 1 : 0;
} else {
  for (const w of wanted) console.log(w);
}
