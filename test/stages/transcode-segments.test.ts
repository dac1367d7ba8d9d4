/**
 * The media app's side of the segment-parallel transcode with real ffmpeg, Azurite and the
 * Service Bus emulator (the real SDK sends the claims; the test receives them from
 * media-results): the plan run claims a plan whose id recomputes, or fails the stage for a file
 * it cannot transcode; segment runs (given the requests the index would send) upload
 * content-addressed files and claim them; the join run turns the segments into a verified
 * proxy, HLS playlist and segment manifest and reports the transcode stage's result.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ServiceBusReceivedMessage, ServiceBusReceiver } from "@azure/service-bus";
import { AzureBlobStore } from "../../shared/adapters/azure-blob-store";
import { createBlobServiceClient } from "../../shared/adapters/blob-service-client";
import { ServiceBusPublisher } from "../../shared/adapters/service-bus-publisher";
import { segmentPlanMessageId, segmentResultMessageId, stageResultMessageId } from "../../shared/contracts/message-ids";
import type { EvidenceReceivedMessage, JoinRequestMessage, SegmentPlanMessage, SegmentRequestMessage, SegmentResultMessage, StageResultMessage } from "../../shared/contracts/messages";
import { isValidMessage } from "../../shared/contracts/validate";
import { applyEvidenceReceived, newRecord } from "../../shared/evidence/record-merge";
import { applySegmentPlan, applySegmentResult, joinOrder, planIdOf } from "../../shared/evidence/segment-run";
import { runAndReportStage } from "../../shared/stages/report-stage";
import { joinTranscode } from "../../shared/stages/transcode-join-stage";
import { planAndReportTranscode } from "../../shared/stages/transcode-plan-stage";
import { encodeAndReportSegment } from "../../shared/stages/transcode-segment-stage";
import { emulatorConfig, startHarness, type EmulatorHarness } from "../servicebus-emulator/harness";
import { FIXTURES, sha256, stageContext, startMediaHarness, type MediaHarness } from "./media-harness";

const RESULTS = "media-results";
let h: MediaHarness;
let bus: EmulatorHarness;
let publisher: ServiceBusPublisher;
let receiver: ServiceBusReceiver;
const report = () => ({ publisher, resultsEntity: RESULTS });

beforeAll(async () => {
  [h, bus] = await Promise.all([startMediaHarness("transcode-segments"), startHarness(emulatorConfig({ queues: [{ name: RESULTS }] }))]);
  publisher = new ServiceBusPublisher(bus.client);
  receiver = bus.client.createReceiver(RESULTS, { receiveMode: "receiveAndDelete" });
}, 120_000);

afterAll(async () => {
  await receiver?.close();
  await bus?.close();
  await h?.stop();
});

/** The one message the run just sent (waits for it; nothing else may be queued). */
async function received(): Promise<ServiceBusReceivedMessage> {
  const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
  expect(message).toBeDefined();
  return message;
}

/** What the index sends for one segment of a claimed plan. */
function segmentRequest(input: EvidenceReceivedMessage, claim: SegmentPlanMessage, index: number): SegmentRequestMessage {
  const { segments, ...shape } = claim.plan;
  return {
    schemaVersion: 1,
    kind: "segment-request",
    evidenceId: input.evidenceId,
    original: input.original,
    planId: claim.planId,
    plan: shape,
    streams: claim.streams,
    segmentCount: segments.length,
    segment: segments[index],
  };
}

/** What the index sends once every segment succeeded. */
/** The join request the index sends once these segments succeeded: built by its own merge and order builder (shared/evidence/segment-run.ts). */
function joinRequest(input: EvidenceReceivedMessage, claim: SegmentPlanMessage, results: SegmentResultMessage[]): JoinRequestMessage {
  const merge = { nowIso: new Date().toISOString(), actor: "custody/index@test" };
  let record = applySegmentPlan(applyEvidenceReceived(newRecord(input.evidenceId, ["hash", "transcode"], merge.nowIso), input, merge), claim, merge);
  for (const result of results) record = applySegmentResult(record, result, merge);
  const run = record.transcodeRuns?.find((r) => r.planId === claim.planId && r.reprocess?.id === claim.reprocess?.id);
  if (run === undefined) throw new Error("no run for the claim");
  return joinOrder(record, run).body;
}

async function planRun(input: EvidenceReceivedMessage, segmentSeconds: number) {
  const outcome = await planAndReportTranscode(input, { blobs: h.store, media: h.media }, stageContext("custody/transcode@test"), { maxSide: 640, segmentSeconds }, report());
  return { outcome, message: await received() };
}

describe("a generated 12 s recording (25 fps, 48 kHz stereo) in segments of 4 s", () => {
  let input: EvidenceReceivedMessage;
  let claim: SegmentPlanMessage;
  const results: SegmentResultMessage[] = [];

  beforeAll(async () => {
    const file = h.generate("twelve-seconds.mp4", [
      "-f",
      "lavfi",
      "-i",
      "testsrc2=s=480x270:r=25:d=12",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:sample_rate=48000:duration=12",
      "-ac",
      "2",
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
    ]);
    input = await h.upload(file);
  }, 60_000);

  test("the plan run claims a valid plan of three segments whose id recomputes, with the mapped streams and the probe", async () => {
    const { outcome, message } = await planRun(input, 4);
    expect(outcome.kind).toBe("segment-plan");
    claim = message.body as SegmentPlanMessage;
    expect(isValidMessage("segment-plan", claim)).toBe(true);
    expect(claim.planId).toBe(planIdOf(claim.plan));
    expect(message.messageId).toBe(segmentPlanMessageId(claim));
    expect(message.subject).toBe("segment-plan");
    expect(claim.plan).toMatchObject({ kind: "video", videoIndex: 0, audioIndex: 1, audioSampleRate: 48000, targetSeconds: 4, maxSide: 640 });
    expect(claim.plan.segments.map((s) => s.startInMicroseconds)).toEqual([0, 4010667, 8021333]);
    expect(claim.plan.segments.at(-1)?.endInMicroseconds).toBe(12_000_000);
    expect(claim.streams.map((s) => s.type)).toEqual(["video", "audio"]);
    expect(claim.media.primaryVideoIndex).toBe(0);
    expect(claim.attempt).toBe(1);
  }, 30_000);

  test("each segment run uploads content-addressed files whose bytes match their digests and claims a valid result", async () => {
    for (const range of claim.plan.segments) {
      const request = segmentRequest(input, claim, range.index);
      expect(isValidMessage("segment-request", request)).toBe(true);
      const result = await encodeAndReportSegment(request, { blobs: h.store, media: h.media }, stageContext("custody/transcode-segment@test"), {}, report());
      const message = await received();
      expect(message.body).toEqual(result);
      expect(message.messageId).toBe(segmentResultMessageId(result));
      expect(isValidMessage("segment-result", result)).toBe(true);
      expect(result).toMatchObject({ outcome: "succeeded", final: true, planId: claim.planId, segmentCount: 3, segment: range });
      expect(result.files!.map((f) => f.stream)).toEqual(["video", "audio"]);
      for (const file of result.files!) {
        expect(file.name).toBe(`segment-${String(range.index).padStart(5, "0")}-${file.stream}-${file.sha256.slice(0, 16)}.mp4`);
        const bytes = await h.download(`${input.evidenceId}/transcode/${file.name}`);
        expect(sha256(bytes)).toBe(file.sha256);
        expect(bytes.length).toBe(file.size);
      }
      // 25 fps: the frames whose time falls in the segment's range.
      const first = Math.ceil((range.startInMicroseconds / 1e6) * 25 - 1e-9);
      const end = Math.ceil((range.endInMicroseconds! / 1e6) * 25 - 1e-9);
      expect(result.frames).toBe(end - first);
      expect(result.provenance!.runs.map((r) => r.purpose)).toEqual(["segment", "verify", "verify"]);
      const run = result.provenance!.runs[0].arguments.join(" ");
      expect(run).toMatch(/-ss \d/);
      expect(JSON.stringify(result)).not.toMatch(/sig=(?!<redacted>)/);
      results.push(result);
    }
    expect(results.reduce((sum, r) => sum + r.frames!, 0)).toBe(300);
  }, 120_000);

  test("a join whose output does not have the frames the segments reported fails verification for good, publishing nothing", async () => {
    const request = joinRequest(input, claim, results);
    const miscounted = { ...request, segments: request.segments.map((s, i) => (i === 2 ? { ...s, frames: s.frames! + 1 } : s)) };
    await expect(joinTranscode(miscounted, { blobs: h.store, media: h.media }, stageContext("custody/transcode-join@test"))).rejects.toMatchObject({
      code: "OutputVerificationFailed",
      retryable: false,
      message: expect.stringMatching(/the joined video has 300 frames, the segments 301/),
    });
    const listed: string[] = [];
    for await (const blob of h.derived.listBlobsFlat({ prefix: `${input.evidenceId}/transcode/` })) listed.push(blob.name);
    expect(listed.filter((name) => !/\/segment-\d{5}-/.test(name))).toEqual([]);
  }, 60_000);

  test("the join run publishes a verified proxy, HLS playlist and segment manifest, and reports a valid transcode stage-result", async () => {
    const request = joinRequest(input, claim, results);
    expect(isValidMessage("join-request", request)).toBe(true);
    const context = stageContext("custody/transcode-join@test");
    const result = await runAndReportStage({ stage: "transcode", evidenceId: input.evidenceId, publisher, resultsEntity: RESULTS }, context, () =>
      joinTranscode(request, { blobs: h.store, media: h.media }, context),
    );
    const message = await received();
    expect(message.body).toEqual(result);
    expect(message.messageId).toBe(stageResultMessageId(result));
    expect(isValidMessage("stage-result", result)).toBe(true);
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ outcome: "succeeded", stage: "transcode", final: true });
    const folder = `${input.evidenceId}/transcode/`;
    expect(result.renditions!.map((r) => [r.kind, r.path, r.contentType])).toEqual([
      ["proxy", `${folder}proxy.mp4`, "video/mp4"],
      ["playlist", `${folder}proxy.m3u8`, "application/vnd.apple.mpegurl"],
      ["segment-manifest", `${folder}segments.json`, "application/json"],
    ]);
    for (const rendition of result.renditions!) {
      const bytes = await h.download(rendition.path);
      expect(sha256(bytes)).toBe(rendition.sha256);
      expect(bytes.length).toBe(rendition.size);
    }
    expect(result.provenance!.runs.map((r) => r.purpose)).toEqual(["join", "verify-join"]);

    // The proxy, probed by the test: every source frame, the source's duration.
    const proxyFile = path.join(h.work, `joined-${input.evidenceId}.mp4`);
    writeFileSync(proxyFile, await h.download(`${folder}proxy.mp4`));
    const probe = h.ffprobe(proxyFile);
    const video = probe.streams.find((s) => s.codec_type === "video")!;
    expect(video).toMatchObject({ codec_name: "h264", width: 480, height: 270 });
    // A fragmented MP4 states no frame count: the packets are counted.
    const counted = execFileSync(h.media.binaries.ffprobe.path, ["-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", proxyFile], {
      env: { GCONV_PATH: "/dev/null/none" },
    });
    expect(counted.toString().trim()).toBe("300");
    expect(Math.abs(Number(probe.format.duration) - 12)).toBeLessThan(0.04);

    const playlist = (await h.download(`${folder}proxy.m3u8`)).toString("utf8");
    expect(playlist).toMatch(/#EXT-X-MAP:URI="proxy\.mp4",BYTERANGE="\d+@0"/);
    expect(playlist).toMatch(/#EXT-X-ENDLIST/);

    // The manifest: canonical JSON, its plan hashes to the plan id, its files are the segments' files.
    const manifestRendition = result.renditions!.find((r) => r.kind === "segment-manifest")!;
    expect(manifestRendition.segmentCount).toBe(3);
    const text = (await h.download(manifestRendition.path)).toString("utf8");
    const manifest = JSON.parse(text) as {
      planId: string;
      plan: SegmentPlanMessage["plan"];
      tools: { ffmpeg: string };
      segments: Array<{ index: number; files: unknown[]; frames: number; encode: { seek: unknown; arguments: string[] }; encodedWith?: { ffmpeg: string; ffprobe: string } }>;
    };
    expect(createHash("sha256").update(text).digest("hex")).toBe(manifestRendition.sha256);
    expect(manifest.planId).toBe(claim.planId);
    expect(planIdOf(manifest.plan)).toBe(claim.planId);
    expect(manifest.tools.ffmpeg).toMatch(/ffmpeg version/);
    expect(manifest.segments.map((s) => s.files)).toEqual(results.map((r) => r.files));
    expect(manifest.segments.map((s) => s.frames)).toEqual(results.map((r) => r.frames));
    expect(manifest.segments[1].encode.arguments).toEqual(expect.arrayContaining(["-c:v", "libx264", results[1].files![0].name, results[1].files![1].name]));
    // Each segment names the tools that encoded it (from its own result, through the index's join request).
    expect(manifest.segments.map((s) => s.encodedWith)).toEqual(results.map((r) => r.provenance!.tools));
  }, 120_000);

  test("a join whose segment file does not hold the bytes its result claimed fails for good, publishing nothing new", async () => {
    const request = joinRequest(input, claim, results);
    const tampered = { ...request, segments: request.segments.map((s, i) => (i === 1 ? { ...s, files: [{ ...s.files[0], sha256: "0".repeat(64) }, s.files[1]] } : s)) };
    await expect(joinTranscode(tampered, { blobs: h.store, media: h.media }, stageContext("custody/transcode-join@test"))).rejects.toMatchObject({
      code: "OutputVerificationFailed",
      retryable: false,
      message: expect.stringMatching(/not the 0{64} its segment run recorded/),
    });
  }, 60_000);
});

/** Plan, every segment, join — as the index would order them — and the transcode stage's result. */
async function segmentedTranscode(input: EvidenceReceivedMessage, segmentSeconds: number): Promise<{ claim: SegmentPlanMessage; result: StageResultMessage }> {
  const claim = (await planRun(input, segmentSeconds)).message.body as SegmentPlanMessage;
  const results: SegmentResultMessage[] = [];
  for (const range of claim.plan.segments) {
    const result = await encodeAndReportSegment(segmentRequest(input, claim, range.index), { blobs: h.store, media: h.media }, stageContext("custody/transcode-segment@test"), {}, report());
    expect((await received()).body).toEqual(result);
    expect(result.error).toBeUndefined();
    results.push(result);
  }
  const context = stageContext("custody/transcode-join@test");
  const result = await runAndReportStage({ stage: "transcode", evidenceId: input.evidenceId, publisher, resultsEntity: RESULTS }, context, () =>
    joinTranscode(joinRequest(input, claim, results), { blobs: h.store, media: h.media }, context),
  );
  expect((await received()).body).toEqual(result);
  return { claim, result };
}

test("audio only, in segments: an .m4a proxy and a playlist over it, verified", async () => {
  const input = await h.upload(path.join(FIXTURES, "ft_aac_audio_only.m4a"));
  const { claim, result } = await segmentedTranscode(input, 0.3);
  expect(claim.plan.kind).toBe("audio");
  expect(claim.plan.segments.length).toBeGreaterThanOrEqual(2);
  expect(result.error).toBeUndefined();
  expect(isValidMessage("stage-result", result)).toBe(true);
  expect(result.renditions!.map((r) => [r.kind, r.name, r.contentType])).toEqual([
    ["audio-proxy", "proxy.m4a", "audio/mp4"],
    ["playlist", "proxy.m3u8", "application/vnd.apple.mpegurl"],
    ["segment-manifest", "segments.json", "application/json"],
  ]);
}, 60_000);

test("a rotated HEVC phone clip with a telemetry track (one segment: a short recording takes the same path): an upright proxy, verified", async () => {
  const input = await h.upload(path.join(FIXTURES, "exo_phone_hevc_mett_track_rot90.mp4"));
  const { claim, result } = await segmentedTranscode(input, 0.04);
  expect(claim.plan.segments).toHaveLength(1);
  expect(result.error).toBeUndefined();
  const proxy = result.renditions!.find((r) => r.kind === "proxy")!;
  expect(proxy.height!).toBeGreaterThan(proxy.width!);
}, 60_000);

test("a fragmented MP4, in segments: verified proxy and playlist", async () => {
  const input = await h.upload(path.join(FIXTURES, "exo_fragmented_fmp4.mp4"));
  const { claim, result } = await segmentedTranscode(input, 0.4);
  expect(claim.plan.segments.length).toBeGreaterThanOrEqual(2);
  expect(result.error).toBeUndefined();
  expect(result.renditions!.map((r) => r.name)).toEqual(["proxy.mp4", "proxy.m3u8", "segments.json"]);
}, 60_000);

test("the plan run on a file it cannot transcode reports the transcode stage failed for good, with the reason", async () => {
  const input = await h.upload(path.join(FIXTURES, "ft_mov_truncated_moov.mov"));
  const { outcome, message } = await planRun(input, 60);
  const result = message.body as StageResultMessage;
  expect(result).toEqual(outcome);
  expect(isValidMessage("stage-result", result)).toBe(true);
  expect(message.messageId).toBe(stageResultMessageId(result));
  expect(result).toMatchObject({ kind: "stage-result", stage: "transcode", outcome: "failed", final: true, error: { code: "UnsupportedMedia", retryable: false } });
  expect(result.provenance?.runs).toEqual([]);
}, 30_000);

describe("a two-second recording (one segment): reprocess, and segment runs that fail", () => {
  let input: EvidenceReceivedMessage;
  let claim: SegmentPlanMessage;

  beforeAll(async () => {
    const file = h.generate("two-seconds.mp4", ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast"]);
    input = await h.upload(file);
    claim = (await planRun(input, 60)).message.body as SegmentPlanMessage;
    expect(claim.plan.segments).toHaveLength(1);
  }, 60_000);

  test("a reprocess run (retry round 2) carries its request along and writes its segments and proxy to its own folder", async () => {
    const reprocess = { id: "0f9e8d7c-1111-4222-8333-944455556666", requestedBy: "operator@example", requestedAt: "2026-12-01T10:00:00Z", reason: "ffmpeg upgrade" };
    const retry = { round: 2, firstFailedAt: "2026-12-01T10:05:00Z" };
    const rerun = { ...input, reprocess, retry };
    const { outcome, message } = await planRun(rerun, 60);
    const plan = message.body as SegmentPlanMessage;
    expect(outcome).toEqual(plan);
    expect(plan).toMatchObject({ reprocess, retry, attempt: 3 });
    expect(message.messageId).toBe(segmentPlanMessageId(plan));
    expect(message.messageId).toContain(`:rp-${reprocess.id}:`);
    const request = { ...segmentRequest(rerun, plan, 0), reprocess };
    const segment = await encodeAndReportSegment(request, { blobs: h.store, media: h.media }, stageContext("custody/transcode-segment@test"), {}, report());
    expect((await received()).messageId).toBe(segmentResultMessageId(segment));
    expect(segment).toMatchObject({ outcome: "succeeded", reprocess });
    const folder = `${input.evidenceId}/transcode/reprocess-${reprocess.id}/`;
    for (const file of segment.files!) expect(sha256(await h.download(`${folder}${file.name}`))).toBe(file.sha256);
    const context = stageContext("custody/transcode-join@test");
    const join = { ...joinRequest(rerun, plan, [segment]), reprocess, retry };
    const result = await runAndReportStage({ stage: "transcode", evidenceId: input.evidenceId, publisher, resultsEntity: RESULTS, reprocess, retry }, context, () =>
      joinTranscode(join, { blobs: h.store, media: h.media }, context),
    );
    expect((await received()).messageId).toBe(stageResultMessageId(result));
    expect(result.error).toBeUndefined();
    expect(result.renditions!.map((r) => r.path)).toEqual(["proxy.mp4", "proxy.m3u8", "segments.json"].map((name) => `${folder}${name}`));
  }, 60_000);

  test("on an original that is not what the plan said (truncated): a final failure, claimed", async () => {
    const broken = await h.upload(path.join(FIXTURES, "ft_mov_truncated_moov.mov"));
    const request = { ...segmentRequest(input, claim, 0), evidenceId: broken.evidenceId, original: broken.original };
    const result = await encodeAndReportSegment(request, { blobs: h.store, media: h.media }, stageContext("custody/transcode-segment@test"), {}, report());
    const message = await received();
    expect(message.body).toEqual(result);
    expect(message.messageId).toBe(segmentResultMessageId(result));
    expect(isValidMessage("segment-result", result)).toBe(true);
    expect(result).toMatchObject({ outcome: "failed", final: true, error: { code: "UnsupportedMedia", retryable: false } });
    expect(message.messageId).toMatch(/:failed:final$/);
    const listed: string[] = [];
    for await (const blob of h.derived.listBlobsFlat({ prefix: `${broken.evidenceId}/` })) listed.push(blob.name);
    expect(listed).toEqual([]);
  }, 60_000);

  test("on a store that cannot be reached: a failure that is not final (the index retries the segment)", async () => {
    const unreachable = new AzureBlobStore(
      createBlobServiceClient({
        connectionString:
          "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1",
        pipelineOptions: { retryOptions: { maxTries: 1 } },
      }),
    );
    const request = segmentRequest(input, claim, 0);
    const result = await encodeAndReportSegment(request, { blobs: unreachable, media: h.media }, stageContext("custody/transcode-segment@test"), {}, report());
    expect((await received()).body).toEqual(result);
    expect(isValidMessage("segment-result", result)).toBe(true);
    expect(result).toMatchObject({ outcome: "failed", final: false, error: { retryable: true } });
  }, 60_000);
});
