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
  /** Access denied to a resource: a deployment problem (e.g. a role assignment not yet applied). */
  | "AccessDenied"
  /**
   * ffmpeg/ffprobe cannot use the original: corrupt or truncated (`moov atom not found`, bad
   * EBML), encrypted, a codec the build lacks, no usable stream, or a format/protocol the
   * hardened input options refuse (playlists, concat scripts, references to other files).
   * The same bytes always fail the same way: recorded, never retried.
   */
  | "UnsupportedMedia"
  /**
   * ffmpeg/ffprobe died by a signal it did not ask for (SIGSEGV, SIGBUS, SIGABRT, …): a crash
   * on these bytes, deterministic for the same input and binary, so not retried (no crash
   * loop). A SIGKILL/SIGTERM from outside (OOM killer, host shutdown) is raised retryable.
   */
  | "MediaToolCrashed"
  /**
   * A media stage's output failed its check after ffmpeg exited 0 (no video where the source
   * has video, a duration far from the source's, a wrong pixel format or codec, a missing or
   * empty image): evidence must never get a silently wrong rendition. Never retried.
   */
  | "OutputVerificationFailed"
  /**
   * A version cannot be deleted (or changed) because storage protects it: an unexpired
   * time-based retention policy or a legal hold. The message names which (Azure's
   * `BlobImmutableDueToPolicy` / `BlobImmutableDueToLegalHold`). Waiting does not help until
   * the policy expires or the hold is released, so never retried.
   */
  | "RetentionProtected"
  /**
   * A disclosure package cannot be written as asked: the recording has no signed manifest yet,
   * storage holds other bytes than the manifest names, the keys do not verify it, or the output
   * folder is not empty. The package would not verify, so none is written. Never retried.
   */
  | "NotDisclosable"
  /**
   * Anything not classified. Retried (it may be a transient cause we did not recognise) —
   * except a plain TypeError, RangeError, ReferenceError or SyntaxError: a bug, final.
   */
  | "Internal";

const RETRYABLE: Record<CustodyErrorCode, boolean> = {
  InvalidMessage: false,
  InvalidConfiguration: false,
  OriginalNotFound: false,
  OriginalChanged: false,
  UnaddressableName: false,
  ConcurrencyConflict: true,
  Transient: true,
  // Retried like a transient error: right after a deployment, role assignments take minutes
  // to apply, and a permissions problem is the deployment's, not the recording's. A stage
  // reports it as final only on the message's last delivery.
  AccessDenied: true,
  UnsupportedMedia: false,
  MediaToolCrashed: false,
  OutputVerificationFailed: false,
  RetentionProtected: false,
  NotDisclosable: false,
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
  const code = typeof candidate.code === "string" ? candidate.code : "";
  // Service Bus SDK codes that no retry can fix (its own `retryable` is false for them, but
  // also for QuotaExceeded, which should be retried — so they are named, not inferred).
  if (code === "MessagingEntityNotFound") return new CustodyError("InvalidConfiguration", message, { cause: error });
  if (code === "UnauthorizedAccess") return new CustodyError("AccessDenied", message, { cause: error });
  if (code === "MessageSizeExceeded") return new CustodyError("Internal", message, { cause: error, retryable: false });
  if (candidate.retryable === true) return new CustodyError("Transient", message, { cause: error });
  if (/^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|ServiceBusy|ServiceTimeout|ServiceCommunicationProblem)$/.test(code)) {
    return new CustodyError("Transient", message, { cause: error });
  }
  if (isProgrammingError(error)) {
    // A bug in our code (a TypeError, RangeError, …) fails the same way on every try: retrying
    // it for the whole retry budget only hides it. Final, with the message for the bug report.
    return new CustodyError("Internal", message, { cause: error, retryable: false });
  }
  return new CustodyError("Internal", message, { cause: error });
}

/**
 * The JavaScript errors a deterministic bug raises. `fetch` reports network failures as a
 * TypeError ("fetch failed") with the network error as its cause: that one is not a bug.
 */
function isProgrammingError(error: unknown): boolean {
  if (!(error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError)) return false;
  const cause = (error as { cause?: unknown }).cause;
  return cause === undefined && error.message !== "fetch failed";
}
