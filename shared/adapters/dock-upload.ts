/**
 * Uploading a recording the way a docking station does: the device's SHA-256 is computed
 * first (streamed) and sent as metadata with the officer, device and capture time; the file
 * goes up as parallel blocks committed in one PutBlockList, so the blob appears whole or not
 * at all and Event Grid announces it once.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { ContainerClient } from "@azure/storage-blob";
import { CustodyError } from "../errors";
import type { ConnectionAuth } from "../settings";
import { encodeMetadata } from "./blob-metadata";
import { blobServiceClientFor } from "./factories";

export interface DockUploadOptions {
  officerId: string;
  deviceId: string;
  /** ISO 8601 with offset; default: the file's modification time. */
  recordedAt?: string;
  /** Unit or borough (metadata `unit`); omitted when not given. */
  unit?: string;
  /** Blob name; default: `<officerId>/<deviceId>/<basename>`. */
  blobName?: string;
  /** Extra metadata (tests use it to send deliberately bad values). */
  extraMetadata?: Record<string, string>;
  /** Leave out the device hash (cameras that do not compute one). */
  omitDeviceHash?: boolean;
  concurrency?: number;
  onProgress?: (loadedBytes: number) => void;
  abortSignal?: AbortSignal;
}

export interface DockUploadResult {
  blobName: string;
  etag: string;
  versionId?: string;
  /** Commit time (the BlobCreated event's time). */
  lastModified?: Date;
  size: number;
  sha256: string;
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** A dock uploading into one container of the storage account the settings name (`custody upload`, `custody process`). */
export function openDock(storage: ConnectionAuth, containerName: string): (file: string, options: DockUploadOptions) => Promise<DockUploadResult> {
  const container = blobServiceClientFor(storage).getContainerClient(containerName);
  return (file, options) => uploadRecording(container, file, options);
}

export async function uploadRecording(container: ContainerClient, file: string, options: DockUploadOptions): Promise<DockUploadResult> {
  const info = await stat(file);
  const sha256 = await sha256OfFile(file);
  const baseName = file.split(/[\\/]/).pop() ?? file;
  const blobName = options.blobName ?? `${options.officerId}/${options.deviceId}/${baseName}`;
  const metadata: Record<string, string> = {
    officerid: options.officerId,
    deviceid: options.deviceId,
    recordedat: options.recordedAt ?? info.mtime.toISOString(),
    ...(options.omitDeviceHash ? {} : { sha256 }),
    ...(options.unit === undefined ? {} : { unit: options.unit }),
    ...options.extraMetadata,
  };
  const blob = container.getBlockBlobClient(blobName);
  const response = await blob.uploadFile(file, {
    blockSize: 8 * 1024 * 1024,
    concurrency: options.concurrency ?? 4,
    metadata: encodeMetadata(metadata),
    blobHTTPHeaders: { blobContentType: contentTypeFor(baseName) },
    onProgress: (progress) => options.onProgress?.(progress.loadedBytes),
    abortSignal: options.abortSignal,
  });
  // The evidence id is derived from the ETag: an upload without one cannot be evidence.
  if (response.etag === undefined) throw new CustodyError("Internal", `the upload of ${blobName} returned no ETag`);
  return { blobName, etag: response.etag, versionId: response.versionId, lastModified: response.lastModified, size: info.size, sha256 };
}

const CONTENT_TYPES: Record<string, string> = {
  mp4: "video/mp4",
  m4v: "video/mp4",
  mov: "video/quicktime",
  mkv: "video/x-matroska",
  ts: "video/mp2t",
  avi: "video/x-msvideo",
  m4a: "audio/mp4",
  mp3: "audio/mpeg",
  wav: "audio/wav",
};

function contentTypeFor(name: string): string {
  const extension = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return (extension && CONTENT_TYPES[extension]) ?? "application/octet-stream";
}
