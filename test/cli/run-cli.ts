/**
 * Runs the `custody` CLI (bin/custody.js → dist/) as a user would, capturing its output. The e2e
 * project's global setup rebuilds dist/ first when a source changed (scripts/build-if-stale.js),
 * so this runs the current sources.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

export const CUSTODY_BIN = path.resolve(__dirname, "..", "..", "bin", "custody.js");

export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CUSTODY_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
