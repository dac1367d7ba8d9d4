/**
 * Finds the ffmpeg and ffprobe binaries and makes sure they can be executed.
 *
 * Where from, first match wins: the explicit option, `FFMPEG_PATH` / `FFPROBE_PATH`, then the
 * binaries shipped by `@ffmpeg-installer/ffmpeg` / `@ffprobe-installer/ffprobe` (required lazily,
 * so an override works on a platform those packages do not support). A relative
 * `FFMPEG_PATH` / `FFPROBE_PATH` is relative to the Functions app's folder (`AzureWebJobsScriptRoot`,
 * set by the Functions host; else the working directory): the deployed media app names the
 * build its package carries, `tools/ffmpeg/` (scripts/media-tools.js), wherever the package is
 * mounted.
 *
 * A binary with a `build.json` beside it (the pinned build's record, written by
 * scripts/media-tools.js) is checked against the SHA-256 recorded there before it is used: a
 * package altered after it was built fails the start instead of running an unknown ffmpeg.
 *
 * The installers set the exec bit in a postinstall script, which npm 11 may skip, and Flex
 * Consumption mounts the deployed package read-only, so the bit cannot be fixed in place. A
 * binary that is not executable (`fs.access(X_OK)`) is copied to
 * `<writableDir>/custody-media-bin-<hash>/` (default `os.tmpdir()`) and chmod'ed 0755 there.
 * The hash covers the source path, size and mtime, so a redeploy gets a fresh copy and
 * concurrent hosts share one. The copy is written to a temporary name and renamed, so a
 * concurrent starter never runs a half-written binary. The directory must be ours and not
 * writable by others (a shared /tmp must not let another user swap the binary we execute).
 *
 * Anything that cannot be made executable is a CustodyError("InvalidConfiguration") naming
 * the path and everything tried.
 */
import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants, createReadStream, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CustodyError } from "../../errors";

export type MediaBinaryName = "ffmpeg" | "ffprobe";

export interface MediaBinary {
  name: MediaBinaryName;
  /** The path that is executed. */
  path: string;
  /** Where the path came from: `option`, `FFMPEG_PATH`/`FFPROBE_PATH`, or the installer package. */
  source: string;
  /** Set when the original was not executable and `path` is a writable copy of it. */
  copiedFrom?: string;
  /** SHA-256 of the binary, set when it was checked against its build's record (build.json). */
  sha256?: string;
}

export interface LocateMediaBinariesOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Where FFMPEG_PATH / FFPROBE_PATH are read; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Parent of the `custody-media-bin-<hash>` copy directory; default `os.tmpdir()`. */
  writableDir?: string;
}

const INSTALLERS: Record<MediaBinaryName, { packageName: string; variable: string }> = {
  ffmpeg: { packageName: "@ffmpeg-installer/ffmpeg", variable: "FFMPEG_PATH" },
  ffprobe: { packageName: "@ffprobe-installer/ffprobe", variable: "FFPROBE_PATH" },
};

export async function locateMediaBinaries(options: LocateMediaBinariesOptions = {}): Promise<Record<MediaBinaryName, MediaBinary>> {
  const [ffmpeg, ffprobe] = await Promise.all([locateMediaBinary("ffmpeg", options.ffmpegPath, options), locateMediaBinary("ffprobe", options.ffprobePath, options)]);
  return { ffmpeg, ffprobe };
}

async function locateMediaBinary(name: MediaBinaryName, explicitPath: string | undefined, options: LocateMediaBinariesOptions): Promise<MediaBinary> {
  const { packageName, variable } = INSTALLERS[name];
  const env = options.env ?? process.env;
  const fromEnv = env[variable];
  let located: { path: string; source: string };
  if (explicitPath) located = { path: explicitPath, source: "option" };
  else if (fromEnv) located = { path: path.resolve(env.AzureWebJobsScriptRoot || process.cwd(), fromEnv), source: variable };
  else located = { path: installerPath(name), source: packageName };
  const binaryPath = path.resolve(located.path);
  const sha256 = await verifyAgainstBuildRecord(name, binaryPath, located.source);
  const binary = await ensureExecutable(name, binaryPath, located.source, options.writableDir ?? os.tmpdir());
  return sha256 === undefined ? binary : { ...binary, sha256 };
}

/** The pinned build's record beside a binary (scripts/media-tools.js writes it). */
interface BuildRecord {
  build?: string;
  files?: Partial<Record<MediaBinaryName, { sha256?: string }>>;
}

/**
 * When `build.json` sits beside the binary, the binary's SHA-256 must be the one it records;
 * returns the digest then (undefined without a record). A mismatch, or a record that names no
 * digest for this binary, is an InvalidConfiguration: the start fails.
 */
export async function verifyAgainstBuildRecord(name: MediaBinaryName, binaryPath: string, source: string): Promise<string | undefined> {
  const recordFile = path.join(path.dirname(binaryPath), "build.json");
  let record: BuildRecord;
  try {
    record = JSON.parse(await fs.readFile(recordFile, "utf8")) as BuildRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CustodyError("InvalidConfiguration", `${name}: ${recordFile} cannot be read: ${reason(error)}`, { cause: error });
  }
  const expected = record.files?.[name]?.sha256;
  if (typeof expected !== "string" || !/^[0-9a-f]{64}$/.test(expected)) {
    throw new CustodyError("InvalidConfiguration", `${name}: ${recordFile} records no SHA-256 for ${name}; refusing to run ${binaryPath} (from ${source}) unchecked`);
  }
  let actual: string;
  try {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(binaryPath)) hash.update(chunk as Buffer);
    actual = hash.digest("hex");
  } catch (error) {
    throw new CustodyError("InvalidConfiguration", `${name} binary ${binaryPath} (from ${source}) is unusable: ${reason(error)}`, { cause: error });
  }
  if (actual !== expected) {
    throw new CustodyError(
      "InvalidConfiguration",
      `${name} binary ${binaryPath} (from ${source}) is not the build its record names (${record.build ?? recordFile}): SHA-256 ${actual}, expected ${expected}`,
    );
  }
  return actual;
}

function installerPath(name: MediaBinaryName): string {
  const { packageName, variable } = INSTALLERS[name];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package is named at run time, and loading it may throw (caught below)
    const installed = require(packageName) as { path?: unknown };
    if (typeof installed.path === "string" && installed.path !== "") return installed.path;
    throw new Error("the package exports no path");
  } catch (error) {
    // The installers throw plain strings ("Could not find ffmpeg executable, tried …").
    const reason = error instanceof Error ? error.message : String(error);
    throw new CustodyError("InvalidConfiguration", `${name}: ${packageName} gave no binary (${reason}); set ${variable}`, {
      cause: error,
    });
  }
}

/**
 * Returns `binaryPath` when it is executable, else a 0755 copy in a private directory under
 * `writableDir`. Exported for tests and for hosts that bring their own binaries.
 */
export async function ensureExecutable(name: MediaBinaryName, binaryPath: string, source: string, writableDir: string): Promise<MediaBinary> {
  const tried: string[] = [];
  let size: number;
  let mtimeMs: number;
  try {
    const stat = await fs.stat(binaryPath);
    if (!stat.isFile()) throw new Error("not a regular file");
    size = stat.size;
    mtimeMs = stat.mtimeMs;
  } catch (error) {
    throw new CustodyError("InvalidConfiguration", `${name} binary ${binaryPath} (from ${source}) is unusable: ${reason(error)}`, {
      cause: error,
    });
  }
  try {
    await fs.access(binaryPath, fsConstants.X_OK);
    return { name, path: binaryPath, source };
  } catch (error) {
    tried.push(`${binaryPath} is not executable (${reason(error)})`);
  }

  const digest = createHash("sha256").update(`${binaryPath}\0${size}\0${mtimeMs}`).digest("hex").slice(0, 16);
  const directory = path.join(writableDir, `custody-media-bin-${digest}`);
  const copy = path.join(directory, path.basename(binaryPath));
  try {
    await privateDirectory(directory);
    if (!(await isExecutableCopy(copy, size))) {
      const temporary = `${copy}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      try {
        await fs.copyFile(binaryPath, temporary);
        await fs.chmod(temporary, 0o755);
        await fs.rename(temporary, copy);
      } finally {
        await fs.rm(temporary, { force: true });
      }
    }
    await fs.access(copy, fsConstants.X_OK);
    return { name, path: copy, source, copiedFrom: binaryPath };
  } catch (error) {
    tried.push(`copying it to ${copy} with mode 0755 failed (${reason(error)})`);
  }
  throw new CustodyError(
    "InvalidConfiguration",
    `${name} binary ${binaryPath} (from ${source}) cannot be executed: ${tried.join("; ")}. ` +
      `Make it executable, point ${INSTALLERS[name].variable} at an executable ${name}, or give a writable directory.`,
  );
}

/** Creates (if needed) and checks a directory for executables: ours, not writable by group or others — so no other user can swap what we execute. */
export async function privateDirectory(directory: string): Promise<void> {
  await fs.mkdir(directory, { recursive: true, mode: 0o700 });
  const stat = await fs.lstat(directory);
  if (!stat.isDirectory()) throw new Error(`${directory} is not a directory`);
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  if (uid !== undefined && stat.uid !== uid) throw new Error(`${directory} belongs to uid ${stat.uid}, not to this process (uid ${uid})`);
  if (process.platform !== "win32" && (stat.mode & 0o022) !== 0) {
    throw new Error(`${directory} is writable by others (mode ${(stat.mode & 0o777).toString(8)})`);
  }
}

async function isExecutableCopy(copy: string, size: number): Promise<boolean> {
  try {
    const stat = await fs.lstat(copy);
    if (!stat.isFile() || stat.size !== size) return false;
    await fs.access(copy, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
