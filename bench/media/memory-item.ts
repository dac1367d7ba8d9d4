/**
 * Item 4: process.memoryUsage().rss sampled every 100 ms in this process (the one running the
 * stack and its functions) while a big recording is uploaded (the dock's work, in this process
 * too) and then processed to evidence-ready; children's VmHWM (peak RSS) from /proc/<pid>/status
 * on every sample (ffmpeg, ffprobe, Azurite).
 */
import * as path from "node:path";
import { statSync } from "node:fs";
import type { FfmpegMediaTool } from "../../shared/adapters/ffmpeg/media-tool";
import type { PipelineStage } from "../../shared/contracts/messages";
import { collectGarbage, peakRssMiB, RssSampler, type ChildPeak } from "../support/memory";
import { mib, toMiB } from "../support/sizes";
import { timed } from "../support/statistics";
import { generateBig } from "./generated-media";
import { processRecording, stageDurations, type PipelineTarget } from "./through-pipeline";

export const RSS_SAMPLE_INTERVAL_MS = 100;

export interface MemoryFigures {
  bytes: number;
  videoSeconds: number | undefined;
  generateSeconds: number;
  uploadSeconds: number;
  processSeconds: number;
  baselineRssMiB: number;
  uploadPeakRssMiB: number;
  processingPeakRssMiB: number;
  processingPeakRiseMiB: number;
  lifetimeMaxRssMiB: number;
  samples: number;
  children: ChildPeak[];
  stageMs: Partial<Record<PipelineStage, number>>;
}

export interface MeasureMemoryOptions {
  pipeline: PipelineTarget;
  tool: FfmpegMediaTool;
  /** Where the big recording is generated. */
  work: string;
  /** Its size. */
  bytes: number;
  progress: (line: string) => void;
}

/** The figures, the big recording's path, and what processing it left (for the hash item on it). */
export async function measureMemory(options: MeasureMemoryOptions): Promise<{ memory: MemoryFigures; big: string; processed: Awaited<ReturnType<typeof processRecording>> }> {
  const { tool, progress } = options;
  const big = path.join(options.work, "big.mov");
  progress(`generate: ${mib(options.bytes)} MiB recording → ${big}`);
  const generateSeconds = await timed(() => generateBig(tool.binaries.ffmpeg.path, big, options.bytes));
  const bigBytes = statSync(big).size;
  const probe = await tool.probe({ kind: "file", path: big }, { timeoutInMs: 60_000 });
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const sampler = new RssSampler<"upload" | "processing">({ intervalInMs: RSS_SAMPLE_INTERVAL_MS, phase: "upload", children: true });
  sampler.start();
  let uploadSeconds = 0;
  let processSeconds: number;
  let processed: Awaited<ReturnType<typeof processRecording>>;
  try {
    progress(`memory: upload ${mib(bigBytes)} MiB as a dock does, then process it to evidence-ready`);
    processed = await processRecording(options.pipeline, big, "big.mov", {
      afterUpload: (seconds) => {
        uploadSeconds = seconds;
        sampler.phase = "processing";
      },
      timeoutInMs: 20 * 60_000,
    });
    processSeconds = processed.latencyMs / 1000;
  } finally {
    sampler.stop();
  }
  const baseline = sampler.baseline;
  const processingPeak = sampler.peak((s) => s.phase === "processing");
  const memory: MemoryFigures = {
    bytes: bigBytes,
    videoSeconds: probe.durationInSeconds,
    generateSeconds,
    uploadSeconds,
    processSeconds,
    baselineRssMiB: toMiB(baseline),
    uploadPeakRssMiB: toMiB(sampler.peak((s) => s.phase === "upload")),
    processingPeakRssMiB: toMiB(processingPeak),
    processingPeakRiseMiB: toMiB(processingPeak - baseline),
    lifetimeMaxRssMiB: peakRssMiB(),
    samples: sampler.samples.length,
    children: sampler.children(),
    stageMs: stageDurations(processed.record),
  };
  return { memory, big, processed };
}
