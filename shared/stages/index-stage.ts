/**
 * The index stage: the single writer of the evidence index. It applies evidence-received and
 * stage-result messages to the recording's record, decides its final state, and publishes the
 * final event (evidence-ready / evidence-failed) exactly once as subscribers see it — and, when
 * an operator's re-run replaced a ready recording's renditions, one evidence-updated event.
 *
 * Concurrency: read → apply (pure, record-merge.ts) → write with the ETag read (create when
 * absent). A lost race ("conflict" / "exists") re-reads and re-applies; the merge is
 * order-independent and idempotent, so re-applying onto someone else's newer write is always
 * right. Bounded: after `maxWriteAttempts` rounds it gives up with a retryable
 * CustodyError("ConcurrencyConflict") and Service Bus redelivers the message later.
 *
 * Exactly-once publishing, in three steps:
 *   1. persist `finalEvent: { type, messageId }` (no `publishedAt`) with the state change;
 *   2. publish with that deterministic message id (the topic has duplicate detection);
 *   3. persist `publishedAt` (ETag-guarded; if someone else already set it, fine).
 * A crash between 1 and 3 leaves a record that still says "publish me"; the redelivered
 * message (or any later message for the recording) publishes again with the same id, and
 * duplicate detection drops the copy. Concurrent handlers may both publish in that window —
 * same id, same content, one delivery.
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type {
  CredentialsResultMessage,
  EvidenceReceivedMessage,
  FixityResultMessage,
  PipelineStage,
  RetentionCommandMessage,
  RetryRound,
  SegmentPlanMessage,
  SegmentResultMessage,
  StageResultMessage,
} from "../contracts/messages";
import {
  credentialsResultMessageId,
  evidenceReceivedMessageId,
  fixityResultMessageId,
  retentionCommandMessageId,
  evidenceDisposedMessageId,
  segmentPlanMessageId,
  segmentResultMessageId,
  segmentRunTag,
  stageResultMessageId,
} from "../contracts/message-ids";
import { CustodyError, isCustodyError, toCustodyError } from "../errors";
import { checkCredentialsResult, checkEvidenceReceived, checkFixityResult, checkRetentionCommandClaim, checkSegmentPlan, checkSegmentResult, checkStageResult } from "../evidence/claim-checks";
import { applyRetentionCommand, completeDisposal, storageDisposalVerdict } from "../evidence/retention";
import { DERIVED_CONTAINER } from "../ports/blob-store";
import { buildDisposedEvent } from "../evidence/disposed-event";
import { buildFinalEvent } from "../evidence/final-event";
import { buildUpdatedEvent } from "../evidence/updated-event";
import type { EvidenceRecord, IssuedManifest } from "../evidence/record";
import {
  advanceLedgerHead,
  appendLogEntry,
  applyEvidenceReceived,
  applyFixityResult,
  applyStageResult,
  isConflictingHashClaim,
  isRetryBudgetSpent,
  markEventPublished,
  newRecord,
  owedManifestSequence,
  recordManifestIssued,
  unpublishedUpdateEvents,
  type MergeContext,
} from "../evidence/record-merge";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../evidence/retry-policy";
import { applyCredentialsResult, credentialsOrder, credentialsRetryOrder, decideAndOrder, runsOwingCredentialsOrders } from "../evidence/content-credentials-run";
import { currentCredentialsRun } from "../evidence/content-credentials-state";
import { rebuildRecord } from "../ledger/rebuild";
import { buildStageRetryMessage } from "../evidence/stage-retry";
import { applySegmentPlan, applySegmentResult, joinOrder, runsOwingJoin, runsOwingOrders, segmentOrders, segmentRetryOrder } from "../evidence/segment-run";
import type { Logger } from "../logging";
import type { AppliedMessageEntry, CustodyLedger, LedgerHead, PublishedEventEntry } from "../ports/custody-ledger";
import type { EvidenceIndex, StoredRecord } from "../ports/evidence-index";
import type { OutgoingMessage, Publisher } from "../ports/publisher";
import type { RetentionStore, VersionProtection } from "../ports/retention-store";
import type { EvidenceSigner } from "../ports/evidence-signer";
import type { ManifestStore, SignedManifestFiles } from "../ports/manifest-store";
import { buildEvidenceManifest, type EvidenceManifest } from "../provenance/manifest";
import { signEvidenceManifest } from "../provenance/manifest-signature";
import type { StageContext } from "./stage-context";

export interface IndexStageDeps {
  index: EvidenceIndex;
  publisher: Publisher;
  /** Stages whose success makes a recording ready (frozen into a record when it is created). */
  requiredStages: PipelineStage[];
  /** Topic for evidence-ready / evidence-failed (ENTITIES.evidenceReady). */
  readyTopic: string;
  /** CloudEvents `source` of the final events (Settings.eventSource). Default `/custody`. */
  eventSource?: string;
  /** Retry budget and backoff for stages that failed for a transient cause (Settings.retry). */
  retryPolicy?: RetryPolicy;
  /** Topic the index re-sends evidence-received to for a stage's retry (ENTITIES.evidenceReceivedTopic). */
  receivedTopic?: string;
  /** Queue of the segment requests it hands out (ENTITIES.transcodeSegments). Default `transcode-segments`. */
  transcodeSegmentsQueue?: string;
  /** Queue of the join requests (ENTITIES.transcodeJoin). Default `transcode-join`. */
  transcodeJoinQueue?: string;
  /**
   * Whether the core app signs images with Content Credentials (a signing chain is configured):
   * records created now require them before they are ready (content-credentials-run.ts). Absent:
   * false — records go ready with their images as the thumbnail stage made them.
   */
  contentCredentials?: boolean;
  /** Queue of the signing orders (ENTITIES.contentCredentials). Default `content-credentials`. */
  contentCredentialsQueue?: string;
  /**
   * The custody ledger (ports/custody-ledger.ts): every message is appended there before the
   * index applies it, and every published final event after Service Bus accepted it. Absent
   * only in tests of the index alone.
   */
  ledger?: CustodyLedger;
  /** Read-modify-write rounds before giving up with ConcurrencyConflict. Default 20. */
  maxWriteAttempts?: number;
  /** Upper bound of the jittered backoff between rounds. Default 200 ms. */
  maxBackoffInMs?: number;
  /** Clock (tests). */
  now?: () => Date;
  /**
   * Storage's own enforcement of a recording's retention (ports/retention-store.ts): after a
   * retention command is recorded, the original's version gets the record's legal hold and is
   * kept at least until its retention ends. Absent only in tests of the index alone.
   */
  retentionStore?: RetentionStore;
  /**
   * The key that signs evidence manifests and where they are kept: a recording that becomes
   * ready (and each re-run that replaces renditions) gets a signed manifest (shared/provenance/).
   * Absent in the media app and in tests of the index alone: no manifest is issued.
   */
  signer?: EvidenceSigner;
  manifests?: ManifestStore;
  /**
   * The CA certificate(s) the images' Content Credentials chain to, published beside the keys
   * with the manifests (a disclosure package carries them). Absent where images are not signed.
   */
  trustAnchorPems?: readonly string[];
}

export interface IndexOutcome {
  /** The record as last persisted (or read, when the message changed nothing). */
  record: EvidenceRecord;
  /** Whether this call wrote the state change (false for a duplicate message). */
  changed: boolean;
  /** The final event's message id, when this call published it. */
  publishedMessageId?: string;
}

const DEFAULT_MAX_WRITE_ATTEMPTS = 20;
const DEFAULT_MAX_BACKOFF_IN_MS = 200;

export async function indexEvidenceReceived(message: EvidenceReceivedMessage, deps: IndexStageDeps, context: StageContext): Promise<IndexOutcome> {
  return indexClaim(
    message,
    evidenceReceivedMessageId(message.evidenceId),
    (record, nowInMs) => checkEvidenceReceived(record, message, nowInMs),
    (record, merge) => applyEvidenceReceived(record, message, merge),
    deps,
    context,
  );
}

/**
 * Applies a stage's result. A transient failure (`final: false`) leaves the recording waiting
 * and the index schedules the stage's next round: evidence-received, rebuilt from the record,
 * to that stage's subscription only, enqueued when the backoff says (stage-retry.ts). Once the
 * retry budget is spent the failure is applied as final instead, and nothing is scheduled.
 */
export async function indexStageResult(message: StageResultMessage, deps: IndexStageDeps, context: StageContext): Promise<IndexOutcome> {
  const messageId = stageResultMessageId(message);
  const outcome = await indexClaim(
    message,
    messageId,
    (record, nowInMs) => checkStageResult(record, message, nowInMs),
    (record, merge) => applyStageResult(record, message, merge),
    deps,
    context,
  );
  const record = outcome.record;
  if (isConflictingHashClaim(record, message)) {
    // Recorded as a finding by the merge; an error line for alerts, and the message itself is dead-lettered.
    context.log.error("integrity: a hash result claimed another SHA-256 than the recorded fingerprint; refused, fingerprint kept", {
      evidenceId: message.evidenceId,
      claimMessageId: messageId,
      fingerprint: record.hash?.sha256,
      claimed: message.hash?.sha256,
      actor: message.actor,
    });
    throw new CustodyError(
      "InvalidMessage",
      `claim refused for ${message.evidenceId}: the hash result claims SHA-256 ${message.hash?.sha256}; the recorded fingerprint is ${record.hash?.sha256} (kept; recorded as a ConflictingHashClaim finding)`,
      { retryable: false },
    );
  }
  if (message.outcome === "failed" && !message.final && !isRetryBudgetSpent(message, deps.retryPolicy ?? DEFAULT_RETRY_POLICY)) {
    await scheduleStageRetry(record, message, deps, context);
  }
  return outcome;
}

async function scheduleStageRetry(record: EvidenceRecord, failure: StageResultMessage, deps: IndexStageDeps, context: StageContext): Promise<void> {
  const state = record.stages[failure.stage];
  // A stage that succeeded needs no retry (a late report of an earlier round) — unless the
  // failure belongs to an operator's reprocess, which re-runs a stage that has. A stage that
  // failed for good and was redriven does: the redriven run's transient failure is retried too.
  if (failure.reprocess === undefined && (state?.status === "succeeded" || state?.status === "skipped")) return;
  if (record.original === undefined || record.uploadedAt === undefined) {
    // The result came before evidence-received was indexed: this result is tried again later, by then it is.
    throw new CustodyError("Transient", `evidence ${failure.evidenceId}: cannot schedule the ${failure.stage} retry before the record names its original`);
  }
  const retry = buildStageRetryMessage(record, failure, deps.retryPolicy ?? DEFAULT_RETRY_POLICY);
  await sendRetry(deps.receivedTopic ?? "evidence-received", retry, failure, "stage retry scheduled", { stage: failure.stage }, deps, context);
}

/** Sends the next round of work that failed for a transient cause (enqueued when its backoff says), and logs it. */
async function sendRetry(
  entity: string,
  retry: OutgoingMessage & { body: { retry?: RetryRound } },
  failure: { evidenceId: string; error?: { code: string } },
  what: string,
  fields: Record<string, unknown>,
  deps: Pick<IndexStageDeps, "publisher">,
  context: StageContext,
): Promise<void> {
  await deps.publisher.publish(entity, { ...retry, traceparent: context.traceparent });
  context.log.info(what, {
    evidenceId: failure.evidenceId,
    ...fields,
    round: retry.body.retry?.round,
    dueAt: retry.scheduledEnqueueTime?.toISOString(),
    cause: failure.error?.code,
    retryMessageId: retry.messageId,
  });
}

/**
 * Records the plan of a segment-parallel transcode a media run claimed (checked: its id is its
 * digest), then hands out the segments: one segment-request each to `transcode-segments`
 * (shared/evidence/segment-run.ts). A later round of the stage (a stage retry) re-sends what the
 * run still owes.
 */
export async function indexSegmentPlan(message: SegmentPlanMessage, deps: IndexStageDeps, context: StageContext): Promise<IndexOutcome> {
  return indexClaim(
    message,
    segmentPlanMessageId(message),
    (record, nowInMs) => checkSegmentPlan(record, message, nowInMs),
    (record, merge) => applySegmentPlan(record, message, merge),
    deps,
    context,
  );
}

/**
 * Records one segment's result (checked against the plan the index handed out). A transient
 * failure schedules that segment's next round to `transcode-segments`; a final one fails the
 * transcode stage naming the segment; the last success owes the join (sent to `transcode-join`).
 */
export async function indexSegmentResult(message: SegmentResultMessage, deps: IndexStageDeps, context: StageContext): Promise<IndexOutcome> {
  const outcome = await indexClaim(
    message,
    segmentResultMessageId(message),
    (record, nowInMs) => checkSegmentResult(record, message, nowInMs),
    (record, merge) => applySegmentResult(record, message, merge),
    deps,
    context,
  );
  const policy = deps.retryPolicy ?? DEFAULT_RETRY_POLICY;
  if (message.outcome === "failed" && !message.final && !isRetryBudgetSpent(message, policy)) {
    const run = outcome.record.transcodeRuns?.find((candidate) => candidate.tag === segmentRunTag(message.planId, message.reprocess?.id));
    // A segment that succeeded meanwhile (a duplicate run) needs no retry.
    if (run?.segments[message.segment.index]?.status === "pending") {
      const retry = segmentRetryOrder(outcome.record, message, policy);
      await sendRetry(deps.transcodeSegmentsQueue ?? "transcode-segments", retry, message, "segment retry scheduled", { segment: message.segment.index }, deps, context);
    }
  }
  return outcome;
}

/**
 * Records a signing run's outcome for the images (content-credentials-run.ts), checked against
 * the request the index handed out. A transient failure schedules the order's next round to
 * `content-credentials` with backoff, until the retry budget is spent; a success puts the signed
 * set in place of the thumbnail stage's renditions, after which the recording can be ready.
 */
export async function indexCredentialsResult(message: CredentialsResultMessage, deps: IndexStageDeps, context: StageContext): Promise<IndexOutcome> {
  const outcome = await indexClaim(
    message,
    credentialsResultMessageId(message),
    (record, nowInMs) => checkCredentialsResult(record, message, nowInMs),
    (record, merge) => applyCredentialsResult(record, message, merge),
    deps,
    context,
  );
  const policy = deps.retryPolicy ?? DEFAULT_RETRY_POLICY;
  if (message.outcome === "failed" && !message.final && !isRetryBudgetSpent(message, policy)) {
    const run = currentCredentialsRun(outcome.record);
    // A run that succeeded meanwhile (a duplicate) or that signs a replaced result needs no retry.
    if (run?.requestId === message.requestId && run.status === "pending") {
      const retry = credentialsRetryOrder(outcome.record, message, policy);
      await sendRetry(deps.contentCredentialsQueue ?? "content-credentials", retry, message, "Content Credentials retry scheduled", {}, deps, context);
    }
  }
  return outcome;
}

/**
 * Records a fixity check on an existing record (custody log entry, latest check, integrity
 * finding). Never creates a record: a check of an unknown recording is logged and dropped
 * (undefined), and it neither changes the status nor publishes anything.
 */
export async function indexFixityResult(
  message: FixityResultMessage,
  deps: Pick<IndexStageDeps, "index" | "ledger" | "requiredStages" | "maxWriteAttempts" | "maxBackoffInMs" | "now" | "retryPolicy">,
  context: StageContext,
): Promise<IndexOutcome | undefined> {
  const log = context.log.child({ evidenceId: message.evidenceId, messageId: fixityResultMessageId(message), stage: "index" });
  const update = await indexKnownRecordClaim(
    message,
    fixityResultMessageId(message),
    (record, nowInMs) => checkFixityResult(record, message, nowInMs),
    (current, merge) => applyFixityResult(current, message, merge),
    deps,
    context,
    log,
  );
  if (update.stored === undefined) {
    log.warn("fixity result for a recording the index does not hold: dropped", { status: message.status });
    return undefined;
  }
  const fields = { status: message.status, recordStatus: update.stored.record.status, findings: update.stored.record.integrityFindings.length };
  if (message.status === "modified" || message.status === "missing") log.error(update.changed ? "fixity finding recorded" : "fixity result already recorded", fields);
  else log.info(update.changed ? "fixity check recorded" : "fixity result already recorded", fields);
  return { record: update.stored.record, changed: update.changed };
}

/**
 * Records a retention command (shared/evidence/retention.ts): category, legal hold or release,
 * with its history and a custody log entry. Checked against the record first — an unknown
 * recording or category, a release for a case with no hold — and refused (InvalidMessage:
 * dead-lettered with the reason) before anything is written; then in the ledger, then applied.
 * Never creates a record, never changes the status or publishes anything.
 */
export async function indexRetentionCommand(message: RetentionCommandMessage, deps: RetentionCommandDeps, context: StageContext): Promise<IndexOutcome> {
  const messageId = retentionCommandMessageId(message);
  const log = context.log.child({ evidenceId: message.evidenceId, messageId, stage: "index" });
  const check = (record: EvidenceRecord | undefined, nowInMs: number): void => checkRetentionCommandClaim(record, message, nowInMs);
  if (message.action === "dispose" && deps.retentionStore !== undefined) {
    const waiting = await checkStorageLetsGo(message, deps.retentionStore, deps);
    if (waiting !== undefined) {
      // Nothing decided, nothing refused: a later disposal run asks again once storage lets go.
      log.info("disposal deferred: storage keeps the original until its container default ends (it runs from upload, the category from capture)", { immutableUntil: waiting.until });
      return { record: waiting.record, changed: false };
    }
  }
  const update = await indexKnownRecordClaim(message, messageId, check, (current, merge) => applyRetentionCommand(current, message, merge, appendLogEntry), deps, context, log);
  // onlyForKnownRecords: the check refused an unknown recording, so the record exists and has its retention.
  const record = update.stored?.record;
  const retention = record?.retention;
  if (record === undefined || retention === undefined) throw new CustodyError("Internal", `the record of ${message.evidenceId} has no retention after a retention command`, { retryable: true });
  log.info(update.changed ? "retention command recorded" : "retention command already recorded", {
    action: message.action,
    category: retention.category,
    retainUntil: retention.retainUntil,
    holds: retention.holds.length,
    caseReference: message.caseReference,
  });
  if (deps.retentionStore === undefined) return { record, changed: update.changed };
  if (record.disposal?.state === "deleting") return { record: await dispose(record, deps.retentionStore, deps, context, log), changed: true };
  // Disposed, but a crash came before Service Bus accepted the event: this redelivery sends it.
  if (record.disposal?.state === "disposed") return { record: await announceDisposal(record, deps, context, log), changed: update.changed };
  if (record.disposal === undefined) await enforceRetention(record, deps.retentionStore, log);
  return { record, changed: update.changed };
}

/** What applying a retention command needs: the index, the ledger, storage's protections, and the topic a disposal is announced on. */
export type RetentionCommandDeps = Pick<
  IndexStageDeps,
  "index" | "ledger" | "requiredStages" | "maxWriteAttempts" | "maxBackoffInMs" | "now" | "retryPolicy" | "retentionStore" | "publisher" | "readyTopic" | "eventSource"
>;

/**
 * Before a disposal is decided (recorded, after which the recording takes no other command),
 * storage must agree: an original still under a legal hold or an unexpired retention policy —
 * set out of band, or a container default longer than the category — refuses the command with
 * the reason and nothing is recorded. A decided disposal (resumed) and an original already gone
 * pass.
 */
async function checkStorageLetsGo(
  message: RetentionCommandMessage,
  store: RetentionStore,
  deps: Pick<IndexStageDeps, "index" | "now">,
): Promise<{ record: EvidenceRecord; until: string } | undefined> {
  const record = (await deps.index.read(message.evidenceId))?.record;
  const now = (deps.now ?? (() => new Date()))();
  // The record's own reasons first: they are the ones an operator can act on.
  checkRetentionCommandClaim(record, message, now.getTime());
  const original = record?.original;
  if (record === undefined || original === undefined || record.disposal !== undefined) return undefined;
  let protection: VersionProtection;
  try {
    protection = await store.protection({ container: original.container, name: original.name, ...(original.versionId === undefined ? {} : { versionId: original.versionId }) });
  } catch (error) {
    if (isCustodyError(error) && error.code === "OriginalNotFound") return undefined;
    throw error;
  }
  const answer = storageDisposalVerdict(protection, record, now.getTime());
  if (answer.verdict === "go") return undefined;
  if (answer.verdict === "wait") return { record, until: answer.until };
  const why = answer.why;
  throw new CustodyError(
    "InvalidMessage",
    `retention command ${message.commandId} refused for ${message.evidenceId}: storage still protects the original (${why}) although the record allows its disposal; nothing decided — find out why before anything else`,
    { retryable: false },
  );
}

/**
 * Carries out a disposal the record decided: the original's version first (storage refuses a
 * protected one — RetentionProtected, never retried: dead-lettered with the reason, nothing else
 * deleted), then every derived blob of the recording (all renditions, re-runs, segments), then
 * the record marks it disposed (the tombstone). Every step is idempotent: a restart in the
 * middle resumes with the next dispose command (the disposal timer sends one for a record left
 * `deleting`), and what is already gone counts as `absent`.
 */
async function dispose(record: EvidenceRecord, store: RetentionStore, deps: RetentionCommandDeps, context: StageContext, log: Logger): Promise<EvidenceRecord> {
  const original = record.original;
  const commandId = record.disposal?.commandId;
  if (original === undefined || commandId === undefined) throw new CustodyError("Internal", `the record of ${record.evidenceId} decided a disposal but names no original`, { retryable: false });
  const ref = { container: original.container, name: original.name, ...(original.versionId === undefined ? {} : { versionId: original.versionId }) };
  const originalResult = await store.deleteVersion(ref);
  const derivedVersions = await store.deletePrefix(DERIVED_CONTAINER, `${record.evidenceId}/`);
  const deleted = { original: originalResult, derivedVersions };
  // In the ledger before the record says so: the proof of what was deleted, and when, outlives the index.
  const deletedAt = (deps.now ?? (() => new Date()))().toISOString();
  const head = await deps.ledger?.append(record.evidenceId, [
    { v: 1, kind: "disposed", evidenceId: record.evidenceId, recordedAt: deletedAt, recordedBy: context.actor, messageId: evidenceDisposedMessageId(record.evidenceId), commandId, deleted },
  ]);
  const update = await updateRecord(
    record.evidenceId,
    deps,
    context,
    log,
    (current, merge) => (current === undefined ? undefined : completeDisposal(current, deleted, merge.nowIso)),
    head === undefined ? {} : { at: deletedAt, head },
  );
  const disposed = update.stored?.record ?? record;
  log.warn("recording disposed of", {
    original: originalResult,
    derivedVersions,
    category: disposed.disposal?.category,
    retainUntil: disposed.disposal?.retainUntil,
    sha256: disposed.disposal?.sha256,
  });
  return announceDisposal(disposed, deps, context, log);
}

/** Publishes the evidence-disposed event the record owes (no-op once Service Bus accepted it). */
async function announceDisposal(record: EvidenceRecord, deps: RetentionCommandDeps, context: StageContext, log: Logger): Promise<EvidenceRecord> {
  const event = record.disposal?.event;
  if (event === undefined || event.publishedAt !== undefined) return record;
  const current = await deps.index.read(record.evidenceId);
  if (current === undefined) return record;
  const stored = await announce(
    record.evidenceId,
    buildDisposedEvent(current.record, { source: deps.eventSource, derivedContainer: DERIVED_CONTAINER }),
    "evidence-disposed",
    current,
    deps,
    context,
    log,
  );
  return stored.record;
}

/**
 * Makes storage hold the original as the record says: a legal hold while any case holds it, and
 * a retention policy at least until its retention ends (never shortened). Done on every delivery
 * of a command — also one already recorded — so a failure here (transient: the message is
 * retried) is made good by the retry; both calls are idempotent.
 */
async function enforceRetention(record: EvidenceRecord, store: RetentionStore, log: Logger): Promise<void> {
  const original = record.original;
  const retention = record.retention;
  if (original === undefined || retention === undefined) return;
  const ref = { container: original.container, name: original.name, ...(original.versionId === undefined ? {} : { versionId: original.versionId }) };
  // Locked: from here on nobody — this app included — can shorten or remove it, only extend it.
  const kept = await store.extendRetention(ref, new Date(retention.retainUntil), { policyMode: "Locked" });
  const held = await store.setLegalHold(ref, retention.holds.length > 0);
  log.info("retention enforced by storage", { immutableUntil: kept.immutableUntil?.toISOString(), extended: kept.changed, legalHold: held.legalHold });
}

/**
 * A claim about a recording the index already holds (a fixity check, a retention command):
 * checked, in the ledger, then applied on every write round after checking again; never creates
 * a record (`stored` undefined when there is none).
 */
async function indexKnownRecordClaim(
  message: FixityResultMessage | RetentionCommandMessage,
  messageId: string,
  check: (record: EvidenceRecord | undefined, nowInMs: number) => void,
  apply: (record: EvidenceRecord, merge: MergeContext) => EvidenceRecord,
  deps: Pick<IndexStageDeps, "index" | "ledger" | "requiredStages" | "maxWriteAttempts" | "maxBackoffInMs" | "now" | "retryPolicy">,
  context: StageContext,
  log: Logger,
): Promise<{ stored?: StoredRecord; changed: boolean }> {
  const first = await ledgerFirst(message.evidenceId, messageId, message, check, deps, context, { onlyForKnownRecords: true });
  return updateRecord(
    message.evidenceId,
    deps,
    context,
    log,
    (current, merge) => {
      check(current, Date.parse(merge.nowIso));
      return current === undefined ? undefined : apply(current, merge);
    },
    first,
  );
}

/**
 * One claim that may create the record: checked against the record as it stands before it is
 * appended to the ledger, checked again on every read-modify-write round, then applied (to a new
 * record when there is none yet).
 */
async function indexClaim(
  message: AppliedMessageEntry["message"],
  messageId: string,
  check: (record: EvidenceRecord | undefined, nowInMs: number) => void,
  apply: (record: EvidenceRecord, merge: MergeContext) => EvidenceRecord,
  deps: IndexStageDeps,
  context: StageContext,
): Promise<IndexOutcome> {
  const first = await ledgerFirst(message.evidenceId, messageId, message, check, deps, context);
  return indexMessage(
    message.evidenceId,
    messageId,
    (record, merge) => {
      check(record, Date.parse(merge.nowIso));
      return apply(record ?? newRecord(message.evidenceId, deps.requiredStages, merge.nowIso, { contentCredentials: deps.contentCredentials === true }), merge);
    },
    deps,
    context,
    first,
  );
}

/** Checks the claim against the record (throwing InvalidMessage to refuse it), then applies it. */
type Apply = (record: EvidenceRecord | undefined, context: MergeContext) => EvidenceRecord;

async function indexMessage(evidenceId: string, messageId: string, apply: Apply, deps: IndexStageDeps, context: StageContext, first: LedgerFirst = {}): Promise<IndexOutcome> {
  const log = context.log.child({ evidenceId, messageId, stage: "index" });
  const update = await updateRecord(evidenceId, deps, context, log, (current, merge) => decideAndOrder(apply(current, merge), merge), first);
  // The mutation above always yields a record, so a stored one exists now.
  if (update.stored === undefined) throw new CustodyError("Internal", `${evidenceId}: the index update stored no record`);
  let stored = update.stored;
  log.info(update.changed ? "evidence record updated" : "message already applied", { status: stored.record.status, attempt: context.attempt });

  let publishedMessageId: string | undefined;
  const finalEvent = stored.record.finalEvent;
  if (finalEvent !== undefined && finalEvent.publishedAt === undefined) {
    stored = await announce(evidenceId, buildFinalEvent(stored.record, { source: deps.eventSource }), finalEvent.type, stored, deps, context, log);
    publishedMessageId = finalEvent.messageId;
  }
  // Re-runs that replaced a ready recording's renditions, in the order decided.
  for (const pending of unpublishedUpdateEvents(stored.record)) {
    stored = await announce(evidenceId, buildUpdatedEvent(stored.record, pending, { source: deps.eventSource }), "evidence-updated", stored, deps, context, log);
  }
  // Work orders of segment-parallel transcodes, decided with the state change (segment-run.ts).
  for (const run of runsOwingOrders(stored.record)) {
    const orders = segmentOrders(stored.record, run);
    const key = run.orders?.key ?? "";
    stored = await dispatch(evidenceId, deps.transcodeSegmentsQueue ?? "transcode-segments", orders, key, "segment-requests", stored, deps, context, log);
  }
  for (const run of runsOwingJoin(stored.record)) {
    const order = joinOrder(stored.record, run);
    stored = await dispatch(evidenceId, deps.transcodeJoinQueue ?? "transcode-join", [order], order.messageId, "join-request", stored, deps, context, log);
  }
  // The images' Content Credentials, ordered once the fingerprint and the thumbnail result are both in.
  for (const run of runsOwingCredentialsOrders(stored.record)) {
    const order = credentialsOrder(stored.record, run);
    stored = await dispatch(evidenceId, deps.contentCredentialsQueue ?? "content-credentials", [order], run.order.messageId, "credentials-request", stored, deps, context, log);
  }
  // Announced ready (or updated): the signed evidence manifest the record now owes.
  stored = await issueOwedManifests(stored, deps, context, log);
  return { record: stored.record, changed: update.changed, ...(publishedMessageId === undefined ? {} : { publishedMessageId }) };
}

type DispatchDeps = Pick<IndexStageDeps, "index" | "ledger" | "publisher" | "readyTopic" | "now" | "maxWriteAttempts" | "maxBackoffInMs" | "retryPolicy">;

/**
 * Issues each signed evidence manifest the record owes (record-merge.ts owedManifestSequence):
 * built from the record as it stands — its custody ledger head included — signed, stored
 * create-only, named in the ledger, then noted on the record. A crash after storing it is
 * resumed by adopting the stored issue (never signing a second, different one).
 */
async function issueOwedManifests(stored: StoredRecord, deps: IndexStageDeps, context: StageContext, log: Logger): Promise<StoredRecord> {
  const { signer, manifests, ledger } = deps;
  if (signer === undefined || manifests === undefined || ledger === undefined) return stored;
  let current = stored;
  for (let sequence = owedManifestSequence(current.record); sequence !== undefined; sequence = owedManifestSequence(current.record)) {
    const record = current.record;
    const evidenceId = record.evidenceId;
    const now = (deps.now ?? (() => new Date()))().toISOString();
    const custodyLog = record.custodyLogHead;
    // owedManifestSequence owes nothing without a head; this only tells the compiler.
    if (custodyLog === undefined) break;
    let files = await manifests.get(evidenceId, sequence);
    if (files === undefined) {
      const previous = record.manifests?.at(-1);
      const manifest = buildEvidenceManifest(record, {
        custodyLog,
        issuedAt: now,
        keyId: signer.keyId,
        ...(deps.eventSource === undefined ? {} : { issuer: deps.eventSource }),
        ...(previous === undefined ? {} : { previousManifest: { sha256: previous.sha256, issuedAt: previous.issuedAt } }),
      });
      // The key is published before anything it signs is stored: a stored issue always has its key beside it
      // (and the CA its images' Content Credentials chain to).
      await manifests.publishKey(await signer.publicKey());
      for (const pem of deps.trustAnchorPems ?? []) await manifests.publishTrustAnchor(pem);
      const signed = await signEvidenceManifest(manifest, signer);
      files = { manifestJson: signed.manifestJson, signature: signed.signature, jws: signed.jws };
      await manifests.put(evidenceId, sequence, files);
    }
    const issued = issuedManifestOf(files, sequence);
    const head = await ledger.append(evidenceId, [
      { v: 1, kind: "manifest-issued", evidenceId, recordedAt: now, recordedBy: context.actor, messageId: `${evidenceId}:manifest:${sequence}`, manifest: issued },
    ]);
    const update = await updateRecord(evidenceId, deps, context, log, (cur, merge) => (cur === undefined ? undefined : recordManifestIssued(cur, issued, merge.nowIso)), { at: now, head });
    current = update.stored ?? current;
    log.info("evidence manifest issued", { sequence, sha256: issued.sha256, keyId: issued.keyId, custodyLogEntries: issued.custodyLog.entries });
  }
  return current;
}

/** What the record and the ledger say of a stored issue: read from its own bytes (a resumed issue says what was signed). */
function issuedManifestOf(files: SignedManifestFiles, sequence: number): IssuedManifest {
  const manifest = JSON.parse(new TextDecoder().decode(files.manifestJson)) as EvidenceManifest;
  return {
    sequence,
    issuedAt: manifest.issuedAt,
    sha256: createHash("sha256").update(files.manifestJson).digest("hex"),
    keyId: manifest.signer.kid,
    custodyLog: { sha256: manifest.custodyLog.sha256, entries: manifest.custodyLog.entries },
  };
}

/**
 * Publishes one event the record owes (deterministic id: a re-publish is dropped by duplicate
 * detection), appends it to the ledger as published, then notes it on the record.
 */
async function announce(
  evidenceId: string,
  event: OutgoingMessage,
  eventType: PublishedEventEntry["eventType"],
  stored: StoredRecord,
  deps: DispatchDeps,
  context: StageContext,
  log: Logger,
): Promise<StoredRecord> {
  return dispatch(evidenceId, deps.readyTopic, [event], event.messageId, eventType, stored, deps, context, log);
}

/**
 * Sends what the record owes — an event, or a batch of work orders — under the marker
 * `markerId` (the event's id, or the batch's key), then appends it to the ledger as published and
 * notes it on the record. Every message has a deterministic id: a re-send after a crash is dropped.
 */
async function dispatch(
  evidenceId: string,
  entity: string,
  messages: readonly OutgoingMessage[],
  markerId: string,
  eventType: PublishedEventEntry["eventType"],
  stored: StoredRecord,
  deps: DispatchDeps,
  context: StageContext,
  log: Logger,
): Promise<StoredRecord> {
  try {
    for (const message of messages) await deps.publisher.publish(entity, { ...message, traceparent: context.traceparent });
  } catch (error) {
    const failure = toCustodyError(error);
    // The record still owes it: the redelivered message sends it again.
    log.warn("not sent; the redelivery will send it with the same ids", { eventType, entity, eventMessageId: markerId, code: failure.code, error: failure.message });
    throw failure;
  }
  log.info(eventType.startsWith("evidence-") ? "event published" : "work orders sent", {
    eventType,
    entity,
    eventMessageId: markerId,
    messages: messages.length,
    status: stored.record.status,
  });
  // In the ledger before the record says so: a record rebuilt from the ledger never sends it again.
  const publishedAt = (deps.now ?? (() => new Date()))().toISOString();
  const head = await deps.ledger?.append(evidenceId, [{ v: 1, kind: "published", evidenceId, recordedAt: publishedAt, recordedBy: context.actor, messageId: markerId, eventType }]);
  const confirmed = await updateRecord(
    evidenceId,
    deps,
    context,
    log,
    (current, merge) => (current === undefined ? undefined : markEventPublished(current, markerId, merge.nowIso)),
    head === undefined ? {} : { at: publishedAt, head },
  );
  return confirmed.stored ?? stored;
}

/**
 * Checks the claim against the record as it stands (refusing it before anything is written
 * anywhere), then appends it to the custody ledger — unless the record already shows it
 * applied (its custody log holds the message's key), in which case the ledger has it.
 */
async function ledgerFirst(
  evidenceId: string,
  messageId: string,
  message: AppliedMessageEntry["message"],
  check: (record: EvidenceRecord | undefined, nowInMs: number) => void,
  deps: Pick<IndexStageDeps, "index" | "ledger" | "requiredStages" | "now" | "retryPolicy" | "contentCredentials">,
  context: StageContext,
  options: { onlyForKnownRecords?: boolean } = {},
): Promise<LedgerFirst> {
  if (deps.ledger === undefined) return {};
  const now = (deps.now ?? (() => new Date()))();
  const stored = (await deps.index.read(evidenceId)) ?? (await healFromLedger(evidenceId, deps.ledger, deps, context));
  const current = stored?.record;
  check(current, now.getTime());
  // The record just read serves the update's first round: one read per message, not two.
  if (current === undefined && options.onlyForKnownRecords) return { read: { stored } };
  if (current?.custodyLog.some((entry) => entry.key === messageId)) return { read: { stored } };
  const contentCredentials = current === undefined ? deps.contentCredentials === true : current.contentCredentials?.required === true;
  const head = await deps.ledger.append(evidenceId, [
    {
      v: 1,
      kind: "applied",
      evidenceId,
      recordedAt: now.toISOString(),
      recordedBy: context.actor,
      messageId,
      message,
      requiredStages: current?.requiredStages ?? deps.requiredStages,
      ...(contentCredentials ? { contentCredentials } : {}),
    },
  ]);
  // The index applies it at the ledger's time and head, so a rebuild from the ledger gives the same record.
  return { at: now.toISOString(), head, read: { stored } };
}

/**
 * A record the index does not hold but the ledger knows (the index was lost or restored from an
 * older backup): rebuilt from the ledger and written before anything is applied, so the message
 * is checked against — and merged into — the recording's real history. Without this, the first
 * message after a loss would start a fresh record, and a hash claim could set a new fingerprint.
 */
async function healFromLedger(
  evidenceId: string,
  ledger: CustodyLedger,
  deps: Pick<IndexStageDeps, "index" | "requiredStages" | "retryPolicy">,
  context: StageContext,
): Promise<StoredRecord | undefined> {
  const entries = await ledger.read(evidenceId);
  const rebuilt = rebuildRecord(evidenceId, entries, { requiredStages: deps.requiredStages, retryPolicy: deps.retryPolicy });
  if (rebuilt === undefined) return undefined;
  const created = await deps.index.create(rebuilt);
  context.log.warn("index record missing: rebuilt from the custody ledger before applying the message", { evidenceId, entries: entries.length, status: rebuilt.status, raced: created === "exists" });
  // "exists": another instance healed it (or a message created it) first — take what is there.
  return created === "exists" ? deps.index.read(evidenceId) : created;
}

/** What ledgerFirst leaves for the update: the time to apply the message at, and the record it read. */
interface LedgerFirst {
  at?: string;
  /** The ledger's head after the entry was appended: the record follows it (record-merge.ts advanceLedgerHead). */
  head?: LedgerHead;
  read?: { stored: StoredRecord | undefined };
}

type Mutation = (current: EvidenceRecord | undefined, context: MergeContext) => EvidenceRecord | undefined;

/**
 * The ETag loop. `mutate` returns the record to write, the very record it was given when there
 * is nothing to change (no write), or undefined to leave an absent record absent.
 */
async function updateRecord(
  evidenceId: string,
  deps: Pick<IndexStageDeps, "index" | "maxWriteAttempts" | "maxBackoffInMs" | "now" | "retryPolicy">,
  context: StageContext,
  log: Logger,
  mutate: Mutation,
  /** The time to apply it at (the ledger's; default the clock at each round) and the record already read for round 1. */
  first: LedgerFirst = {},
): Promise<{ stored?: StoredRecord; changed: boolean }> {
  const { at, head } = first;
  const maxAttempts = deps.maxWriteAttempts ?? DEFAULT_MAX_WRITE_ATTEMPTS;
  const now = deps.now ?? (() => new Date());
  for (let round = 1; ; round++) {
    throwIfAborted(context.abortSignal);
    const current = round === 1 && first.read !== undefined ? first.read.stored : await deps.index.read(evidenceId);
    const base = current?.record === undefined || head === undefined ? current?.record : advanceLedgerHead(current.record, head);
    const mutated = mutate(base, { nowIso: at ?? now().toISOString(), actor: context.actor, retryPolicy: deps.retryPolicy });
    // Also stamps what the mutation decided (an event it owes) with the head it was decided at.
    const next = mutated === undefined || head === undefined ? mutated : advanceLedgerHead(mutated, head);
    if (next === undefined || next === current?.record) return { stored: current, changed: false };
    const written = current === undefined ? await deps.index.create(next) : await deps.index.replace(next, current.etag);
    if (written !== "conflict" && written !== "exists") return { stored: written, changed: true };
    if (round >= maxAttempts) {
      throw new CustodyError("ConcurrencyConflict", `evidence ${evidenceId}: record still changing under us after ${round} read-modify-write rounds; the message will be retried`);
    }
    log.debug("evidence record changed since read; re-reading", { round, outcome: written });
    await backOff(backoffInMs(round, deps.maxBackoffInMs ?? DEFAULT_MAX_BACKOFF_IN_MS), context.abortSignal);
  }
}

/** Jittered exponential backoff (5, 10, 20, … ms, capped), randomised so racing writers spread out. */
function backoffInMs(round: number, maxInMs: number): number {
  const ceiling = Math.min(maxInMs, 5 * 2 ** Math.min(round, 10));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CustodyError("Transient", "index stage aborted (host shutting down)", { cause: signal.reason });
}

/** Waits `ms`; a host shutdown ends the wait as a transient failure (the message is retried). */
async function backOff(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new CustodyError("Transient", "index stage aborted (host shutting down)", { cause: signal?.reason ?? error });
  }
}
