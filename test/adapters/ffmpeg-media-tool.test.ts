/**
 * The ffmpeg media tool against the real binaries (@ffmpeg-installer/ffmpeg,
 * @ffprobe-installer/ffprobe) on the fixtures and on media generated with lavfi.
 *
 * "Read nothing" for crafted uploads is proven with a FIFO: the playlist/concat script points
 * at a named pipe, and the test keeps an open-for-writing pending on it. Opening a FIFO for
 * writing completes exactly when some process opens it for reading, so if ffmpeg/ffprobe ever
 * opened the referenced file — even without reading a byte — the pending open resolves (and
 * the tool would then block reading it until the timeout). Unlike atime this does not depend
 * on relatime/noatime mounts or on a read actually happening, and unlike strace it needs no
 * ptrace rights. A positive control runs the same crafted files through the binaries without
 * the allow-lists and sees the FIFO opened.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as fs from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as vm from "node:vm";
import { CustodyError } from "../../shared/errors";
import { MediaToolError } from "../../shared/adapters/ffmpeg/failures";
import { ALLOWED_DEMUXERS } from "../../shared/adapters/ffmpeg/arguments";
import { createFfmpegMediaTool, type FfmpegMediaTool } from "../../shared/adapters/ffmpeg/media-tool";
import { classify, meaningfulLines } from "../../shared/adapters/ffmpeg/stderr-classification";
import { mediaRunLimits } from "../../shared/media/run-limits";
import { planThumbnails } from "../../shared/media/thumbnail-plan";
import type { MediaInput } from "../../shared/ports/media-tool";

const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "media");
const fixture = (name: string): MediaInput => ({ kind: "file", path: path.join(FIXTURES, name) });
const quick = { timeoutInMs: 15_000 };

let tool: FfmpegMediaTool;
let work: string;
let clip: string; // 2 s 320x240 testsrc2 + sine, H.264/AAC, faststart
let long: string; // 30 s 160x120 testsrc2, for timeout and abort

beforeAll(async () => {
  tool = await createFfmpegMediaTool();
  work = await fsp.mkdtemp(path.join(os.tmpdir(), "custody-media-test-"));
  clip = path.join(work, "clip.mp4");
  long = path.join(work, "long.mp4");
  const ffmpeg = tool.binaries.ffmpeg.path;
  const generate = (args: string[]) => execFileSync(ffmpeg, ["-hide_banner", "-nostdin", "-v", "error", "-y", ...args], { stdio: "pipe" });
  generate([
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=25:duration=2",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000:duration=2",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
    "-movflags",
    "+faststart",
    clip,
  ]);
  generate(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=30", "-c:v", "libx264", "-preset", "ultrafast", long]);
});

afterAll(async () => {
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<MediaToolError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CustodyError);
    return error as MediaToolError;
  }
  throw new Error("expected a rejection");
}

async function script(name: string, body: string): Promise<string> {
  const file = path.join(work, name);
  await fsp.writeFile(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

test("versions are the first line of `-version`", async () => {
  const versions = await tool.versions();
  expect(versions.ffmpeg).toMatch(/^ffmpeg version \S+/);
  expect(versions.ffprobe).toMatch(/^ffprobe version \S+/);
  expect(versions.ffmpeg).not.toContain("\n");
});

test("versions are read for each run: after ffmpeg is replaced under a running host, provenance names the new one", async () => {
  const file = await script("replaceable-ffmpeg", 'echo "ffmpeg version 6.1-before-upgrade"');
  const replaceable = await createFfmpegMediaTool({ ffmpegPath: file });
  expect((await replaceable.versions()).ffmpeg).toBe("ffmpeg version 6.1-before-upgrade");
  await fsp.writeFile(file, '#!/bin/sh\necho "ffmpeg version 7.1-after-upgrade"\n', { mode: 0o755 });
  expect((await replaceable.versions()).ffmpeg).toBe("ffmpeg version 7.1-after-upgrade");
  // A binary that stopped running is the deployment's problem, not the recording's: retryable.
  await fsp.writeFile(file, "#!/bin/sh\nexit 3\n", { mode: 0o755 });
  await expect(replaceable.versions()).rejects.toMatchObject({ code: "InvalidConfiguration", retryable: true });
});

describe("probe on the fixtures", () => {
  test("phone clip: HEVC, rotation 90, mett track, audio", async () => {
    const probe = await tool.probe(fixture("exo_phone_hevc_mett_track_rot90.mp4"), quick);
    expect(probe).toMatchObject({ primaryVideoIndex: 2, primaryAudioIndex: 1, dataTracks: ["mett"], location: "+51.5932-0.2431/" });
    expect(probe.streams[2]).toMatchObject({ codec: "hevc", rotation: 90, width: 1920, height: 1080 });
  });

  test("GoPro: GPMF and timecode tracks recorded", async () => {
    const probe = await tool.probe(fixture("gopro_max_heromode_gpmf.mp4"), quick);
    expect(probe).toMatchObject({ primaryVideoIndex: 0, primaryAudioIndex: 1, dataTracks: ["tmcd", "gpmd", "fdsc"], device: { make: "GoPro" } });
  });

  test("fragmented MP4 and audio-only M4A", async () => {
    await expect(tool.probe(fixture("exo_fragmented_fmp4.mp4"), quick)).resolves.toMatchObject({ primaryVideoIndex: 0, primaryAudioIndex: 1 });
    const audio = await tool.probe(fixture("ft_aac_audio_only.m4a"), quick);
    expect(audio.primaryVideoIndex).toBeUndefined();
    expect(audio.primaryAudioIndex).toBe(0);
  });

  test("HEVC in MPEG-TS probes (the static ffprobe segfaults on it without GCONV_PATH pointing nowhere)", async () => {
    const probe = await tool.probe(fixture("exo_mpegts_hevc.ts"), quick);
    expect(probe).toMatchObject({ container: "mpegts", primaryVideoIndex: 0 });
    // The same binary with the host's environment: on a glibc host with iconv modules it dies
    // by SIGSEGV (observed here); the assertion only pins that the adapter is what differs.
    const bare = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      const child = spawn(tool.binaries.ffprobe.path, ["-v", "error", "-show_streams", "-of", "json", path.join(FIXTURES, "exo_mpegts_hevc.ts")], {
        stdio: "ignore",
        env: { ...process.env, GCONV_PATH: undefined },
      });
      child.on("close", (code, signal) => resolve({ code, signal }));
    });
    expect([0, null]).toContain(bare.code);
    if (bare.signal) expect(bare.signal).toBe("SIGSEGV");
  });

  test.each([
    ["ft_mov_truncated_moov.mov", /error reading header|Invalid data found when processing input/],
    ["ft_mkv_corrupt_ebml.mkv", /EBML header parsing failed/],
  ])("%s → UnsupportedMedia, not retried, with the stderr tail", async (name, pattern) => {
    const error = await rejection(tool.probe(fixture(name), quick));
    expect(error).toBeInstanceOf(MediaToolError);
    expect(error).toMatchObject({ code: "UnsupportedMedia", retryable: false, tool: "ffprobe", exitCode: 1 });
    expect(error.message).toMatch(pattern);
    expect(error.message).toMatch(/Invalid data found when processing input/); // the last line
    expect(error.stderrTail).toMatch(pattern);
    expect(error.arguments).toEqual(expect.arrayContaining(["-protocol_whitelist", "file", "-format_whitelist"]));
  });
});

describe("run", () => {
  test("a tiny transcode, confirmed by probing the output; arguments and progress reported", async () => {
    const output = path.join(work, "proxy.mp4");
    const fractions: number[] = [];
    const result = await tool.run(
      { kind: "file", path: clip },
      ["-map", "0:v:0", "-map", "0:a:0", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", output],
      { timeoutInMs: 20_000, onProgress: (fraction) => fractions.push(fraction) },
    );
    expect(result.arguments.slice(0, 3)).toEqual(["-hide_banner", "-nostdin", "-y"]);
    expect(result.arguments).toEqual(expect.arrayContaining(["-protocol_whitelist", "file", "-i", `file:${clip}`, output]));
    expect(result.arguments.indexOf("-format_whitelist")).toBeLessThan(result.arguments.indexOf("-i"));
    expect(result.stderrTail).toMatch(/Output #0, mp4/);
    expect(result.stderrTail.split("\n").length).toBeLessThanOrEqual(40);
    expect(fractions.at(-1)).toBe(1);
    const probe = await tool.probe({ kind: "file", path: output }, quick);
    expect(probe.streams[probe.primaryVideoIndex!]).toMatchObject({ codec: "h264", width: 320, height: 240, pixelFormat: "yuv420p" });
    expect(probe.streams[probe.primaryAudioIndex!]).toMatchObject({ codec: "aac" });
    expect(probe.durationInSeconds).toBeGreaterThan(1.9);
    expect(probe.durationInSeconds).toBeLessThan(2.2);
  });

  test("a failing run names the last meaningful stderr line and is not retried", async () => {
    const error = await rejection(tool.run(fixture("ft_aac_audio_only.m4a"), ["-map", "0:v:0", "-frames:v", "1", path.join(work, "x.jpg")], quick));
    expect(error).toMatchObject({ code: "UnsupportedMedia", retryable: false, tool: "ffmpeg" });
    expect(error.message).toMatch(/Stream map '0:v:0' matches no streams/);
  });

  test("a stall window that is not a positive number is refused before anything runs", async () => {
    for (const stallTimeoutInMs of [0, -1, Number.NaN]) {
      await expect(tool.run({ kind: "file", path: clip }, ["-f", "null", "-"], { ...quick, stallTimeoutInMs })).rejects.toMatchObject({ code: "Internal", retryable: false });
    }
  });

  test("a second input is refused (it would escape the allow-lists)", async () => {
    await expect(tool.run({ kind: "file", path: clip }, ["-i", "/etc/passwd", "-f", "null", "-"], quick)).rejects.toMatchObject({ retryable: false });
  });

  test("the timeout kills a long run with SIGKILL and says so", async () => {
    const started = Date.now();
    const error = await rejection(tool.run({ kind: "file", path: long }, ["-vf", "realtime", "-f", "null", "-"], { timeoutInMs: 500 }));
    expect(error).toMatchObject({ code: "Transient", retryable: true, signal: "SIGKILL" });
    expect(error.message).toMatch(/timed out after 500 ms.*SIGKILL/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test("abort kills the run; an already-aborted signal starts nothing", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("lock lost")), 300);
    const started = Date.now();
    const error = await rejection(tool.run({ kind: "file", path: long }, ["-vf", "realtime", "-f", "null", "-"], { timeoutInMs: 20_000, abortSignal: controller.signal }));
    expect(error).toMatchObject({ code: "Transient", signal: "SIGKILL" });
    expect(error.message).toMatch(/aborted \(lock lost\)/);
    expect(Date.now() - started).toBeLessThan(5_000);
    const again = await rejection(tool.probe({ kind: "file", path: clip }, { timeoutInMs: 5_000, abortSignal: controller.signal }));
    expect(again).toMatchObject({ code: "Transient", exitCode: null, signal: null });
  });
});

describe("reading stderr", () => {
  const file: MediaInput = { kind: "file", path: "/x.mts" };
  const avchd = [
    "[h264] [error] non-existing PPS 0 referenced",
    "[info]   Stream #0:1: Audio: ac3, 0 Hz, 0 channels",
    "[info]     title           : encrypted with DRM, timed out", // the file's own metadata
    "[Parsed_anull_0] [error] Error configuring filter graph",
    "[fatal] Conversion failed!",
  ];

  test("the last error lines, without generic closers (the cause is often last)", () => {
    expect(meaningfulLines(avchd)).toEqual(["[h264] non-existing PPS 0 referenced", "[Parsed_anull_0] Error configuring filter graph"]);
    expect(meaningfulLines(avchd, 1)).toEqual(["[Parsed_anull_0] Error configuring filter graph"]);
    expect(meaningfulLines(["plain line one", "plain line two", ""], 1)).toEqual(["plain line two"]);
  });

  test("classification ignores info lines, which echo the file's metadata", () => {
    expect(classify(avchd, file)).toBe("Internal");
    expect(classify(avchd, { kind: "url", url: "https://a/b" })).toBe("Internal");
    expect(classify(["[mov] [error] moov atom not found"], file)).toBe("UnsupportedMedia");
    expect(classify(["[error] Decoder (codec ac4) not found for input stream #0:1"], file)).toBe("UnsupportedMedia");
    expect(classify(["[error] https://a/b: Server returned 503 Service Unavailable"], { kind: "url", url: "https://a/b" })).toBe("Transient");
    expect(classify(["[error] https://a/b: Server returned 403 Forbidden (access denied)"], { kind: "url", url: "https://a/b" })).toBe("AccessDenied");
    expect(classify(["moov atom not found"], file)).toBe("UnsupportedMedia"); // a build without level tags
  });

  test("bytes that are not audio, named .mp3: the mp3 demuxer's failed seek is UnsupportedMedia (final), not Internal (retried)", async () => {
    // 16 KiB of deterministic pseudo-random bytes: ffprobe picks the mp3 demuxer from the name,
    // finds no frame and fails with "Failed to read frame size: Could not seek to …: Invalid argument".
    const chunks: Buffer[] = [];
    for (let i = 0; chunks.length * 32 < 16384; i++) chunks.push(createHash("sha256").update(`not-audio:${i}`).digest());
    const file = path.join(work, "not-audio.mp3");
    await fsp.writeFile(file, Buffer.concat(chunks));
    const failure = await tool.probe({ kind: "file", path: file }, { timeoutInMs: 20_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(MediaToolError);
    expect(failure).toMatchObject({ code: "UnsupportedMedia", retryable: false });
    expect((failure as Error).message).toMatch(/Failed to read frame size|Invalid data found/);
  });
});

describe("fake binaries", () => {
  test("a probe killed by a signal reports the signal and the stderr tail, not a hang", async () => {
    const crashing = await script("crashing-ffprobe", 'if [ "$1" = "-hide_banner" ] && [ "$2" = "-version" ]; then echo "ffprobe version fake"; exit 0; fi\necho "reading the PMT" >&2\nkill -SEGV $$');
    const fake = await createFfmpegMediaTool({ env: { FFPROBE_PATH: crashing } });
    expect((await fake.versions()).ffprobe).toBe("ffprobe version fake");
    const error = await rejection(fake.probe({ kind: "file", path: clip }, quick));
    expect(error).toMatchObject({ code: "MediaToolCrashed", retryable: false, signal: "SIGSEGV", exitCode: null });
    expect(error.message).toMatch(/killed by signal SIGSEGV \(crashed\).*reading the PMT/);
  });

  test("an oversized probe output is refused, not parsed", async () => {
    const small = await createFfmpegMediaTool({ maxProbeOutputBytes: 200 });
    await expect(small.probe(fixture("gopro_max_heromode_gpmf.mp4"), quick)).rejects.toMatchObject({ code: "UnsupportedMedia", message: expect.stringMatching(/exceeds 200 bytes/) });
  });

  test("the child gets GCONV_PATH pointing nowhere and none of the host's secrets", async () => {
    const reporting = await script(
      "env-ffprobe",
      'if [ "$2" = "-version" ]; then echo "ffprobe version env"; exit 0; fi\n' +
        'printf \'{"format":{"format_name":"fake"},"streams":[{"index":0,"codec_type":"data","tags":{"handler_name":"%s|%s"}}]}\' "$GCONV_PATH" "${EvidenceStorage:-withheld}"',
    );
    const fake = await createFfmpegMediaTool({ env: { ...process.env, FFPROBE_PATH: reporting, EvidenceStorage: "AccountKey=secret" } });
    const probe = await fake.probe({ kind: "file", path: clip }, quick);
    const [gconv, secret] = probe.streams[0].handlerName!.split("|");
    expect(fs.existsSync(gconv)).toBe(false);
    expect(secret).toBe("withheld");
  });
});

describe("ffmpeg's environment (fluent-ffmpeg spawns the launcher, which clears it)", () => {
  // jest gives the test a copy of process.env; children spawned without `env` (as fluent-ffmpeg
  // spawns ffmpeg) inherit the real one. Secrets are set on both, and a control shows they
  // would reach a child spawned the way fluent-ffmpeg does it.
  const realEnv = (vm.runInThisContext("process") as NodeJS.Process).env;
  const SECRET = "CUSTODY_TEST_SECRET";
  const secretValue = "DefaultEndpointsProtocol=https;AccountKey=c2VjcmV0";

  function setHostVariable(name: string, value: string): void {
    realEnv[name] = value;
    process.env[name] = value;
  }

  afterEach(() => {
    for (const name of [SECRET, "FFREPORT"]) {
      delete realEnv[name];
      delete process.env[name];
    }
  });

  /** A fake ffmpeg appending `=== <argv>` and its environment to `log` on every start; `-version` prints a version. */
  async function envFfmpeg(name: string, log: string): Promise<string> {
    return script(
      name,
      `{ echo "=== $*"; env; } >> '${log}'\n` + 'if [ "$2" = "-version" ]; then echo "ffmpeg version env-fake"; fi\n' + 'for last; do :; done; [ "$last" = "pipe:1" ] && echo "progress=end"\nexit 0',
    );
  }

  /** The log as one `{ argv, env }` per start. */
  async function starts(log: string): Promise<Array<{ argv: string; env: string[] }>> {
    const text = await fsp.readFile(log, "utf8");
    return text
      .split(/^=== /m)
      .slice(1)
      .map((section) => {
        const [argv, ...env] = section.split("\n");
        return { argv, env: env.filter((line) => line !== "") };
      });
  }

  test("a secret and FFREPORT in the host's environment do not reach ffmpeg, its capability queries or the -version checks", async () => {
    setHostVariable(SECRET, secretValue);
    setHostVariable("FFREPORT", `file=${path.join(work, "report-%p.log")}`);

    // Control: a child spawned without `env` sees both.
    const inherited = execFileSync("env").toString();
    expect(inherited).toContain(`${SECRET}=${secretValue}`);
    expect(inherited).toContain("FFREPORT=");

    // A fresh adapter and fluent-ffmpeg, so that fluent-ffmpeg's process-wide capability
    // queries (`-formats`, `-encoders`) are not cached yet and run on the fake.
    let isolated!: { adapter: typeof import("../../shared/adapters/ffmpeg/media-tool"); fluent: typeof import("fluent-ffmpeg") };
    jest.isolateModules(() => {
      isolated = { adapter: require("../../shared/adapters/ffmpeg/media-tool"), fluent: require("fluent-ffmpeg") };
    });
    const log = path.join(work, "env-ffmpeg.log");
    const fake = await envFfmpeg("env-ffmpeg", log);
    const envTool = await isolated.adapter.createFfmpegMediaTool({ ffmpegPath: fake });
    expect(envTool.binaries.ffmpeg.path).toBe(fake);
    const launcher = envTool.ffmpegLauncher!;
    expect(launcher).toMatchObject({ ffmpeg: fake, envUtility: fs.existsSync("/usr/bin/env") ? "/usr/bin/env" : expect.any(String) });
    expect((await fsp.stat(launcher.path)).mode & 0o777).toBe(0o700);
    expect((await fsp.stat(path.dirname(launcher.path))).mode & 0o077).toBe(0);
    expect(await fsp.readFile(launcher.path, "utf8")).not.toContain(secretValue);
    expect((await envTool.versions()).ffmpeg).toBe("ffmpeg version env-fake");

    const output = path.join(work, "env-output.bin");
    const result = await envTool.run({ kind: "file", path: clip }, [output], quick);

    const seen = await starts(log);
    const run = seen.find((start) => start.argv.endsWith("-progress pipe:1"));
    expect(seen.map((start) => start.argv)).toEqual(expect.arrayContaining(["-hide_banner -version", "-formats", "-encoders"]));
    expect(run).toBeDefined();
    // The argv that ran is the one recorded: the launcher passes ffmpeg's own arguments through.
    expect(run!.argv).toBe(result.arguments.join(" "));
    expect(result.arguments.join(" ")).not.toContain(launcher.path);
    for (const start of seen) {
      expect(start.env).toContain("GCONV_PATH=/dev/null/custody-no-gconv");
      expect(start.env.filter((line) => line.startsWith(`${SECRET}=`) || line.startsWith("FFREPORT="))).toEqual([]);
    }

    // Control: fluent-ffmpeg spawning the same fake directly (no launcher) passes both on.
    const controlLog = path.join(work, "env-ffmpeg-control.log");
    const direct = await envFfmpeg("env-ffmpeg-control", controlLog);
    await new Promise<void>((resolve, reject) => {
      isolated
        .fluent()
        .setFfmpegPath(direct)
        .input(`file:${clip}`)
        .output(path.join(work, "env-control.bin"))
        .on("end", () => resolve())
        .on("error", reject)
        .run();
    });
    const [control] = await starts(controlLog);
    expect(control.env).toContain(`${SECRET}=${secretValue}`);
    expect(control.env.some((line) => line.startsWith("FFREPORT="))).toBe(true);

    // A launcher removed (say, by a temp cleaner) or altered is rewritten before the next run.
    await fsp.rm(launcher.path);
    await envTool.run({ kind: "file", path: clip }, [output], quick);
    await fsp.writeFile(launcher.path, `#!/bin/sh\nexec '${fake}' "$@"\n`, { mode: 0o700 });
    await envTool.run({ kind: "file", path: clip }, [output], quick);
    const last = (await starts(log)).slice(-2);
    expect(last.map((start) => start.argv)).toEqual([result.arguments.join(" "), result.arguments.join(" ")]);
    for (const start of last) expect(start.env.some((line) => line.startsWith(`${SECRET}=`))).toBe(false);
  });

  test("a failure before ffmpeg runs names the real ffmpeg and the launcher", async () => {
    let adapter!: typeof import("../../shared/adapters/ffmpeg/media-tool");
    jest.isolateModules(() => {
      adapter = require("../../shared/adapters/ffmpeg/media-tool");
    });
    // fluent-ffmpeg's first run asks `-formats` (through the launcher); this fake refuses.
    const failing = await script("formats-failing-ffmpeg", 'if [ "$2" = "-version" ]; then echo "ffmpeg version fake"; exit 0; fi\nexit 3');
    const failingTool = await adapter.createFfmpegMediaTool({ ffmpegPath: failing });
    // Not `rejection()`: the isolated adapter has its own CustodyError class.
    const error = (await failingTool.run({ kind: "file", path: clip }, [path.join(work, "never.bin")], quick).then(
      () => undefined,
      (reason: unknown) => reason,
    )) as MediaToolError;
    expect(error).toMatchObject({ name: "MediaToolError", code: "Internal", tool: "ffmpeg" });
    expect(error.message).toBe(`ffmpeg (${failing}, run through the environment launcher ${failingTool.ffmpegLauncher!.path}) could not be started: ffmpeg exited with code 3`);
  });

  test("with the real ffmpeg, FFREPORT in the host's environment writes no report (it does without the launcher)", async () => {
    const reports = path.join(work, "reports");
    await fsp.mkdir(reports);
    setHostVariable("FFREPORT", `file=${path.join(reports, "report-%p.log")}`);

    // Control: ffmpeg started with the host's environment writes the report.
    execFileSync(tool.binaries.ffmpeg.path, ["-hide_banner", "-version"], { stdio: "pipe" });
    expect(await fsp.readdir(reports)).toEqual(["report-ffmpeg.log"]);
    await fsp.rm(path.join(reports, "report-ffmpeg.log"));

    const result = await tool.run({ kind: "file", path: clip }, ["-t", "0.2", "-f", "null", "-"], quick);
    expect(await fsp.readdir(reports)).toEqual([]);
    expect(result.stderrTail).not.toMatch(/Report written/);
  });
});

describe("binaries without the exec bit", () => {
  test("are copied to a private writable directory, chmod 0755, and work", async () => {
    const readOnly = path.join(work, "read-only-mount");
    await fsp.mkdir(readOnly);
    const plain = path.join(readOnly, "ffmpeg");
    await fsp.copyFile(tool.binaries.ffmpeg.path, plain);
    await fsp.chmod(plain, 0o644);
    await expect(fsp.access(plain, fsConstants.X_OK)).rejects.toThrow();
    const writable = path.join(work, "writable");
    await fsp.mkdir(writable);

    const copied = await createFfmpegMediaTool({ env: { FFMPEG_PATH: plain }, writableDir: writable });
    expect(copied.binaries.ffmpeg).toMatchObject({ source: "FFMPEG_PATH", copiedFrom: plain });
    expect(path.dirname(copied.binaries.ffmpeg.path)).toMatch(new RegExp(`^${writable}/custody-media-bin-[0-9a-f]{16}$`));
    expect((await fsp.stat(copied.binaries.ffmpeg.path)).mode & 0o777).toBe(0o755);
    expect((await fsp.stat(path.dirname(copied.binaries.ffmpeg.path))).mode & 0o777).toBe(0o700);
    expect((await copied.versions()).ffmpeg).toBe((await tool.versions()).ffmpeg);
    const output = path.join(work, "via-copy.mp4");
    await copied.run({ kind: "file", path: clip }, ["-t", "0.5", "-c", "copy", output], quick);
    expect((await fsp.stat(output)).size).toBeGreaterThan(0);

    // A second start reuses the copy.
    const before = await fsp.stat(copied.binaries.ffmpeg.path);
    const again = await createFfmpegMediaTool({ env: { FFMPEG_PATH: plain }, writableDir: writable });
    expect(again.binaries.ffmpeg.path).toBe(copied.binaries.ffmpeg.path);
    expect((await fsp.stat(again.binaries.ffmpeg.path)).mtimeMs).toBe(before.mtimeMs);

    // Nowhere to copy to: InvalidConfiguration naming the path and what was tried.
    const notADirectory = path.join(work, "not-a-directory");
    await fsp.writeFile(notADirectory, "");
    const error = await rejection(createFfmpegMediaTool({ env: { FFMPEG_PATH: plain }, writableDir: notADirectory }));
    expect(error).toMatchObject({ code: "InvalidConfiguration", retryable: false });
    expect(error.message).toContain(plain);
    expect(error.message).toMatch(/not executable.*copying it to .*not-a-directory.* failed/);
  });

  test("a missing binary is InvalidConfiguration naming it", async () => {
    const missing = path.join(work, "no-such-ffprobe");
    await expect(createFfmpegMediaTool({ env: { FFPROBE_PATH: missing } })).rejects.toMatchObject({
      code: "InvalidConfiguration",
      message: expect.stringContaining(missing),
    });
  });
});

describe("crafted uploads (playlists and concat lists that name local files)", () => {
  let dir: string;
  let secret: string;

  beforeAll(async () => {
    dir = path.join(work, "upload");
    await fsp.mkdir(dir);
    secret = path.join(dir, "secret.ts");
    execFileSync("mkfifo", [secret]);
    await fsp.writeFile(path.join(dir, "hls.mp4"), "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nsecret.ts\n#EXT-X-ENDLIST\n");
    await fsp.copyFile(path.join(dir, "hls.mp4"), path.join(dir, "hls.m3u8"));
    await fsp.writeFile(path.join(dir, "concat.mp4"), "ffconcat version 1.0\nfile 'secret.ts'\n");
  });

  /** Resolves `true` as soon as any process opens the FIFO for reading. */
  function watchFifo(): { openedWithin(ms: number): Promise<boolean>; release(): Promise<void> } {
    const writer = fsp.open(secret, "w");
    return {
      openedWithin: (ms) => Promise.race([writer.then(() => true), sleep(ms, undefined, { ref: false }).then(() => false)]),
      async release() {
        // Pair the pending open with a reader of our own so the thread-pool thread is freed.
        const reader = fs.openSync(secret, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
        await (await writer).close();
        fs.closeSync(reader);
      },
    };
  }

  async function unhardened(binary: string, args: string[]): Promise<boolean> {
    const fifo = watchFifo();
    const child = spawn(binary, args, { stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("close", resolve));
    try {
      return await fifo.openedWithin(10_000);
    } finally {
      await fifo.release(); // the reader sees end of file and gives up
      child.kill("SIGKILL");
      await exited;
    }
  }

  test("control: without the allow-lists the binaries do open the referenced file", async () => {
    expect(await unhardened(tool.binaries.ffmpeg.path, ["-nostdin", "-i", path.join(dir, "hls.mp4"), "-f", "null", "-"])).toBe(true);
    expect(await unhardened(tool.binaries.ffprobe.path, [path.join(dir, "hls.m3u8")])).toBe(true);
    expect(await unhardened(tool.binaries.ffprobe.path, [path.join(dir, "concat.mp4")])).toBe(true);
  });

  test.each(["hls.mp4", "hls.m3u8", "concat.mp4"])("%s: probe and run fail as UnsupportedMedia and open nothing", async (name) => {
    const input: MediaInput = { kind: "file", path: path.join(dir, name) };
    const fifo = watchFifo();
    try {
      const probeError = await rejection(tool.probe(input, { timeoutInMs: 5_000 }));
      const runError = await rejection(tool.run(input, ["-f", "null", "-"], { timeoutInMs: 5_000 }));
      expect(probeError).toMatchObject({ code: "UnsupportedMedia", retryable: false });
      expect(runError).toMatchObject({ code: "UnsupportedMedia", retryable: false });
      expect(await fifo.openedWithin(200)).toBe(false);
      if (name !== "hls.mp4") expect(probeError.message).toMatch(/not on whitelist/);
      expect(runError.message).toMatch(/not on whitelist/);
    } finally {
      await fifo.release();
    }
  });
});

describe("URL inputs", () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const body = await fsp.readFile(clip);
    server = createServer((request, response) => {
      if (request.url?.startsWith("/busy")) return void response.writeHead(503).end("busy");
      if (!request.url?.startsWith("/clip.mp4")) return void response.writeHead(404).end();
      const { start, end } = writeRangeHead(request, response, body);
      response.end(body.subarray(start, end + 1));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test("probe and run read over HTTP with the network allow-list", async () => {
    const input: MediaInput = { kind: "url", url: `${base}/clip.mp4?sig=secret` };
    await expect(tool.probe(input, quick)).resolves.toMatchObject({ primaryVideoIndex: 0, primaryAudioIndex: 1 });
    const result = await tool.run(input, ["-t", "0.5", "-f", "null", "-"], quick);
    expect(result.arguments).toEqual(expect.arrayContaining(["-protocol_whitelist", "http,https,tcp,tls", "-i", `${base}/clip.mp4?<redacted>`]));
    expect(result.stderrTail).not.toContain("sig=secret");
  });

  test("several input-side seeks in one run: each input opened at its time with the allow-lists, one image each", async () => {
    const url = `${base}/clip.mp4?sig=secret`;
    const a = path.join(work, "seek-a.jpg");
    const b = path.join(work, "seek-b.jpg");
    const inputs: MediaInput[] = [
      { kind: "url", url, seekInSeconds: 0.5 },
      { kind: "url", url, seekInSeconds: 1.5 },
    ];
    const result = await tool.run(inputs, ["-map", "0:v:0", "-frames:v", "1", "-y", a, "-map", "1:v:0", "-frames:v", "1", "-y", b], quick);
    const hardened = (seek: string) => ["-ss", seek, "-protocol_whitelist", "http,https,tcp,tls", "-format_whitelist", ALLOWED_DEMUXERS.join(","), "-rw_timeout"];
    const first = result.arguments.indexOf("-ss");
    const second = result.arguments.indexOf("-ss", first + 1);
    expect(result.arguments.slice(first, first + 7)).toEqual(hardened("0.500000"));
    expect(result.arguments.slice(second, second + 7)).toEqual(hardened("1.500000"));
    expect(result.arguments.filter((arg) => arg === "-i")).toHaveLength(2);
    expect(result.arguments.join(" ")).not.toContain("sig=secret");
    for (const image of [a, b]) expect((await fsp.stat(image)).size).toBeGreaterThan(0);
    await expect(tool.run({ kind: "url", url, seekInSeconds: -1 }, ["-f", "null", "-"], quick)).rejects.toMatchObject({ code: "Internal", retryable: false });
  });

  test("5xx is Transient, 404 is OriginalNotFound; the SAS query never reaches the message", async () => {
    const busy = await rejection(tool.probe({ kind: "url", url: `${base}/busy?sig=secret` }, quick));
    expect(busy).toMatchObject({ code: "Transient", retryable: true });
    expect(busy.message).not.toContain("sig=secret");
    expect(busy.stderrTail).not.toContain("sig=secret");
    expect(busy.arguments.join(" ")).not.toContain("sig=secret");
    expect(busy.arguments).toContain(`${base}/busy?<redacted>`);
    await expect(tool.run({ kind: "url", url: `${base}/gone.mp4` }, ["-f", "null", "-"], quick)).rejects.toMatchObject({ code: "OriginalNotFound" });
  });

  test("a connection reset is Transient", async () => {
    const resetting = createNetServer((socket) => socket.once("data", () => socket.resetAndDestroy()));
    await new Promise<void>((resolve) => resetting.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(resetting.address() as AddressInfo).port}/clip.mp4`;
      const error = await rejection(tool.probe({ kind: "url", url }, quick));
      expect(error).toMatchObject({ code: "Transient", retryable: true });
      expect(error.message).toMatch(/Connection reset by peer/);
    } finally {
      await new Promise((resolve) => resetting.close(resolve));
    }
  });

  test("only http(s) URLs are accepted", async () => {
    await expect(tool.probe({ kind: "url", url: "file:///etc/passwd" }, quick)).rejects.toMatchObject({ retryable: false });
  });
});

describe("time limits from progress", () => {
  let short: string; // 0.4 s 160x120 at 25 fps
  let longFast: string; // the 30 s clip with its moov first, for reading over HTTP as it arrives
  let server: Server;
  let base: string;

  /**
   * Serves files with ranges, `chunkBytes` every `intervalInMs` (a slow store); `/stall/…` sends
   * the first `stallAtBytes` and then nothing more, keeping the connection open (a store that
   * stopped serving bytes).
   */
  const served = new Map<string, Buffer>();
  const throttle = { chunkBytes: 64 * 1024, intervalInMs: 0, stallAtBytes: Infinity };

  beforeAll(async () => {
    short = path.join(work, "short.mp4");
    longFast = path.join(work, "long-faststart.mp4");
    const generate = (args: string[]) => execFileSync(tool.binaries.ffmpeg.path, ["-hide_banner", "-nostdin", "-v", "error", "-y", ...args], { stdio: "pipe" });
    generate(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=0.4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", short]);
    generate(["-i", long, "-c", "copy", "-movflags", "+faststart", longFast]);
    served.set("/long.mp4", await fsp.readFile(longFast));
    server = createServer((request, response) => {
      const stall = request.url?.startsWith("/stall/") === true;
      const body = served.get((request.url ?? "").replace(/^\/stall/, "").replace(/\?.*$/, ""));
      if (body === undefined) return void response.writeHead(404).end();
      const { start, end } = writeRangeHead(request, response, body);
      let at = start;
      const next = () => {
        if (response.destroyed) return; // ffmpeg was killed
        const until = Math.min(end + 1, at + throttle.chunkBytes, stall ? Math.max(at, throttle.stallAtBytes) : Infinity);
        if (until > at) response.write(body.subarray(at, until));
        at = until;
        if (at > end) return void response.end();
        if (stall && at >= throttle.stallAtBytes) return; // hang: no more bytes, connection kept open
        setTimeout(next, throttle.intervalInMs);
      };
      next();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  test("a slowed but progressing run outlasts the old duration-based limit (10 s + 4× duration) and completes", async () => {
    const probe = await tool.probe({ kind: "file", path: short }, quick);
    const duration = probe.durationInSeconds!;
    // 35× slower than real time, frame by frame: a very busy machine, still moving.
    const limits = mediaRunLimits({ durationInSeconds: duration, video: probe.streams[probe.primaryVideoIndex!] }, 5_000);
    const result = await tool.run({ kind: "file", path: short }, ["-vf", "setpts=35*PTS,realtime", "-f", "null", "-"], { timeoutInMs: limits.ceilingInMs, stallTimeoutInMs: limits.stallTimeoutInMs });
    expect(result.durationInMs).toBeGreaterThan(10_000 + 4 * duration * 1000); // the case: beyond the old limit
  }, 60_000);

  test("a thumbnail run (seven input seeks) over a slowly read recording finishes and writes every image", async () => {
    Object.assign(throttle, { chunkBytes: 16 * 1024, intervalInMs: 100, stallAtBytes: Infinity });
    const probe = await tool.probe({ kind: "file", path: longFast }, quick);
    const dir = await fsp.mkdtemp(path.join(work, "thumbnails-"));
    const plan = planThumbnails(probe, probe.streams[probe.primaryVideoIndex!], { count: 6, outputDir: dir });
    expect(plan.runs).toHaveLength(1);
    const inputs: MediaInput[] = plan.runs[0].seeks.map((seekInSeconds) => ({ kind: "url", url: `${base}/long.mp4`, seekInSeconds }));
    // Each seek reads its group of pictures slowly; the window only has to cover one read at a time.
    await tool.run(inputs, plan.runs[0].arguments, { timeoutInMs: 60_000, stallTimeoutInMs: 4_000 });
    for (const name of [plan.files.poster, ...plan.files.thumbnails]) expect((await fsp.stat(path.join(dir, name))).size).toBeGreaterThan(0);
  }, 60_000);

  test("the muxer's final rewrite (faststart), during which progress stands still, is not taken for a stall", async () => {
    // A stand-in ffmpeg: one progress block, then 3 s without one, then the end — with and
    // without the notice the real mp4 muxer prints when it starts moving the moov atom.
    const fake = (name: string, notice: boolean) =>
      script(
        name,
        'if [ "$2" = "-version" ]; then echo "ffmpeg version fake-finishing"; exit 0; fi\n' +
          'case "$1" in -formats|-encoders) exit 0;; esac\n' + // fluent-ffmpeg's capability queries
          "printf 'frame=250\\nout_time_us=10000000\\nprogress=continue\\n'\n" +
          (notice ? "echo '[mp4] [info] Starting second pass: moving the moov atom to the beginning of the file' >&2\n" : "") +
          "sleep 3\nprintf 'frame=250\\nout_time_us=10000000\\nprogress=end\\n'",
      );
    const finishing = await createFfmpegMediaTool({ ffmpegPath: await fake("finishing-ffmpeg", true) });
    // No `-f`: fluent-ffmpeg checks it against the formats of whichever ffmpeg ran first in the process.
    const output = [path.join(work, "finishing.bin")];
    await expect(finishing.run({ kind: "file", path: clip }, output, { timeoutInMs: 20_000, stallTimeoutInMs: 1_000 })).resolves.toMatchObject({ arguments: expect.any(Array) });
    const silent = await createFfmpegMediaTool({ ffmpegPath: await fake("silent-ffmpeg", false) });
    const error = await rejection(silent.run({ kind: "file", path: clip }, output, { timeoutInMs: 20_000, stallTimeoutInMs: 1_000 }));
    expect(error.message).toMatch(/made no progress for 1000 ms .*out_time 00:00:10.000, frame 250/);
  }, 30_000);

  test("a run whose input stops sending bytes mid-file is killed after the stall window, retryable, naming the window", async () => {
    // Half the file, 16 KiB every 200 ms (so progress is reported on the way), then nothing.
    Object.assign(throttle, { chunkBytes: 16 * 1024, intervalInMs: 200, stallAtBytes: Math.floor(served.get("/long.mp4")!.length / 2) });
    // -rw_timeout far away, so only the progress watch can end this run.
    const patient = await createFfmpegMediaTool({ urlReadTimeoutInMs: 600_000 });
    const started = Date.now();
    const error = await rejection(patient.run({ kind: "url", url: `${base}/stall/long.mp4?sig=secret` }, ["-f", "null", "-"], { timeoutInMs: 25_000, stallTimeoutInMs: 2_000 }));
    expect(error).toMatchObject({ code: "Transient", retryable: true, signal: "SIGKILL", tool: "ffmpeg" });
    expect(error.message).toMatch(/made no progress for 2000 ms \(the stall window\)/);
    expect(error.message).toMatch(/out_time 00:00:\d\d/); // how far it got
    expect(error.message).not.toContain("sig=secret");
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000); // not before the window
  }, 60_000);
});

/** Answers a GET of `body` as a blob endpoint does: the requested byte range (206) or all of it (200); returns the range. */
function writeRangeHead(request: IncomingMessage, response: ServerResponse, body: Buffer): { start: number; end: number } {
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] ? Number(range[2]) : body.length - 1;
  response.writeHead(range ? 206 : 200, {
    "Content-Type": "video/mp4",
    "Accept-Ranges": "bytes",
    "Content-Length": end - start + 1,
    ...(range ? { "Content-Range": `bytes ${start}-${end}/${body.length}` } : {}),
  });
  return { start, end };
}
