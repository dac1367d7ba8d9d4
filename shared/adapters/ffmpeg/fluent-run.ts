/**
 * ffmpeg runs through fluent-ffmpeg — the only file that imports it (archived upstream, so it
 * stays behind this one adapter). ffprobe and the `-version` checks are spawned directly
 * (process-run.ts): fluent-ffmpeg cannot give a process its own environment (ffmpeg gets its
 * minimal one through the launcher script, launcher.ts), and its ffprobe path parses ffprobe's
 * output itself, losing side data (display matrix rotation), and runs without the allow-lists.
 *
 * How an ffmpeg run uses fluent-ffmpeg (see {@link runFfmpeg}):
 * - the argument vector is built by `ffmpegArguments` (arguments.ts) and fed through fluent-ffmpeg's
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
 */
import { Writable } from "node:stream";
import ffmpeg = require("fluent-ffmpeg");
import type { FfmpegCommandLine } from "./arguments";
import { lineSplitter, newProcessResult, stderrCollector, watchedLines, watchRun, type ProcessOptions, type ProcessResult } from "./process-result";

/** What an ffmpeg run needs from the tool's configuration. */
export interface FfmpegRunConfig {
  /** What fluent-ffmpeg spawns: the launcher script (launcher.ts), or ffmpeg itself where there is none (Windows). */
  ffmpegPath: string;
  /** Lines of stderr kept. */
  tailLines: number;
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
 * `runProcess` (process-run.ts) gives for a direct spawn.
 */
export function runFfmpeg(config: FfmpegRunConfig, command: FfmpegCommandLine, options: ProcessOptions): Promise<ProcessResult> {
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
      if (settled) {
        release();
        return;
      }
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
      const onStderr = stderrCollector(config.tailLines, stderrLines, lines.stderr);
      fluent = ffmpeg({ stdoutLines: config.tailLines })
        // The launcher, not ffmpeg: it gives ffmpeg the minimal environment (launcher.ts). Its
        // capability queries (`-formats`, `-encoders`) go through it too.
        .setFfmpegPath(config.ffmpegPath)
        .input(command.source)
        .inputOptions(...command.inputOptions);
      for (const more of command.moreInputs ?? []) fluent.input(more.source).inputOptions(...more.options);
      fluent
        .outputOptions(...command.outputOptions)
        // `end: false`: fluent-ffmpeg kills ffmpeg 20 ms after its output stream closes.
        .output(stdout, { end: false });
      fluent.on("start", (commandLine: string) => {
        running = true;
        release();
        if (commandLine !== expected) {
          result.unexpectedCommandLine = commandLine;
          fluent?.kill("SIGKILL");
        } else if (settled || result.stoppedBy !== undefined) {
          fluent?.kill("SIGKILL");
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
