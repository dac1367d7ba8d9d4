/**
 * The time limits of one ffmpeg run over a recording. Pure.
 *
 * One number from the duration cannot tell a slow run from a hung one (a 0.3 s 4K60 clip on a
 * busy machine needed more than 10 s + 4× its duration), so there are two:
 *
 * - the **stall window** (CUSTODY_MEDIA_STALL_TIMEOUT_MS, default 60 s): the adapter watches
 *   ffmpeg's `-progress` and stops a run that has not advanced for that long — a hung run ends
 *   within about a minute whatever the recording's length, and is retried (Transient);
 * - a **ceiling** from the expected work, only a backstop for a run that moves forever: 10×
 *   real time for a picture up to 1080p30, proportionally more for a bigger or faster picture
 *   (a 4K60 source is 8× the pixels per second), at least 1 h, at most 24 h. A day is also the
 *   longest a read URL is asked to live; a recording that needs more is one for the segmented
 *   path (split, encode in parallel, stitch), not for one longer run. Unknown duration: 24 h.
 *
 * The host has its own limit (host.json `functionTimeout`), which ends the invocation whatever
 * these say.
 */
import type { MediaStreamInfo } from "./probe";

export const DEFAULT_STALL_TIMEOUT_IN_MS = 60_000;
export const CEILING_FLOOR_IN_MS = 60 * 60_000;
export const MAX_CEILING_IN_MS = 24 * 60 * 60_000;
/** Wall-clock time allowed per second of media at the reference pixel rate. */
export const CEILING_REAL_TIME_FACTOR = 10;
/** 1080p30: the pixel rate {@link CEILING_REAL_TIME_FACTOR} is meant for. */
const REFERENCE_PIXELS_PER_SECOND = 1920 * 1080 * 30;
/** Frame rates above this in a probe are time-base artefacts (90000/1), not pictures per second. */
const MAX_COUNTED_FRAME_RATE = 240;

/** What a run has to get through. */
export interface MediaWork {
  durationInSeconds?: number;
  /** The decoded picture stream, if any. */
  video?: Pick<MediaStreamInfo, "width" | "height" | "frameRate">;
}

export interface MediaRunLimits {
  /** Killed when it passes, progressing or not. */
  ceilingInMs: number;
  /** Killed after this long without progress; undefined: the adapter's default. */
  stallTimeoutInMs?: number;
}

export function mediaRunLimits(work: MediaWork, stallTimeoutInMs?: number): MediaRunLimits {
  const limits: MediaRunLimits = { ceilingInMs: mediaRunCeilingInMs(work) };
  if (stallTimeoutInMs !== undefined) limits.stallTimeoutInMs = stallTimeoutInMs;
  return limits;
}

export function mediaRunCeilingInMs(work: MediaWork): number {
  const duration = work.durationInSeconds;
  if (duration === undefined || !Number.isFinite(duration) || duration <= 0) return MAX_CEILING_IN_MS;
  const ceiling = CEILING_REAL_TIME_FACTOR * duration * 1000 * pictureWeight(work.video);
  return Math.round(Math.min(MAX_CEILING_IN_MS, Math.max(CEILING_FLOOR_IN_MS, ceiling)));
}

/** Pixels per second relative to 1080p30, at least 1 (audio, small pictures, unknown sizes). */
function pictureWeight(video: MediaWork["video"]): number {
  const { width, height, frameRate } = video ?? {};
  if (width === undefined || height === undefined || !(width > 0) || !(height > 0)) return 1;
  const rate = frameRate !== undefined && Number.isFinite(frameRate) && frameRate > 0 ? Math.min(frameRate, MAX_COUNTED_FRAME_RATE) : 30;
  return Math.max(1, (width * height * rate) / REFERENCE_PIXELS_PER_SECOND);
}
