/**
 * Deterministic Service Bus message ids. The same input always yields the same id, so the
 * entities' duplicate detection drops re-sends after a crash or a redelivery, while the
 * handlers' idempotency covers whatever falls outside the detection window.
 */
import type { PipelineStage, StageResultMessage } from "./messages";

export function evidenceReceivedMessageId(evidenceId: string): string {
  return `${evidenceId}:received`;
}

/**
 * Each attempt's report is distinct (attempt number and outcome are part of it). A final
 * failure is marked as such: a redriven message starts counting attempts at 1 again, and its
 * final failure must not share an id with the first run's non-final attempt of that number.
 */
export function stageResultMessageId(result: Pick<StageResultMessage, "evidenceId" | "stage" | "attempt" | "outcome" | "final" | "reprocess" | "retry">): string {
  const suffix = result.outcome === "failed" && result.final ? ":final" : "";
  // A reprocess run counts its attempts from 1 again: without the request id its result would
  // be taken for the first run's (dropped by duplicate detection and by the custody log key).
  const run = result.reprocess === undefined ? "" : `:reprocess-${result.reprocess.id}`;
  // Likewise each retry round: a redelivery within one round and the next round may report the same attempt number.
  const round = result.retry === undefined ? "" : `:retry-${result.retry.round}`;
  return `${result.evidenceId}:${result.stage}${run}${round}:${result.attempt}:${result.outcome}${suffix}`;
}

/** The evidence-received message the index sends to one stage's subscription for retry round `round` (see EvidenceReceivedMessage.retry). */
export function stageRetryMessageId(evidenceId: string, stage: PipelineStage, round: number, reprocessId?: string): string {
  return `${evidenceId}:received${reprocessId === undefined ? "" : `:reprocess-${reprocessId}`}:retry-${round}:${stage}`;
}

/** The reprocess request a stage-result message id belongs to (see stageResultMessageId); undefined for a pipeline run. */
export function reprocessIdOf(stageResultId: string): string | undefined {
  return /:reprocess-([A-Za-z0-9-]+):/.exec(stageResultId)?.[1];
}

/** The evidence-received message a `custody reprocess` run sends to one stage's subscription. */
export function reprocessMessageId(evidenceId: string, requestId: string, stage: PipelineStage): string {
  return `${evidenceId}:received:reprocess-${requestId}:${stage}`;
}

export function evidenceReadyMessageId(evidenceId: string): string {
  return `${evidenceId}:ready`;
}

export function evidenceFailedMessageId(evidenceId: string): string {
  return `${evidenceId}:failed`;
}

/** One fixity check of a recording: its time is part of it, so each check is its own custody log entry. */
export function fixityResultMessageId(result: { evidenceId: string; checkedAt: string }): string {
  return `${result.evidenceId}:fixity:${result.checkedAt}`;
}

export type { PipelineStage };
