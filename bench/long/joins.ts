/**
 * The joins the long bench can measure, by name (`--join local,…`). Each gets the finished
 * segments and a working folder; the bench measures the whole `run` the same way whatever it
 * does (wall, child CPU, peak bytes in `workDir`, peak ffmpeg and host RSS) and reports the
 * time per GiB of proxy.
 *
 * `local` is the join as built today (docs/decisions/0007): the segments on local disk (here
 * hard links to the finished files — the download, free), two concat scripts → the progressive
 * MP4 by stream copy → the HLS playlist over one fMP4 file, then the verification probe.
 *
 * A join that streams to Blob Storage is added as another entry of {@link LONG_JOINS}: it reads
 * the segments from `context.storeDir` (or uploads them to `await context.blobStorage()`, an
 * Azurite started on first use and shared with the thumbnail runs), writes its outputs there,
 * and keeps `workDir` for whatever it still needs locally — the disk figure then shows what it
 * saves. It returns the proxy's bytes so the per-GiB figure is comparable.
 */
import { createHash } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { BlobServiceClient } from "@azure/storage-blob";
import { ffmpegArguments, joinArguments as joinCommandLine } from "../../shared/adapters/ffmpeg/arguments";
import type { FfmpegMediaTool } from "../../shared/adapters/ffmpeg/media-tool";
import { joinArguments, joinLists, playlistArguments, type EncodedSegment, type SegmentPlan } from "../../shared/media/segment-plan";
import { joinProblems, type JoinExpectation } from "../../shared/media/verify-join";
import { AzureBlobStore } from "../../shared/adapters/azure-blob-store";
import { DERIVED_CONTAINER } from "../../shared/ports/blob-store";
import { joinSegmentsToBlob, type JoinSegment } from "../../shared/stages/segment-join";
import { directoryBytes, measure, runProcess, type RunFigures } from "./measure";

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
  hlsSegmentSeconds: number;
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

const MINUTES = 60_000;

const localJoin: LongJoin = {
  name: "local",
  description: "segments on local disk → concat → MP4 (stream copy, +faststart) → HLS fMP4 (stream copy) → verification probe",
  async run(context) {
    const { tool, plan, workDir } = context;
    const ffmpeg = tool.binaries.ffmpeg.path;
    mkdirSync(workDir, { recursive: true });
    const steps: JoinOutcome["steps"] = [];
    const step = async (name: string, work: () => Promise<void>): Promise<void> => {
      const { figures } = await measure(work, { dir: workDir });
      steps.push({ name, figures });
    };
    await step("download segments (hard links)", () => {
      for (const segment of context.segments) {
        for (const file of [segment.videoFile, segment.audioFile]) if (file !== undefined) linkSync(path.join(context.storeDir, file), path.join(workDir, file));
      }
      return Promise.resolve();
    });
    const inputs: Array<{ kind: "concat"; path: string }> = [];
    const lists = joinLists(plan, context.segments);
    for (const kind of ["video", "audio"] as const) {
      const text = lists[kind];
      if (text === undefined) continue;
      const listPath = path.join(workDir, `${kind}.ffconcat`);
      writeFileSync(listPath, text);
      inputs.push({ kind: "concat", path: listPath });
    }
    const mp4 = path.join(workDir, "proxy.mp4");
    const playlist = path.join(workDir, "proxy.m3u8");
    await step("concat → MP4", () => runProcess(ffmpeg, joinCommandLine(inputs, joinArguments(plan, { mp4Path: mp4 })).arguments));
    await step("MP4 → HLS", () =>
      runProcess(ffmpeg, ffmpegArguments({ kind: "file", path: mp4 }, playlistArguments(plan, { playlistPath: playlist, hlsSegmentSeconds: context.hlsSegmentSeconds })).arguments),
    );
    let problems: string[] = [];
    await step("verification probe", async () => {
      const probe = await tool.probe({ kind: "file", path: mp4 }, { timeoutInMs: 10 * MINUTES });
      problems = joinProblems(probe, plan, context.expected);
    });
    const proxyBytes = statSync(mp4).size;
    return { proxyBytes, playlistBytes: directoryBytes(workDir) - proxyBytes - segmentBytes(context), problems, steps };
  },
};

function segmentBytes(context: JoinContext): number {
  let total = 0;
  for (const segment of context.segments) for (const file of [segment.videoFile, segment.audioFile]) if (file !== undefined) total += statSync(path.join(context.storeDir, file)).size;
  return total;
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

export const LONG_JOINS: Readonly<Record<string, LongJoin>> = { local: localJoin, stream: streamJoin };
