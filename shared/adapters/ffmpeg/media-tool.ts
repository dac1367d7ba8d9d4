/**
 * The `MediaTool` port on the ffmpeg/ffprobe binaries. This folder holds the adapter, one job
 * per file:
 * - media-tool.ts (here): start (locate the binaries, check they run), `probe`, `run`;
 * - version-checks.ts: the `-version` runs at start and for provenance;
 * - arguments.ts: the hardened argument vectors (protocol and demuxer allow-lists);
 * - environment.ts, launcher.ts: the minimal environment every process gets, and the launcher
 *   script that gives it to the ffmpeg fluent-ffmpeg spawns;
 * - process-run.ts: ffprobe and the `-version` checks, spawned directly;
 * - fluent-run.ts: ffmpeg runs through fluent-ffmpeg — the only file that imports it;
 * - process-result.ts: what either kind of run collects (stderr tail, lines) and its limits;
 * - stderr-classification.ts, failures.ts: what a failed run means, as a `MediaToolError`.
 * URL queries (a read URL's SAS) are redacted by shared/text/redaction.ts.
 *
 * Every process:
 * - gets the hardened input options the adapter owns (arguments.ts);
 * - has `-hide_banner`, `-nostdin` (ffmpeg; ffprobe has no such option, its stdin is
 *   /dev/null), `-y` for outputs, a log level tagged with `level+` (so error lines can be told
 *   from noise); the minimal environment (environment.ts);
 * - is killed with SIGKILL when `abortSignal` fires or its ceiling (`timeoutInMs`) passes, and
 *   an ffmpeg run also when its `-progress` has not advanced for the stall window
 *   (`stallTimeoutInMs`, default {@link DEFAULT_STALL_TIMEOUT_IN_MS}): see media-run-watchdog.ts;
 * - keeps the last {@link DEFAULT_STDERR_TAIL_LINES} lines of stderr.
 *
 * Failures are `MediaToolError` (failures.ts).
 */
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { CustodyError, toCustodyError } from "../../errors";
import { normaliseProbe, type FfprobeOutput } from "../../media/probe-normalise";
import type { MediaInput, MediaOutputConsumer, MediaProbe, MediaRemoteJoinInput, MediaRunOptions, MediaRunResult, MediaStreamJoinOptions, SegmentMediaTool } from "../../ports/media-tool";
import { redactUrlQueries } from "../../text/redaction";
import { locateMediaBinaries, type LocateMediaBinariesOptions, type MediaBinary } from "./media-binaries";
import { ProgressFraction } from "./media-run-watchdog";
import { checkRemoteConcatScript, ffmpegArguments, inputArguments, streamJoinArguments, type FfmpegCommandLine } from "./arguments";
import { childEnvironment } from "./environment";
import { describeInput, failure, MediaToolError, throwIfFailed, type FailedRun } from "./failures";
import { runFfmpeg } from "./fluent-run";
import { createFfmpegLauncher, installLauncher, type FfmpegLauncher, type LauncherScript } from "./launcher";
import { runProcess } from "./process-run";
import { binaryVersion, checkLauncher } from "./version-checks";

export const DEFAULT_STDERR_TAIL_LINES = 40;

/** How long an ffmpeg run may go without progress before it counts as hung. */
export const DEFAULT_STALL_TIMEOUT_IN_MS = 60_000;

export interface FfmpegMediaToolOptions extends LocateMediaBinariesOptions {
  /** Lines of stderr kept for errors and results; default {@link DEFAULT_STDERR_TAIL_LINES}. */
  stderrTailLines?: number;
  /** Limit for the `-version` checks at start; default 15 s. */
  startupTimeoutInMs?: number;
  /** ffprobe JSON larger than this is refused (a crafted file with a million streams); default 32 MiB. */
  maxProbeOutputBytes?: number;
  /** Network stall limit for URL inputs (ffmpeg `-rw_timeout`); default 30 s. */
  urlReadTimeoutInMs?: number;
  /** Stall window of ffmpeg runs that do not give their own; default {@link DEFAULT_STALL_TIMEOUT_IN_MS}. */
  stallTimeoutInMs?: number;
}

export interface FfmpegMediaTool extends SegmentMediaTool {
  /** The binaries in use (after any copy to a writable directory). */
  readonly binaries: { readonly ffmpeg: MediaBinary; readonly ffprobe: MediaBinary };
  /** What fluent-ffmpeg spawns in place of ffmpeg to give it the minimal environment; undefined on Windows. */
  readonly ffmpegLauncher: FfmpegLauncher | undefined;
}

/**
 * Locates the binaries (copying them to a writable directory when they are not executable),
 * runs `-version` on each, and returns the tool. Fails with InvalidConfiguration when a binary
 * cannot be found or run.
 */
export async function createFfmpegMediaTool(options: FfmpegMediaToolOptions = {}): Promise<FfmpegMediaTool> {
  const binaries = await locateMediaBinaries(options);
  const env = childEnvironment(options.env ?? process.env);
  const launcher = process.platform === "win32" ? undefined : await createFfmpegLauncher(binaries.ffmpeg, env, options.writableDir ?? os.tmpdir());
  const config: Config = {
    binaries,
    launcher,
    env,
    tailLines: options.stderrTailLines ?? DEFAULT_STDERR_TAIL_LINES,
    maxProbeOutputBytes: options.maxProbeOutputBytes ?? 32 * 1024 * 1024,
    urlReadTimeoutInMs: options.urlReadTimeoutInMs ?? 30_000,
    stallTimeoutInMs: options.stallTimeoutInMs ?? DEFAULT_STALL_TIMEOUT_IN_MS,
  };
  const startupTimeoutInMs = options.startupTimeoutInMs ?? 15_000;
  // Both must run before the tool is handed out (a broken deployment fails at start, naming the binary).
  const [ffmpeg] = await Promise.all([binaryVersion(config, binaries.ffmpeg, startupTimeoutInMs), binaryVersion(config, binaries.ffprobe, startupTimeoutInMs)]);
  if (launcher) await checkLauncher(config, launcher, ffmpeg, startupTimeoutInMs);
  return {
    binaries,
    ffmpegLauncher: launcher && { path: launcher.path, envUtility: launcher.envUtility, ffmpeg: launcher.ffmpeg },
    // Read for each run, not once at start: provenance must name the binary that actually ran,
    // also after ffmpeg was replaced under a running host. A binary that stopped running is a
    // deployment problem a redeploy fixes: retryable, like a failed start.
    versions: async () => {
      try {
        const [ffmpegNow, ffprobeNow] = await Promise.all([binaryVersion(config, binaries.ffmpeg, startupTimeoutInMs), binaryVersion(config, binaries.ffprobe, startupTimeoutInMs)]);
        return { ffmpeg: ffmpegNow, ffprobe: ffprobeNow };
      } catch (error) {
        const failure = toCustodyError(error);
        throw new CustodyError(failure.code, failure.message, { cause: failure, retryable: true });
      }
    },
    probe: (input, runOptions) => probe(config, input, runOptions),
    run: (inputs, outputArguments, runOptions) => run(config, inputs, outputArguments, runOptions),
    joinToStream: (inputs, outputArguments, consume, runOptions) => joinToStream(config, inputs, outputArguments, consume, runOptions),
  };
}

interface Config {
  binaries: { ffmpeg: MediaBinary; ffprobe: MediaBinary };
  /** Spawned by fluent-ffmpeg instead of ffmpeg; undefined on Windows (ffmpeg itself, the host's environment). */
  launcher: LauncherScript | undefined;
  env: NodeJS.ProcessEnv;
  tailLines: number;
  maxProbeOutputBytes: number;
  urlReadTimeoutInMs: number;
  stallTimeoutInMs: number;
}

async function probe(config: Config, input: MediaInput, options: MediaRunOptions): Promise<MediaProbe> {
  // ffprobe reads from the start (it has no input-side `-ss`).
  const { seekInSeconds: _seek, ...whole } = input;
  const args = ["-hide_banner", "-loglevel", "level+warning", ...inputArguments(whole, config.urlReadTimeoutInMs), "-show_format", "-show_streams", "-of", "json"];
  const result = await runProcess(config, config.binaries.ffprobe.path, args, {
    timeoutInMs: options.timeoutInMs,
    abortSignal: options.abortSignal,
    collectStdout: config.maxProbeOutputBytes,
  });
  if (result.stdoutOverflow && result.stoppedBy === undefined) {
    // Killed by us for printing too much: a crafted file (say, a million streams), not a crash.
    throw failure("UnsupportedMedia", `ffprobe output exceeds ${config.maxProbeOutputBytes} bytes on ${describeInput(input)}`, "ffprobe", args, result);
  }
  throwIfFailed(ffprobeRun(config), "ffprobe", args, input, result, options);
  let parsed: FfprobeOutput;
  try {
    parsed = JSON.parse(result.stdout) as FfprobeOutput;
  } catch (error) {
    throw failure("Internal", `ffprobe printed no valid JSON (${(error as Error).message})`, "ffprobe", args, result, { cause: error });
  }
  const normalised = normaliseProbe(parsed);
  if (normalised.streams.length === 0) {
    throw failure("UnsupportedMedia", `ffprobe found no streams in ${describeInput(input)}`, "ffprobe", args, result);
  }
  return normalised;
}

async function run(config: Config, inputs: MediaInput | readonly MediaInput[], outputArguments: string[], options: MediaRunOptions): Promise<MediaRunResult> {
  const input: MediaInput = Array.isArray(inputs) ? (inputs as readonly MediaInput[])[0] : (inputs as MediaInput);
  if (outputArguments.includes("-i")) {
    // An input of the caller's would escape the allow-lists the adapter applies to the ones it adds.
    throw new CustodyError("Internal", "run() adds the inputs itself; `-i` in outputArguments is refused", { retryable: false });
  }
  return execute(config, ffmpegArguments(inputs, outputArguments, config.urlReadTimeoutInMs, options.seek), input, outputArguments, options);
}

/**
 * The join over read URLs, its output streamed: ffmpeg writes to a Unix socket in the run's
 * private directory (`unix:` output; a pipe would mix with `-progress` on stdout), the adapter
 * accepts exactly one connection and hands it to `consume`. Nothing of the output touches disk.
 */
async function joinToStream<T>(
  config: Config,
  inputs: MediaRemoteJoinInput[],
  outputArguments: string[],
  consume: MediaOutputConsumer<T>,
  options: MediaStreamJoinOptions,
): Promise<{ run: MediaRunResult; output: T }> {
  if (outputArguments.includes("-i")) throw new CustodyError("Internal", "joinToStream() reads only its concat scripts; `-i` in outputArguments is refused", { retryable: false });
  const scripts = await Promise.all(inputs.map((input) => fs.readFile(input.path, "utf8")));
  scripts.forEach(checkRemoteConcatScript);
  const firstUrl = /^file '([^']+)'$/m.exec(scripts[0])?.[1];
  if (firstUrl === undefined) throw new CustodyError("Internal", "a concat script of read URLs names no segment", { retryable: false });
  const { socketPath, ownDir } = await socketPlace(options.workDir);
  const stop = new AbortController();
  const abortSignal = options.abortSignal === undefined ? stop.signal : AbortSignal.any([options.abortSignal, stop.signal]);
  let connection: net.Socket | undefined;
  let connected!: (socket: net.Socket) => void;
  const accepted = new Promise<net.Socket>((resolve) => (connected = resolve));
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    if (connection !== undefined) {
      socket.destroy(); // one writer only: the ffmpeg this run started
      return;
    }
    connection = socket;
    // The consumer sees a failure through its own reading; an unread socket must not throw it as an unhandled 'error'.
    socket.on("error", () => undefined);
    connected(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  try {
    const input: MediaInput = { kind: "url", url: firstUrl };
    // Set when ffmpeg failed on its own (not killed because the consumer gave up).
    let ffmpegFailedFirst = false;
    const running = execute(config, streamJoinArguments(inputs, outputArguments, `unix:${socketPath}`), input, outputArguments, { ...options, abortSignal }).then(
      (result) => ({ ...result, stderrTail: redactUrlQueries(result.stderrTail) }),
      (error: unknown) => {
        ffmpegFailedFirst = !stop.signal.aborted;
        const failed = redacted(error);
        connection?.destroy(failed);
        throw failed;
      },
    );
    const first = await Promise.race([accepted, running.then(() => undefined)]);
    if (first === undefined) {
      await running;
      throw new CustodyError("Internal", "ffmpeg exited without opening its output", { retryable: false });
    }
    const consumed = consume(first, running);
    // The consumer giving up kills ffmpeg (its failure is then the one reported, not the kill).
    const consumerOutcome = consumed.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => {
        stop.abort(new Error("the consumer of the output failed"));
        return { ok: false as const, error };
      },
    );
    // ffmpeg failing on its own ends the consumer's stream with that error; it is reported
    // without waiting for a consumer that might not notice.
    const run = await running.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    if (!run.ok && ffmpegFailedFirst) throw run.error;
    const output = await consumerOutcome;
    if (!output.ok) throw output.error;
    if (!run.ok) throw run.error;
    return { run: run.value, output: output.value };
  } finally {
    connection?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fs.rm(socketPath, { force: true });
    if (ownDir !== undefined) await fs.rm(ownDir, { recursive: true, force: true });
  }
}

/** sun_path holds 108 bytes on Linux (104 on macOS); kept well under. */
const MAX_SOCKET_PATH_BYTES = 100;

/**
 * Where the output socket goes: the run's private directory, or — when that path is too long for
 * a socket (a deep TMPDIR) — a private directory of its own (mode 0700) under the OS temporary
 * folder, or `/tmp` as a last resort.
 */
async function socketPlace(workDir: string): Promise<{ socketPath: string; ownDir?: string }> {
  const name = `ffmpeg-out-${process.pid}-${Date.now()}.sock`;
  const inRun = path.join(workDir, name);
  if (Buffer.byteLength(inRun) <= MAX_SOCKET_PATH_BYTES) return { socketPath: inRun };
  for (const parent of [os.tmpdir(), "/tmp"]) {
    if (Buffer.byteLength(path.join(parent, "cj-XXXXXX", "out.sock")) > MAX_SOCKET_PATH_BYTES) continue;
    const ownDir = await fs.mkdtemp(path.join(parent, "cj-"));
    return { socketPath: path.join(ownDir, "out.sock"), ownDir };
  }
  throw new CustodyError("InvalidConfiguration", `no temporary folder short enough for a local socket (the run's: ${inRun}); set TMPDIR to a shorter path`, { retryable: false });
}

/** A failure with every URL query (SAS) in its message and stderr tail redacted; the cause (fluent-ffmpeg's message names the inputs) is dropped. */
function redacted(error: unknown): CustodyError {
  const custody = toCustodyError(error);
  if (custody instanceof MediaToolError) {
    return new MediaToolError(
      custody.code,
      redactUrlQueries(custody.message),
      { tool: custody.tool, arguments: custody.arguments.map(redactUrlQueries), stderrTail: redactUrlQueries(custody.stderrTail), exitCode: custody.exitCode, signal: custody.signal },
      { retryable: custody.retryable },
    );
  }
  return new CustodyError(custody.code, redactUrlQueries(custody.message), { retryable: custody.retryable });
}

async function execute(config: Config, command: FfmpegCommandLine, input: MediaInput, outputArguments: string[], options: MediaRunOptions): Promise<MediaRunResult> {
  const args = command.arguments;
  if (config.launcher) {
    try {
      await installLauncher(config.launcher.path, config.launcher.content);
    } catch (error) {
      throw new CustodyError(
        "Internal",
        `ffmpeg's environment launcher ${config.launcher.path} is missing or altered and cannot be rewritten: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, retryable: false },
      );
    }
  }
  const stallTimeoutInMs = options.stallTimeoutInMs ?? config.stallTimeoutInMs;
  if (!(stallTimeoutInMs > 0)) throw new CustodyError("Internal", `stallTimeoutInMs must be a positive number of milliseconds, not ${stallTimeoutInMs}`, { retryable: false });
  const progress = options.onProgress ? new ProgressFraction(options.onProgress, outputArguments) : undefined;
  const result = await runFfmpeg({ ffmpegPath: config.launcher?.path ?? config.binaries.ffmpeg.path, tailLines: config.tailLines }, command, {
    timeoutInMs: options.timeoutInMs,
    stallTimeoutInMs,
    abortSignal: options.abortSignal,
    onStdoutLine: progress ? (line) => progress.stdout(line) : undefined,
    onStderrLine: progress ? (line) => progress.stderr(line) : undefined,
  });
  if (result.unexpectedCommandLine !== undefined && result.stoppedBy === undefined) {
    throw failure(
      "Internal",
      `fluent-ffmpeg spawned a command line other than the one built (killed, so no unrecorded arguments run): ${redactUrlQueries(result.unexpectedCommandLine)}`,
      "ffmpeg",
      args,
      result,
      { retryable: false },
    );
  }
  throwIfFailed(ffmpegRun(config), "ffmpeg", args, input, result, options);
  progress?.done();
  return { arguments: args.map(redactUrlQueries), stderrTail: result.stderrLines.join("\n"), durationInMs: result.durationInMs };
}

function ffprobeRun(config: Config): FailedRun {
  return { binary: config.binaries.ffprobe.path, launcher: undefined };
}

function ffmpegRun(config: Config): FailedRun {
  return { binary: config.binaries.ffmpeg.path, launcher: config.launcher?.path };
}
