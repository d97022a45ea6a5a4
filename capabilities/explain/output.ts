// The plugin's output formats, as kubectl's -o: a table for people, JSON or YAML for scripts.
import yaml from "js-yaml";

export const FORMATS = ["table", "json", "yaml"] as const;
export type Format = (typeof FORMATS)[number];

/** Thrown for an -o value the plugin does not print. */
export class UnknownFormatError extends Error {
  constructor(readonly format: string) {
    super(`unknown output format "${format}": use -o ${FORMATS.join("|")}`);
    this.name = "UnknownFormatError";
  }
}

export function parseFormat(text: string | undefined): Format {
  const format = text ?? "table";
  if (!(FORMATS as readonly string[]).includes(format)) throw new UnknownFormatError(format);
  return format as Format;
}

/** Table rows as objects keyed by the header in camelCase (ADDRESSES -> addresses), empty cells left out. */
export function rowsToRecords(headers: string[], rows: (string | number | undefined)[][]): Record<string, string | number>[] {
  const key = (h: string): string => h.toLowerCase().replace(/[-_ ](.)/g, (_, c: string) => c.toUpperCase());
  return rows.map(row =>
    Object.fromEntries(
      headers.map((h, i) => [key(h), row[i]] as const).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== ""),
    ),
  );
}

/** Data as JSON (two-space indent, as kubectl) or YAML. */
export function serialize(format: "json" | "yaml", data: unknown): string {
  return format === "json" ? JSON.stringify(data, null, 2) : yaml.dump(data, { noRefs: true, lineWidth: -1 }).trimEnd();
}

/** What `kubectl vmnet check` found, and what --fix repaired. */
export interface CheckReport {
  findings: { kind: string; message: string; advice: string }[];
  /** IPAllocations --fix deleted. */
  fixed: string[];
  /** What was audited, for the clean line. */
  counted: { claims: number; allocations: number; pools: number; pods: number };
}

/** The check's output: one line per repair and per finding (with what to do), or JSON/YAML. */
export function renderCheck(format: Format, report: CheckReport): string {
  if (format !== "table") return serialize(format, { findings: report.findings, fixed: report.fixed });
  const lines = [
    ...report.fixed.map(name => `fixed: deleted IPAllocation ${name}, whose claim no longer exists`),
    ...report.findings.map(f => `${f.kind}: ${f.message}; ${f.advice}`),
  ];
  const { claims, allocations, pools, pods } = report.counted;
  if (!report.findings.length)
    lines.push(`No problems found (${claims} claims, ${allocations} IPAllocations, ${pools} pools, ${pods} launcher pods).`);
  return lines.join("\n");
}
