/**
 * The deployment package's rules as checks over lists (empty = the rule holds): the packaging
 * test runs them on the package it built, and on mutated lists to show each one catches what
 * it is for.
 */
import ignore from "ignore";

/** What the package may hold at its root: the compiled app, the host's and npm's files, its dependencies and the media tools. */
const ALLOWED_ROOTS = ["dist/", "node_modules/", "tools/ffmpeg/", "host.json", "package.json", "package-lock.json"];
/** What dist/ may hold: the compiled functions and shared code, and the JSON they import. */
const ALLOWED_DIST = ["dist/functions/", "dist/shared/", "dist/docs/events/", "dist/topology/", "dist/retention/"];
/** Files the app cannot start without (the entry point, the host's configuration, the JSON required at load). */
const REQUIRED = [
  "host.json",
  "package.json",
  "dist/functions/index.js",
  "dist/topology/servicebus.json",
  "dist/retention/schedule.json",
  "dist/docs/events/evidence-ready.v1.schema.json",
  "dist/docs/events/evidence-updated.v1.schema.json",
  "dist/docs/events/evidence-failed.v1.schema.json",
  "node_modules/@azure/functions/package.json",
];

/**
 * Packages that run the tooling around the app — the compiler, tests, linters, the local stack
 * and the CLI — and must never ship to Azure, named for a clear message; anything else the
 * repository's lock marks `dev` (reachable only from devDependencies) is refused as well.
 */
export const TOOLING_PACKAGES = [
  "typescript",
  "jest",
  "ts-jest",
  "eslint",
  "prettier",
  "dependency-cruiser",
  "@asyncapi/parser",
  "peggy",
  "json-schema-to-ts",
  "azurite",
  "@vercel/cosmosdb-server",
  "selfsigned",
  "commander",
  "cli-progress",
  "jsonc-parser",
  "@ffmpeg-installer/ffmpeg",
  "@ffprobe-installer/ffprobe",
];

export function checkPackagedFiles(files: readonly string[]): string[] {
  const problems: string[] = [];
  const present = new Set(files);
  for (const file of REQUIRED) if (!present.has(file)) problems.push(`${file} is missing from the package`);
  for (const file of files) {
    if (!ALLOWED_ROOTS.some((root) => (root.endsWith("/") ? file.startsWith(root) : file === root))) problems.push(`${file} is not part of what the app runs`);
    else if (file.startsWith("dist/") && !ALLOWED_DIST.some((root) => file.startsWith(root))) problems.push(`${file}: dist/ holds only the app (functions, shared and the JSON they import)`);
    else if (file.endsWith(".ts") && !file.startsWith("node_modules/")) problems.push(`${file}: a source file in the package`);
  }
  return problems;
}

/** `files` without those a .funcignore with `rules` (gitignore syntax, as azd reads it) excludes. */
export function filterByFuncignore(files: readonly string[], rules: string): string[] {
  const matcher = ignore().add(rules);
  return files.filter((file) => !matcher.ignores(file));
}

interface LockFile {
  packages: Record<string, { version?: string; dev?: boolean; link?: boolean }>;
}

/** Installed packages that are tooling or that the repository's lock marks dev-only. */
export function devOnlyPackages(installed: readonly { name: string; location: string; version: string }[], rootLock: LockFile): string[] {
  const problems: string[] = [];
  for (const { name, location, version } of installed) {
    if (TOOLING_PACKAGES.includes(name)) {
      problems.push(`${location} (${name} ${version}) is tooling, not something the app runs`);
      continue;
    }
    const entries = Object.entries(rootLock.packages).filter(([key, entry]) => packageName(key) === name && entry.version === version);
    if (entries.length > 0 && entries.every(([, entry]) => entry.dev === true)) problems.push(`${location} (${name} ${version}) is a dev-only package`);
  }
  return problems;
}

/** Packages of the app's lock that the repository's lock does not have at the same version (so the tests never ran them). */
export function lockMismatches(appLock: LockFile, rootLock: LockFile): string[] {
  const versions = new Map<string, Set<string>>();
  for (const [key, entry] of Object.entries(rootLock.packages)) {
    if (key === "" || entry.version === undefined) continue;
    const name = packageName(key);
    versions.set(name, (versions.get(name) ?? new Set()).add(entry.version));
  }
  const problems: string[] = [];
  for (const [key, entry] of Object.entries(appLock.packages)) {
    if (key === "" || entry.link) continue;
    const name = packageName(key);
    if (!versions.get(name)?.has(entry.version ?? ""))
      problems.push(`${key} is ${entry.version} in app/package-lock.json; package-lock.json has ${[...(versions.get(name) ?? [])].join(", ") || "no such package"}`);
  }
  return problems;
}

function packageName(lockKey: string): string {
  return lockKey.slice(lockKey.lastIndexOf("node_modules/") + "node_modules/".length);
}
