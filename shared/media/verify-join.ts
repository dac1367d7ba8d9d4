/**
 * Checks of a joined proxy (segment-parallel transcode) before it is published, pure over
 * probes: on top of the single-run proxy's checks (shared/media/verify-output.ts), the
 * duration must equal the source's within one frame (a video frame, or one AAC frame for
 * audio-only), the frames must be exactly the segments' frames (none lost or doubled at a
 * join), and audio and video must end together within one frame (drift accumulated over the
 * boundaries shows at the end). The boundary measurements (flash and beep) are in the tests.
 */
import type { MediaProbe } from "./probe";
import type { SegmentPlan } from "./segment-plan";
import { AAC_FRAME_SAMPLES } from "./segment-plan";
import { proxyProblems, verificationFailure } from "./verify-output";
import type { ProxyExpectation } from "./transcode-plan";

export interface JoinExpectation extends ProxyExpectation {
  /** Video frames the segments reported (sum); undefined without video. */
  segmentFrames?: number;
  /** Frame rate of the source's video, for the one-frame tolerance. */
  frameRate?: number;
  /** The source's own stream durations (they may differ: the join must keep the difference, not add to it). */
  videoDurationInSeconds?: number;
  audioDurationInSeconds?: number;
  /**
   * How much shorter than stated the source's audio may decode: an AAC source's stated duration
   * can include its encoder delay (2112 samples), which the decoder drops (seen on the M4A fixture:
   * 0.810667 s stated, 0.7667 s decoded).
   */
  audioStatedSlackInSeconds?: number;
}

/** One frame of the joined proxy in seconds: a video frame, else an AAC frame. */
export function frameTolerance(plan: SegmentPlan, expected: JoinExpectation): number {
  if (plan.videoIndex !== undefined && expected.frameRate !== undefined && expected.frameRate > 0) return 1 / expected.frameRate;
  if (plan.audioSampleRate !== undefined) return AAC_FRAME_SAMPLES / plan.audioSampleRate;
  return 0.1;
}

export function joinProblems(output: MediaProbe, plan: SegmentPlan, expected: JoinExpectation): string[] {
  const problems = proxyProblems(output, expected);
  const tolerance = frameTolerance(plan, expected);
  const video = output.streams.find((s) => s.type === "video");
  const audio = output.streams.find((s) => s.type === "audio");
  const sourceOf = { video: expected.videoDurationInSeconds ?? expected.durationInSeconds, audio: expected.audioDurationInSeconds ?? expected.durationInSeconds };
  for (const [name, stream] of [
    ["video", video],
    ["audio", audio],
  ] as const) {
    const source = sourceOf[name];
    if (stream?.durationInSeconds === undefined || source === undefined) continue;
    const slack = name === "audio" ? (expected.audioStatedSlackInSeconds ?? 0) : 0;
    const off = stream.durationInSeconds - source;
    if (off > tolerance + 1e-6 || off < -(tolerance + slack + 1e-6)) {
      problems.push(`the joined ${name} lasts ${stream.durationInSeconds.toFixed(6)} s, the source's ${source.toFixed(6)} s (more than one frame, ${tolerance.toFixed(6)} s, apart)`);
    }
  }
  if (video?.durationInSeconds !== undefined && audio?.durationInSeconds !== undefined && sourceOf.video !== undefined && sourceOf.audio !== undefined) {
    const drift = video.durationInSeconds - audio.durationInSeconds - (sourceOf.video - sourceOf.audio);
    if (drift > tolerance + (expected.audioStatedSlackInSeconds ?? 0) + 1e-6 || drift < -(tolerance + 1e-6))
      problems.push(`audio and video drift ${drift.toFixed(6)} s apart by the end (more than one frame)`);
  }
  if (expected.segmentFrames !== undefined && video?.frames !== undefined && video.frames !== expected.segmentFrames) {
    problems.push(`the joined video has ${video.frames} frames, the segments ${expected.segmentFrames}`);
  }
  return problems;
}

/** Throws OutputVerificationFailed listing every problem. */
export function verifyJoin(output: MediaProbe, plan: SegmentPlan, expected: JoinExpectation, what = "joined proxy"): void {
  const problems = joinProblems(output, plan, expected);
  if (problems.length > 0) throw verificationFailure(what, problems);
}

/** AAC encoder delay as a stated duration may count it (2112 samples), in seconds; 0 for other codecs. */
export function aacStatedSlack(codec: string | undefined, sampleRate: number | undefined): number {
  return codec === "aac" && sampleRate !== undefined && sampleRate > 0 ? 2112 / sampleRate : 0;
}
