/**
 * The joins the long bench can measure, by name (`--join stream,…`). Each gets the finished
 * segments and a working folder; the bench measures the whole `run` the same way whatever it
 * does (wall, child CPU, peak bytes in `workDir`, peak ffmpeg and host RSS) and reports the
 * time per GiB of proxy. `stream` is the production join. (A local join — segments downloaded,
 * a `+faststart` MP4 and an HLS file written beside them — was measured here before it was
 * replaced: docs/benchmarks.md keeps its figures.)
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { BlobServiceClient } from "@azure/storage-blob";
import type { FfmpegMediaTool } from "../../shared/adapters/ffmpeg/media-tool";
import type { EncodedSegment, SegmentPlan } from "../../shared/media/segment-plan";
import type { JoinExpectation } from "../../shared/media/verify-join";
import { AzureBlobStore } from "../../shared/adapters/azure-blob-store";
import { DERIVED_CONTAINER } from "../../shared/ports/blob-store";
import { joinSegmentsToBlob, type JoinSegment } from "../../shared/stages/segment-join";
import { measure, type RunFigures } from "./measure";

export interface JoinContext {
  tool: FfmpegMediaTool;
  plan: SegmentPlan;
  /** The finished segments, their files named relative to storeDir. */
  segments: EncodedSegment[];
  /** Where the segment runs left their files (the stand-in for Blob Storage). */
  storeDir: string;
  /** The join run's own local folder (its bytes are the join's disk figure). */
  workDir: string;
  /** What the verification compares the joined proxy with. */
  expected: JoinExpectation;
  /** Video frames each segment's encode wrote, by index (the streamed join checks their sum). */
  segmentFrames?: Record<number, number>;
  /** An Azurite blob service, started on first use. */
  blobStorage(): Promise<BlobServiceClient>;
}

export interface JoinOutcome {
  /** The progressive MP4 (the proxy whose bytes the per-GiB figure divides by). */
  proxyBytes: number;
  /** The HLS playlist and its media. */
  playlistBytes: number;
  /** Problems the join verification found (empty: verified). */
  problems: string[];
  /** The join's steps, each measured on its own. */
  steps: Array<{ name: string; figures: RunFigures }>;
}

export interface LongJoin {
  name: string;
  description: string;
  run(context: JoinContext): Promise<JoinOutcome>;
}

/**
 * The production join (shared/stages/segment-join.ts): the segments uploaded to Blob Storage
 * (Azurite here; the upload is not measured), then read once to check their digests and once by
 * ffmpeg through read URLs, joined into one fragmented MP4 streamed into Blob Storage, the HLS
 * playlist written from its index. `workDir` is its parent folder: the disk figure is what it
 * keeps locally.
 */
const streamJoin: LongJoin = {
  name: "stream",
  description: "segments in Blob Storage → digests checked → concat over read URLs → fragmented MP4 streamed to Blob Storage + HLS playlist (no local copy)",
  async run(context) {
    const { plan, workDir } = context;
    mkdirSync(workDir, { recursive: true });
    const service = await context.blobStorage();
    const derived = service.getContainerClient(DERIVED_CONTAINER);
    await derived.createIfNotExists();
    const evidenceId = `ev-${createHash("md5").update(`${workDir}-${Date.now()}`).digest("hex")}`;
    const segments: JoinSegment[] = [];
    let frames = 0;
    for (const segment of context.segments) {
      const entry: JoinSegment = { index: segment.index, audioPreRollInSeconds: segment.audioPreRollInSeconds, lengthInSeconds: segment.lengthInSeconds };
      for (const [kind, file] of [
        ["video", segment.videoFile],
        ["audio", segment.audioFile],
      ] as const) {
        if (file === undefined) continue;
        const bytes = readFileSync(path.join(context.storeDir, file));
        const name = `${evidenceId}/transcode/${path.basename(file)}`;
        await derived.getBlockBlobClient(name).uploadData(bytes);
        entry[kind] = { blob: { container: DERIVED_CONTAINER, name }, sha256: createHash("sha256").update(bytes).digest("hex") };
      }
      const segmentFrames = context.segmentFrames?.[segment.index];
      if (segmentFrames !== undefined) {
        entry.frames = segmentFrames;
        frames += segmentFrames;
      }
      segments.push(entry);
    }
    const { segmentFrames: _frames, ...expected } = context.expected;
    let problems: string[] = [];
    let proxyBytes = 0;
    let playlistBytes = 0;
    const steps: JoinOutcome["steps"] = [];
    const { figures } = await measure(
      async () => {
        try {
          const result = await joinSegmentsToBlob({ blobs: new AzureBlobStore(service), media: context.tool }, { plan, segments, expected, target: { evidenceId } }, { tempDir: workDir });
          proxyBytes = result.figures.proxyBytes;
          playlistBytes = result.figures.playlistBytes;
        } catch (error) {
          problems = [error instanceof Error ? error.message : String(error)];
        }
      },
      { dir: workDir },
    );
    steps.push({ name: `digests + join + upload (${frames} frames)`, figures });
    return { proxyBytes, playlistBytes, problems, steps };
  },
};

export const LONG_JOINS: Readonly<Record<string, LongJoin>> = { stream: streamJoin };
