/**
 * Builds a deployment package the way `azd deploy` does for a `host: function`, `language: ts`
 * service, so the tests load what Azure would run:
 *   restore  `npm install` in the service folder (here `npm ci --omit=dev`: the same packages,
 *            from the lock, and it refuses a lock that disagrees with package.json);
 *   build    the folder's `npm run build` (scripts/stage-app.js: compile, copy host.json);
 *   package  zip the folder minus what `.funcignore` lists, in gitignore syntax — with a
 *            .funcignore present azd keeps node_modules (without one it would leave it out).
 * The files .funcignore drops are then deleted from the folder, and the app is loaded from it:
 * a file the zip would not hold is really missing.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import ignore from "ignore";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const APP_DIR = path.join(REPO_ROOT, "app");

/** Runs a command; throws with its output when it fails. */
export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutInMs?: number }): string {
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: "utf8", timeout: options.timeoutInMs ?? 180_000 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.error?.message ?? result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** The service folder's manifest files, copied to `dir` (the rest is installed or built there). */
export function copyManifest(dir: string, from = APP_DIR): void {
  mkdirSync(dir, { recursive: true });
  for (const name of ["package.json", "package-lock.json", ".funcignore"]) cpSync(path.join(from, name), path.join(dir, name));
}

/** Production dependencies only, from the lock; no install scripts (none of the app's packages needs one). */
export function installProduction(dir: string): void {
  run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir });
}

/** Every file under `dir`, relative and with forward slashes (what a zip entry is named). */
export function listFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else files.push(child);
    }
  };
  walk("");
  return files;
}

/** The files azd puts in the zip: those `.funcignore` (gitignore syntax) does not match. */
export function packagedFiles(dir: string): string[] {
  const funcignore = path.join(dir, ".funcignore");
  const rules = ignore().add(existsSync(funcignore) ? readFileSync(funcignore, "utf8") : "");
  return listFiles(dir).filter((file) => !rules.ignores(file));
}

/**
 * Makes `dir` the package: deletes every file not in `files` (what .funcignore excludes), so
 * what is loaded from `dir` afterwards is exactly what the zip would hold. Returns the
 * package's size in bytes.
 */
export function pruneToPackage(dir: string, files: readonly string[]): number {
  const keep = new Set(files);
  for (const file of listFiles(dir)) if (!keep.has(file)) rmSync(path.join(dir, file));
  return files.reduce((bytes, file) => bytes + lstatSync(path.join(dir, file)).size, 0);
}

/** Every installed package under node_modules/ (nested ones too): name, location and version. */
export function installedPackages(dir: string): { name: string; location: string; version: string }[] {
  const found: { name: string; location: string; version: string }[] = [];
  const scan = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      const names = entry.name.startsWith("@") ? readdirSync(path.join(modules, entry.name)).map((inner) => `${entry.name}/${inner}`) : [entry.name];
      for (const name of names) {
        const location = path.join(modules, name);
        const manifest = path.join(location, "package.json");
        if (!existsSync(manifest)) continue;
        found.push({ name, location: path.relative(dir, location).split(path.sep).join("/"), version: (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version });
        scan(path.join(location, "node_modules"));
      }
    }
  };
  scan(path.join(dir, "node_modules"));
  return found;
}

/** Bytes as MiB with one decimal. */
export function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Removes a built package's temporary folder. Tens of thousands of files take seconds to a
 * minute to delete on a busy disk, and nothing waits for them: on POSIX an `rm -rf` of its own
 * finishes after the suite; elsewhere it is removed here.
 */
export function removeInBackground(dir: string): void {
  if (process.platform === "win32") {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  spawn("rm", ["-rf", dir], { detached: true, stdio: "ignore" }).unref();
}
