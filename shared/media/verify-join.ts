/**
 * Checks of a joined proxy (segment-parallel transcode) before it is published, pure over
 * probes: on top of the single-run proxy's checks (shared/media/verify-output.ts), the
 * duration must equal the source's within one frame (a video frame, or one AAC frame for
 * audio-only), the frames must be exactly the segments' frames (none lost or doubled at a
 * join), and audio and video must end together within one frame (drift accumulated over the
 * boundaries shows at the end). The boundary measurements (flash and beep) are in the tests.
 */
import type { Fmp4Index, Fmp4Track } from "./fmp4-index";
import { trackOf, trackTotals } from "./fmp4-index";
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

/**
 * The probe of a joined fragmented MP4 as the checks need it: what ffprobe says of its head
 * (the moov and first fragment: codecs, picture size, pixel format, rotation), with each
 * stream's duration and frame count taken from the fragment index of the whole file (ffprobe
 * of a fragmented file states neither without reading every fragment header).
 */
export function indexedProbe(head: MediaProbe, index: Fmp4Index): MediaProbe {
  const durations: Record<string, number | undefined> = {};
  const frames: Record<string, number | undefined> = {};
  for (const [type, handler] of [
    ["video", "vide"],
    ["audio", "soun"],
  ] as const) {
    const track = trackOf(index, handler);
    if (track === undefined) continue;
    const totals = trackTotals(index, track.id);
    durations[type] = totals.duration / track.timescale;
    frames[type] = totals.samples;
  }
  const streams = head.streams.map((s) => (s.type === "video" || s.type === "audio" ? { ...s, durationInSeconds: durations[s.type], frames: frames[s.type] } : s));
  const longest = Math.max(0, ...Object.values(durations).filter((d): d is number => d !== undefined));
  return { ...head, streams, durationInSeconds: longest > 0 ? longest : undefined, sizeInBytes: index.totalBytes };
}

/**
 * Checks of the fragment index itself: the tracks the plan promised (one video, one audio,
 * nothing else), every fragment of every track continuing exactly where the previous one
 * ended (tfdt = previous tfdt + its samples' durations, in the track's own clock: a gap or an
 * overlap of a single tick is reported), the first at time zero, every video fragment starting
 * with a sync sample (each playlist entry decodes on its own), no edit list shifting a track.
 */
export function fragmentIndexProblems(index: Fmp4Index, plan: SegmentPlan): string[] {
  const problems: string[] = [];
  const wanted: Array<["video" | "audio", string, boolean]> = [
    ["video", "vide", plan.videoIndex !== undefined],
    ["audio", "soun", plan.audioIndex !== undefined],
  ];
  const checked: Fmp4Track[] = [];
  for (const [name, handler, expected] of wanted) {
    const count = index.tracks.filter((t) => t.handler === handler).length;
    if (expected && count !== 1) problems.push(`expected one ${name} track in the fragmented MP4, found ${count}`);
    if (!expected && count > 0) problems.push(`the plan has no ${name}, but the fragmented MP4 has ${count} ${name} track(s)`);
    const track = trackOf(index, handler);
    if (expected && track !== undefined) checked.push(track);
  }
  const others = index.tracks.filter((t) => t.handler !== "vide" && t.handler !== "soun");
  if (others.length > 0) problems.push(`unexpected track(s) ${others.map((t) => `${t.id} (${t.handler})`).join(", ")} in the fragmented MP4`);
  if (index.fragments.length === 0) problems.push("the fragmented MP4 has no fragments");
  for (const track of checked) {
    const name = track.handler === "vide" ? "video" : "audio";
    if (track.editMediaTime !== undefined && track.editMediaTime !== 0) problems.push(`the ${name} track has an edit list starting at media time ${track.editMediaTime}`);
    let expectedStart = 0;
    let reported = 0;
    let samples = 0;
    index.fragments.forEach((fragment, k) => {
      const run = fragment.tracks.find((t) => t.trackId === track.id);
      if (run === undefined) return;
      samples += run.samples;
      if (run.baseMediaDecodeTime !== expectedStart && reported++ < 5) {
        const gap = run.baseMediaDecodeTime - expectedStart;
        problems.push(
          `${name} fragment ${k + 1} (sequence ${fragment.sequence}) starts at ${(run.baseMediaDecodeTime / track.timescale).toFixed(6)} s, ${gap > 0 ? "after a gap of" : "overlapping by"} ${(Math.abs(gap) / track.timescale).toFixed(6)} s (${Math.abs(gap)} ticks)`,
        );
      }
      if (name === "video" && run.samples > 0 && !run.startsWithSync && reported++ < 5) problems.push(`video fragment ${k + 1} (sequence ${fragment.sequence}) does not start with a keyframe`);
      expectedStart = run.baseMediaDecodeTime + run.duration;
    });
    if (reported > 5) problems.push(`… and ${reported - 5} more ${name} timing problem(s)`);
    if (samples === 0) problems.push(`the ${name} track has no samples`);
  }
  return problems;
}

/** Every problem of a joined fragmented MP4: the index's own ({@link fragmentIndexProblems}) and the join's checks on its probe ({@link joinProblems}). */
export function fragmentedJoinProblems(head: MediaProbe, index: Fmp4Index, plan: SegmentPlan, expected: JoinExpectation): string[] {
  return [...fragmentIndexProblems(index, plan), ...joinProblems(indexedProbe(head, index), plan, expected)];
}
