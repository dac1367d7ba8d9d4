#!/usr/bin/env node
/**
 * Runs before `npm start` and `npm test`: installs the dependencies (`npm ci`) when they are
 * missing or do not match package-lock.json, so both commands work on a fresh clone and after
 * a pull that changed the lock file. Dependency-free on purpose: it runs before anything is
 * installed.
 *
 * "Do not match" compares package-lock.json with the record npm keeps of what it installed
 * (node_modules/.package-lock.json), package by package — not file times, which a git checkout
 * or a second work tree changes without changing a dependency. Optional packages for other
 * platforms (the ffmpeg/ffprobe binaries of other systems) are never installed, so their absence
 * is fine.
 *
 * `npm ci` runs `prepare` (the build), never `test` or `start`; CUSTODY_ENSURE_INSTALLED marks
 * the install so that, should a lifecycle script ever call back into this file, it does nothing.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const GUARD = "CUSTODY_ENSURE_INSTALLED";

/** Why `npm ci` is needed in `root`, or undefined when node_modules matches package-lock.json. */
function installNeeded(root) {
  const lock = readJson(path.join(root, "package-lock.json"));
  if (lock === undefined) return undefined; // nothing to install from (not a checkout of the project)
  if (!fs.existsSync(path.join(root, "node_modules"))) return "node_modules is missing";
  const installed = readJson(path.join(root, "node_modules", ".package-lock.json"));
  if (installed === undefined || typeof installed.packages !== "object" || installed.packages === null) return "node_modules was not installed by npm from package-lock.json";
  for (const [location, wanted] of Object.entries(lock.packages ?? {})) {
    if (location === "" || wanted.link) continue;
    const have = installed.packages[location];
    if (have === undefined) {
      if (wanted.optional) continue;
      return `${packageName(location)} ${wanted.version} is not installed`;
    }
    if (have.version !== wanted.version) return `${packageName(location)} is ${have.version} in node_modules, ${wanted.version} in package-lock.json`;
  }
  return undefined;
}

function packageName(location) {
  return location.slice(location.lastIndexOf("node_modules/") + "node_modules/".length);
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    if (error && error.code === "ENOENT") return undefined;
    if (error instanceof SyntaxError) return undefined; // a torn file: install again
    throw error;
  }
}

/** The npm that runs this script (npm_execpath), else the one on the PATH. */
function npmCommand() {
  const execPath = process.env.npm_execpath;
  if (execPath && /\.[cm]?js$/.test(execPath)) return { command: process.execPath, args: [execPath] };
  return { command: process.platform === "win32" ? "npm.cmd" : "npm", args: [] };
}

function main() {
  if (process.env[GUARD]) return 0;
  const root = path.resolve(__dirname, "..");
  const reason = installNeeded(root);
  if (reason === undefined) return 0;
  process.stderr.write(`Installing dependencies (npm ci): ${reason}.\n`);
  const npm = npmCommand();
  const result = spawnSync(npm.command, [...npm.args, "ci"], { cwd: root, stdio: "inherit", env: { ...process.env, [GUARD]: "1" }, shell: process.platform === "win32" });
  if (result.error) {
    process.stderr.write(`npm ci could not start: ${result.error.message}\n`);
    return 1;
  }
  return result.status ?? 1;
}

module.exports = { installNeeded };

if (require.main === module) process.exitCode = main();
