/**
 * The `BlobStore` port on `@azure/storage-blob` — the only place stages' blob reads touch the
 * SDK. Works unchanged against Azure (keyless, versioned, immutable `originals`) and Azurite
 * (connection string, no versions).
 *
 * Every read is of one exact version: `versionId` selects the version where the store keeps
 * versions (`BlobClient.withVersion`), and `If-Match: <etag>` makes the service refuse (412)
 * rather than silently serve other bytes if the blob was overwritten since the event named it.
 * Azurite ignores version ids (`withVersion()` returns the current blob), so locally the ETag
 * alone carries that guarantee.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { digestingTap } from "../streams/digesting-tap";
import { BlobSASPermissions, SASProtocol, StorageSharedKeyCredential, generateBlobSASQueryParameters, type BlobClient, type BlobServiceClient, type UserDelegationKey } from "@azure/storage-blob";
import { CustodyError, toCustodyError } from "../errors";
import {
  DERIVED_CONTAINER,
  derivedBlobName,
  type BlobCatalog,
  type BlobProperties,
  type BlobRef,
  type CreateDerivedFileOptions,
  type CreatedDerivedFile,
  type DerivedBlobSource,
  type DerivedFileStore,
  type DerivedBlobTarget,
  type ListedBlob,
  type MediaBlobStore,
  type OpenReadOptions,
  type ReadDerivedFileOptions,
  type UnlistableFolder,
  type WrittenBlob,
} from "../ports/blob-store";
import { inSingleSpan } from "../telemetry/single-span";
import { withoutQuery } from "../text/redaction";
import { decodeMetadata } from "./blob-metadata";
import { listBlobsIsolatingFailures } from "./blob-listing";

/**
 * How many times one `openRead` stream may resume after the connection breaks mid-body
 * (reset, socket timeout, a proxy closing a long response). A multi-GB original read over
 * minutes should survive a few drops, hence well above the SDK's default of 5.
 *
 * Two layers do the resuming, both with a ranged GET from the first missing byte conditioned
 * on the same ETag (and version), so the consumer sees one uninterrupted byte sequence and a
 * blob replaced mid-read fails with 412 (OriginalChanged) instead of splicing two contents:
 *
 * 1. the SDK's `maxRetryRequests` (its `RetriableReadableStream`), which resumes when the body
 *    ends early or errors; but
 * 2. on Node 20 a connection that drops mid-body makes the response emit `aborted`, which the
 *    SDK treats as the caller's own abort and gives up without resuming
 *    (Azure/azure-sdk-for-js#32268, open; reproduced in test/adapters with a proxy that cuts
 *    the connection). So the adapter wraps the SDK stream in {@link ResumableBlobStream},
 *    which resumes on any mid-body failure the caller did not ask for.
 */
export const DEFAULT_MAX_DOWNLOAD_RESUMES = 20;

export interface AzureBlobStoreOptions {
  /** Resumes allowed per `openRead` stream (also passed as the SDK's `maxRetryRequests`); default {@link DEFAULT_MAX_DOWNLOAD_RESUMES}. */
  maxDownloadResumes?: number;
  /** First pause before a resume, doubled each time up to 5 s; default 100 ms. */
  resumeDelayInMs?: number;
}

/** Block size of rendition uploads: 4 in flight bound the memory, whatever the rendition's size. */
const UPLOAD_BLOCK_BYTES = 4 * 1024 * 1024;

export class AzureBlobStore implements MediaBlobStore, DerivedFileStore, BlobCatalog {
  private readonly service: BlobServiceClient;
  private readonly maxDownloadResumes: number;
  private readonly resumeDelayInMs: number;
  private delegationKey: Promise<UserDelegationKey> | undefined;

  constructor(service: BlobServiceClient, options: AzureBlobStoreOptions = {}) {
    this.service = service;
    this.maxDownloadResumes = options.maxDownloadResumes ?? DEFAULT_MAX_DOWNLOAD_RESUMES;
    this.resumeDelayInMs = options.resumeDelayInMs ?? 100;
  }

  async getProperties(ref: BlobRef): Promise<BlobProperties> {
    const blob = this.blobClient(ref);
    let properties: Awaited<ReturnType<BlobClient["getProperties"]>>;
    try {
      properties = await blob.getProperties({ conditions: ifMatch(ref) });
    } catch (error) {
      throw await classifyFailure(error, blob, ref, "read the properties of");
    }
    if (properties.etag === undefined || properties.contentLength === undefined || properties.lastModified === undefined) {
      // The service always sends these; their absence means something between us and it rewrote the response.
      throw new CustodyError("Transient", `${describe(ref)}: the storage service answered getProperties without ETag, Content-Length or Last-Modified; retrying.`);
    }
    return {
      account: blob.accountName,
      container: ref.container,
      name: ref.name,
      url: withoutQuery(blob.url),
      size: properties.contentLength,
      etag: properties.etag,
      // Prefer what the service says it served; fall back to the id asked for (Azurite sends none).
      versionId: properties.versionId ?? ref.versionId,
      contentType: properties.contentType,
      lastModified: properties.lastModified,
      metadata: decodeMetadata(properties.metadata),
    };
  }

  async openRead(ref: BlobRef, options: OpenReadOptions = {}): Promise<Readable> {
    const blob = this.blobClient(ref);
    const { abortSignal } = options;
    const download = async (offset: number, count: number | undefined, etag: string | undefined): Promise<{ body: Readable; length: number; etag: string }> => {
      const response = await blob.download(offset, count, {
        conditions: etag === undefined ? undefined : { ifMatch: quoteEtag(etag) },
        abortSignal,
        maxRetryRequests: this.maxDownloadResumes,
      });
      const body = response.readableStreamBody;
      if (!(body instanceof Readable) || response.contentLength === undefined || response.etag === undefined) {
        // Only the browser build of the SDK answers without a Node stream; the service always sends the two headers.
        throw new CustodyError("Internal", `${describe(ref)}: the download answered without a Node.js stream, Content-Length or ETag (browser build of the SDK loaded?).`);
      }
      return { body, length: response.contentLength, etag: response.etag };
    };
    const offset = options.offset ?? 0;
    let first: Awaited<ReturnType<typeof download>>;
    try {
      first = await download(offset, options.count, ref.etag);
    } catch (error) {
      throw await classifyFailure(error, blob, ref, "download");
    }
    return new ResumableBlobStream({
      first: first.body,
      offset,
      length: first.length,
      // Resume against the ETag of the bytes already delivered, even when the caller gave none.
      reopen: async (from, count) => {
        try {
          return (await download(from, count, first.etag)).body;
        } catch (error) {
          throw await classifyFailure(error, blob, ref, "resume the download of");
        }
      },
      maxResumes: this.maxDownloadResumes,
      resumeDelayInMs: this.resumeDelayInMs,
      abortSignal,
      mapError: (error, action) => {
        if (action === "reopen") return error; // already classified by reopen
        if (action === "protocol") return new CustodyError("Internal", `Download of ${describe(ref)}: ${error.message}.`, { cause: error });
        return streamError(error, ref, this.maxDownloadResumes);
      },
    });
  }

  /**
   * A read-only SAS URL to the exact version (the version id is part of the URL in Azure).
   *
   * - Shared key credential (Azurite, connection strings): a service SAS signed with the key.
   *   Azurite has no user delegation keys.
   * - Entra ID (Azure, keyless; shared keys disabled on the account): a user delegation SAS,
   *   signed with a user delegation key the identity requests (needs
   *   `Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action`, part of
   *   Storage Blob Data Reader), HTTPS only. The key is cached and renewed before it runs out.
   *
   * The version is checked first (getProperties with If-Match), so a deleted or overwritten
   * original fails here as OriginalNotFound / OriginalChanged. A SAS URL cannot carry
   * If-Match: where the store has no versions (Azurite), callers re-check the ETag afterwards.
   */
  async readUrl(ref: BlobRef, expiresInMs: number): Promise<string> {
    await this.getProperties(ref);
    const blob = this.blobClient(ref);
    const startsOn = new Date(Date.now() - 5 * 60_000); // tolerate clock skew between us and the service
    const expiresOn = new Date(Date.now() + Math.max(60_000, expiresInMs));
    const values = {
      containerName: ref.container,
      blobName: ref.name,
      versionId: ref.versionId,
      permissions: BlobSASPermissions.parse("r"),
      startsOn,
      expiresOn,
    };
    const credential = this.service.credential;
    let sas: string;
    try {
      if (credential instanceof StorageSharedKeyCredential) {
        sas = generateBlobSASQueryParameters(values, credential).toString();
      } else {
        const key = await this.userDelegationKey(expiresOn);
        sas = generateBlobSASQueryParameters({ ...values, protocol: SASProtocol.Https }, key, blob.accountName).toString();
      }
    } catch (error) {
      throw blobError(error, ref, "sign a read URL for");
    }
    return `${blob.url}${blob.url.includes("?") ? "&" : "?"}${sas}`;
  }

  /**
   * Uploads a rendition to `derived/<evidenceId>/<stage>/<name>` (overwriting), hashing the
   * bytes as they stream to the service: constant memory (4 × 4 MiB blocks in flight). Traced as
   * one span, not one per block (shared/telemetry/single-span.ts).
   */
  async writeDerived(target: DerivedBlobTarget, source: DerivedBlobSource, options: { abortSignal?: AbortSignal } = {}): Promise<WrittenBlob> {
    const name = derivedBlobName(target);
    const ref = { container: DERIVED_CONTAINER, name };
    const client = this.service.getContainerClient(DERIVED_CONTAINER).getBlockBlobClient(name);
    const { tap, size, sha256 } = digestingTap();
    const input = source.kind === "file" ? createReadStream(source.path) : source.stream;
    try {
      const [, response] = await inSingleSpan("custody.blob.upload", { "custody.blob.container": DERIVED_CONTAINER, "custody.blob.name": name }, async (span) => {
        const done = await Promise.all([
          pipeline(input, tap, { signal: options.abortSignal }),
          client.uploadStream(tap, UPLOAD_BLOCK_BYTES, 4, {
            blobHTTPHeaders: { blobContentType: target.contentType },
            metadata: { evidenceid: target.evidenceId, stage: target.stage },
            abortSignal: options.abortSignal,
          }),
        ]);
        span.setAttributes({ "custody.blob.bytes": size(), "custody.blob.blocks": Math.max(1, Math.ceil(size() / UPLOAD_BLOCK_BYTES)) });
        return done;
      });
      return { container: DERIVED_CONTAINER, name, url: withoutQuery(client.url), size: size(), sha256: sha256(), contentType: target.contentType, etag: response.etag ?? "" };
    } catch (error) {
      tap.destroy();
      if ((error as { statusCode?: unknown } | null)?.statusCode === 404) {
        throw new CustodyError("InvalidConfiguration", `Cannot write ${DERIVED_CONTAINER}/${name}: the '${DERIVED_CONTAINER}' container does not exist (the deployment creates it).`, { cause: error });
      }
      if (error instanceof CustodyError) throw error;
      if ((error as { code?: unknown } | null)?.code === "ENOENT")
        throw new CustodyError("Internal", `Cannot upload ${source.kind === "file" ? source.path : "stream"}: ${(error as Error).message}`, { cause: error, retryable: false });
      throw blobError(error, ref, "upload");
    }
  }

  /** The whole derived blob, read through openRead (resumed on a dropped connection), refused past `maxBytes` without reading on. */
  async readDerivedFile(name: string, options: ReadDerivedFileOptions): Promise<Buffer> {
    const ref = { container: DERIVED_CONTAINER, name };
    const stream = await this.openRead(ref, { abortSignal: options.abortSignal });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.maxBytes) {
        stream.destroy();
        throw new CustodyError("OutputVerificationFailed", `${describe(ref)} is larger than ${options.maxBytes} bytes: not read into memory.`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  }

  /**
   * One Put Blob with If-None-Match: * — the service writes the bytes only where no blob is, in
   * one request (all or nothing), so two runs racing for a name leave exactly one's bytes. A
   * blob already there is reported, not replaced: 409 BlobAlreadyExists (Azure, Azurite) or
   * 412 ConditionNotMet (what a conditional write can also be answered with).
   */
  async createDerivedFile(name: string, bytes: Uint8Array, options: CreateDerivedFileOptions): Promise<CreatedDerivedFile> {
    const ref = { container: DERIVED_CONTAINER, name };
    const client = this.blobClient(ref).getBlockBlobClient();
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    try {
      const response = await client.upload(bytes, bytes.byteLength, {
        conditions: { ifNoneMatch: "*" },
        blobHTTPHeaders: { blobContentType: options.contentType },
        ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
        abortSignal: options.abortSignal,
      });
      return {
        created: true,
        blob: { container: DERIVED_CONTAINER, name, url: withoutQuery(client.url), size: bytes.byteLength, sha256, contentType: options.contentType, etag: response.etag ?? "" },
      };
    } catch (error) {
      const status = (error as { statusCode?: unknown } | null)?.statusCode;
      if (status === 409 || status === 412) return { created: false, container: DERIVED_CONTAINER, name };
      if (status === 404) {
        throw new CustodyError("InvalidConfiguration", `Cannot write ${DERIVED_CONTAINER}/${name}: the '${DERIVED_CONTAINER}' container does not exist (the deployment creates it).`, { cause: error });
      }
      throw blobError(error, ref, "create");
    }
  }

  /** A user delegation key valid until at least `until` (requested for a day, renewed an hour before it ends). */
  private async userDelegationKey(until: Date): Promise<UserDelegationKey> {
    const cached = this.delegationKey === undefined ? undefined : await this.delegationKey.catch(() => undefined);
    if (cached !== undefined && new Date(cached.signedExpiresOn).getTime() > until.getTime() + 60 * 60_000) return cached;
    const startsOn = new Date(Date.now() - 5 * 60_000);
    const expiresOn = new Date(Math.min(Date.now() + 7 * 24 * 3600_000 - 60_000, Math.max(until.getTime() + 2 * 3600_000, Date.now() + 24 * 3600_000)));
    this.delegationKey = this.service.getUserDelegationKey(startsOn, expiresOn).then((response) => response as UserDelegationKey);
    return this.delegationKey;
  }

  get accountName(): string {
    return this.service.accountName;
  }

  listBlobs(container: string, onUnlistable: (folder: UnlistableFolder) => void): AsyncIterable<ListedBlob> {
    return listBlobsIsolatingFailures(this.service.getContainerClient(container), onUnlistable);
  }

  blobUrl(container: string, name: string): string {
    return withoutQuery(this.service.getContainerClient(container).getBlobClient(name).url);
  }

  private blobClient(ref: BlobRef): BlobClient {
    // A URL path with "." or ".." segments is normalised by every client (WHATWG URL treats
    // %2E%2E the same), so such a name would silently address another blob. Refuse it.
    if (ref.name.split("/").some((segment) => segment === "." || segment === "..")) {
      throw new CustodyError(
        "UnaddressableName",
        `${ref.container}/${ref.name}: the name has '.' or '..' path segments, which HTTP clients normalise away; reading it would address a different blob. Copy it to a safe name with a tool that preserves names, then reprocess.`,
      );
    }
    const blob = this.service.getContainerClient(ref.container).getBlobClient(ref.name);
    return ref.versionId === undefined ? blob : blob.withVersion(ref.versionId);
  }
}

function ifMatch(ref: BlobRef): { ifMatch: string } | undefined {
  return ref.etag === undefined ? undefined : { ifMatch: quoteEtag(ref.etag) };
}

/**
 * Event Grid's BlobCreated `eTag` comes without the quotes HTTP puts around an entity tag,
 * the SDK's `etag` with them. Azure accepts either in If-Match, but quoting here makes the
 * header well-formed for every server (Azurite compares strings).
 */
export function quoteEtag(etag: string): string {
  return etag.startsWith('"') || etag.startsWith("W/") ? etag : `"${etag}"`;
}

function describe(ref: BlobRef): string {
  const version = ref.versionId === undefined ? "" : ` version ${ref.versionId}`;
  const etag = ref.etag === undefined ? "" : ` (ETag ${ref.etag})`;
  return `${ref.container}/${ref.name}${version}${etag}`;
}

/**
 * A 412 on a conditional request means "not the version you asked for" — including when there
 * is no blob at all: Azurite (and HTTP, RFC 9110 §13.1.1) answer If-Match on a missing blob
 * with 412, not 404. One unconditional existence check on this failure path tells a deleted
 * original (OriginalNotFound) from an overwritten one (OriginalChanged, with the ETag it has now).
 */
async function classifyFailure(error: unknown, blob: BlobClient, ref: BlobRef, action: string): Promise<CustodyError> {
  if ((error as { statusCode?: unknown } | null)?.statusCode !== 412) return blobError(error, ref, action);
  let current: { exists: false } | { exists: true; etag?: string } | undefined;
  try {
    const properties = await blob.getProperties();
    current = { exists: true, etag: properties.etag };
  } catch (probeError) {
    if ((probeError as { statusCode?: unknown } | null)?.statusCode === 404) current = { exists: false };
  }
  // Classified as the 404 it amounts to; the cause keeps the service's own answer (412).
  if (current?.exists === false) return blobError(error, ref, action, 404);
  const now = current?.etag === undefined ? "" : ` It now has ETag ${current.etag}.`;
  const changed = blobError(error, ref, action);
  return new CustodyError(changed.code, `${changed.message}${now}`, { cause: error, retryable: changed.retryable });
}

/** Classifies an SDK failure, with a message naming the blob and what the operator can expect. */
function blobError(error: unknown, ref: BlobRef, action: string, status = (error as { statusCode?: unknown } | null)?.statusCode): CustodyError {
  const serviceCode = (error as { code?: unknown } | null)?.code;
  // The service's error code, unless the status was re-derived (a 412 found to mean "gone").
  const ownStatus = status === (error as { statusCode?: unknown } | null)?.statusCode;
  const detail = ownStatus && typeof serviceCode === "string" && serviceCode !== "" ? ` [${serviceCode}]` : "";
  if (status === 404) {
    return new CustodyError(
      "OriginalNotFound",
      `Cannot ${action} ${describe(ref)}: it does not exist${detail} — deleted after the event, or the message names a version or container that never existed. Not retried.`,
      { cause: error },
    );
  }
  if (status === 412) {
    return new CustodyError(
      "OriginalChanged",
      `Cannot ${action} ${describe(ref)}: the blob no longer has that ETag${detail} — it was overwritten after the event; the event for the new content is processed on its own. Not retried.`,
      { cause: error },
    );
  }
  if (status === 416) {
    return new CustodyError("Internal", `Cannot ${action} ${describe(ref)}: the requested byte range starts past the end of the blob${detail}.`, { cause: error, retryable: false });
  }
  const classified = toCustodyError(error);
  return new CustodyError(classified.code, `Cannot ${action} ${describe(ref)}: ${classified.message}`, { cause: error, retryable: classified.retryable });
}

/** A mid-body failure that used up the resumes: the connection kept breaking off. */
function streamError(error: Error, ref: BlobRef, maxResumes: number): Error {
  return new CustodyError("Transient", `Download of ${describe(ref)} kept breaking off (gave up after ${maxResumes} resumes): ${error.message}. Will retry.`, { cause: error });
}

interface ResumableBlobStreamOptions {
  first: Readable;
  /** Offset of the first byte of `first` in the blob. */
  offset: number;
  /** Bytes the whole read must deliver (the first response's Content-Length). */
  length: number;
  /** Opens the rest of the range again: bytes [from, from + count) of the same ETag. */
  reopen(from: number, count: number): Promise<Readable>;
  maxResumes: number;
  resumeDelayInMs: number;
  abortSignal?: AbortSignal;
  /** `reopen`: the resume request failed; `stream`: the resumes ran out; `protocol`: the service sent more than the range. */
  mapError(error: Error, action: "reopen" | "stream" | "protocol"): Error;
}

/**
 * The bytes of one ranged read, delivered once and in order across any number of broken
 * connections. Each SDK body stream is consumed in flowing mode with backpressure
 * (`push()` → false pauses it, `_read()` resumes it), so at most one high-water mark of data
 * is buffered here: no accumulation, whatever the blob size.
 *
 * A failure the caller asked for (its abortSignal fired) is passed through as the AbortError
 * it is. Anything else mid-body — `aborted`, ECONNRESET, an early end, the SDK's own resume
 * giving up — is resumed with a fresh ranged GET conditioned on the ETag, up to `maxResumes`
 * times with exponential backoff. A reopen that fails for good (412: overwritten meanwhile;
 * 404: deleted) ends the stream with that error, classified; one that fails transiently
 * (network still down) counts as another resume.
 *
 * Emits `resume-download` ({ from, count, resumes, error }) before each resume, for callers
 * that want to log it.
 */
class ResumableBlobStream extends Readable {
  private source: Readable;
  private delivered = 0;
  private resumes = 0;
  private resuming = false;
  private readonly options: ResumableBlobStreamOptions;

  constructor(options: ResumableBlobStreamOptions) {
    super({ highWaterMark: 256 * 1024 });
    this.options = options;
    this.source = options.first;
    this.attach(this.source);
    if (options.length === 0) {
      // Nothing to stream; the SDK stream ends on its own, but don't depend on it.
      this.detach(this.source);
      this.source.destroy();
      this.push(null);
    }
  }

  override _read(): void {
    if (!this.resuming) this.source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detach(this.source);
    this.source.destroy();
    callback(error);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.delivered += chunk.length;
    if (this.delivered > this.options.length) {
      this.destroy(this.options.mapError(new Error(`the service sent ${this.delivered} bytes for a range of ${this.options.length}`), "protocol"));
      return;
    }
    if (!this.push(chunk)) this.source.pause();
  };

  private readonly onEnd = (): void => {
    if (this.delivered === this.options.length) {
      this.detach(this.source);
      this.push(null);
      return;
    }
    this.onFailure(new Error(`the response ended after ${this.delivered} of ${this.options.length} bytes`));
  };

  private readonly onFailure = (error: Error): void => {
    this.detach(this.source);
    if (this.destroyed) return;
    if (this.options.abortSignal?.aborted) {
      this.destroy(error);
      return;
    }
    if (this.resumes >= this.options.maxResumes) {
      this.destroy(this.options.mapError(error, "stream"));
      return;
    }
    this.resumes += 1;
    this.resuming = true;
    const from = this.options.offset + this.delivered;
    const count = this.options.length - this.delivered;
    const delay = Math.min(this.options.resumeDelayInMs * 2 ** (this.resumes - 1), 5000);
    this.emit("resume-download", { from, count, resumes: this.resumes, error });
    setTimeout(() => {
      if (this.destroyed) return;
      if (this.options.abortSignal?.aborted) {
        this.destroy(this.options.abortSignal.reason instanceof Error ? this.options.abortSignal.reason : error);
        return;
      }
      this.options.reopen(from, count).then(
        (source) => {
          this.resuming = false;
          if (this.destroyed) {
            source.destroy();
            return;
          }
          this.source = source;
          this.attach(source);
        },
        (reopenError: unknown) => {
          this.resuming = false;
          const failure = this.options.mapError(reopenError instanceof Error ? reopenError : new Error(String(reopenError)), "reopen");
          // The network may still be down (the SDK's own request retries are spent): try again
          // while resumes remain. 412/404 (overwritten, deleted) are final.
          if ((failure as { retryable?: unknown }).retryable === true && this.resumes < this.options.maxResumes && !this.options.abortSignal?.aborted) this.onFailure(failure);
          else this.destroy(failure);
        },
      );
    }, delay);
  };

  /** Closed without 'end' or 'error' (destroyed quietly): as much a break as an error. */
  private readonly onClose = (): void => this.onFailure(new Error(`the response closed after ${this.delivered} of ${this.options.length} bytes`));

  private attach(source: Readable): void {
    source.on("data", this.onData);
    source.on("end", this.onEnd);
    source.on("error", this.onFailure);
    source.on("close", this.onClose);
  }

  private detach(source: Readable): void {
    source.off("data", this.onData);
    source.off("end", this.onEnd);
    source.off("error", this.onFailure);
    source.off("close", this.onClose);
    // A destroyed source may still emit 'error' later; keep it from becoming an uncaught exception.
    if (!source.listeners("error").includes(ignore)) source.on("error", ignore);
  }
}

function ignore(): void {
  // deliberately empty
}
