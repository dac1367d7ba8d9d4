/**
 * The messages stages exchange, as JSON Schemas (draft 2020-12). The TypeScript types are
 * derived from the schemas (`FromSchema`, types only), so a field exists in both or in neither:
 * change a message by changing its schema (docs/decisions/0008-message-types-from-schemas.md).
 * Every boundary parses with `parseMessage(kind, body)`, which either returns the typed body or
 * throws `CustodyError("InvalidMessage")` listing what is wrong — an invalid message is
 * dead-lettered with that reason, never retried.
 *
 * Versioning: `schemaVersion` is 1. Additive changes (new optional fields) keep the version;
 * anything else is a new version that readers must accept side by side.
 */
import type { FromSchema } from "json-schema-to-ts";

export const PIPELINE_STAGES = ["hash", "transcode", "thumbnail"] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

const sha256Hex = { type: "string", pattern: "^[0-9a-f]{64}$" } as const;
/** ISO 8601. */
const isoTime = { type: "string", minLength: 10, maxLength: 40 } as const;
const evidenceIdSchema = { type: "string", pattern: "^ev-[0-9a-f]{32}$" } as const;
const shortText = (maxLength: number) => ({ type: "string", minLength: 1, maxLength }) as const;
const optionalNumber = { type: "number", minimum: 0 } as const;
const optionalInteger = { type: "integer", minimum: 0 } as const;

/** The blob a recording is: exactly one version of it. */
const originalSchema = {
  type: "object",
  additionalProperties: false,
  required: ["account", "container", "name", "etag", "url", "size"],
  properties: {
    /** Storage account name (from the blob URL host). */
    account: shortText(64),
    container: shortText(63),
    /** Blob name, as stored (not URL-encoded). */
    name: shortText(1024),
    /** Blob version id (Azure, versioning on); absent where the store has no versions (Azurite). */
    versionId: shortText(64),
    /** ETag of the version the event announced; reads are conditioned on it. */
    etag: shortText(128),
    /** The blob's URL without query string (no SAS ever travels in messages). */
    url: shortText(4096),
    size: { type: "integer", minimum: 0 },
    contentType: shortText(256),
  },
} as const;
export type OriginalRef = FromSchema<typeof originalSchema>;

/** What the dock said about the recording (blob metadata), validated; in a message, any part may be missing. */
const captureSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    officerId: shortText(64),
    deviceId: shortText(64),
    /** ISO 8601 with offset. */
    recordedAt: isoTime,
    /** SHA-256 the device computed, lower-case hex, if it sent one. */
    deviceSha256: sha256Hex,
    /**
     * The unit or borough the recording belongs to, when the dock sends one (metadata `unit`,
     * optional): lets downstream subscriptions filter on it (the events' `unit` property).
     */
    unit: shortText(64),
  },
} as const;
type PartialCapture = FromSchema<typeof captureSchema>;
/** Complete capture metadata: what ingest accepts a recording with. */
export type CaptureMetadata = PartialCapture & Required<Pick<PartialCapture, "officerId" | "deviceId" | "recordedAt">>;

const rejectionReasonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["code", "message"],
  properties: {
    code: { enum: ["MissingMetadata", "InvalidMetadata", "UnsupportedContainer", "EmptyBlob", "InvalidName"] },
    message: shortText(1000),
    /** The metadata key or property concerned, when there is one. */
    field: shortText(128),
  },
} as const;
export type RejectionReason = FromSchema<typeof rejectionReasonSchema>;

/** One retry of a stage the index scheduled after a transient failure (see EvidenceReceivedMessage.retry). */
const retrySchema = {
  type: "object",
  additionalProperties: false,
  required: ["round", "firstFailedAt"],
  properties: {
    /** 1 for the first retry; the pipeline's own run is round 0. */
    round: { type: "integer", minimum: 1, maximum: 100000 },
    /** When the run first failed (round 0's failure): the retry budget counts from here. */
    firstFailedAt: isoTime,
  },
} as const;
export type RetryRound = FromSchema<typeof retrySchema>;

/** A re-run an operator asked for, carried from the request to the stage's result. */
const reprocessSchema = {
  type: "object",
  additionalProperties: false,
  required: ["id", "requestedBy", "requestedAt"],
  properties: {
    /**
     * One id per `custody reprocess` run — the id of its audit record. Part of stage-result
     * message ids: the characters Service Bus and the custody log keys take.
     */
    id: { type: "string", pattern: "^[A-Za-z0-9-]{1,64}$" },
    /** The identity that asked (as `custody audit` shows it). */
    requestedBy: shortText(256),
    requestedAt: isoTime,
    /** Why, in the operator's words (e.g. "ffmpeg 7.1 upgrade"). */
    reason: shortText(1000),
  },
} as const;
export type ReprocessRequest = FromSchema<typeof reprocessSchema>;

/** One message per recording, published by ingest on the `evidence-received` topic. */
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
    /** Absent (or partial) when the recording was rejected for its metadata. */
    capture: captureSchema,
    /** `rejected` recordings are still hashed and indexed, then end as `rejected`. */
    acceptance: {
      oneOf: [
        { type: "object", additionalProperties: false, required: ["status"], properties: { status: { const: "accepted" } } },
        {
          type: "object",
          additionalProperties: false,
          required: ["status", "reasons"],
          properties: { status: { const: "rejected" }, reasons: { type: "array", minItems: 1, items: rejectionReasonSchema } },
        },
      ],
    },
    /** When the blob was created (event time), ISO 8601. */
    uploadedAt: isoTime,
    /** The Event Grid event this came from (for tracing duplicates). */
    sourceEventId: shortText(256),
    /**
     * Present when an operator asked for a stage to run again (`custody reprocess`): the message
     * then goes to that stage's subscription only, and the stage's result carries the request,
     * so the re-run is its own custody log entry rather than a duplicate of the first run.
     */
    reprocess: reprocessSchema,
    /**
     * Present when the index re-sends the message to one stage's subscription because the stage
     * failed for a transient cause (a retry with backoff, scheduled by the index): the round it
     * is. The stage's result carries it, so each round is its own result and custody log entry.
     */
    retry: retrySchema,
  },
} as const;
export type EvidenceReceivedMessage = FromSchema<typeof EVIDENCE_RECEIVED_SCHEMA>;

const stageErrorSchema = {
  type: "object",
  additionalProperties: false,
  required: ["code", "message", "retryable"],
  properties: { code: shortText(64), message: shortText(4000), retryable: { type: "boolean" } },
} as const;
export type StageError = FromSchema<typeof stageErrorSchema>;

const hashResultSchema = {
  type: "object",
  additionalProperties: false,
  required: ["sha256", "size", "segmentSizeInBytes", "segmentSha256"],
  properties: {
    sha256: sha256Hex,
    size: { type: "integer", minimum: 0 },
    segmentSizeInBytes: { type: "integer", minimum: 1 },
    /** SHA-256 of each consecutive segment (the last may be shorter), lower-case hex. */
    segmentSha256: { type: "array", items: sha256Hex },
    /** The device's claim and whether it matched; absent when the device sent none. */
    deviceSha256: sha256Hex,
    matchesDevice: { type: "boolean" },
  },
} as const;
export type HashResult = FromSchema<typeof hashResultSchema>;

/** One stream as ffprobe described it (bounded: shared/media/report-bounds.ts). */
const reportedStreamSchema = {
  type: "object",
  additionalProperties: false,
  required: ["index", "type"],
  properties: {
    index: optionalInteger,
    type: { enum: ["video", "audio", "data", "subtitle", "attachment", "unknown"] },
    codec: shortText(64),
    codecTag: shortText(64),
    handlerName: shortText(256),
    width: optionalInteger,
    height: optionalInteger,
    frameRate: optionalNumber,
    rotation: { enum: [0, 90, 180, 270] },
    pixelFormat: shortText(64),
    bitDepth: optionalInteger,
    colorTransfer: shortText(64),
    colorPrimaries: shortText(64),
    hdr: { type: "boolean" },
    sampleRate: optionalInteger,
    channels: optionalInteger,
    durationInSeconds: optionalNumber,
    frames: optionalInteger,
    isDefault: { type: "boolean" },
    isAttachedPicture: { type: "boolean" },
  },
} as const;
export type ReportedStream = FromSchema<typeof reportedStreamSchema>;

/**
 * What ffprobe found, as it travels in a message: the domain's MediaProbe bounded to this
 * schema (shared/media/report-bounds.ts) — strings within their limits, rotation one of the
 * four quarter turns.
 */
const reportedMediaProbeSchema = {
  type: "object",
  additionalProperties: false,
  required: ["container", "streams", "dataTracks"],
  properties: {
    container: shortText(256),
    durationInSeconds: optionalNumber,
    sizeInBytes: optionalInteger,
    bitRate: optionalNumber,
    streams: {
      type: "array",
      maxItems: 1000,
      items: reportedStreamSchema,
    },
    primaryVideoIndex: optionalInteger,
    primaryAudioIndex: optionalInteger,
    dataTracks: { type: "array", maxItems: 1000, items: shortText(256) },
    creationTime: shortText(64),
    device: { type: "object", additionalProperties: false, properties: { make: shortText(256), model: shortText(256) } },
    location: shortText(256),
  },
} as const;
export type ReportedMediaProbe = FromSchema<typeof reportedMediaProbeSchema>;

/** One derived file, at a deterministic path (contracts/rendition-path.ts): a redelivery overwrites it, a `custody reprocess` run writes its own folder. */
const renditionSchema = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "name", "container", "path", "contentType", "size", "sha256"],
  properties: {
    kind: { enum: ["proxy", "audio-proxy", "playlist", "segment-manifest", "poster", "thumbnail", "sprite", "sprite-vtt"] },
    /** File name inside the stage's folder, e.g. `proxy.mp4`, `thumb-03.jpg`. */
    name: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" },
    /** Always the derived container (originals are never written). */
    container: shortText(63),
    /** Blob name: `<evidenceId>/<stage>/[reprocess-<id>/]<name>`. */
    path: shortText(1024),
    contentType: shortText(128),
    size: optionalInteger,
    /** SHA-256 of the bytes uploaded, computed while uploading, lower-case hex. */
    sha256: sha256Hex,
    width: optionalInteger,
    height: optionalInteger,
    durationInSeconds: optionalNumber,
    /** For stills: the time in the recording the frame shows (seconds from the start). */
    timeInSeconds: optionalNumber,
    /** For the segment manifest: how many segments the proxy was joined from. */
    segmentCount: { type: "integer", minimum: 1 },
  },
} as const;
export type Rendition = FromSchema<typeof renditionSchema>;
export type RenditionKind = Rendition["kind"];

/** One ffmpeg/ffprobe run, as executed. */
const mediaToolRunSchema = {
  type: "object",
  additionalProperties: false,
  required: ["purpose", "arguments", "startedAt", "finishedAt"],
  properties: {
    /** What the run was for, e.g. `probe`, `transcode`, `verify`, `thumbnails`. */
    purpose: shortText(64),
    /** The exact argument vector passed to the binary (the input URL's SAS query is redacted). */
    arguments: { type: "array", maxItems: 512, items: { type: "string", maxLength: 8192 } },
    startedAt: isoTime,
    finishedAt: isoTime,
  },
} as const;
export type MediaToolRun = FromSchema<typeof mediaToolRunSchema>;

/**
 * Where a stage's renditions came from. The stages read the original through a short-lived
 * URL and never hash it, so they name the exact version they read (container, name, ETag,
 * version id); the index joins that with the recording's SHA-256 from the hash stage
 * (`sourceSha256` on the record) — the evidence id is derived from that same version, so
 * the join cannot pick another file.
 */
const provenanceSchema = {
  type: "object",
  additionalProperties: false,
  required: ["source", "tools", "runs", "startedAt", "finishedAt"],
  properties: {
    source: {
      type: "object",
      additionalProperties: false,
      required: ["container", "name", "etag"],
      properties: { container: shortText(63), name: shortText(1024), versionId: shortText(64), etag: shortText(128), sha256: sha256Hex },
    },
    tools: { type: "object", additionalProperties: false, required: ["ffmpeg", "ffprobe"], properties: { ffmpeg: shortText(512), ffprobe: shortText(512) } },
    runs: { type: "array", maxItems: 32, items: mediaToolRunSchema },
    startedAt: isoTime,
    finishedAt: isoTime,
  },
} as const;
export type StageProvenance = FromSchema<typeof provenanceSchema>;

/**
 * A stage's outcome for one recording, sent to its producer's results queue (`stage-results` for
 * hash, `media-results` for the media stages: functions/index-evidence.ts). A failed attempt
 * that will be retried is reported too (`final: false`), so the record shows attempts and the
 * last error while the message is still being retried.
 */
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
    /** 1 for the first delivery of the stage's input message. */
    attempt: { type: "integer", minimum: 1 },
    outcome: { enum: ["succeeded", "failed", "skipped"] },
    /** False for a failed attempt that will be retried. */
    final: { type: "boolean" },
    startedAt: isoTime,
    finishedAt: isoTime,
    /** Host/function that ran the stage (custody log "who"). */
    actor: shortText(256),
    /** SHA-256 of the input (the original) when known. */
    inputSha256: sha256Hex,
    hash: hashResultSchema,
    error: stageErrorSchema,
    /** Why a stage was skipped (e.g. no video stream for thumbnails). */
    skipReason: shortText(1000),
    /**
     * What ffprobe found in the original (media stages). Both transcode and thumbnail probe and
     * report it; the index keeps one (they are the same file and the same probe).
     */
    media: reportedMediaProbeSchema,
    /** Files the stage wrote to the `derived` container (its complete set: a re-run replaces them). */
    renditions: { type: "array", maxItems: 256, items: renditionSchema },
    /** How the stage produced its renditions (media stages): source version, tools, exact arguments, times. */
    provenance: provenanceSchema,
    /** The operator's request when this run was a `custody reprocess` (copied from the evidence-received message). */
    reprocess: reprocessSchema,
    /** The retry round when this run was a retry the index scheduled (copied from the evidence-received message). */
    retry: retrySchema,
  },
  // Not reflected in the type (FromSchema leaves if/then aside): readers check `outcome` and `stage` before these fields.
  allOf: [
    { if: { properties: { outcome: { const: "failed" } } }, then: { required: ["error"] } },
    { if: { properties: { outcome: { const: "succeeded" }, stage: { const: "hash" } } }, then: { required: ["hash"] } },
    { if: { properties: { outcome: { const: "skipped" } } }, then: { required: ["skipReason"] } },
    { if: { properties: { outcome: { const: "succeeded" }, stage: { enum: ["transcode", "thumbnail"] } } }, then: { required: ["renditions", "provenance"] } },
  ],
} as const;
export type StageResultMessage = FromSchema<typeof STAGE_RESULT_SCHEMA>;

// ---- Segment-parallel transcode (docs/architecture.md "Long recordings") ----------------------
//
// The transcode stage of one recording is a run of work orders, all through the index (the
// single writer, and the only one that hands out work): the media app's plan run claims a
// `segment-plan`; the index records it and sends one `segment-request` per segment to
// `transcode-segments`; each segment run claims a `segment-result`; once every segment of the
// plan succeeded the index sends one `join-request` to `transcode-join`; the join run reports
// the transcode stage's ordinary `stage-result`.

/** Segments one plan may have: the planner lengthens segments beyond this (bounds messages and the record). */
export const MAX_SEGMENTS_PER_PLAN = 400;

/** One time range of the recording (shared/media/segment-plan.ts SegmentRange). */
const segmentRangeSchema = {
  type: "object",
  additionalProperties: false,
  required: ["index", "startInMicroseconds"],
  properties: {
    index: { type: "integer", minimum: 0, maximum: MAX_SEGMENTS_PER_PLAN - 1 },
    startInMicroseconds: { type: "integer", minimum: 0 },
    /** Exclusive; absent: to the end of the recording (its duration is unknown). */
    endInMicroseconds: { type: "integer", minimum: 1 },
  },
} as const;
export type SegmentRangeMessage = FromSchema<typeof segmentRangeSchema>;

/** What every segment run and the join need of the plan (shared/media/segment-plan.ts SegmentPlan, without the ranges). */
const segmentPlanShapeProperties = {
  kind: { enum: ["video", "audio"] },
  videoIndex: optionalInteger,
  audioIndex: optionalInteger,
  /** Sample rate of the proxy's audio: the AAC frame grid the boundaries sit on. */
  audioSampleRate: { type: "integer", minimum: 1 },
  durationInSeconds: optionalNumber,
  /** The segment length the plan aimed at (CUSTODY_SEGMENT_SECONDS, lengthened for very long recordings). */
  targetSeconds: { type: "number", exclusiveMinimum: 0 },
  /** Longest side of the proxy (CUSTODY_PROXY_MAX_SIDE). */
  maxSide: { type: "integer", minimum: 16 },
} as const;
const segmentPlanShapeSchema = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "targetSeconds", "maxSide"],
  properties: segmentPlanShapeProperties,
} as const;
export type SegmentPlanShape = FromSchema<typeof segmentPlanShapeSchema>;

const segmentPlanBodySchema = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "targetSeconds", "maxSide", "segments"],
  properties: { ...segmentPlanShapeProperties, segments: { type: "array", minItems: 1, maxItems: MAX_SEGMENTS_PER_PLAN, items: segmentRangeSchema } },
} as const;
export type SegmentPlanBody = FromSchema<typeof segmentPlanBodySchema>;

/** The mapped streams of the original (video and/or audio) as the probe described them: what a segment's encode is planned from. */
const mappedStreamsSchema = { type: "array", minItems: 1, maxItems: 2, items: reportedStreamSchema } as const;

/** Who ran a work order and how it went (shared by the plan and segment claims). */
const runProperties = {
  attempt: { type: "integer", minimum: 1 },
  startedAt: isoTime,
  finishedAt: isoTime,
  actor: shortText(256),
  /** The operator's request when the transcode run is a `custody reprocess` (copied along the whole run). */
  reprocess: reprocessSchema,
} as const;

/** The media app's plan of a recording's transcode, claimed on media-results; the index records it and hands out the segments. */
export const SEGMENT_PLAN_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/segment-plan.v1.json",
  title: "segment-plan",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "evidenceId", "planId", "plan", "streams", "media", "attempt", "startedAt", "finishedAt", "actor"],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: "segment-plan" },
    evidenceId: evidenceIdSchema,
    /** SHA-256 of the plan's canonical JSON (shared/evidence/segment-run.ts planIdOf): the index checks it. */
    planId: sha256Hex,
    plan: segmentPlanBodySchema,
    streams: mappedStreamsSchema,
    /** What ffprobe found in the original (kept on the record like a stage result's). */
    media: reportedMediaProbeSchema,
    ...runProperties,
    /** The transcode stage's retry round this plan was made in (from the evidence-received message). */
    retry: retrySchema,
    /**
     * The id of the evidence-received message the plan run answered. Each new one (a stage retry,
     * a reconcile's re-announcement, a redrive) is a new claim, and the index re-sends what the
     * run still owes; a redelivery of the same message is the same claim.
     */
    trigger: shortText(256),
  },
} as const;
export type SegmentPlanMessage = FromSchema<typeof SEGMENT_PLAN_SCHEMA>;

/** One segment's encode, sent by the index to `transcode-segments`. */
export const SEGMENT_REQUEST_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/segment-request.v1.json",
  title: "segment-request",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "evidenceId", "original", "planId", "plan", "streams", "segmentCount", "segment"],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: "segment-request" },
    evidenceId: evidenceIdSchema,
    original: originalSchema,
    planId: sha256Hex,
    plan: segmentPlanShapeSchema,
    streams: mappedStreamsSchema,
    segmentCount: { type: "integer", minimum: 1, maximum: MAX_SEGMENTS_PER_PLAN },
    segment: segmentRangeSchema,
    reprocess: reprocessSchema,
    /** Present when the index re-sends the segment after a transient failure (its round; the budget counts from firstFailedAt). */
    retry: retrySchema,
  },
} as const;
export type SegmentRequestMessage = FromSchema<typeof SEGMENT_REQUEST_SCHEMA>;

/** One file a segment run wrote: its name carries part of its digest, so another run's different bytes land elsewhere. */
const segmentFileSchema = {
  type: "object",
  additionalProperties: false,
  required: ["stream", "name", "size", "sha256"],
  properties: {
    stream: { enum: ["video", "audio"] },
    /** `segment-<index>-<stream>-<first 16 hex of its SHA-256>.mp4`, in the run's transcode folder. */
    name: { type: "string", pattern: "^segment-[0-9]{5}-(video|audio)-[0-9a-f]{16}\\.mp4$" },
    size: { type: "integer", minimum: 1 },
    sha256: sha256Hex,
  },
} as const;
export type SegmentFile = FromSchema<typeof segmentFileSchema>;

/** What a segment run produced, as the join needs it. */
const encodedSegmentProperties = {
  files: { type: "array", minItems: 1, maxItems: 2, items: segmentFileSchema },
  /** Video frames in the segment's video file (the join checks the sum). */
  frames: optionalInteger,
  /** Seconds of audio before the segment's start in its audio file (dropped at the join). */
  audioPreRollInSeconds: optionalNumber,
  /** The segment's length in seconds; absent for a last segment of unknown end. */
  lengthInSeconds: optionalNumber,
} as const;

/** A segment run's outcome, claimed on media-results. */
export const SEGMENT_RESULT_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/segment-result.v1.json",
  title: "segment-result",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "evidenceId", "planId", "segmentCount", "segment", "outcome", "final", "attempt", "startedAt", "finishedAt", "actor"],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: "segment-result" },
    evidenceId: evidenceIdSchema,
    planId: sha256Hex,
    segmentCount: { type: "integer", minimum: 1, maximum: MAX_SEGMENTS_PER_PLAN },
    segment: segmentRangeSchema,
    outcome: { enum: ["succeeded", "failed"] },
    /** False for a failure the index retries (transient). */
    final: { type: "boolean" },
    ...runProperties,
    ...encodedSegmentProperties,
    error: stageErrorSchema,
    /** Source version, tools, the exact ffmpeg arguments of the segment's encode. */
    provenance: provenanceSchema,
    retry: retrySchema,
  },
  allOf: [
    { if: { properties: { outcome: { const: "failed" } } }, then: { required: ["error"] } },
    { if: { properties: { outcome: { const: "succeeded" } } }, then: { required: ["files", "provenance"] } },
  ],
} as const;
export type SegmentResultMessage = FromSchema<typeof SEGMENT_RESULT_SCHEMA>;

/** The join of a plan whose segments all succeeded, sent by the index to `transcode-join`. */
export const JOIN_REQUEST_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/join-request.v1.json",
  title: "join-request",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "evidenceId", "original", "planId", "plan", "streams", "segments"],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: "join-request" },
    evidenceId: evidenceIdSchema,
    original: originalSchema,
    planId: sha256Hex,
    plan: segmentPlanShapeSchema,
    streams: mappedStreamsSchema,
    /** Every segment of the plan, in order, as its winning result reported it. */
    segments: {
      type: "array",
      minItems: 1,
      maxItems: MAX_SEGMENTS_PER_PLAN,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["index", "startInMicroseconds", "files"],
        properties: {
          ...segmentRangeSchema.properties,
          ...encodedSegmentProperties,
          /** Which entry of `segmentTools` encoded it. */
          toolsIndex: { type: "integer", minimum: 0, maximum: 15 },
        },
      },
    },
    /**
     * The distinct ffmpeg/ffprobe versions that encoded the segments (normally one; more when a
     * deployment changed the tools while the segments ran): the manifest names each segment's.
     */
    segmentTools: { type: "array", maxItems: 16, items: provenanceSchema.properties.tools },
    reprocess: reprocessSchema,
    /** The transcode stage's retry round (a transient failure of the join is retried as the stage's next round). */
    retry: retrySchema,
  },
} as const;
export type JoinRequestMessage = FromSchema<typeof JOIN_REQUEST_SCHEMA>;

// ---- Content Credentials on the JPEG renditions (docs/decisions/0016) --------------------------
//
// The thumbnail stage (media app) writes its images unsigned. Once the recording's SHA-256 and
// the thumbnail result are both on the record, the index — the only one that knows both as
// facts — sends one `credentials-request` to `content-credentials`; the core app, which alone
// may sign with the evidence key, embeds a signed C2PA manifest in each image, writes the
// signed set to its own folder and claims a `credentials-result` on stage-results. The
// thumbnail stage's renditions on the record are then the signed ones; the recording is ready
// only after that.

/** Image kinds that carry Content Credentials; the WebVTT track is copied beside them unchanged (it names the sheets by file name). */
export const CREDENTIAL_IMAGE_KINDS = ["poster", "thumbnail", "sprite"] as const;

/** The order: sign these exact files (by digest) as made from this exact original (by SHA-256). */
export const CREDENTIALS_REQUEST_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/credentials-request.v1.json",
  title: "credentials-request",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "evidenceId", "requestId", "original", "originalSha256", "sources", "folder", "tools", "runs"],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: "credentials-request" },
    evidenceId: evidenceIdSchema,
    /** SHA-256 of the canonical JSON of what is to be signed (shared/evidence/content-credentials-run.ts): the index checks it. */
    requestId: sha256Hex,
    original: originalSchema,
    /** The recording's fingerprint, from the hash stage's result on the record: the images' ingredient. */
    originalSha256: sha256Hex,
    /** The thumbnail stage's renditions to sign (images) or copy (the WebVTT track), as its result recorded them. */
    sources: { type: "array", minItems: 1, maxItems: 256, items: renditionSchema },
    /** Where the signed set goes in the derived container: `<thumbnail folder>c2pa-<first 16 hex of requestId>/`. */
    folder: shortText(1024),
    /** The tools that made the images and their runs (the thumbnail result's provenance). */
    tools: provenanceSchema.properties.tools,
    runs: provenanceSchema.properties.runs,
    reprocess: reprocessSchema,
    /** Present when the index re-sends the order after a transient failure (its round; the budget counts from firstFailedAt). */
    retry: retrySchema,
  },
} as const;
export type CredentialsRequestMessage = FromSchema<typeof CREDENTIALS_REQUEST_SCHEMA>;

/** The core app's claim: the signed set (same names, in the order's folder), or why it could not be made. */
export const CREDENTIALS_RESULT_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/credentials-result.v1.json",
  title: "credentials-result",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "evidenceId", "requestId", "outcome", "final", "attempt", "startedAt", "finishedAt", "actor"],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: "credentials-result" },
    evidenceId: evidenceIdSchema,
    requestId: sha256Hex,
    outcome: { enum: ["succeeded", "failed"] },
    /** False for a failure the index retries (transient). */
    final: { type: "boolean" },
    attempt: { type: "integer", minimum: 1 },
    startedAt: isoTime,
    finishedAt: isoTime,
    actor: shortText(256),
    /** One per source, in the order's order: each image with its Content Credentials, the WebVTT track as copied. */
    renditions: { type: "array", minItems: 1, maxItems: 256, items: renditionSchema },
    /** The key id (RFC 7638 thumbprint) that signed the claims. */
    keyId: shortText(256),
    error: stageErrorSchema,
    reprocess: reprocessSchema,
    retry: retrySchema,
  },
  allOf: [
    { if: { properties: { outcome: { const: "failed" } } }, then: { required: ["error"] } },
    { if: { properties: { outcome: { const: "succeeded" } } }, then: { required: ["renditions", "keyId"] } },
  ],
} as const;
export type CredentialsResultMessage = FromSchema<typeof CREDENTIALS_RESULT_SCHEMA>;

export type PipelineMessage = EvidenceReceivedMessage | StageResultMessage;

/** At most this many differing segments travel in a fixity-result message (the count is always given). */
export const MAX_REPORTED_SEGMENTS = 256;

/** One segment of the original (as the hash stage cut it) that no longer matches: bytes [offset, offset + length). */
const fixitySegmentDifferenceSchema = {
  type: "object",
  additionalProperties: false,
  required: ["index", "offset", "length"],
  properties: { index: { type: "integer", minimum: 0 }, offset: { type: "integer", minimum: 0 }, length: { type: "integer", minimum: 0 } },
} as const;
export type FixitySegmentDifference = FromSchema<typeof fixitySegmentDifferenceSchema>;

/**
 * The outcome of one fixity check of an original (the `fixity-sample` timer function, or
 * `custody verify --record`), sent to the `stage-results` queue so that the index — the only
 * writer of Cosmos DB — records it: an append-only custody log entry, the latest check on the
 * record, and an integrity finding when the original was modified or is missing. The message
 * id is `<evidenceId>:fixity:<checkedAt>`: one check, one entry, however often delivered.
 */
export const FIXITY_RESULT_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/fixity-result.v1.json",
  title: "fixity-result",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "evidenceId", "status", "checkedAt", "actor"],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: "fixity-result" },
    evidenceId: evidenceIdSchema,
    /** What re-hashing the original found (shared/stages/fixity-stage.ts). */
    status: { enum: ["intact", "modified", "missing", "unverifiable"] },
    /** When the check finished reading (ISO 8601). */
    checkedAt: isoTime,
    /** Who checked (custody log "who"). */
    actor: shortText(256),
    sha256Expected: sha256Hex,
    sha256Actual: sha256Hex,
    sizeExpected: { type: "integer", minimum: 0 },
    sizeActual: { type: "integer", minimum: 0 },
    /** The first MAX_REPORTED_SEGMENTS differing segments, in order. */
    differingSegments: { type: "array", maxItems: MAX_REPORTED_SEGMENTS, items: fixitySegmentDifferenceSchema },
    differingSegmentCount: { type: "integer", minimum: 0 },
    /** The ETag recorded at ingest and the one the blob has now (Azurite has no versions: a rewrite changes it). */
    etagExpected: shortText(128),
    etagActual: shortText(128),
    etagChanged: { type: "boolean" },
    /** Why the check could not be made (unverifiable) or what was missing. */
    reason: shortText(4000),
  },
  allOf: [
    { if: { properties: { status: { const: "modified" } } }, then: { required: ["sha256Expected", "sha256Actual"] } },
    { if: { properties: { status: { enum: ["missing", "unverifiable"] } } }, then: { required: ["reason"] } },
  ],
} as const;
export type FixityResultMessage = FromSchema<typeof FIXITY_RESULT_SCHEMA>;
export type FixityStatus = FixityResultMessage["status"];

/**
 * A change to a recording's retention, from an operator (`custody retention set`, `custody hold`,
 * `custody release`) or a downstream system (a case-management system marking footage
 * evidential), sent to the `retention-commands` queue. The index — the only writer of the record
 * — checks it against the retention schedule (retention/schedule.json) and the record, then
 * records it: the category and its end, the holds per case, the history (who, when, why, case),
 * a custody log entry. `commandId` is the idempotency key and the message id: the same command
 * delivered twice changes the record once. A command the index refuses is dead-lettered with the
 * reason. `requestedBy` is the sender's word for who asked (the CLI puts the operator's
 * principal, and writes its own audit record).
 */
export const RETENTION_COMMAND_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/retention-command.v1.json",
  title: "retention-command",
  type: "object",
  additionalProperties: false,
  required: ["schemaVersion", "kind", "commandId", "evidenceId", "action", "reason", "requestedBy", "requestedAt"],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: "retention-command" },
    /** Letters, digits and `._:-`, at most 128: the sender's idempotency key. */
    commandId: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
    evidenceId: evidenceIdSchema,
    /**
     * `categorise`: put the recording in `category`; `hold`: a legal hold for `caseReference`;
     * `release`: lift that case's hold; `dispose`: delete the original and every rendition — only
     * accepted once the recording's retention has ended, its category disposes automatically and
     * no hold remains (sent by the disposal timer; the index checks, whoever sends it).
     */
    action: { enum: ["categorise", "hold", "release", "dispose"] },
    /** A category of the retention schedule (categorise). */
    category: { type: "string", pattern: "^[a-z][a-z0-9-]{0,63}$" },
    /** The case the command is for (required for hold and release). */
    caseReference: { type: "string", minLength: 1, maxLength: 128, pattern: "^[^\\u0000-\\u001f\\u007f]+$" },
    reason: { type: "string", minLength: 1, maxLength: 2000 },
    requestedBy: { type: "string", minLength: 1, maxLength: 256 },
    requestedAt: isoTime,
    /** Who sent it: an operator through the CLI, or a downstream system. */
    source: { enum: ["operator", "system"] },
  },
  allOf: [
    { if: { properties: { action: { const: "categorise" } } }, then: { required: ["category"] } },
    { if: { properties: { action: { enum: ["hold", "release"] } } }, then: { required: ["caseReference"] } },
  ],
} as const;
export type RetentionCommandMessage = FromSchema<typeof RETENTION_COMMAND_SCHEMA>;
export type RetentionAction = RetentionCommandMessage["action"];
