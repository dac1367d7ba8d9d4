/**
 * The messages stages exchange. Each has a TypeScript type and a JSON Schema (draft 2020-12);
 * every boundary parses with `parseMessage(kind, body)`, which either returns the typed body or
 * throws `CustodyError("InvalidMessage")` listing what is wrong — an invalid message is
 * dead-lettered with that reason, never retried.
 *
 * Versioning: `schemaVersion` is 1. Additive changes (new optional fields) keep the version;
 * anything else is a new version that readers must accept side by side.
 */

export const PIPELINE_STAGES = ["hash", "transcode", "thumbnail"] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** The blob a recording is: exactly one version of it. */
export interface OriginalRef {
  /** Storage account name (from the blob URL host). */
  account: string;
  container: string;
  /** Blob name, as stored (not URL-encoded). */
  name: string;
  /** Blob version id (Azure, versioning on); absent where the store has no versions (Azurite). */
  versionId?: string;
  /** ETag of the version the event announced; reads are conditioned on it. */
  etag: string;
  /** The blob's URL without query string (no SAS ever travels in messages). */
  url: string;
  size: number;
  contentType?: string;
}

/** What the dock said about the recording (blob metadata), validated. */
export interface CaptureMetadata {
  officerId: string;
  deviceId: string;
  /** ISO 8601 with offset. */
  recordedAt: string;
  /** SHA-256 the device computed, lower-case hex, if it sent one. */
  deviceSha256?: string;
}

export interface RejectionReason {
  code:
    | "MissingMetadata"
    | "InvalidMetadata"
    | "UnsupportedContainer"
    | "EmptyBlob"
    | "InvalidName";
  message: string;
  /** The metadata key or property concerned, when there is one. */
  field?: string;
}

/** One message per recording, published by ingest on the `evidence-received` topic. */
export interface EvidenceReceivedMessage {
  schemaVersion: 1;
  kind: "evidence-received";
  evidenceId: string;
  original: OriginalRef;
  /** Absent (or partial) when the recording was rejected for its metadata. */
  capture?: Partial<CaptureMetadata>;
  /** `rejected` recordings are still hashed and indexed, then end as `rejected`. */
  acceptance: { status: "accepted" } | { status: "rejected"; reasons: RejectionReason[] };
  /** When the blob was created (event time), ISO 8601. */
  uploadedAt: string;
  /** The Event Grid event this came from (for tracing duplicates). */
  sourceEventId: string;
}

export interface StageError {
  code: string;
  message: string;
  retryable: boolean;
}

export interface HashResult {
  sha256: string;
  size: number;
  segmentSizeInBytes: number;
  /** SHA-256 of each consecutive segment (the last may be shorter), lower-case hex. */
  segmentSha256: string[];
  /** The device's claim and whether it matched; absent when the device sent none. */
  deviceSha256?: string;
  matchesDevice?: boolean;
}

/**
 * A stage's outcome for one recording, sent to the `stage-results` queue. A failed attempt
 * that will be retried is reported too (`final: false`), so the record shows attempts and the
 * last error while the message is still being retried.
 */
export interface StageResultMessage {
  schemaVersion: 1;
  kind: "stage-result";
  evidenceId: string;
  stage: PipelineStage;
  /** 1 for the first delivery of the stage's input message. */
  attempt: number;
  outcome: "succeeded" | "failed" | "skipped";
  /** False for a failed attempt that will be retried. */
  final: boolean;
  startedAt: string;
  finishedAt: string;
  /** Host/function that ran the stage (custody log "who"). */
  actor: string;
  /** SHA-256 of the input (the original) when known. */
  inputSha256?: string;
  hash?: HashResult;
  error?: StageError;
  /** Why a stage was skipped (e.g. no video stream for thumbnails). */
  skipReason?: string;
}

export type PipelineMessage = EvidenceReceivedMessage | StageResultMessage;

const sha256Hex = { type: "string", pattern: "^[0-9a-f]{64}$" } as const;
const isoTime = { type: "string", minLength: 10, maxLength: 40 } as const;
const evidenceIdSchema = { type: "string", pattern: "^ev-[0-9a-f]{32}$" } as const;
const shortText = (maxLength: number) => ({ type: "string", minLength: 1, maxLength }) as const;

const originalSchema = {
  type: "object",
  additionalProperties: false,
  required: ["account", "container", "name", "etag", "url", "size"],
  properties: {
    account: shortText(64),
    container: shortText(63),
    name: shortText(1024),
    versionId: shortText(64),
    etag: shortText(128),
    url: shortText(4096),
    size: { type: "integer", minimum: 0 },
    contentType: shortText(256),
  },
} as const;

export const EVIDENCE_RECEIVED_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/evidence-received.v1.json",
  title: "evidence-received",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "evidenceId", "original", "acceptance", "uploadedAt", "sourceEventId"],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: "evidence-received" },
    evidenceId: evidenceIdSchema,
    original: originalSchema,
    capture: {
      type: "object",
      additionalProperties: false,
      properties: {
        officerId: shortText(64),
        deviceId: shortText(64),
        recordedAt: isoTime,
        deviceSha256: sha256Hex,
      },
    },
    acceptance: {
      oneOf: [
        { type: "object", additionalProperties: false, required: ["status"], properties: { status: { const: "accepted" } } },
        {
          type: "object",
          additionalProperties: false,
          required: ["status", "reasons"],
          properties: {
            status: { const: "rejected" },
            reasons: {
              type: "array",
              minItems: 1,
              items: {
                type: "object",
                additionalProperties: false,
                required: ["code", "message"],
                properties: {
                  code: { enum: ["MissingMetadata", "InvalidMetadata", "UnsupportedContainer", "EmptyBlob", "InvalidName"] },
                  message: shortText(1000),
                  field: shortText(128),
                },
              },
            },
          },
        },
      ],
    },
    uploadedAt: isoTime,
    sourceEventId: shortText(256),
  },
} as const;

export const STAGE_RESULT_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/stage-result.v1.json",
  title: "stage-result",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "evidenceId", "stage", "attempt", "outcome", "final", "startedAt", "finishedAt", "actor"],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: "stage-result" },
    evidenceId: evidenceIdSchema,
    stage: { enum: [...PIPELINE_STAGES] },
    attempt: { type: "integer", minimum: 1 },
    outcome: { enum: ["succeeded", "failed", "skipped"] },
    final: { type: "boolean" },
    startedAt: isoTime,
    finishedAt: isoTime,
    actor: shortText(256),
    inputSha256: sha256Hex,
    hash: {
      type: "object",
      additionalProperties: false,
      required: ["sha256", "size", "segmentSizeInBytes", "segmentSha256"],
      properties: {
        sha256: sha256Hex,
        size: { type: "integer", minimum: 0 },
        segmentSizeInBytes: { type: "integer", minimum: 1 },
        segmentSha256: { type: "array", items: sha256Hex },
        deviceSha256: sha256Hex,
        matchesDevice: { type: "boolean" },
      },
    },
    error: {
      type: "object",
      additionalProperties: false,
      required: ["code", "message", "retryable"],
      properties: { code: shortText(64), message: shortText(4000), retryable: { type: "boolean" } },
    },
    skipReason: shortText(1000),
  },
  allOf: [
    { if: { properties: { outcome: { const: "failed" } } }, then: { required: ["error"] } },
    { if: { properties: { outcome: { const: "succeeded" }, stage: { const: "hash" } } }, then: { required: ["hash"] } },
    { if: { properties: { outcome: { const: "skipped" } } }, then: { required: ["skipReason"] } },
  ],
} as const;
