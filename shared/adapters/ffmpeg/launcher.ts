/**
 * The launcher script fluent-ffmpeg spawns in place of ffmpeg. fluent-ffmpeg has no `env`
 * option (it always spawns with `process.env`), so its ffmpeg path is set to this script, which
 * runs ffmpeg with the minimal environment (environment.ts). It is written at start into a
 * private directory (`<writableDir>/custody-media-launcher-<uid>/ffmpeg-env-<hash>.sh`: ours,
 * mode 0700, not writable by group or others — the checks media-binaries.ts makes for its copies):
 *     #!/bin/sh
 *     exec /usr/bin/env -i 'PATH=…' … 'GCONV_PATH=/dev/null/custody-no-gconv' '/real/ffmpeg' "$@"
 * - the values are the host's at start, shell-quoted (a proxy URL with a password lands in
 *   that 0700 file); the hash covers the content, so another environment or binary gets another
 *   file, and one that is missing or differs from what it should be is rewritten (temporary
 *   name, then rename) — at start and again before every run. The script replaces itself with
 *   `env`, which replaces itself with ffmpeg: the pid fluent-ffmpeg (and our SIGKILL) sees is
 *   ffmpeg's, and so are the exit code and signal;
 * - `/usr/bin/env` when it is executable, else the first executable `env` on the host's `PATH`
 *   at start (an absolute path either way; `FfmpegMediaTool.ffmpegLauncher` says which).
 *   None, a real ffmpeg path containing `=` (env would read it as an assignment) or a launcher
 *   that cannot be written is InvalidConfiguration at start: ffmpeg never runs with the host's
 *   environment. The launcher's `-version` must print what ffmpeg's does (media-tool.ts);
 * - fluent-ffmpeg spawns everything ffmpeg through it, its `-formats` / `-encoders` queries too.
 *   The argv it gets is ffmpeg's own (`"$@"`), so its `start` event, the comparison with the
 *   built vector and the recorded `arguments` are unchanged; a failure to start names the real
 *   ffmpeg and the launcher; exit codes 126/127 (env could not execute ffmpeg) say so;
 * - on Windows (not a target) there is no launcher: ffmpeg gets the host's environment;
 * - ffmpeg's stdin is an unused pipe instead of /dev/null; `-nostdin` keeps it unread.
 */
import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants, promises as fs } from "node:fs";
import * as path from "node:path";
import { CustodyError } from "../../errors";
import { privateDirectory, type MediaBinary } from "./media-binaries";

/** The launcher script (see the file header). */
export interface FfmpegLauncher {
  /** The script, `<writableDir>/custody-media-launcher-<uid>/ffmpeg-env-<hash>.sh`. */
  readonly path: string;
  /** The `env` it runs: `/usr/bin/env`, or the one found on the host's PATH when that is missing. */
  readonly envUtility: string;
  /** The ffmpeg it runs (`binaries.ffmpeg.path`). */
  readonly ffmpeg: string;
}

export interface LauncherScript extends FfmpegLauncher {
  readonly content: string;
}

/**
 * Writes (or reuses) the launcher script that runs `ffmpeg` with exactly `env` (see the file
 * header). Fails with InvalidConfiguration rather than let ffmpeg run with the host's environment.
 */
export async function createFfmpegLauncher(ffmpegBinary: MediaBinary, env: NodeJS.ProcessEnv, writableDir: string): Promise<LauncherScript> {
  const target = path.resolve(ffmpegBinary.path);
  const fail = (why: string, cause?: unknown) => new CustodyError("InvalidConfiguration", `ffmpeg (${target}) cannot be given a minimal environment: ${why}`, { cause });
  if (target.includes("=")) throw fail("its path contains `=`, which env(1) would read as a variable assignment; move or link it");
  const envUtility = await findEnvUtility();
  if (!envUtility) throw fail("there is no executable /usr/bin/env and no `env` on PATH");
  const assignments = Object.entries(env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => shellQuote(`${name}=${value}`));
  const content =
    "#!/bin/sh\n" +
    "# Written by Custody (shared/adapters/ffmpeg/launcher.ts): runs ffmpeg with a minimal environment; fluent-ffmpeg cannot set one.\n" +
    `exec ${shellQuote(envUtility)} -i ${assignments.join(" ")} ${shellQuote(target)} "$@"\n`;
  const digest = createHash("sha256").update(content).digest("hex").slice(0, 16);
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  const launcher = path.join(writableDir, `custody-media-launcher-${uid}`, `ffmpeg-env-${digest}.sh`);
  try {
    await installLauncher(launcher, content);
  } catch (error) {
    throw fail(`writing the launcher script ${launcher} (mode 0700) failed (${error instanceof Error ? error.message : String(error)})`, error);
  }
  return { path: launcher, envUtility, ffmpeg: target, content };
}

/**
 * Makes `file` the launcher with `content` unless it already is: at start, and before every
 * run (a temp cleaner may have removed it, and fluent-ffmpeg 2.1.3 throws an uncaught
 * TypeError when the spawn itself fails, ENOENT included).
 */
export async function installLauncher(file: string, content: string): Promise<void> {
  await privateDirectory(path.dirname(file));
  if (!(await isLauncher(file, content))) {
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await fs.writeFile(temporary, content, { mode: 0o700, flag: "wx" });
      await fs.chmod(temporary, 0o700); // the umask may have taken bits away
      await fs.rename(temporary, file);
    } finally {
      await fs.rm(temporary, { force: true });
    }
  }
  await fs.access(file, fsConstants.X_OK);
}

/** `/usr/bin/env` if it is executable, else the first executable `env` on the host's PATH, else undefined. */
async function findEnvUtility(): Promise<string | undefined> {
  const candidates = ["/usr/bin/env"];
  for (const directory of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (path.isAbsolute(directory)) candidates.push(path.join(directory, "env"));
  }
  for (const candidate of candidates) {
    try {
      if (!(await fs.stat(candidate)).isFile()) continue;
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Whether `file` already is the launcher: a regular file of ours, mode 0700, with exactly `content`. */
async function isLauncher(file: string, content: string): Promise<boolean> {
  try {
    const stat = await fs.lstat(file);
    const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
    if (!stat.isFile() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o777) !== 0o700) return false;
    return (await fs.readFile(file, "utf8")) === content;
  } catch {
    return false;
  }
}

/** One shell word: single-quoted, each `'` as `'\''`. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}
