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
import type { HashResult, ReportedMediaProbe, PipelineStage, Rendition, ReprocessRequest, RetryRound, StageProvenance, StageResultMessage } from "../contracts/messages";
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
  const startedAt = new Date().toISOString();
  const base = {
    schemaVersion: 1 as const,
    kind: "stage-result" as const,
    evidenceId: options.evidenceId,
    stage: options.stage,
    // Runs so far: earlier rounds plus this round's deliveries (a redelivery after a crash counts).
    attempt: context.attempt + (options.retry?.round ?? 0),
    startedAt,
    actor: context.actor,
    ...(options.reprocess === undefined ? {} : { reprocess: { ...options.reprocess } }),
    ...(options.retry === undefined ? {} : { retry: { ...options.retry } }),
  };
  let result: StageResultMessage;
  try {
    const done = await work();
    result = { ...base, ...done, final: true, finishedAt: new Date().toISOString() };
  } catch (error) {
    const failure = toCustodyError(error);
    result = {
      ...base,
      outcome: "failed",
      final: !failure.retryable,
      finishedAt: new Date().toISOString(),
      error: { code: failure.code, message: truncate(failure.message, 4000), retryable: failure.retryable },
    };
    if (failure instanceof StageFailure) {
      if (failure.details.media !== undefined) result.media = failure.details.media;
      if (failure.details.provenance !== undefined) result.provenance = failure.details.provenance;
    }
    context.log.warn(`${options.stage} failed${failure.retryable ? " (transient: the index schedules a retry)" : ""}`, {
      evidenceId: options.evidenceId,
      attempt: base.attempt,
      round: options.retry?.round ?? 0,
      code: failure.code,
      retryable: failure.retryable,
      error: failure.message,
    });
  }
  await options.publisher.publish(options.resultsEntity, {
    messageId: stageResultMessageId(result),
    body: result,
    subject: "stage-result",
    correlationId: options.evidenceId,
    applicationProperties: { stage: result.stage, outcome: result.outcome },
    traceparent: context.traceparent,
  });
  return result;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
