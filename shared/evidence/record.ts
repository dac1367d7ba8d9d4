/**
 * The index record: one Cosmos DB document per recording, written only by the index function.
 * It is the evidence officer's view of a recording: where it came from, what the device
 * claimed, what every stage did (attempts, last error, results), integrity findings, and an
 * append-only custody log.
 */
import type { LedgerHead } from "./ledger-chain";
import type { DisposalState, RetentionState } from "./retention-state";
import type {
  CaptureMetadata,
  FixitySegmentDifference,
  FixityStatus,
  HashResult,
  ReportedMediaProbe,
  OriginalRef,
  PipelineStage,
  RejectionReason,
  Rendition,
  ReportedStream,
  ReprocessRequest,
  RetryRound,
  SegmentFile,
  SegmentPlanBody,
  StageError,
  StageProvenance,
} from "../contracts/messages";

/**
 * received   — ingest has announced it; stages are running
 * waiting    — a required stage failed for a transient cause (storage, index or broker
 *              unreachable, throttling) and its retry is scheduled: see the stage's `retry`;
 *              it becomes `failed` only when the retry budget (a time, default 6 h) is spent
 * ready      — every required stage succeeded (evidence-ready published)
 * failed     — a required stage failed for good (evidence-failed published)
 * rejected   — ingest could not accept it (metadata, name, container, empty); still hashed
 */
export type EvidenceStatus = "received" | "waiting" | "ready" | "failed" | "rejected";

export type StageStatus = "pending" | "succeeded" | "failed" | "skipped";

export interface StageState {
  status: StageStatus;
  /** Highest attempt number reported. */
  attempts: number;
  lastError?: StageError & { at: string; attempt: number };
  startedAt?: string;
  finishedAt?: string;
  skipReason?: string;
  /**
   * Id of the stage-result message whose outcome `status`/`startedAt`/`finishedAt` show (added
   * by the index merge: it breaks ties between results deterministically, so the record does
   * not depend on the order results arrived in, and says which report decided the stage).
   */
  resultKey?: string;
  /**
   * The files the stage wrote (media stages), from the result `resultKey` names: a re-run
   * writes the same paths and its result replaces this list — never appended to.
   */
  renditions?: Rendition[];
  /**
   * How the renditions were made (source version, tool versions, exact arguments, times), from
   * the same result; `source.sha256` is joined in by the index from the hash stage.
   */
  provenance?: StageProvenance;
  /**
   * Earlier successful runs whose files a later run overwrote at the same paths (`custody
   * reprocess` after a tool upgrade, or a redelivered message): what each wrote, so the hashes
   * of renditions that were handed out before stay on the record. Oldest first.
   */
  superseded?: SupersededRun[];
  /**
   * Transient failures of this stage and the retry the index scheduled for them (absent when the
   * stage never failed transiently). A join over the non-final failures reported: shown as
   * `waiting` while the stage has no final outcome.
   */
  retry?: StageRetry;
}

/** See StageState.retry. */
export interface StageRetry {
  /** The first transient failure (the retry budget counts from here). */
  firstFailedAt: string;
  /** The latest failed round (0 = the pipeline's own run; each retry the index schedules is the next round). */
  round: number;
  /** When that round failed. */
  lastFailedAt: string;
  /** When the next round is due (scheduled by the index; exponential backoff with jitter). */
  nextAttemptAt: string;
}

/** A successful stage run that a later one replaced (see StageState.superseded). */
export interface SupersededRun {
  /** Its stage-result message id (the custody log entry with the same key describes it). */
  resultKey: string;
  startedAt: string;
  finishedAt: string;
  /** Each file it wrote: the path is the stage's deterministic one, so name, size and SHA-256 say what was there. */
  renditions: Array<Pick<Rendition, "kind" | "name" | "path" | "size" | "sha256">>;
  /** The tool versions that made them. */
  tools?: StageProvenance["tools"];
  /** Set when the run was itself a `custody reprocess`. */
  reprocessId?: string;
}

export interface IntegrityFinding {
  /**
   * DeviceHashMismatch — the stored original differs from the device's digest (at ingest);
   * OriginalModified — a later fixity check read bytes that differ from the hash recorded at ingest;
   * OriginalMissing — a later fixity check found the original gone;
   * ConflictingHashClaim — a hash result claimed another SHA-256 than the fingerprint already
   *   recorded (`expected`: the fingerprint, kept; `actual`: the claim, refused; `claimMessageId`).
   */
  code: "DeviceHashMismatch" | "OriginalModified" | "OriginalMissing" | "ConflictingHashClaim";
  message: string;
  at: string;
  expected: string;
  actual: string;
  /** OriginalModified: where (the first segments that differ, as the fixity check reported them). */
  differingSegments?: FixitySegmentDifference[];
  /** ConflictingHashClaim: the id of the message that made the refused claim. */
  claimMessageId?: string;
}

/** The latest fixity check of the original (the custody log keeps every one). */
export interface FixityState {
  lastCheckedAt: string;
  lastStatus: FixityStatus;
  /** Id of the fixity-result message shown (ties between checks at the same time break on it). */
  lastResultKey: string;
}

export interface CustodyLogEntry {
  /** Idempotency key: the id of the message that caused the entry (duplicates append nothing). */
  key: string;
  at: string;
  /**
   * When the index wrote the entry (processing time; `at` is when the thing happened, as its
   * reporter said). Added by the index merge; absent on entries written before it existed.
   */
  recordedAt?: string;
  /** Who: the function/host identity that did the work. */
  actor: string;
  /** What: e.g. `received`, `rejected`, `hashed`, `stage-failed`, `ready`, `failed`. */
  action: string;
  /** The pipeline stage the entry is about, for stage results (added by the index merge). */
  stage?: PipelineStage;
  inputSha256?: string;
  outputSha256?: string;
  detail?: string;
}

export interface PublishedEvent {
  messageId: string;
  /** The custody ledger's head when the event was decided (shared/evidence/ledger-chain.ts): the event carries it, the same on every re-publish. */
  custodyLogHead?: LedgerHead;
  /** Set once the publish was confirmed; a record that says ready without it re-publishes (same id). */
  publishedAt?: string;
}

/** One issue of a recording's signed evidence manifest, as the record and the ledger name it. */
export interface IssuedManifest {
  /** 1, 2, …: the number (its place in the manifests store). */
  sequence: number;
  issuedAt: string;
  /** SHA-256 of its manifest.json (the bytes both signatures cover). */
  sha256: string;
  /** The key that signed it (a JWKS key id). */
  keyId: string;
  /** The custody ledger's head it names. */
  custodyLog: LedgerHead;
}

/** See EvidenceRecord.updateEvents. */
export interface UpdateEvent extends PublishedEvent {
  stage: "transcode" | "thumbnail";
  /** The re-run's stage-result message id (its custody log entry has the same key). */
  resultKey: string;
  /** When the re-run finished: the event's `time`. */
  at: string;
  reprocess: ReprocessRequest;
  /** The stage's renditions now. */
  renditions: Rendition[];
  /** The renditions they replace (what downstream was told before); their blobs stay where they were. */
  replaced: Array<Pick<Rendition, "kind" | "name" | "container" | "path" | "size" | "sha256">>;
  /** The tool versions that made the new renditions. */
  tools?: StageProvenance["tools"];
}

/** One segment of a transcode run (see TranscodeRun). */
export interface SegmentState {
  index: number;
  status: "pending" | "succeeded" | "failed";
  /** Highest attempt reported (per round). */
  attempts: number;
  /** The segment-result message whose outcome this shows (ties broken as for stages). */
  resultKey?: string;
  finishedAt?: string;
  /** From the winning success: the content-addressed files, frames and the audio cut the join needs. */
  files?: SegmentFile[];
  frames?: number;
  audioPreRollInSeconds?: number;
  lengthInSeconds?: number;
  /** The tool versions that encoded it. */
  tools?: StageProvenance["tools"];
  lastError?: StageError & { at: string; attempt: number };
  /** Transient failures and the retry of this segment the index scheduled (as StageState.retry). */
  retry?: StageRetry;
}

/**
 * A segment-parallel transcode of the recording (docs/architecture.md "Long recordings"): the
 * plan a media run claimed, each segment's outcome, and which work orders the index has sent.
 * One per run: the pipeline's own, and one per `custody reprocess` request of the transcode.
 */
export interface TranscodeRun {
  /** The run's tag (contracts/message-ids.ts segmentRunTag): `pipeline:<plan>` or `rp-<request>:<plan>`. */
  tag: string;
  reprocess?: ReprocessRequest;
  planId: string;
  plan: SegmentPlanBody;
  /** The original's mapped streams (what each segment's encode is planned from). */
  streams: ReportedStream[];
  /**
   * The highest round of the transcode stage a plan claim came from (0: the pipeline's own run;
   * each stage retry re-plans — the same plan — and the index re-sends what the run still owes).
   */
  round: number;
  /** The stage retry chain that round belongs to (carried into the join, and back in its result). */
  retry?: RetryRound;
  /**
   * How many plan claims the run has seen (1: the first). Each new claim — a stage retry, a
   * reconcile's re-announcement, a redrive of the transcode message — is a new generation: the
   * run owes again, with new message ids, what is not done (lost orders are sent again).
   */
  generation: number;
  /** The plan claims applied (their message ids; the first made the run): a redelivered claim is not a new generation. */
  planKeys: string[];
  segments: SegmentState[];
  /**
   * The segment requests owed for `round` (decided with the plan or its new round; sent for the
   * segments not yet done): `key` names the batch in the ledger; `publishedAt` once Service Bus
   * accepted every one of them.
   */
  orders?: { key: string; round: number; publishedAt?: string };
  /** The join request owed once every segment succeeded: its id, round and generation; `publishedAt` once accepted. */
  join?: { messageId: string; round: number; generation: number; publishedAt?: string };
}

/**
 * Content Credentials (C2PA) on the thumbnail stage's images (docs/decisions/0016): the signing of
 * one thumbnail result's files, ordered by the index once the recording's SHA-256 is known too,
 * done by the core app (shared/evidence/content-credentials-run.ts). One per thumbnail result
 * signed; the one whose `sourceKey` is the thumbnail stage's current result is what readiness
 * waits for, and its signed set is what the stage's renditions then are.
 */
export interface CredentialsRun {
  /** SHA-256 of what is signed (contracts/messages.ts credentials-request `requestId`). */
  requestId: string;
  /** The thumbnail stage-result whose renditions are signed (its message id). */
  sourceKey: string;
  /** Where the signed set goes (derived container): the thumbnail folder's `c2pa-<first 16 hex of requestId>/`. */
  folder: string;
  /** The files signed (images) or copied (the WebVTT track), as the thumbnail result recorded them. */
  sources: Array<Pick<Rendition, "kind" | "name" | "path" | "size" | "sha256">>;
  status: "pending" | "succeeded" | "failed";
  /** Highest attempt reported. */
  attempts: number;
  /** The credentials-result message whose outcome this shows. */
  resultKey?: string;
  finishedAt?: string;
  /** The signed set (from the winning success), one per source in the same order. */
  renditions?: Rendition[];
  /** The key that signed the claims (a JWKS key id). */
  keyId?: string;
  lastError?: StageError & { at: string; attempt: number };
  /** Transient failures and the retry the index scheduled (as StageState.retry). */
  retry?: StageRetry;
  /** The order owed: its message id and round; `publishedAt` once Service Bus accepted it. */
  order: { messageId: string; round: number; publishedAt?: string };
}

/** See EvidenceRecord.contentCredentials. */
export interface ContentCredentialsState {
  /** Whether the recording's images must carry Content Credentials before it is ready (configuration, frozen when the record is created). */
  required: boolean;
  runs: CredentialsRun[];
}

export interface EvidenceRecord {
  /** = evidenceId (Cosmos `id` and partition key `/id`). */
  id: string;
  evidenceId: string;
  schemaVersion: 1;
  status: EvidenceStatus;
  /** Absent until evidence-received arrives (a stage result can come first). */
  original?: OriginalRef;
  capture?: Partial<CaptureMetadata>;
  uploadedAt?: string;
  rejection?: { reasons: RejectionReason[] };
  /** Stages whose success makes the recording ready (configuration, frozen when the record is created). */
  requiredStages: PipelineStage[];
  stages: Partial<Record<PipelineStage, StageState>>;
  hash?: HashResult;
  /** What ffprobe found in the original (first media stage to report it; identical either way). */
  media?: ReportedMediaProbe;
  integrityFindings: IntegrityFinding[];
  /** The latest fixity check (`custody verify --record`, the fixity-sample timer); absent until one is recorded. */
  fixity?: FixityState;
  custodyLog: CustodyLogEntry[];
  /** The final event (evidence-ready or evidence-failed) and whether its publish was confirmed. */
  finalEvent?: PublishedEvent & { type: "evidence-ready" | "evidence-failed" };
  /**
   * Evidence-updated events: one per re-run (`custody reprocess`) whose renditions replaced
   * those of a recording already announced ready, in the order decided. Each holds what the
   * event says, fixed when decided, so a re-publish after a crash sends the same content.
   */
  updateEvents?: UpdateEvent[];
  /** Segment-parallel transcode runs (see TranscodeRun), oldest first. */
  transcodeRuns?: TranscodeRun[];
  /** Category, legal holds and their history (shared/evidence/retention.ts); absent on records from before retention existed (the default applies). */
  retention?: RetentionState;
  /** The tombstone once the recording is disposed of (shared/evidence/retention.ts); absent until then. */
  disposal?: DisposalState;
  /**
   * The custody ledger's head (its last line's SHA-256 and the number of lines) as of the
   * record's last change: proof, checkable against the ledger's bytes, of the history this
   * record is a projection of (`custody verify` checks it is a point of the ledger's chain).
   */
  custodyLogHead?: LedgerHead;
  /**
   * The signed evidence manifests issued for the recording (shared/provenance/manifest.ts), oldest
   * first: the first when it became ready, one more after each re-run that replaced renditions.
   * Each is kept in the manifests store and named in the custody ledger.
   */
  manifests?: IssuedManifest[];
  /** Content Credentials on the images (see CredentialsRun); absent on records created where no signing chain is configured. */
  contentCredentials?: ContentCredentialsState;
  createdAt: string;
  updatedAt: string;
}
