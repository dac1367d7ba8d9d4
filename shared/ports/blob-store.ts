/**
 * What stages need from Blob Storage. Implemented by adapters/azure-blob-store.ts (the real
 * SDK, against Azure or Azurite); stages never import the SDK.
 */
import type { Readable } from "node:stream";
import type { PipelineStage } from "../contracts/messages";
import { renditionFolder } from "../contracts/rendition-path";

/** Where renditions go. Derived files are written only here; originals are never written. */
export const DERIVED_CONTAINER = "derived";
/** Where docks upload originals (the default of CUSTODY_ACCEPTED_CONTAINERS; versioned and immutable in Azure). */
export const ORIGINALS_CONTAINER = "originals";

/** One exact version of a blob. Reads are conditioned on `etag` (and `versionId` where the store has versions). */
export interface BlobRef {
  container: string;
  name: string;
  versionId?: string;
  etag?: string;
}

export interface BlobProperties {
  account: string;
  container: string;
  name: string;
  url: string;
  size: number;
  etag: string;
  versionId?: string;
  contentType?: string;
  lastModified: Date;
  /** Metadata with keys lower-cased (as the service returns them) and values percent-decoded. */
  metadata: Record<string, string>;
}

export interface OpenReadOptions {
  /** Byte range; whole blob when absent. */
  offset?: number;
  count?: number;
  abortSignal?: AbortSignal;
}

export interface BlobStore {
  /** Properties of the exact version; CustodyError OriginalNotFound / OriginalChanged when it is gone or different. */
  getProperties(ref: BlobRef): Promise<BlobProperties>;
  /** A stream of the exact version's bytes (constant memory; retries transient network errors). */
  openRead(ref: BlobRef, options?: OpenReadOptions): Promise<Readable>;
}

/** A rendition's deterministic place: `derived/<evidenceId>/<stage>/[reprocess-<id>/]<name>` (contracts/rendition-path.ts). */
export interface DerivedBlobTarget {
  evidenceId: string;
  stage: PipelineStage;
  /** File name: letters, digits, `.`, `_`, `-`; no path separators. */
  name: string;
  contentType: string;
  /** The `custody reprocess` request this run belongs to: its files go to their own folder. */
  reprocessId?: string;
}

export type DerivedBlobSource = { kind: "file"; path: string } | { kind: "stream"; stream: Readable };

export interface WrittenBlob {
  container: string;
  /** Blob name inside the container. */
  name: string;
  /** URL without query string. */
  url: string;
  size: number;
  /** SHA-256 of the bytes sent, computed while uploading. */
  sha256: string;
  contentType: string;
  etag: string;
}

/**
 * What the media stages need besides reading: a short-lived read-only URL ffmpeg can read
 * the exact original through (no local copy), and writing renditions. Kept apart from
 * `BlobStore` so stages that only read (hash, ingest) and their test doubles stay as small.
 */
export interface MediaBlobStore extends BlobStore {
  /**
   * A read-only URL to the exact version, valid for `expiresInMs` (HTTPS only in Azure). It
   * cannot carry If-Match, so callers check the ETag before and after using it. Fails like
   * `getProperties` when the version is gone or changed.
   */
  readUrl(ref: BlobRef, expiresInMs: number): Promise<string>;
  /**
   * Uploads a rendition to its place (derivedBlobName), overwriting what an earlier delivery of
   * the same run wrote there, with its content type; returns size and SHA-256 of the bytes sent.
   */
  writeDerived(target: DerivedBlobTarget, source: DerivedBlobSource, options?: { abortSignal?: AbortSignal }): Promise<WrittenBlob>;
}

export interface ReadDerivedFileOptions {
  /** Refuse (OutputVerificationFailed) a blob larger than this: the whole file is held in memory. */
  maxBytes: number;
  abortSignal?: AbortSignal;
}

export interface CreateDerivedFileOptions {
  contentType: string;
  /** Blob metadata (lower-case keys), as writeDerived sets `evidenceid` and `stage`. */
  metadata?: Record<string, string>;
  abortSignal?: AbortSignal;
}

/** What a create-only write did: wrote the bytes, or found a blob already at that name and left it as it was. */
export type CreatedDerivedFile = { created: true; blob: WrittenBlob } | { created: false; container: string; name: string };

/**
 * Derived files addressed by their exact blob name, for a run that works on another stage's
 * files and writes beside them (the Content Credentials signer: it reads the thumbnail stage's
 * images and writes the signed ones to its own folder). Writes are create-only: a blob already
 * at the name is never replaced, so what was written once — and may already be on the record —
 * cannot change under it; the caller decides whether what is there is what it would have made.
 */
export interface DerivedFileStore {
  /** The whole blob `derived/<name>` (OriginalNotFound when there is none). */
  readDerivedFile(name: string, options: ReadDerivedFileOptions): Promise<Buffer>;
  /** Creates `derived/<name>` with `bytes` in one request, unless a blob is already there (If-None-Match: *). */
  createDerivedFile(name: string, bytes: Uint8Array, options: CreateDerivedFileOptions): Promise<CreatedDerivedFile>;
}

/** One blob as a container listing shows it. */
export interface ListedBlob {
  name: string;
  etag: string;
  contentLength: number;
  contentType?: string;
  versionId?: string;
  /** When the blob was committed. */
  lastModified?: Date;
}

/** A folder a listing could not cover entirely (Azurite cannot list a name with control characters). */
export interface UnlistableFolder {
  /** The folder (`officer/device/`), `""` for the container's top level. */
  prefix: string;
  /** The last entry listed in it; the ones after it were not seen. Absent: none was. */
  listedUpTo?: string;
  error: unknown;
}

/**
 * Listing a container (reconcile): what is stored, whether or not an event announced it.
 * Kept apart from the stages' ports: only reconcile walks containers.
 */
export interface BlobCatalog {
  /**
   * Every blob of `container` that can be listed; a folder that cannot be listed entirely is
   * reported to `onUnlistable` (each time) and the rest is still listed, not fatal.
   */
  listBlobs(container: string, onUnlistable: (folder: UnlistableFolder) => void): AsyncIterable<ListedBlob>;
  /** The storage account's name, as evidence ids and blob URLs use it. */
  readonly accountName: string;
  /** The URL of a blob, without a query string. */
  blobUrl(container: string, name: string): string;
}

/** The blob name of a rendition, validated (no separators, no dot segments, bounded). */
export function derivedBlobName(target: Pick<DerivedBlobTarget, "evidenceId" | "stage" | "name" | "reprocessId">): string {
  if (!/^ev-[0-9a-f]{32}$/.test(target.evidenceId)) throw new Error(`not an evidence id: ${target.evidenceId}`);
  if (!/^[a-z]+$/.test(target.stage)) throw new Error(`not a stage name: ${target.stage}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(target.name)) throw new Error(`not a rendition file name: ${target.name}`);
  if (target.reprocessId !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(target.reprocessId)) throw new Error(`not a reprocess request id: ${target.reprocessId}`);
  return `${renditionFolder(target.evidenceId, target.stage, target.reprocessId)}${target.name}`;
}
