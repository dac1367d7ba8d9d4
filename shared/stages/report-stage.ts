/**
 * Runs a pipeline stage for one recording and reports its outcome on the stage-results
 * queue — success, skip, or failure — so the index can record attempts and the last error
 * even while the input message is still being retried.
 *
 * Retry policy: a deterministic failure (CustodyError with retryable=false) is reported as
 * final and the input message is completed: retrying cannot help. A transient failure is
 * reported as non-final and rethrown, so the host abandons the message and Service Bus
 * redelivers it; on the last attempt the entity allows (MaxDeliveryCount) it is reported as
 * final, so the recording reaches `failed` even though the message then goes to the
 * dead-letter queue, from where `custody dlq redrive` can retry it.
 */
import { stageResultMessageId } from "../contracts/message-ids";
import type { HashResult, MediaProbe, PipelineStage, Rendition, ReprocessRequest, StageProvenance, StageResultMessage } from "../contracts/messages";
import { CustodyError, toCustodyError } from "../errors";
import type { Publisher } from "../ports/publisher";
import type { StageContext } from "./stage-context";

/** What media stages add to any outcome (see StageResultMessage). */
export interface StageMediaDetails {
  media?: MediaProbe;
  renditions?: Rendition[];
  provenance?: StageProvenance;
}

export type StageWork =
  | ({ outcome: "succeeded"; inputSha256?: string; hash?: HashResult } & StageMediaDetails)
  | ({ outcome: "skipped"; skipReason: string; inputSha256?: string } & StageMediaDetails);

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
}

export async function runAndReportStage(options: ReportStageOptions, context: StageContext, work: () => Promise<StageWork>): Promise<StageResultMessage> {
  const startedAt = new Date().toISOString();
  const base = {
    schemaVersion: 1 as const,
    kind: "stage-result" as const,
    evidenceId: options.evidenceId,
    stage: options.stage,
    attempt: context.attempt,
    startedAt,
    actor: context.actor,
    ...(options.reprocess === undefined ? {} : { reprocess: { ...options.reprocess } }),
  };
  let result: StageResultMessage;
  let rethrow: unknown;
  try {
    const done = await work();
    result = { ...base, ...done, final: true, finishedAt: new Date().toISOString() };
  } catch (error) {
    const failure = toCustodyError(error);
    const lastAttempt = context.attempt >= context.maxAttempts;
    result = {
      ...base,
      outcome: "failed",
      final: !failure.retryable || lastAttempt,
      finishedAt: new Date().toISOString(),
      error: { code: failure.code, message: truncate(failure.message, 4000), retryable: failure.retryable },
    };
    if (failure instanceof StageFailure) {
      if (failure.details.media !== undefined) result.media = failure.details.media;
      if (failure.details.provenance !== undefined) result.provenance = failure.details.provenance;
    }
    context.log.warn(`${options.stage} failed`, {
      evidenceId: options.evidenceId,
      attempt: context.attempt,
      maxAttempts: context.maxAttempts,
      code: failure.code,
      retryable: failure.retryable,
      error: failure.message,
    });
    if (failure.retryable) rethrow = failure;
  }
  await options.publisher.publish(options.resultsEntity, {
    messageId: stageResultMessageId(result),
    body: result,
    subject: "stage-result",
    correlationId: options.evidenceId,
    applicationProperties: { stage: result.stage, outcome: result.outcome },
    traceparent: context.traceparent,
  });
  if (rethrow) throw rethrow;
  return result;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
