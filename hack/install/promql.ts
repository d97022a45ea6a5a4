// The series names a PromQL expression reads: enough of PromQL's lexical rules to tell metric
// names from functions, aggregation keywords, label names and durations (for the monitoring test).

const AGGREGATIONS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "count",
  "stddev",
  "stdvar",
  "topk",
  "bottomk",
  "quantile",
  "count_values",
  "group",
  "limitk",
  "limit_ratio",
]);
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "inf",
  "nan",
]);

export function seriesIn(expr: string): string[] {
  const found: string[] = [];
  // Drop string literals, label matchers and range/subquery selectors first.
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "");
  const re = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (let m = re.exec(bare); m; m = re.exec(bare)) {
    const word = m[0];
    const after = bare.slice(m.index + word.length).trimStart();
    const before = bare.slice(0, m.index).trimEnd();
    if (after.startsWith("(")) continue; // a function or aggregation
    if (KEYWORDS.has(word.toLowerCase()) || AGGREGATIONS.has(word)) continue;
    if (/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*$/.test(before)) continue; // a label list
    if (/\d$/.test(before) && /^[smhdwy]/.test(word)) continue; // 5m after a number
    if (!found.includes(word)) found.push(word);
  }
  return found;
}
