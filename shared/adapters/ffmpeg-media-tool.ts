/**
 * The `MediaTool` port on the ffmpeg/ffprobe binaries — the only file that imports
 * fluent-ffmpeg (archived upstream, so it stays behind this one adapter).
 *
 * ffmpeg runs (`run`) go through fluent-ffmpeg; ffprobe and the `-version` checks at start are
 * spawned directly. fluent-ffmpeg cannot give a process its own environment (it always spawns
 * with `process.env`; ffmpeg gets its minimal one through a launcher script, see Environment
 * below). Its ffprobe path parses ffprobe's output itself, losing side data (display matrix
 * rotation), and runs without the allow-lists. So ffprobe stays a plain `spawn`.
 *
 * How an ffmpeg run uses fluent-ffmpeg (see {@link runFfmpeg}):
 * - the argument vector is built here (`ffmpegArguments`) and fed through fluent-ffmpeg's
 *   public builder so that its `_getArguments()` yields exactly that vector: every option
 *   before the input is an input option, the caller's arguments are output options, and the
 *   output is a stream. fluent-ffmpeg then writes `pipe:1` as that output's "target", which
 *   completes `-progress pipe:1` (a global option: ffmpeg honours it after the outputs too).
 *   A stream output is not a file output, so fluent-ffmpeg adds no `-y` of its own. The
 *   command line in its `start` event is compared with the vector we built; a difference (say,
 *   its `-strict experimental` insertion after `-acodec`) kills the process and fails the run
 *   as Internal, so the recorded `arguments` are always the argv that ran;
 * - progress comes from `-progress pipe:1` on stdout (fluent-ffmpeg pipes stdout into our
 *   stream), never from its `progress` event: listening to that event makes it run its own
 *   ffprobe on the input — without the allow-lists, with the host's environment;
 * - stderr arrives line by line through its `stderr` event; the exit code or signal is read
 *   from its `error` event ("ffmpeg exited with code N" / "ffmpeg was killed with signal S");
 * - the limits (stall window, ceiling, abort; media-run-watchdog.ts) are ours, calling
 *   `kill("SIGKILL")` (its `timeout` option sends SIGTERM and knows no progress); a kill that
 *   comes before the spawn is delivered on `start`;
 * - `setFfmpegPath` is process-wide in fluent-ffmpeg, so starts are serialised until the spawn
 *   (a tool with another binary cannot switch the path under a pending start);
 * - before its first run in a process fluent-ffmpeg runs `ffmpeg -formats` and `-encoders` and
 *   caches them process-wide (whichever binary ran first); it refuses an output `-f` that list
 *   does not name as a muxer ("Output format … is not available": Internal, nothing spawned).
 *   One ffmpeg binary per process, as the hosts have, keeps that list right.
 *
 * Environment: every process gets a minimal one — the {@link PASSED_ENVIRONMENT} variables of
 * the host (`PATH`, temp directories, proxies; no connection strings or keys, no `FFREPORT`,
 * whose report file would hold the command line with the read URL's SAS) and `GCONV_PATH`
 * naming a directory that cannot exist (the static ffprobe build segfaults on some MPEG-TS
 * files while loading the host's iconv modules). ffprobe and the `-version` checks are spawned
 * with it. fluent-ffmpeg has no `env` option, so its ffmpeg path is set to a launcher script
 * instead of ffmpeg ({@link createFfmpegLauncher}), written at start into a private directory
 * (`<writableDir>/custody-media-launcher-<uid>/ffmpeg-env-<hash>.sh`: ours, mode 0700, not
 * writable by group or others — the checks media-binaries.ts makes for its copies):
 *     #!/bin/sh
 *     exec /usr/bin/env -i 'PATH=…' … 'GCONV_PATH=/dev/null/custody-no-gconv' '/real/ffmpeg' "$@"
 * - the values are the host's at start, shell-quoted (a proxy URL with a password lands in
 *   that 0700 file); the hash covers the content, so another environment or binary gets another
 *   file, and one that is missing or differs from what it should be is rewritten (temporary
 *   name, then rename) — at start and again before every run. The script replaces itself with `env`, which replaces itself with ffmpeg: the
 *   pid fluent-ffmpeg (and our SIGKILL) sees is ffmpeg's, and so are the exit code and signal;
 * - `/usr/bin/env` when it is executable, else the first executable `env` on the host's `PATH`
 *   at start (an absolute path either way; {@link FfmpegMediaTool.ffmpegLauncher} says which).
 *   None, a real ffmpeg path containing `=` (env would read it as an assignment) or a launcher
 *   that cannot be written is InvalidConfiguration at start: ffmpeg never runs with the host's
 *   environment. The launcher's `-version` must print what ffmpeg's does;
 * - fluent-ffmpeg spawns everything ffmpeg through it, its `-formats` / `-encoders` queries too.
 *   The argv it gets is ffmpeg's own (`"$@"`), so its `start` event, the comparison with the
 *   built vector and the recorded `arguments` are unchanged; a failure to start names the real
 *   ffmpeg and the launcher; exit codes 126/127 (env could not execute ffmpeg) say so;
 * - on Windows (not a target) there is no launcher: ffmpeg gets the host's environment;
 * - ffmpeg's stdin is an unused pipe instead of /dev/null; `-nostdin` keeps it unread.
 *
 * Every process:
 * - gets the hardened input options the adapter owns (`inputOptions`): a protocol allow-list
 *   for the input kind (`file` for a file, `http,https,tcp,tls` for a URL) and a demuxer
 *   allow-list ({@link ALLOWED_DEMUXERS}), so an upload that is really an HLS playlist, an
 *   ffconcat script, an image sequence pattern, … is refused before it can open anything else;
 *   a file input is passed as `file:<absolute path>` so no name is ever read as a protocol or
 *   an option;
 * - has `-hide_banner`, `-nostdin` (ffmpeg; ffprobe has no such option, its stdin is
 *   /dev/null), `-y` for outputs, a log level tagged with `level+` (so error lines can be told
 *   from noise); the minimal environment above;
 * - is killed with SIGKILL when `abortSignal` fires or its ceiling (`timeoutInMs`) passes, and
 *   an ffmpeg run also when its `-progress` has not advanced for the stall window
 *   (`stallTimeoutInMs`, default {@link DEFAULT_STALL_TIMEOUT_IN_MS}): see media-run-watchdog.ts;
 * - keeps the last {@link DEFAULT_STDERR_TAIL_LINES} lines of stderr.
 *
 * Failures are `MediaToolError` (a CustodyError) carrying the stderr tail, the arguments and
 * the exit code or signal: `UnsupportedMedia` (corrupt, truncated, encrypted, missing decoder,
 * no stream, refused format/protocol — never retried), `MediaToolCrashed` (death by signal),
 * `Transient` (stall, ceiling, abort, network errors on a URL input), `OriginalNotFound` /
 * `AccessDenied` (HTTP 404 / 401, 403 on a URL input), `Internal` (anything else).
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import ffmpeg = require("fluent-ffmpeg");
import { CustodyError, toCustodyError, type CustodyErrorCode } from "../errors";
import { normaliseProbe, type FfprobeOutput } from "../media/probe-normalise";
import type { MediaInput, MediaProbe, MediaRunOptions, MediaRunResult, MediaTool } from "../ports/media-tool";
import { locateMediaBinaries, privateDirectory, type LocateMediaBinariesOptions, type MediaBinary } from "./media-binaries";
import { MediaRunWatchdog, ProgressFraction, type MediaRunStopReason } from "./media-run-watchdog";

/**
 * Demuxers an original may be read with (names as `ffmpeg -demuxers` lists them; a demuxer
 * whose name list contains one of these matches). Camera and phone containers only — no
 * playlists (`hls`, `dash`), scripts (`concat`), image sequences (`image2`), raw elementary
 * streams, `lavfi` or device inputs.
 */
export const ALLOWED_DEMUXERS: readonly string[] = [
  "mov", "mp4", "m4a", "3gp", "3g2", "mj2",
  "matroska", "webm",
  "mpegts", "mpeg",
  "avi", "asf", "flv", "mxf", "dv",
  "wav", "mp3", "aac", "ogg", "flac",
];

/** Protocols per input kind. `tls` is what `https` runs over; `crypto`, `data`, `subfile`, `concat`, … are never needed. */
export const ALLOWED_PROTOCOLS: Readonly<Record<MediaInput["kind"], string>> = {
  file: "file",
  url: "http,https,tcp,tls",
};

export const DEFAULT_STDERR_TAIL_LINES = 40;

/** How long an ffmpeg run may go without progress before it counts as hung. */
export const DEFAULT_STALL_TIMEOUT_IN_MS = 60_000;

/** A directory that cannot exist (`/dev/null` is not a directory), for GCONV_PATH. */
const NO_GCONV = "/dev/null/custody-no-gconv";

/** Environment variables a media process may see; everything else (connection strings, keys) is withheld. */
const PASSED_ENVIRONMENT = [
  "PATH", "LD_LIBRARY_PATH", "TMPDIR", "TMP", "TEMP", "SystemRoot",
  "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
];

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

export interface FfmpegMediaTool extends MediaTool {
  /** The binaries in use (after any copy to a writable directory). */
  readonly binaries: { readonly ffmpeg: MediaBinary; readonly ffprobe: MediaBinary };
  /** What fluent-ffmpeg spawns in place of ffmpeg to give it the minimal environment; undefined on Windows. */
  readonly ffmpegLauncher: FfmpegLauncher | undefined;
}

/** The launcher script (see the file header). */
export interface FfmpegLauncher {
  /** The script, `<writableDir>/custody-media-launcher-<uid>/ffmpeg-env-<hash>.sh`. */
  readonly path: string;
  /** The `env` it runs: `/usr/bin/env`, or the one found on the host's PATH when that is missing. */
  readonly envUtility: string;
  /** The ffmpeg it runs (`binaries.ffmpeg.path`). */
  readonly ffmpeg: string;
}

interface LauncherScript extends FfmpegLauncher {
  readonly content: string;
}

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

/**
 * Locates the binaries (copying them to a writable directory when they are not executable),
 * runs `-version` on each, and returns the tool. Fails with InvalidConfiguration when a binary
 * cannot be found or run.
 */
export async function createFfmpegMediaTool(options: FfmpegMediaToolOptions = {}): Promise<FfmpegMediaTool> {
  const binaries = await locateMediaBinaries(options);
  const env = childEnvironment(options.env ?? process.env);
  const launcher =
    process.platform === "win32" ? undefined : await createFfmpegLauncher(binaries.ffmpeg, env, options.writableDir ?? os.tmpdir());
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
    run: (input, outputArguments, runOptions) => run(config, input, outputArguments, runOptions),
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

async function binaryVersion(config: Config, binary: MediaBinary, timeoutInMs: number): Promise<string> {
  const args = ["-hide_banner", "-version"];
  const result = await runProcess(config, binary.path, args, { timeoutInMs, collectStdout: 64 * 1024 });
  const firstLine = result.stdout.split(/\r?\n/, 1)[0]?.trim() ?? "";
  if (result.spawnError || result.exitCode !== 0 || firstLine === "") {
    const copied = binary.copiedFrom ? ` (a copy of ${binary.copiedFrom}, which was not executable)` : "";
    throw new CustodyError(
      "InvalidConfiguration",
      `${binary.name} at ${binary.path}${copied} from ${binary.source} does not run: \`${binary.name} -version\` failed: ${whyVersionFailed(result, timeoutInMs, "exit code 0 but no version line")}`,
      { cause: result.spawnError },
    );
  }
  return firstLine;
}

/** Why a `-version` run failed, with its last stderr lines; `otherwise` when it exited 0 yet printed the wrong thing. */
function whyVersionFailed(result: ProcessResult, timeoutInMs: number, otherwise: string): string {
  const what = result.spawnError
    ? result.spawnError.message
    : result.stoppedBy === "ceiling"
      ? `timed out after ${timeoutInMs} ms`
      : result.signal
        ? `killed by ${result.signal}`
        : result.exitCode !== 0
          ? `exit code ${result.exitCode}`
          : otherwise;
  return what + (result.stderrLines.length ? `: ${result.stderrLines.slice(-3).join(" | ")}` : "");
}

/** The launcher must run ffmpeg: its `-version` prints what ffmpeg's did. */
async function checkLauncher(config: Config, launcher: LauncherScript, ffmpegVersion: string, timeoutInMs: number): Promise<void> {
  const result = await runProcess(config, launcher.path, ["-hide_banner", "-version"], { timeoutInMs, collectStdout: 64 * 1024 });
  const firstLine = result.stdout.split(/\r?\n/, 1)[0]?.trim() ?? "";
  if (!result.spawnError && result.exitCode === 0 && firstLine === ffmpegVersion) return;
  throw new CustodyError(
    "InvalidConfiguration",
    `the environment launcher ${launcher.path} for ffmpeg (${launcher.ffmpeg}) does not run: \`<launcher> -version\` failed: ${whyVersionFailed(result, timeoutInMs, `it printed ${JSON.stringify(firstLine)}, not ${JSON.stringify(ffmpegVersion)}`)}`,
    { cause: result.spawnError },
  );
}

/**
 * Writes (or reuses) the launcher script that runs `ffmpeg` with exactly `env` (see the file
 * header). Fails with InvalidConfiguration rather than let ffmpeg run with the host's environment.
 */
async function createFfmpegLauncher(ffmpegBinary: MediaBinary, env: NodeJS.ProcessEnv, writableDir: string): Promise<LauncherScript> {
  const target = path.resolve(ffmpegBinary.path);
  const fail = (why: string, cause?: unknown) =>
    new CustodyError("InvalidConfiguration", `ffmpeg (${target}) cannot be given a minimal environment: ${why}`, { cause });
  if (target.includes("=")) throw fail("its path contains `=`, which env(1) would read as a variable assignment; move or link it");
  const envUtility = await findEnvUtility();
  if (!envUtility) throw fail("there is no executable /usr/bin/env and no `env` on PATH");
  const assignments = Object.entries(env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => shellQuote(`${name}=${value}`));
  const content =
    "#!/bin/sh\n" +
    "# Written by Custody (ffmpeg-media-tool.ts): runs ffmpeg with a minimal environment; fluent-ffmpeg cannot set one.\n" +
    `exec ${shellQuote(envUtility)} -i ${assignments.join(" ")} ${shellQuote(target)} "$@"\n`;
  const digest = createHash("sha256").update(content).digest("hex").slice(0, 16);
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  const launcher = path.join(writableDir, `custody-media-launcher-${uid}`, `ffmpeg-env-${digest}.sh`);
  try {
    await installLauncher(launcher, content);
  } catch (error) {
    throw fail(`writing the launcher script ${launcher} (mode 0700) failed (${error instanceof Error ? error.message : String(error)})`, error);
  }
  return { path: launcher, envUtility, ffmpeg: target, content };
}

/**
 * Makes `file` the launcher with `content` unless it already is: at start, and before every
 * run (a temp cleaner may have removed it, and fluent-ffmpeg 2.1.3 throws an uncaught
 * TypeError when the spawn itself fails, ENOENT included).
 */
async function installLauncher(file: string, content: string): Promise<void> {
  await privateDirectory(path.dirname(file));
  if (!(await isLauncher(file, content))) {
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await fs.writeFile(temporary, content, { mode: 0o700, flag: "wx" });
      await fs.chmod(temporary, 0o700); // the umask may have taken bits away
      await fs.rename(temporary, file);
    } finally {
      await fs.rm(temporary, { force: true });
    }
  }
  await fs.access(file, fsConstants.X_OK);
}

/** `/usr/bin/env` if it is executable, else the first executable `env` on the host's PATH, else undefined. */
async function findEnvUtility(): Promise<string | undefined> {
  const candidates = ["/usr/bin/env"];
  for (const directory of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (path.isAbsolute(directory)) candidates.push(path.join(directory, "env"));
  }
  for (const candidate of candidates) {
    try {
      if (!(await fs.stat(candidate)).isFile()) continue;
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Whether `file` already is the launcher: a regular file of ours, mode 0700, with exactly `content`. */
async function isLauncher(file: string, content: string): Promise<boolean> {
  try {
    const stat = await fs.lstat(file);
    const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
    if (!stat.isFile() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o777) !== 0o700) return false;
    return (await fs.readFile(file, "utf8")) === content;
  } catch {
    return false;
  }
}

/** One shell word: single-quoted, each `'` as `'\''`. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** The hardened input options and the input argument itself. */
export function inputArguments(input: MediaInput, urlReadTimeoutInMs = 30_000): string[] {
  if (input.kind === "file") {
    if (!input.path) throw new CustodyError("Internal", "media input has an empty path", { retryable: false });
    return [
      "-protocol_whitelist", ALLOWED_PROTOCOLS.file,
      "-format_whitelist", ALLOWED_DEMUXERS.join(","),
      "-i", `file:${path.resolve(input.path)}`,
    ];
  }
  let url: URL;
  try {
    url = new URL(input.url);
  } catch (error) {
    throw new CustodyError("Internal", `media input URL is not a URL`, { cause: error, retryable: false });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CustodyError("Internal", `media input URL must be http(s), not ${url.protocol}`, { retryable: false });
  }
  return [
    "-protocol_whitelist", ALLOWED_PROTOCOLS.url,
    "-format_whitelist", ALLOWED_DEMUXERS.join(","),
    "-rw_timeout", String(Math.max(1, Math.round(urlReadTimeoutInMs)) * 1000),
    "-reconnect", "1",
    "-reconnect_delay_max", "5",
    "-i", input.url,
  ];
}

async function probe(config: Config, input: MediaInput, options: MediaRunOptions): Promise<MediaProbe> {
  const args = [
    "-hide_banner",
    "-loglevel", "level+warning",
    ...inputArguments(input, config.urlReadTimeoutInMs),
    "-show_format",
    "-show_streams",
    "-of", "json",
  ];
  const result = await runProcess(config, config.binaries.ffprobe.path, args, {
    timeoutInMs: options.timeoutInMs,
    abortSignal: options.abortSignal,
    collectStdout: config.maxProbeOutputBytes,
  });
  if (result.stdoutOverflow && result.stoppedBy === undefined) {
    // Killed by us for printing too much: a crafted file (say, a million streams), not a crash.
    throw failure("UnsupportedMedia", `ffprobe output exceeds ${config.maxProbeOutputBytes} bytes on ${describe(input)}`, "ffprobe", args, result);
  }
  throwIfFailed(config, "ffprobe", args, input, result, options);
  let parsed: FfprobeOutput;
  try {
    parsed = JSON.parse(result.stdout) as FfprobeOutput;
  } catch (error) {
    throw failure("Internal", `ffprobe printed no valid JSON (${(error as Error).message})`, "ffprobe", args, result, { cause: error });
  }
  const normalised = normaliseProbe(parsed);
  if (normalised.streams.length === 0) {
    throw failure("UnsupportedMedia", `ffprobe found no streams in ${describe(input)}`, "ffprobe", args, result);
  }
  return normalised;
}

async function run(config: Config, input: MediaInput, outputArguments: string[], options: MediaRunOptions): Promise<MediaRunResult> {
  if (outputArguments.includes("-i")) {
    // A second input would escape the allow-lists the adapter applies to the one it adds.
    throw new CustodyError("Internal", "run() takes one input; `-i` in outputArguments is refused", { retryable: false });
  }
  const command = ffmpegArguments(input, outputArguments, config.urlReadTimeoutInMs);
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
  const result = await runFfmpeg(config, command, {
    timeoutInMs: options.timeoutInMs,
    stallTimeoutInMs,
    abortSignal: options.abortSignal,
    onStdoutLine: progress ? (line) => progress.stdout(line) : undefined,
    onStderrLine: progress ? (line) => progress.stderr(line) : undefined,
  });
  if (result.unexpectedCommandLine !== undefined && result.stoppedBy === undefined) {
    throw failure(
      "Internal",
      `fluent-ffmpeg spawned a command line other than the one built (killed, so no unrecorded arguments run): ${redact(result.unexpectedCommandLine)}`,
      "ffmpeg", args, result,
      { retryable: false },
    );
  }
  throwIfFailed(config, "ffmpeg", args, input, result, options);
  progress?.done();
  return { arguments: args.map(redact), stderrTail: result.stderrLines.join("\n"), durationInMs: result.durationInMs };
}

/** What fluent-ffmpeg writes as the target of a stream output: the value of our trailing `-progress`. */
const PROGRESS_TARGET = "pipe:1";

/** An ffmpeg command line, split the way fluent-ffmpeg assembles it (see {@link runFfmpeg}). */
interface FfmpegCommandLine {
  /** Everything before `-i`: global options and the hardened input options. */
  inputOptions: string[];
  /** The `-i` argument. */
  source: string;
  /** The caller's output arguments, then `-progress` (fluent-ffmpeg appends its value, `pipe:1`). */
  outputOptions: string[];
  /** The whole argument vector ffmpeg is given. */
  arguments: string[];
}

/**
 * `-hide_banner -nostdin -y -loglevel level+info -nostats <input options> -i <input>
 * <outputArguments> -progress pipe:1`.
 */
export function ffmpegArguments(input: MediaInput, outputArguments: string[], urlReadTimeoutInMs = 30_000): FfmpegCommandLine {
  const hardened = inputArguments(input, urlReadTimeoutInMs);
  const source = hardened[hardened.length - 1]!;
  const inputOptions = ["-hide_banner", "-nostdin", "-y", "-loglevel", "level+info", "-nostats", ...hardened.slice(0, -2)];
  const outputOptions = [...outputArguments, "-progress"];
  return { inputOptions, source, outputOptions, arguments: [...inputOptions, "-i", source, ...outputOptions, PROGRESS_TARGET] };
}

// ---------------------------------------------------------------------------------------------
// Failures

function throwIfFailed(
  config: Config,
  tool: "ffmpeg" | "ffprobe",
  args: string[],
  input: MediaInput,
  result: ProcessResult,
  options: MediaRunOptions,
): void {
  const binary = config.binaries[tool].path;
  if (result.stoppedBy === "abort") {
    const reason = options.abortSignal?.reason;
    const because = reason instanceof Error ? reason.message : reason === undefined ? "" : String(reason);
    throw failure("Transient", `${tool} was aborted${because ? ` (${because})` : ""} and killed (SIGKILL)`, tool, args, result, {
      cause: reason,
    });
  }
  if (result.stoppedBy === "stall") {
    // Transient: a run that stops moving is waiting on something outside it (storage that
    // stopped serving bytes, a starved machine); a fresh attempt is the remedy.
    throw failure(
      "Transient",
      `${tool} made no progress for ${result.stallTimeoutInMs} ms (the stall window) on ${describe(input)} and was killed (SIGKILL); ` +
        `last progress: ${result.progress ?? "none"}${lastLines(result, ": ")}`,
      tool, args, result,
    );
  }
  if (result.stoppedBy === "ceiling") {
    const watched = result.stallTimeoutInMs !== undefined;
    throw failure(
      "Transient",
      `${tool} timed out after ${options.timeoutInMs} ms${watched ? " (the ceiling for this run)" : ""} on ${describe(input)}` +
        `${watched ? ` while still making progress (${result.progress ?? "none"})` : ""} and was killed (SIGKILL)${lastLines(result, ": ")}`,
      tool, args, result,
    );
  }
  const launcher = tool === "ffmpeg" ? config.launcher : undefined;
  if (result.spawnError) {
    const via = launcher ? `, run through the environment launcher ${launcher.path}` : "";
    throw failure("Internal", `${tool} (${binary}${via}) could not be started: ${result.spawnError.message}`, tool, args, result, {
      cause: result.spawnError,
    });
  }
  if (result.signal) {
    const external = ["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP"].includes(result.signal);
    throw failure(
      "MediaToolCrashed",
      `${tool} was killed by signal ${result.signal}${external ? "" : " (crashed)"} on ${describe(input)}` +
        `; stderr tail: ${result.stderrLines.length ? result.stderrLines.slice(-5).join(" | ") : "(empty)"}`,
      tool, args, result,
      { retryable: external },
    );
  }
  if (result.exitCode !== 0) {
    const code = classify(result.stderrLines, input);
    const launcherFailed =
      launcher && (result.exitCode === 126 || result.exitCode === 127)
        ? ` (126/127: the environment launcher ${launcher.path} may have failed to execute ${binary})`
        : "";
    throw failure(code, `${tool} exited with code ${result.exitCode}${launcherFailed} on ${describe(input)}${lastLines(result, ": ")}`, tool, args, result);
  }
}

function failure(
  code: CustodyErrorCode,
  message: string,
  tool: "ffmpeg" | "ffprobe",
  args: string[],
  result: ProcessResult,
  options: { cause?: unknown; retryable?: boolean } = {},
): MediaToolError {
  return new MediaToolError(
    code,
    message,
    { tool, arguments: args.map(redact), stderrTail: result.stderrLines.join("\n"), exitCode: result.exitCode, signal: result.signal },
    options,
  );
}

const UNSUPPORTED: RegExp[] = [
  /Invalid data found when processing input/i,
  /moov atom not found/i,
  /does not contain any stream/i,
  /matches no streams/i,
  /Decoder \(.*\) not found|Decoding requested, but no decoder found|No decoder (found )?for|Unknown decoder/i,
  /Could not find codec parameters/i,
  /Unsupported codec|codec not currently supported/i,
  /EBML header parsing failed/i,
  /error reading header/i,
  /Format not on whitelist|Protocol '[^']*' not on whitelist|not on whitelist/i,
  /Unknown input format|Invalid input format/i,
  /encrypt|decrypt|\bcenc\b|\bDRM\b/i,
  /Error splitting the input into NAL units/i,
  // The mp3 demuxer on bytes that are not MPEG audio (it looks for a frame past the end and
  // fails with EINVAL): the file, not the tool.
  /Failed to read frame size: Could not seek/i,
];

const URL_ERRORS: Array<[RegExp, CustodyErrorCode]> = [
  [/Server returned 404|HTTP error 404/i, "OriginalNotFound"],
  [/Server returned 412|HTTP error 412/i, "OriginalChanged"],
  [/Server returned 40[13]|HTTP error 40[13]/i, "AccessDenied"],
  [/Server returned 5\d\d|Server returned 5XX|HTTP error 5\d\d|Server returned 429|HTTP error 429|Server returned 408/i, "Transient"],
  [/Connection reset|Connection refused|Connection timed out|Operation timed out|timed out|Broken pipe|Network is unreachable|Temporary failure in name resolution|Failed to resolve hostname|Name or service not known|Input\/output error|End of file|Stream ends prematurely|Will reconnect/i, "Transient"],
];

const RESOURCE_ERRORS = /No space left on device|Cannot allocate memory|Resource temporarily unavailable/i;

/**
 * What a non-zero exit means, from the stderr tail. For a URL input, HTTP and network errors
 * win (a body cut short also reads as "Invalid data"); then the input's own faults; then
 * resources of this machine; anything else is Internal.
 */
export function classify(stderrLines: readonly string[], input: MediaInput): CustodyErrorCode {
  // Only what ffmpeg says at warning level or above: info lines echo the file's own metadata,
  // which must not steer the classification. A build without level tags gives everything.
  const leveled = stderrLines.some((line) => LEVEL_TAG.test(line));
  const text = (leveled ? stderrLines.filter((line) => PROBLEM_TAG.test(line)) : stderrLines).join("\n");
  if (input.kind === "url") {
    for (const [pattern, code] of URL_ERRORS) if (pattern.test(text)) return code;
  }
  if (UNSUPPORTED.some((pattern) => pattern.test(text))) return "UnsupportedMedia";
  if (RESOURCE_ERRORS.test(text)) return "Transient";
  return "Internal";
}

/** A `level+` tag at the start of a line, after an optional `[component]` prefix. */
const LEVEL_TAG = /^(\[[^\]]*\] )?\[(panic|fatal|error|warning|info|verbose|debug|trace)\] /;
const PROBLEM_TAG = /^(\[[^\]]*\] )?\[(panic|fatal|error|warning)\] /;
const ERROR_TAG = /^(\[[^\]]*\] )?\[(panic|fatal|error)\] /;

/** Generic lines ffmpeg prints after the real cause. */
const GENERIC = /^(Conversion failed!?|Exiting normally.*|To ignore this, add a trailing '\?' to the map\.?)$/i;

/**
 * The last meaningful lines: error-level lines (`[error]`, `[fatal]`, `[panic]`) without the
 * generic closers, else the last non-empty lines. The cause is often on the last line, not the
 * first (an AVCHD clip's "non-existing PPS" comes before the filter-graph error), so these come
 * from the end.
 */
export function meaningfulLines(stderrLines: readonly string[], count = 2): string[] {
  const untag = (line: string) => line.replace(LEVEL_TAG, "$1").trim();
  const errors = stderrLines.filter((line) => ERROR_TAG.test(line)).map(untag).filter((line) => !GENERIC.test(line.replace(/^\[[^\]]+\] /, "")));
  const pool = errors.length ? errors : stderrLines.map(untag).filter((line) => line !== "" && !GENERIC.test(line));
  const unique: string[] = [];
  for (const line of pool.reverse()) {
    if (!unique.includes(line)) unique.unshift(line);
    if (unique.length === count) break;
  }
  return unique;
}

function lastLines(result: ProcessResult, prefix: string): string {
  const lines = meaningfulLines(result.stderrLines);
  return lines.length ? `${prefix}${lines.join(" | ")}` : "";
}

/**
 * Drops the query of every http(s) URL: a read URL carries a SAS token, which must not reach
 * logs, error messages or the provenance recorded with the evidence.
 */
export function redact(text: string): string {
  return text.replace(/(https?:\/\/[^\s'"?#]+)\?[^\s'"#]*/gi, "$1?<redacted>");
}

function describe(input: MediaInput): string {
  if (input.kind === "file") return input.path;
  try {
    const url = new URL(input.url);
    return `${url.origin}${url.pathname}`; // never the query: it may hold a SAS token
  } catch {
    return "(invalid URL)";
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

interface ProcessOptions {
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

interface ProcessResult {
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

function childEnvironment(source: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of PASSED_ENVIRONMENT) if (source[name] !== undefined) env[name] = source[name];
  env["GCONV_PATH"] = NO_GCONV;
  return env;
}

/** A run's result before it starts; already stopped by `abort` when the caller's signal is aborted. */
function newProcessResult(options: ProcessOptions): ProcessResult {
  const result: ProcessResult = { exitCode: null, signal: null, stdout: "", stdoutOverflow: false, stderrLines: [], durationInMs: 0 };
  if (options.abortSignal?.aborted === true) result.stoppedBy = "abort";
  if (options.stallTimeoutInMs !== undefined) result.stallTimeoutInMs = options.stallTimeoutInMs;
  return result;
}

/** The limits of one run (media-run-watchdog.ts); `stop` kills the process. */
function watchRun(options: ProcessOptions, result: ProcessResult, stop: () => void): MediaRunWatchdog {
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
function watchedLines(options: ProcessOptions, watchdog: MediaRunWatchdog): { stdout?: (line: string) => void; stderr?: (line: string) => void } {
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

function runProcess(config: Config, binary: string, args: string[], options: ProcessOptions): Promise<ProcessResult> {
  const started = Date.now();
  const result = newProcessResult(options);
  const { stderrLines } = result;
  if (result.stoppedBy !== undefined) return Promise.resolve(result);
  return new Promise((resolve) => {
    let settled = false;
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], env: config.env, windowsHide: true });
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    };
    const watchdog = watchRun(options, result, kill);
    watchdog.processStarted();

    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    const lines = watchedLines(options, watchdog);
    const stdoutLines = lines.stdout ? lineSplitter(lines.stdout) : undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      if (options.collectStdout !== undefined && !result.stdoutOverflow) {
        stdoutBytes += chunk.length;
        if (stdoutBytes > options.collectStdout) {
          result.stdoutOverflow = true;
          stdoutChunks.length = 0;
          kill();
        } else {
          stdoutChunks.push(chunk);
        }
      }
      stdoutLines?.push(chunk);
    });
    const stderr = lineSplitter(stderrCollector(config, stderrLines, lines.stderr));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));

    const finish = () => {
      if (settled) return;
      settled = true;
      watchdog.dispose();
      stderr.end();
      stdoutLines?.end();
      result.stdout = Buffer.concat(stdoutChunks).toString("utf8");
      result.durationInMs = Date.now() - started;
      resolve(result);
    };
    child.on("error", (error) => {
      result.spawnError = error;
      // 'close' follows when the process had started; when spawn itself failed it may not.
      setImmediate(() => {
        if (child.pid === undefined) finish();
      });
    });
    child.on("close", (code, signal) => {
      result.exitCode = code;
      result.signal = signal;
      finish();
    });
  });
}

/**
 * fluent-ffmpeg keeps the ffmpeg path process-wide (`setFfmpegPath`) and reads it when it
 * spawns, after its asynchronous preparation. Starts take turns from setting the path until
 * the spawn (or a failure before it), so two tools with different binaries cannot mix them up.
 */
let fluentTurn: Promise<void> = Promise.resolve();

function nextFluentTurn(): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const previous = fluentTurn;
  fluentTurn = previous.then(() => released);
  return previous.then(() => release);
}

/** fluent-ffmpeg's `error` messages for a process that ran (its run(); `: <stderr>` may follow the code). */
const FLUENT_EXIT = /^ffmpeg exited with code (-?\d+)/;
const FLUENT_SIGNAL = /^ffmpeg was killed with signal (SIG[A-Z0-9]+)/;

/**
 * Runs ffmpeg through fluent-ffmpeg with `command` (see the file header): same result as
 * {@link runProcess} gives for a direct spawn.
 */
function runFfmpeg(config: Config, command: FfmpegCommandLine, options: ProcessOptions): Promise<ProcessResult> {
  const started = Date.now();
  const result = newProcessResult(options);
  const { stderrLines } = result;
  if (result.stoppedBy !== undefined) return Promise.resolve(result);
  const expected = ["ffmpeg", ...command.arguments].join(" "); // how fluent-ffmpeg's `start` event spells it
  return new Promise((resolve) => {
    let settled = false;
    let fluent: ffmpeg.FfmpegCommand | undefined;
    let running = false; // between `start` and `error`/`end`: there is a process to kill
    let releaseTurn: (() => void) | undefined;

    const finish = () => {
      if (settled) return;
      settled = true;
      watchdog.dispose();
      releaseTurn?.();
      stdoutLines?.end();
      result.durationInMs = Date.now() - started;
      resolve(result);
    };
    // Not spawned yet: `start`, if it ever comes, kills at once.
    const watchdog = watchRun(options, result, () => (running ? fluent?.kill("SIGKILL") : finish()));
    const lines = watchedLines(options, watchdog);
    const stdoutLines = lines.stdout ? lineSplitter(lines.stdout) : undefined;

    void nextFluentTurn().then((release) => {
      releaseTurn = release;
      if (settled) return release();
      try {
        start(release);
      } catch (error) {
        // The builder refused the arguments (fluent-ffmpeg throws on what it cannot place).
        result.spawnError = error instanceof Error ? error : new Error(String(error));
        finish();
      }
    });

    function start(release: () => void): void {
      const stdout = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          stdoutLines?.push(chunk);
          callback();
        },
      });
      const onStderr = stderrCollector(config, stderrLines, lines.stderr);
      fluent = ffmpeg({ stdoutLines: config.tailLines })
        // The launcher, not ffmpeg: it gives ffmpeg the minimal environment (file header). Its
        // capability queries (`-formats`, `-encoders`) go through it too.
        .setFfmpegPath(config.launcher?.path ?? config.binaries.ffmpeg.path)
        .input(command.source)
        .inputOptions(...command.inputOptions)
        .outputOptions(...command.outputOptions)
        // `end: false`: fluent-ffmpeg kills ffmpeg 20 ms after its output stream closes.
        .output(stdout, { end: false });
      fluent.on("start", (commandLine: string) => {
        running = true;
        release();
        if (commandLine !== expected) {
          result.unexpectedCommandLine = commandLine;
          fluent!.kill("SIGKILL");
        } else if (settled || result.stoppedBy !== undefined) {
          fluent!.kill("SIGKILL");
        } else {
          watchdog.processStarted();
        }
      });
      fluent.on("stderr", (line: string) => {
        try {
          onStderr(line);
        } catch {
          // Emitted from fluent-ffmpeg's stream handler: a throw there would be uncaught.
        }
      });
      fluent.on("end", () => {
        running = false;
        result.exitCode = 0;
        finish();
      });
      fluent.on("error", (error: Error) => {
        const ran = running;
        running = false;
        const exit = ran ? FLUENT_EXIT.exec(error.message) : null;
        const signal = ran ? FLUENT_SIGNAL.exec(error.message) : null;
        // Not kept as the cause: fluent-ffmpeg appends stderr, which names the input (with its SAS).
        if (exit) result.exitCode = Number(exit[1]);
        else if (signal) result.signal = signal[1] as NodeJS.Signals;
        else result.spawnError = error;
        finish();
      });
      fluent.run();
    }
  });
}

/** Keeps a stderr line (component addresses dropped, SAS redacted, length capped) in the tail. */
function stderrCollector(config: Config, stderrLines: string[], onLine?: (line: string) => void): (line: string) => void {
  return (line) => {
    const clean = redact(line.replace(/ @ 0x[0-9a-f]+\]/gi, "]")).slice(0, MAX_LINE_LENGTH);
    if (clean.trim() === "") return;
    stderrLines.push(clean);
    if (stderrLines.length > config.tailLines) stderrLines.shift();
    onLine?.(clean);
  };
}

/** Splits a byte stream into lines at `\n` or `\r`; a runaway line is cut at MAX_LINE_LENGTH. */
function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
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
