/**
 * The thumbnail stage as the length benches run it: `thumbnailOriginal` called directly against
 * Azurite, reading the original through a read URL as in Azure.
 */
import type { BlobServiceClient } from "@azure/storage-blob";
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import * as path from "node:path";
import type { FfmpegMediaTool } from "../../shared/adapters/ffmpeg/media-tool";
import type { AzureBlobStore } from "../../shared/adapters/azure-blob-store";
import type { EvidenceReceivedMessage } from "../../shared/contracts/messages";
import { thumbnailOriginal } from "../../shared/stages/thumbnail-stage";
import { benchContext, message } from "./stage-inputs";

/** Uploads `file` to `originals` as `bench/<name>` and returns the evidence-received message for it. */
export async function uploadOriginal(service: BlobServiceClient, file: string): Promise<EvidenceReceivedMessage> {
  const name = `bench/${path.basename(file)}`;
  const blob = service.getContainerClient("originals").getBlockBlobClient(name);
  // Big blocks: Azurite leaks the extent file handles of a read the client leaves early
  // (Azure/Azurite#2804) — every seek does — about one per block still ahead; with small
  // blocks a 2-hour file exhausts the process's descriptors within a few dozen opens (500s).
  await blob.uploadFile(file, { blockSize: 256 * 1024 * 1024, concurrency: 2 });
  const properties = await blob.getProperties();
  return message(service, "originals", name, properties.etag!.replace(/"/g, ""), statSync(file).size, `ev-${createHash("md5").update(name).digest("hex")}`);
}

export interface ThumbnailRun {
  seconds: number;
  durationInSeconds: number;
  thumbnails: number;
  sheets: number;
  /** ffmpeg runs of the stage, the probe not counted. */
  ffmpegRuns: number;
  /** How the frames were reached: one run over an excerpt of the MP4, or input-side seeks. */
  path: "excerpt" | "seeks";
  /** Excerpt only: the samples (frames) copied and decoded, and their bytes — the work, which depends on where the times fall in their groups of pictures. */
  excerptSamples?: number;
  excerptBytes?: number;
}

/** One run of the thumbnail stage; a failure is logged with ffmpeg's stderr tail and rethrown. */
export async function thumbnailsOnce(input: EvidenceReceivedMessage, store: AzureBlobStore, tool: FfmpegMediaTool, log: (line: string) => void): Promise<ThumbnailRun> {
  const started = performance.now();
  let result: Awaited<ReturnType<typeof thumbnailOriginal>>;
  try {
    result = await thumbnailOriginal(input, { blobs: store, media: tool }, benchContext());
  } catch (error) {
    const cause = (error as { cause?: { stderrTail?: string } }).cause;
    log(`failed: ${error instanceof Error ? error.message : String(error)}\n${cause?.stderrTail ?? ""}`);
    throw error;
  }
  const seconds = (performance.now() - started) / 1000;
  const renditions = result.renditions ?? [];
  const runs = result.provenance?.runs ?? [];
  const excerpt = runs.find((r) => r.purpose === "excerpt");
  const [, samples, bytes] = /^(\d+) samples, (\d+) bytes$/.exec(excerpt?.arguments[2] ?? "") ?? [];
  return {
    seconds,
    durationInSeconds: result.media?.durationInSeconds ?? 0,
    thumbnails: renditions.filter((r) => r.kind === "thumbnail").length,
    sheets: renditions.filter((r) => r.kind === "sprite").length,
    ffmpegRuns: runs.filter((r) => r.purpose !== "probe" && r.purpose !== "excerpt").length,
    path: excerpt === undefined ? "seeks" : "excerpt",
    ...(samples === undefined ? {} : { excerptSamples: Number(samples), excerptBytes: Number(bytes) }),
  };
}
