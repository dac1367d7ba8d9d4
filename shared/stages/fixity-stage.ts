/**
 * Fixity: is the original still the bytes that were hashed at ingest? Re-hashes the CURRENT
 * bytes of the original (streamed, constant memory) and compares them with the hash on the
 * index record — whole-file SHA-256 and, through the per-segment digests the hash stage
 * recorded, WHERE a copy differs (byte ranges of the segments that no longer match).
 *
 * What is read: the original's name and, in Azure, its exact version id (immutable under WORM,
 * so a change there means the store itself lost or rewrote bytes). Deliberately NOT the ETag
 * the recording was announced with: a read conditioned on it would refuse a rewritten blob
 * (412) instead of showing what it now holds. Azurite has no versions, so there a rewrite is
 * visible as a different ETag — reported as `etagChanged` alongside the byte comparison. The
 * read itself is pinned to the ETag seen at its start, so the bytes compared are one state of
 * the blob even if it is rewritten while being read.
 *
 * Used by `custody verify` (any recordings) and the `fixity-sample` timer function (a sample,
 * oldest-checked first). Neither writes the index: results go to the index function as
 * `fixity-result` messages.
 */
import type { Readable } from "node:stream";
import { fixityResultMessageId } from "../contracts/message-ids";
import { MAX_REPORTED_SEGMENTS, type FixityResultMessage, type FixitySegmentDifference, type FixityStatus, type PipelineStage } from "../contracts/messages";
import { CustodyError, isCustodyError } from "../errors";
import { normalizeEtag } from "../evidence/evidence-id";
import { describeFixity } from "../evidence/fixity";
import type { EvidenceRecord } from "../evidence/record";
import { rebuildRecord } from "../ledger/rebuild";
import type { Logger } from "../logging";
import type { CustodyLedger } from "../ports/custody-ledger";
import type { BlobProperties, BlobRef, BlobStore } from "../ports/blob-store";
import type { EvidenceIndex } from "../ports/evidence-index";
import type { Publisher } from "../ports/publisher";
import { digestStream, verifySegments, type StreamDigest } from "./hash-stage";

export interface FixityReport {
  evidenceId: string;
  status: FixityStatus;
  /** Absent only when the record has no hash to compare with (unverifiable). */
  sha256Expected?: string;
  sha256Actual?: string;
  sizeExpected?: number;
  sizeActual?: number;
  /** Segments that differ, in order: bytes [offset, offset + length) of the larger of the two files. Empty unless modified. */
  differingSegments: FixitySegmentDifference[];
  /** The blob read: container/name and, where the store has versions, the version id. */
  original?: { container: string; name: string; versionId?: string };
  etagExpected?: string;
  etagActual?: string;
  /** True when the blob's ETag is no longer the one recorded at ingest (Azurite: it was rewritten). */
  etagChanged?: boolean;
  /** Why the check could not be made (unverifiable) or how the original went missing. */
  reason?: string;
  /** When the read finished (ISO 8601). */
  checkedAt: string;
  /**
   * Where the fingerprint compared with came from: the custody ledger (the hash result it
   * recorded at ingest — the authority) or, without a ledger, the index record.
   */
  fingerprintFrom?: "ledger" | "index";
  /** The index record's SHA-256 when it is NOT the ledger's: the index was altered or corrupted. */
  indexFingerprint?: string;
}

export interface VerifyOriginalDeps {
  blobs: BlobStore;
  /**
   * The custody ledger: when given, the original is compared with the fingerprint the ledger
   * recorded at ingest, whatever the index record says (and a record that disagrees is
   * reported), and a recording the index lost can still be verified (verifyEvidence).
   */
  ledger?: { ledger: CustodyLedger; requiredStages: PipelineStage[] };
}

export interface VerifyOriginalOptions {
  abortSignal?: AbortSignal;
  /** Clock (tests). */
  now?: () => Date;
  /** Called with the bytes read so far (progress bars). */
  onBytes?: (bytes: number) => void;
}

/** Times the read is restarted when the blob changes between its properties and its bytes. */
const MAX_READS = 3;

/**
 * Verifies one recording's original against its record. Returns a report for every outcome
 * that is a fact about the recording (intact, modified, missing, unverifiable); throws
 * CustodyError only when the check could not be made for reasons outside the recording
 * (storage unreachable, access denied, aborted, the blob rewritten during every attempt).
 */
export async function verifyOriginal(record: EvidenceRecord, deps: VerifyOriginalDeps, options: VerifyOriginalOptions = {}): Promise<FixityReport> {
  const fromLedger = deps.ledger === undefined ? undefined : await recordFromLedger(record.evidenceId, deps.ledger);
  return verifyAgainst(record, fromLedger, deps, options);
}

/**
 * Verifies a recording by its id: against the ledger's fingerprint, with the index record when
 * there is one (undefined `record`: the index lost it — the ledger alone says where the original
 * is and what it must hash to). Undefined when neither knows the recording.
 */
export async function verifyEvidence(evidenceId: string, record: EvidenceRecord | undefined, deps: VerifyOriginalDeps, options: VerifyOriginalOptions = {}): Promise<FixityReport | undefined> {
  const fromLedger = deps.ledger === undefined ? undefined : await recordFromLedger(evidenceId, deps.ledger);
  if (record !== undefined) return verifyAgainst(record, fromLedger, deps, options);
  if (fromLedger === undefined) return undefined;
  const report = await verifyAgainst(fromLedger, fromLedger, deps, options);
  const note = "the index holds no record: verified against the custody ledger alone (`custody reconcile` rebuilds the record)";
  return { ...report, reason: report.reason === undefined ? note : `${report.reason}; ${note}` };
}

async function recordFromLedger(evidenceId: string, ledger: NonNullable<VerifyOriginalDeps["ledger"]>): Promise<EvidenceRecord | undefined> {
  return rebuildRecord(evidenceId, await ledger.ledger.read(evidenceId), { requiredStages: ledger.requiredStages });
}

async function verifyAgainst(record: EvidenceRecord, fromLedger: EvidenceRecord | undefined, deps: VerifyOriginalDeps, options: VerifyOriginalOptions): Promise<FixityReport> {
  const now = options.now ?? (() => new Date());
  const ledgerHash = fromLedger?.hash;
  const indexHash = record === fromLedger ? undefined : record.hash;
  const disagrees = ledgerHash !== undefined && indexHash !== undefined && (ledgerHash.sha256 !== indexHash.sha256 || ledgerHash.size !== indexHash.size);
  const base = {
    evidenceId: record.evidenceId,
    differingSegments: [] as FixitySegmentDifference[],
    ...(deps.ledger === undefined ? {} : { fingerprintFrom: ledgerHash !== undefined ? ("ledger" as const) : ("index" as const) }),
    ...(disagrees ? { indexFingerprint: indexHash.sha256 } : {}),
  };
  const original = fromLedger?.original ?? record.original;
  const hash = ledgerHash ?? record.hash;
  const note = disagrees
    ? `the index's fingerprint ${indexHash.sha256} (${indexHash.size} bytes) is not the one the custody ledger recorded at ingest (${ledgerHash.sha256}, ${ledgerHash.size} bytes): verified against the ledger; the index record was altered or corrupted — rebuild it from the ledger (docs/operations.md, "Lost the index?")`
    : undefined;
  const withNote = <T extends { reason?: string }>(report: T): T => (note === undefined ? report : { ...report, reason: report.reason === undefined ? note : `${report.reason}; ${note}` });
  return withNote(await compare(record, original, hash, base, deps, options, now));
}

async function compare(
  record: EvidenceRecord,
  original: EvidenceRecord["original"],
  hash: EvidenceRecord["hash"],
  base: Pick<FixityReport, "evidenceId" | "differingSegments" | "fingerprintFrom" | "indexFingerprint">,
  deps: VerifyOriginalDeps,
  options: VerifyOriginalOptions,
  now: () => Date,
): Promise<FixityReport> {
  if (original === undefined) {
    return { ...base, status: "unverifiable", reason: "the record names no original yet (evidence-received not indexed)", checkedAt: now().toISOString() };
  }
  const where = { container: original.container, name: original.name, ...(original.versionId === undefined ? {} : { versionId: original.versionId }) };
  const located = { ...base, original: where, etagExpected: original.etag };
  if (hash === undefined) {
    const hashState = record.stages.hash;
    const why =
      hashState?.status === "failed"
        ? `the hash stage failed (${hashState.lastError?.code ?? "unknown"}): there is no digest to verify against`
        : "the recording has not been hashed yet: there is no digest to verify against";
    return { ...located, status: "unverifiable", reason: why, checkedAt: now().toISOString() };
  }
  const expected = { ...located, sha256Expected: hash.sha256, sizeExpected: hash.size };

  // Name (+ version id), no ETag: the current bytes, whatever they are.
  const ref: BlobRef = { container: original.container, name: original.name, versionId: original.versionId };
  for (let read = 1; ; read++) {
    let properties: BlobProperties;
    let body: Readable;
    try {
      properties = await deps.blobs.getProperties(ref);
      // Pinned to the ETag just seen: a rewrite during the read fails it (OriginalChanged) rather than mixing two contents.
      body = await deps.blobs.openRead({ ...ref, etag: properties.etag }, { abortSignal: options.abortSignal });
    } catch (error) {
      const outcome = classify(error, read);
      if (outcome === "again") continue;
      if (outcome.status === "missing") {
        return { ...expected, status: "missing", reason: `${describeRef(ref)} does not exist any more: ${outcome.message}`, checkedAt: now().toISOString() };
      }
      return { ...expected, status: "unverifiable", reason: outcome.message, checkedAt: now().toISOString() };
    }
    const onBytes = options.onBytes;
    if (onBytes !== undefined) {
      let bytes = 0;
      body.on("data", (chunk: Buffer) => onBytes((bytes += chunk.length)));
    }
    const etagActual = properties.etag;
    const etagChanged = normalizeEtag(etagActual) !== normalizeEtag(original.etag);
    const segmentsUsable = hash.segmentSha256.length === Math.ceil(hash.size / hash.segmentSizeInBytes);
    let actual: StreamDigest;
    let differences: FixitySegmentDifference[] = [];
    try {
      if (segmentsUsable) {
        const verification = await verifySegments(hash.segmentSha256, body, hash.segmentSizeInBytes, { abortSignal: options.abortSignal });
        actual = verification.actual;
        const extent = Math.max(hash.size, actual.size);
        differences = verification.differences.map(({ index, offset }) => ({ index, offset, length: Math.max(0, Math.min(hash.segmentSizeInBytes, extent - offset)) }));
      } else {
        actual = await digestStream(body, { segmentSizeInBytes: hash.segmentSizeInBytes, abortSignal: options.abortSignal });
      }
    } catch (error) {
      body.destroy();
      const outcome = classify(error, read);
      if (outcome === "again") continue;
      if (outcome.status === "missing") {
        return { ...expected, status: "missing", reason: `${describeRef(ref)} disappeared while being read: ${outcome.message}`, checkedAt: now().toISOString() };
      }
      return { ...expected, status: "unverifiable", reason: outcome.message, checkedAt: now().toISOString() };
    }
    const intact = actual.sha256 === hash.sha256.toLowerCase() && actual.size === hash.size && differences.length === 0;
    return {
      ...expected,
      status: intact ? "intact" : "modified",
      sha256Actual: actual.sha256,
      sizeActual: actual.size,
      differingSegments: intact ? [] : differences,
      etagActual,
      etagChanged,
      ...(segmentsUsable || intact
        ? {}
        : { reason: `the record has ${hash.segmentSha256.length} segment digests for ${hash.size} bytes at ${hash.segmentSizeInBytes} per segment: only the whole-file digest was compared` }),
      checkedAt: now().toISOString(),
    };
  }
}

type Classified = "again" | { status: "missing" | "unverifiable"; message: string };

/** A fact about the recording (missing, unaddressable), a reason to read again, or a failure of the check itself (thrown). */
function classify(error: unknown, read: number): Classified {
  if (!isCustodyError(error)) throw error;
  switch (error.code) {
    case "OriginalNotFound":
      return { status: "missing", message: error.message };
    case "UnaddressableName":
      return { status: "unverifiable", message: error.message };
    case "OriginalChanged":
      if (read < MAX_READS) return "again";
      throw new CustodyError("Transient", `the original was rewritten during each of ${MAX_READS} reads; try again (and find out who is writing to it): ${error.message}`, { cause: error });
    default:
      throw error;
  }
}

function describeRef(ref: BlobRef): string {
  return `${ref.container}/${ref.name}${ref.versionId === undefined ? "" : ` version ${ref.versionId}`}`;
}

/** The message that carries a report to the index (actor: who checked). */
export function fixityResultMessage(report: FixityReport, actor: string): FixityResultMessage {
  const message: FixityResultMessage = { schemaVersion: 1, kind: "fixity-result", evidenceId: report.evidenceId, status: report.status, checkedAt: report.checkedAt, actor };
  if (report.sha256Expected !== undefined) message.sha256Expected = report.sha256Expected;
  if (report.sha256Actual !== undefined) message.sha256Actual = report.sha256Actual;
  if (report.sizeExpected !== undefined) message.sizeExpected = report.sizeExpected;
  if (report.sizeActual !== undefined) message.sizeActual = report.sizeActual;
  if (report.differingSegments.length > 0) {
    message.differingSegments = report.differingSegments.slice(0, MAX_REPORTED_SEGMENTS).map(({ index, offset, length }) => ({ index, offset, length }));
    message.differingSegmentCount = report.differingSegments.length;
  }
  if (report.etagExpected !== undefined) message.etagExpected = report.etagExpected;
  if (report.etagActual !== undefined) message.etagActual = report.etagActual;
  if (report.etagChanged !== undefined) message.etagChanged = report.etagChanged;
  if (report.reason !== undefined) message.reason = report.reason.slice(0, 4000);
  return message;
}

/** Sends a report to the index (stage-results queue) with its deterministic message id. */
export async function publishFixityResult(publisher: Publisher, queueName: string, report: FixityReport, actor: string, traceparent?: string): Promise<FixityResultMessage> {
  const message = fixityResultMessage(report, actor);
  await publisher.publish(queueName, {
    messageId: fixityResultMessageId(message),
    body: message,
    subject: "fixity-result",
    correlationId: message.evidenceId,
    applicationProperties: { kind: "fixity-result", status: message.status },
    traceparent,
  });
  return message;
}

// --- the scheduled sample ----------------------------------------------------------------------

export interface FixitySampleOptions {
  /** Recordings per run (CUSTODY_FIXITY_SAMPLE). */
  sampleSize: number;
  /** A recording checked less than this long ago is not checked again (CUSTODY_FIXITY_RECHECK_HOURS). */
  recheckAfterMs: number;
  now?: () => Date;
}

/**
 * The recordings to check in this run: those with a hash (anything that was fingerprinted —
 * ready, failed after hashing, rejected), not checked within `recheckAfterMs`, oldest-checked
 * first (never-checked first of all, then by creation). Oldest-checked-first, not random: over
 * successive runs every recording is checked, in a bounded cycle (recordings ÷ sample size
 * runs), which a random sample cannot promise. One pass over the index keeping only the best
 * `sampleSize` candidates: memory is bounded by the sample, not the index.
 */
export async function selectFixitySample(index: EvidenceIndex, options: FixitySampleOptions): Promise<EvidenceRecord[]> {
  const cutoff = (options.now ?? (() => new Date()))().getTime() - options.recheckAfterMs;
  const chosen: EvidenceRecord[] = [];
  if (options.sampleSize < 1) return chosen;
  for await (const record of index.list()) {
    if (record.hash === undefined || record.original === undefined || record.status === "received") continue;
    const last = record.fixity?.lastCheckedAt;
    if (last !== undefined && Date.parse(last) > cutoff) continue;
    if (chosen.length === options.sampleSize && compareSampleOrder(record, chosen[chosen.length - 1]) >= 0) continue;
    chosen.push(record);
    chosen.sort(compareSampleOrder);
    if (chosen.length > options.sampleSize) chosen.pop();
  }
  return chosen;
}

function compareSampleOrder(a: EvidenceRecord, b: EvidenceRecord): number {
  const checkedA = a.fixity?.lastCheckedAt;
  const checkedB = b.fixity?.lastCheckedAt;
  if (checkedA === undefined && checkedB !== undefined) return -1;
  if (checkedA !== undefined && checkedB === undefined) return 1;
  if (checkedA !== undefined && checkedB !== undefined && checkedA !== checkedB) return Date.parse(checkedA) - Date.parse(checkedB) || (checkedA < checkedB ? -1 : 1);
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.evidenceId < b.evidenceId ? -1 : a.evidenceId > b.evidenceId ? 1 : 0;
}

export interface FixitySampleDeps {
  index: EvidenceIndex;
  blobs: BlobStore;
  publisher: Publisher;
  /** ENTITIES.stageResults.queueName */
  resultsQueue: string;
  /** The custody ledger: originals are compared with its fingerprints (see VerifyOriginalDeps.ledger). */
  ledger?: VerifyOriginalDeps["ledger"];
}

export interface FixitySampleContext {
  actor: string;
  log: Logger;
  traceparent?: string;
  abortSignal?: AbortSignal;
}

export interface FixitySampleOutcome {
  reports: FixityReport[];
  /** Recordings whose check (or whose result's publish) failed for reasons outside the recording. */
  errors: Array<{ evidenceId: string; code: string; message: string }>;
}

/**
 * One run of the scheduled check: select, verify each, log each result as one structured
 * line (warn/error for anything but intact), and send it to the index. A failure for one
 * recording does not stop the others; it is logged and returned.
 */
export async function runFixitySample(deps: FixitySampleDeps, context: FixitySampleContext, options: FixitySampleOptions): Promise<FixitySampleOutcome> {
  const sample = await selectFixitySample(deps.index, options);
  context.log.info("fixity sample selected", { count: sample.length, sampleSize: options.sampleSize, recheckAfterMs: options.recheckAfterMs });
  const outcome: FixitySampleOutcome = { reports: [], errors: [] };
  for (const record of sample) {
    context.abortSignal?.throwIfAborted();
    const log = context.log.child({ evidenceId: record.evidenceId });
    try {
      const report = await verifyOriginal(record, { blobs: deps.blobs, ledger: deps.ledger }, { abortSignal: context.abortSignal, now: options.now });
      outcome.reports.push(report);
      const fields = {
        status: report.status,
        detail: describeFixity(report),
        sha256Expected: report.sha256Expected,
        sha256Actual: report.sha256Actual,
        differingSegments: report.differingSegments.length,
        etagChanged: report.etagChanged,
      };
      if (report.indexFingerprint !== undefined) {
        // Not sent: the index would refuse a result whose expected digest is not its record's. The record must be rebuilt.
        log.error("integrity: the index record's fingerprint is not the custody ledger's; rebuild the record from the ledger", { ...fields, indexFingerprint: report.indexFingerprint });
        continue;
      }
      if (report.status === "intact") log.info("fixity check: original intact", fields);
      else if (report.status === "unverifiable") log.warn("fixity check: original could not be verified", fields);
      else log.error(`fixity check: original ${report.status.toUpperCase()}`, fields);
      await publishFixityResult(deps.publisher, deps.resultsQueue, report, context.actor, context.traceparent);
    } catch (error) {
      const failure = isCustodyError(error) ? error : new CustodyError("Internal", String((error as { message?: unknown } | null | undefined)?.message ?? error), { cause: error });
      log.warn("fixity check failed (will be retried by a later run)", { code: failure.code, error: failure.message });
      outcome.errors.push({ evidenceId: record.evidenceId, code: failure.code, message: failure.message });
    }
  }
  return outcome;
}
