/**
 * Files at the project's root (host.json, topology/) found the same way from the TypeScript
 * sources (tests) and from the compiled dist/ (the CLI): walk up to the package.json named
 * `custody`, rather than guess how many folders up the root is.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "custody") return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the custody project root above ${from}`);
  }
}

let root: string | undefined;

/** Absolute path of a file under the project root. */
export function projectFile(...segments: string[]): string {
  root ??= findProjectRoot(__dirname);
  return path.join(root, ...segments);
}
