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
import { linkSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { BlobServiceClient } from "@azure/storage-blob";
import { ffmpegArguments, joinArguments as joinCommandLine } from "../../shared/adapters/ffmpeg/arguments";
import type { FfmpegMediaTool } from "../../shared/adapters/ffmpeg/media-tool";
import { joinArguments, joinLists, playlistArguments, type EncodedSegment, type SegmentPlan } from "../../shared/media/segment-plan";
import { joinProblems, type JoinExpectation } from "../../shared/media/verify-join";
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

export const LONG_JOINS: Readonly<Record<string, LongJoin>> = { local: localJoin };
