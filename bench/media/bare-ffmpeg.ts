/** ffmpeg spawned bare — no adapter, no allow-lists beyond the argv given — as the reference the stages are measured against. */
import { spawn } from "node:child_process";
import { existsSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";

/**
 * The stage's recorded argv with its input replaced (the recorded one has its SAS redacted)
 * and its output path (a temp dir the stage removed) replaced by `output`. For a `file` input
 * the URL-only options go and the protocol allow-list becomes `file`, as the adapter does for
 * files.
 */
export function bareArgv(recorded: string[], input: { kind: "url"; url: string } | { kind: "file"; path: string }, output: string): string[] {
  const argv = [...recorded];
  const inputAt = argv.indexOf("-i");
  if (inputAt < 0 || inputAt + 1 >= argv.length) throw new Error(`recorded argv has no -i: ${recorded.join(" ")}`);
  const outputs = argv.map((a, i) => (/custody-transcode-[^/\\]+[/\\]proxy\.out$/.test(a) ? i : -1)).filter((i) => i >= 0);
  if (outputs.length !== 1) throw new Error(`expected one output path in the recorded argv, found ${outputs.length}: ${recorded.join(" ")}`);
  argv[outputs[0]] = output;
  if (input.kind === "url") {
    argv[inputAt + 1] = input.url;
    return argv;
  }
  argv[inputAt + 1] = `file:${path.resolve(input.path)}`;
  const urlOnly = new Set(["-rw_timeout", "-reconnect", "-reconnect_delay_max", "-reconnect_streamed", "-reconnect_on_network_error"]);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (i < inputAt && urlOnly.has(argv[i])) {
      i++;
      continue;
    }
    if (i < inputAt && argv[i] === "-protocol_whitelist") {
      out.push(argv[i], "file");
      i++;
      continue;
    }
    out.push(argv[i]);
  }
  return out;
}

/** Spawns `binary argv` (stdout and stderr drained, the last stderr lines kept for errors). */
export function runBare(binary: string, argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    child.stdout.resume();
    child.stderr.on("data", (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(binary)} exited ${code ?? signal}: ${tail.trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
}

/** Fails when bare ffmpeg wrote nothing at `file`; removes it. */
export function checkOutput(file: string): void {
  const size = existsSync(file) ? statSync(file).size : 0;
  if (size === 0) throw new Error(`bare ffmpeg wrote no output at ${file}`);
  rmSync(file, { force: true });
}
