/**
 * The join without local disk, with real ffmpeg against Azurite: segments are encoded (input
 * seeking, as the segment runs do) and uploaded to derived/<id>/transcode/segments/; the join
 * reads them through read URLs and streams one fragmented MP4 into Blob Storage, with the HLS
 * playlist over it by byte range. The outputs are downloaded and measured here, independently
 * of the join: flashes (`negate,blackdetect`) and beeps (`silencedetect`) at the source's times
 * next to every boundary, for 25 fps and VFR, through the MP4 and through the playlist; every
 * real fixture stitched and verified; a missing or altered segment fails naming it, with
 * nothing committed; the run's folder stays tiny.
 */
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { fragmentIndexProblems } from "../../shared/media/verify-join";
import { indexFmp4 } from "../../shared/media/fmp4-index";
import { joinLists, planSegmentEncode, planSegments } from "../../shared/media/segment-plan";
import { aacStatedSlack } from "../../shared/media/verify-join";
import { joinSegmentsToBlob, type JoinSegment, type JoinSegmentsRequest, type SegmentJoinResult } from "../../shared/stages/segment-join";
import { FIXTURES, sha256, startMediaHarness, type MediaHarness } from "./media-harness";

let h: MediaHarness;
const quick = { timeoutInMs: 60_000 };
let counter = 0;

beforeAll(async () => {
  h = await startMediaHarness("segment-join");
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

interface Prepared {
  request: JoinSegmentsRequest;
  source: string;
}

/** Plans and encodes the segments of `file` locally, uploads them where segment runs put them, returns the join request. */
async function prepare(file: string, targetSeconds: number): Promise<Prepared> {
  const evidenceId = `ev-${createHash("md5").update(`${file}-${++counter}`).digest("hex")}`;
  const dir = await fsp.mkdtemp(path.join(h.work, "segments-"));
  const input = { kind: "file" as const, path: file };
  const source = await h.media.probe(input, quick);
  const plan = planSegments(source, { targetSeconds });
  const segments: JoinSegment[] = [];
  for (const segment of plan.segments) {
    const padded = String(segment.index).padStart(5, "0");
    const local = { video: path.join(dir, `${padded}.video.mp4`), audio: path.join(dir, `${padded}.audio.mp4`) };
    const encode = planSegmentEncode(source, plan, segment, { maxSide: 1280, videoOutputPath: local.video, audioOutputPath: local.audio });
    await h.media.run(input, encode.arguments, { ...quick, seek: encode.seek });
    const entry: JoinSegment = { index: segment.index, audioPreRollInSeconds: encode.audioPreRollInSeconds, lengthInSeconds: encode.lengthInSeconds };
    for (const kind of ["video", "audio"] as const) {
      if ((kind === "video" ? plan.videoIndex : plan.audioIndex) === undefined) continue;
      const name = `${evidenceId}/transcode/segments/${padded}.${kind}.mp4`;
      const bytes = await fsp.readFile(local[kind]);
      await h.derived.getBlockBlobClient(name).uploadData(bytes);
      entry[kind] = { blob: { container: "derived", name }, sha256: sha256(bytes) };
      if (kind === "video") entry.frames = (await h.media.probe({ kind: "file", path: local.video }, quick)).streams[0].frames;
    }
    segments.push(entry);
  }
  await fsp.rm(dir, { recursive: true, force: true });
  const video = source.streams.find((s) => s.index === plan.videoIndex);
  const audio = source.streams.find((s) => s.index === plan.audioIndex);
  return {
    source: file,
    request: {
      plan,
      segments,
      target: { evidenceId },
      expected: {
        hasVideo: video !== undefined,
        hasAudio: audio !== undefined,
        durationInSeconds: plan.durationInSeconds,
        maxSide: 1280,
        frameRate: video?.frameRate,
        videoDurationInSeconds: video?.durationInSeconds,
        audioDurationInSeconds: audio?.durationInSeconds,
        audioStatedSlackInSeconds: aacStatedSlack(audio?.codec, audio?.sampleRate),
      },
    },
  };
}

interface Downloaded {
  dir: string;
  proxy: string;
  playlist: string;
  bytes: Buffer;
}

/** Both outputs downloaded side by side (the playlist names the proxy relative to itself); digests checked. */
async function download(result: SegmentJoinResult): Promise<Downloaded> {
  const dir = await fsp.mkdtemp(path.join(h.work, "downloaded-"));
  const files: string[] = [];
  let proxyBytes: Buffer = Buffer.alloc(0);
  for (const rendition of result.renditions) {
    const bytes = await h.download(rendition.path);
    expect(sha256(bytes)).toBe(rendition.sha256);
    expect(bytes.length).toBe(rendition.size);
    const local = path.join(dir, rendition.name);
    await fsp.writeFile(local, bytes);
    files.push(local);
    if (rendition.kind !== "playlist") proxyBytes = bytes;
  }
  return { dir, proxy: files[0], playlist: files[1], bytes: proxyBytes };
}

function ffmpegStderr(args: string[]): string {
  const result = spawnSync(h.media.binaries.ffmpeg.path, ["-hide_banner", "-nostdin", "-nostats", ...args], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`ffmpeg ${args.join(" ")} failed: ${result.stderr}`);
  return result.stderr;
}

/** The playlist is read as a player would: the HLS demuxer, byte ranges of the local proxy. */
function inputOf(file: string): string[] {
  return file.endsWith(".m3u8") ? ["-protocol_whitelist", "file", "-allowed_extensions", "ALL", "-i", file] : ["-i", file];
}

function flashes(file: string): number[] {
  const log = ffmpegStderr([...inputOf(file), "-map", "0:v:0", "-vf", "negate,blackdetect=d=0:pix_th=0.2:pic_th=0.9", "-f", "null", "-"]);
  return [...log.matchAll(/black_start:([0-9.]+)/g)].map((m) => Number(m[1]));
}

function silences(file: string, channel: number, minSeconds: number, noise: string): Array<[number, number]> {
  const log = ffmpegStderr([...inputOf(file), "-map", "0:a:0", "-af", `pan=mono|c0=c${channel},silencedetect=n=${noise}:d=${minSeconds}`, "-f", "null", "-"]);
  const starts = [...log.matchAll(/silence_start: (-?[0-9.]+)/g)].map((m) => Number(m[1]));
  const ends = [...log.matchAll(/silence_end: ([0-9.]+)/g)].map((m) => Number(m[1]));
  return starts.map((s, i) => [s, ends[i] ?? Number.POSITIVE_INFINITY]);
}

function packets(file: string, selector: string): Array<{ pts: number; duration: number }> {
  const out = execFileSync(h.media.binaries.ffprobe.path, ["-v", "error", "-select_streams", selector, "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", file], {
    encoding: "utf8",
    env: { GCONV_PATH: "/nonexistent" },
  });
  return out
    .trim()
    .split("\n")
    .map((line) => line.split(",").map(Number))
    .map(([pts, duration]) => ({ pts, duration }));
}

describe.each([
  // Boundaries at 4.010667, 8.021333, 12.032, 16.042667 (188 AAC frames each).
  { name: "25 fps", rate: 25, select: undefined, events: [4.0, 8.04, 12.0, 16.04], frames: 500 },
  { name: "VFR (30 fps, every fourth frame dropped)", rate: 30, select: "select='not(eq(mod(n\\,4)\\,1))'", events: [4.0, 8.0, 12.0, 16.066667], frames: 450 },
])("boundary sync of the streamed join, measured on a generated $name recording with flashes and beeps", (recordingCase) => {
  const EVENTS = recordingCase.events;
  const FRAME = 1 / recordingCase.rate;
  const AAC_FRAME = 1024 / 48000;
  let recording: string;
  let prepared: Prepared;
  let result: SegmentJoinResult;
  let out: Downloaded;

  beforeAll(async () => {
    const during = (length: number) => EVENTS.map((e) => `between(t,${e - 0.001},${e + length})`).join("+");
    const picture = `testsrc2=size=320x180:rate=${recordingCase.rate}:duration=20,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='${during(0.02)}'`;
    recording = h.generate(`flash-beep-${recordingCase.rate}.mp4`, [
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
    ]);
    prepared = await prepare(recording, 4);
    result = await joinSegmentsToBlob({ blobs: h.store, media: h.media }, prepared.request, { fragmentSeconds: 2 });
    out = await download(result);
  }, 120_000);

  test("one fragmented MP4 (moov first) and a playlist over it, with every source frame", () => {
    const { evidenceId } = prepared.request.target;
    expect(result.renditions.map((r) => [r.kind, r.path, r.contentType])).toEqual([
      ["proxy", `${evidenceId}/transcode/proxy.mp4`, "video/mp4"],
      ["playlist", `${evidenceId}/transcode/proxy.m3u8`, "application/vnd.apple.mpegurl"],
    ]);
    const index = indexFmp4(out.bytes);
    expect(index.layout.slice(0, 3)).toEqual(["ftyp", "moov", "moof"]);
    expect(fragmentIndexProblems(index, prepared.request.plan)).toEqual([]);
    const video = h.ffprobe(out.proxy).streams.find((s) => s.codec_type === "video")!;
    expect(video).toMatchObject({ codec_name: "h264", pix_fmt: "yuv420p" });
    expect(packets(out.proxy, "v:0")).toHaveLength(recordingCase.frames);
    expect(result.figures.fragments).toBe(index.fragments.length);
    expect(result.runs.map((r) => r.purpose)).toEqual(["join", "verify-join"]);
    expect(JSON.stringify(result.runs)).not.toMatch(/sig=|sv=/);
  });

  test.each(["proxy", "playlist"] as const)("%s: every flash and beep where the source has it, A/V drift within one frame", (which) => {
    const file = which === "proxy" ? out.proxy : out.playlist;
    const source = { flashes: flashes(recording), beeps: silences(recording, 1, 0.05, "-20dB").map(([, end]) => end) };
    const joined = { flashes: flashes(file), beeps: silences(file, 1, 0.05, "-20dB").map(([, end]) => end) };
    expect(source.flashes).toHaveLength(EVENTS.length);
    expect(joined.flashes).toHaveLength(EVENTS.length);
    expect(joined.beeps.length).toBeGreaterThanOrEqual(EVENTS.length);
    EVENTS.forEach((_, i) => {
      // Within 1.1 ms: the segment encodes place a frame up to a millisecond early (measured on the progressive MP4 join too).
      expect(Math.abs(joined.flashes[i] - source.flashes[i])).toBeLessThan(0.0011);
      expect(Math.abs(joined.beeps[i] - source.beeps[i])).toBeLessThan(AAC_FRAME);
      const drift = joined.beeps[i] - joined.flashes[i] - (source.beeps[i] - source.flashes[i]);
      expect(Math.abs(drift)).toBeLessThan(FRAME);
    });
  });

  test("the continuous tone has no gap at any boundary (none as long as 2 ms), audio packets back to back", () => {
    const inside = silences(out.proxy, 0, 0.002, "-40dB").filter(([start, end]) => end > 0.05 && start < 19.95);
    expect(inside).toEqual([]);
    const audio = packets(out.proxy, "a:0").sort((a, b) => a.pts - b.pts);
    expect(audio[0].pts).toBe(0);
    for (let i = 1; i < audio.length; i++) expect(Math.abs(audio[i].pts - (audio[i - 1].pts + AAC_FRAME))).toBeLessThan(0.0001);
  });

  test("video frames never closer or further apart than in the source (within a millisecond)", () => {
    const steps = (file: string) => {
      const pts = packets(file, "v:0")
        .map((p) => p.pts)
        .sort((a, b) => a - b);
      return pts.slice(1).map((t, i) => t - pts[i]);
    };
    const source = steps(recording);
    const joined = steps(out.proxy);
    expect(joined).toHaveLength(source.length);
    joined.forEach((step, i) => expect(Math.abs(step - source[i])).toBeLessThan(0.0011));
  });

  test("the playlist: HLS 7, the init by EXT-X-MAP byte range, one byte range per fragment, durations summing to the proxy's", async () => {
    const text = await fsp.readFile(out.playlist, "utf8");
    const index = indexFmp4(out.bytes);
    expect(text).toMatch(/^#EXTM3U\n#EXT-X-VERSION:7\n/);
    expect(text).toContain(`#EXT-X-MAP:URI="proxy.mp4",BYTERANGE="${index.initSize}@0"`);
    expect(text).toMatch(/#EXT-X-PLAYLIST-TYPE:VOD/);
    expect(text.trimEnd().endsWith("#EXT-X-ENDLIST")).toBe(true);
    expect([...text.matchAll(/#EXT-X-BYTERANGE:/g)]).toHaveLength(index.fragments.length);
    const total = [...text.matchAll(/#EXTINF:([0-9.]+),/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(Math.abs(total - 20)).toBeLessThan(FRAME);
  });

  test("the run's local disk stays tiny: scripts, socket and the output's head only", () => {
    expect(result.figures.peakTempDiskBytes).toBeGreaterThan(0);
    expect(result.figures.peakTempDiskBytes).toBeLessThan(result.figures.proxyBytes);
    expect(result.figures.peakTempDiskBytes).toBeLessThan(1024 * 1024);
  });
});

describe("stitching the real fixtures from at least two segments, read from Blob Storage", () => {
  test.each([
    ["exo_phone_hevc_mett_track_rot90.mp4", 0.04],
    ["exo_fragmented_fmp4.mp4", 0.4],
    ["gopro_max_heromode_gpmf.mp4", 4],
    ["ft_aac_audio_only.m4a", 0.3],
    ["exo_mpegts_hevc.ts", 0.4],
  ])(
    "%s (segments of %s s)",
    async (name, target) => {
      const prepared = await prepare(path.join(FIXTURES, name), target);
      expect(prepared.request.plan.segments.length).toBeGreaterThanOrEqual(2);
      const result = await joinSegmentsToBlob({ blobs: h.store, media: h.media }, prepared.request);
      const out = await download(result);
      const audioOnly = prepared.request.plan.videoIndex === undefined;
      expect(result.renditions[0]).toMatchObject(audioOnly ? { kind: "audio-proxy", name: "proxy.m4a", contentType: "audio/mp4" } : { kind: "proxy", name: "proxy.mp4" });
      const probe = h.ffprobe(out.proxy);
      expect(probe.streams.map((s) => s.codec_type).sort()).toEqual([...(prepared.request.expected.hasAudio ? ["audio"] : []), ...(prepared.request.expected.hasVideo ? ["video"] : [])]);
      // Played through the playlist from start to end: every frame there.
      const frames = prepared.request.segments.reduce((sum, s) => sum + (s.frames ?? 0), 0);
      if (!audioOnly) expect(packets(out.proxy, "v:0")).toHaveLength(frames);
      expect(Number(probe.format.duration)).toBeCloseTo(result.renditions[0].durationInSeconds!, 2);
    },
    90_000,
  );
});

test("a generated video-only recording (no audio track) is stitched and verified", async () => {
  const clip = h.generate("video-only.mp4", ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=6", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]);
  const prepared = await prepare(clip, 2);
  expect(prepared.request.plan.segments.length).toBe(3);
  const result = await joinSegmentsToBlob({ blobs: h.store, media: h.media }, prepared.request);
  const out = await download(result);
  expect(h.ffprobe(out.proxy).streams.map((s) => s.codec_type)).toEqual(["video"]);
  expect(packets(out.proxy, "v:0")).toHaveLength(180);
  expect(await fsp.readFile(out.playlist, "utf8")).toContain('#EXT-X-MAP:URI="proxy.mp4"');
}, 60_000);

describe("a segment missing or altered: a clear error, nothing published", () => {
  let prepared: Prepared;

  beforeAll(async () => {
    prepared = await prepare(path.join(FIXTURES, "gopro_max_heromode_gpmf.mp4"), 4);
  }, 60_000);

  async function committed(evidenceId: string): Promise<string[]> {
    const names: string[] = [];
    for await (const blob of h.derived.listBlobsFlat({ prefix: `${evidenceId}/transcode/proxy` })) names.push(blob.name);
    return names;
  }

  test("a segment file that is not there names the segment and its time range", async () => {
    const request: JoinSegmentsRequest = structuredClone(prepared.request);
    const second = request.segments[1];
    second.video!.blob = { container: "derived", name: `${request.target.evidenceId}/transcode/segments/99999.video.mp4` };
    const range = request.plan.segments[1];
    await expect(joinSegmentsToBlob({ blobs: h.store, media: h.media }, request)).rejects.toMatchObject({
      code: "OutputVerificationFailed",
      retryable: false,
      message: expect.stringContaining(`video file of segment 1 (${(range.startInMicroseconds / 1e6).toFixed(3)}–`),
    });
    expect(await committed(request.target.evidenceId)).toEqual([]);
  });

  test("a segment whose bytes differ from its recorded SHA-256", async () => {
    const request: JoinSegmentsRequest = structuredClone(prepared.request);
    request.segments[0].audio!.sha256 = "0".repeat(64);
    await expect(joinSegmentsToBlob({ blobs: h.store, media: h.media }, request)).rejects.toMatchObject({
      code: "OutputVerificationFailed",
      message: expect.stringMatching(/audio file of segment 0 .* has SHA-256 [0-9a-f]{64}, not the 0{64} its segment run recorded/),
    });
    expect(await committed(request.target.evidenceId)).toEqual([]);
  });

  test("a segment left out of the request", async () => {
    const request: JoinSegmentsRequest = structuredClone(prepared.request);
    request.segments.splice(1, 1);
    await expect(joinSegmentsToBlob({ blobs: h.store, media: h.media }, request)).rejects.toMatchObject({ message: expect.stringMatching(/segment\(s\) 1 missing/) });
    expect(await committed(request.target.evidenceId)).toEqual([]);
  });

  test("frames the segments did not report: the check fails before the upload commits; the runs so far still reach the caller", async () => {
    const request: JoinSegmentsRequest = structuredClone(prepared.request);
    request.segments[0].frames = (request.segments[0].frames ?? 0) + 1;
    const runs: string[] = [];
    await expect(joinSegmentsToBlob({ blobs: h.store, media: h.media }, request, { onRun: (run) => runs.push(run.purpose) })).rejects.toMatchObject({
      code: "OutputVerificationFailed",
      message: expect.stringMatching(/frames, the segments/),
    });
    expect(runs).toEqual(["join", "verify-join"]);
    expect(await committed(request.target.evidenceId)).toEqual([]);
  });

  test("a segment file replaced while ffmpeg read it (its read URL cannot carry If-Match): named, nothing committed", async () => {
    const request: JoinSegmentsRequest = structuredClone(prepared.request);
    const replaced = request.segments[1].audio!.blob.name;
    // Replaced after ffmpeg has read it and before the checks end (the head's probe comes in between).
    const media = {
      ...h.media,
      probe: async (...args: Parameters<typeof h.media.probe>) => {
        const current = await h.derived.getBlobClient(replaced).downloadToBuffer();
        await h.derived.getBlockBlobClient(replaced).uploadData(current);
        return h.media.probe(...args);
      },
    };
    await expect(joinSegmentsToBlob({ blobs: h.store, media }, request)).rejects.toMatchObject({
      code: "OutputVerificationFailed",
      message: expect.stringMatching(/audio file of segment 1 .* was replaced or removed while it was being joined/),
    });
    expect(await committed(request.target.evidenceId)).toEqual([]);
  });

  test("an aborted join is transient (the message is retried)", async () => {
    await expect(joinSegmentsToBlob({ blobs: h.store, media: h.media }, prepared.request, { abortSignal: AbortSignal.abort() })).rejects.toMatchObject({ code: "Transient", retryable: true });
  });

  test("reprocess: the outputs go to the request's own folder", async () => {
    const request: JoinSegmentsRequest = { ...prepared.request, target: { ...prepared.request.target, reprocessId: "r-1" } };
    const result = await joinSegmentsToBlob({ blobs: h.store, media: h.media }, request);
    expect(result.renditions.map((r) => r.path)).toEqual([`${request.target.evidenceId}/transcode/reprocess-r-1/proxy.mp4`, `${request.target.evidenceId}/transcode/reprocess-r-1/proxy.m3u8`]);
  });
});

describe("the media tool's join over read URLs (the adapter entry)", () => {
  let prepared: Prepared;
  let work: string;
  const drain = async (output: NodeJS.ReadableStream) => {
    let bytes = 0;
    for await (const chunk of output) bytes += (chunk as Buffer).length;
    return bytes;
  };

  beforeAll(async () => {
    prepared = await prepare(path.join(FIXTURES, "gopro_max_heromode_gpmf.mp4"), 4);
    work = await fsp.mkdtemp(path.join(h.work, "adapter-"));
  }, 60_000);

  /** The video script of the prepared segments over their read URLs (joinLists), `rename` applied to each blob name (the SAS then no longer matches). */
  async function script(rename = (name: string) => name): Promise<{ file: string; urls: string[] }> {
    const urls: string[] = [];
    for (const segment of prepared.request.segments) urls.push((await h.store.readUrl(segment.video!.blob, 60_000)).replace(segment.video!.blob.name, rename(segment.video!.blob.name)));
    const encoded = prepared.request.segments.map((s, i) => ({ ...s, videoFile: urls[i] }));
    const file = path.join(work, `video-${++counter}.ffconcat`);
    await fsp.writeFile(file, joinLists({ ...prepared.request.plan, audioIndex: undefined }, encoded, { names: "url" }).video!);
    return { file, urls };
  }

  test("a script naming anything but read URLs is refused before ffmpeg runs", async () => {
    const file = path.join(work, "local.ffconcat");
    await fsp.writeFile(file, "ffconcat version 1.0\nfile '/etc/hostname'\n");
    await expect(h.media.joinToStream([{ kind: "concat-urls", path: file }], ["-c", "copy", "-f", "mp4"], drain, { timeoutInMs: 60_000, workDir: work })).rejects.toMatchObject({
      code: "Internal",
      message: expect.stringMatching(/line 2 of a concat script of read URLs/),
    });
    await expect(h.media.joinToStream([{ kind: "concat-urls", path: file }], ["-i", "x", "-f", "mp4"], drain, { timeoutInMs: 60_000, workDir: work })).rejects.toMatchObject({ code: "Internal" });
  });

  test("a segment URL that fails mid-join fails the run (not a short output), with no SAS in the error or the arguments", async () => {
    const { file, urls } = await script((name) => (name.endsWith("00001.video.mp4") ? name.replace("00001", "00042") : name));
    const signature = /sig=([^&]+)/.exec(urls[0])![1];
    const failure = await h.media
      .joinToStream([{ kind: "concat-urls", path: file }], ["-map", "0:v:0", "-c", "copy", "-movflags", "empty_moov+frag_keyframe", "-f", "mp4"], drain, { timeoutInMs: 60_000, workDir: work })
      .then(
        () => undefined,
        (error: unknown) => error as Error & { code: string; stderrTail: string; arguments: string[] },
      );
    expect(failure).toBeDefined();
    expect(failure!.message).toMatch(/Impossible to open .*00042\.video\.mp4\?<redacted>/);
    for (const text of [failure!.message, failure!.stderrTail, failure!.arguments.join(" ")]) expect(text).not.toContain(decodeURIComponent(signature));
    expect(failure!.message).not.toContain(signature);
  });

  test("a consumer that stops reading stalls ffmpeg: killed after the stall window, transient", async () => {
    const { file } = await script();
    const started = Date.now();
    await expect(
      h.media.joinToStream([{ kind: "concat-urls", path: file }], ["-map", "0:v:0", "-c", "copy", "-movflags", "empty_moov+frag_keyframe", "-f", "mp4"], () => new Promise<never>(() => undefined), {
        timeoutInMs: 60_000,
        stallTimeoutInMs: 1_500,
        workDir: work,
      }),
    ).rejects.toMatchObject({ code: "Transient", message: expect.stringMatching(/made no progress/) });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  test("a consumer that fails kills ffmpeg; its failure is the one reported", async () => {
    const { file } = await script();
    await expect(
      h.media.joinToStream(
        [{ kind: "concat-urls", path: file }],
        ["-map", "0:v:0", "-c", "copy", "-movflags", "empty_moov+frag_keyframe", "-f", "mp4"],
        async (output) => {
          for await (const chunk of output) if ((chunk as Buffer).length > 0) throw new Error("upload refused");
          return 0;
        },
        { timeoutInMs: 60_000, workDir: work },
      ),
    ).rejects.toThrow("upload refused");
    expect(await fsp.readdir(work)).not.toContainEqual(expect.stringMatching(/\.sock$/));
  });
});
