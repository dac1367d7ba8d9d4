/**
 * Item 1: `transcodeOriginal` called directly (probe → plan → ffmpeg → verify → ETag check →
 * upload) vs. bare `ffmpeg` spawned with the exact argv the stage recorded in its provenance,
 * with the same kind of input: a fresh read-only SAS URL to the same blob in the same Azurite
 * (the recorded argv has the SAS redacted), and its own output path. Rounds alternate the order.
 * A bare run on the local file (same argv, `file:` input and protocol) is shown for information.
 */
import * as path from "node:path";
import type { RunningStack } from "../../local/stack";
import type { FfmpegMediaTool } from "../../shared/adapters/ffmpeg/media-tool";
import type { EvidenceReceivedMessage, MediaToolRun } from "../../shared/contracts/messages";
import { transcodeOriginal } from "../../shared/stages/transcode-stage";
import { median, timed } from "../support/statistics";
import { bareArgv, checkOutput, runBare } from "./bare-ffmpeg";
import { benchContext } from "./stage-inputs";

export interface TranscodeRound {
  stageSeconds: number;
  /** The stage's own ffmpeg run (provenance start → end). */
  stageFfmpegSeconds: number;
  bareUrlSeconds: number;
  bareFileSeconds: number;
}

/** Medians over the rounds, and the rounds. */
export interface TranscodeFigures {
  stageSeconds: number;
  stageFfmpegSeconds: number;
  bareUrlSeconds: number;
  bareFileSeconds: number;
  ratio: number;
  ratioFfmpegRun: number;
  argv: string[];
  rounds: TranscodeRound[];
}

export interface MeasureTranscodeOptions {
  /** The clip on local disk, and its message (the same bytes in the bench container). */
  clip: string;
  clipMessage: EvidenceReceivedMessage;
  services: NonNullable<RunningStack["services"]>;
  tool: FfmpegMediaTool;
  /** Where bare ffmpeg writes its output. */
  work: string;
  rounds: number;
  progress: (line: string) => void;
}

export async function measureTranscode(options: MeasureTranscodeOptions): Promise<TranscodeFigures> {
  const { clip, clipMessage, services, tool, work, progress } = options;
  const ffmpegPath = tool.binaries.ffmpeg.path;
  const { container, name, etag } = clipMessage.original;
  const transcodeRounds: TranscodeRound[] = [];
  let recordedArgv: string[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 1 ? ["bare", "stage"] : ["stage", "bare"];
    const figures: Partial<TranscodeRound> = {};
    for (const which of order) {
      if (which === "stage") {
        progress(`transcode round ${round}/${options.rounds}: stage`);
        let run: MediaToolRun | undefined;
        figures.stageSeconds = await timed(async () => {
          const result = await transcodeOriginal(clipMessage, { blobs: services.blobs, media: tool }, benchContext(), {});
          if (result.outcome !== "succeeded") throw new Error(`transcode stage: ${result.outcome}`);
          run = result.provenance?.runs.find((r) => r.purpose === "transcode");
        });
        if (run === undefined) throw new Error("the transcode stage recorded no transcode run");
        recordedArgv = run.arguments;
        figures.stageFfmpegSeconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
      } else {
        if (recordedArgv.length === 0) {
          // The first round starts bare: take the argv from a stage run that is not measured.
          progress("transcode: one unmeasured stage run to record the argv (also warms fluent-ffmpeg's caches)");
          const warm = await transcodeOriginal(clipMessage, { blobs: services.blobs, media: tool }, benchContext(), {});
          recordedArgv = warm.provenance?.runs.find((r) => r.purpose === "transcode")?.arguments ?? [];
          if (recordedArgv.length === 0) throw new Error("the transcode stage recorded no transcode run");
        }
        progress(`transcode round ${round}/${options.rounds}: bare ffmpeg (SAS URL)`);
        const url = await services.blobs.readUrl({ container, name, etag }, 30 * 60_000);
        const output = path.join(work, "bare-proxy.mp4");
        figures.bareUrlSeconds = await timed(() => runBare(ffmpegPath, bareArgv(recordedArgv, { kind: "url", url }, output)));
        checkOutput(output);
        progress(`transcode round ${round}/${options.rounds}: bare ffmpeg (local file, information)`);
        figures.bareFileSeconds = await timed(() => runBare(ffmpegPath, bareArgv(recordedArgv, { kind: "file", path: clip }, output)));
        checkOutput(output);
      }
    }
    transcodeRounds.push(figures as TranscodeRound);
  }
  return {
    stageSeconds: median(transcodeRounds.map((r) => r.stageSeconds)),
    stageFfmpegSeconds: median(transcodeRounds.map((r) => r.stageFfmpegSeconds)),
    bareUrlSeconds: median(transcodeRounds.map((r) => r.bareUrlSeconds)),
    bareFileSeconds: median(transcodeRounds.map((r) => r.bareFileSeconds)),
    ratio: median(transcodeRounds.map((r) => r.stageSeconds / r.bareUrlSeconds)),
    ratioFfmpegRun: median(transcodeRounds.map((r) => r.stageFfmpegSeconds / r.bareUrlSeconds)),
    argv: recordedArgv,
    rounds: transcodeRounds,
  };
}
