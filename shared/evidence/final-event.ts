/**
 * The final event of a recording — evidence-ready or evidence-failed — as published on the
 * evidence-ready topic: a CloudEvent 1.0 in the AMQP binding's binary content mode (the
 * contract, its property names and why binary: shared/contracts/evidence-events.ts and
 * docs/events.md). Built from the record alone (plus the deployment's `source`), so a
 * re-publish after a crash sends the same id with the same content — `time` included: it is
 * when the index decided the outcome (the custody log entry of the decision), not when the
 * message happened to be sent.
 *
 * Decisions:
 * - A device-hash mismatch does not fail the recording: it is still evidence (the stored
 *   original is what it is, and it is fingerprinted), but it must not go unnoticed — the
 *   event is evidence-ready WITH the `integrityFindings`, for subscribers to flag it.
 * - A rejected recording (ingest refused its metadata/name/container/size) is announced with
 *   evidence-failed, `status: "rejected"`, `failure: { stage: "ingest", code: "Rejected" }`
 *   and the reasons, once it has been hashed: every recording ends with exactly one outcome
 *   event, and subscribers that track recordings do not wait forever for a rejected one.
 * - No secrets and no SAS: URLs are the blobs' plain URLs (a query string is dropped), and
 *   consumers read with their own identity. Segment digests, provenance and GPS tags stay on
 *   the index record: the event fans out to many systems and carries what they need to act.
 */
import {
  CLOUDEVENTS_SPEC_VERSION,
  DEFAULT_EVENT_SOURCE,
  EVENT_PROPERTIES,
  EVIDENCE_EVENT_CONTENT_TYPE,
  EVIDENCE_EVENT_DATASCHEMAS,
  EVIDENCE_EVENT_TYPES,
  type EventCapture,
  type EventFailure,
  type EventMediaSummary,
  type EventOriginal,
  type EventRendition,
  type EvidenceFailedData,
  type EvidenceEventType,
  type EvidenceReadyData,
} from "../contracts/evidence-events";
import type { OriginalRef, Rendition, ReportedMediaProbe } from "../contracts/messages";
import { CustodyError } from "../errors";
import type { OutgoingMessage } from "../contracts/envelopes";
import { withoutQuery, withoutQueryStrings } from "../text/redaction";
import type { EvidenceRecord } from "./record";
import { failedRequiredStage, failedStageError } from "./record-merge";

export interface BuildFinalEventOptions {
  /** CloudEvents `source` of this deployment (CUSTODY_EVENT_SOURCE). Default `/custody`. */
  source?: string;
}

/** The body (CloudEvents `data`) of either event. */
export type FinalEventData = EvidenceReadyData | EvidenceFailedData;

/**
 * The message for the record's `finalEvent`: Service Bus message id = CloudEvents id
 * (`<evidenceId>:ready` / `<evidenceId>:failed`, so duplicate detection drops a re-publish),
 * Service Bus subject = the CloudEvents type, correlation id = evidence id, the
 * `cloudEvents:` attributes, and the routing properties (`eventType`, `evidenceId`, `status`,
 * and `officerId` / `deviceId` / `unit` when the recording has them).
 */
export function buildFinalEvent(record: EvidenceRecord, options: BuildFinalEventOptions = {}): OutgoingMessage {
  const finalEvent = record.finalEvent;
  if (finalEvent === undefined) {
    throw new CustodyError("Internal", `evidence ${record.evidenceId} has no final event to publish (status ${record.status})`, { retryable: false });
  }
  const original = record.original;
  if (original === undefined) {
    // decideFinalState never decides without evidence-received (which brings the original).
    throw new CustodyError("Internal", `evidence ${record.evidenceId} has a final event but no original`, { retryable: false });
  }
  const type = EVIDENCE_EVENT_TYPES[finalEvent.type];
  const capture = eventCapture(record.capture);
  const media = record.media === undefined ? undefined : mediaSummary(record.media);
  // Built in reading order (who/what first, files, findings, then why it failed): the JSON a
  // person sees in `custody subscribe --json` or a Service Bus explorer reads top to bottom.
  const data = {
    evidenceId: record.evidenceId,
    status: finalEvent.type === "evidence-ready" ? "ready" : record.status === "rejected" ? "rejected" : "failed",
    original: eventOriginal(original, record.hash?.sha256),
    ...(capture === undefined ? {} : { capture }),
    ...(media === undefined ? {} : { media }),
    renditions: eventRenditions(record, original),
    // The id of a refused claim's message is the index's business, not the consumers'.
    integrityFindings: record.integrityFindings.map(({ claimMessageId: _claim, ...finding }) => ({ ...finding, message: withoutQueryStrings(finding.message) })),
    ...(finalEvent.type === "evidence-failed" ? { failure: describeFailure(record) } : {}),
    ...custodyLogOf(finalEvent),
  } as FinalEventData;

  // The event's status, not the record's: a failed record being redriven is `received` again
  // for a while, and a re-publish of its evidence-failed must still say `failed`.
  return evidenceEventMessage({ evidenceId: record.evidenceId, messageId: finalEvent.messageId, type, time: decidedAt(record), status: data.status, capture, data, source: options.source });
}

/** The custody ledger's head the event was decided at (record-merge.ts advanceLedgerHead), as its data carries it. */
export function custodyLogOf(event: { custodyLogHead?: { sha256: string; entries: number } } | undefined): { custodyLog?: { sha256: string; entries: number } } {
  const head = event?.custodyLogHead;
  return head === undefined ? {} : { custodyLog: { sha256: head.sha256, entries: head.entries } };
}

/** What every evidence event's message is made of (see buildFinalEvent). */
export interface EvidenceEventParts {
  evidenceId: string;
  /** Service Bus message id = CloudEvents id. */
  messageId: string;
  type: EvidenceEventType;
  /** CloudEvents `time` (ISO 8601). */
  time: string;
  status: string;
  capture: EventCapture | undefined;
  data: unknown;
  source?: string;
}

/**
 * The message of an evidence event in the AMQP binary content mode: the data as the body, the
 * CloudEvents attributes and the routing properties as application properties.
 */
export function evidenceEventMessage(parts: EvidenceEventParts): OutgoingMessage {
  const applicationProperties: Record<string, string | Date> = {
    [EVENT_PROPERTIES.specversion]: CLOUDEVENTS_SPEC_VERSION,
    [EVENT_PROPERTIES.id]: parts.messageId,
    [EVENT_PROPERTIES.source]: parts.source ?? DEFAULT_EVENT_SOURCE,
    [EVENT_PROPERTIES.type]: parts.type,
    [EVENT_PROPERTIES.subject]: parts.evidenceId,
    // An AMQP timestamp, as the binding prefers (receivers must also accept the RFC 3339 string).
    [EVENT_PROPERTIES.time]: new Date(parts.time),
    [EVENT_PROPERTIES.dataschema]: EVIDENCE_EVENT_DATASCHEMAS[parts.type],
    [EVENT_PROPERTIES.eventType]: parts.type,
    [EVENT_PROPERTIES.evidenceId]: parts.evidenceId,
    [EVENT_PROPERTIES.status]: parts.status,
  };
  const capture = parts.capture;
  if (capture?.officerId !== undefined) applicationProperties[EVENT_PROPERTIES.officerId] = capture.officerId;
  if (capture?.deviceId !== undefined) applicationProperties[EVENT_PROPERTIES.deviceId] = capture.deviceId;
  if (capture?.unit !== undefined) applicationProperties[EVENT_PROPERTIES.unit] = capture.unit;
  return { messageId: parts.messageId, body: parts.data, contentType: EVIDENCE_EVENT_CONTENT_TYPE, subject: parts.type, correlationId: parts.evidenceId, applicationProperties };
}

/** When the outcome was decided: the decision's custody log entry (keyed by the event's id), else the record's last change. */
function decidedAt(record: EvidenceRecord): string {
  const entry = record.custodyLog.find((e) => e.key === record.finalEvent?.messageId);
  const at = entry?.at ?? record.updatedAt;
  return Number.isNaN(Date.parse(at)) ? record.updatedAt : at;
}

export function eventOriginal(original: OriginalRef, sha256: string | undefined): EventOriginal {
  const out: EventOriginal = {
    storageAccount: original.account,
    container: original.container,
    name: original.name,
    etag: original.etag,
    size: original.size,
    url: withoutQuery(original.url),
  };
  if (original.versionId !== undefined) out.versionId = original.versionId;
  if (original.contentType !== undefined) out.contentType = original.contentType;
  if (sha256 !== undefined) out.sha256 = sha256;
  return out;
}

export function eventCapture(capture: EvidenceRecord["capture"]): EventCapture | undefined {
  if (capture === undefined) return undefined;
  const out: EventCapture = {};
  if (capture.officerId !== undefined) out.officerId = capture.officerId;
  if (capture.deviceId !== undefined) out.deviceId = capture.deviceId;
  if (capture.recordedAt !== undefined) out.recordedAt = capture.recordedAt;
  if (capture.unit !== undefined) out.unit = capture.unit;
  if (capture.deviceSha256 !== undefined) out.deviceSha256 = capture.deviceSha256;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The stages whose files are renditions, in the order the events list them. */
export const RENDITION_STAGES = ["transcode", "thumbnail"] as const;

/** The renditions of every media stage that succeeded (a failed stage's files are not evidence anyone should use). */
function eventRenditions(record: EvidenceRecord, original: OriginalRef): EventRendition[] {
  const base = storageBaseUrl(original);
  const out: EventRendition[] = [];
  for (const stage of RENDITION_STAGES) {
    const state = record.stages[stage];
    if (state?.status !== "succeeded") continue;
    for (const rendition of state.renditions ?? []) out.push(eventRendition(rendition, stage, base));
  }
  return out;
}

export function eventRendition(rendition: Rendition, stage: EventRendition["stage"], base: string | undefined): EventRendition {
  const out: EventRendition = {
    kind: rendition.kind,
    stage,
    name: rendition.name,
    container: rendition.container,
    path: rendition.path,
    contentType: rendition.contentType,
    size: rendition.size,
    sha256: rendition.sha256,
  };
  const url = renditionUrl(rendition, base);
  if (url !== undefined) out.url = url;
  for (const key of ["width", "height", "durationInSeconds", "timeInSeconds", "segmentCount"] as const) {
    const value = rendition[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** A rendition's blob URL under the storage base (storageBaseUrl); undefined without one. */
export function renditionUrl(rendition: Pick<Rendition, "container" | "path">, base: string | undefined): string | undefined {
  return base === undefined ? undefined : `${base}/${encodeURIComponent(rendition.container)}/${rendition.path.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * The blob service URL the original lives under (`https://<account>.blob.core.windows.net`, or
 * Azurite's path-style `http://127.0.0.1:10000/<account>`): the original's URL up to its
 * container segment. Undefined when the URL does not have that shape — then renditions carry
 * container and path only, never a guessed URL. Textual on purpose, like `withoutQuery` (shared/text/redaction.ts).
 */
export function storageBaseUrl(original: OriginalRef): string | undefined {
  const url = withoutQuery(original.url);
  const scheme = /^https?:\/\/[^/]+/i.exec(url);
  if (scheme === null) return undefined;
  const at = url.indexOf(`/${original.container}/`, scheme[0].length);
  return at < 0 ? undefined : url.slice(0, at);
}

function mediaSummary(media: ReportedMediaProbe): EventMediaSummary {
  const out: EventMediaSummary = { container: media.container, dataTracks: [...media.dataTracks] };
  if (media.durationInSeconds !== undefined) out.durationInSeconds = media.durationInSeconds;
  if (media.sizeInBytes !== undefined) out.sizeInBytes = media.sizeInBytes;
  if (media.bitRate !== undefined) out.bitRate = media.bitRate;
  const video = media.primaryVideoIndex === undefined ? undefined : media.streams.find((s) => s.index === media.primaryVideoIndex);
  if (video !== undefined) {
    out.video = pickDefined(video, ["codec", "width", "height", "frameRate", "rotation", "pixelFormat", "bitDepth", "hdr"]);
  }
  const audio = media.primaryAudioIndex === undefined ? undefined : media.streams.find((s) => s.index === media.primaryAudioIndex);
  if (audio !== undefined) out.audio = pickDefined(audio, ["codec", "sampleRate", "channels"]);
  if (media.creationTime !== undefined) out.creationTime = media.creationTime;
  if (media.device !== undefined && (media.device.make !== undefined || media.device.model !== undefined)) out.device = pickDefined(media.device, ["make", "model"]);
  return out;
}

function pickDefined<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

function describeFailure(record: EvidenceRecord): EventFailure {
  const failure = describeFailureAsRecorded(record);
  const out: EventFailure = { ...failure, reason: withoutQueryStrings(failure.reason) };
  if (failure.reasons !== undefined) out.reasons = failure.reasons.map((reason) => ({ ...reason, message: withoutQueryStrings(reason.message) }));
  return out;
}

function describeFailureAsRecorded(record: EvidenceRecord): EventFailure {
  if (record.rejection !== undefined) {
    const reasons = record.rejection.reasons;
    return {
      stage: "ingest",
      code: "Rejected",
      reason: reasons.map((reason) => `${reason.code}${reason.field ? ` (${reason.field})` : ""}: ${reason.message}`).join("; "),
      reasons,
    };
  }
  const stage = failedRequiredStage(record);
  if (stage === undefined) return { stage: "ingest", code: "Unknown", reason: "failed without a failed required stage on record" };
  const error = failedStageError(record, stage);
  return { stage, code: error?.code ?? "Unknown", reason: error?.message ?? `${stage} failed` };
}
