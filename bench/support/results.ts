/** Where a bench keeps a run's figures: bench/results/<name>-<timestamp>.json (git-ignored; copy one to commit it). */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { environment } from "../types";

/** Writes `{ at, environment, [name]: data }`; returns the file's path. */
export function writeResultFile(name: string, data: Record<string, unknown>): string {
  const root = path.resolve(__dirname, "..", "..", ".."); // dist/bench/support/ → the repository
  const base = existsSync(path.join(root, "package.json")) ? root : process.cwd();
  const dir = path.join(base, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const file = path.join(dir, `${name}-${at.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify({ at, environment: environment(), [name]: data }, null, 2)}\n`);
  return file;
}
