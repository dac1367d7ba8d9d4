/**
 * The `Microsoft.Storage.BlobCreated` event, as Event Grid delivers it in the CloudEvents 1.0
 * schema to the `blob-created` Service Bus queue — the input of the ingest stage.
 *
 * Sources for the shape:
 * - "Azure Blob Storage as an Event Grid source"
 *   (https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage, MicrosoftDocs/azure-docs
 *   articles/event-grid/event-schema-blob-storage.md): the CloudEvents example and the table of
 *   `data` properties (api, clientRequestId, requestId, eTag, contentType, contentLength, blobType,
 *   contentOffset, url, sequencer, identity, storageDiagnostics), the Data Lake Gen2 variant
 *   (`CreateFile`/`FlushWithClose`, `contentOffset`, `dfs` URLs) and the SFTP variant
 *   (`SftpCreate`/`SftpCommit`, no clientRequestId).
 * - "CloudEvents v1.0 schema with Azure Event Grid"
 *   (https://learn.microsoft.com/azure/event-grid/cloud-event-schema): the same event, with the
 *   subject written without its leading `/` and an unquoted `eTag` — both forms are accepted.
 * - @azure/eventgrid `StorageBlobCreatedEventData` (since 5.6.0 every data property is optional in
 *   the SDK's type, and `accessTier` was added): unknown properties are allowed, so Azure adding a
 *   field never dead-letters events.
 *
 * `versionId` is **not** part of the documented event; it is accepted when present (the local
 * blob-event source may send it) and otherwise the version is learnt from the blob's properties.
 *
 * Only operations after which the blob is completely committed are accepted (`api`): `PutBlob`,
 * `PutBlockList`, `CopyBlob`, `FlushWithClose` (Data Lake) and `SftpCommit` (SFTP). `CreateFile`
 * and `SftpCreate` announce an empty placeholder that a `FlushWithClose`/`SftpCommit` event will
 * follow; ingesting them would record a bogus empty "recording". The Event Grid subscription
 * filters `data.api` with {@link BLOB_CREATED_COMMITTED_APIS}; an event that gets through anyway
 * is refused here with a reason naming the filter, rather than turned into evidence.
 */
import Ajv2020 from "ajv/dist/2020";
import { CustodyError } from "../errors";

export const BLOB_CREATED_EVENT_TYPE = "Microsoft.Storage.BlobCreated";

/** Operations after which the blob is fully committed; also the subscription's `data.api` filter. */
export const BLOB_CREATED_COMMITTED_APIS = ["PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose", "SftpCommit"] as const;
export type BlobCreatedApi = (typeof BLOB_CREATED_COMMITTED_APIS)[number];

export interface BlobCreatedEventData {
  api: BlobCreatedApi;
  clientRequestId?: string;
  requestId?: string;
  /** ETag of the blob when the event fired, quoted (`"\"0x8D…\""`) or not (`"0x8D…"`). */
  eTag: string;
  contentType?: string;
  contentLength: number;
  /** Data Lake / SFTP only. */
  contentOffset?: number;
  blobType?: string;
  accessTier?: string;
  /** The blob's URL, percent-encoded (`https://<account>.blob.core.windows.net/<container>/<name>`). */
  url: string;
  /** Orders events for one blob name by plain string comparison. */
  sequencer?: string;
  /** SFTP local user. */
  identity?: string;
  /** Not in Azure's documented event; honoured when present. */
  versionId?: string;
  /** For the service's own use: consumers ignore it. */
  storageDiagnostics?: Record<string, unknown>;
}

export interface BlobCreatedEvent {
  specversion: "1.0";
  type: typeof BLOB_CREATED_EVENT_TYPE;
  /** ARM id of the storage account: `/subscriptions/…/providers/Microsoft.Storage/storageAccounts/<account>`. */
  source: string;
  id: string;
  /** RFC 3339, UTC, often with 7 fractional digits. */
  time: string;
  /** `/blobServices/default/containers/<container>/blobs/<name>` (the leading `/` is sometimes absent). */
  subject: string;
  datacontenttype?: string;
  dataschema?: string;
  data: BlobCreatedEventData;
}

/** Where the blob an event names lives, decoded. */
export interface BlobLocation {
  account: string;
  container: string;
  /** The blob name as stored: percent-decoded, `/` kept as folder separator. */
  name: string;
  /** `data.url` without its query string, otherwise as sent (still percent-encoded). */
  url: string;
}

const optionalText = { type: "string" } as const;
const requiredText = { type: "string", minLength: 1 } as const;

// RFC 3339 date-time (the CloudEvents `time` attribute); the calendar check follows in code.
const RFC3339 = "^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$";

export const BLOB_CREATED_EVENT_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://custody.example/schemas/microsoft-storage-blob-created.cloudevent.json",
  title: "Microsoft.Storage.BlobCreated (CloudEvents 1.0)",
  type: "object",
  required: ["specversion", "type", "source", "id", "time", "subject", "data"],
  properties: {
    specversion: { const: "1.0" },
    type: { const: BLOB_CREATED_EVENT_TYPE },
    source: { type: "string", pattern: "/storageAccounts/[^/]+$" },
    id: { type: "string", minLength: 1, maxLength: 256 },
    time: { type: "string", pattern: RFC3339 },
    subject: { type: "string", pattern: "^/?blobServices/default/containers/[^/]+/blobs/." },
    datacontenttype: optionalText,
    dataschema: optionalText,
    data: {
      type: "object",
      required: ["api", "eTag", "contentLength", "url"],
      properties: {
        api: { enum: [...BLOB_CREATED_COMMITTED_APIS] },
        clientRequestId: optionalText,
        requestId: optionalText,
        eTag: requiredText,
        contentType: optionalText,
        contentLength: { type: "integer", minimum: 0 },
        contentOffset: { type: "integer", minimum: 0 },
        blobType: optionalText,
        accessTier: optionalText,
        url: { type: "string", pattern: "^https?://[^/]+/." },
        sequencer: optionalText,
        identity: optionalText,
        versionId: requiredText,
        storageDiagnostics: { type: "object" },
      },
    },
  },
} as const;

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: false });
const validateSchema = ajv.compile(BLOB_CREATED_EVENT_SCHEMA);

/**
 * Validates a `blob-created` queue message body — the event object, its JSON text, or a Buffer /
 * Uint8Array of that JSON — and returns the typed event. Anything else throws
 * `CustodyError("InvalidMessage")` whose message lists every problem with its JSON pointer (the
 * dead-letter reason an operator reads).
 */
export function parseBlobCreatedEvent(body: unknown): BlobCreatedEvent {
  let value = body;
  if (value instanceof Uint8Array) value = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw invalid([`body is not JSON (${(error as Error).message})`]);
    }
  }
  // Webhook deliveries are arrays; Service Bus gets one event per message. A one-element array is
  // unambiguous, so accept it rather than dead-letter a well-formed event.
  if (Array.isArray(value)) {
    if (value.length !== 1) throw invalid([`body is an array of ${value.length} events: expected one event per message`]);
    value = value[0];
  }

  if (!validateSchema(value)) {
    throw invalid(
      (validateSchema.errors ?? []).slice(0, 10).map((e) => {
        const where = e.instancePath || "/";
        if (e.instancePath === "/data/api" && e.keyword === "enum") {
          return (
            `${where} ${JSON.stringify((value as { data: { api: unknown } }).data.api)} is not an operation that leaves a committed blob ` +
            `(expected one of ${BLOB_CREATED_COMMITTED_APIS.join(", ")}; the Event Grid subscription should filter data.api to these)`
          );
        }
        return `${where} ${e.message ?? "is invalid"}${e.params && "allowedValues" in e.params ? ` (${JSON.stringify(e.params.allowedValues)})` : ""}`;
      }),
    );
  }
  const event = value as unknown as BlobCreatedEvent;
  const problems: string[] = [];
  if (!isRealDateTime(event.time)) problems.push(`/time ${JSON.stringify(event.time)} is not a real date and time`);
  const located = locateBlob(event);
  if (typeof located === "string") problems.push(located);
  if (problems.length > 0) throw invalid(problems);
  return event;
}

/**
 * Account, container and decoded name of the blob an event names, cross-checked between `source`,
 * `subject` and `data.url`. Throws `CustodyError("InvalidMessage")` when they disagree (use on an
 * event from {@link parseBlobCreatedEvent}, which has already made that check).
 */
export function blobLocationOf(event: BlobCreatedEvent): BlobLocation {
  const located = locateBlob(event);
  if (typeof located === "string") throw invalid([located]);
  return located;
}

/**
 * How the name is decoded — the part that is easy to get wrong:
 *
 * - The **account** comes from `source` (the ARM id Event Grid itself writes; account names are
 *   lower-case). The URL is then read in whichever style it has: virtual-host style
 *   (`https://<account>.blob.core.windows.net/<container>/<name>`, also `.dfs.` and sovereign
 *   clouds) when its first host label is the account, or path style
 *   (`http://127.0.0.1:10000/<account>/<container>/<name>`, Azurite) when its first path segment is.
 * - The **name** is the rest of the URL path after the container, percent-decoded *once* with
 *   `decodeURIComponent` (not `decodeURI`, which leaves `%23` / `%2F` / `%3F` encoded; not a
 *   form decoder, which would turn `+` into a space). `/` separators stay as they are. The URL is
 *   not put through `new URL()`: it would treat a raw `#` as a fragment start.
 * - The **subject** carries the name too; it must agree with the decoded name, either raw or
 *   encoded, so an event naming two different blobs is refused instead of guessed at.
 */
function locateBlob(event: BlobCreatedEvent): BlobLocation | string {
  const account = /\/storageAccounts\/([^/]+)$/i.exec(event.source)?.[1]?.toLowerCase();
  if (account === undefined) return `/source ${JSON.stringify(event.source)} does not name a storage account`;

  const subject = /^\/?blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/s.exec(event.subject);
  if (subject === null) return `/subject ${JSON.stringify(event.subject)} is not /blobServices/default/containers/<container>/blobs/<name>`;
  const [, subjectContainer, subjectName] = subject as unknown as [string, string, string];

  const urlMatch = /^(https?:\/\/([^/?#]+))\/([^?]*)/i.exec(event.data.url);
  if (urlMatch === null) return `/data/url ${JSON.stringify(event.data.url)} is not a blob URL`;
  const [, origin, host, rawPath] = urlMatch as unknown as [string, string, string, string];
  const hostLabel = host.replace(/:\d+$/, "").split(".")[0]?.toLowerCase();
  const pathSegments = rawPath.split("/");
  let containerIndex: number;
  if (hostLabel === account) containerIndex = 0;
  else if (pathSegments[0]?.toLowerCase() === account) containerIndex = 1;
  else return `/data/url ${JSON.stringify(event.data.url)} is not a URL of storage account '${account}' named by /source`;

  const container = pathSegments[containerIndex];
  const encodedName = pathSegments.slice(containerIndex + 1).join("/");
  if (container === undefined || container === "" || encodedName === "") {
    return `/data/url ${JSON.stringify(event.data.url)} does not name a blob (expected .../<container>/<name>)`;
  }
  let name: string;
  try {
    name = decodeURIComponent(encodedName);
  } catch {
    return `/data/url ${JSON.stringify(event.data.url)} has a malformed percent-encoding in the blob name`;
  }
  if (safeDecode(container).toLowerCase() !== subjectContainer.toLowerCase()) {
    return `/subject container '${subjectContainer}' differs from the container '${container}' in /data/url`;
  }
  if (subjectName !== name && safeDecode(subjectName) !== name) {
    return `/subject blob name ${JSON.stringify(subjectName)} differs from the name ${JSON.stringify(name)} decoded from /data/url`;
  }
  const url = `${origin}/${rawPath}`;
  return { account, container: container.toLowerCase(), name, url };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function isRealDateTime(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})/.exec(text);
  if (match === null) return false;
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

function invalid(problems: string[]): CustodyError {
  return new CustodyError("InvalidMessage", `blob-created: not a Microsoft.Storage.BlobCreated CloudEvent: ${problems.join("; ")}`);
}
