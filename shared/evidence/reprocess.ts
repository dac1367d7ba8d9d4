/**
 * What `custody reprocess` sends: the recording's evidence-received message rebuilt from its
 * index record, with the operator's request attached, addressed to ONE stage's subscription.
 *
 * Routing reuses the dead-letter redrive's rule (topology/servicebus.json): the message carries
 * `custodyRedriveTo = <stage>`, which only that subscription's `redrive` rule accepts — every
 * other subscription of `evidence-received` (index included) requires the property to be
 * absent. So a transcode re-run does not also re-run the thumbnails, re-hash the original or
 * re-announce the recording.
 *
 * Only the media stages can be re-run. Re-hashing an original is a fixity check (`custody
 * verify`): the hash recorded at ingest is the recording's fingerprint and is never replaced.
 * Pure: no I/O.
 */
import { reprocessMessageId } from "../contracts/message-ids";
import type { EvidenceReceivedMessage, PipelineStage, ReprocessRequest } from "../contracts/messages";
import { CustodyError } from "../errors";
import type { VerbatimMessage } from "../contracts/envelopes";
import { ROUTE_TO_SUBSCRIPTION_PROPERTY } from "../topology";
import type { EvidenceRecord } from "./record";

export const REPROCESSABLE_STAGES = ["transcode", "thumbnail"] as const satisfies readonly PipelineStage[];
export type ReprocessableStage = (typeof REPROCESSABLE_STAGES)[number];

export function isReprocessableStage(stage: string): stage is ReprocessableStage {
  return (REPROCESSABLE_STAGES as readonly string[]).includes(stage);
}

/**
 * The message that re-runs `stage` for the recording `record` describes. Throws CustodyError
 * `InvalidMessage` (not retryable) when the record cannot be reprocessed: no original yet
 * (evidence-received never indexed), or a recording ingest rejected (it is only fingerprinted;
 * its media is never processed).
 */
export function buildReprocessMessage(record: EvidenceRecord, stage: ReprocessableStage, request: ReprocessRequest): VerbatimMessage & { body: EvidenceReceivedMessage } {
  if (record.original === undefined || record.uploadedAt === undefined) {
    throw new CustodyError(
      "InvalidMessage",
      `${record.evidenceId} cannot be reprocessed: its record names no original yet (status ${record.status}); \`custody reconcile\` re-announces recordings whose ingest never completed.`,
      { retryable: false },
    );
  }
  if (record.rejection !== undefined) {
    throw new CustodyError(
      "InvalidMessage",
      `${record.evidenceId} cannot be reprocessed: ingest rejected it (${record.rejection.reasons.map((r) => r.code).join(", ")}), so its media is not processed; fix the upload and upload it again.`,
      { retryable: false },
    );
  }
  const body: EvidenceReceivedMessage = {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: record.evidenceId,
    original: { ...record.original },
    acceptance: { status: "accepted" },
    uploadedAt: record.uploadedAt,
    sourceEventId: `custody-reprocess:${request.id}`,
    reprocess: { ...request },
  };
  if (record.capture !== undefined) body.capture = { ...record.capture };
  return {
    messageId: reprocessMessageId(record.evidenceId, request.id, stage),
    body,
    contentType: "application/json",
    subject: "evidence-received",
    correlationId: record.evidenceId,
    // As the pipeline's publisher sets them (evidenceId, acceptance), plus the route and the request.
    applicationProperties: { evidenceId: record.evidenceId, acceptance: "accepted", [ROUTE_TO_SUBSCRIPTION_PROPERTY]: stage, custodyReprocessId: request.id },
  };
}
