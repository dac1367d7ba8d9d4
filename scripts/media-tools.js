#!/usr/bin/env node
/**
 * The ffmpeg and ffprobe of the deployed media app: one pinned static build
 * (scripts/ffmpeg-build.json), fetched at packaging time and verified by SHA-256 before it
 * goes into the package. azure.yaml runs it as the media service's `prepackage` hook:
 *
 *   node ../scripts/media-tools.js fetch   media app: app/tools/ffmpeg/{ffmpeg,ffprobe,build.json}
 *   node ../scripts/media-tools.js clean   core app: no media tools in its package
 *
 * The archive's digest and size are checked before it is unpacked, and each binary's digest
 * and size after; on any mismatch nothing is installed and the hook fails (so does the
 * deployment). Downloads are cached in .custody/cache/ffmpeg/ by digest. Where the machine
 * that deploys cannot reach the download, CUSTODY_FFMPEG_ARCHIVE names a local copy of the
 * same archive — it is checked against the same pin. Dependency-free (node and `tar`, which
 * must read .tar.xz: GNU tar with xz, or bsdtar).
 */
"use strict";
const { spawnSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { Readable } = require("node:stream");
const { pipeline } = require("node:stream/promises");

const ROOT = path.resolve(__dirname, "..");
const PIN_FILE = path.join(__dirname, "ffmpeg-build.json");
const TOOLS_DIR = path.join(ROOT, "app", "tools");
const BINARIES = ["ffmpeg", "ffprobe"];

function readPin(file = PIN_FILE) {
  const pin = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const [what, entry] of [["archive", pin.archive], ...BINARIES.map((name) => [name, pin.files?.[name]])]) {
    if (!entry || !/^[0-9a-f]{64}$/.test(entry.sha256 ?? "") || !Number.isInteger(entry.size)) throw new Error(`${file}: ${what} needs a sha256 (64 lower-case hex digits) and a size`);
  }
  return pin;
}

/** SHA-256 (hex) and size of a file, streamed. */
async function digestOf(file) {
  const hash = crypto.createHash("sha256");
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

/** Throws unless `file` has the pinned digest and size. */
async function verify(file, expected, what) {
  const actual = await digestOf(file);
  if (actual.sha256 !== expected.sha256 || actual.size !== expected.size) {
    throw new Error(`${what} does not match the pin: SHA-256 ${actual.sha256} (${actual.size} bytes), expected ${expected.sha256} (${expected.size} bytes) — refusing to use it`);
  }
}

/** The pinned archive as a local, verified file: CUSTODY_FFMPEG_ARCHIVE, the cache, or a download into the cache. */
async function obtainArchive(pin, { cacheDir = path.join(ROOT, ".custody", "cache", "ffmpeg"), localArchive = process.env.CUSTODY_FFMPEG_ARCHIVE } = {}) {
  if (localArchive) {
    await verify(localArchive, pin.archive, `CUSTODY_FFMPEG_ARCHIVE (${localArchive})`);
    return localArchive;
  }
  const cached = path.join(cacheDir, `${pin.archive.sha256}.tar.xz`);
  if (fs.existsSync(cached)) {
    await verify(cached, pin.archive, `the cached archive ${cached}`);
    return cached;
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const failures = [];
  for (const url of pin.urls) {
    const partial = `${cached}.${process.pid}.part`;
    try {
      const response = await globalThis.fetch(url, { redirect: "follow" });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      await pipeline(Readable.fromWeb(response.body), fs.createWriteStream(partial));
      await verify(partial, pin.archive, `the download from ${url}`);
      fs.renameSync(partial, cached);
      return cached;
    } catch (error) {
      fs.rmSync(partial, { force: true });
      failures.push(`${url}: ${error.message}`);
    }
  }
  throw new Error(`no verified copy of the pinned ffmpeg build could be fetched (${failures.join("; ")}); set CUSTODY_FFMPEG_ARCHIVE to a local copy of the same archive`);
}

/**
 * Unpacks the pinned binaries of a verified `archive` into `into` ({ffmpeg, ffprobe, build.json}),
 * each checked against the pin first. All or nothing: a failure leaves `into` absent.
 */
async function installBuild({ pin, archive, into }) {
  await verify(archive, pin.archive, `the archive ${archive}`);
  const scratch = fs.mkdtempSync(path.join(path.dirname(into), ".media-tools-"));
  try {
    const members = BINARIES.map((name) => pin.files[name].path);
    const tar = spawnSync("tar", ["-xJf", archive, "-C", scratch, ...members], { encoding: "utf8" });
    if (tar.status !== 0) throw new Error(`tar could not unpack ${members.join(", ")} from ${archive}: ${tar.error?.message ?? tar.stderr.trim()}`);
    const staged = path.join(scratch, "tools");
    fs.mkdirSync(staged);
    for (const name of BINARIES) {
      const extracted = path.join(scratch, ...pin.files[name].path.split("/"));
      await verify(extracted, pin.files[name], `${name} in the archive`);
      fs.renameSync(extracted, path.join(staged, name));
      fs.chmodSync(path.join(staged, name), 0o755);
    }
    // What ran is on every record (the binaries' `-version` line); this says where it came from.
    const record = {
      build: pin.build,
      version: pin.version,
      source: pin.source,
      archive: pin.archive,
      files: Object.fromEntries(BINARIES.map((name) => [name, { sha256: pin.files[name].sha256, size: pin.files[name].size }])),
    };
    fs.writeFileSync(path.join(staged, "build.json"), `${JSON.stringify(record, null, 2)}\n`);
    fs.rmSync(into, { recursive: true, force: true });
    fs.renameSync(staged, into);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return into;
}

async function main(argv) {
  const command = argv[0];
  if (command === "clean") {
    fs.rmSync(TOOLS_DIR, { recursive: true, force: true });
    return;
  }
  if (command !== "fetch") throw new Error("usage: media-tools.js fetch | clean");
  const pin = readPin();
  const into = path.join(TOOLS_DIR, "ffmpeg");
  fs.mkdirSync(TOOLS_DIR, { recursive: true });
  const archive = await obtainArchive(pin);
  await installBuild({ pin, archive, into });
  process.stdout.write(`Media tools: ${pin.build} verified (SHA-256) into ${path.relative(ROOT, into)}\n`);
}

module.exports = { readPin, digestOf, verify, obtainArchive, installBuild, PIN_FILE };

if (require.main === module) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`media-tools: ${error.message}\n`);
    process.exitCode = 1;
  });
}
