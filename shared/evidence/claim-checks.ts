/**
 * Messages are claims; the index decides. Anything on a queue may be duplicated, late,
 * reordered — or forged by whoever holds Send on the entity. Before the index applies a
 * message it checks the claim against what the record already holds; a claim that
 * contradicts it is refused (CustodyError `InvalidMessage`: dead-lettered with the reason,
 * the record untouched). What cannot be checked yet (a result that arrives before its
 * recording's evidence-received) is applied, and the facts that arrive later are checked
 * against it in turn.
 *
 * A hash result with another SHA-256 than the recorded fingerprint is not refused here: it
 * is recorded as a `ConflictingHashClaim` finding first (record-merge.ts), then dead-lettered.
 * Pure: the caller passes the time.
 */
import { segmentRunTag } from "../contracts/message-ids";
import type {
  CredentialsResultMessage,
  EvidenceReceivedMessage,
  FixityResultMessage,
  OriginalRef,
  RetentionCommandMessage,
  SegmentPlanMessage,
  SegmentResultMessage,
  StageResultMessage,
} from "../contracts/messages";
import { CustodyError } from "../errors";
import { renditionFolder } from "../contracts/rendition-path";
import { deriveEvidenceId } from "./evidence-id";
import type { EvidenceRecord } from "./record";
import { checkRetentionCommand } from "./retention";
import { planIdOf } from "./segment-run";

/** How far a reporter's clock may run ahead of the index's before its times are refused. */
export const MAX_CLOCK_SKEW_IN_MS = 5 * 60 * 1000;

export function checkEvidenceReceived(record: EvidenceRecord | undefined, message: EvidenceReceivedMessage, nowInMs: number): void {
  refuseIf(futureTime(message.uploadedAt, nowInMs, "uploadedAt"), message.evidenceId);
  // The evidence id is derived from the original's identity (ingest, evidence-id.ts): a message
  // whose id is not its original's names a recording that does not exist.
  const derived = deriveEvidenceId(message.original);
  if (derived !== message.evidenceId)
    refuseIf(
      `the evidence id is not the one derived from the original it names (${message.original.container}/${message.original.name}, etag ${message.original.etag}: ${derived})`,
      message.evidenceId,
    );
  const known = record?.original;
  if (known !== undefined) refuseIf(otherOriginal(known, message.original), message.evidenceId);
}

export function checkStageResult(record: EvidenceRecord | undefined, result: StageResultMessage, nowInMs: number): void {
  const id = result.evidenceId;
  refuseIf(futureTime(result.startedAt, nowInMs, "startedAt") ?? futureTime(result.finishedAt, nowInMs, "finishedAt"), id);
  if (result.retry !== undefined) refuseIf(futureTime(result.retry.firstFailedAt, nowInMs, "retry.firstFailedAt"), id);
  const original = record?.original;
  const fingerprint = record?.hash?.sha256;
  if (result.hash !== undefined) {
    const size = original?.size ?? record?.hash?.size;
    if (size !== undefined && result.hash.size !== size) refuseIf(`the hash result says the original has ${result.hash.size} bytes; the record says ${size}`, id);
    const segments = result.hash.size === 0 ? [0, 1] : [Math.ceil(result.hash.size / result.hash.segmentSizeInBytes)];
    if (!segments.includes(result.hash.segmentSha256.length)) {
      refuseIf(`the hash result lists ${result.hash.segmentSha256.length} segment digests for ${result.hash.size} bytes in segments of ${result.hash.segmentSizeInBytes}`, id);
    }
  }
  if (result.inputSha256 !== undefined && fingerprint !== undefined && result.stage !== "hash" && result.inputSha256 !== fingerprint) {
    refuseIf(`the ${result.stage} result names input SHA-256 ${result.inputSha256}; the recording's fingerprint is ${fingerprint}`, id);
  }
  const source = result.provenance?.source;
  if (source !== undefined && original !== undefined) {
    const differs =
      source.container !== original.container ||
      source.name !== original.name ||
      source.etag !== original.etag ||
      (source.versionId !== undefined && original.versionId !== undefined && source.versionId !== original.versionId);
    if (differs)
      refuseIf(`the ${result.stage} result says it read ${source.container}/${source.name} (etag ${source.etag}); the recording is ${original.container}/${original.name} (etag ${original.etag})`, id);
  }
  for (const rendition of result.renditions ?? []) {
    // Each stage writes only below its own deterministic folder: a result cannot adopt another recording's (or stage's) files.
    const folder = renditionFolder(result.evidenceId, result.stage, result.reprocess?.id);
    if (!rendition.path.startsWith(folder) || rendition.path !== `${folder}${rendition.name}`) {
      refuseIf(`the ${result.stage} result lists rendition ${rendition.container}/${rendition.path}, outside ${folder}`, id);
    }
  }
}

export function checkFixityResult(record: EvidenceRecord | undefined, result: FixityResultMessage, nowInMs: number): void {
  const id = result.evidenceId;
  refuseIf(futureTime(result.checkedAt, nowInMs, "checkedAt"), id);
  if (record === undefined) return; // a check of an unknown recording is dropped, not applied
  const fingerprint = record.hash?.sha256;
  if (result.sha256Expected !== undefined && result.sha256Expected !== fingerprint) {
    refuseIf(`the fixity result expected SHA-256 ${result.sha256Expected}; the recording's fingerprint is ${fingerprint ?? "not recorded yet"}`, id);
  }
  const size = record.original?.size ?? record.hash?.size;
  if (result.sizeExpected !== undefined && result.sizeExpected !== size) {
    refuseIf(`the fixity result expected ${result.sizeExpected} bytes; the record says ${size ?? "nothing yet"}`, id);
  }
  if (result.etagExpected !== undefined && result.etagExpected !== record.original?.etag) {
    refuseIf(`the fixity result expected ETag ${result.etagExpected}; the record says ${record.original?.etag ?? "nothing yet"}`, id);
  }
  if (result.status === "modified" && result.sha256Actual === result.sha256Expected && result.sizeActual === result.sizeExpected && result.etagChanged !== true) {
    refuseIf("the fixity result says the original was modified, but reports the expected digest, size and ETag", id);
  }
  if (result.status === "intact" && result.sha256Actual !== undefined && result.sha256Actual !== fingerprint) {
    refuseIf(`the fixity result says the original is intact, but reports SHA-256 ${result.sha256Actual}; the fingerprint is ${fingerprint ?? "not recorded yet"}`, id);
  }
}

/**
 * A plan claim: its id must be its plan's digest (the orders and results name the plan by it),
 * its segments numbered 0…n-1 in time order, and its times not in the future.
 */
export function checkSegmentPlan(_record: EvidenceRecord | undefined, message: SegmentPlanMessage, nowInMs: number): void {
  const id = message.evidenceId;
  refuseIf(futureTime(message.startedAt, nowInMs, "startedAt") ?? futureTime(message.finishedAt, nowInMs, "finishedAt"), id);
  if (planIdOf(message.plan) !== message.planId) refuseIf(`the segment plan's id ${message.planId} is not the digest of the plan it carries (${planIdOf(message.plan)})`, id);
  let previous = -1;
  for (const [position, segment] of message.plan.segments.entries()) {
    if (segment.index !== position) refuseIf(`segment ${segment.index} of the plan is listed at position ${position}`, id);
    if (segment.startInMicroseconds <= previous || (segment.endInMicroseconds !== undefined && segment.endInMicroseconds <= segment.startInMicroseconds)) {
      refuseIf(`segment ${segment.index} of the plan does not follow the one before it in time`, id);
    }
    previous = segment.startInMicroseconds;
  }
}

/**
 * A signing run's claim (content-credentials-run.ts): for a request the index handed out, and a
 * signed set that is exactly the request's files — same kinds and names, in the request's folder
 * of the derived container; the WebVTT track unchanged (same digest: it names the sheets by file
 * name, so it only moves).
 */
export function checkCredentialsResult(record: EvidenceRecord | undefined, result: CredentialsResultMessage, nowInMs: number): void {
  const id = result.evidenceId;
  refuseIf(futureTime(result.startedAt, nowInMs, "startedAt") ?? futureTime(result.finishedAt, nowInMs, "finishedAt"), id);
  if (result.retry !== undefined) refuseIf(futureTime(result.retry.firstFailedAt, nowInMs, "retry.firstFailedAt"), id);
  const run = record?.contentCredentials?.runs.find((candidate) => candidate.requestId === result.requestId);
  if (run === undefined) {
    refuseIf(`a Content Credentials result for request ${result.requestId.slice(0, 16)}, which the index never handed out`, id);
    return;
  }
  const signed = result.renditions;
  if (signed === undefined) return;
  // The thumbnail stage's container (derived): the signed set sits beside what it signs.
  const container = record?.stages.thumbnail?.renditions?.[0]?.container ?? "derived";
  if (signed.length !== run.sources.length) refuseIf(`the signed set has ${signed.length} files; the request named ${run.sources.length}`, id);
  signed.forEach((file, index) => {
    const source = run.sources[index] as (typeof run.sources)[number] | undefined;
    if (source === undefined) return;
    if (file.kind !== source.kind || file.name !== source.name) refuseIf(`signed file ${index + 1} is ${file.kind} ${file.name}; the request named ${source.kind} ${source.name} there`, id);
    if (file.container !== container || file.path !== `${run.folder}${source.name}`) {
      refuseIf(`signed file ${file.name} is at ${file.container}/${file.path}; the request's folder is ${container}/${run.folder}`, id);
    }
    if (file.kind === "sprite-vtt" && file.sha256 !== source.sha256) refuseIf(`the WebVTT track ${file.name} was to be copied unchanged (SHA-256 ${source.sha256}), not ${file.sha256}`, id);
  });
}

/**
 * A segment's result: only for a plan the index recorded (and so handed out), for a segment of
 * it with the same time range, with files named after their own digests.
 */
export function checkSegmentResult(record: EvidenceRecord | undefined, result: SegmentResultMessage, nowInMs: number): void {
  const id = result.evidenceId;
  refuseIf(futureTime(result.startedAt, nowInMs, "startedAt") ?? futureTime(result.finishedAt, nowInMs, "finishedAt"), id);
  if (result.retry !== undefined) refuseIf(futureTime(result.retry.firstFailedAt, nowInMs, "retry.firstFailedAt"), id);
  const run = record?.transcodeRuns?.find((candidate) => candidate.tag === segmentRunTag(result.planId, result.reprocess?.id));
  if (run === undefined) {
    refuseIf(`a segment result for plan ${result.planId.slice(0, 12)}${result.reprocess === undefined ? "" : ` (reprocess ${result.reprocess.id})`}, which the index never handed out`, id);
    return;
  }
  const planned = run.plan.segments[result.segment.index] as (typeof run.plan.segments)[number] | undefined;
  if (result.segmentCount !== run.plan.segments.length || planned === undefined) {
    refuseIf(`segment ${result.segment.index} of ${result.segmentCount}: the plan has ${run.plan.segments.length} segments`, id);
    return;
  }
  if (planned.startInMicroseconds !== result.segment.startInMicroseconds || planned.endInMicroseconds !== result.segment.endInMicroseconds) {
    refuseIf(`segment ${result.segment.index} claims another time range than the plan's`, id);
  }
  const source = result.provenance?.source;
  const original = record?.original;
  if (source !== undefined && original !== undefined && (source.container !== original.container || source.name !== original.name || source.etag !== original.etag)) {
    refuseIf(
      `segment ${result.segment.index} says it read ${source.container}/${source.name} (etag ${source.etag}); the recording is ${original.container}/${original.name} (etag ${original.etag})`,
      id,
    );
  }
  for (const file of result.files ?? []) {
    const expected = `segment-${String(result.segment.index).padStart(5, "0")}-${file.stream}-${file.sha256.slice(0, 16)}.mp4`;
    if (file.name !== expected) refuseIf(`segment ${result.segment.index} lists file ${file.name}, not named after its own index, stream and digest (${expected})`, id);
  }
}

/** A retention command: what the schedule and the record allow (shared/evidence/retention.ts), and not asked for in the future. */
export function checkRetentionCommandClaim(record: EvidenceRecord | undefined, command: RetentionCommandMessage, nowInMs: number): void {
  refuseIf(futureTime(command.requestedAt, nowInMs, "requestedAt"), command.evidenceId);
  checkRetentionCommand(record, command, nowInMs);
}

function refuseIf(reason: string | undefined, evidenceId: string): void {
  if (reason === undefined) return;
  throw new CustodyError("InvalidMessage", `claim refused for ${evidenceId}: ${reason}`, { retryable: false });
}

function futureTime(value: string, nowInMs: number, field: string): string | undefined {
  const at = Date.parse(value);
  if (!Number.isFinite(at)) return `${field} '${value}' is not a time`;
  if (at > nowInMs + MAX_CLOCK_SKEW_IN_MS)
    return `${field} ${value} is in the future (the index's clock says ${new Date(nowInMs).toISOString()}; at most ${MAX_CLOCK_SKEW_IN_MS / 60_000} minutes of clock skew are accepted)`;
  return undefined;
}

/** The evidence id is derived from the original's identity: another original under the same id is not this recording. */
function otherOriginal(known: OriginalRef, claimed: OriginalRef): string | undefined {
  const fields = ["account", "container", "name", "etag", "size", "versionId"] as const;
  const differing = fields.filter((field) => known[field] !== claimed[field]);
  if (differing.length === 0) return undefined;
  return `the message names another original (${differing.map((f) => `${f} ${JSON.stringify(claimed[f])} ≠ ${JSON.stringify(known[f])}`).join(", ")}) than the one the recording was created from`;
}
