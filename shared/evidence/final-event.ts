/**
 * The final event of a recording — evidence-ready or evidence-failed — as published on the
 * evidence-ready topic. Built from the record alone, so a re-publish after a crash sends the
 * same id with the same content. (A later issue formalises the body as CloudEvents 1.0; this
 * builder is the one place to change.)
 *
 * Decisions:
 * - A device-hash mismatch does not fail the recording: it is still evidence (the stored
 *   original is what it is, and it is fingerprinted), but it must not go unnoticed — the
 *   event is evidence-ready WITH the `integrityFindings`, for subscribers to flag it.
 * - A rejected recording (ingest refused its metadata/name/container/size) is announced with
 *   evidence-failed, `status: "rejected"`, `failure: { stage: "ingest", code: "Rejected" }`
 *   and the reasons, once it has been hashed: every recording ends with exactly one outcome
 *   event, and subscribers that track recordings do not wait forever for a rejected one.
 */
import type { CaptureMetadata, HashResult, OriginalRef, PipelineStage, RejectionReason } from "../contracts/messages";
import { CustodyError } from "../errors";
import type { OutgoingMessage } from "../ports/publisher";
import type { EvidenceRecord, EvidenceStatus, IntegrityFinding } from "./record";
import { failedRequiredStage, type FinalEventType } from "./record-merge";

export interface FinalEventFailure {
  stage: PipelineStage | "ingest";
  code: string;
  message: string;
  /** For a rejected recording: every reason ingest gave. */
  reasons?: RejectionReason[];
}

export interface FinalEventBody {
  type: FinalEventType;
  evidenceId: string;
  status: EvidenceStatus;
  original?: OriginalRef;
  capture?: Partial<CaptureMetadata>;
  /** The recording's hash without its segment digests (those stay on the index record). */
  hash?: Omit<HashResult, "segmentSha256"> & { segmentCount: number };
  integrityFindings: IntegrityFinding[];
  failure?: FinalEventFailure;
}

/**
 * The message for the record's `finalEvent`: deterministic id, subject = event type (the
 * subscriptions filter on `sys.Label`), and application properties for SQL filters
 * (`eventType`, `evidenceId`, `officerId`, `deviceId`, `status`; officer/device omitted when
 * a rejected recording has none).
 */
export function buildFinalEvent(record: EvidenceRecord): OutgoingMessage {
  const finalEvent = record.finalEvent;
  if (finalEvent === undefined) {
    throw new CustodyError("Internal", `evidence ${record.evidenceId} has no final event to publish (status ${record.status})`, { retryable: false });
  }
  const body: FinalEventBody = {
    type: finalEvent.type,
    evidenceId: record.evidenceId,
    status: record.status,
    integrityFindings: record.integrityFindings,
  };
  if (record.original !== undefined) body.original = record.original;
  if (record.capture !== undefined) body.capture = record.capture;
  // Segment digests stay on the record (for `custody verify`); the event keeps to what consumers
  // need, so it stays far below the 256 KB message limit whatever the recording's length.
  if (record.hash !== undefined) {
    const { segmentSha256, ...hash } = record.hash;
    body.hash = { ...hash, segmentCount: segmentSha256.length };
  }
  const failure = finalEvent.type === "evidence-failed" ? describeFailure(record) : undefined;
  if (failure !== undefined) body.failure = failure;

  const applicationProperties: Record<string, string> = {
    eventType: finalEvent.type,
    evidenceId: record.evidenceId,
    status: record.status,
  };
  if (record.capture?.officerId !== undefined) applicationProperties.officerId = record.capture.officerId;
  if (record.capture?.deviceId !== undefined) applicationProperties.deviceId = record.capture.deviceId;

  return {
    messageId: finalEvent.messageId,
    body,
    subject: finalEvent.type,
    correlationId: record.evidenceId,
    applicationProperties,
  };
}

function describeFailure(record: EvidenceRecord): FinalEventFailure {
  if (record.rejection !== undefined) {
    const reasons = record.rejection.reasons;
    return {
      stage: "ingest",
      code: "Rejected",
      message: reasons.map((reason) => `${reason.code}${reason.field ? ` (${reason.field})` : ""}: ${reason.message}`).join("; "),
      reasons,
    };
  }
  const stage = failedRequiredStage(record);
  if (stage === undefined) return { stage: "ingest", code: "Unknown", message: "failed without a failed required stage on record" };
  const error = record.stages[stage]?.lastError;
  return { stage, code: error?.code ?? "Unknown", message: error?.message ?? `${stage} failed` };
}
