// Answers admission reviews in the front server by calling our capabilities' Pepr bindings
// directly, with Pepr's semantics for the filters we use (kind, operation, labels, ignored
// namespaces) and Pepr's answer format, but without what Pepr's path costs per request: a second
// TLS hop and JSON parse (front server to Pepr's express server), express and body-parser, a
// recursive deep copy of the object (ramda clone) before any handler runs, sixteen ramda
// adjudicator chains per binding, and for a mutation a second deep copy and a structural diff of
// the whole object (fast-json-patch compare) to find the one annotation we set.
//
// The bindings stay the one home of "which request goes to which handler" (admission/index.ts);
// a binding using a filter this module does not implement makes directAdmission() throw
// UnsupportedBindingError, and the front server then forwards everything to Pepr as before.
import type { PeprMutateRequest, PeprValidateRequest } from "pepr";

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: string;
  namespace?: string;
  name?: string;
  object?: unknown;
  oldObject?: unknown;
  userInfo?: { username?: string; groups?: string[] };
  dryRun?: boolean;
  [key: string]: unknown;
}

interface KubeMeta {
  metadata?: { namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** The part of Pepr's Binding this module reads. */
export interface BindingLike {
  event: string;
  kind: { group?: string; version?: string; kind?: string };
  filters: {
    annotations: Record<string, string>;
    deletionTimestamp: boolean;
    labels: Record<string, string>;
    name: string;
    namespaces: string[];
    regexName: string;
    regexNamespaces: string[];
  };
  isMutate?: boolean;
  isValidate?: boolean;
  mutateCallback?: (req: never) => unknown;
  validateCallback?: (req: never) => unknown;
}

export interface CapabilityLike {
  name: string;
  namespaces: string[];
  bindings: BindingLike[];
}

export interface DirectOptions {
  /** Pepr's module uuid (package.json pepr.uuid): the mutation status annotation's prefix. */
  uuid: string;
  /** package.json pepr.alwaysIgnore.namespaces; PEPR_ADDITIONAL_IGNORED_NAMESPACES adds to it, as in Pepr. */
  ignoredNamespaces: string[];
}

export type Direct = (which: "mutate" | "validate", request: AdmissionRequest) => Promise<string>;

/** A binding filter Pepr supports and this module does not: the direct path would decide differently. */
export class UnsupportedBindingError extends Error {
  constructor(capability: string, what: string) {
    super(`capability ${capability}: a binding uses ${what}, which the direct admission path does not implement`);
    this.name = "UnsupportedBindingError";
  }
}

/** What a validate handler gets: Pepr's request object minus the deep copy (handlers only read Raw). */
export class DirectValidateRequest<T> {
  readonly Raw: T;
  constructor(readonly Request: AdmissionRequest) {
    this.Raw = (Request.operation === "DELETE" ? Request.oldObject : Request.object) as T;
  }
  get OldResource(): unknown {
    return this.Request.oldObject;
  }
  Approve = (warnings?: string[]): ValidateAnswer => ({ allowed: true, warnings });
  Deny = (statusMessage?: string, statusCode?: number, warnings?: string[]): ValidateAnswer => ({
    allowed: false,
    statusCode,
    statusMessage,
    warnings,
  });
}

interface ValidateAnswer {
  allowed: boolean;
  statusCode?: number;
  statusMessage?: string;
  warnings?: string[];
}

/**
 * What a mutate handler gets: Raw is the request's object, never changed; SetAnnotation is
 * recorded and becomes the JSON patch (a handler reading Raw afterwards sees the old value).
 */
export class DirectMutateRequest<T extends KubeMeta> {
  readonly Raw: T;
  readonly #annotations = new Map<string, string>();
  constructor(readonly Request: AdmissionRequest) {
    this.Raw = Request.object as T;
  }
  get OldResource(): unknown {
    return this.Request.oldObject;
  }
  get PermitSideEffects(): boolean {
    return !this.Request.dryRun;
  }
  SetAnnotation = (key: string, value: string): this => {
    this.#annotations.set(key, value);
    return this;
  };

  /** The JSON patch that makes the request's object carry the set annotations. */
  patch(): { op: "add" | "replace"; path: string; value: unknown }[] {
    const have = this.Raw.metadata?.annotations;
    const changed = [...this.#annotations].filter(([k, v]) => have?.[k] !== v);
    if (!changed.length) return [];
    if (!this.Raw.metadata) return [{ op: "add", path: "/metadata", value: { annotations: Object.fromEntries(changed) } }];
    if (!have) return [{ op: "add", path: "/metadata/annotations", value: Object.fromEntries(changed) }];
    return changed.map(([k, v]) => ({ op: k in have ? "replace" : "add", path: `/metadata/annotations/${pointerEscape(k)}`, value: v }));
  }
}

const pointerEscape = (key: string): string => key.replace(/~/g, "~0").replace(/\//g, "~1");

/** Pepr's own event-to-operation rule (CREATEORUPDATE contains both; "*" is any). */
function eventMatches(event: string, operation: string): boolean {
  return event === "*" || event === operation || (operation !== "" && event.includes(operation));
}

/** Pepr's label rule: a key bound with "" must be present, otherwise equal (and non-empty). */
function labelsMatch(want: Record<string, string>, have: Record<string, string> | undefined): boolean {
  return Object.entries(want).every(([k, v]) => have !== undefined && Object.hasOwn(have, k) && (!v || (have[k] && have[k] === v)));
}

/** Pepr's group, version and kind rules (an undefined version counts as defined, as in Pepr). */
function kindMatches(b: BindingLike, req: AdmissionRequest): boolean {
  return (
    (!b.kind.group || b.kind.group === req.kind.group) &&
    (b.kind.version === "" || b.kind.version === req.kind.version) &&
    (!b.kind.kind || b.kind.kind === req.kind.kind)
  );
}

function applies(b: BindingLike, req: AdmissionRequest, ignored: string[]): boolean {
  const obj = (req.operation === "DELETE" ? req.oldObject : req.object) as KubeMeta | undefined;
  return (
    eventMatches(b.event, req.operation) &&
    kindMatches(b, req) &&
    labelsMatch(b.filters.labels, obj?.metadata?.labels) &&
    !ignored.includes(obj?.metadata?.namespace ?? "")
  );
}

function checkSupported(cap: CapabilityLike): void {
  if (cap.namespaces.length) throw new UnsupportedBindingError(cap.name, "capability namespaces");
  for (const b of cap.bindings) {
    const f = b.filters;
    if (!b.isMutate && !b.isValidate) continue;
    if (
      f.name ||
      f.namespaces.length ||
      Object.keys(f.annotations).length ||
      f.deletionTimestamp ||
      f.regexName ||
      f.regexNamespaces.length
    )
      throw new UnsupportedBindingError(cap.name, "a name, namespace, annotation, deletionTimestamp or regex filter");
  }
}

const errorMessage = (err: unknown): string => (err instanceof Error && err.message ? err.message : "An error occurred with the action.");

/** The direct admission path over these capabilities; throws UnsupportedBindingError if one needs Pepr. */
export function directAdmission(capabilities: CapabilityLike[], opts: DirectOptions, env: NodeJS.ProcessEnv = process.env): Direct {
  capabilities.forEach(checkSupported);
  const extra = (env.PEPR_ADDITIONAL_IGNORED_NAMESPACES ?? "").split(",").map(s => s.trim());
  const ignored = [...extra, ...opts.ignoredNamespaces].filter(Boolean);
  const matching = (req: AdmissionRequest, want: "isMutate" | "isValidate"): { cap: CapabilityLike; b: BindingLike }[] =>
    capabilities.flatMap(cap => cap.bindings.filter(b => b[want] && applies(b, req, ignored)).map(b => ({ cap, b })));

  const validate = async (req: AdmissionRequest): Promise<unknown> => {
    const answers: ValidateAnswer[] = [];
    for (const { b } of matching(req, "isValidate")) {
      try {
        const answer = (await b.validateCallback!(
          new DirectValidateRequest(req) as unknown as PeprValidateRequest<never> as never,
        )) as ValidateAnswer;
        if (!answer.allowed && !answer.statusMessage)
          answer.statusMessage = `Validation failed for ${req.kind.kind.toLowerCase()}/${req.name ?? ""}${req.namespace ? ` in ${req.namespace} namespace.` : ""}`;
        answers.push(answer);
      } catch (err) {
        answers.push({ allowed: false, statusCode: 500, statusMessage: `Action failed with error: ${errorMessage(err)}` });
      }
    }
    return validateResponse(req.uid, answers);
  };

  const mutate = async (req: AdmissionRequest): Promise<unknown> => {
    const found = matching(req, "isMutate");
    if (!found.length || req.operation === "DELETE") return { uid: req.uid, allowed: true };
    const wrapped = new DirectMutateRequest<KubeMeta>(req);
    for (const { cap, b } of found) {
      try {
        await b.mutateCallback!(wrapped as unknown as PeprMutateRequest<never> as never);
        // Pepr marks each capability's mutation on the object; kept so objects look as before.
        wrapped.SetAnnotation(`${opts.uuid}.pepr.dev/${cap.name}`, "succeeded");
      } catch (err) {
        // The module's onError is "reject" (package.json): a failed mutation refuses the object.
        const message = `Action failed: ${errorMessage(err)}`;
        return { uid: req.uid, allowed: false, warnings: [message], status: { code: 500, message } };
      }
    }
    const patch = wrapped.patch();
    return patch.length
      ? { uid: req.uid, allowed: true, patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(patch)).toString("base64") }
      : { uid: req.uid, allowed: true };
  };

  return async (which, req) => {
    const response = await (which === "mutate" ? mutate(req) : validate(req));
    return JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
  };
}

/** Pepr's combination of several validations into one answer (karForValidate). */
function validateResponse(uid: string, answers: ValidateAnswer[]): unknown {
  const warnings = answers.flatMap(a => a.warnings ?? []);
  if (!answers.length)
    return {
      uid,
      allowed: true,
      status: { code: 200, message: "no in-scope validations -- allowed!" },
      ...(warnings.length ? { warnings } : {}),
    };
  const allowed = answers.every(a => a.allowed);
  const message = answers
    .filter(a => !a.allowed)
    .map(a => a.statusMessage)
    .join("; ");
  return { uid, allowed, status: { code: allowed ? 200 : 422, message }, ...(warnings.length ? { warnings } : {}) };
}
