/**
 * A media process spawned directly (ffprobe, the `-version` checks): the minimal environment,
 * stdin closed, killed with SIGKILL by the run's limits or when its stdout exceeds what is
 * collected.
 */
import { spawn } from "node:child_process";
import { lineSplitter, newProcessResult, stderrCollector, watchedLines, watchRun, type ProcessOptions, type ProcessResult } from "./process-result";

/** What a direct spawn needs from the tool's configuration. */
export interface ProcessRunConfig {
  env: NodeJS.ProcessEnv;
  /** Lines of stderr kept. */
  tailLines: number;
}

export function runProcess(config: ProcessRunConfig, binary: string, args: string[], options: ProcessOptions): Promise<ProcessResult> {
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
    const stderr = lineSplitter(stderrCollector(config.tailLines, stderrLines, lines.stderr));
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
