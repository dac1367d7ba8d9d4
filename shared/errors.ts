/**
 * The one error type of the pipeline. Every failure a stage can meet is classified into a
 * `code` (what happened, stable for logs, dashboards and the evidence record) and
 * `retryable` (whether trying the same message again can succeed). Deterministic failures are
 * recorded and not retried; transient ones are retried with backoff and, when retries run
 * out, dead-lettered with the code as the reason.
 */

export type CustodyErrorCode =
  /** A message body failed schema validation or could not be parsed. Dead-lettered, never retried. */
  | "InvalidMessage"
  /** A setting is missing or malformed. Fails the host at start, naming the setting. */
  | "InvalidConfiguration"
  /** The original blob (or the exact version a message names) does not exist. */
  | "OriginalNotFound"
  /** The original changed since the event named it (ETag/version mismatch): a new event will follow. */
  | "OriginalChanged"
  /**
   * The blob's name has `.` or `..` path segments: every HTTP client (and the URL standard)
   * normalises them away, so reading it would address a different blob. Never retried.
   */
  | "UnaddressableName"
  /** The evidence record a stage result refers to cannot be updated after repeated ETag conflicts. */
  | "ConcurrencyConflict"
  /** Throttling, timeouts, lost connections, 5xx: try again later. */
  | "Transient"
  /** Access denied to a resource: a deployment problem, not fixed by retrying. */
  | "AccessDenied"
  /** Anything not classified: a bug. Retried (it may be a transient cause we did not recognise). */
  | "Internal";

const RETRYABLE: Record<CustodyErrorCode, boolean> = {
  InvalidMessage: false,
  InvalidConfiguration: false,
  OriginalNotFound: false,
  OriginalChanged: false,
  UnaddressableName: false,
  ConcurrencyConflict: true,
  Transient: true,
  AccessDenied: false,
  Internal: true,
};

export interface CustodyErrorOptions {
  cause?: unknown;
  /** Overrides the code's default retryability. */
  retryable?: boolean;
}

export class CustodyError extends Error {
  readonly code: CustodyErrorCode;
  readonly retryable: boolean;

  constructor(code: CustodyErrorCode, message: string, options: CustodyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CustodyError";
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE[code];
  }
}

export function isCustodyError(value: unknown): value is CustodyError {
  return value instanceof CustodyError;
}

/**
 * Classifies anything thrown (SDK errors included) as a CustodyError. HTTP status codes and
 * the Service Bus SDK's `retryable` flag decide transient vs. deterministic.
 */
export function toCustodyError(error: unknown): CustodyError {
  if (isCustodyError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const candidate = (error ?? {}) as { statusCode?: unknown; code?: unknown; retryable?: unknown; name?: unknown };
  const status = typeof candidate.statusCode === "number" ? candidate.statusCode : undefined;
  if (status === 404) return new CustodyError("OriginalNotFound", message, { cause: error });
  if (status === 412) return new CustodyError("OriginalChanged", message, { cause: error });
  if (status === 401 || status === 403) return new CustodyError("AccessDenied", message, { cause: error });
  if (status === 408 || status === 429 || (status !== undefined && status >= 500)) {
    return new CustodyError("Transient", message, { cause: error });
  }
  if (candidate.retryable === true) return new CustodyError("Transient", message, { cause: error });
  const code = typeof candidate.code === "string" ? candidate.code : "";
  if (/^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|ServiceBusy|ServiceTimeout|ServiceCommunicationProblem)$/.test(code)) {
    return new CustodyError("Transient", message, { cause: error });
  }
  return new CustodyError("Internal", message, { cause: error });
}
