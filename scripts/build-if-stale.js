#!/usr/bin/env node
/**
 * Builds dist/ when a source is newer than its compiled file. The end-to-end tests run the CLI
 * and the dev host as processes from dist/ (as a user does): without this, a test run after
 * editing cli/ would test yesterday's build. Used as the e2e jest project's global setup; a
 * no-op after `npm test`'s own build. Dependency-free, like scripts/ensure-installed.js.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

/** What tsconfig.build.json compiles (its "include"), and the JSON the compiled code loads. */
const SOURCE_DIRS = ["cli", "local", "shared", "functions", "bench"];
const JSON_DIRS = ["topology"];

/** The first source under `root` whose compiled output in dist/ is missing or older, or undefined. */
function staleSource(root) {
  for (const dir of SOURCE_DIRS) {
    for (const source of files(root, dir, (name) => name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith(".test.ts"))) {
      if (olderOrMissing(path.join(root, "dist", source.replace(/\.ts$/, ".js")), path.join(root, source))) return source;
    }
  }
  for (const dir of JSON_DIRS) {
    for (const source of files(root, dir, (name) => name.endsWith(".json"))) {
      const compiled = path.join(root, "dist", source);
      // Only what the build copies (a JSON file some compiled module imports) is compared.
      if (fs.existsSync(compiled) && olderOrMissing(compiled, path.join(root, source))) return source;
    }
  }
  return undefined;
}

function files(root, dir, wanted) {
  const found = [];
  const walk = (relative) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(root, relative), { withFileTypes: true });
    } catch (error) {
      if (error && error.code === "ENOENT") return;
      throw error;
    }
    for (const entry of entries) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules") walk(child);
      } else if (wanted(entry.name)) found.push(child);
    }
  };
  walk(dir);
  return found;
}

function olderOrMissing(compiled, source) {
  let compiledTime;
  try {
    compiledTime = fs.statSync(compiled).mtimeMs;
  } catch (error) {
    if (error && error.code === "ENOENT") return true;
    throw error;
  }
  return compiledTime < fs.statSync(source).mtimeMs;
}

/** Builds when stale; throws when the build fails. */
function buildIfStale(root = path.resolve(__dirname, "..")) {
  const stale = staleSource(root);
  if (stale === undefined) return false;
  process.stderr.write(`\nBuilding dist/ (${stale} changed since the last build)…\n`);
  const tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
  const result = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`the build failed (tsc exit ${result.status ?? result.signal}); the end-to-end tests run dist/`);
  return true;
}

module.exports = { staleSource, buildIfStale };

if (require.main === module) {
  try {
    buildIfStale();
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  }
}
