/**
 * Deterministic Service Bus message ids. The same input always yields the same id, so the
 * entities' duplicate detection drops re-sends after a crash or a redelivery, while the
 * handlers' idempotency covers whatever falls outside the detection window.
 */
import type { PipelineStage, StageResultMessage } from "./messages";

export function evidenceReceivedMessageId(evidenceId: string): string {
  return `${evidenceId}:received`;
}

/** Each attempt's report is distinct (attempt number and outcome are part of it). */
export function stageResultMessageId(result: Pick<StageResultMessage, "evidenceId" | "stage" | "attempt" | "outcome">): string {
  return `${result.evidenceId}:${result.stage}:${result.attempt}:${result.outcome}`;
}

export function evidenceReadyMessageId(evidenceId: string): string {
  return `${evidenceId}:ready`;
}

export function evidenceFailedMessageId(evidenceId: string): string {
  return `${evidenceId}:failed`;
}

export type { PipelineStage };
