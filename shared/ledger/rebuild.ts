/**
 * Rebuilding a lost index record from the custody ledger: the record is a projection of the
 * facts the index applied, so replaying the ledger's entries through the same merge rules, with
 * the times and identities the ledger recorded, gives back the record — status, fingerprint,
 * custody log, superseded renditions, findings, and which events were already published
 * (so it is not announced again). Nothing is re-hashed: the fingerprint is the hash result the
 * ledger holds. Pure: no I/O.
 */
import type { PipelineStage } from "../contracts/messages";
import type { EvidenceRecord } from "../evidence/record";
import {
  advanceLedgerHead,
  appendLogEntry,
  applyEvidenceReceived,
  applyFixityResult,
  applyStageResult,
  markEventPublished,
  newRecord,
  recordManifestIssued,
  type MergeContext,
} from "../evidence/record-merge";
import { applyCredentialsResult, decideAndOrder } from "../evidence/content-credentials-run";
import { applyRetentionCommand, completeDisposal } from "../evidence/retention";
import type { RetryPolicy } from "../evidence/retry-policy";
import { applySegmentPlan, applySegmentResult } from "../evidence/segment-run";
import type { AppliedMessageEntry, RecordedLedgerEntry } from "../ports/custody-ledger";

export interface RebuildOptions {
  /** Required stages for a ledger whose entries do not say (entries written by this version do). */
  requiredStages: PipelineStage[];
  retryPolicy?: RetryPolicy;
}

/** The record the ledger's entries make, or undefined when it has no applied message. */
export function rebuildRecord(evidenceId: string, entries: readonly RecordedLedgerEntry[], options: RebuildOptions): EvidenceRecord | undefined {
  const applied = entries.filter((entry): entry is AppliedMessageEntry & RecordedLedgerEntry => entry.kind === "applied" && entry.evidenceId === evidenceId);
  if (applied.length === 0) return undefined;
  const first = applied[0];
  let record = newRecord(evidenceId, first.requiredStages ?? options.requiredStages, first.recordedAt, { contentCredentials: first.contentCredentials === true });
  const seen = new Set<string>();
  for (const [position, entry] of entries.entries()) {
    record = applyEntry(record, entry, evidenceId, seen, options);
    // The head after this line, as the index had it when it applied the entry (and stamped on what it decided).
    record = advanceLedgerHead(record, { sha256: entry.lineSha256, entries: position + 1 });
  }
  return record;
}

function applyEntry(record: EvidenceRecord, entry: RecordedLedgerEntry, evidenceId: string, seen: Set<string>, options: RebuildOptions): EvidenceRecord {
  if (entry.evidenceId !== evidenceId) return record;
  const key = `${entry.kind}:${entry.messageId}`;
  if (seen.has(key)) return record; // appended again by a redelivery or a racing instance
  seen.add(key);
  const merge: MergeContext = { nowIso: entry.recordedAt, actor: entry.recordedBy, retryPolicy: options.retryPolicy };
  if (entry.kind === "published") {
    return markEventPublished(record, entry.messageId, entry.recordedAt);
  }
  if (entry.kind === "manifest-issued") return recordManifestIssued(record, entry.manifest, entry.recordedAt);
  if (entry.kind === "disposed") {
    return completeDisposal(record, entry.deleted, entry.recordedAt);
  }
  const message = entry.message;
  if (message.kind === "fixity-result") {
    return applyFixityResult(record, message, merge);
  }
  if (message.kind === "retention-command") {
    return applyRetentionCommand(record, message, merge, appendLogEntry);
  }
  if (message.kind === "segment-plan") record = applySegmentPlan(record, message, merge);
  else if (message.kind === "segment-result") record = applySegmentResult(record, message, merge);
  else if (message.kind === "credentials-result") record = applyCredentialsResult(record, message, merge);
  else record = message.kind === "evidence-received" ? applyEvidenceReceived(record, message, merge) : applyStageResult(record, message, merge);
  return decideAndOrder(record, merge);
}
