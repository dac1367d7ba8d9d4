/**
 * What the index sends to retry a stage that failed for a transient cause: the recording's
 * evidence-received message rebuilt from its record, addressed to that stage's subscription
 * only (the redrive rule, `custodyRedriveTo = <stage>`), carrying the round and when the chain
 * first failed, and enqueued only when the backoff says (scheduled message).
 *
 * Why the index and not the stage: the stages that parse untrusted media have no Send right
 * on `evidence-received` (a forged message there could start any stage on any recording);
 * the index already holds the record the message is rebuilt from, and decides when the
 * budget is spent. Pure: no I/O.
 */
import { stageRetryMessageId } from "../contracts/message-ids";
import type { EvidenceReceivedMessage, StageResultMessage } from "../contracts/messages";
import { CustodyError } from "../errors";
import type { OutgoingMessage } from "../contracts/envelopes";
import { ROUTE_TO_SUBSCRIPTION_PROPERTY } from "../topology";
import type { EvidenceRecord } from "./record";
import { nextRetryAt } from "./record-merge";
import type { RetryPolicy } from "./retry-policy";

export function buildStageRetryMessage(record: EvidenceRecord, failure: StageResultMessage, policy: RetryPolicy): OutgoingMessage & { body: EvidenceReceivedMessage } {
  if (record.original === undefined || record.uploadedAt === undefined) {
    throw new CustodyError("Internal", `${record.evidenceId}: a retry cannot be built before the record names its original`, { retryable: true });
  }
  const round = (failure.retry?.round ?? 0) + 1;
  const firstFailedAt = failure.retry?.firstFailedAt ?? failure.finishedAt;
  const body: EvidenceReceivedMessage = {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: record.evidenceId,
    original: { ...record.original },
    acceptance: record.rejection === undefined ? { status: "accepted" } : { status: "rejected", reasons: record.rejection.reasons.map((r) => ({ ...r })) },
    uploadedAt: record.uploadedAt,
    sourceEventId: `custody-retry:${failure.stage}:${round}`,
    retry: { round, firstFailedAt },
  };
  if (record.capture !== undefined) body.capture = { ...record.capture };
  if (failure.reprocess !== undefined) body.reprocess = { ...failure.reprocess };
  const applicationProperties: Record<string, string | number> = {
    evidenceId: record.evidenceId,
    acceptance: body.acceptance.status,
    [ROUTE_TO_SUBSCRIPTION_PROPERTY]: failure.stage,
    custodyRetryRound: round,
  };
  if (failure.reprocess !== undefined) applicationProperties.custodyReprocessId = failure.reprocess.id;
  return {
    messageId: stageRetryMessageId(record.evidenceId, failure.stage, round, failure.reprocess?.id),
    body,
    contentType: "application/json",
    subject: "evidence-received",
    correlationId: record.evidenceId,
    applicationProperties,
    scheduledEnqueueTime: new Date(nextRetryAt(failure, policy)),
  };
}
