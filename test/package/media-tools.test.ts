/**
 * The packaging hook's check of the media app's ffmpeg build (scripts/media-tools.js), on a
 * local archive made here (no network): the pinned archive installs, verified; an archive or
 * a binary whose SHA-256 differs from the pin installs nothing.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";

interface PinEntry {
  sha256: string;
  size: number;
}
interface Pin {
  build: string;
  version: string;
  source?: string;
  urls: string[];
  archive: PinEntry;
  files: Record<"ffmpeg" | "ffprobe", PinEntry & { path: string }>;
}
const tools = require("../../scripts/media-tools.js") as {
  readPin: (file?: string) => Pin;
  installBuild: (options: { pin: Pin; archive: string; into: string }) => Promise<string>;
  obtainArchive: (pin: Pin, options: { cacheDir: string; localArchive?: string }) => Promise<string>;
};

let work: string;
let archive: string;
let pin: Pin;

const digest = (bytes: Buffer | string): PinEntry => ({ sha256: createHash("sha256").update(bytes).digest("hex"), size: Buffer.byteLength(bytes) });

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "custody-media-tools-"));
  // A stand-in build laid out like the real one: <name>/bin/ffmpeg and <name>/bin/ffprobe, packed as .tar.xz.
  const bin = path.join(work, "src", "ffmpeg-test-build", "bin");
  mkdirSync(bin, { recursive: true });
  const scripts = {
    ffmpeg: "#!/bin/sh\necho 'ffmpeg version n7.1-test Copyright (c) the FFmpeg developers'\n",
    ffprobe: "#!/bin/sh\necho 'ffprobe version n7.1-test Copyright (c) the FFmpeg developers'\n",
  };
  for (const [name, text] of Object.entries(scripts)) {
    writeFileSync(path.join(bin, name), text);
    chmodSync(path.join(bin, name), 0o644); // installBuild must make them executable
  }
  archive = path.join(work, "build.tar.xz");
  const tar = spawnSync("tar", ["-cJf", archive, "-C", path.join(work, "src"), "ffmpeg-test-build"], { encoding: "utf8" });
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
  pin = {
    build: "test build",
    version: "n7.1-test",
    urls: [],
    archive: digest(readFileSync(archive)),
    files: {
      ffmpeg: { path: "ffmpeg-test-build/bin/ffmpeg", ...digest(scripts.ffmpeg) },
      ffprobe: { path: "ffmpeg-test-build/bin/ffprobe", ...digest(scripts.ffprobe) },
    },
  };
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function target(name: string): string {
  const into = path.join(work, name, "ffmpeg");
  mkdirSync(path.dirname(into), { recursive: true });
  return into;
}

test("the pinned archive installs ffmpeg and ffprobe of that build, executable, with a record of where they came from", async () => {
  const into = target("good");
  await tools.installBuild({ pin, archive, into });
  for (const name of ["ffmpeg", "ffprobe"] as const) {
    expect(digest(readFileSync(path.join(into, name)))).toEqual({ sha256: pin.files[name].sha256, size: pin.files[name].size });
    const run = spawnSync(path.join(into, name), ["-version"], { encoding: "utf8" });
    expect(run.stdout).toContain(`${name} version n7.1-test`);
  }
  expect(JSON.parse(readFileSync(path.join(into, "build.json"), "utf8"))).toMatchObject({ build: "test build", version: "n7.1-test", archive: pin.archive });
});

test("an archive whose SHA-256 differs from the pin is refused before it is unpacked", async () => {
  const into = target("tampered-archive");
  const tampered = path.join(work, "tampered.tar.xz");
  const bytes = readFileSync(archive);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(tampered, bytes);
  await expect(tools.installBuild({ pin, archive: tampered, into })).rejects.toThrow(/does not match the pin: SHA-256 [0-9a-f]{64}/);
  expect(existsSync(into)).toBe(false);
});

test("a binary whose SHA-256 differs from the pin installs nothing, not even the other binary", async () => {
  const into = target("tampered-binary");
  const wrong: Pin = { ...pin, files: { ...pin.files, ffprobe: { ...pin.files.ffprobe, sha256: "0".repeat(64) } } };
  await expect(tools.installBuild({ pin: wrong, archive, into })).rejects.toThrow(/ffprobe in the archive does not match the pin/);
  expect(existsSync(into)).toBe(false);
  expect(existsSync(path.dirname(into)) && spawnSync("ls", ["-A", path.dirname(into)], { encoding: "utf8" }).stdout.trim()).toBe("");
});

test("a local copy (CUSTODY_FFMPEG_ARCHIVE) is checked against the same pin; nothing is downloaded", async () => {
  const cacheDir = path.join(work, "cache");
  await expect(tools.obtainArchive(pin, { cacheDir, localArchive: archive })).resolves.toBe(archive);
  const other: Pin = { ...pin, archive: { ...pin.archive, sha256: "f".repeat(64) } };
  await expect(tools.obtainArchive(other, { cacheDir, localArchive: archive })).rejects.toThrow(/CUSTODY_FFMPEG_ARCHIVE .* does not match the pin/);
  expect(existsSync(cacheDir)).toBe(false);
});

test("the committed pin names one archive with both binaries of one build, each with a full SHA-256 and size", () => {
  const real = tools.readPin();
  expect(real.urls.length).toBeGreaterThan(0);
  for (const url of real.urls) expect(url).toMatch(/^https:\/\//);
  const folders = new Set(Object.values(real.files).map((file) => file.path.split("/")[0]));
  expect(folders.size).toBe(1);
  expect(real.build).toContain(real.version);
  expect(() => tools.readPin(writeTemp({ ...real, archive: { sha256: real.archive.sha256.slice(0, 63), size: real.archive.size } }))).toThrow(/archive needs a sha256/);
});

function writeTemp(value: unknown): string {
  const file = path.join(work, `pin-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(value));
  return file;
}
