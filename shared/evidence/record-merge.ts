/**
 * How messages change an evidence record: pure functions, no I/O, no clock (the caller passes
 * `nowIso`). The index function is the only writer of the record, but everything reaching it
 * is at-least-once: evidence-received and stage results may arrive duplicated, out of order
 * (a stage result before evidence-received) and concurrently (several index instances racing
 * on one document, reconciled by ETag re-read-and-reapply). So every rule here is written as a
 * merge whose result depends on the SET of messages applied, not on their order or count:
 *
 * - Each message is applied at most once in effect: its custody log entry is keyed by its
 *   message id, and a second application changes nothing (same reference returned).
 * - Per-stage state is a join: `attempts` is the maximum reported; `lastError` is the failure
 *   with the highest attempt; the shown outcome is the result with the highest precedence
 *   (succeeded > skipped > failed-final; a non-final failure never sets the outcome), ties
 *   broken by the later `finishedAt` and then the message id. Success dominates failure
 *   whatever the order: a redrive from the dead-letter queue restarts the delivery count, so
 *   the redriven success may carry a LOWER attempt number than the final failure it repairs,
 *   and a late duplicate failure must not undo work that demonstrably succeeded.
 * - The custody log is kept ordered by `at` (when the thing happened, per its reporter) and
 *   then `key`, so the document is the same whichever instance applied what first. Entries
 *   are never changed or removed; `recordedAt` says when the index wrote each one.
 *
 * What is NOT order-independent, on purpose: the final-decision entries (`ready`, `failed`,
 * `rejected`) record what the index decided at the time. If a transcode fails finally and its
 * redrive succeeds, the order "failure, then redriven success" logs `failed` then `ready`
 * (and subscribers saw evidence-failed, then evidence-ready); the other order logs only
 * `ready`. The final status and final event are the same either way.
 */
import { initialRetention } from "./retention";
import {
  evidenceFailedMessageId,
  evidenceReadyMessageId,
  evidenceReceivedMessageId,
  evidenceUpdatedMessageId,
  fixityResultMessageId,
  reprocessIdOf,
  stageResultMessageId,
} from "../contracts/message-ids";
import type {
  EvidenceReceivedMessage,
  FixityResultMessage,
  HashResult,
  PipelineStage,
  Rendition,
  ReportedMediaProbe,
  RetryRound,
  StageError,
  StageProvenance,
  StageResultMessage,
} from "../contracts/messages";
import { CustodyError } from "../errors";
import { canonicalJson } from "./canonical-json";
import { credentialsHold, currentCredentialsRun, isCredentialImage } from "./content-credentials-state";
import { describeFixity } from "./fixity";
import { laterHead, type LedgerHead } from "./ledger-chain";
import type { CustodyLogEntry, EvidenceRecord, EvidenceStatus, IntegrityFinding, IssuedManifest, PublishedEvent, StageRetry, StageState, StageStatus, SupersededRun, UpdateEvent } from "./record";
import { isReprocessableStage } from "./reprocess";
import { DEFAULT_RETRY_POLICY, describeBudget, retryBudgetSpent, retryDelayInMs, type RetryPolicy } from "./retry-policy";

/** Who applies the change and when (the index function's identity and clock). */
export interface MergeContext {
  /** Processing time, ISO 8601: `updatedAt`, `createdAt`, custody log `recordedAt`. */
  nowIso: string;
  /** The index function's identity (e.g. `custody/index@host`), for entries it authors. */
  actor: string;
  /** Retry budget and backoff for transient stage failures (settings); default DEFAULT_RETRY_POLICY. */
  retryPolicy?: RetryPolicy;
}

export type FinalEventType = "evidence-ready" | "evidence-failed";

export interface FinalDecision {
  status: EvidenceStatus;
  /** The event this state must be announced with (absent while `received`). */
  event?: { type: FinalEventType; messageId: string };
}

/** The stages a rejected recording still goes through: it must be fingerprinted all the same. */
export const REJECTED_REQUIRED_STAGES: readonly PipelineStage[] = ["hash"];

/** What a new record is created with besides its stages (configuration, frozen into it). */
export interface NewRecordOptions {
  /** Its images must carry Content Credentials before it is ready (a signing chain is configured). */
  contentCredentials?: boolean;
}

export function newRecord(evidenceId: string, requiredStages: readonly PipelineStage[], nowIso: string, options: NewRecordOptions = {}): EvidenceRecord {
  const record: EvidenceRecord = {
    id: evidenceId,
    evidenceId,
    schemaVersion: 1,
    status: "received",
    requiredStages: [...requiredStages],
    stages: {},
    integrityFindings: [],
    custodyLog: [],
    createdAt: nowIso,
    updatedAt: nowIso,
  };
  if (options.contentCredentials === true) record.contentCredentials = { required: true, runs: [] };
  return record;
}

/**
 * Records what ingest announced: the original, the capture metadata, the upload time and, for
 * a rejected recording, the reasons — whose required stages then shrink to `hash` (a rejected
 * recording is still fingerprinted, then ends `rejected`). The first application wins; a
 * duplicate (same message id) changes nothing.
 */
export function applyEvidenceReceived(record: EvidenceRecord, message: EvidenceReceivedMessage, context: MergeContext): EvidenceRecord {
  assertSameEvidence(record, message.evidenceId);
  const next = clone(record);
  const key = evidenceReceivedMessageId(message.evidenceId);
  const rejected = message.acceptance.status === "rejected";
  if (next.original === undefined) {
    next.original = { ...message.original };
    if (message.capture !== undefined) next.capture = { ...message.capture };
    next.uploadedAt = message.uploadedAt;
    if (message.acceptance.status === "rejected") {
      next.rejection = { reasons: message.acceptance.reasons.map((reason) => ({ ...reason })) };
      next.requiredStages = [...REJECTED_REQUIRED_STAGES];
    }
    joinDeviceMatch(next);
  }
  // Every recording starts in the schedule's default category, its period from capture.
  next.retention ??= initialRetention(next);
  const where = `${message.original.container}/${message.original.name} (${message.original.size} bytes, etag ${message.original.etag}${message.original.versionId ? `, version ${message.original.versionId}` : ""})`;
  appendLogEntry(next, {
    key,
    at: message.uploadedAt,
    recordedAt: context.nowIso,
    actor: context.actor,
    action: rejected ? "rejected" : "received",
    detail:
      message.acceptance.status === "rejected"
        ? `${where} rejected by ingest: ${message.acceptance.reasons.map((r) => `${r.code}${r.field ? ` (${r.field})` : ""}`).join(", ")}`
        : `${where} accepted by ingest (event ${message.sourceEventId})`,
  });
  return settle(record, next, context.nowIso);
}

/**
 * Records one stage outcome. Results for stages outside `requiredStages` are recorded all the
 * same (they just do not gate readiness). See the module comment for the merge rules.
 */
export function applyStageResult(record: EvidenceRecord, reported: StageResultMessage, context: MergeContext, key: string = stageResultMessageId(reported)): EvidenceRecord {
  assertSameEvidence(record, reported.evidenceId);
  // The fingerprint is set once: a hash result with another SHA-256 is refused, and recorded as
  // an integrity finding naming both digests and the message (the index also dead-letters it).
  if (isConflictingHashClaim(record, reported)) return refuseConflictingHashClaim(record, reported, key, context);
  const policy = context.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const result = withRetryBudget(reported, policy);
  const next = clone(record);
  const state: StageState = next.stages[result.stage] ?? { status: "pending", attempts: 0 };

  state.attempts = Math.max(state.attempts, result.attempt);

  if (result.outcome === "failed") {
    const error = result.error ?? { code: "Unknown", message: `${result.stage} failed without an error description`, retryable: !result.final };
    const candidate = { ...error, at: result.finishedAt, attempt: result.attempt };
    joinLastError(state, candidate);
    if (!result.final) joinRetry(state, result, nextRetryAt(result, policy));
  }

  // A non-final failure only moves attempts, lastError and the retry: the stage is still running.
  if (result.outcome !== "failed" || result.final) {
    const status: StageStatus = result.outcome;
    const beats = outcomeBeats({ status, finishedAt: result.finishedAt, key }, state);
    // Superseded runs are a set — every successful run with files except the one shown — so
    // they come out the same whichever run arrives first.
    if (result.outcome === "succeeded" && result.renditions !== undefined) {
      if (beats && state.status === "succeeded" && state.resultKey !== undefined && state.resultKey !== key && state.renditions !== undefined) {
        addSuperseded(state, supersededRun(state.resultKey, state.startedAt ?? "", state.finishedAt ?? "", state.renditions, state.provenance));
      } else if (!beats && state.resultKey !== key) {
        addSuperseded(state, supersededRun(key, result.startedAt, result.finishedAt, result.renditions, result.provenance));
      }
    }
    if (beats) {
      // A re-run that replaces the renditions of a recording already announced ready: downstream
      // holds the old ones, so an evidence-updated event is owed (published by the index).
      if (result.reprocess !== undefined && result.outcome === "succeeded" && result.renditions !== undefined && record.finalEvent?.type === "evidence-ready" && isReprocessableStage(result.stage)) {
        addUpdateEvent(next, {
          messageId: evidenceUpdatedMessageId(result.evidenceId, result.reprocess.id, result.stage),
          stage: result.stage,
          resultKey: key,
          at: result.finishedAt,
          reprocess: { ...result.reprocess },
          renditions: structuredClone(result.renditions),
          replaced: (state.status === "succeeded" ? (state.renditions ?? []) : []).map(({ kind, name, container, path, size, sha256 }) => ({ kind, name, container, path, size, sha256 })),
          ...(result.provenance === undefined ? {} : { tools: { ...result.provenance.tools } }),
        });
      }
      state.status = status;
      state.startedAt = result.startedAt;
      state.finishedAt = result.finishedAt;
      state.resultKey = key;
      if (result.outcome === "skipped" && result.skipReason !== undefined) state.skipReason = result.skipReason;
      else delete state.skipReason;
      // The winning result's files and provenance REPLACE the stage's: a re-run (redelivery,
      // redrive) wrote the same deterministic paths, so appending would list files twice.
      if (result.outcome === "succeeded" && result.renditions !== undefined) state.renditions = structuredClone(result.renditions);
      else delete state.renditions;
      if (result.provenance !== undefined) state.provenance = structuredClone(result.provenance);
      else delete state.provenance;
      if (result.stage === "hash" && result.outcome === "succeeded" && result.hash !== undefined && next.hash === undefined) {
        // The device's digest and whether it matches come from the record (what ingest read
        // from the blob's metadata), never from the claim.
        const { deviceSha256: _claimedDevice, matchesDevice: _claimedMatch, ...hash } = cloneHash(result.hash);
        next.hash = hash;
      }
    }
  }
  next.stages[result.stage] = state;

  // Both media stages probe the same original; keep one probe whatever the arrival order.
  if (result.media !== undefined) next.media = pickMedia(next.media, result.media);
  joinSourceSha256(next);

  joinDeviceMatch(next);

  appendLogEntry(next, stageLogEntry(result, key, context));
  return settle(record, next, context.nowIso);
}

/**
 * Records one fixity check (custody verify --record, the fixity-sample timer). Same merge
 * rules as the rest: one custody log entry per check (keyed by its message id, ordered by
 * `checkedAt`); `fixity` shows the latest check (by `checkedAt`, then message id — a join);
 * a modified or missing original adds an integrity finding once per (expected, actual),
 * keeping the earliest check that found it, whatever the order of delivery. A fixity result
 * never changes the recording's status or stages: it is a later observation about the
 * original, not a pipeline outcome.
 */
export function applyFixityResult(record: EvidenceRecord, result: FixityResultMessage, context: MergeContext): EvidenceRecord {
  assertSameEvidence(record, result.evidenceId);
  const next = clone(record);
  const key = fixityResultMessageId(result);
  const shown = next.fixity;
  if (shown === undefined || (compareTime(result.checkedAt, shown.lastCheckedAt) || compareText(key, shown.lastResultKey)) > 0) {
    next.fixity = { lastCheckedAt: result.checkedAt, lastStatus: result.status, lastResultKey: key };
  }
  const detail = describeFixity(result);
  if (result.status === "modified") {
    const finding: IntegrityFinding = {
      code: "OriginalModified",
      message: `A fixity check found the stored original changed since ingest: ${detail}.`,
      at: result.checkedAt,
      expected: result.sha256Expected ?? "(not recorded)",
      actual: result.sha256Actual ?? "(not reported)",
    };
    if (result.differingSegments !== undefined) finding.differingSegments = result.differingSegments.map((s) => ({ ...s }));
    addFinding(next, finding);
  } else if (result.status === "missing") {
    addFinding(next, {
      code: "OriginalMissing",
      message: `A fixity check found the stored original gone: ${detail}.`,
      at: result.checkedAt,
      expected: result.sha256Expected ?? "(not recorded)",
      actual: "(missing)",
    });
  }
  const entry: CustodyLogEntry = {
    key,
    at: result.checkedAt,
    recordedAt: context.nowIso,
    actor: result.actor,
    action: `fixity-${result.status}`,
    detail: `${result.status.toUpperCase()}: ${detail}`,
  };
  if (result.sha256Expected !== undefined) entry.inputSha256 = result.sha256Expected;
  if (result.sha256Actual !== undefined) entry.outputSha256 = result.sha256Actual;
  appendLogEntry(next, entry);
  return settle(record, next, context.nowIso);
}

/**
 * The state the record is in, and the event that announces it:
 *
 * - `ready` once evidence-received was applied and every required stage succeeded or was
 *   skipped. Ready is terminal: once a record has decided evidence-ready (`finalEvent`), it
 *   stays ready — a late failure report is logged but changes nothing.
 * - `rejected` once a rejected recording's hash stage has finished (succeeded, skipped or
 *   failed for good): announced with evidence-failed (stage `ingest`, code `Rejected`), so
 *   subscribers that wait for a recording's outcome hear about it — see final-event.ts.
 * - `failed` as soon as any required stage failed for good (no need to wait for the others:
 *   the outcome is known, and an operator can act on it now). Not terminal: when a redriven
 *   stage then succeeds and every stage is done, the record becomes `ready` and is
 *   announced again with evidence-ready (a different message id). While other stages of a
 *   record whose failed stage was redriven successfully are still running, it is `received`
 *   again (its published evidence-failed stays in `finalEvent` until evidence-ready replaces it).
 * - `received` otherwise.
 */
export function decideFinalState(record: EvidenceRecord): FinalDecision {
  const ready = { type: "evidence-ready", messageId: evidenceReadyMessageId(record.evidenceId) } as const;
  const failed = { type: "evidence-failed", messageId: evidenceFailedMessageId(record.evidenceId) } as const;
  if (record.finalEvent?.type === "evidence-ready") return { status: "ready", event: ready };
  if (record.original === undefined) return { status: "received" };
  if (record.rejection !== undefined) {
    const hash = record.stages.hash?.status;
    return hash === undefined || hash === "pending" ? { status: "received" } : { status: "rejected", event: failed };
  }
  const statuses = record.requiredStages.map((stage) => record.stages[stage]?.status ?? "pending");
  if (statuses.every((status) => status === "succeeded" || status === "skipped")) {
    // The images' Content Credentials are part of the thumbnail stage's work (content-credentials-run.ts).
    const hold = record.requiredStages.includes("thumbnail") ? credentialsHold(record) : undefined;
    if (hold === undefined) return { status: "ready", event: ready };
    if (hold === "failed") return { status: "failed", event: failed };
    return { status: hold === "waiting" ? "waiting" : "received" };
  }
  // evidence-failed carries the fingerprint when hashing succeeded, so it waits for the hash
  // stage's outcome even when a media stage failed first (hash is always required).
  const hashDone = (record.stages.hash?.status ?? "pending") !== "pending";
  if (hashDone && statuses.some((status) => status === "failed")) return { status: "failed", event: failed };
  if (record.requiredStages.some((stage) => isWaiting(record.stages[stage]))) return { status: "waiting" };
  // A segment of the transcode waiting for its retry (segment-run.ts) is the stage waiting.
  if (
    record.requiredStages.includes("transcode") &&
    record.stages.transcode?.status !== "succeeded" &&
    record.transcodeRuns?.some((run) => run.segments.some((s) => s.status === "pending" && s.retry !== undefined))
  ) {
    return { status: "waiting" };
  }
  return { status: "received" };
}

/** A stage with no outcome yet whose last run failed for a transient cause: its retry is scheduled. */
export function isWaiting(state: StageState | undefined): boolean {
  return state !== undefined && state.status === "pending" && state.retry !== undefined;
}

/**
 * Puts a decision on the record: its status and, when the decision announces a new event,
 * `finalEvent` without `publishedAt` (the publish comes after this is persisted, so a crash in
 * between leaves a record that says "publish me", and the redelivered message does) plus a
 * custody log entry keyed by the event's message id.
 */
export function applyFinalDecision(record: EvidenceRecord, decision: FinalDecision, context: MergeContext): EvidenceRecord {
  const next = clone(record);
  next.status = decision.status;
  if (decision.event !== undefined && next.finalEvent?.messageId !== decision.event.messageId) {
    next.finalEvent = { type: decision.event.type, messageId: decision.event.messageId };
    // A decision cannot precede the facts it rests on: when a stage host's clock runs ahead of
    // the index's, its entry's `at` may be later than now, and the log (ordered by `at`) would
    // show the verdict before its cause.
    const latest = next.custodyLog.reduce((max, entry) => (compareTime(entry.at, max) > 0 ? entry.at : max), context.nowIso);
    appendLogEntry(next, {
      key: decision.event.messageId,
      at: latest,
      recordedAt: context.nowIso,
      actor: context.actor,
      action: decision.status,
      detail: decisionDetail(next, decision.status),
    });
  }
  return settle(record, next, context.nowIso);
}

/** Notes that the final event `messageId` was accepted by Service Bus (no-op when superseded or already noted). */
export function markFinalEventPublished(record: EvidenceRecord, messageId: string, nowIso: string): EvidenceRecord {
  if (record.finalEvent === undefined || record.finalEvent.messageId !== messageId || record.finalEvent.publishedAt !== undefined) return record;
  const next = clone(record);
  next.finalEvent = { ...record.finalEvent, publishedAt: nowIso };
  return settle(record, next, nowIso);
}

/** Notes that an event — the final one, an evidence-updated or the evidence-disposed one, or a work order — was accepted by Service Bus (no-op when unknown or already noted). */
export function markEventPublished(record: EvidenceRecord, messageId: string, nowIso: string): EvidenceRecord {
  if (record.finalEvent?.messageId === messageId) return markFinalEventPublished(record, messageId, nowIso);
  const disposal = record.disposal;
  if (disposal?.event?.messageId === messageId) {
    if (disposal.event.publishedAt !== undefined) return record;
    const next = clone(record);
    next.disposal = { ...disposal, event: { messageId, publishedAt: nowIso } };
    return settle(record, next, nowIso);
  }
  const run = record.transcodeRuns?.findIndex((r) => (r.orders?.key === messageId && r.orders.publishedAt === undefined) || (r.join?.messageId === messageId && r.join.publishedAt === undefined));
  if (run !== undefined && run >= 0) {
    // A work order of a segment-parallel transcode (segment-run.ts): the segment requests of a round, or a join request.
    const next = clone(record);
    const target = (next.transcodeRuns ?? [])[run];
    if (target.orders?.key === messageId) target.orders.publishedAt = nowIso;
    if (target.join?.messageId === messageId) target.join.publishedAt = nowIso;
    return settle(record, next, nowIso);
  }
  const order = record.contentCredentials?.runs.findIndex((r) => r.order.messageId === messageId && r.order.publishedAt === undefined);
  if (order !== undefined && order >= 0) {
    // The order to sign a thumbnail result's images (content-credentials-run.ts).
    const next = clone(record);
    const run = (next.contentCredentials?.runs ?? [])[order];
    run.order.publishedAt = nowIso;
    return settle(record, next, nowIso);
  }
  const pending = record.updateEvents?.find((update) => update.messageId === messageId);
  if (pending === undefined || pending.publishedAt !== undefined) return record;
  const next = clone(record);
  next.updateEvents = (next.updateEvents ?? []).map((update) => (update.messageId === messageId ? { ...update, publishedAt: nowIso } : update));
  return settle(record, next, nowIso);
}

/**
 * The record after the custody ledger reached `head`: the later of its head and this one, and
 * every event it owes that has no head yet stamped with it — the head it was decided at, which
 * the event then carries on every publish. The record itself when nothing changes.
 */
export function advanceLedgerHead(record: EvidenceRecord, head: LedgerHead): EvidenceRecord {
  const later = laterHead(record.custodyLogHead, head);
  const owed = (event: PublishedEvent | undefined): boolean => event !== undefined && event.publishedAt === undefined && event.custodyLogHead === undefined;
  const stampsFinal = owed(record.finalEvent);
  const stampsUpdates = (record.updateEvents ?? []).some(owed);
  const stampsDisposal = owed(record.disposal?.event);
  if (later === record.custodyLogHead && !stampsFinal && !stampsUpdates && !stampsDisposal) return record;
  const next = clone(record);
  next.custodyLogHead = later;
  if (stampsFinal && next.finalEvent !== undefined) next.finalEvent.custodyLogHead = later;
  if (stampsUpdates) next.updateEvents = (next.updateEvents ?? []).map((update) => (owed(update) ? { ...update, custodyLogHead: later } : update));
  if (stampsDisposal && next.disposal?.event !== undefined) next.disposal = { ...next.disposal, event: { ...next.disposal.event, custodyLogHead: later } };
  return next;
}

/**
 * The manifest issue the record owes, or undefined: a ready recording whose ready event was
 * published owes its first, and one more for each evidence-updated event published since (a
 * re-run replaced renditions); a disposed recording owes none.
 */
export function owedManifestSequence(record: EvidenceRecord): number | undefined {
  if (record.status !== "ready" || record.finalEvent?.type !== "evidence-ready" || record.finalEvent.publishedAt === undefined || record.disposal !== undefined) return undefined;
  if (record.custodyLogHead === undefined || record.hash === undefined) return undefined;
  const owed = 1 + (record.updateEvents ?? []).filter((update) => update.publishedAt !== undefined).length;
  const issued = record.manifests?.length ?? 0;
  return issued < owed ? issued + 1 : undefined;
}

/** The record with issue `issued.sequence` of its manifest noted (no-op when it already is). */
export function recordManifestIssued(record: EvidenceRecord, issued: IssuedManifest, nowIso: string): EvidenceRecord {
  if ((record.manifests ?? []).some((m) => m.sequence === issued.sequence)) return record;
  const next = clone(record);
  next.manifests = [...(next.manifests ?? []), { ...issued, custodyLog: { ...issued.custodyLog } }].sort((a, b) => a.sequence - b.sequence);
  return settle(record, next, nowIso);
}

/** The evidence-updated events decided and not yet confirmed published, in the order decided. */
export function unpublishedUpdateEvents(record: EvidenceRecord): UpdateEvent[] {
  return (record.updateEvents ?? []).filter((update) => update.publishedAt === undefined && !awaitsCredentials(record, update));
}

/**
 * A thumbnail re-run's update waits for its images' Content Credentials (then names the signed
 * set); one whose signing failed for good is announced with the images as made, the failure on
 * the record and in the custody log.
 */
function awaitsCredentials(record: EvidenceRecord, update: UpdateEvent): boolean {
  if (update.stage !== "thumbnail" || record.contentCredentials?.required !== true || !update.renditions.some((r) => isCredentialImage(r.kind))) return false;
  const runs = record.contentCredentials.runs.filter((candidate) => candidate.sourceKey === update.resultKey);
  if (runs.length === 0) return record.stages.thumbnail?.resultKey === update.resultKey;
  return runs.some((run) => run.status === "pending");
}

/** The required stage whose final failure the record reports (first in `requiredStages` order). */
export function failedRequiredStage(record: EvidenceRecord): PipelineStage | undefined {
  const failed = record.requiredStages.find((stage) => record.stages[stage]?.status === "failed");
  if (failed !== undefined) return failed;
  // Signing its images failed for good: the thumbnail stage's work is not done (its lastError: failedStageError).
  return record.requiredStages.includes("thumbnail") && credentialsHold(record) === "failed" ? "thumbnail" : undefined;
}

/** Why `stage` failed, as recorded: its last error, or — when its images' Content Credentials failed for good — that failure. */
export function failedStageError(record: EvidenceRecord, stage: PipelineStage): StageState["lastError"] {
  const state = record.stages[stage];
  if (state?.status === "failed" || stage !== "thumbnail") return state?.lastError;
  const error = currentCredentialsRun(record)?.lastError;
  return error === undefined ? state?.lastError : { ...error, message: `Content Credentials for the images could not be made: ${error.message}` };
}

// ---------------------------------------------------------------------------------------------

const PRECEDENCE: Record<StageStatus, number> = { pending: 0, failed: 1, skipped: 2, succeeded: 3 };

/** Whether a final outcome should replace the outcome the stage shows (a total order, so the winner is the same in any order). */
function outcomeBeats(candidate: { status: StageStatus; finishedAt: string; key: string }, current: StageState): boolean {
  return resultBeats(PRECEDENCE, candidate, current);
}

/**
 * Whether a final outcome replaces the one shown — for a stage, a segment or a signing run: by
 * precedence of status (success beats failure), then the later finish, then the message id. A
 * total order, so the winner is the same whichever result arrives first.
 */
export function resultBeats<S extends string>(
  precedence: Record<S, number>,
  candidate: { status: S; finishedAt: string; key: string },
  current: { status: S; finishedAt?: string; resultKey?: string },
): boolean {
  const byPrecedence = precedence[candidate.status] - precedence[current.status];
  if (byPrecedence !== 0) return byPrecedence > 0;
  const byTime = current.finishedAt === undefined ? 1 : compareTime(candidate.finishedAt, current.finishedAt);
  if (byTime !== 0) return byTime > 0;
  return compareText(candidate.key, current.resultKey ?? "") > 0;
}

function supersededRun(resultKey: string, startedAt: string, finishedAt: string, renditions: readonly Rendition[], provenance: StageProvenance | undefined): SupersededRun {
  const run: SupersededRun = {
    resultKey,
    startedAt,
    finishedAt,
    renditions: renditions.map(({ kind, name, path, size, sha256 }) => ({ kind, name, path, size, sha256 })),
  };
  if (provenance !== undefined) run.tools = { ...provenance.tools };
  // The request id is part of the result's message id, so the key says it.
  const reprocessId = reprocessIdOf(resultKey);
  if (reprocessId !== undefined) run.reprocessId = reprocessId;
  return run;
}

/** Adds an evidence-updated event once (by message id: a redelivered re-run result owes no second one). */
function addUpdateEvent(record: EvidenceRecord, update: UpdateEvent): void {
  const updates = record.updateEvents ?? [];
  if (updates.some((existing) => existing.messageId === update.messageId)) return;
  updates.push(update);
  record.updateEvents = updates;
}

/** Adds a run once (by result key), keeping the list ordered by (finishedAt, key). */
function addSuperseded(state: StageState, run: SupersededRun): void {
  const runs = state.superseded ?? [];
  if (runs.some((existing) => existing.resultKey === run.resultKey)) return;
  runs.push(run);
  runs.sort((a, b) => compareTime(a.finishedAt, b.finishedAt) || compareText(a.resultKey, b.resultKey));
  state.superseded = runs;
}

type LastError = NonNullable<StageState["lastError"]>;

/** Keeps the failure with the highest attempt (then time, code, message) as the last error: a join. */
export function joinLastError(state: { lastError?: LastError }, candidate: LastError): void {
  if (state.lastError === undefined || compareErrors(candidate, state.lastError) > 0) state.lastError = candidate;
}

function compareErrors(a: LastError, b: LastError): number {
  return a.attempt - b.attempt || compareTime(a.at, b.at) || compareText(a.code, b.code) || compareText(a.message, b.message) || Number(a.retryable) - Number(b.retryable);
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders ISO 8601 times by instant (hosts may write offsets, or Event Grid's 7 fractional
 * digits), then by text so that two spellings of one instant still have a fixed order.
 */
export function compareTime(a: string, b: string): number {
  const x = Date.parse(a);
  const y = Date.parse(b);
  if (Number.isFinite(x) && Number.isFinite(y) && x !== y) return x - y;
  return compareText(a, b);
}

function stageLogEntry(result: StageResultMessage, key: string, context: MergeContext): CustodyLogEntry {
  const entry: CustodyLogEntry = { key, at: result.finishedAt, recordedAt: context.nowIso, actor: result.actor, action: "", stage: result.stage };
  if (result.inputSha256 !== undefined) entry.inputSha256 = result.inputSha256;
  const attempt =
    result.reprocess === undefined
      ? `attempt ${result.attempt}`
      : `reprocess ${result.reprocess.id} (asked by ${result.reprocess.requestedBy}${result.reprocess.reason ? `: ${result.reprocess.reason}` : ""}) attempt ${result.attempt}`;
  switch (result.outcome) {
    case "succeeded":
      if (result.stage === "hash" && result.hash !== undefined) {
        entry.action = "hashed";
        entry.outputSha256 = result.hash.sha256;
        // Whether it matches the device's digest is the record's (hash.matchesDevice, findings),
        // computed from what ingest read — not the claim's, and not here: the entry must read the
        // same whichever message arrived first.
        entry.detail = `${attempt}: ${result.hash.size} bytes, ${result.hash.segmentSha256.length} segments`;
      } else {
        entry.action = "stage-succeeded";
        entry.detail = `${result.stage} ${attempt}`;
        if (result.renditions !== undefined && result.renditions.length > 0) {
          const primary = result.renditions.find((r) => r.kind === "proxy" || r.kind === "audio-proxy" || r.kind === "poster") ?? result.renditions[0];
          entry.outputSha256 = primary.sha256;
          entry.detail += `: ${result.renditions.length} rendition${result.renditions.length === 1 ? "" : "s"} in ${primary.container}/${primary.path.slice(0, primary.path.lastIndexOf("/") + 1)} (${primary.name} sha256 ${primary.sha256})`;
        }
      }
      break;
    case "skipped":
      entry.action = "stage-skipped";
      entry.detail = `${result.stage} ${attempt}: ${result.skipReason ?? "no reason given"}`;
      break;
    case "failed":
      entry.action = result.final ? "stage-failed" : "stage-attempt-failed";
      entry.detail = `${result.stage} ${attempt}${result.retry ? ` (retry ${result.retry.round})` : ""}${result.final ? " (final)" : ` (retry due ${nextRetryAt(result, context.retryPolicy ?? DEFAULT_RETRY_POLICY)})`}: ${result.error?.code ?? "Unknown"}: ${result.error?.message ?? ""}`;
      break;
  }
  return entry;
}

function decisionDetail(record: EvidenceRecord, status: EvidenceStatus): string {
  switch (status) {
    case "ready":
      return `every required stage done (${record.requiredStages.join(", ")})${record.integrityFindings.length > 0 ? `; integrity findings: ${record.integrityFindings.map((f) => f.code).join(", ")}` : ""}`;
    case "failed": {
      const stage = failedRequiredStage(record);
      const error = stage ? record.stages[stage]?.lastError : undefined;
      return `${stage ?? "a required stage"} failed for good${error ? `: ${error.code}: ${error.message}` : ""}`;
    }
    case "rejected":
      return `rejected by ingest (${(record.rejection?.reasons ?? []).map((r) => r.code).join(", ")}); original hashed`;
    case "received":
      return "received";
    case "waiting":
      return "waiting for a retry";
  }
}

/**
 * Puts the device's digest (from the capture metadata ingest read) beside the fingerprint and
 * whether they match; a mismatch is an integrity finding, once per (expected, actual) pair.
 * Re-derived whenever either side arrives, so it holds in any order.
 */
function joinDeviceMatch(record: EvidenceRecord): void {
  const hash = record.hash;
  const device = record.capture?.deviceSha256;
  if (hash === undefined || device === undefined) return;
  hash.deviceSha256 = device;
  hash.matchesDevice = device === hash.sha256;
  if (!hash.matchesDevice) {
    addFinding(record, {
      code: "DeviceHashMismatch",
      message: `The SHA-256 of the stored original (${hash.sha256}) differs from the digest the device supplied (${device}): the recording may have been altered or corrupted between the camera and storage.`,
      at: record.stages.hash?.finishedAt ?? record.uploadedAt ?? record.createdAt,
      expected: device,
      actual: hash.sha256,
    });
  }
}

/** Whether `result` claims another SHA-256 for the original than the fingerprint the record holds. */
export function isConflictingHashClaim(record: EvidenceRecord, result: StageResultMessage): boolean {
  if (result.stage !== "hash" || result.outcome !== "succeeded" || record.hash === undefined || result.hash === undefined) return false;
  const kept = record.hash;
  const claim = result.hash;
  return (
    claim.sha256 !== kept.sha256 ||
    claim.size !== kept.size ||
    claim.segmentSizeInBytes !== kept.segmentSizeInBytes ||
    claim.segmentSha256.length !== kept.segmentSha256.length ||
    claim.segmentSha256.some((digest, i) => digest !== kept.segmentSha256[i])
  );
}

function refuseConflictingHashClaim(record: EvidenceRecord, result: StageResultMessage, key: string, context: MergeContext): EvidenceRecord {
  const keptHash = record.hash;
  const claimedHash = result.hash;
  if (keptHash === undefined || claimedHash === undefined) throw new CustodyError("Internal", "a conflicting hash claim needs both the fingerprint and the claim");
  const next = clone(record);
  const kept = keptHash.sha256;
  const claimed = claimedHash.sha256;
  addFinding(next, {
    code: "ConflictingHashClaim",
    message: `A hash result (message ${key}, from ${result.actor}) claimed SHA-256 ${claimed} (${claimedHash.size} bytes) for the original, whose fingerprint is ${kept} (${keptHash.size} bytes${claimed === kept ? "; other segment digests" : ""}): the claim was refused and the fingerprint kept.`,
    at: context.nowIso,
    expected: kept,
    actual: claimed,
    claimMessageId: key,
  });
  appendLogEntry(next, {
    key,
    at: context.nowIso,
    recordedAt: context.nowIso,
    actor: context.actor,
    action: "claim-refused",
    stage: "hash",
    inputSha256: kept,
    outputSha256: claimed,
    detail: `hash result from ${result.actor} claimed another SHA-256 than the recorded fingerprint: refused, fingerprint kept`,
  });
  return settle(record, next, context.nowIso);
}

/**
 * A non-final failure whose retry chain has run longer than the budget is final: the stage has
 * failed for good, with the last cause and how long it was retried.
 */
export function withRetryBudget<T extends RetriedFailure>(result: T, policy: RetryPolicy): T {
  if (result.outcome !== "failed" || result.final) return result;
  const firstFailedAt = result.retry?.firstFailedAt ?? result.finishedAt;
  if (!retryBudgetSpent(policy, firstFailedAt, result.finishedAt)) return result;
  const error = result.error ?? { code: "Unknown", message: "no error description", retryable: true };
  return {
    ...result,
    final: true,
    error: {
      ...error,
      message: `retried for ${describeBudget(policy)} (the retry budget) since ${firstFailedAt}, ${(result.retry?.round ?? 0) + 1} runs, without success; last cause: ${error.message}`.slice(0, 4000),
    },
  };
}

/** A reported failure as the retry rules see it: a stage's result or a segment's. */
export interface RetriedFailure {
  outcome: string;
  final: boolean;
  finishedAt: string;
  retry?: RetryRound;
  error?: StageError;
}

/**
 * Joins a transient failure, whose next round is `due`, into a retry state (StageState.retry, a
 * segment's): a join, so any order gives the same state.
 */
export function joinRetry(state: { retry?: StageRetry }, result: RetriedFailure, due: string): void {
  const round = result.retry?.round ?? 0;
  const firstFailedAt = result.retry?.firstFailedAt ?? result.finishedAt;
  const retry = state.retry;
  if (retry === undefined) {
    state.retry = { firstFailedAt, round, lastFailedAt: result.finishedAt, nextAttemptAt: due };
    return;
  }
  if (compareTime(firstFailedAt, retry.firstFailedAt) < 0) retry.firstFailedAt = firstFailedAt;
  if (round > retry.round || (round === retry.round && compareTime(result.finishedAt, retry.lastFailedAt) > 0)) {
    retry.round = round;
    retry.lastFailedAt = result.finishedAt;
    retry.nextAttemptAt = due;
  }
}

/**
 * When the retry after the non-final failure `result` is due: its finish time plus the backoff
 * for the next round, with jitter keyed by recording, stage, run and round (the index schedules
 * the retry for exactly this time, whichever instance handles the result).
 */
export function nextRetryAt(result: Pick<StageResultMessage, "evidenceId" | "stage" | "finishedAt" | "retry" | "reprocess">, policy: RetryPolicy): string {
  return retryDueAt(result, policy, (round) => `${result.evidenceId}:${result.stage}:${result.reprocess?.id ?? ""}:${round}`);
}

/**
 * When the next round after a transient failure is due: its finish plus the policy's backoff for
 * that round, jittered by `jitterKey(round)` (each kind of work keys its own, so retries of
 * different work spread out). Stages, segments and signing orders all schedule by it.
 */
export function retryDueAt(failure: Pick<RetriedFailure, "finishedAt" | "retry">, policy: RetryPolicy, jitterKey: (round: number) => string): string {
  const round = (failure.retry?.round ?? 0) + 1;
  const delay = retryDelayInMs(policy, round, jitterKey(round));
  const base = Date.parse(failure.finishedAt);
  return new Date((Number.isFinite(base) ? base : 0) + delay).toISOString();
}

/** Whether a non-final failure is past its retry budget (then the index records it as final and schedules nothing). */
export function isRetryBudgetSpent(result: RetriedFailure, policy: RetryPolicy = DEFAULT_RETRY_POLICY): boolean {
  return withRetryBudget(result, policy) !== result;
}

/**
 * Adds a finding once per (code, expected, actual). When the same finding is reported again
 * (a later check, a redelivery with another time), the earliest report is kept — the smallest
 * (at, message) — so the record does not depend on which report arrived first.
 */
function addFinding(record: EvidenceRecord, finding: IntegrityFinding): void {
  const existing = record.integrityFindings.findIndex((f) => f.code === finding.code && f.expected === finding.expected && f.actual === finding.actual);
  if (existing >= 0) {
    const current = record.integrityFindings[existing];
    if ((compareTime(finding.at, current.at) || compareText(finding.message, current.message)) >= 0) return;
    record.integrityFindings.splice(existing, 1);
  }
  record.integrityFindings.push(finding);
  record.integrityFindings.sort((a, b) => compareTime(a.at, b.at) || compareText(a.code, b.code) || compareText(a.actual, b.actual) || compareText(a.expected, b.expected));
}

/** Appends an entry unless one with its key exists; keeps the log ordered by (at, key). */
export function appendLogEntry(record: EvidenceRecord, entry: CustodyLogEntry): void {
  if (record.custodyLog.some((existing) => existing.key === entry.key)) return;
  record.custodyLog.push(entry);
  record.custodyLog.sort((a, b) => compareTime(a.at, b.at) || compareText(a.key, b.key));
}

/** Returns `before` itself when nothing changed (callers skip the write), else `after` with `updatedAt`. */
export function settle(before: EvidenceRecord, after: EvidenceRecord, nowIso: string): EvidenceRecord {
  if (canonicalJson(before) === canonicalJson(after)) return before;
  after.updatedAt = nowIso;
  return after;
}

function assertSameEvidence(record: EvidenceRecord, evidenceId: string): void {
  if (record.evidenceId !== evidenceId) {
    throw new CustodyError("Internal", `a message for ${evidenceId} was applied to the record of ${record.evidenceId}`, { retryable: false });
  }
}

/**
 * The probe to keep when two are reported. Normally identical (same file, same ffprobe); when
 * hosts run different ffprobe builds they may differ, and the smaller canonical JSON wins — a
 * total order, so the record does not depend on which stage reported first.
 */
export function pickMedia(current: ReportedMediaProbe | undefined, candidate: ReportedMediaProbe): ReportedMediaProbe {
  if (current === undefined) return structuredClone(candidate);
  return canonicalJson(candidate) < canonicalJson(current) ? structuredClone(candidate) : current;
}

/**
 * Media stages read the original through a URL and never hash it: their provenance names the
 * version read, and the SHA-256 of that version is the hash stage's (the evidence id is
 * derived from that very version, so it cannot be another file's). Re-derived on every
 * application, so it holds whichever of hash and provenance arrived last.
 */
function joinSourceSha256(record: EvidenceRecord): void {
  const sha256 = record.hash?.sha256;
  if (sha256 === undefined) return;
  for (const state of Object.values(record.stages)) {
    if (state?.provenance !== undefined) state.provenance.source.sha256 = sha256;
  }
}

function cloneHash(hash: HashResult): HashResult {
  return { ...hash, segmentSha256: [...hash.segmentSha256] };
}

function clone(record: EvidenceRecord): EvidenceRecord {
  return structuredClone(record);
}
