/**
 * What a run of either kind (a direct spawn, process-run.ts; fluent-ffmpeg, fluent-run.ts)
 * collects and how its limits apply: the result, the watchdog (media-run-watchdog.ts: stall
 * window, ceiling, abort), and stdout/stderr split into lines — stderr kept as a tail of
 * `tailLines` lines, component addresses dropped, URL queries (SAS) redacted, length capped.
 */
import { redactUrlQueries } from "../../text/redaction";
import { MediaRunWatchdog, type MediaRunStopReason } from "./media-run-watchdog";

export interface ProcessOptions {
  /** The ceiling. */
  timeoutInMs: number;
  /** Watch `-progress` on stdout and stop the run when it stalls this long; undefined: no watch. */
  stallTimeoutInMs?: number;
  abortSignal?: AbortSignal;
  /** Keep stdout up to this many bytes (probe JSON, -version). */
  collectStdout?: number;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutOverflow: boolean;
  stderrLines: string[];
  /** Why the run was stopped by us (the process was killed), if it was. */
  stoppedBy?: MediaRunStopReason;
  /** The stall window it ran with, if any. */
  stallTimeoutInMs?: number;
  /** How far its `-progress` got (for messages), when it was watched. */
  progress?: string;
  spawnError?: Error;
  /** fluent-ffmpeg's command line, when it differs from the one built (the process was killed). */
  unexpectedCommandLine?: string;
  durationInMs: number;
}

const MAX_LINE_LENGTH = 2000;

/** A run's result before it starts; already stopped by `abort` when the caller's signal is aborted. */
export function newProcessResult(options: ProcessOptions): ProcessResult {
  const result: ProcessResult = { exitCode: null, signal: null, stdout: "", stdoutOverflow: false, stderrLines: [], durationInMs: 0 };
  if (options.abortSignal?.aborted === true) result.stoppedBy = "abort";
  if (options.stallTimeoutInMs !== undefined) result.stallTimeoutInMs = options.stallTimeoutInMs;
  return result;
}

/** The limits of one run (media-run-watchdog.ts); `stop` kills the process. */
export function watchRun(options: ProcessOptions, result: ProcessResult, stop: () => void): MediaRunWatchdog {
  const watchdog = new MediaRunWatchdog({
    ceilingInMs: options.timeoutInMs,
    stallTimeoutInMs: options.stallTimeoutInMs,
    abortSignal: options.abortSignal,
    onStop: (reason) => {
      result.stoppedBy = reason;
      if (options.stallTimeoutInMs !== undefined) result.progress = watchdog.progress.describe();
      stop();
    },
  });
  return watchdog;
}

/** Output lines to the watchdog (when it watches progress: `-progress` on stdout, the muxer's notices on stderr) and to the caller. */
export function watchedLines(options: ProcessOptions, watchdog: MediaRunWatchdog): { stdout?: (line: string) => void; stderr?: (line: string) => void } {
  const { onStdoutLine, onStderrLine, stallTimeoutInMs } = options;
  if (stallTimeoutInMs === undefined) return { stdout: onStdoutLine, stderr: onStderrLine };
  return {
    stdout: (line) => {
      watchdog.progressLine(line);
      onStdoutLine?.(line);
    },
    stderr: (line) => {
      watchdog.stderrLine(line);
      onStderrLine?.(line);
    },
  };
}

/** Keeps a stderr line (component addresses dropped, SAS redacted, length capped) in the tail. */
export function stderrCollector(tailLines: number, stderrLines: string[], onLine?: (line: string) => void): (line: string) => void {
  return (line) => {
    const clean = redactUrlQueries(line.replace(/ @ 0x[0-9a-f]+\]/gi, "]")).slice(0, MAX_LINE_LENGTH);
    if (clean.trim() === "") return;
    stderrLines.push(clean);
    if (stderrLines.length > tailLines) stderrLines.shift();
    onLine?.(clean);
  };
}

/** Splits a byte stream into lines at `\n` or `\r`; a runaway line is cut at MAX_LINE_LENGTH. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  let pending = "";
  return {
    push(chunk) {
      pending += chunk.toString("utf8");
      const parts = pending.split(/\r\n|\r|\n/);
      pending = parts.pop() ?? "";
      if (pending.length > MAX_LINE_LENGTH * 4) pending = pending.slice(0, MAX_LINE_LENGTH);
      for (const part of parts) onLine(part);
    },
    end() {
      if (pending !== "") onLine(pending);
      pending = "";
    },
  };
}
