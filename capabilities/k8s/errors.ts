// Every API failure becomes one ApiError that says what failed on which object and why, so a log
// line or an Event can be read without the request at hand. The answers callers act on have a
// class of their own (NotFound, AlreadyExists, Conflict, Invalid, ...), thrown alike by the HTTP
// client and by the in-memory one (memory-client.ts), so callers test `instanceof`, not numbers.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  static fromResponse(status: number, body: string, what: string, retryAfterSeconds: number): ApiError {
    let reason = String(status);
    let detail = body.slice(0, 500);
    try {
      const parsed = JSON.parse(body) as { reason?: string; message?: string };
      reason = parsed.reason ?? reason;
      detail = parsed.message ?? detail;
    } catch {
      /* not a Status object: keep the raw text */
    }
    return apiError(status, reason, `${what}: ${status} ${reason}: ${detail}`, retryAfterSeconds);
  }
}

/** 404: the object (or its namespace) does not exist. */
export class NotFoundError extends ApiError {}
/** 409 AlreadyExists: an object of that name exists (our uniqueness arbiter for addresses). */
export class AlreadyExistsError extends ApiError {}
/** 409 Conflict: a resourceVersion or uid precondition failed, or an apply conflict. Retry from a fresh read. */
export class ConflictError extends ApiError {}
/** 422 Invalid: the API server refuses the object itself (schema, immutable field, webhook denial). */
export class InvalidError extends ApiError {}
/** 400 BadRequest: the request is malformed (a patch that does not apply). */
export class BadRequestError extends ApiError {}
/** 403 Forbidden: RBAC, or a namespace being terminated. */
export class ForbiddenError extends ApiError {}

/** The ApiError subclass for an answer: one home for "which status means what". */
export function apiError(status: number, reason: string, message: string, retryAfterSeconds = 0): ApiError {
  if (status === 404) return new NotFoundError(status, reason, message, retryAfterSeconds);
  if (status === 409)
    return reason === "AlreadyExists"
      ? new AlreadyExistsError(status, reason, message, retryAfterSeconds)
      : new ConflictError(status, reason, message, retryAfterSeconds);
  if (status === 422) return new InvalidError(status, reason, message, retryAfterSeconds);
  if (status === 400) return new BadRequestError(status, reason, message, retryAfterSeconds);
  if (status === 403) return new ForbiddenError(status, reason, message, retryAfterSeconds);
  return new ApiError(status, reason, message, retryAfterSeconds);
}

export const isNotFound = (err: unknown): boolean => err instanceof NotFoundError;
export const isAlreadyExists = (err: unknown): boolean => err instanceof AlreadyExistsError;
export const isConflict = (err: unknown): boolean => err instanceof ConflictError;

/** Text of any thrown value, including kubernetes-fluent-client's thrown response objects. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  const r = err as { status?: number; statusText?: string; data?: { message?: string } } | undefined;
  if (r && typeof r === "object" && ("status" in r || "data" in r)) {
    return `${r.status ?? "?"} ${r.statusText ?? ""}: ${r.data?.message ?? JSON.stringify(r.data ?? {})}`;
  }
  return String(err);
}
