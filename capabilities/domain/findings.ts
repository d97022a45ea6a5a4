// The result every admission rule returns: plain data a Pepr adapter turns into Approve/Deny and
// admission warnings, and the controllers reuse for conditions and Events.

/** One problem found in an object: where (field path), what (value) and what to do (message). */
export interface Finding {
  /** JSON path of the offending field, e.g. spec.template.spec.domain.devices.interfaces[1].masquerade. */
  field: string;
  /** The offending value, when there is one. */
  value?: unknown;
  /** What is wrong, naming the value, and how to fix it. */
  message: string;
}

export interface ValidationResult {
  /** Problems that make the request refused. */
  denials: Finding[];
  /** Problems worth telling the user about that do not block the request. */
  warnings: Finding[];
}

/** Renders a finding for a person: `VirtualMachine tenant-a/web-1: spec.x[0]: message`. */
export function formatFinding(kind: string, ref: string, finding: Finding): string {
  return `${kind} ${ref}: ${finding.field}: ${finding.message}`;
}

/** All findings of a list in one line each, for a denial reason or a condition message. */
export function formatFindings(kind: string, ref: string, findings: Finding[]): string {
  return findings.map(f => formatFinding(kind, ref, f)).join("\n");
}

/** "namespace/name" of a namespaced object, "name" of a cluster-scoped one. */
export function objectRef(obj: unknown): string {
  const meta = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === "string" ? meta.name : typeof meta.generateName === "string" ? `${meta.generateName}*` : "(unnamed)";
  return typeof meta.namespace === "string" && meta.namespace !== "" ? `${meta.namespace}/${name}` : name;
}

/** Collects findings while rules run. */
export class Findings implements ValidationResult {
  denials: Finding[] = [];
  warnings: Finding[] = [];

  deny(field: string, value: unknown, message: string): void {
    this.denials.push(value === undefined ? { field, message } : { field, value, message });
  }

  warn(field: string, value: unknown, message: string): void {
    this.warnings.push(value === undefined ? { field, message } : { field, value, message });
  }

  result(): ValidationResult {
    return { denials: this.denials, warnings: this.warnings };
  }
}

const RATCHET_NOTE = " (this was already so before this update, so it does not block it)";

/**
 * Validation ratcheting, as Kubernetes does for its own types: on update, a denial that the old
 * object already had becomes a warning, so a problem that predates a rule (or the webhook) never
 * blocks unrelated updates such as finalizer removal; a new problem is still refused.
 */
export function ratchet(current: ValidationResult, previous: ValidationResult): ValidationResult {
  const before = new Set(previous.denials.map(findingKey));
  const denials: Finding[] = [];
  const warnings = [...current.warnings];
  for (const d of current.denials) {
    if (before.has(findingKey(d))) warnings.push({ ...d, message: d.message + RATCHET_NOTE });
    else denials.push(d);
  }
  return { denials, warnings };
}

function findingKey(f: Finding): string {
  return `${f.field}\u0000${f.message}`;
}

/** Renders a value for a message: strings quoted, everything else as short JSON. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "bigint" ? value.toString() : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(typeof value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
