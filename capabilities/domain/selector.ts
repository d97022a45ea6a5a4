// Label selector matching for IPPool.spec.namespaceSelector (matchLabels + matchExpressions).
import { isRecord } from "./findings";

/** Namespaces always carry this label (set by the API server). */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * True when the selector selects a namespace with these labels. An absent or empty selector
 * selects every namespace; a malformed requirement selects nothing (fail closed).
 */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  if (selector === undefined || selector === null) return true;
  if (!isRecord(selector)) return false;
  return matchLabelsHold(selector.matchLabels, labels) && expressionsHold(selector.matchExpressions, labels);
}

/** The labels of a namespace as the selector sees them, including its name label. */
export function effectiveNamespaceLabels(namespace: string, labels: Record<string, string> | undefined): Record<string, string> {
  return { ...(labels ?? {}), [NAMESPACE_NAME_LABEL]: namespace };
}

function matchLabelsHold(matchLabels: unknown, labels: Record<string, string>): boolean {
  if (matchLabels === undefined || matchLabels === null) return true;
  if (!isRecord(matchLabels)) return false;
  return Object.entries(matchLabels).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

function expressionsHold(expressions: unknown, labels: Record<string, string>): boolean {
  if (expressions === undefined || expressions === null) return true;
  if (!Array.isArray(expressions)) return false;
  return expressions.every(e => expressionHolds(e, labels));
}

function expressionHolds(expr: unknown, labels: Record<string, string>): boolean {
  if (!isRecord(expr) || typeof expr.key !== "string") return false;
  const has = Object.hasOwn(labels, expr.key);
  const values = Array.isArray(expr.values) ? expr.values : [];
  switch (expr.operator) {
    case "In":
      return has && values.includes(labels[expr.key]);
    case "NotIn":
      return !has || !values.includes(labels[expr.key]);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    default:
      return false;
  }
}

/** Describes a selector for a message, e.g. `matchLabels {"tenant":"a"}`. */
export function describeSelector(selector: unknown): string {
  try {
    return JSON.stringify(selector) ?? "{}";
  } catch {
    return "(unprintable selector)";
  }
}

type Problem = [string, unknown, string];

/** Structural problems of a label selector: [field suffix, value, message]. */
export function selectorProblems(selector: unknown): Problem[] {
  if (selector === undefined || selector === null) return [];
  if (!isRecord(selector)) return [["", selector, "must be a label selector object such as {matchLabels: {tenant: a}}"]];
  return [...matchLabelsProblems(selector.matchLabels), ...expressionsProblems(selector.matchExpressions)];
}

function matchLabelsProblems(matchLabels: unknown): Problem[] {
  if (matchLabels === undefined || matchLabels === null) return [];
  if (!isRecord(matchLabels)) return [[".matchLabels", matchLabels, "must be a map of label keys to values"]];
  return Object.entries(matchLabels)
    .filter(([, v]) => typeof v !== "string")
    .map(([k, v]): Problem => [`.matchLabels.${k}`, v, "must be a string"]);
}

function expressionsProblems(expressions: unknown): Problem[] {
  if (expressions === undefined || expressions === null) return [];
  if (!Array.isArray(expressions)) return [[".matchExpressions", expressions, "must be a list of {key, operator, values}"]];
  return expressions.flatMap((e: unknown, i) => expressionProblems(e, `.matchExpressions[${i}]`));
}

const VALUE_OPERATORS = new Set(["In", "NotIn"]);
const PRESENCE_OPERATORS = new Set(["Exists", "DoesNotExist"]);

function expressionProblems(e: unknown, path: string): Problem[] {
  if (!isRecord(e)) return [[path, e, "must be an object {key, operator, values}"]];
  if (typeof e.key !== "string" || e.key === "") return [[`${path}.key`, e.key, "must be a non-empty label key"]];
  const values = e.values ?? [];
  if (!Array.isArray(values) || !values.every(v => typeof v === "string")) return [[`${path}.values`, values, "must be a list of strings"]];
  const op = typeof e.operator === "string" ? e.operator : "";
  if (VALUE_OPERATORS.has(op)) return values.length > 0 ? [] : [[`${path}.values`, e.values, `operator ${op} needs at least one value`]];
  if (PRESENCE_OPERATORS.has(op))
    return values.length === 0 ? [] : [[`${path}.values`, values, `operator ${op} takes no values; remove them`]];
  return [[`${path}.operator`, e.operator, "must be In, NotIn, Exists or DoesNotExist"]];
}
