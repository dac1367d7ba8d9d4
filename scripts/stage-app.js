#!/usr/bin/env node
/**
 * Builds the Function apps' deployment folder, app/ (the folder azure.yaml deploys, twice):
 * compiles functions/ and shared/ — and only what they import: the event schemas in
 * docs/events/, topology/servicebus.json and retention/schedule.json — into app/dist, and copies host.json beside it.
 * Run by azd as app/'s `npm run build`, after azd's `npm install` there has installed the
 * app's own dependencies (app/package.json: what the functions load, nothing else).
 *
 * The compiler comes from the repository's dev dependencies: installed first (`npm ci` at the
 * root) when missing, so `azd up` works from a fresh clone. Dependency-free, like
 * scripts/ensure-installed.js. `--out <dir>` builds into another folder (the packaging test).
 */
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");

/** Compiles the app into `<outDir>/dist` and copies host.json; throws when the build fails. */
function stageApp({ root = ROOT, outDir = path.join(root, "app") } = {}) {
  const dist = path.join(outDir, "dist");
  // A clean build: nothing of an earlier layout (a moved or deleted module) may ship.
  fs.rmSync(dist, { recursive: true, force: true });
  const tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
  const result = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.app.json"), "--outDir", dist], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`the app build failed (tsc exit ${result.status ?? result.signal})`);
  fs.copyFileSync(path.join(root, "host.json"), path.join(outDir, "host.json"));
  return dist;
}

function main(argv) {
  const outIndex = argv.indexOf("--out");
  const outDir = outIndex >= 0 ? path.resolve(argv[outIndex + 1]) : undefined;
  if (!process.env.CUSTODY_ENSURE_INSTALLED) {
    const { installNeeded } = require("./ensure-installed");
    const reason = installNeeded(ROOT);
    if (reason !== undefined) {
      process.stderr.write(`Installing the repository's dependencies to build the app (npm ci): ${reason}.\n`);
      const npm = process.platform === "win32" ? "npm.cmd" : "npm";
      const install = spawnSync(npm, ["ci"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, CUSTODY_ENSURE_INSTALLED: "1" }, shell: process.platform === "win32" });
      if (install.status !== 0) throw new Error(`npm ci failed (exit ${install.status ?? install.signal})`);
    }
  }
  stageApp(outDir === undefined ? {} : { outDir });
}

module.exports = { stageApp };

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  }
}
