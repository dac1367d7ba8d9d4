/**
 * Time limits of one media process, from its progress rather than from a guess of how long it
 * should take. Used by the ffmpeg adapter for both of its ways of running a process
 * (fluent-run.ts and process-run.ts, through process-result.ts).
 *
 * - **Stall window**: ffmpeg writes `-progress` blocks (`key=value` lines ending with
 *   `progress=continue|end`). A run whose `out_time`, `frame` or `total_size` has not gone
 *   past its highest value for the stall window is stopped, however long the run may still be
 *   allowed. Blocks alone are not progress: newer ffmpeg builds keep printing them, with the
 *   same values, while their input read hangs; older ones print nothing then. The window
 *   starts when the process starts (not while fluent-ffmpeg queues it), so a run that never
 *   produces a first frame is stopped too.
 * - **Finishing**: `-progress` stands still while the MP4 muxer rewrites the file to put the
 *   moov first (`+faststart`: a pass over the whole output, after the last frame). ffmpeg says
 *   so on stderr ("Starting second pass: moving the moov atom …"); from then on only the
 *   ceiling applies, so a long recording's proxy is not killed while it is being finished.
 * - **Ceiling**: a run is stopped when it lasts longer than this, progressing or not — the
 *   backstop for a run that moves forever (say, timestamps that loop). The caller derives it
 *   from the expected work (shared/media/run-limits.ts), generously.
 * - **Abort**: the caller's signal (host shutting down, message lock lost).
 *
 * The watchdog only decides and says why; the runner kills the process.
 */

/** What one `-progress` block said; fields ffmpeg gave as `N/A` or negative are absent. */
export interface ProgressSnapshot {
  /** Frames written on the first video output. */
  frame?: number;
  /** Output position in microseconds (the furthest of the output streams). */
  outTimeInUs?: number;
  /** Bytes written to the first output. */
  totalSizeInBytes?: number;
  /** `progress=end`: ffmpeg finished writing. */
  end: boolean;
}

/**
 * Splits ffmpeg's `-progress` output into snapshots: feed it lines, it returns a snapshot at
 * each `progress=` line. `out_time_us` is preferred; `out_time_ms` (microseconds despite its
 * name, the only one in older builds) and then `out_time` (`HH:MM:SS.micro`) stand in.
 */
export class ProgressParser {
  private block = new Map<string, string>();

  line(line: string): ProgressSnapshot | undefined {
    const at = line.indexOf("=");
    if (at <= 0) return undefined;
    const key = line.slice(0, at).trim();
    const value = line.slice(at + 1).trim();
    if (key !== "progress") {
      this.block.set(key, value);
      return undefined;
    }
    const block = this.block;
    this.block = new Map();
    const snapshot: ProgressSnapshot = { end: value === "end" };
    const frame = counter(block.get("frame"));
    const outTime = counter(block.get("out_time_us")) ?? counter(block.get("out_time_ms")) ?? clockInUs(block.get("out_time"));
    const totalSize = counter(block.get("total_size"));
    if (frame !== undefined) snapshot.frame = frame;
    if (outTime !== undefined) snapshot.outTimeInUs = outTime;
    if (totalSize !== undefined) snapshot.totalSizeInBytes = totalSize;
    return snapshot;
  }
}

/** The highest values seen so far; {@link advance} says whether a snapshot went past them. */
export class ProgressHighWater {
  frame = -1;
  outTimeInUs = -1;
  totalSizeInBytes = -1;
  ended = false;

  /** Records `snapshot`; true when any of its counters is higher than before (or it is the end). */
  advance(snapshot: ProgressSnapshot): boolean {
    let moved = snapshot.end && !this.ended;
    if (snapshot.end) this.ended = true;
    if (snapshot.frame !== undefined && snapshot.frame > this.frame) {
      moved = moved || this.frame >= 0 || snapshot.frame > 0;
      this.frame = snapshot.frame;
    }
    if (snapshot.outTimeInUs !== undefined && snapshot.outTimeInUs > this.outTimeInUs) {
      moved = moved || this.outTimeInUs >= 0 || snapshot.outTimeInUs > 0;
      this.outTimeInUs = snapshot.outTimeInUs;
    }
    if (snapshot.totalSizeInBytes !== undefined && snapshot.totalSizeInBytes > this.totalSizeInBytes) {
      moved = moved || this.totalSizeInBytes >= 0 || snapshot.totalSizeInBytes > 0;
      this.totalSizeInBytes = snapshot.totalSizeInBytes;
    }
    return moved;
  }

  /** `out_time 00:01:02.500, frame 1562, 4.1 MB written`, or `nothing written yet`. */
  describe(): string {
    const parts: string[] = [];
    if (this.outTimeInUs >= 0) parts.push(`out_time ${clock(this.outTimeInUs)}`);
    if (this.frame >= 0) parts.push(`frame ${this.frame}`);
    if (this.totalSizeInBytes >= 0) parts.push(`${(this.totalSizeInBytes / 1e6).toFixed(1)} MB written`);
    return parts.length === 0 ? "no progress reported yet" : parts.join(", ");
  }
}

export type MediaRunStopReason = "ceiling" | "stall" | "abort";

export interface MediaRunWatchdogOptions {
  /** Stop when the run has lasted this long, progressing or not. */
  ceilingInMs: number;
  /** Stop when `-progress` has not advanced for this long after the process started; undefined: no stall watch (ffprobe prints no progress). */
  stallTimeoutInMs?: number;
  abortSignal?: AbortSignal;
  /** Called once, with the first reason to stop. */
  onStop(reason: MediaRunStopReason): void;
}

/** The largest delay Node's timers take (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_IN_MS = 2_147_483_647;

/** The MP4/MOV muxer's notice that it is rewriting the output to move the moov atom first. */
const SECOND_PASS = /Starting second pass: moving the moov atom/;

export class MediaRunWatchdog {
  private readonly parser = new ProgressParser();
  readonly progress = new ProgressHighWater();
  private ceilingTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastAdvanceAt = 0;
  private stopped: MediaRunStopReason | undefined;
  private disposed = false;
  private finishing = false;
  private readonly onAbort = () => this.stop("abort");

  /** Arms the ceiling and the abort listener at once; the stall clock waits for {@link processStarted}. */
  constructor(private readonly options: MediaRunWatchdogOptions) {
    this.ceilingTimer = setTimeout(() => this.stop("ceiling"), clampDelay(options.ceilingInMs));
    options.abortSignal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Why the run was stopped, if it was. */
  get stoppedBy(): MediaRunStopReason | undefined {
    return this.stopped;
  }

  /** The process is running: the stall window starts now. */
  processStarted(): void {
    if (this.disposed || this.stopped !== undefined || this.options.stallTimeoutInMs === undefined || this.stallTimer !== undefined) return;
    this.lastAdvanceAt = Date.now();
    this.armStall(this.options.stallTimeoutInMs);
  }

  /** One line of the process's `-progress` output. */
  progressLine(line: string): void {
    const snapshot = this.parser.line(line);
    if (snapshot !== undefined && this.progress.advance(snapshot)) this.lastAdvanceAt = Date.now();
  }

  /** One line of the process's stderr: the notice of a final rewrite ends the stall watch. */
  stderrLine(line: string): void {
    if (this.stallTimer === undefined || !SECOND_PASS.test(line)) return;
    clearTimeout(this.stallTimer);
    this.finishing = true;
  }

  /** Clears the timers and the abort listener (the process has ended). */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.ceilingTimer);
    clearTimeout(this.stallTimer);
    this.options.abortSignal?.removeEventListener("abort", this.onAbort);
  }

  /**
   * One timer per window rather than one per progress line: when it fires it looks at the last
   * advance and either stops the run or waits for the rest of the window.
   */
  private armStall(windowInMs: number, delayInMs = windowInMs): void {
    this.stallTimer = setTimeout(() => {
      if (this.finishing) return;
      const idle = Date.now() - this.lastAdvanceAt;
      if (idle >= windowInMs) this.stop("stall");
      else this.armStall(windowInMs, windowInMs - idle);
    }, clampDelay(delayInMs));
  }

  private stop(reason: MediaRunStopReason): void {
    if (this.disposed || this.stopped !== undefined) return;
    this.stopped = reason;
    clearTimeout(this.ceilingTimer);
    clearTimeout(this.stallTimer);
    this.options.onStop(reason);
  }
}

/**
 * Turns `-progress` snapshots and the input's `Duration:` line into a fraction 0..1 for the
 * caller's `onProgress` (lock renewal, logging). `-ss`/`-t` in the output arguments shorten
 * what is expected.
 */
export class ProgressFraction {
  private totalInSeconds: number | undefined;
  private readonly limitInSeconds: number | undefined;
  private readonly startInSeconds: number;
  private readonly parser = new ProgressParser();
  private last = -1;

  constructor(
    private readonly onProgress: (fraction: number) => void,
    outputArguments: readonly string[],
  ) {
    this.limitInSeconds = optionSeconds(outputArguments, "-t");
    this.startInSeconds = optionSeconds(outputArguments, "-ss") ?? 0;
  }

  stderr(line: string): void {
    if (this.totalInSeconds !== undefined) return;
    const match = /Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(line);
    if (!match) return;
    const input = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) - this.startInSeconds;
    const total = this.limitInSeconds === undefined ? input : Math.min(input, this.limitInSeconds);
    if (total > 0) this.totalInSeconds = total;
  }

  stdout(line: string): void {
    const snapshot = this.parser.line(line);
    if (snapshot === undefined) return;
    if (snapshot.end) {
      this.report(1);
      return;
    }
    if (snapshot.outTimeInUs === undefined || this.totalInSeconds === undefined) return;
    this.report(Math.min(1, Math.max(0, snapshot.outTimeInUs / 1e6 / this.totalInSeconds)));
  }

  done(): void {
    this.report(1);
  }

  private report(fraction: number): void {
    if (fraction <= this.last) return;
    this.last = fraction;
    try {
      this.onProgress(fraction);
    } catch {
      // A progress callback must not break the run.
    }
  }
}

function optionSeconds(args: readonly string[], name: string): number | undefined {
  const at = args.indexOf(name);
  const value = at >= 0 ? args[at + 1] : undefined;
  if (value === undefined) return undefined;
  const parsed = /^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(value);
  if (parsed) return Number(parsed[1] ?? 0) * 3600 + Number(parsed[2]) * 60 + Number(parsed[3]);
  const seconds = Number(value);
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** A non-negative integer counter; `N/A`, negatives (no timestamp yet) and nonsense → undefined. */
function counter(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

/** `HH:MM:SS.micro` → microseconds; a negative or malformed clock → undefined. */
function clockInUs(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(value);
  if (!match) return undefined;
  const micro = Number((match[4] ?? "").padEnd(6, "0"));
  return ((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1e6 + micro;
}

function clock(us: number): string {
  const totalMs = Math.floor(us / 1000);
  const h = Math.floor(totalMs / 3_600_000);
  const m = Math.floor((totalMs % 3_600_000) / 60_000);
  const s = (totalMs % 60_000) / 1000;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${s.toFixed(3).padStart(6, "0")}`;
}

function clampDelay(ms: number): number {
  return Math.min(MAX_TIMER_IN_MS, Math.max(1, Number.isFinite(ms) ? Math.ceil(ms) : MAX_TIMER_IN_MS));
}
