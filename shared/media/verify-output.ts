/**
 * Checks of what ffmpeg wrote, because an exit code of 0 proves nothing (seen with real
 * footage: an empty video stream picked, no image written for `-ss` past the end, High 10 output). Pure over the
 * proxy's probe and the files' sizes; a failed check is `OutputVerificationFailed`, never
 * retried — the same input gives the same wrong output.
 */
import { CustodyError } from "../errors";
import type { MediaProbe } from "./probe";
import type { ProxyExpectation } from "./transcode-plan";

/** How far the proxy's duration may be from the source's: max(0.5 s, 2 %). */
export function durationTolerance(durationInSeconds: number): number {
  return Math.max(0.5, durationInSeconds * 0.02);
}

/** Every problem with a proxy (empty when it is what the plan promised). */
export function proxyProblems(output: MediaProbe, expected: ProxyExpectation): string[] {
  const problems: string[] = [];
  const videos = output.streams.filter((s) => s.type === "video" && s.isAttachedPicture !== true);
  const audios = output.streams.filter((s) => s.type === "audio");
  const others = output.streams.filter((s) => s.type !== "video" && s.type !== "audio");

  if (expected.hasVideo) {
    if (videos.length !== 1) problems.push(`expected one video stream, found ${videos.length}`);
    const video = videos[0];
    if (video !== undefined) {
      if (video.codec !== "h264") problems.push(`video codec is ${video.codec ?? "unknown"}, not h264`);
      if (video.pixelFormat !== "yuv420p") problems.push(`pixel format is ${video.pixelFormat ?? "unknown"}, not yuv420p (8-bit 4:2:0)`);
      if (video.frames === 0) problems.push("the video stream has no frames");
      if (video.rotation !== undefined && video.rotation !== 0) problems.push(`the proxy still carries a ${video.rotation}° rotation (players would rotate it again)`);
      const { width, height } = video;
      if (width === undefined || height === undefined || width <= 0 || height <= 0) problems.push("the video stream has no picture size");
      else {
        if (Math.max(width, height) > expected.maxSide) problems.push(`${width}×${height} exceeds the longest side ${expected.maxSide}`);
        if (expected.width !== undefined && expected.height !== undefined && orientation(width, height) !== orientation(expected.width, expected.height)) {
          problems.push(
            `${width}×${height} is ${orientation(width, height)} but the source shows ${orientation(expected.width, expected.height)} (${expected.width}×${expected.height} expected): rotation not applied, or applied twice`,
          );
        }
      }
    }
  } else if (videos.length > 0) {
    problems.push(`the source has no video, but the proxy has ${videos.length} video stream(s)`);
  }

  if (expected.hasAudio) {
    if (audios.length !== 1) problems.push(`expected one audio stream, found ${audios.length}`);
    else if (audios[0].codec !== "aac") problems.push(`audio codec is ${audios[0].codec ?? "unknown"}, not aac`);
  } else if (audios.length > 0) {
    problems.push(`the source has no audio, but the proxy has ${audios.length} audio stream(s)`);
  }
  if (others.length > 0) problems.push(`unexpected ${others.map((s) => `${s.type}${s.codecTag ? ` (${s.codecTag})` : ""}`).join(", ")} stream(s) in the proxy`);

  const actual = outputDuration(output);
  if (actual === undefined || actual <= 0) problems.push("the proxy has no duration");
  else if (expected.durationInSeconds !== undefined) {
    const tolerance = durationTolerance(expected.durationInSeconds);
    if (Math.abs(actual - expected.durationInSeconds) > tolerance) {
      problems.push(
        `the proxy lasts ${actual.toFixed(3)} s but the source states ${expected.durationInSeconds.toFixed(3)} s (tolerance ${tolerance.toFixed(2)} s)${actual < expected.durationInSeconds ? ": the source is probably truncated or damaged after that point" : ""}`,
      );
    }
  }
  return problems;
}

/** Throws OutputVerificationFailed listing every problem. */
export function verifyProxy(output: MediaProbe, expected: ProxyExpectation, what = "proxy"): void {
  const problems = proxyProblems(output, expected);
  if (problems.length > 0) throw verificationFailure(what, problems);
}

/** Files that must exist and be non-empty (`size` undefined: not written). */
export function missingOrEmpty(files: Array<{ name: string; size: number | undefined }>): string[] {
  return files.filter((f) => f.size === undefined || f.size === 0).map((f) => `${f.name} ${f.size === undefined ? "was not written" : "is empty"}`);
}

export function verificationFailure(what: string, problems: string[]): CustodyError {
  return new CustodyError("OutputVerificationFailed", `The ${what} failed verification although ffmpeg reported success: ${problems.join("; ")}.`);
}

function outputDuration(probe: MediaProbe): number | undefined {
  const streams = probe.streams.map((s) => s.durationInSeconds).filter((d): d is number => d !== undefined && d > 0);
  if (probe.durationInSeconds !== undefined && probe.durationInSeconds > 0) return probe.durationInSeconds;
  return streams.length > 0 ? Math.max(...streams) : undefined;
}

function orientation(width: number, height: number): "landscape" | "portrait" | "square" {
  return width === height ? "square" : width > height ? "landscape" : "portrait";
}
