/**
 * Ingest: one BlobCreated event in, one `evidence-received` message out.
 *
 * Ingest decides *whether* a recording is acceptable, never whether it is kept. A recording with a
 * bad name, an unexpected container, no bytes or broken metadata is still announced — with
 * `acceptance: { status: "rejected", reasons }` listing every problem — so it is hashed, indexed
 * and ends in a final state an evidence officer can see and act on. Nothing is dropped here.
 *
 * What does throw:
 * - the blob (that exact version) is gone: `OriginalNotFound` from the blob store;
 * - the blob was overwritten since the event: `OriginalChanged` from the blob store (or from the
 *   ETag check below) — the overwrite raised its own event, which ingests the new version;
 * - the blob store's account is not the event's account: `InvalidConfiguration` (reading a
 *   same-named blob from another account would announce the wrong bytes as this recording);
 * - transient storage failures, classified by the adapter.
 *
 * Idempotent: the output is a pure function of the event and the blob's properties — the same
 * event yields the same message (same evidence id, same message id downstream), so redeliveries
 * are dropped by Service Bus duplicate detection or collapse in the index.
 */
import { blobLocationOf, type BlobCreatedEvent } from "../contracts/blob-created-event";
import type { EvidenceReceivedMessage, OriginalRef, RejectionReason } from "../contracts/messages";
import { parseMessage } from "../contracts/validate";
import { CustodyError, isCustodyError } from "../errors";
import { validateEvidenceBlobName } from "../evidence/blob-name";
import { parseOffsetDateTime, validateCaptureMetadata } from "../evidence/capture-metadata";
import { deriveEvidenceId, normalizeEtag, quotedEtag } from "../evidence/evidence-id";
import type { BlobProperties, BlobStore } from "../ports/blob-store";
import { withoutQuery } from "../text/redaction";
import type { StageContext } from "./stage-context";

export const DEFAULT_ACCEPTED_CONTAINERS: readonly string[] = ["originals"];

export interface IngestOptions {
  /** Containers whose blobs are evidence originals. Defaults to `["originals"]`. */
  acceptedContainers?: readonly string[];
}

export interface IngestDependencies {
  blobs: BlobStore;
}

/** Limits of the `evidence-received` schema that blob-supplied values must fit. */
const MAX_URL_LENGTH = 4096;
const MAX_CONTENT_TYPE_LENGTH = 256;

export async function ingestRecording(event: BlobCreatedEvent, deps: IngestDependencies, context: StageContext, options: IngestOptions = {}): Promise<EvidenceReceivedMessage> {
  const location = blobLocationOf(event);
  const log = context.log.child({ stage: "ingest", sourceEventId: event.id });

  // The exact version the event announced: the version id when the event has one, else the ETag.
  // The store refuses (OriginalChanged) when the blob no longer is that version.
  let properties: BlobProperties;
  // A name the store cannot address safely ('.'/'..' segments) is still recorded — from what the
  // event says — as rejected; its hash stage then fails for good with the same reason.
  let readable = true;
  try {
    properties = await deps.blobs.getProperties({
      container: location.container,
      name: location.name,
      ...(event.data.versionId === undefined ? {} : { versionId: event.data.versionId }),
      etag: quotedEtag(event.data.eTag),
    });
  } catch (error) {
    if (!(isCustodyError(error) && error.code === "UnaddressableName")) throw error;
    readable = false;
    properties = {
      account: location.account,
      container: location.container,
      name: location.name,
      url: location.url,
      size: event.data.contentLength,
      etag: event.data.eTag,
      versionId: event.data.versionId,
      contentType: event.data.contentType,
      lastModified: new Date(event.time),
      metadata: {},
    };
  }
  if (event.data.versionId === undefined && normalizeEtag(properties.etag) !== normalizeEtag(event.data.eTag)) {
    // Belt and braces: a store that ignored the condition must not let us announce other bytes.
    throw new CustodyError(
      "OriginalChanged",
      `${location.container}/${location.name} has ETag ${properties.etag}, the event announced ${event.data.eTag}: it was overwritten; the newer event covers the new version`,
    );
  }
  if (properties.account.toLowerCase() !== location.account) {
    throw new CustodyError(
      "InvalidConfiguration",
      `the event is for storage account '${location.account}' but the blob store reads account '${properties.account}': check the ingest function's storage connection`,
    );
  }

  // The store reports the version id whenever it keeps versions (Azure), even though Event Grid
  // does not put one in the event: that is the identity the evidence id is derived from.
  const versionId = properties.versionId ?? event.data.versionId;
  const evidenceId = deriveEvidenceId({
    account: location.account,
    container: location.container,
    name: location.name,
    ...(versionId === undefined ? {} : { versionId }),
    etag: properties.etag,
  });

  const acceptedContainers = options.acceptedContainers ?? DEFAULT_ACCEPTED_CONTAINERS;
  const reasons: RejectionReason[] = [];
  if (!acceptedContainers.includes(location.container)) {
    reasons.push({
      code: "UnsupportedContainer",
      field: "container",
      message: `container '${location.container}' does not hold evidence originals (accepted: ${acceptedContainers.map((c) => `'${c}'`).join(", ") || "none"}); upload recordings to ${acceptedContainers[0] === undefined ? "an evidence container" : `'${acceptedContainers[0]}'`}`,
    });
  }
  reasons.push(...validateEvidenceBlobName(location.name));
  if (properties.size === 0) {
    reasons.push({ code: "EmptyBlob", field: "size", message: "the blob is empty (0 bytes): the upload did not carry the recording; upload it again from the dock" });
  }
  // The event time is when the blob was committed: the reference for "recorded in the future".
  // Taken from the event, not the clock, so the same event always gives the same verdict.
  const uploaded = parseOffsetDateTime(event.time);
  if (!uploaded.ok) throw new CustodyError("InvalidMessage", `blob-created: /time ${JSON.stringify(event.time)}: ${uploaded.problem}`);
  // Metadata of a blob that could not be read is unknown, not missing: say nothing about it.
  const metadata = readable ? validateCaptureMetadata(properties.metadata, { uploadedAt: new Date(uploaded.epochMs) }) : { capture: {}, reasons: [] };
  reasons.push(...metadata.reasons);

  const contentType = properties.contentType ?? event.data.contentType;
  const original: OriginalRef = {
    account: location.account,
    container: location.container,
    name: location.name,
    ...(versionId === undefined ? {} : { versionId }),
    etag: quotedEtag(properties.etag),
    url: fitUrl(withoutQuery(properties.url)),
    size: properties.size,
    // Informational only; one that does not fit the schema is left out rather than cut.
    ...(contentType !== undefined && contentType !== "" && contentType.length <= MAX_CONTENT_TYPE_LENGTH ? { contentType } : {}),
  };

  const message: EvidenceReceivedMessage = {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId,
    original,
    ...(Object.keys(metadata.capture).length > 0 ? { capture: metadata.capture } : {}),
    acceptance: reasons.length === 0 ? { status: "accepted" } : { status: "rejected", reasons },
    uploadedAt: event.time,
    sourceEventId: event.id,
  };

  // Our own output must pass the schema every reader applies; if it ever does not, that is a bug
  // here — fail loudly (dead-letter with the schema's complaint), do not publish a message that
  // every subscriber would dead-letter instead.
  try {
    parseMessage("evidence-received", message);
  } catch (error) {
    throw new CustodyError("Internal", `ingest produced an invalid evidence-received message for ${evidenceId}: ${(error as Error).message}`, {
      cause: error,
      retryable: false,
    });
  }

  if (message.acceptance.status === "rejected") {
    log.warn("recording rejected", { evidenceId, reasons: message.acceptance.reasons.map((r) => r.code) });
  } else {
    log.info("recording accepted", { evidenceId });
  }
  return message;
}

/**
 * The blob's URL within the schema's 4,096 characters. Names within the evidence limits always fit
 * (at most 1,024 UTF-8 bytes, 3 characters each when percent-encoded). A longer name — already
 * rejected for its length — can exceed it once every byte of a non-ASCII character is encoded; its
 * URL is then written as an IRI (RFC 3987: non-ASCII characters left unencoded), which names the
 * same blob (`new URL()` encodes it back) in at most one character per code point.
 */
function fitUrl(url: string): string {
  if (url.length <= MAX_URL_LENGTH) return url;
  return url.replace(/(?:%[89A-Fa-f][0-9A-Fa-f])+/g, (run) => {
    try {
      const decoded = decodeURIComponent(run);
      // C1 controls stay encoded: an IRI must not carry them raw.
      return /[\u0080-\u009f]/.test(decoded) ? run : decoded;
    } catch {
      return run;
    }
  });
}
