// The line ranges of stryker.config.json's mutate list ("file:from-to") name functions, but Stryker
// reads only lines: an edit above a function, or a reformat (npm run format), moves it out from
// under its range. This recomputes each range from the functions it stands for (RANGED), with the
// TypeScript parser: from the function's doc comment to its last line. A whole file needs no entry.
//   npx tsx test/mutation/ranges.ts          prints each ranged entry: configured, and computed
//   npx tsx test/mutation/ranges.ts --write  writes the computed ranges into stryker.config.json
//   npx tsx test/mutation/ranges.ts --check  exits 1 while a ranged entry is stale (npm run test:mutation runs it first)
// test/unit/mutation-ranges.test.ts fails when a configured range no longer covers its functions.
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

/** The functions each line-ranged file of the mutate list stands for, in the order of its entries. */
export const RANGED: Record<string, string[][]> = {
  "capabilities/controllers/migration-controller.ts": [["targetKept"]],
};

export const ROOT = path.resolve(__dirname, "..", "..");
const CONFIG = path.join(ROOT, "stryker.config.json");

export interface Range {
  from: number;
  to: number;
}

/** Lines (1-based) of each named top-level function or const, from its leading comment to its end. */
export function declarationLines(file: string, names: string[]): Range[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const line = (pos: number): number => source.getLineAndCharacterOfPosition(pos).line + 1;
  return names.map(name => {
    const node = source.statements.find(s => declares(s, name));
    if (!node) throw new Error(`${file} has no top-level function or const ${name}`);
    return { from: line(node.getFullStart() + leadingTrivia(node, text)), to: line(node.getEnd()) };
  });
}

function declares(s: ts.Statement, name: string): boolean {
  if (ts.isFunctionDeclaration(s)) return s.name?.text === name;
  return ts.isVariableStatement(s) && s.declarationList.declarations.some(d => ts.isIdentifier(d.name) && d.name.text === name);
}

/** Where the node's doc comment starts within its trivia (blank lines before it are not the function's). */
function leadingTrivia(node: ts.Node, text: string): number {
  const comments = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  return comments.length ? comments[0].pos - node.getFullStart() : node.getStart() - node.getFullStart();
}

/** One range over a group of functions: the first one's start to the last one's end. */
export function computed(file: string, names: string[]): Range {
  const lines = declarationLines(file, names);
  return { from: Math.min(...lines.map(l => l.from)), to: Math.max(...lines.map(l => l.to)) };
}

/** The mutate list's line-ranged entries, by file, in order. */
export function configured(mutate: string[] = readConfig().mutate): Map<string, Range[]> {
  const out = new Map<string, Range[]>();
  for (const entry of mutate) {
    const m = /^(.*):(\d+)-(\d+)$/.exec(entry);
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), { from: Number(m[2]), to: Number(m[3]) }]);
  }
  return out;
}

function readConfig(): { mutate: string[] } {
  return JSON.parse(fs.readFileSync(CONFIG, "utf8")) as { mutate: string[] };
}

/** The mutate list with every ranged entry of a RANGED file recomputed. */
export function rewritten(mutate: string[]): string[] {
  const seen = new Map<string, number>();
  return mutate.map(entry => {
    const m = /^(.*):(\d+)-(\d+)$/.exec(entry);
    const groups = m ? RANGED[m[1]] : undefined;
    if (!m || !groups) return entry;
    const i = seen.get(m[1]) ?? 0;
    seen.set(m[1], i + 1);
    if (!groups[i]) throw new Error(`${entry}: RANGED names ${groups.length} range(s) of ${m[1]}, the config has more`);
    const r = computed(m[1], groups[i]);
    return `${m[1]}:${r.from}-${r.to}`;
  });
}

function main(): void {
  const config = readConfig();
  const next = rewritten(config.mutate);
  config.mutate.forEach((entry, i) => entry !== next[i] && console.log(`${entry} -> ${next[i]}`));
  const fresh = next.every((e, i) => e === config.mutate[i]);
  if (fresh) console.log("every ranged entry matches its functions");
  if (process.argv.includes("--check") && !fresh) process.exitCode = 1;
  for (const file of configured(config.mutate).keys())
    if (!RANGED[file]) console.log(`${file}: not in RANGED (test/mutation/ranges.ts): name its functions there`);
  if (process.argv.includes("--write")) {
    const text = fs.readFileSync(CONFIG, "utf8");
    // Only the entries are replaced, so the file keeps its layout (and passes the format check).
    const out = config.mutate.reduce((t, entry, i) => t.replace(JSON.stringify(entry), JSON.stringify(next[i])), text);
    fs.writeFileSync(CONFIG, out);
  }
}

if (require.main === module) main();
