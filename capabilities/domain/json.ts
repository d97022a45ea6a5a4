// JSON.parse with an error position a person can use. V8 names the position only for some
// errors, so a small iterative syntax scanner finds it for the others.

export type JsonParse = { ok: true; value: unknown } | { ok: false; message: string; position: number; line: number; column: number };

export function parseJson(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    const position = firstSyntaxError(text) ?? v8Position(e) ?? text.length;
    const { line, column } = lineColumn(text, position);
    return { ok: false, message: describe(e, text, position), position, line, column };
  }
}

/** "line 3, column 11 (offset 27)". */
export function describePosition(p: { position: number; line: number; column: number }): string {
  return `line ${p.line}, column ${p.column} (offset ${p.position})`;
}

function describe(e: unknown, text: string, position: number): string {
  const raw = e instanceof Error ? e.message : String(e);
  // V8 echoes the whole input after the token ("Unexpected token 'b', "..." is not valid JSON").
  const message = raw.replace(/, (\.\.\.)?".*" is not valid JSON$/s, "").replace(/( in JSON)? at position \d+.*$/s, "");
  if (position >= text.length) return `${message} (the text ends too early)`;
  return `${message} near ${JSON.stringify(text.slice(position, position + 20))}`;
}

function v8Position(e: unknown): number | undefined {
  const m = e instanceof Error ? /at position (\d+)/.exec(e.message) : null;
  return m ? Number(m[1]) : undefined;
}

function lineColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  return { line, column: position - (before.lastIndexOf("\n") + 1) + 1 };
}

type State = "value" | "valueOrEnd" | "keyOrEnd" | "key" | "colon" | "after";

interface Scan {
  s: string;
  i: number;
  stack: string[];
  state: State;
}

/** Offset of the first JSON syntax error, or undefined when the text is valid JSON. */
export function firstSyntaxError(s: string): number | undefined {
  const scan: Scan = { s, i: 0, stack: [], state: "value" };
  for (;;) {
    skipWhitespace(scan);
    if (scan.state === "after" && scan.stack.length === 0) return scan.i < s.length ? scan.i : undefined;
    if (scan.i >= s.length) return s.length;
    const error = step(scan);
    if (error !== undefined) return error;
  }
}

function step(scan: Scan): number | undefined {
  const c = scan.s[scan.i];
  switch (scan.state) {
    case "valueOrEnd":
      return c === "]" ? close(scan) : ((scan.state = "value"), undefined);
    case "keyOrEnd":
      return c === "}" ? close(scan) : ((scan.state = "key"), undefined);
    case "key":
      return c === '"' ? scanThen(scan, scanString(scan), "colon") : scan.i;
    case "colon":
      return c === ":" ? ((scan.i++, (scan.state = "value")), undefined) : scan.i;
    case "after":
      return afterValue(scan, c);
    default:
      return value(scan, c);
  }
}

function value(scan: Scan, c: string): number | undefined {
  if (c === "{" || c === "[") {
    scan.stack.push(c);
    scan.i++;
    scan.state = c === "{" ? "keyOrEnd" : "valueOrEnd";
    return undefined;
  }
  if (c === '"') return scanThen(scan, scanString(scan), "after");
  if (c === "-" || (c >= "0" && c <= "9")) return scanThen(scan, scanNumber(scan), "after");
  const word = ["true", "false", "null"].find(w => scan.s.startsWith(w, scan.i));
  if (word === undefined) return literalError(scan);
  scan.i += word.length;
  scan.state = "after";
  return undefined;
}

function literalError(scan: Scan): number {
  // Point past the longest matching prefix of a literal ("tru}" fails at "}").
  for (const word of ["true", "false", "null"]) {
    let k = 0;
    while (k < word.length && scan.s[scan.i + k] === word[k]) k++;
    if (k > 0) return scan.i + k;
  }
  return scan.i;
}

function afterValue(scan: Scan, c: string): number | undefined {
  const top = scan.stack[scan.stack.length - 1];
  if (c === ",") {
    scan.i++;
    scan.state = top === "{" ? "key" : "value";
    return undefined;
  }
  if ((top === "{" && c === "}") || (top === "[" && c === "]")) return close(scan);
  return scan.i;
}

function close(scan: Scan): undefined {
  scan.stack.pop();
  scan.i++;
  scan.state = "after";
  return undefined;
}

function scanThen(scan: Scan, error: number | undefined, next: State): number | undefined {
  if (error === undefined) scan.state = next;
  return error;
}

function skipWhitespace(scan: Scan): void {
  while (scan.i < scan.s.length && " \t\n\r".includes(scan.s[scan.i])) scan.i++;
}

const ESCAPES = '"\\/bfnrt';

function scanString(scan: Scan): number | undefined {
  const s = scan.s;
  scan.i++;
  while (scan.i < s.length) {
    const c = s[scan.i];
    if (c === '"') return (scan.i++, undefined);
    if (c < " ") return scan.i;
    if (c === "\\") {
      const error = scanEscape(scan);
      if (error !== undefined) return error;
    } else scan.i++;
  }
  return s.length;
}

function scanEscape(scan: Scan): number | undefined {
  const e = scan.s[scan.i + 1];
  if (e === undefined) return scan.s.length;
  if (ESCAPES.includes(e)) return ((scan.i += 2), undefined);
  if (e !== "u") return scan.i + 1;
  for (let k = 2; k < 6; k++) {
    const h = scan.s[scan.i + k];
    if (h === undefined) return scan.s.length;
    if (!/[0-9a-fA-F]/.test(h)) return scan.i + k;
  }
  scan.i += 6;
  return undefined;
}

function scanNumber(scan: Scan): number | undefined {
  const m = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  m.lastIndex = scan.i;
  const found = m.exec(scan.s);
  if (!found) return scan.i + 1; // "-" without a digit after it
  const end = scan.i + found[0].length;
  const next = scan.s[end];
  // "1." and "1e" lack digits after the dot or exponent; "1.5." has one dot too many.
  if (next === "." && found[2] === undefined && found[3] === undefined) return end + 1;
  if ((next === "e" || next === "E") && found[3] === undefined) return exponentError(scan.s, end);
  scan.i = end;
  return undefined;
}

function exponentError(s: string, at: number): number {
  return s[at + 1] === "+" || s[at + 1] === "-" ? at + 2 : at + 1;
}

/** The index of the closing quote of the JSON string that opens at `start` (the text's last index if none). */
export function stringEnd(text: string, start: number): number {
  // indexOf scans natively (the gate runs this over every string of every review): a quote ends
  // the string when an even number of backslashes precedes it (the opening quote stops the count).
  for (let i = text.indexOf('"', start + 1); i >= 0; i = text.indexOf('"', i + 1)) {
    let slashes = 0;
    while (text.charCodeAt(i - 1 - slashes) === 0x5c /* \\ */) slashes++;
    if (slashes % 2 === 0) return i;
  }
  return text.length - 1;
}
