/**
 * The `Microsoft.Storage.BlobCreated` CloudEvent Event Grid sends for a committed block blob,
 * built from the blob's identity: the local blob-event source (the embedded stack's Event
 * Grid) sends it for every upload, and reconcile (`custody reconcile`, the reconcile timer)
 * re-sends it for an original whose event was lost. The id is deterministic from account,
 * container, name and ETag, so a re-send and the original delivery are the same event.
 * Pure: no I/O (shared/contracts/blob-created-event.ts is the parsing side).
 */
import { createHash } from "node:crypto";
import { withoutQuery } from "../text/redaction";

/** Where the blob lives; a storage SDK ContainerClient is one. */
export interface BlobContainerLocation {
  accountName: string;
  containerName: string;
  getBlobClient(name: string): { url: string };
}

/** The `source` of locally made events: a resource id of the shape Event Grid uses, in a subscription that cannot exist. */
const LOCAL_RESOURCE_PREFIX = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/custody-local/providers/Microsoft.Storage/storageAccounts";

export interface BlobCreatedCloudEvent {
  specversion: "1.0";
  type: "Microsoft.Storage.BlobCreated";
  source: string;
  id: string;
  time: string;
  subject: string;
  data: {
    api: string;
    clientRequestId: string;
    requestId: string;
    eTag: string;
    contentType: string;
    contentLength: number;
    blobType: "BlockBlob";
    url: string;
    sequencer: string;
    storageDiagnostics: { batchId: string };
    versionId?: string;
  };
}

/** The CloudEvent Event Grid sends for a block blob committed with PutBlockList. */
export function blobCreatedEvent(
  container: BlobContainerLocation,
  name: string,
  etag: string,
  blob: { contentType?: string; contentLength: number; versionId?: string; lastModified?: Date },
  options: { source?: string } = {},
): BlobCreatedCloudEvent {
  const id = deterministicUuid(`${container.accountName}/${container.containerName}/${name}#${etag}`);
  const url = withoutQuery(container.getBlobClient(name).url);
  const data: BlobCreatedCloudEvent["data"] = {
    api: "PutBlockList",
    clientRequestId: id,
    requestId: id,
    eTag: etag,
    contentType: blob.contentType ?? "application/octet-stream",
    contentLength: blob.contentLength,
    blobType: "BlockBlob",
    url,
    sequencer: createHash("sha256").update(id).digest("hex").slice(0, 32).toUpperCase(),
    storageDiagnostics: { batchId: id },
  };
  if (blob.versionId) data.versionId = blob.versionId;
  return {
    specversion: "1.0",
    type: "Microsoft.Storage.BlobCreated",
    source: options.source ?? `${LOCAL_RESOURCE_PREFIX}/${container.accountName}`,
    id,
    // When the blob was committed, as Event Grid says — not when this source noticed it (ingest
    // records it as the recording's uploadedAt). Now only when the caller does not know.
    time: (blob.lastModified ?? new Date()).toISOString(),
    subject: `/blobServices/default/containers/${container.containerName}/blobs/${name}`,
    data,
  };
}

function deterministicUuid(text: string): string {
  const hex = createHash("sha256").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
