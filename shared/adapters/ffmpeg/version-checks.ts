/**
 * The `-version` runs: each binary at start (a broken deployment fails at start, naming the
 * binary), the launcher script (it must print what ffmpeg does), and both binaries again for the
 * provenance of each run. Failures are InvalidConfiguration.
 */
import { CustodyError } from "../../errors";
import type { LauncherScript } from "./launcher";
import type { MediaBinary } from "./media-binaries";
import type { ProcessResult } from "./process-result";
import { runProcess, type ProcessRunConfig } from "./process-run";

export async function binaryVersion(config: ProcessRunConfig, binary: MediaBinary, timeoutInMs: number): Promise<string> {
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

/** The launcher must run ffmpeg: its `-version` prints what ffmpeg's did. */
export async function checkLauncher(config: ProcessRunConfig, launcher: LauncherScript, ffmpegVersion: string, timeoutInMs: number): Promise<void> {
  const result = await runProcess(config, launcher.path, ["-hide_banner", "-version"], { timeoutInMs, collectStdout: 64 * 1024 });
  const firstLine = result.stdout.split(/\r?\n/, 1)[0]?.trim() ?? "";
  if (!result.spawnError && result.exitCode === 0 && firstLine === ffmpegVersion) return;
  throw new CustodyError(
    "InvalidConfiguration",
    `the environment launcher ${launcher.path} for ffmpeg (${launcher.ffmpeg}) does not run: \`<launcher> -version\` failed: ${whyVersionFailed(result, timeoutInMs, `it printed ${JSON.stringify(firstLine)}, not ${JSON.stringify(ffmpegVersion)}`)}`,
    { cause: result.spawnError },
  );
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
