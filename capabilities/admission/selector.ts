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
