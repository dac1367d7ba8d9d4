/**
 * A recording's duration and picture size → when to take the poster and thumbnails, the sprite
 * sheet's layout, the WebVTT scrubbing track, and the one ffmpeg run that makes them. Pure.
 *
 * - **Poster** at min(1 s, 10 % of the duration): a clip of a second or less still gets one
 *   (0.5 s → 0.05 s, effectively the first frames), never a time past the end.
 * - **N thumbnails** spread over the real duration: thumbnail k shows time k·d/N (the start
 *   of its cue), from the `fps=N/d` filter, which repeats frames when the clip has fewer than N.
 * - **One decode pass** for everything (split → poster / thumbnails / sprite): the port gives
 *   output options only, so an input-side seek per image is not available, and N output-side
 *   seeks would decode the recording N times.
 * - **Sprite**: the thumbnails again at cell size, tiled (columns ≤ 5) into one JPEG; the
 *   WebVTT track has one cue per thumbnail, `sprite.jpg#xywh=x,y,w,h`.
 * - The images are upright (ffmpeg auto-rotates) and tone-mapped for PQ/HLG like the proxy.
 * - **Progress**: the first output is every decoded frame into the `null` muxer (frames are
 *   only referenced, not encoded). The image outputs advance once per thumbnail — every d/N of
 *   the recording, over an hour apart for a long one — so without it ffmpeg's `-progress`
 *   would stand still while it decodes, and the stall watch (run-limits.ts) would kill a
 *   healthy run.
 * - **Implausible probes** (shared/media/plausible-media.ts) are UnsupportedMedia before any
 *   run: a 10-year duration would make the frame rate N/d round to zero.
 */
import type { MediaProbe, MediaStreamInfo } from "./probe";
import { assertPlausible } from "./plausible-media";
import { capFilter, displaySize, sdrFilters, sourceDuration } from "./transcode-plan";

export const DEFAULT_THUMBNAIL_COUNT = 8;
export const MAX_THUMBNAIL_COUNT = 99;

export interface ThumbnailPlanOptions {
  count: number;
  /** Folder ffmpeg writes into (local). */
  outputDir: string;
  /** Poster's longest side (default 1280). */
  posterMaxSide?: number;
  /** Thumbnail width (default 320); height follows the picture's aspect. */
  thumbnailWidth?: number;
  /** Sprite cell width (default 160). */
  cellWidth?: number;
}

export interface Size {
  width: number;
  height: number;
}

export interface SpriteLayout {
  columns: number;
  rows: number;
  cell: Size;
}

export interface ThumbnailPlan {
  videoIndex: number;
  /** Duration the times are spread over (seconds); undefined when the probe did not say. */
  durationInSeconds?: number;
  posterTime: number;
  /** Time each thumbnail shows, in order (thumb-01 … thumb-NN). */
  times: number[];
  thumbnail: Size;
  sprite: SpriteLayout;
  files: { poster: string; thumbnails: string[]; sprite: string; vtt: string };
  /** The ffmpeg arguments after `-i <input>` (outputs in `outputDir`). */
  arguments: string[];
}

export function posterTime(durationInSeconds: number | undefined): number {
  if (durationInSeconds === undefined || !(durationInSeconds > 0)) return 0;
  return round(Math.min(1, durationInSeconds * 0.1), 6);
}

/** Thumbnail k at k·d/N (k = 0 … N−1): evenly over [0, d), one per cue. */
export function thumbnailTimes(durationInSeconds: number | undefined, count: number): number[] {
  const d = durationInSeconds !== undefined && durationInSeconds > 0 ? durationInSeconds : count;
  return Array.from({ length: count }, (_, k) => round((k * d) / count, 6));
}

export function spriteLayout(count: number, cell: Size): SpriteLayout {
  const columns = Math.min(count, 5);
  return { columns, rows: Math.ceil(count / columns), cell };
}

/** Even height for `width` at the picture's aspect (16:9 when the probe gave no size). */
export function scaledSize(width: number, display: Size | undefined): Size {
  const aspect = display === undefined ? 9 / 16 : display.height / display.width;
  return { width, height: Math.max(2, Math.round((width * aspect) / 2) * 2) };
}

export function planThumbnails(probe: MediaProbe, video: MediaStreamInfo, options: ThumbnailPlanOptions): ThumbnailPlan {
  const count = options.count;
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_THUMBNAIL_COUNT) throw new Error(`thumbnail count must be 1…${MAX_THUMBNAIL_COUNT}, not ${count}`);
  assertPlausible(probe, [video]);
  const durationInSeconds = sourceDuration(probe, [video]);
  const display = displaySize(video);
  const thumbnail = scaledSize(options.thumbnailWidth ?? 320, display);
  const sprite = spriteLayout(count, scaledSize(options.cellWidth ?? 160, display));
  const poster = posterTime(durationInSeconds);
  const times = thumbnailTimes(durationInSeconds, count);
  const rate = durationInSeconds === undefined ? 1 : count / durationInSeconds;
  const dir = options.outputDir.replace(/\/+$/, "");
  const files = {
    poster: "poster.jpg",
    thumbnails: times.map((_, k) => thumbnailName(k)),
    sprite: "sprite.jpg",
    vtt: "sprite.vtt",
  };
  const graph = [
    `[0:${video.index}]${sdrFilters(video).join(",")},split=3[progress][p][t]`,
    `[p]trim=start=${seconds(poster)},${capFilter(options.posterMaxSide ?? 1280)},setsar=1[poster]`,
    `[t]fps=fps=${rate.toFixed(6)},split=2[a][b]`,
    `[a]scale=${thumbnail.width}:${thumbnail.height},setsar=1[thumbs]`,
    `[b]scale=${sprite.cell.width}:${sprite.cell.height},setsar=1,tile=${sprite.columns}x${sprite.rows}[sprite]`,
  ].join(";");
  const args = [
    "-filter_complex",
    graph,
    "-map_metadata",
    "-1",
    "-map",
    "[progress]",
    "-f",
    "null",
    "-",
    "-map",
    "[poster]",
    "-frames:v",
    "1",
    "-q:v",
    "3",
    "-f",
    "image2",
    "-y",
    `${dir}/${files.poster}`,
    "-map",
    "[thumbs]",
    "-frames:v",
    String(count),
    "-q:v",
    "4",
    "-start_number",
    "1",
    "-f",
    "image2",
    "-y",
    `${dir}/thumb-%02d.jpg`,
    "-map",
    "[sprite]",
    "-frames:v",
    "1",
    "-q:v",
    "4",
    "-f",
    "image2",
    "-y",
    `${dir}/${files.sprite}`,
  ];
  return { videoIndex: video.index, durationInSeconds, posterTime: poster, times, thumbnail, sprite, files, arguments: args };
}

export function thumbnailName(k: number): string {
  return `thumb-${String(k + 1).padStart(2, "0")}.jpg`;
}

/**
 * The WebVTT scrubbing track over the first `produced` thumbnails: cue k covers
 * [k·d/N, (k+1)·d/N) and points at cell k of the sprite; the last cue runs to the end.
 */
export function webVtt(plan: Pick<ThumbnailPlan, "times" | "sprite" | "durationInSeconds" | "files">, produced = plan.times.length): string {
  const count = Math.min(produced, plan.times.length);
  const end = plan.durationInSeconds ?? plan.times.length;
  const lines = ["WEBVTT", ""];
  for (let k = 0; k < count; k++) {
    const from = plan.times[k];
    const to = k + 1 < count ? plan.times[k + 1] : end;
    const { width, height } = plan.sprite.cell;
    const x = (k % plan.sprite.columns) * width;
    const y = Math.floor(k / plan.sprite.columns) * height;
    lines.push(`${k + 1}`, `${vttTime(from)} --> ${vttTime(Math.max(to, from + 0.001))}`, `${plan.files.sprite}#xywh=${x},${y},${width},${height}`, "");
  }
  return lines.join("\n");
}

export function vttTime(totalSeconds: number): string {
  const ms = Math.round(totalSeconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const rest = ms % 1000;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}.${String(rest).padStart(3, "0")}`;
}

function seconds(value: number): string {
  // trim's duration parser refuses ".05": always a leading digit, never exponent notation.
  return value.toFixed(6);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
