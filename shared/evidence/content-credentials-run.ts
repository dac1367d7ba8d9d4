/**
 * Content Credentials on a recording's images, as the index decides them (docs/decisions/0016).
 * Pure: no I/O, no clock.
 *
 * The thumbnail stage (media app) writes its images unsigned and never learns the recording's
 * SHA-256; the hash stage learns it and never sees the images. Only the index holds both, as
 * facts it checked. So once the record has the fingerprint and a successful thumbnail result
 * with images, and the record requires Content Credentials, the index owes one
 * `credentials-request` for that result (`planContentCredentials`, decided with the state
 * change like the segment orders); the core app signs and claims a `credentials-result`, which
 * `applyCredentialsResult` records. The signed set then IS the thumbnail stage's renditions —
 * what the ready (or updated) event, the manifest and a disclosure package name — and readiness
 * waits for it. A transient failure is retried with backoff within the retry budget
 * (`credentialsRetryOrder`); a final one fails the recording, naming the thumbnail stage.
 */
import { createHash } from "node:crypto";
import { credentialsRequestMessageId, credentialsResultMessageId } from "../contracts/message-ids";
import type { CredentialsRequestMessage, CredentialsResultMessage } from "../contracts/messages";
import { CustodyError } from "../errors";
import type { OutgoingMessage } from "../contracts/envelopes";
import { credentialsFolder } from "../contracts/rendition-path";
import { canonicalJson } from "./canonical-json";
import { currentCredentialsRun, isCredentialImage, sameFiles } from "./content-credentials-state";
import type { CredentialsRun, EvidenceRecord } from "./record";
import { appendLogEntry, applyFinalDecision, decideFinalState, joinLastError, joinRetry, resultBeats, retryDueAt, settle, withRetryBudget, type MergeContext } from "./record-merge";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry-policy";

/** The request id of signing one thumbnail result's files as made from one original: the digest of exactly that. */
export function credentialsRequestIdOf(evidenceId: string, sourceKey: string, originalSha256: string, sources: CredentialsRun["sources"]): string {
  const subject = { evidenceId, sourceKey, originalSha256, sources: sources.map(({ kind, name, path, size, sha256 }) => ({ kind, name, path, size, sha256 })) };
  return createHash("sha256").update(canonicalJson(subject), "utf8").digest("hex");
}

/**
 * What the index does after applying any message: the signing run now owed (if any) is added,
 * then the recording's state decided (record-merge.ts decideFinalState). The rebuild from the
 * ledger does the same, so a rebuilt record owes and has sent the same orders.
 */
export function decideAndOrder(record: EvidenceRecord, context: MergeContext): EvidenceRecord {
  const planned = planContentCredentials(record, context.nowIso);
  return applyFinalDecision(planned, decideFinalState(planned), context);
}

/**
 * The record with the signing run it now owes added (pending, its order not yet sent), or the
 * record itself: owed when the record requires Content Credentials, has its fingerprint, and the
 * thumbnail stage shows images no run signs yet. When the stage shows files a run already signed
 * (a redelivered thumbnail result put them back), that run's signed set is put in place again.
 */
export function planContentCredentials(record: EvidenceRecord, nowIso: string): EvidenceRecord {
  const credentials = record.contentCredentials;
  const thumbnail = record.stages.thumbnail;
  const sourceKey = thumbnail?.resultKey;
  if (credentials?.required !== true || record.disposal !== undefined || record.hash === undefined || record.original === undefined) return record;
  if (thumbnail?.status !== "succeeded" || sourceKey === undefined || thumbnail.renditions === undefined || !thumbnail.renditions.some((r) => isCredentialImage(r.kind))) return record;
  const current = currentCredentialsRun(record);
  if (current !== undefined) {
    if (current.status !== "succeeded" || current.renditions === undefined || sameFiles(current.renditions, thumbnail.renditions)) return record;
    const next = structuredClone(record);
    putSignedSet(next, current);
    return settle(record, next, nowIso);
  }
  const sources = thumbnail.renditions.map(({ kind, name, path, size, sha256 }) => ({ kind, name, path, size: size ?? 0, sha256 }));
  const requestId = credentialsRequestIdOf(record.evidenceId, sourceKey, record.hash.sha256, sources);
  const next = structuredClone(record);
  const state = next.contentCredentials ?? { required: true, runs: [] };
  state.runs.push({
    requestId,
    sourceKey,
    folder: credentialsFolder(folderOf(sources[0].path), requestId),
    sources,
    status: "pending",
    attempts: 0,
    order: { messageId: credentialsRequestMessageId(record.evidenceId, requestId, 0), round: 0 },
  });
  next.contentCredentials = state;
  return settle(record, next, nowIso);
}

/** The run's signed set as the thumbnail stage's renditions (and an unannounced update's, for a re-run). */
function putSignedSet(record: EvidenceRecord, run: CredentialsRun): void {
  const thumbnail = record.stages.thumbnail;
  if (thumbnail === undefined || run.renditions === undefined) return;
  thumbnail.renditions = structuredClone(run.renditions);
  for (const update of record.updateEvents ?? []) {
    if (update.resultKey === run.sourceKey && update.publishedAt === undefined) update.renditions = structuredClone(run.renditions);
  }
}

/** Runs whose order is owed and not yet accepted by Service Bus (only the current one: a replaced result's images are not signed any more). */
export function runsOwingCredentialsOrders(record: EvidenceRecord): CredentialsRun[] {
  const run = currentCredentialsRun(record);
  return run !== undefined && run.status === "pending" && run.order.publishedAt === undefined ? [run] : [];
}

/** The order for `run` at its current round (the thumbnail stage's result must still be the one it signs). */
export function credentialsOrder(record: EvidenceRecord, run: CredentialsRun, round: number = run.order.round): OutgoingMessage & { body: CredentialsRequestMessage } {
  const thumbnail = record.stages.thumbnail;
  if (record.original === undefined || record.hash === undefined || thumbnail?.resultKey !== run.sourceKey || thumbnail.renditions === undefined || thumbnail.provenance === undefined) {
    throw new CustodyError("Internal", `${record.evidenceId}: a Content Credentials order for a thumbnail result the record no longer shows`, { retryable: false });
  }
  const sources = thumbnail.renditions.filter((r) => run.sources.some((s) => s.path === r.path && s.sha256 === r.sha256));
  const body: CredentialsRequestMessage = {
    schemaVersion: 1,
    kind: "credentials-request",
    evidenceId: record.evidenceId,
    requestId: run.requestId,
    original: { ...record.original },
    originalSha256: record.hash.sha256,
    sources: structuredClone(sources),
    folder: run.folder,
    tools: { ...thumbnail.provenance.tools },
    runs: structuredClone(thumbnail.provenance.runs),
  };
  const reprocess = record.updateEvents?.find((update) => update.resultKey === run.sourceKey)?.reprocess;
  if (reprocess !== undefined) body.reprocess = { ...reprocess };
  return {
    messageId: credentialsRequestMessageId(record.evidenceId, run.requestId, round),
    body,
    contentType: "application/json",
    subject: "credentials-request",
    correlationId: record.evidenceId,
    applicationProperties: { evidenceId: record.evidenceId },
  };
}

/** The next round's order after a transient failure, enqueued when the backoff says. */
export function credentialsRetryOrder(record: EvidenceRecord, failure: CredentialsResultMessage, policy: RetryPolicy): OutgoingMessage & { body: CredentialsRequestMessage } {
  const run = record.contentCredentials?.runs.find((candidate) => candidate.requestId === failure.requestId);
  if (run === undefined) throw new CustodyError("Internal", `${failure.evidenceId}: no Content Credentials run for the failed request`, { retryable: false });
  const round = (failure.retry?.round ?? 0) + 1;
  const order = credentialsOrder(record, run, round);
  order.body.retry = { round, firstFailedAt: failure.retry?.firstFailedAt ?? failure.finishedAt };
  order.scheduledEnqueueTime = new Date(nextCredentialsRetryAt(failure, policy));
  return order;
}

export function nextCredentialsRetryAt(failure: Pick<CredentialsResultMessage, "evidenceId" | "requestId" | "finishedAt" | "retry">, policy: RetryPolicy): string {
  return retryDueAt(failure, policy, (round) => `${failure.evidenceId}:c2pa:${failure.requestId}:${round}`);
}

/**
 * Records one signing run's outcome (checked before: shared/evidence/claim-checks.ts). The same
 * join as a stage's: attempts the maximum, the last error the latest, success beats failure,
 * ties by time then message id. A success for the thumbnail stage's current result puts the
 * signed set in place of the stage's renditions (and of an evidence-updated event's, when the
 * result was a re-run not yet announced).
 */
export function applyCredentialsResult(record: EvidenceRecord, reported: CredentialsResultMessage, context: MergeContext): EvidenceRecord {
  const policy = context.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const result = withRetryBudget(reported, policy);
  const key = credentialsResultMessageId(reported);
  const next = structuredClone(record);
  const run = next.contentCredentials?.runs.find((candidate) => candidate.requestId === result.requestId);
  if (run === undefined) throw new CustodyError("Internal", `${result.evidenceId}: a Content Credentials result for a request the record does not hold`, { retryable: false });
  run.attempts = Math.max(run.attempts, result.attempt);
  if (result.outcome === "failed") {
    const error = result.error ?? { code: "Unknown", message: "signing failed without an error description", retryable: !result.final };
    joinLastError(run, { ...error, at: result.finishedAt, attempt: result.attempt });
    if (!result.final) joinRetry(run, result, nextCredentialsRetryAt(result, policy));
  }
  if (result.outcome === "succeeded" || result.final) {
    const status = result.outcome === "succeeded" ? "succeeded" : "failed";
    if (resultBeats(RUN_PRECEDENCE, { status, finishedAt: result.finishedAt, key }, run)) {
      run.status = status;
      run.resultKey = key;
      run.finishedAt = result.finishedAt;
      if (result.outcome === "succeeded") {
        run.renditions = structuredClone(result.renditions ?? []);
        if (result.keyId !== undefined) run.keyId = result.keyId;
        delete run.retry;
      } else {
        delete run.renditions;
        delete run.keyId;
      }
    }
  }
  // The signed set replaces the files it was made from, when they are still what the stage shows.
  if (run.status === "succeeded" && currentCredentialsRun(next)?.requestId === run.requestId) putSignedSet(next, run);
  appendLogEntry(next, {
    key,
    at: result.finishedAt,
    recordedAt: context.nowIso,
    actor: result.actor,
    action: result.outcome === "succeeded" ? "content-credentials" : result.final ? "content-credentials-failed" : "content-credentials-retry",
    stage: "thumbnail",
    ...(next.hash === undefined ? {} : { inputSha256: next.hash.sha256 }),
    detail: describeResult(result, run),
  });
  return settle(record, next, context.nowIso);
}

const RUN_PRECEDENCE: Record<CredentialsRun["status"], number> = { pending: 0, failed: 1, succeeded: 2 };

function describeResult(result: CredentialsResultMessage, run: CredentialsRun): string {
  const round = result.retry === undefined ? "" : ` (retry round ${result.retry.round})`;
  if (result.outcome === "succeeded") {
    const images = (result.renditions ?? []).filter((r) => isCredentialImage(r.kind)).length;
    return `${images} images signed with Content Credentials${result.keyId === undefined ? "" : ` (key ${result.keyId})`} into ${run.folder}, attempt ${result.attempt}${round}`;
  }
  const error = result.error;
  return `Content Credentials ${result.final ? "failed" : "failed, will be retried"}, attempt ${result.attempt}${round}: ${error?.code ?? "Unknown"}: ${error?.message ?? ""}`.slice(0, 4000);
}

function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash + 1);
}
