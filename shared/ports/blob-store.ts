/**
 * What stages need from Blob Storage. Implemented by adapters/azure-blob-store.ts (the real
 * SDK, against Azure or Azurite); stages never import the SDK.
 */
import type { Readable } from "node:stream";

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
