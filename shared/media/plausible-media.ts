/**
 * Probe values no recording has, refused before any ffmpeg run as UnsupportedMedia — final,
 * with a reason an operator can act on. A header that lies (damaged or crafted) otherwise
 * becomes arithmetic nonsense further on: an MKV claiming 10 years made the thumbnail rate
 * N/d round to zero, ffmpeg refused the filter graph, and the failure looked like a bug of ours
 * (Internal, retried to the delivery limit). Pure.
 *
 * What a plan relies on must be plausible:
 * - **durations** — the container's and each mapped stream's: finite and at most
 *   {@link MAX_PLAUSIBLE_DURATION_IN_SECONDS} (7 days; a shift-length recording is 8–12 h, and
 *   no body-worn camera records for a week);
 * - **picture size** of the mapped video, when stated: 1 to {@link MAX_PLAUSIBLE_SIDE} pixels
 *   a side (8K is 7680); 0×0 is what ffprobe states when it could not read the stream;
 * - **frame rate, sample rate, channels**, when stated: finite numbers.
 */
import { CustodyError } from "../errors";
import type { MediaProbe, MediaStreamInfo } from "./probe";

export const MAX_PLAUSIBLE_DURATION_IN_SECONDS = 7 * 24 * 3600;
export const MAX_PLAUSIBLE_SIDE = 16_384;

const WHAT_TO_DO =
  "The header is damaged or was written by a tool that got it wrong; the original and its fingerprint are kept. " +
  "Export the recording again from the camera's management system (or repair the container with a remux), upload the copy and reprocess it.";

/** Why `probe` (with the streams a plan maps) cannot be planned, or undefined when it can. */
export function implausibility(probe: MediaProbe, mapped: ReadonlyArray<MediaStreamInfo | undefined>): string | undefined {
  const container = durationProblem(probe.durationInSeconds, `the ${probe.container || "container"} header`);
  if (container !== undefined) return container;
  for (const stream of mapped) {
    if (stream === undefined) continue;
    const label = `${stream.type} stream #${stream.index}`;
    const problem = durationProblem(stream.durationInSeconds, label) ?? (stream.type === "video" ? sizeProblem(stream, label) : undefined) ?? nonFinite(stream, label);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Throws UnsupportedMedia (final) naming what is implausible and what to do. */
export function assertPlausible(probe: MediaProbe, mapped: ReadonlyArray<MediaStreamInfo | undefined>): void {
  const problem = implausibility(probe, mapped);
  if (problem !== undefined) throw new CustodyError("UnsupportedMedia", `Implausible media: ${problem}. ${WHAT_TO_DO}`);
}

function durationProblem(seconds: number | undefined, label: string): string | undefined {
  if (seconds === undefined) return undefined;
  if (!Number.isFinite(seconds)) return `${label} states a duration that is not a number (${seconds})`;
  if (seconds > MAX_PLAUSIBLE_DURATION_IN_SECONDS) {
    return `${label} claims a duration of ${days(seconds)} (${seconds} s), beyond the ${days(MAX_PLAUSIBLE_DURATION_IN_SECONDS)} any recording can last`;
  }
  return undefined;
}

function sizeProblem(stream: MediaStreamInfo, label: string): string | undefined {
  const { width, height } = stream;
  if (width === undefined && height === undefined) return undefined;
  const fine = (side: number | undefined) => side === undefined || (Number.isInteger(side) && side >= 1 && side <= MAX_PLAUSIBLE_SIDE);
  if (fine(width) && fine(height)) return undefined;
  const size = `${width ?? "?"}×${height ?? "?"}`;
  return width === 0 || height === 0
    ? `${label} states a picture size of ${size}: its parameters could not be read`
    : `${label} claims a picture size of ${size}, outside 1–${MAX_PLAUSIBLE_SIDE} pixels a side`;
}

function nonFinite(stream: MediaStreamInfo, label: string): string | undefined {
  for (const key of ["frameRate", "sampleRate", "channels"] as const) {
    const value = stream[key];
    if (value !== undefined && !Number.isFinite(value)) return `${label} states a ${key} that is not a number (${value})`;
  }
  return undefined;
}

function days(seconds: number): string {
  const value = seconds / 86_400;
  return `${Number.isInteger(value) ? value : value.toFixed(1)} days`;
}
