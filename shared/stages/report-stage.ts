/**
 * Runs a pipeline stage for one recording and reports its outcome on the results queue —
 * success, skip, or failure — so the index can record attempts and the last error.
 *
 * Retry policy: a deterministic failure (CustodyError with retryable=false) is reported as
 * final: retrying cannot help. A transient failure (storage or broker unreachable, throttling,
 * a stalled media run) is reported as NOT final, and the input message is completed all the
 * same: the index schedules the stage's next round with backoff (stage-retry.ts) and decides
 * when the retry budget — a time, not a delivery count — is spent. Abandoning instead would
 * bring the message straight back and use up MaxDeliveryCount in seconds. Only when the
 * report itself cannot be sent does the error propagate (the host abandons the message and
 * Service Bus redelivers it); MaxDeliveryCount is for that, for poison messages and crashes.
 */
import { stageResultMessageId } from "../contracts/message-ids";
import type { HashResult, ReportedMediaProbe, PipelineStage, Rendition, ReprocessRequest, RetryRound, StageError, StageProvenance, StageResultMessage } from "../contracts/messages";
import { CustodyError, toCustodyError } from "../errors";
import type { Publisher } from "../ports/publisher";
import type { StageContext } from "./stage-context";

/** What media stages add to any outcome (see StageResultMessage). */
export interface StageMediaDetails {
  media?: ReportedMediaProbe;
  renditions?: Rendition[];
  provenance?: StageProvenance;
}

export type StageWork =
  ({ outcome: "succeeded"; inputSha256?: string; hash?: HashResult } & StageMediaDetails) | ({ outcome: "skipped"; skipReason: string; inputSha256?: string } & StageMediaDetails);

/**
 * A failure that carries what the stage learned before failing (the probe, the runs made), so
 * a recording that fails transcoding still has its media description and the exact arguments
 * on the record.
 */
export class StageFailure extends CustodyError {
  readonly details: Omit<StageMediaDetails, "renditions">;

  constructor(cause: CustodyError, details: Omit<StageMediaDetails, "renditions">) {
    super(cause.code, cause.message, { cause: cause.cause ?? cause, retryable: cause.retryable });
    this.details = details;
  }
}

export interface ReportStageOptions {
  stage: PipelineStage;
  evidenceId: string;
  publisher: Publisher;
  /** Queue the result goes to (ENTITIES.stageResults). */
  resultsEntity: string;
  /** The operator's request when the input message came from `custody reprocess`. */
  reprocess?: ReprocessRequest;
  /** The retry round when the input message is a retry the index scheduled. */
  retry?: RetryRound;
}

export async function runAndReportStage(options: ReportStageOptions, context: StageContext, work: () => Promise<StageWork>): Promise<StageResultMessage> {
  return runStageReportingFailure(options, context, work, async (done, run) => {
    const result: StageResultMessage = { ...stageResultBase(options, context, run), ...done, final: true, finishedAt: new Date().toISOString() };
    await publishStageResult(options, context, result);
    return result;
  });
}

/** What a run knows before its work starts: when, and which attempt (earlier rounds plus this round's deliveries). */
export interface StageRun {
  startedAt: string;
  attempt: number;
}

/**
 * Like runAndReportStage, for a run whose success is reported as another message (the
 * transcode's plan claim): `work` runs; its failure is the stage's failed `stage-result`, as
 * runAndReportStage reports it; its success goes to `reportSuccess`, whose own failure (the
 * report could not be sent) propagates.
 */
export async function runStageReportingFailure<T, R>(
  options: ReportStageOptions,
  context: StageContext,
  work: () => Promise<T>,
  reportSuccess: (done: T, run: StageRun) => Promise<R>,
): Promise<R | StageResultMessage> {
  const run: StageRun = { startedAt: new Date().toISOString(), attempt: stageAttempt(context, options.retry) };
  let done: T;
  try {
    done = await work();
  } catch (error) {
    const failure = toCustodyError(error);
    const reported = reportedFailure(failure, options.stage, { evidenceId: options.evidenceId, attempt: run.attempt, round: options.retry?.round ?? 0 }, context);
    const result: StageResultMessage = { ...stageResultBase(options, context, run), outcome: "failed", final: !reported.retryable, finishedAt: new Date().toISOString(), error: reported };
    if (failure instanceof StageFailure) {
      if (failure.details.media !== undefined) result.media = failure.details.media;
      if (failure.details.provenance !== undefined) result.provenance = failure.details.provenance;
    }
    await publishStageResult(options, context, result);
    return result;
  }
  return reportSuccess(done, run);
}

/** Runs so far: earlier rounds plus this round's deliveries (a redelivery after a crash counts). */
export function stageAttempt(context: StageContext, retry: RetryRound | undefined): number {
  return context.attempt + (retry?.round ?? 0);
}

function stageResultBase(options: ReportStageOptions, context: StageContext, run: StageRun) {
  return {
    schemaVersion: 1 as const,
    kind: "stage-result" as const,
    evidenceId: options.evidenceId,
    stage: options.stage,
    attempt: run.attempt,
    startedAt: run.startedAt,
    actor: context.actor,
    ...(options.reprocess === undefined ? {} : { reprocess: { ...options.reprocess } }),
    ...(options.retry === undefined ? {} : { retry: { ...options.retry } }),
  };
}

async function publishStageResult(options: ReportStageOptions, context: StageContext, result: StageResultMessage): Promise<void> {
  await options.publisher.publish(options.resultsEntity, {
    messageId: stageResultMessageId(result),
    body: result,
    subject: "stage-result",
    correlationId: options.evidenceId,
    applicationProperties: { stage: result.stage, outcome: result.outcome },
    traceparent: context.traceparent,
  });
}

/**
 * A run's failure as its report carries it (the `error` field), logged once — a transient one
 * saying the index schedules the retry. For every reporter: stages, the signing of images.
 */
export function reportedFailure(error: unknown, what: string, fields: Record<string, unknown>, context: StageContext): StageError {
  const failure = stageError(error);
  context.log.warn(`${what} failed${failure.retryable ? " (transient: the index schedules a retry)" : ""}`, { ...fields, code: failure.code, retryable: failure.retryable, error: failure.message });
  return failure;
}

/** A message's error field from any failure (classified, bounded). */
export function stageError(error: unknown): StageError {
  const failure = toCustodyError(error);
  return { code: failure.code, message: truncate(failure.message, 4000), retryable: failure.retryable };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
