// Every API failure becomes one ApiError that says what failed on which object and why, so a log
// line or an Event can be read without the request at hand.

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
    return new ApiError(status, reason, `${what}: ${status} ${reason}: ${detail}`, retryAfterSeconds);
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.status === 404;
export const isAlreadyExists = (err: unknown): boolean => err instanceof ApiError && err.status === 409 && err.reason === "AlreadyExists";
export const isConflict = (err: unknown): boolean => err instanceof ApiError && err.status === 409 && err.reason !== "AlreadyExists";

/** Text of any thrown value, including kubernetes-fluent-client's thrown response objects. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  const r = err as { status?: number; statusText?: string; data?: { message?: string } } | undefined;
  if (r && typeof r === "object" && ("status" in r || "data" in r)) {
    return `${r.status ?? "?"} ${r.statusText ?? ""}: ${r.data?.message ?? JSON.stringify(r.data ?? {})}`;
  }
  return String(err);
}
