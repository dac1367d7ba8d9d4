/**
 * The last run of the segment-parallel transcode (a `join-request` from the index, sent once
 * every segment of the plan succeeded): join the segments by stream copy — no re-encoding, no
 * proxy on local disk — into one fragmented MP4 streamed to Blob Storage (`proxy.mp4`,
 * `proxy.m4a` for audio-only recordings) and the HLS playlist over it (`proxy.m3u8`, byte
 * ranges of that same file), verified before anything is committed
 * (shared/stages/segment-join.ts), then write the segment manifest (`segments.json`): the plan
 * and, per segment, its range, files with their digests, frames and the encode's arguments —
 * the provenance of every segment in one verifiable file. The outcome is the transcode stage's
 * ordinary `stage-result`, whose renditions are the proxy (kind proxy / audio-proxy), the
 * playlist (kind `playlist`) and the manifest (kind `segment-manifest`, `segmentCount`).
 *
 * A segment file that is missing, or whose bytes are not the ones its result claimed, fails the
 * join for good: no partial or different proxy is ever published.
 */
import { writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { JoinRequestMessage, Rendition, SegmentPlanBody, StageProvenance } from "../contracts/messages";
import { canonicalJson } from "../evidence/canonical-json";
import { planIdOf } from "../evidence/segment-run";
import { CustodyError } from "../errors";
import type { MediaProbe } from "../media/probe";
import { planSegmentEncode, type SegmentPlan } from "../media/segment-plan";
import { planTranscode } from "../media/transcode-plan";
import { aacStatedSlack, type JoinExpectation } from "../media/verify-join";
import { DERIVED_CONTAINER, derivedBlobName, type MediaBlobStore } from "../ports/blob-store";
import type { SegmentMediaTool } from "../ports/media-tool";
import { MediaSession } from "./media-session";
import type { StageWork } from "./report-stage";
import { joinSegmentsToBlob, type JoinSegmentFile } from "./segment-join";
import type { StageContext } from "./stage-context";
import { probeFromStreams, segmentPlanOf } from "./transcode-segment-stage";

export const SEGMENT_MANIFEST_NAME = "segments.json";

export interface JoinStageDeps {
  blobs: MediaBlobStore;
  media: SegmentMediaTool;
}

export interface JoinOptions {
  /** How long ffmpeg may make no progress (CUSTODY_MEDIA_STALL_TIMEOUT_MS); default the media tool's. */
  stallTimeoutInMs?: number;
}

/** The join run's work (the caller reports it with runAndReportStage). */
export async function joinTranscode(request: JoinRequestMessage, deps: JoinStageDeps, context: StageContext, options: JoinOptions = {}): Promise<StageWork> {
  const session = new MediaSession(request, "transcode", deps, context);
  try {
    await session.loadVersions();
    const body = planBody(request);
    if (planIdOf(body) !== request.planId) {
      throw new CustodyError("Internal", `the join request's segments are not those of plan ${request.planId} (its ranges hash to ${planIdOf(body)})`, { retryable: false });
    }
    const plan = segmentPlanOf(request.plan, body.segments);
    const probe = probeFromStreams(request.streams, plan);
    const joined = await joinSegmentsToBlob(
      deps,
      {
        plan,
        segments: request.segments.map((segment) => ({
          index: segment.index,
          video: storedFile(request, segment, "video"),
          audio: storedFile(request, segment, "audio"),
          audioPreRollInSeconds: segment.audioPreRollInSeconds ?? 0,
          lengthInSeconds: segment.lengthInSeconds,
          frames: segment.frames,
        })),
        expected: joinExpectation(request, plan, probe),
        target: { evidenceId: request.evidenceId, ...(request.reprocess === undefined ? {} : { reprocessId: request.reprocess.id }) },
      },
      // Each run is kept on the session as it is made: a failed join's result still names them.
      { abortSignal: context.abortSignal, log: session.log, stallTimeoutInMs: options.stallTimeoutInMs, onRun: (run) => session.runs.push(run) },
    );
    const manifest = await writeManifest(session, request, body, plan, probe);
    const provenance: StageProvenance = { ...session.provenance(), runs: joined.runs.slice(0, 32) };
    session.log.info("proxy joined and published", { segments: request.segments.length, renditions: joined.renditions.map((r) => r.name) });
    return { outcome: "succeeded", renditions: [...joined.renditions, manifest], provenance };
  } catch (error) {
    throw session.failure(error);
  } finally {
    await session.cleanup();
  }
}

/** What the joined proxy must be: the single-run proxy's expectation of these streams, held to the join's tolerances. */
function joinExpectation(request: JoinRequestMessage, plan: SegmentPlan, probe: MediaProbe): Omit<JoinExpectation, "segmentFrames"> {
  const proxy = planTranscode(probe, { maxSide: request.plan.maxSide, outputPath: "proxy" }).expected;
  const video = probe.streams.find((s) => s.index === plan.videoIndex);
  const audio = probe.streams.find((s) => s.index === plan.audioIndex);
  return {
    ...proxy,
    durationInSeconds: plan.durationInSeconds,
    frameRate: video?.frameRate,
    videoDurationInSeconds: video?.durationInSeconds,
    audioDurationInSeconds: audio?.durationInSeconds,
    audioStatedSlackInSeconds: aacStatedSlack(audio?.codec, audio?.sampleRate),
  };
}

/** Where a segment's file of `stream` is stored, with the digest its result claimed (the join checks it). */
function storedFile(request: JoinRequestMessage, segment: JoinRequestMessage["segments"][number], stream: "video" | "audio"): JoinSegmentFile | undefined {
  const file = segment.files.find((f) => f.stream === stream);
  if (file === undefined) return undefined;
  const name = derivedBlobName({ evidenceId: request.evidenceId, stage: "transcode", name: file.name, reprocessId: request.reprocess?.id });
  return { blob: { container: DERIVED_CONTAINER, name }, sha256: file.sha256 };
}

/** The plan as the plan run claimed it: the shape and the ranges (its canonical JSON hashes to the plan id). */
function planBody(request: JoinRequestMessage): SegmentPlanBody {
  const segments = request.segments.map((s) => ({
    index: s.index,
    startInMicroseconds: s.startInMicroseconds,
    ...(s.endInMicroseconds === undefined ? {} : { endInMicroseconds: s.endInMicroseconds }),
  }));
  return { ...request.plan, segments };
}

/**
 * The segment manifest: canonical JSON (sorted keys), so its digest is the same for the same
 * segments. Each segment's encode arguments are the ones its run was planned with, the output
 * paths named as the files were uploaded (the run itself wrote them to a temporary folder).
 */
async function writeManifest(session: MediaSession, request: JoinRequestMessage, body: SegmentPlanBody, plan: SegmentPlan, probe: MediaProbe): Promise<Rendition> {
  const segments = request.segments.map((segment, i) => {
    const range = body.segments[i];
    const named = (stream: "video" | "audio") => segment.files.find((f) => f.stream === stream)?.name ?? `segment-${stream}.mp4`;
    const encode = planSegmentEncode(probe, plan, range, { maxSide: request.plan.maxSide, videoOutputPath: named("video"), audioOutputPath: named("audio") });
    return {
      ...range,
      files: segment.files.map((f) => ({ stream: f.stream, name: f.name, size: f.size, sha256: f.sha256 })),
      frames: segment.frames,
      audioPreRollInSeconds: segment.audioPreRollInSeconds,
      lengthInSeconds: segment.lengthInSeconds,
      encode: { seek: encode.seek, arguments: encode.arguments },
      // The tools that encoded this segment, as its run reported them (the join's own are `tools`).
      ...(segment.toolsIndex === undefined || request.segmentTools?.[segment.toolsIndex] === undefined ? {} : { encodedWith: request.segmentTools[segment.toolsIndex] }),
    };
  });
  const manifest = {
    schemaVersion: 1,
    kind: "segment-manifest",
    evidenceId: request.evidenceId,
    planId: request.planId,
    plan: body,
    streams: request.streams,
    source: session.provenance().source,
    tools: session.tools(),
    segments,
  };
  const file = path.join(await session.tempDir(), SEGMENT_MANIFEST_NAME);
  await writeFile(file, canonicalJson(manifest));
  return session.upload("segment-manifest", file, SEGMENT_MANIFEST_NAME, "application/json", { segmentCount: segments.length });
}
