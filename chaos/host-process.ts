/**
 * The functions host as its own process (`custody dev-host` on the compiled dist/), so the fault
 * suite can SIGKILL it at any moment — no settlement, no cleanup, as a crashed or evicted
 * worker — and start a fresh one. Its logs go to a file beside the scenario's data.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { projectFile } from "../local/project-files";

export interface HostProcess {
  /** Hosts started so far (1 after the first start). */
  readonly starts: number;
  readonly running: boolean;
  start(): void;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (the host drains and settles what it holds), then SIGKILL after `graceInMs`. */
  stop(graceInMs?: number): Promise<void>;
}

export interface StartHostProcessOptions {
  /** The settings the host reads (the stack's `environment`: through the fault proxies). */
  environment: Record<string, string>;
  /** File the host's stdout and stderr are appended to. */
  logFile: string;
}

/** Hosts still running when this process exits (a harness error, Ctrl-C) are killed with it, not left behind. */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export function hostProcess(options: StartHostProcessOptions): HostProcess {
  const bin = projectFile("bin", "custody.js");
  let child: ChildProcess | undefined;
  let starts = 0;
  const exited = (process: ChildProcess): Promise<void> =>
    process.exitCode !== null || process.signalCode !== null ? Promise.resolve() : new Promise((resolve) => process.once("exit", () => resolve()));
  return {
    get starts() {
      return starts;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    start() {
      const fd = openSync(options.logFile, "a");
      try {
        child = spawn(process.execPath, [bin, "dev-host"], { env: { ...process.env, ...options.environment }, stdio: ["ignore", fd, fd] });
      } finally {
        closeSync(fd);
      }
      starts++;
      const started = child;
      running.add(started);
      started.once("exit", () => running.delete(started));
    },
    async kill() {
      if (!child) return;
      const current = child;
      current.kill("SIGKILL");
      await exited(current);
    },
    async stop(graceInMs = 10_000) {
      if (!child) return;
      const current = child;
      const timer = setTimeout(() => current.kill("SIGKILL"), graceInMs);
      current.kill("SIGTERM");
      await exited(current);
      clearTimeout(timer);
    },
  };
}
