/**
 * Item 3: upload the clip as a dock does, send its BlobCreated event (as Event Grid would),
 * wait for evidence-ready to be confirmed on the record (required stages hash, transcode,
 * thumbnail). Latency = record.finalEvent.publishedAt − event send. Longest stage = max over
 * the record's stages of finishedAt − startedAt (the stages run concurrently); overhead =
 * latency − longest. Also shown against the transcode stage alone (item 1's median), which adds
 * the CPU contention between the concurrent stages.
 */
import type { PipelineStage } from "../../shared/contracts/messages";
import { median } from "../support/statistics";
import { longest, processRecording, stageDurations, type PipelineTarget } from "./through-pipeline";

export interface LatencyRound {
  latencyMs: number;
  observedMs: number;
  stageMs: Partial<Record<PipelineStage, number>>;
  longestStage: PipelineStage;
  longestMs: number;
  overheadMs: number;
  /** latency − the transcode stage alone (item 1 median). */
  overheadVsAloneMs: number;
}

/** Medians over the rounds, and the rounds. */
export interface LatencyFigures {
  latencyMs: number;
  longestMs: number;
  overheadMs: number;
  overheadVsAloneMs: number;
  rounds: LatencyRound[];
}

export interface MeasureLatencyOptions {
  pipeline: PipelineTarget;
  clip: string;
  rounds: number;
  /** Item 1's median for the transcode stage alone. */
  transcodeStageSeconds: number;
  progress: (line: string) => void;
}

export async function measureLatency(options: MeasureLatencyOptions): Promise<LatencyFigures> {
  const latencyRounds: LatencyRound[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    options.progress(`latency round ${round}/${options.rounds}: upload → evidence-ready`);
    const { record, latencyMs, observedMs } = await processRecording(options.pipeline, options.clip, `clip-${round}.mp4`);
    const stageMs = stageDurations(record);
    const [longestStage, longestMs] = longest(stageMs);
    latencyRounds.push({ latencyMs, observedMs, stageMs, longestStage, longestMs, overheadMs: latencyMs - longestMs, overheadVsAloneMs: latencyMs - options.transcodeStageSeconds * 1000 });
  }
  return {
    latencyMs: median(latencyRounds.map((r) => r.latencyMs)),
    longestMs: median(latencyRounds.map((r) => r.longestMs)),
    overheadMs: median(latencyRounds.map((r) => r.overheadMs)),
    overheadVsAloneMs: median(latencyRounds.map((r) => r.overheadVsAloneMs)),
    rounds: latencyRounds,
  };
}
