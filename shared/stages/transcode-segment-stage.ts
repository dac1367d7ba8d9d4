/**
 * One segment of the segment-parallel transcode (a `segment-request` from the index): read only
 * the segment's part of the exact original through a short-lived read URL (input seeking),
 * encode it as the proxy is encoded (shared/media/segment-plan.ts planSegmentEncode), check the
 * outputs, and upload them — content-addressed, `segment-<index>-<video|audio>-<first 16 hex of
 * the SHA-256>.mp4` in the run's transcode folder, so a run that produced other bytes (another
 * binary) never overwrites what an earlier result named. The outcome is a `segment-result`
 * claim on the media app's results queue.
 *
 * Bounded per run whatever the recording's length: local disk holds the segment's two files
 * (removed when the run ends), and the run is limited by the stall window and a ceiling from
 * the segment's own duration.
 *
 * Failures are classified as the single-run transcode's: unsupported or corrupt input, a crash
 * or an output that fails its check are final; storage and network trouble, stalls and aborts
 * are not. Either way the result is reported and the request completed: the index schedules
 * the retry of that one segment, or fails the stage naming it.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { segmentResultMessageId } from "../contracts/message-ids";
import type { SegmentFile, SegmentRequestMessage, SegmentResultMessage, StageProvenance } from "../contracts/messages";
import { CustodyError } from "../errors";
import type { MediaProbe } from "../media/probe";
import { mediaRunLimits } from "../media/run-limits";
import { planSegmentEncode, type SegmentPlan } from "../media/segment-plan";
import { verificationFailure } from "../media/verify-output";
import type { Publisher } from "../ports/publisher";
import { MediaSession, type MediaStageDeps } from "./media-session";
import { stageAttempt, stageError, StageFailure } from "./report-stage";
import type { StageContext } from "./stage-context";

export interface SegmentRunOptions {
  /** How long ffmpeg may make no progress (CUSTODY_MEDIA_STALL_TIMEOUT_MS); default the media tool's. */
  stallTimeoutInMs?: number;
}

/** What a segment run produced (the success part of a segment-result). */
export interface EncodedSegmentFiles {
  files: SegmentFile[];
  frames?: number;
  audioPreRollInSeconds: number;
  lengthInSeconds?: number;
  provenance: StageProvenance;
}

/** The probe a segment's encode is planned from: the plan's mapped streams as the plan run reported them. */
export function probeFromStreams(streams: SegmentRequestMessage["streams"], plan: Pick<SegmentPlan, "videoIndex" | "audioIndex" | "durationInSeconds">): MediaProbe {
  return {
    container: "planned",
    durationInSeconds: plan.durationInSeconds,
    streams: streams.map((s) => ({ ...s, index: s.index ?? -1 })),
    primaryVideoIndex: plan.videoIndex,
    primaryAudioIndex: plan.audioIndex,
    dataTracks: [],
  };
}

/** The plan as the media core takes it, with only the ranges given. */
export function segmentPlanOf(shape: SegmentRequestMessage["plan"], segments: SegmentPlan["segments"]): SegmentPlan {
  return { kind: shape.kind, videoIndex: shape.videoIndex, audioIndex: shape.audioIndex, audioSampleRate: shape.audioSampleRate, durationInSeconds: shape.durationInSeconds, segments };
}

/** `segment-00042-video-0123456789abcdef.mp4` */
export function segmentFileName(index: number, stream: "video" | "audio", sha256: string): string {
  return `segment-${String(index).padStart(5, "0")}-${stream}-${sha256.slice(0, 16)}.mp4`;
}

/** Encodes and uploads one segment; throws a StageFailure (runs kept) when it cannot. */
export async function encodeSegment(request: SegmentRequestMessage, deps: MediaStageDeps, context: StageContext, options: SegmentRunOptions = {}): Promise<EncodedSegmentFiles> {
  const session = new MediaSession(request, "transcode", deps, context);
  try {
    await session.loadVersions();
    const dir = await session.tempDir();
    const plan = segmentPlanOf(request.plan, [request.segment]);
    const probe = probeFromStreams(request.streams, plan);
    const outputs = { video: path.join(dir, "segment-video.mp4"), audio: path.join(dir, "segment-audio.mp4") };
    const encode = planSegmentEncode(probe, plan, request.segment, { maxSide: request.plan.maxSide, videoOutputPath: outputs.video, audioOutputPath: outputs.audio });
    const video = probe.streams.find((s) => s.type === "video" && s.index === plan.videoIndex);
    const limits = mediaRunLimits({ durationInSeconds: encode.seek.durationInSeconds ?? plan.durationInSeconds, video }, options.stallTimeoutInMs);
    session.log.info("segment planned", { segment: request.segment.index, of: request.segmentCount, seek: encode.seek });
    await session.runPart("segment", encode.arguments, limits, encode.seek);
    // Where the store keeps no versions, the original could have been replaced while ffmpeg read it.
    await session.checkOriginalUnchanged();

    const streams: Array<"video" | "audio"> = [];
    if (plan.videoIndex !== undefined) streams.push("video");
    if (plan.audioIndex !== undefined) streams.push("audio");
    let frames: number | undefined;
    const files: SegmentFile[] = [];
    for (const stream of streams) {
      const file = outputs[stream];
      const size = await session.sizeOf(file);
      if (size === undefined || size === 0) throw verificationFailure(`segment ${request.segment.index} ${stream}`, [size === undefined ? "ffmpeg wrote no file" : "the file is empty"]);
      const output = await session.probeFile(file);
      const found = output.streams.filter((s) => s.type === stream);
      if (found.length !== 1) throw verificationFailure(`segment ${request.segment.index} ${stream}`, [`expected one ${stream} stream, found ${found.length}`]);
      if (stream === "video") {
        frames = found[0].frames;
        if (frames === undefined || frames === 0) throw verificationFailure(`segment ${request.segment.index} video`, [frames === 0 ? "it has no frames" : "its frame count is unknown"]);
      }
      const sha256 = await sha256Of(file);
      const name = segmentFileName(request.segment.index, stream, sha256);
      const written = await session.write(file, name, stream === "video" ? "video/mp4" : "audio/mp4");
      if (written.sha256 !== sha256 || written.size !== size) {
        // The file changed between hashing and uploading: a local fault, worth another try.
        throw new CustodyError("Internal", `segment ${request.segment.index} ${stream}: the upload sent ${written.size} bytes with SHA-256 ${written.sha256}, the file had ${size} with ${sha256}`, {
          retryable: true,
        });
      }
      files.push({ stream, name, size, sha256 });
    }
    session.log.info("segment published", { segment: request.segment.index, frames, files: files.map((f) => f.name) });
    return {
      files,
      ...(frames === undefined ? {} : { frames }),
      audioPreRollInSeconds: encode.audioPreRollInSeconds,
      ...(encode.lengthInSeconds === undefined ? {} : { lengthInSeconds: encode.lengthInSeconds }),
      provenance: session.provenance(),
    };
  } catch (error) {
    throw session.failure(error);
  } finally {
    await session.cleanup();
  }
}

export interface SegmentReportOptions {
  publisher: Publisher;
  /** The media app's results queue (ENTITIES.mediaResults). */
  resultsEntity: string;
}

/** The segment run: encode, upload, and claim the outcome (success or failure) as a `segment-result`. */
export async function encodeAndReportSegment(
  request: SegmentRequestMessage,
  deps: MediaStageDeps,
  context: StageContext,
  options: SegmentRunOptions,
  report: SegmentReportOptions,
): Promise<SegmentResultMessage> {
  const startedAt = new Date().toISOString();
  const base = {
    schemaVersion: 1 as const,
    kind: "segment-result" as const,
    evidenceId: request.evidenceId,
    planId: request.planId,
    segmentCount: request.segmentCount,
    segment: { ...request.segment },
    attempt: stageAttempt(context, request.retry),
    startedAt,
    actor: context.actor,
    ...(request.reprocess === undefined ? {} : { reprocess: { ...request.reprocess } }),
    ...(request.retry === undefined ? {} : { retry: { ...request.retry } }),
  };
  let result: SegmentResultMessage;
  try {
    const encoded = await encodeSegment(request, deps, context, options);
    result = { ...base, outcome: "succeeded", final: true, finishedAt: new Date().toISOString(), ...encoded };
  } catch (error) {
    const failure = stageError(error);
    result = { ...base, outcome: "failed", final: !failure.retryable, finishedAt: new Date().toISOString(), error: failure };
    if (error instanceof StageFailure && error.details.provenance !== undefined) result.provenance = error.details.provenance;
    context.log.warn(`segment ${request.segment.index} failed${failure.retryable ? " (transient: the index schedules a retry)" : ""}`, {
      evidenceId: request.evidenceId,
      planId: request.planId,
      segment: request.segment.index,
      attempt: base.attempt,
      code: failure.code,
      retryable: failure.retryable,
      error: failure.message,
    });
  }
  await report.publisher.publish(report.resultsEntity, {
    messageId: segmentResultMessageId(result),
    body: result,
    subject: "segment-result",
    correlationId: request.evidenceId,
    applicationProperties: { stage: "transcode", segment: request.segment.index, outcome: result.outcome },
    traceparent: context.traceparent,
  });
  return result;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}
