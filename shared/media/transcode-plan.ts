/**
 * MediaProbe → the ffmpeg output arguments of a browser-playable proxy. Pure: no I/O, no
 * clock; unit-tested on probes of the real fixtures.
 *
 * What the proxy is, and why each argument is there (each one answers what a naive command did
 * with real footage):
 *
 * - **The real video stream, explicitly** (`-map 0:<primaryVideoIndex>`): never `0:v:0`, which
 *   picked an empty stream in a WMV with three video streams. Likewise the primary audio.
 *   Nothing else is mapped: no data/telemetry (`-dn`; GPMF, tmcd, mebx, mett), no subtitles,
 *   no attachments, no chapters, no container/stream metadata (`-map_metadata -1`) except the
 *   recording's creation time, re-written in canonical form when the probe has one.
 * - **Upright, rotated once**: ffmpeg auto-rotates (it inserts the transpose before our filters
 *   and drops the display matrix), so the filters see upright frames and no rotation is added
 *   here — adding `transpose` too would rotate twice. The verification checks the result.
 * - **Longest side capped** (default 1280), never upscaled, even dimensions (4:2:0 needs them),
 *   non-square pixels made square (`iw*sar`, then `setsar=1`).
 * - **8-bit SDR**: PQ/HLG sources are tone-mapped (zscale → linear → hable → BT.709); 10-bit
 *   SDR sources are only converted. Always `yuv420p` (browsers do not play High 10).
 * - **H.264 High + AAC-LC in MP4 with `+faststart`** (moov first: playable while downloading).
 *   Audio-only sources get an AAC `.m4a`; video without audio a video-only MP4.
 * - **Implausible probes** (a 10-year duration, a 0×0 picture; shared/media/plausible-media.ts)
 *   are UnsupportedMedia before anything runs.
 */
import { CustodyError } from "../errors";
import type { MediaProbe, MediaStreamInfo } from "./probe";
import { assertPlausible } from "./plausible-media";

export const DEFAULT_PROXY_MAX_SIDE = 1280;

export interface TranscodePlanOptions {
  /** Longest side of the proxy, in pixels (even, ≥ 16). */
  maxSide: number;
  /** Where ffmpeg writes the proxy (a local file). */
  outputPath: string;
}

export interface TranscodePlan {
  kind: "video" | "audio";
  /** Name of the rendition in `derived/<evidenceId>/transcode/`. */
  fileName: "proxy.mp4" | "proxy.m4a";
  renditionKind: "proxy" | "audio-proxy";
  contentType: "video/mp4" | "audio/mp4";
  /** The ffmpeg arguments after `-i <input>`, ending with the output path. */
  arguments: string[];
  videoIndex?: number;
  audioIndex?: number;
  /** Whether PQ/HLG was tone-mapped to SDR. */
  toneMapped: boolean;
  /** What the verification expects of the proxy. */
  expected: ProxyExpectation;
}

export interface ProxyExpectation {
  hasVideo: boolean;
  hasAudio: boolean;
  /** The source's duration over the mapped streams; undefined when the probe could not tell. */
  durationInSeconds?: number;
  /** Proxy size as ffmpeg will compute it (square pixels assumed), upright. */
  width?: number;
  height?: number;
  maxSide: number;
}

/** Sample rates the AAC encoder accepts; anything else is resampled to 48 kHz. */
export const AAC_SAMPLE_RATES = new Set([96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]);

export function planTranscode(probe: MediaProbe, options: TranscodePlanOptions): TranscodePlan {
  checkMaxSide(options.maxSide);
  const video = streamAt(probe, probe.primaryVideoIndex);
  const audio = streamAt(probe, probe.primaryAudioIndex);
  if (video === undefined && audio === undefined) {
    throw new CustodyError("UnsupportedMedia", `No decodable video or audio stream in ${describeStreams(probe)}: nothing to transcode.`);
  }
  assertPlausible(probe, [video, audio]);
  const args: string[] = [];
  if (video !== undefined) args.push("-map", `0:${video.index}`);
  if (audio !== undefined) args.push("-map", `0:${audio.index}`);
  args.push("-dn", "-sn", "-map_metadata", "-1", "-map_chapters", "-1");
  const creationTime = canonicalTime(probe.creationTime);
  if (creationTime !== undefined) args.push("-metadata", `creation_time=${creationTime}`);

  let toneMapped = false;
  if (video !== undefined) {
    const filters = [capFilter(options.maxSide), "setsar=1", ...sdrFilters(video)];
    toneMapped = isHdr(video);
    args.push("-vf", filters.join(","));
    args.push("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-pix_fmt", "yuv420p");
    args.push("-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709");
  } else {
    args.push("-vn");
  }
  if (audio !== undefined) {
    args.push("-c:a", "aac", "-b:a", "128k");
    if ((audio.channels ?? 2) > 2) args.push("-ac", "2");
    if (audio.sampleRate !== undefined && !AAC_SAMPLE_RATES.has(audio.sampleRate)) args.push("-ar", "48000");
  } else {
    args.push("-an");
  }
  // Sparse or interleaved-badly sources otherwise fail with "Too many packets buffered".
  args.push("-max_muxing_queue_size", "4096", "-movflags", "+faststart", "-f", "mp4", "-y", options.outputPath);

  const display = video === undefined ? undefined : displaySize(video);
  const capped = display === undefined ? undefined : cappedSize(display.width, display.height, options.maxSide);
  return {
    kind: video === undefined ? "audio" : "video",
    fileName: video === undefined ? "proxy.m4a" : "proxy.mp4",
    renditionKind: video === undefined ? "audio-proxy" : "proxy",
    contentType: video === undefined ? "audio/mp4" : "video/mp4",
    arguments: args,
    videoIndex: video?.index,
    audioIndex: audio?.index,
    toneMapped,
    expected: {
      hasVideo: video !== undefined,
      hasAudio: audio !== undefined,
      durationInSeconds: sourceDuration(probe, [video, audio]),
      width: capped?.width,
      height: capped?.height,
      maxSide: options.maxSide,
    },
  };
}

/**
 * The `scale` filter that caps the longest side (display aspect: `iw*sar`), never upscales,
 * and rounds down to even sizes (at least 2). `cappedSize` is the same arithmetic in TypeScript.
 */
export function capFilter(maxSide: number): string {
  const factor = `min(1,${maxSide}/max(iw*sar,ih))`;
  return `scale=w='max(2,trunc(${factor}*iw*sar/2)*2)':h='max(2,trunc(${factor}*ih/2)*2)'`;
}

export function cappedSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const factor = Math.min(1, maxSide / Math.max(width, height));
  return { width: Math.max(2, Math.trunc((factor * width) / 2) * 2), height: Math.max(2, Math.trunc((factor * height) / 2) * 2) };
}

/** Filters that turn any decoded picture into 8-bit SDR BT.709 `yuv420p` (tone-mapping PQ/HLG). */
export function sdrFilters(video: MediaStreamInfo): string[] {
  if (!isHdr(video)) return ["format=yuv420p"];
  const transfer = video.colorTransfer === "arib-std-b67" ? "arib-std-b67" : "smpte2084";
  // Input colour properties are stated, not guessed by zscale ("no path between colorspaces"
  // when a file leaves the matrix unspecified): HDR10/HLG are BT.2020 non-constant luminance.
  return [
    `zscale=tin=${transfer}:min=bt2020nc:pin=bt2020:rin=tv:t=linear:npl=100`,
    "format=gbrpf32le",
    "zscale=p=bt709",
    "tonemap=tonemap=hable:desat=0",
    "zscale=t=bt709:m=bt709:r=tv",
    "format=yuv420p",
  ];
}

export function isHdr(video: MediaStreamInfo): boolean {
  return video.hdr === true || video.colorTransfer === "smpte2084" || video.colorTransfer === "arib-std-b67";
}

/** Width and height as shown: swapped for a quarter-turn rotation. */
export function displaySize(video: MediaStreamInfo): { width: number; height: number } | undefined {
  if (video.width === undefined || video.height === undefined || video.width <= 0 || video.height <= 0) return undefined;
  const quarter = video.rotation === 90 || video.rotation === 270;
  return quarter ? { width: video.height, height: video.width } : { width: video.width, height: video.height };
}

/**
 * The duration the proxy should have: the longest of the mapped streams where they state one,
 * else the container's. (A data track running longer than the picture is not mapped, so it
 * must not set the expectation.)
 */
export function sourceDuration(probe: MediaProbe, mapped: Array<MediaStreamInfo | undefined>): number | undefined {
  const durations = mapped.map((s) => s?.durationInSeconds).filter((d): d is number => d !== undefined && Number.isFinite(d) && d > 0);
  if (durations.length > 0) return Math.max(...durations);
  return probe.durationInSeconds !== undefined && probe.durationInSeconds > 0 ? probe.durationInSeconds : undefined;
}

export function describeStreams(probe: MediaProbe): string {
  const streams = probe.streams.map((s) => `#${s.index} ${s.type}${s.codec ? ` ${s.codec}` : ""}${s.codecTag ? ` (${s.codecTag})` : ""}`).join(", ");
  return `a ${probe.container || "unknown"} file with ${probe.streams.length === 0 ? "no streams" : `streams ${streams}`}`;
}

function streamAt(probe: MediaProbe, index: number | undefined): MediaStreamInfo | undefined {
  return index === undefined ? undefined : probe.streams.find((s) => s.index === index);
}

function canonicalTime(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  // Cameras with unset clocks write 1904/1970 epochs: not worth carrying.
  if (!Number.isFinite(time) || time < Date.UTC(1990, 0, 1)) return undefined;
  return new Date(time).toISOString();
}

function checkMaxSide(maxSide: number): void {
  if (!Number.isSafeInteger(maxSide) || maxSide < 16 || maxSide % 2 !== 0) {
    throw new CustodyError("InvalidConfiguration", `the proxy's longest side must be an even integer ≥ 16, not ${maxSide}`);
  }
}
