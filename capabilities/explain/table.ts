// Aligned columns as kubectl prints them: upper-case headers, each column as wide as its widest
// cell, three spaces between columns, no trailing blanks.

export const NONE = "<none>";

/** Renders a table; an empty or missing cell prints as <none>. */
export function formatTable(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows.map(r => headers.map((_, i) => cellText(r[i])))];
  const widths = headers.map((_, i) => Math.max(...cells.map(r => r[i].length)));
  return cells
    .map(r =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join("   ")
        .trimEnd(),
    )
    .join("\n");
}

function cellText(value: string | number | undefined): string {
  if (value === undefined || value === "") return NONE;
  return String(value);
}
