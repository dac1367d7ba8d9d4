/**
 * The transcode stage with real ffmpeg against Azurite: real footage (rotated phone clip with
 * a telemetry track, fragmented MP4, audio-only AAC, a MOV cut inside its moov) and generated
 * clips (10-bit PQ HEVC, H.264 High 10 without audio). Every proxy is probed independently
 * of the stage and its blob's SHA-256 checked against the rendition's.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import type { StageResultMessage } from "../../shared/contracts/messages";
import { isValidMessage } from "../../shared/contracts/validate";
import { isCustodyError } from "../../shared/errors";
import type { MediaTool } from "../../shared/ports/media-tool";
import { StageFailure, type StageWork } from "../../shared/stages/report-stage";
import { transcodeOriginal } from "../../shared/stages/transcode-stage";
import { FIXTURES, sha256, stageContext, startMediaHarness, type MediaHarness } from "./media-harness";
import { withClaimedMatroskaDuration } from "../support/crafted-media";

let h: MediaHarness;
const context = stageContext("custody/transcode@test");

beforeAll(async () => {
  h = await startMediaHarness("transcode-stage");
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

async function transcode(file: string, media: MediaTool = h.media): Promise<{ work: StageWork; evidenceId: string }> {
  const input = await h.upload(file);
  const work = await transcodeOriginal(input, { blobs: h.store, media }, context);
  return { work, evidenceId: input.evidenceId };
}

/** The proxy as stored, probed by the test itself. */
async function storedProxy(work: StageWork): Promise<{ bytes: Buffer; probe: ReturnType<MediaHarness["ffprobe"]> }> {
  const [rendition] = work.renditions ?? [];
  const bytes = await h.download(rendition.path);
  expect(sha256(bytes)).toBe(rendition.sha256);
  expect(bytes.length).toBe(rendition.size);
  const file = path.join(h.work, `check-${rendition.sha256.slice(0, 8)}${path.extname(rendition.name)}`);
  writeFileSync(file, bytes);
  return { bytes, probe: h.ffprobe(file) };
}

function asResult(work: StageWork, evidenceId: string): StageResultMessage {
  return {
    schemaVersion: 1,
    kind: "stage-result",
    evidenceId,
    stage: "transcode",
    attempt: 1,
    final: true,
    startedAt: "2026-11-26T10:00:00Z",
    finishedAt: "2026-11-26T10:00:01Z",
    actor: "custody/transcode@test",
    ...work,
  };
}

test("a rotated phone clip with a telemetry track → an upright H.264/AAC proxy without the track, provenance without the SAS", async () => {
  const { work, evidenceId } = await transcode(path.join(FIXTURES, "exo_phone_hevc_mett_track_rot90.mp4"));
  expect(work.outcome).toBe("succeeded");
  expect(work.media?.dataTracks).toContain("mett");
  expect(work.media?.primaryVideoIndex).toBe(2);
  const [rendition] = work.renditions!;
  expect(rendition).toMatchObject({ kind: "proxy", name: "proxy.mp4", container: "derived", path: `${evidenceId}/transcode/proxy.mp4`, contentType: "video/mp4" });
  expect(rendition.height!).toBeGreaterThan(rendition.width!);
  expect(Math.max(rendition.width!, rendition.height!)).toBeLessThanOrEqual(1280);

  const { probe } = await storedProxy(work);
  const types = probe.streams.map((s) => s.codec_type).sort();
  expect(types).toEqual(["audio", "video"]);
  const video = probe.streams.find((s) => s.codec_type === "video")!;
  expect(video).toMatchObject({ codec_name: "h264", pix_fmt: "yuv420p", width: 720, height: 1280 });
  expect(JSON.stringify(video.side_data_list ?? [])).not.toMatch(/rotation/i);

  const provenance = work.provenance!;
  expect(provenance.source).toMatchObject({ container: "originals", etag: expect.any(String) });
  expect(provenance.tools.ffmpeg).toMatch(/ffmpeg version/);
  const run = provenance.runs.find((r) => r.purpose === "transcode")!;
  expect(run.arguments).toEqual(expect.arrayContaining(["-map", "0:2", "0:1", "-dn", "-movflags", "+faststart"]));
  expect(JSON.stringify(work)).not.toMatch(/sig=(?!<redacted>)/);
  expect(JSON.stringify(work)).not.toMatch(/sv=20/);
  expect(isValidMessage("stage-result", asResult(work, evidenceId))).toBe(true);
}, 30_000);

test("a fragmented MP4 → proxy with video and audio of the source's duration", async () => {
  const { work } = await transcode(path.join(FIXTURES, "exo_fragmented_fmp4.mp4"));
  const { probe } = await storedProxy(work);
  expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(["aac", "h264"]);
  expect(Math.abs(Number(probe.format.duration) - 1.068)).toBeLessThan(0.5);
}, 30_000);

test("audio only → an AAC .m4a audio proxy, no video", async () => {
  const { work, evidenceId } = await transcode(path.join(FIXTURES, "ft_aac_audio_only.m4a"));
  expect(work.renditions).toEqual([expect.objectContaining({ kind: "audio-proxy", name: "proxy.m4a", path: `${evidenceId}/transcode/proxy.m4a`, contentType: "audio/mp4" })]);
  const { probe } = await storedProxy(work);
  expect(probe.streams.map((s) => s.codec_type)).toEqual(["audio"]);
  expect(probe.streams[0].codec_name).toBe("aac");
}, 30_000);

test("10-bit PQ (HDR10) HEVC → 8-bit yuv420p BT.709, tone-mapped", async () => {
  const file = h.generate("hdr10.mp4", [
    "-f",
    "lavfi",
    "-i",
    "testsrc2=s=640x360:r=25:d=1.5",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:duration=1.5",
    "-pix_fmt",
    "yuv420p10le",
    "-c:v",
    "libx265",
    "-x265-params",
    "log-level=error",
    "-color_trc",
    "smpte2084",
    "-color_primaries",
    "bt2020",
    "-colorspace",
    "bt2020nc",
    "-c:a",
    "aac",
    "-shortest",
  ]);
  const { work } = await transcode(file);
  expect(work.media?.streams.find((s) => s.type === "video")).toMatchObject({ hdr: true, bitDepth: 10 });
  expect(work.provenance!.runs.find((r) => r.purpose === "transcode")!.arguments.join(" ")).toMatch(/tonemap=tonemap=hable/);
  const { probe } = await storedProxy(work);
  const video = probe.streams.find((s) => s.codec_type === "video")!;
  expect(video).toMatchObject({ codec_name: "h264", pix_fmt: "yuv420p", profile: "High", color_transfer: "bt709" });
}, 30_000);

test("H.264 High 10 without audio → a video-only 8-bit proxy", async () => {
  const file = h.generate("hi10-silent.mp4", ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1", "-pix_fmt", "yuv420p10le", "-c:v", "libx264"]);
  const { work } = await transcode(file);
  const { probe } = await storedProxy(work);
  expect(probe.streams.map((s) => s.codec_type)).toEqual(["video"]);
  expect(probe.streams[0]).toMatchObject({ pix_fmt: "yuv420p", profile: "High", width: 320, height: 240 });
}, 30_000);

test("a MOV cut inside its moov → final UnsupportedMedia with a reason, nothing written", async () => {
  const input = await h.upload(path.join(FIXTURES, "ft_mov_truncated_moov.mov"));
  const failure = await transcodeOriginal(input, { blobs: h.store, media: h.media }, context).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(StageFailure);
  expect(isCustodyError(failure) && failure.code).toBe("UnsupportedMedia");
  expect(isCustodyError(failure) && failure.retryable).toBe(false);
  expect((failure as Error).message).not.toMatch(/sig=(?!<redacted>)/);
  const listed: string[] = [];
  for await (const blob of h.derived.listBlobsFlat({ prefix: `${input.evidenceId}/` })) listed.push(blob.name);
  expect(listed).toEqual([]);
}, 30_000);

test("ffmpeg exiting 0 without a usable proxy → OutputVerificationFailed, final", async () => {
  // A tool that "succeeds" without writing (as ffmpeg does for an empty stream or a seek past the end).
  const lazy: MediaTool = { versions: () => h.media.versions(), probe: (i, o) => h.media.probe(i, o), run: async () => ({ arguments: ["ffmpeg"], stderrTail: "", durationInMs: 1 }) };
  const input = await h.upload(path.join(FIXTURES, "exo_fragmented_fmp4.mp4"));
  await expect(transcodeOriginal(input, { blobs: h.store, media: lazy }, context)).rejects.toMatchObject({
    code: "OutputVerificationFailed",
    retryable: false,
    message: expect.stringMatching(/wrote no file/),
  });
}, 30_000);

test("re-running overwrites the same blob: one proxy per recording, same path", async () => {
  const input = await h.upload(path.join(FIXTURES, "exo_fragmented_fmp4.mp4"));
  const first = await transcodeOriginal(input, { blobs: h.store, media: h.media }, context);
  const second = await transcodeOriginal(input, { blobs: h.store, media: h.media }, stageContext("custody/transcode@test", 2));
  expect(second.renditions![0].path).toBe(first.renditions![0].path);
  // Same binary, same input, same arguments: the same bytes (a redelivered result that
  // duplicate detection drops still describes the blob correctly).
  expect(second.renditions![0].sha256).toBe(first.renditions![0].sha256);
  const listed: string[] = [];
  for await (const blob of h.derived.listBlobsFlat({ prefix: `${input.evidenceId}/` })) listed.push(blob.name);
  expect(listed).toEqual([`${input.evidenceId}/transcode/proxy.mp4`]);
  expect(sha256(await h.download(listed[0]))).toBe(second.renditions![0].sha256);
}, 30_000);

test("an MKV whose header claims a 10-year duration → final UnsupportedMedia before any ffmpeg run, nothing written", async () => {
  const clip = h.generate("two-seconds.mkv", ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast"]);
  const input = await h.upload(withClaimedMatroskaDuration(clip, 10 * 365 * 86_400, path.join(h.work, "ten-years.mkv")));
  const failure = await transcodeOriginal(input, { blobs: h.store, media: h.media }, context).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(StageFailure);
  expect(isCustodyError(failure) && { code: failure.code, retryable: failure.retryable }).toEqual({ code: "UnsupportedMedia", retryable: false });
  expect((failure as Error).message).toMatch(/claims a duration of 3650 days/);
  expect((failure as StageFailure).details.provenance?.runs.map((r) => r.purpose)).toEqual(["probe"]);
  const listed: string[] = [];
  for await (const blob of h.derived.listBlobsFlat({ prefix: `${input.evidenceId}/` })) listed.push(blob.name);
  expect(listed).toEqual([]);
}, 30_000);
