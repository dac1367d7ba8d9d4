/**
 * Segment-parallel transcoding, the pure part: time ranges of a recording (segments), the
 * arguments of one segment's encode, and the concat lists of the join. No I/O.
 *
 * How a recording is cut, and why (measured with the bundled 2018 ffmpeg; docs/decisions/0007):
 *
 * - **Nominal times, not keyframes.** Every segment is re-encoded, so a cut need not fall on a
 *   source keyframe: input seeking (`-ss` before `-i`) starts decoding at the keyframe before
 *   the cut and drops the frames before it (ffmpeg's accurate seek). The cost is at most one
 *   source GOP of extra decoding per segment; listing keyframes first would cost a read of
 *   the whole recording's packets (a full pass over a 10-hour file).
 * - **Boundaries on the AAC frame grid** (multiples of 1024 samples at the proxy's sample
 *   rate). Each segment's audio is encoded with a pre-roll and a post-roll of
 *   {@link AUDIO_ROLL_FRAMES} AAC frames of real signal around its range; the join keeps only
 *   the packets inside the range (concat `inpoint`/`outpoint`, stream copy). Because every
 *   segment's packets sit on the same grid of the same signal, the decoder's overlap-add
 *   across a boundary sees two encodings of the same samples: no encoder priming, no gap, no
 *   click at the joins, and no drift however many segments there are.
 * - **Video frames are partitioned by time**: a segment keeps the frames whose time is in
 *   [start, end) (`trim` on the decoded frames), with times relative to the segment's start on
 *   a 90 kHz clock, and every source frame (`-vsync vfr`: nothing duplicated or dropped for
 *   VFR sources); the join places each segment at its start (concat `inpoint 0` + `duration`).
 * - **Short tails are merged**: a last segment shorter than half the target joins the one
 *   before, and a recording shorter than 1.5 targets is one segment.
 */
import { MAX_SEGMENTS_PER_PLAN } from "../contracts/messages";
import { CustodyError } from "../errors";
import type { MediaProbe, MediaStreamInfo } from "./probe";
import { assertPlausible } from "./plausible-media";
import { AAC_SAMPLE_RATES, capFilter, describeStreams, sdrFilters, sourceDuration } from "./transcode-plan";

/** Samples in one AAC-LC frame. */
export const AAC_FRAME_SAMPLES = 1024;
/** AAC frames of real signal encoded before and after each segment's range (then dropped at the join). */
export const AUDIO_ROLL_FRAMES = 2;
/**
 * Default segment length. A minute of 720p proxy is ~15–30 MB (disk per run far below 256 MB),
 * about a minute of CPU per run on a 2-vCPU instance, and a 10-hour recording is 600 runs —
 * enough to keep 50 instances busy. The extra decode of one source GOP (1–2 s for cameras) per
 * cut is a few per cent of a minute.
 */
export const DEFAULT_SEGMENT_SECONDS = 60;

/**
 * The segment length a recording is planned with: the configured one (CUSTODY_SEGMENT_SECONDS),
 * lengthened for a recording so long that it would need more than {@link MAX_SEGMENTS_PER_PLAN}
 * segments (bounds the messages and the record). The margin of one AAC frame at the lowest AAC
 * rate (7350 Hz) covers the rounding of the length to the AAC grid, so the plan never has more.
 */
export function segmentTargetSeconds(durationInSeconds: number | undefined, configuredSeconds: number): number {
  if (durationInSeconds === undefined || !Number.isFinite(durationInSeconds) || durationInSeconds <= 0) return configuredSeconds;
  return Math.max(configuredSeconds, durationInSeconds / MAX_SEGMENTS_PER_PLAN + AAC_FRAME_SAMPLES / LOWEST_AAC_SAMPLE_RATE);
}

const LOWEST_AAC_SAMPLE_RATE = 7350;

export interface SegmentPlanOptions {
  /** Target length of a segment in seconds (the last one may be up to 1.5× this). */
  targetSeconds: number;
}

export interface SegmentRange {
  index: number;
  /** Recording time (0 = the start of the recording), whole microseconds. */
  startInMicroseconds: number;
  /** Exclusive; undefined: until the end of the recording (its duration is unknown). */
  endInMicroseconds?: number;
}

export interface SegmentPlan {
  kind: "video" | "audio";
  videoIndex?: number;
  audioIndex?: number;
  /** Sample rate of the proxy's audio (the grid boundaries sit on); undefined without audio. */
  audioSampleRate?: number;
  durationInSeconds?: number;
  segments: SegmentRange[];
}

export function planSegments(probe: MediaProbe, options: SegmentPlanOptions): SegmentPlan {
  if (!(options.targetSeconds > 0) || !Number.isFinite(options.targetSeconds)) {
    throw new CustodyError("InvalidConfiguration", `the segment length must be a positive number of seconds, not ${options.targetSeconds}`);
  }
  const video = streamAt(probe, probe.primaryVideoIndex);
  const audio = streamAt(probe, probe.primaryAudioIndex);
  if (video === undefined && audio === undefined) {
    throw new CustodyError("UnsupportedMedia", `No decodable video or audio stream in ${describeStreams(probe)}: nothing to transcode.`);
  }
  assertPlausible(probe, [video, audio]);
  const audioSampleRate = audio === undefined ? undefined : proxySampleRate(audio);
  const durationInSeconds = sourceDuration(probe, [video, audio]);
  const base = { kind: video === undefined ? ("audio" as const) : ("video" as const), videoIndex: video?.index, audioIndex: audio?.index, audioSampleRate, durationInSeconds };
  if (durationInSeconds === undefined) return { ...base, segments: [{ index: 0, startInMicroseconds: 0 }] };

  const total = Math.round(durationInSeconds * 1e6);
  // One segment's length: a whole number of AAC frames when there is audio.
  const grid = audioSampleRate === undefined ? undefined : { rate: audioSampleRate, frames: Math.max(1, Math.round((options.targetSeconds * audioSampleRate) / AAC_FRAME_SAMPLES)) };
  const boundary = (k: number) => (grid === undefined ? Math.round(k * options.targetSeconds * 1e6) : Math.round((k * grid.frames * AAC_FRAME_SAMPLES * 1e6) / grid.rate));
  const length = boundary(1);
  const count = Math.max(1, Math.floor((total + length / 2) / length));
  const segments: SegmentRange[] = [];
  for (let k = 0; k < count; k++) segments.push({ index: k, startInMicroseconds: boundary(k), endInMicroseconds: k === count - 1 ? total : boundary(k + 1) });
  return { ...base, segments };
}

export interface SegmentEncodeOptions {
  maxSide: number;
  /** Local file for the segment's video (MP4); used when the plan has video. */
  videoOutputPath: string;
  /** Local file for the segment's audio (MP4/AAC); used when the plan has audio. */
  audioOutputPath: string;
}

export interface SegmentEncodePlan {
  /** Input seeking: where ffmpeg starts reading (before the pre-roll) and how much it reads. */
  seek: { startInSeconds: number; durationInSeconds?: number };
  /** The ffmpeg output arguments (after `-i`): one output per stream kind. */
  arguments: string[];
  /** Seconds of audio before the segment's start in the audio output (dropped at the join). */
  audioPreRollInSeconds: number;
  /** The segment's length in seconds (undefined: to the end). */
  lengthInSeconds?: number;
}

/** The arguments of one segment's encode: the proxy's filters and codecs, cut to the segment's range. */
export function planSegmentEncode(probe: MediaProbe, plan: SegmentPlan, segment: SegmentRange, options: SegmentEncodeOptions): SegmentEncodePlan {
  const video = streamAt(probe, plan.videoIndex);
  const audio = streamAt(probe, plan.audioIndex);
  const roll = plan.audioSampleRate === undefined ? 0 : Math.round((AUDIO_ROLL_FRAMES * AAC_FRAME_SAMPLES * 1e6) / plan.audioSampleRate);
  const readFrom = Math.max(0, segment.startInMicroseconds - roll);
  const pre = segment.startInMicroseconds - readFrom;
  const length = segment.endInMicroseconds === undefined ? undefined : segment.endInMicroseconds - segment.startInMicroseconds;
  const args: string[] = [];
  if (video !== undefined) {
    const trim = length === undefined ? `trim=start=${seconds(pre)}` : `trim=start=${seconds(pre)}:end=${seconds(pre + length)}`;
    // Frame times stay relative to the segment's start (not to its first frame), on a 90 kHz clock:
    // a VFR segment's first frame keeps its offset (the encoder's default clock, 1/frame rate, rounds it away).
    const filters = [trim, `setpts=PTS-${seconds(pre)}/TB`, capFilter(options.maxSide), "setsar=1", ...sdrFilters(video)];
    args.push("-map", `0:${video.index}`, "-an", "-dn", "-sn", "-map_metadata", "-1", "-map_chapters", "-1", "-vf", filters.join(","), "-vsync", "vfr");
    args.push("-enc_time_base", "1:90000", "-video_track_timescale", "90000");
    // No B-frames: the bundled HLS fMP4 muxer moves VFR frames with B-frames a frame early after
    // each fragment boundary (measured on a plain VFR file, no segments involved); costs ~13 % bytes.
    args.push("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-bf", "0", "-pix_fmt", "yuv420p");
    args.push("-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709");
    args.push("-max_muxing_queue_size", "4096", "-f", "mp4", options.videoOutputPath);
  }
  if (audio !== undefined) {
    args.push("-map", `0:${audio.index}`, "-vn", "-dn", "-sn", "-map_metadata", "-1", "-map_chapters", "-1");
    if (length !== undefined) args.push("-t", seconds(pre + length + roll));
    args.push("-c:a", "aac", "-b:a", "128k");
    if ((audio.channels ?? 2) > 2) args.push("-ac", "2");
    if (plan.audioSampleRate !== audio.sampleRate) args.push("-ar", String(plan.audioSampleRate));
    args.push("-max_muxing_queue_size", "4096", "-f", "mp4", options.audioOutputPath);
  }
  return {
    seek: { startInSeconds: readFrom / 1e6, ...(length === undefined ? {} : { durationInSeconds: (pre + length + roll) / 1e6 }) },
    arguments: args,
    audioPreRollInSeconds: pre / 1e6,
    lengthInSeconds: length === undefined ? undefined : length / 1e6,
  };
}

/** One encoded segment as the join needs it: its local files (names relative to the lists' folder). */
export interface EncodedSegment {
  index: number;
  videoFile?: string;
  audioFile?: string;
  audioPreRollInSeconds: number;
  lengthInSeconds?: number;
}

export interface JoinLists {
  /** ffconcat script over the video files (frames back to back). */
  video?: string;
  /** ffconcat script over the audio files, each cut to its segment's range. */
  audio?: string;
}

export interface JoinListOptions {
  /**
   * `plain` (default): the files are plain names next to the scripts (the concat demuxer runs
   * with `-safe 1`). `url`: they are the segments' short-lived http(s) read URLs (a join that
   * reads the segments where they are stored).
   */
  names?: "plain" | "url";
}

/**
 * The concat scripts of the join; segments must be complete (every one of the plan, once).
 */
export function joinLists(plan: SegmentPlan, segments: EncodedSegment[], options: JoinListOptions = {}): JoinLists {
  const quoted = options.names === "url" ? quotedUrl : quotedName;
  const ordered = [...segments].sort((a, b) => a.index - b.index);
  const missing = plan.segments.filter((s) => !ordered.some((e) => e.index === s.index)).map((s) => s.index);
  if (missing.length > 0 || ordered.length !== plan.segments.length) {
    throw new CustodyError("Internal", `cannot join: segment(s) ${missing.join(", ") || "(duplicates)"} missing of ${plan.segments.length}`, { retryable: false });
  }
  const lists: JoinLists = {};
  if (plan.videoIndex !== undefined) {
    // `inpoint 0` keeps the offset of a segment's first frame from its start; `duration` places the next segment at its start.
    lists.video =
      header() +
      ordered
        .map((s, i) => {
          const lines = [`file ${quoted(required(s.videoFile, s.index, "video"))}`, "inpoint 0.000000"];
          if (s.lengthInSeconds !== undefined && i < ordered.length - 1) lines.push(`duration ${seconds(Math.round(s.lengthInSeconds * 1e6))}`);
          return lines.join("\n") + "\n";
        })
        .join("");
  }
  if (plan.audioIndex !== undefined) {
    const halfFrame = Math.round((AAC_FRAME_SAMPLES * 1e6) / 2 / (plan.audioSampleRate ?? 48000));
    lists.audio =
      header() +
      ordered
        .map((s, i) => {
          const lines = [`file ${quoted(required(s.audioFile, s.index, "audio"))}`];
          if (s.audioPreRollInSeconds > 0) lines.push(`inpoint ${seconds(Math.round(s.audioPreRollInSeconds * 1e6))}`);
          // The last one keeps all it has: its end is the recording's (the encoder's final packet may end past the stated duration).
          if (s.lengthInSeconds !== undefined && i < ordered.length - 1) {
            // Half a frame early: the first packet after the range starts exactly at its end, and an
            // outpoint rounded up to the microsecond would keep it (a doubled frame at the join).
            lines.push(`outpoint ${seconds(Math.round((s.audioPreRollInSeconds + s.lengthInSeconds) * 1e6) - halfFrame)}`);
            lines.push(`duration ${seconds(Math.round(s.lengthInSeconds * 1e6))}`);
          }
          return lines.join("\n") + "\n";
        })
        .join("");
  }
  return lists;
}

/** Default length of a fragment of the joined fragmented MP4 (one HLS playlist entry): see {@link fragmentedJoinArguments}. */
export const DEFAULT_FRAGMENT_SECONDS = 4;

export interface FragmentedJoinOptions {
  /** Video: a fragment is cut at the first keyframe at least this long after the previous cut. Audio-only: the fragment length. */
  fragmentSeconds: number;
}

/**
 * Output arguments of the join into one fragmented MP4 by stream copy (inputs: the video script
 * first, then the audio one), without its target (the adapter streams it): the moov first and
 * empty (`empty_moov`: written before any sample, so the file can be streamed and a player can
 * start before the end arrives), a fragment per group of pictures (`frag_keyframe`, at least
 * `fragmentSeconds` long: each fragment starts with a keyframe, so each is an independent HLS
 * entry), offsets relative to each moof (`default_base_moof`: CMAF / HLS byte ranges).
 * Audio-only has no keyframes to cut at: fragments of `fragmentSeconds` (`frag_duration`).
 * At each cut the MP4 muxer sets the keyframe track's fragment to end at the next sample's
 * time — the concat output's guessed last-frame durations do not reach the fragment times
 * (measured: frames and beeps at the source's times; docs/decisions/0007).
 */
export function fragmentedJoinArguments(plan: SegmentPlan, options: FragmentedJoinOptions): string[] {
  if (!(options.fragmentSeconds > 0) || !Number.isFinite(options.fragmentSeconds)) throw new CustodyError("Internal", `invalid fragment length ${options.fragmentSeconds}`, { retryable: false });
  const maps: string[] = [];
  if (plan.videoIndex !== undefined) maps.push("-map", "0:v:0");
  if (plan.audioIndex !== undefined) maps.push("-map", `${plan.videoIndex === undefined ? 0 : 1}:a:0`);
  const microseconds = String(Math.round(options.fragmentSeconds * 1e6));
  const fragmenting =
    plan.videoIndex !== undefined
      ? ["-movflags", "empty_moov+default_base_moof+frag_keyframe", "-min_frag_duration", microseconds]
      : ["-movflags", "empty_moov+default_base_moof", "-frag_duration", microseconds];
  return [...maps, "-c", "copy", "-map_metadata", "-1", ...fragmenting, "-f", "mp4"];
}

/** The proxy's audio sample rate: the source's when AAC accepts it, else 48 kHz (as planTranscode). */
export function proxySampleRate(audio: MediaStreamInfo): number {
  return audio.sampleRate !== undefined && AAC_SAMPLE_RATES.has(audio.sampleRate) ? audio.sampleRate : 48000;
}

/** Microseconds as ffmpeg's seconds notation (always a leading digit: `0.042667`). */
export function seconds(microseconds: number): string {
  const whole = Math.trunc(microseconds / 1e6);
  const fraction = String(Math.abs(microseconds % 1e6)).padStart(6, "0");
  return `${whole}.${fraction}`;
}

function header(): string {
  return "ffconcat version 1.0\n";
}

function quotedName(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new CustodyError("Internal", `segment file name ${JSON.stringify(name)} is not a plain file name`, { retryable: false });
  return `'${name}'`;
}

/** A read URL as a concat `file` value: http(s), nothing ffconcat's quoting would have to escape. */
function quotedUrl(url: string): string {
  if (!/^https?:\/\/[^'\\\s]+$/.test(url)) throw new CustodyError("Internal", "a segment's read URL must be http(s) without quotes, backslashes or white space", { retryable: false });
  return `'${url}'`;
}

function required(file: string | undefined, index: number, kind: string): string {
  if (file === undefined) throw new CustodyError("Internal", `segment ${index} has no ${kind} file`, { retryable: false });
  return file;
}

function streamAt(probe: MediaProbe, index: number | undefined): MediaStreamInfo | undefined {
  return index === undefined ? undefined : probe.streams.find((s) => s.index === index);
}
