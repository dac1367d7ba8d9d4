/**
 * How a media run fails: `MediaToolError` (a CustodyError) carrying the stderr tail, the
 * arguments (URL queries redacted) and the exit code or signal — `UnsupportedMedia` (corrupt,
 * truncated, encrypted, missing decoder, no stream, refused format/protocol — never retried),
 * `MediaToolCrashed` (death by signal), `Transient` (stall, ceiling, abort, network errors on a
 * URL input), `OriginalNotFound` / `AccessDenied` (HTTP 404 / 401, 403 on a URL input),
 * `Internal` (anything else).
 */
import { CustodyError, type CustodyErrorCode } from "../../errors";
import type { MediaInput, MediaRunOptions } from "../../ports/media-tool";
import { displayUrl, redactUrlQueries } from "../../text/redaction";
import type { ProcessResult } from "./process-result";
import { classify, meaningfulLines } from "./stderr-classification";

/** A failed ffmpeg/ffprobe run: a CustodyError with what the process said. */
export class MediaToolError extends CustodyError {
  readonly tool: "ffmpeg" | "ffprobe";
  readonly arguments: string[];
  readonly stderrTail: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;

  constructor(
    code: CustodyErrorCode,
    message: string,
    details: { tool: "ffmpeg" | "ffprobe"; arguments: string[]; stderrTail: string; exitCode: number | null; signal: NodeJS.Signals | null },
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(code, message, options);
    this.name = "MediaToolError";
    this.tool = details.tool;
    this.arguments = details.arguments;
    this.stderrTail = details.stderrTail;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
  }
}

/** The binary a failed run started and, for ffmpeg, the launcher it went through. */
export interface FailedRun {
  binary: string;
  launcher: string | undefined;
}

export function throwIfFailed(run: FailedRun, tool: "ffmpeg" | "ffprobe", args: string[], input: MediaInput, result: ProcessResult, options: MediaRunOptions): void {
  const binary = run.binary;
  if (result.stoppedBy === "abort") {
    const reason: unknown = options.abortSignal?.reason;
    const because = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : reason === undefined ? "" : `a ${typeof reason}`;
    throw failure("Transient", `${tool} was aborted${because ? ` (${because})` : ""} and killed (SIGKILL)`, tool, args, result, {
      cause: reason,
    });
  }
  if (result.stoppedBy === "stall") {
    // Transient: a run that stops moving is waiting on something outside it (storage that
    // stopped serving bytes, a starved machine); a fresh attempt is the remedy.
    throw failure(
      "Transient",
      `${tool} made no progress for ${result.stallTimeoutInMs} ms (the stall window) on ${describeInput(input)} and was killed (SIGKILL); ` +
        `last progress: ${result.progress ?? "none"}${lastLines(result, ": ")}`,
      tool,
      args,
      result,
    );
  }
  if (result.stoppedBy === "ceiling") {
    const watched = result.stallTimeoutInMs !== undefined;
    throw failure(
      "Transient",
      `${tool} timed out after ${options.timeoutInMs} ms${watched ? " (the ceiling for this run)" : ""} on ${describeInput(input)}` +
        `${watched ? ` while still making progress (${result.progress ?? "none"})` : ""} and was killed (SIGKILL)${lastLines(result, ": ")}`,
      tool,
      args,
      result,
    );
  }
  const launcher = run.launcher;
  if (result.spawnError) {
    const via = launcher ? `, run through the environment launcher ${launcher}` : "";
    throw failure("Internal", `${tool} (${binary}${via}) could not be started: ${result.spawnError.message}`, tool, args, result, {
      cause: result.spawnError,
    });
  }
  if (result.signal) {
    const external = ["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP"].includes(result.signal);
    throw failure(
      "MediaToolCrashed",
      `${tool} was killed by signal ${result.signal}${external ? "" : " (crashed)"} on ${describeInput(input)}` +
        `; stderr tail: ${result.stderrLines.length ? result.stderrLines.slice(-5).join(" | ") : "(empty)"}`,
      tool,
      args,
      result,
      { retryable: external },
    );
  }
  if (result.exitCode !== 0) {
    const code = classify(result.stderrLines, input);
    const launcherFailed = launcher && (result.exitCode === 126 || result.exitCode === 127) ? ` (126/127: the environment launcher ${launcher} may have failed to execute ${binary})` : "";
    throw failure(code, `${tool} exited with code ${result.exitCode}${launcherFailed} on ${describeInput(input)}${lastLines(result, ": ")}`, tool, args, result);
  }
}

export function failure(
  code: CustodyErrorCode,
  message: string,
  tool: "ffmpeg" | "ffprobe",
  args: string[],
  result: ProcessResult,
  options: { cause?: unknown; retryable?: boolean } = {},
): MediaToolError {
  return new MediaToolError(code, message, { tool, arguments: args.map(redactUrlQueries), stderrTail: result.stderrLines.join("\n"), exitCode: result.exitCode, signal: result.signal }, options);
}

function lastLines(result: ProcessResult, prefix: string): string {
  const lines = meaningfulLines(result.stderrLines);
  return lines.length ? `${prefix}${lines.join(" | ")}` : "";
}

/** The input for a message: a file's path, a URL's origin and path. */
export function describeInput(input: MediaInput): string {
  return input.kind === "file" ? input.path : displayUrl(input.url); // never the query: it may hold a SAS token
}
