// What an admission request must pass before any handler (and Pepr's recursive deep copy) sees
// it: a bounded size and nesting depth, a JSON body with a uid, and, for a VM, no more NICs than
// KubeVirt itself allows. Each check is linear in the body and allocates little, so a hostile
// object costs milliseconds. Pure.
import { timingSafeEqual } from "node:crypto";
import { stringEnd } from "../domain/json";

/** The API server sends at most ~3 MiB objects; an AdmissionReview may carry object and oldObject. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** A VM's AdmissionReview nests about 20 deep (managedFields included); Pepr's copy recurses. */
export const MAX_DEPTH = 64;
/** KubeVirt's arrayLenMax (virt-api vmi-create-admitter): interfaces and networks. */
export const KUBEVIRT_MAX_NICS = 256;

export type Route =
  | { kind: "admission"; which: "mutate" | "validate" }
  | { kind: "forward" }
  | { kind: "unauthorized" }
  | { kind: "not-found" };

/** Routes a request by method and path; the token is compared in constant time, before any body is read. */
export function route(method: string | undefined, url: string | undefined, token: string): Route {
  const path = (url ?? "").split("?")[0];
  if (method === "GET" && (path === "/healthz" || path === "/metrics")) return { kind: "forward" };
  const m = /^\/(mutate|validate)\/([^/]*)$/.exec(path);
  if (!m) return { kind: "not-found" };
  if (method !== "POST" || !sameToken(m[2], token)) return { kind: "unauthorized" };
  return { kind: "admission", which: m[1] as "mutate" | "validate" };
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return token !== "" && a.length === b.length && timingSafeEqual(a, b);
}

/** Deepest nesting of objects and arrays in JSON text (strings skipped), stopping past `limit`. */
export function jsonDepth(text: string, limit = MAX_DEPTH): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = stringEnd(text, i);
    } else if (c === 0x7b || c === 0x5b /* { [ */) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x7d || c === 0x5d /* } ] */) depth--;
  }
  return max;
}

/** The request uid, read from the first bytes (for answering a body too large to parse). */
export function peekUid(text: string): string | undefined {
  return /"uid"\s*:\s*"([0-9a-zA-Z-]{1,64})"/.exec(text.slice(0, 4096))?.[1];
}

export interface Verdict {
  /** Answer at once with this status (no AdmissionReview): a malformed request. */
  status?: number;
  /** Or deny the admission request with this message (an AdmissionReview answer). */
  deny?: string;
  uid?: string;
  /** The parsed review, when it passed. */
  review?: { request?: Record<string, unknown> };
}

/** Checks a body; the parsed review is returned so the caller does not parse it twice. */
export function gate(text: string): Verdict {
  const uid = peekUid(text);
  if (Buffer.byteLength(text) > MAX_BODY_BYTES)
    return uid
      ? { deny: `the object is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB, which vmnet-operator does not check; make it smaller`, uid }
      : { status: 413 };
  const depth = jsonDepth(text);
  if (depth > MAX_DEPTH)
    return uid
      ? { deny: `the object nests deeper than ${MAX_DEPTH} levels, which no Kubernetes object of these kinds needs; flatten it`, uid }
      : { status: 400 };
  let review: unknown;
  try {
    review = JSON.parse(text);
  } catch {
    return { status: 400 };
  }
  const request = isObject(review) && isObject(review.request) ? review.request : undefined;
  if (!request || typeof request.uid !== "string" || request.uid === "") return { status: 400 };
  const tooMany = tooManyNics(request);
  if (tooMany) return { deny: tooMany, uid: request.uid };
  return { review: review as Verdict["review"], uid: request.uid };
}

/** A VM with more interfaces or networks than KubeVirt allows. */
function tooManyNics(request: Record<string, unknown>): string | undefined {
  const kind = isObject(request.kind) ? request.kind : {};
  if (kind.group !== "kubevirt.io" || kind.kind !== "VirtualMachine") return undefined;
  const spec = dig(request.object, ["spec", "template", "spec"]);
  for (const [path, list] of [
    ["spec.template.spec.domain.devices.interfaces", dig(spec, ["domain", "devices", "interfaces"])],
    ["spec.template.spec.networks", dig(spec, ["networks"])],
  ] as const) {
    if (Array.isArray(list) && list.length > KUBEVIRT_MAX_NICS)
      return `${kind.kind} ${String(request.namespace ?? "")}/${String(request.name ?? "")}: ${path} has ${list.length} entries; KubeVirt allows at most ${KUBEVIRT_MAX_NICS}`;
  }
  return undefined;
}

function dig(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const p of path) cur = isObject(cur) ? cur[p] : undefined;
  return cur;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** An AdmissionReview answer refusing the request (what the API server shows the user). */
export function denial(uid: string, message: string, code = 422): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid, allowed: false, status: { code, message } },
  });
}
