// What a reconcile is given and what it answers, controller-runtime style: a typed key (never a
// string split apart again), and a Result the work queue acts on. A thrown error is sorted into
// retryable (the queue backs off and runs the key again) or terminal (reported once, not retried:
// retrying a 422 changes nothing until someone changes the object, and that change is an event
// that enqueues the key afresh). Pure.
import { ApiError } from "../k8s/errors";

/** The unit of work: what one reconcile looks at. */
export type WorkKey =
  | { kind: "vm"; namespace: string; name: string }
  | { kind: "migration"; namespace: string; name: string }
  /** A deleted claim: its addresses are freed at once (the sweep would, later). */
  | { kind: "claim"; namespace: string; name: string }
  | { kind: "pool"; name: string };

export type WorkKind = WorkKey["kind"];
/** The key of one kind of work: what its reconciler is given. */
export type KeyOf<K extends WorkKind> = Extract<WorkKey, { kind: K }>;

export const vmKey = (namespace: string, name: string): KeyOf<"vm"> => ({ kind: "vm", namespace, name });
export const migrationKey = (namespace: string, name: string): KeyOf<"migration"> => ({ kind: "migration", namespace, name });
export const claimKey = (namespace: string, name: string): KeyOf<"claim"> => ({ kind: "claim", namespace, name });
export const poolKey = (name: string): KeyOf<"pool"> => ({ kind: "pool", name });

/** The queue's identity of a key (dedupe, backoff and logs): `vm/ns/name`, `pool/name`. */
export function keyId(key: WorkKey): string {
  return key.kind === "pool" ? `pool/${key.name}` : `${key.kind}/${key.namespace}/${key.name}`;
}

/** Retry with backoff: the failure may pass (a conflict, overload, a restart, a cache behind). */
export class RetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RetryableError";
  }
}

/** Do not retry: the same input gives the same failure (an invalid object, a refused request). */
export class TerminalError extends Error {
  constructor(
    /** A CamelCase reason, used as the Event's reason. */
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "TerminalError";
  }
}

export type Result =
  | { kind: "done" }
  /** Run the key again after this long (and forget its failures: this is no failure). */
  | { kind: "requeue"; afterMs: number }
  | { kind: "terminal"; error: TerminalError };

export const done: Result = { kind: "done" };
export const requeueAfter = (afterMs: number): Result => ({ kind: "requeue", afterMs });
export const terminal = (error: TerminalError): Result => ({ kind: "terminal", error });

/**
 * Answers the API server gives again however often it is asked: a malformed request (400), a
 * refusal (403: RBAC, a terminating namespace), a method or media type it does not take, an
 * object it refuses (422: schema, immutable field). 404, 409, 429, 5xx and failed connections
 * pass (a cache behind, a concurrent writer, overload, a restart).
 */
const TERMINAL_STATUS = new Set([400, 403, 405, 413, 415, 422]);

/** Sorts any thrown value: TerminalError or RetryableError (unknown errors retry, as before). */
export function classify(err: unknown): TerminalError | RetryableError {
  if (err instanceof TerminalError || err instanceof RetryableError) return err;
  if (err instanceof ApiError && TERMINAL_STATUS.has(err.status))
    return new TerminalError(err.reason || String(err.status), err.message, { cause: err });
  return new RetryableError(err instanceof Error ? err.message : String(err), { cause: err });
}
