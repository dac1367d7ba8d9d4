/**
 * The transcode stage's first run (segment-parallel transcode, docs/architecture.md "Long
 * recordings"): probe the exact original through a short-lived read URL and cut it into
 * segments (shared/media/segment-plan.ts), then claim the plan with a `segment-plan` message on
 * the media app's results queue. The index records the plan and hands out one `segment-request`
 * per segment; this run encodes nothing, so it takes seconds whatever the recording's length.
 * A short recording is one segment on the same path.
 *
 * Failures are the transcode stage's, reported exactly as a single-run transcode reported them:
 * a failed `stage-result` (unsupported or implausible media final, storage and network trouble
 * transient), carrying the probe and the runs so far.
 */
import { segmentPlanMessageId } from "../contracts/message-ids";
import type { EvidenceReceivedMessage, ReportedMediaProbe, ReportedStream, SegmentPlanBody, SegmentPlanMessage, StageResultMessage } from "../contracts/messages";
import { planIdOf } from "../evidence/segment-run";
import { DEFAULT_SEGMENT_SECONDS, planSegments, segmentTargetSeconds } from "../media/segment-plan";
import { DEFAULT_PROXY_MAX_SIDE } from "../media/transcode-plan";
import type { Publisher } from "../ports/publisher";
import { MediaSession, type MediaStageDeps } from "./media-session";
import { runStageReportingFailure } from "./report-stage";
import type { StageContext } from "./stage-context";

export interface TranscodePlanOptions {
  /** Longest side of the proxy (CUSTODY_PROXY_MAX_SIDE); default 1280. */
  maxSide?: number;
  /** Segment length (CUSTODY_SEGMENT_SECONDS); default {@link DEFAULT_SEGMENT_SECONDS}. */
  segmentSeconds?: number;
}

/** A recording's plan as the claim carries it. */
export interface PlannedTranscode {
  planId: string;
  plan: SegmentPlanBody;
  /** The mapped streams (video first, then audio), as the probe described them. */
  streams: ReportedStream[];
  media: ReportedMediaProbe;
}

/** Probes the original and plans its segments; throws a StageFailure (probe and runs kept) when it cannot. */
export async function planOriginalTranscode(input: EvidenceReceivedMessage, deps: MediaStageDeps, context: StageContext, options: TranscodePlanOptions = {}): Promise<PlannedTranscode> {
  const session = new MediaSession(input, "transcode", deps, context);
  try {
    const probe = await session.open();
    const configured = options.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS;
    // The duration the planner settles on (over the mapped streams) decides whether the length must grow.
    const first = planSegments(probe, { targetSeconds: configured });
    const targetSeconds = segmentTargetSeconds(first.durationInSeconds, configured);
    const segmented = targetSeconds === configured ? first : planSegments(probe, { targetSeconds });
    const plan = withoutUndefined<SegmentPlanBody>({ ...segmented, targetSeconds, maxSide: options.maxSide ?? DEFAULT_PROXY_MAX_SIDE });
    const streams = [plan.videoIndex, plan.audioIndex].flatMap((index) => probe.streams.filter((s) => index !== undefined && s.index === index));
    const planId = planIdOf(plan);
    session.log.info("transcode planned", { planId, kind: plan.kind, segments: plan.segments.length, targetSeconds, durationInSeconds: plan.durationInSeconds });
    return { planId, plan, streams, media: probe };
  } catch (error) {
    throw session.failure(error);
  }
}

export interface PlanReportOptions {
  publisher: Publisher;
  /** The media app's results queue (ENTITIES.mediaResults). */
  resultsEntity: string;
}

/** The plan run: the `segment-plan` claim on success, the transcode stage's failed `stage-result` otherwise. */
export async function planAndReportTranscode(
  input: EvidenceReceivedMessage,
  deps: MediaStageDeps,
  context: StageContext,
  options: TranscodePlanOptions,
  report: PlanReportOptions,
): Promise<SegmentPlanMessage | StageResultMessage> {
  return runStageReportingFailure(
    { stage: "transcode", evidenceId: input.evidenceId, publisher: report.publisher, resultsEntity: report.resultsEntity, reprocess: input.reprocess, retry: input.retry },
    context,
    () => planOriginalTranscode(input, deps, context, options),
    async (planned, run) => {
      const claim: SegmentPlanMessage = {
        schemaVersion: 1,
        kind: "segment-plan",
        evidenceId: input.evidenceId,
        planId: planned.planId,
        plan: planned.plan,
        streams: planned.streams,
        media: planned.media,
        attempt: run.attempt,
        startedAt: run.startedAt,
        finishedAt: new Date().toISOString(),
        actor: context.actor,
        ...(input.reprocess === undefined ? {} : { reprocess: { ...input.reprocess } }),
        ...(input.retry === undefined ? {} : { retry: { ...input.retry } }),
        // The message this run answered: a redelivery of it is the same claim; a new one (a
        // stage retry, a reconcile's re-announcement, a redrive) makes the index re-send what the run still owes.
        ...(context.messageId === undefined ? {} : { trigger: context.messageId.slice(0, 256) }),
      };
      await report.publisher.publish(report.resultsEntity, {
        messageId: segmentPlanMessageId(claim),
        body: claim,
        subject: "segment-plan",
        correlationId: input.evidenceId,
        applicationProperties: { stage: "transcode", segments: claim.plan.segments.length },
        traceparent: context.traceparent,
      });
      return claim;
    },
  );
}

/** The plan without absent fields: its id is over its canonical JSON, which a reader re-serialises from the parsed message. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}
