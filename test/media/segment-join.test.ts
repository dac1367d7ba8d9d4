/**
 * Segment-parallel transcode with the real ffmpeg: a recording is cut into segments (input
 * seeking, one encode per segment), joined by stream copy into a progressive MP4 and an HLS
 * playlist over fMP4, and verified. On a generated recording with white flashes and beeps at
 * known times next to the boundaries, sync is measured in the joined outputs (flash frames by
 * `negate,blackdetect`, beep onsets by `silencedetect` on the beep channel, gaps by
 * `silencedetect` on a continuous tone in the other channel) — not assumed. Then every real
 * fixture, cut short so that it splits into at least two segments.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createFfmpegMediaTool, type FfmpegMediaTool } from "../../shared/adapters/ffmpeg/media-tool";
import type { MediaProbe } from "../../shared/media/probe";
import { joinArguments, joinLists, planSegmentEncode, planSegments, playlistArguments, type EncodedSegment, type SegmentPlan } from "../../shared/media/segment-plan";
import { aacStatedSlack, joinProblems, type JoinExpectation } from "../../shared/media/verify-join";

const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "media");
const quick = { timeoutInMs: 60_000 };
let tool: FfmpegMediaTool;
let work: string;

beforeAll(async () => {
  tool = await createFfmpegMediaTool();
  work = await fsp.mkdtemp(path.join(os.tmpdir(), "custody-segments-test-"));
});

afterAll(async () => {
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

function ffmpeg(args: string[]): string {
  try {
    return execFileSync(tool.binaries.ffmpeg.path, ["-hide_banner", "-nostdin", "-nostats", ...args], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (error) {
    throw new Error(`ffmpeg ${args.join(" ")} failed: ${(error as { stderr?: string }).stderr ?? String(error)}`, { cause: error });
  }
}
/** ffmpeg's stderr, where the detection filters log what they find. */
function ffmpegStderr(args: string[]): string {
  const result = spawnSync(tool.binaries.ffmpeg.path, ["-hide_banner", "-nostdin", "-nostats", ...args], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`ffmpeg ${args.join(" ")} failed: ${result.stderr}`);
  return result.stderr;
}

interface Joined {
  plan: SegmentPlan;
  probe: MediaProbe;
  mp4: string;
  playlist: string;
  problems: string[];
  dir: string;
}

/** Plans, encodes every segment (input seeking on the original), joins, probes and verifies. */
async function segmentAndJoin(file: string, targetSeconds: number): Promise<Joined> {
  const dir = await fsp.mkdtemp(path.join(work, `${path.basename(file)}-`));
  const input = { kind: "file" as const, path: file };
  const source = await tool.probe(input, quick);
  const plan = planSegments(source, { targetSeconds });
  const encoded: EncodedSegment[] = [];
  let segmentFrames = 0;
  for (const segment of plan.segments) {
    const names = { videoFile: `seg-${segment.index}.video.mp4`, audioFile: `seg-${segment.index}.audio.mp4` };
    const encode = planSegmentEncode(source, plan, segment, { maxSide: 1280, videoOutputPath: path.join(dir, names.videoFile), audioOutputPath: path.join(dir, names.audioFile) });
    await tool.run(input, encode.arguments, { ...quick, seek: encode.seek });
    if (plan.videoIndex !== undefined) {
      const probe = await tool.probe({ kind: "file", path: path.join(dir, names.videoFile) }, quick);
      segmentFrames += probe.streams[0].frames ?? 0;
    }
    encoded.push({
      index: segment.index,
      videoFile: plan.videoIndex === undefined ? undefined : names.videoFile,
      audioFile: plan.audioIndex === undefined ? undefined : names.audioFile,
      audioPreRollInSeconds: encode.audioPreRollInSeconds,
      lengthInSeconds: encode.lengthInSeconds,
    });
  }
  const lists = joinLists(plan, encoded);
  const inputs = [];
  for (const [kind, text] of Object.entries(lists)) {
    if (text === undefined) continue;
    const listPath = path.join(dir, `${kind}.ffconcat`);
    await fsp.writeFile(listPath, text);
    inputs.push({ kind: "concat" as const, path: listPath });
  }
  const mp4 = path.join(dir, "proxy.mp4");
  const playlist = path.join(dir, "proxy.m3u8");
  await tool.join(inputs, joinArguments(plan, { mp4Path: mp4 }), quick);
  await tool.run({ kind: "file", path: mp4 }, playlistArguments(plan, { playlistPath: playlist, hlsSegmentSeconds: targetSeconds }), quick);
  const probe = await tool.probe({ kind: "file", path: mp4 }, quick);
  const video = source.streams.find((s) => s.index === plan.videoIndex);
  const audio = source.streams.find((s) => s.index === plan.audioIndex);
  const expected: JoinExpectation = {
    hasVideo: video !== undefined,
    hasAudio: audio !== undefined,
    durationInSeconds: plan.durationInSeconds,
    maxSide: 1280,
    segmentFrames: video === undefined ? undefined : segmentFrames,
    frameRate: video?.frameRate,
    videoDurationInSeconds: video?.durationInSeconds,
    audioDurationInSeconds: audio?.durationInSeconds,
    audioStatedSlackInSeconds: aacStatedSlack(audio?.codec, audio?.sampleRate),
  };
  return { plan, probe, mp4, playlist, problems: joinProblems(probe, plan, expected), dir };
}

/** Start times of white frames (negated: black) in `file`. */
function flashes(file: string): number[] {
  const log = ffmpegStderr(["-i", file, "-map", "0:v:0", "-vf", "negate,blackdetect=d=0:pix_th=0.2:pic_th=0.9", "-f", "null", "-"]);
  return [...log.matchAll(/black_start:([0-9.]+)/g)].map((m) => Number(m[1]));
}

/** Silences in channel `channel` of `file` of at least `minSeconds`: [start, end] pairs. */
function silences(file: string, channel: number, minSeconds: number, noise: string): Array<[number, number]> {
  const log = ffmpegStderr(["-i", file, "-map", "0:a:0", "-af", `pan=mono|c0=c${channel},silencedetect=n=${noise}:d=${minSeconds}`, "-f", "null", "-"]);
  const starts = [...log.matchAll(/silence_start: (-?[0-9.]+)/g)].map((m) => Number(m[1]));
  const ends = [...log.matchAll(/silence_end: ([0-9.]+)/g)].map((m) => Number(m[1]));
  return starts.map((s, i) => [s, ends[i] ?? Number.POSITIVE_INFINITY]);
}

/** Packet times of one stream, in decode order: [pts, dts, duration]. */
function packets(file: string, selector: string): Array<{ pts: number; dts: number; duration: number }> {
  const out = execFileSync(tool.binaries.ffprobe.path, ["-v", "error", "-select_streams", selector, "-show_entries", "packet=pts_time,dts_time,duration_time", "-of", "csv=p=0", file], {
    encoding: "utf8",
    env: { ...process.env, GCONV_PATH: "/nonexistent" },
  });
  return out
    .trim()
    .split("\n")
    .map((line) => line.split(",").map(Number))
    .map(([pts, dts, duration]) => ({ pts, dts, duration }));
}

interface Recording {
  name: string;
  /** Frames per second of the generator, and what is done to its frames (VFR: a frame in four dropped). */
  rate: number;
  select?: string;
  /** Flash-and-beep times: on kept frames, each within a frame of a boundary (either side). */
  events: number[];
  frames: number;
}

describe.each<Recording>([
  // Boundaries at 4.010667, 8.021333, 12.032, 16.042667 (188 AAC frames each).
  { name: "25 fps", rate: 25, events: [4.0, 8.04, 12.0, 16.04], frames: 500 },
  { name: "VFR (30 fps, every fourth frame dropped)", rate: 30, select: "select='not(eq(mod(n\\,4)\\,1))'", events: [4.0, 8.0, 12.0, 16.066667], frames: 450 },
])("boundary sync, measured on a generated $name recording with flashes and beeps", (recordingCase) => {
  // 48 kHz stereo: left a continuous 440 Hz tone (any gap shows as silence), right silent but
  // for 1 kHz beeps that start with the white frames.
  const EVENTS = recordingCase.events;
  const FRAME = 1 / recordingCase.rate;
  const AAC_FRAME = 1024 / 48000;
  let recording: string;
  let joined: Joined;

  beforeAll(async () => {
    recording = path.join(work, `flash-beep-${recordingCase.rate}${recordingCase.select ? "-vfr" : ""}.mp4`);
    const during = (length: number) => EVENTS.map((e) => `between(t,${e - 0.001},${e + length})`).join("+");
    const picture = `testsrc2=size=320x180:rate=${recordingCase.rate}:duration=20,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='${during(0.02)}'`;
    ffmpeg([
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      recordingCase.select ? `${picture},${recordingCase.select}` : picture,
      "-f",
      "lavfi",
      "-i",
      `aevalsrc='0.5*sin(2*PI*440*t)|if(${during(0.1)},0.8*sin(2*PI*1000*t),0)':s=48000:d=20`,
      ...(recordingCase.select ? ["-vsync", "vfr"] : []),
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-g",
      "50",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-b:a",
      "128k",
      recording,
    ]);
    joined = await segmentAndJoin(recording, 4);
  }, 120_000);

  test("the plan cuts on the AAC frame grid into five segments", () => {
    expect(joined.plan.segments.map((s) => s.startInMicroseconds)).toEqual([0, 4010667, 8021333, 12032000, 16042667]);
    expect(joined.plan.segments.at(-1)?.endInMicroseconds).toBe(20_000_000);
  });

  test("the joined MP4 passes the join verification with every source frame, none doubled", () => {
    expect(joined.problems).toEqual([]);
    expect(joined.probe.streams.find((s) => s.type === "video")?.frames).toBe(recordingCase.frames);
  });

  test.each(["mp4", "playlist"] as const)("%s: every flash and beep where the source has it, A/V drift within one frame", (which) => {
    const file = which === "mp4" ? joined.mp4 : joined.playlist;
    const source = { flashes: flashes(recording), beeps: silences(recording, 1, 0.05, "-20dB").map(([, end]) => end) };
    const out = { flashes: flashes(file), beeps: silences(file, 1, 0.05, "-20dB").map(([, end]) => end) };
    expect(source.flashes).toHaveLength(EVENTS.length);
    expect(out.flashes).toHaveLength(EVENTS.length);
    expect(out.beeps.length).toBeGreaterThanOrEqual(EVENTS.length);
    EVENTS.forEach((_, i) => {
      expect(Math.abs(out.flashes[i] - source.flashes[i])).toBeLessThan(FRAME / 2);
      expect(Math.abs(out.beeps[i] - source.beeps[i])).toBeLessThan(AAC_FRAME);
      const drift = out.beeps[i] - out.flashes[i] - (source.beeps[i] - source.flashes[i]);
      expect(Math.abs(drift)).toBeLessThan(FRAME);
    });
  });

  test("the continuous tone has no gap at any boundary (none as long as 2 ms)", () => {
    const inside = silences(joined.mp4, 0, 0.002, "-40dB").filter(([start, end]) => end > 0.05 && start < 19.95);
    expect(inside).toEqual([]);
  });

  test("timestamps are continuous: audio packets back to back, video frames never closer or further apart than in the source", () => {
    // Every AAC packet lasts one frame (a packet left over at a join gets squeezed to one tick) and follows the previous one.
    const audio = packets(joined.mp4, "a:0").sort((a, b) => a.pts - b.pts);
    audio.slice(0, -1).forEach((p) => expect(Math.abs(p.duration - AAC_FRAME)).toBeLessThan(0.0001));
    for (let i = 1; i < audio.length; i++) expect(Math.abs(audio[i].pts - (audio[i - 1].pts + AAC_FRAME))).toBeLessThan(0.0001);
    // The same packets' span as the source's (which starts with a priming packet its edit list hides).
    const sourceAudio = packets(recording, "a:0").sort((a, b) => a.pts - b.pts);
    expect(audio[0].pts).toBe(0);
    expect(audio.at(-1)?.pts).toBeCloseTo(sourceAudio.at(-1)!.pts, 5);
    const steps = (file: string) => {
      const pts = packets(file, "v:0")
        .map((p) => p.pts)
        .sort((a, b) => a - b);
      return pts.slice(1).map((t, i) => t - pts[i]);
    };
    const source = steps(recording);
    const out = steps(joined.mp4);
    expect(out).toHaveLength(source.length);
    // Within a millisecond of the source's own frame spacing, frame by frame (the MP4 edit list is in milliseconds).
    out.forEach((step, i) => expect(Math.abs(step - source[i])).toBeLessThan(0.0011));
  });

  test("the playlist is HLS version 7 over one fMP4 file (init by EXT-X-MAP, media by byte range)", async () => {
    const text = await fsp.readFile(joined.playlist, "utf8");
    expect(text).toMatch(/#EXT-X-VERSION:7/);
    expect(text).toMatch(/#EXT-X-MAP:URI="proxy\.m4s",BYTERANGE="\d+@0"/);
    expect(text).toMatch(/#EXT-X-ENDLIST/);
  });
});

describe("stitching the real fixtures from at least two segments", () => {
  test.each([
    ["exo_phone_hevc_mett_track_rot90.mp4", 0.04],
    ["exo_fragmented_fmp4.mp4", 0.4],
    ["gopro_max_heromode_gpmf.mp4", 4],
    ["ft_aac_audio_only.m4a", 0.3],
    ["exo_mpegts_hevc.ts", 0.4],
  ])(
    "%s (segments of %s s)",
    async (name, target) => {
      const joined = await segmentAndJoin(path.join(FIXTURES, name), target);
      expect(joined.plan.segments.length).toBeGreaterThanOrEqual(2);
      expect(joined.problems).toEqual([]);
    },
    60_000,
  );
});

describe("the join reads only local segment files", () => {
  test("a concat script naming a file outside its folder is refused by ffmpeg (-safe 1)", async () => {
    const list = path.join(work, "unsafe.ffconcat");
    await fsp.writeFile(list, "ffconcat version 1.0\nfile '/etc/hostname'\n");
    await expect(tool.join([{ kind: "concat", path: list }], ["-c", "copy", "-f", "mp4", path.join(work, "unsafe.mp4")], quick)).rejects.toThrow(/Unsafe file name/);
  });

  test("a second input in the output arguments and an invalid seek are refused before anything runs", async () => {
    const list = path.join(work, "any.ffconcat");
    await fsp.writeFile(list, "ffconcat version 1.0\n");
    await expect(tool.join([{ kind: "concat", path: list }], ["-i", "/etc/hostname", "-f", "null", "-"], quick)).rejects.toMatchObject({ code: "Internal", retryable: false });
    const input = { kind: "file" as const, path: path.join(FIXTURES, "ft_aac_audio_only.m4a") };
    await expect(tool.run(input, ["-f", "null", "-"], { ...quick, seek: { startInSeconds: -1 } })).rejects.toMatchObject({ code: "Internal", retryable: false });
  });
});
