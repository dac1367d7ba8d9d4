/**
 * A recording's duration and picture size → when to take the poster and thumbnails, the sprite
 * sheets' layout, the WebVTT scrubbing track, and the ffmpeg runs that make them. Pure.
 *
 * - **Poster** at min(1 s, 10 % of the duration): a clip of a second or less still gets one
 *   (0.5 s → 0.05 s, effectively the first frames), never a time past the end.
 * - **How many thumbnails**: one per {@link THUMBNAIL_INTERVAL_IN_SECONDS} of recording, at
 *   least the configured count (default 8, for short clips), at most {@link THUMBNAIL_CAP}.
 *   A scrub bar is some 1000 px wide: 120 previews are one every ~8 px, finer than a pointer
 *   picks out, and a 10-hour recording still gets one every 5 minutes. The cap also keeps the
 *   work (one seek per image) and the stage result (renditions ≤ 256) bounded; 10 minutes of
 *   recording already reach it, so longer ones cost no more images.
 * - Thumbnail k shows time k·d/N (the start of its cue), over the real duration.
 * - **No full decode**, two ways to the frames:
 *   - an MP4/MOV (what body-worn cameras write): its sample table is read once and only the
 *     groups of pictures the images need are copied into a small local MP4
 *     (shared/media/thumbnail-excerpt.ts); {@link excerptRun} decodes it in one ffmpeg run that
 *     picks the frames by presentation time and writes poster, thumbnails and sheets. Nothing in
 *     it grows with the recording's length but reading the `moov` (~0.1 s for 2 hours).
 *   - any other container, or an MP4 the excerpt does not cover: input-side seeks (`-ss T`
 *     before its `-i`, through the adapter's hardened input options): the demuxer jumps to the
 *     keyframe before T and only that group of pictures is decoded (`trim=end_frame=1` keeps
 *     the first frame at T). Several seeks share one ffmpeg process (one `-i` each) to save
 *     process starts. An open costs what the container's index costs to parse, and an MP4's
 *     grows with the length — hence the excerpt above, and {@link imagesPerRun}: up to
 *     {@link MAX_IMAGES_PER_RUN} seeks per process, fewer for very long recordings (about
 *     {@link INDEX_HOURS_PER_RUN} recording-hours of index per process), but never more than
 *     {@link MAX_IMAGE_RUNS} processes (each is one provenance entry; the stage result allows 32).
 * - **Sprite sheets** (seeks): each image run also writes its cells (the thumbnails at cell size, in
 *   order) into a small local Matroska file; one last run reads those files, joins them
 *   (`concat`) and tiles them into sheets of at most {@link SPRITE_COLUMNS}×{@link SPRITE_MAX_ROWS}
 *   cells (800×360 px at 16:9) — bounded in pixels whatever the count. One sheet is
 *   `sprite.jpg` (as for short clips always); several are `sprite-01.jpg`, `sprite-02.jpg`, …
 *   The WebVTT track has one cue per thumbnail, `<sheet>#xywh=x,y,w,h`.
 * - The images are upright (ffmpeg auto-rotates) and tone-mapped for PQ/HLG like the proxy.
 * - **Implausible probes** (shared/media/plausible-media.ts) are UnsupportedMedia before any
 *   run.
 */
import type { MediaProbe, MediaStreamInfo } from "./probe";
import { assertPlausible } from "./plausible-media";
import { capFilter, displaySize, sdrFilters, sourceDuration } from "./transcode-plan";

/** The least number of thumbnails (CUSTODY_THUMBNAIL_COUNT); more for longer recordings. */
export const DEFAULT_THUMBNAIL_COUNT = 8;
/** Largest configurable least number. */
export const MAX_THUMBNAIL_COUNT = 99;
/** One thumbnail per this much recording (above the least number). */
export const THUMBNAIL_INTERVAL_IN_SECONDS = 5;
/** Most thumbnails for any length (reached at 10 minutes). */
export const THUMBNAIL_CAP = 120;
export const SPRITE_COLUMNS = 5;
export const SPRITE_MAX_ROWS = 4;
export const CELLS_PER_SHEET = SPRITE_COLUMNS * SPRITE_MAX_ROWS;
/** Seeks per ffmpeg process at most (process start vs. how much one failure redoes). */
export const MAX_IMAGES_PER_RUN = 12;
/** Recording-hours of container index one process may hold (all its inputs together). */
export const INDEX_HOURS_PER_RUN = 24;
/** Image runs at most: with the probe and the sprite run well inside the 32 provenance entries. */
export const MAX_IMAGE_RUNS = 24;

export interface ThumbnailPlanOptions {
  /** The least number of thumbnails (1…99). */
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

/** One sheet's grid (every sheet has the same; the last may have empty cells). */
export interface SpriteLayout {
  columns: number;
  rows: number;
  cell: Size;
}

/** One ffmpeg process: input seeks into the original, then outputs. */
export interface ThumbnailRun {
  /** Input-side seek of each `-i`, in order (the adapter adds the inputs). */
  seeks: number[];
  /** The ffmpeg arguments after the inputs (outputs in `outputDir`). */
  arguments: string[];
  /** Thumbnails this run makes: indexes [first, first + count). */
  first: number;
  count: number;
  /** Whether input 0 is the poster's seek. */
  poster: boolean;
  /** Its cells file (local Matroska, `cells-NN.mkv`), read by the sprite run. */
  cells: string;
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
  files: { poster: string; thumbnails: string[]; sprites: string[]; vtt: string };
  /** The image runs, in order; then {@link spriteRun}. */
  runs: ThumbnailRun[];
  /** Folder ffmpeg writes into, without a trailing slash. */
  outputDir: string;
}

/** Cells are numbered 0.1 s apart (see the runs). */
const CELL_CLOCK = "settb=1/10,setpts=N";

export function posterTime(durationInSeconds: number | undefined): number {
  if (durationInSeconds === undefined || !(durationInSeconds > 0)) return 0;
  return round(Math.min(1, durationInSeconds * 0.1), 6);
}

/** How many thumbnails: one per 5 s, at least `least`, at most the cap (or `least` if higher). */
export function thumbnailCount(durationInSeconds: number | undefined, least: number): number {
  if (durationInSeconds === undefined || !(durationInSeconds > 0)) return least;
  return Math.max(least, Math.min(THUMBNAIL_CAP, Math.ceil(durationInSeconds / THUMBNAIL_INTERVAL_IN_SECONDS)));
}

/** Thumbnail k at k·d/N (k = 0 … N−1): evenly over [0, d), one per cue. */
export function thumbnailTimes(durationInSeconds: number | undefined, count: number): number[] {
  const d = durationInSeconds !== undefined && durationInSeconds > 0 ? durationInSeconds : count;
  return Array.from({ length: count }, (_, k) => round((k * d) / count, 6));
}

/** One sheet's grid for `count` thumbnails: at most 5 columns and 4 rows (several sheets beyond 20). */
export function spriteLayout(count: number, cell: Size): SpriteLayout {
  const onSheet = Math.max(1, Math.min(count, CELLS_PER_SHEET));
  const columns = Math.min(onSheet, SPRITE_COLUMNS);
  return { columns, rows: Math.ceil(onSheet / columns), cell };
}

/** Sheets for `count` thumbnails: `sprite.jpg`, or `sprite-01.jpg` … when there are several. */
export function spriteSheetNames(count: number): string[] {
  const sheets = Math.max(1, Math.ceil(count / CELLS_PER_SHEET));
  return sheets === 1 ? ["sprite.jpg"] : Array.from({ length: sheets }, (_, k) => `sprite-${String(k + 1).padStart(2, "0")}.jpg`);
}

/** Where thumbnail k sits: its sheet and the cell's pixel rectangle there. */
export function spriteCell(plan: Pick<ThumbnailPlan, "sprite" | "files">, k: number): { sheet: string; x: number; y: number; width: number; height: number } {
  const { columns, cell } = plan.sprite;
  const onSheet = k % CELLS_PER_SHEET;
  return { sheet: plan.files.sprites[Math.floor(k / CELLS_PER_SHEET)], x: (onSheet % columns) * cell.width, y: Math.floor(onSheet / columns) * cell.height, ...cell };
}

/**
 * Seeks per ffmpeg process for `images` images of a recording this long: up to 12, fewer when
 * the inputs' indexes together would pass {@link INDEX_HOURS_PER_RUN} hours (a 10-hour MP4 holds
 * ~100 MB of index per open input), but enough that {@link MAX_IMAGE_RUNS} processes do them all.
 */
export function imagesPerRun(durationInSeconds: number | undefined, images: number): number {
  const hours = durationInSeconds !== undefined && durationInSeconds > 0 ? durationInSeconds / 3600 : 0;
  const byIndex = hours > 0 ? Math.max(1, Math.floor(INDEX_HOURS_PER_RUN / hours)) : MAX_IMAGES_PER_RUN;
  return Math.max(Math.ceil(images / MAX_IMAGE_RUNS), Math.min(MAX_IMAGES_PER_RUN, byIndex));
}

/** Even height for `width` at the picture's aspect (16:9 when the probe gave no size). */
export function scaledSize(width: number, display: Size | undefined): Size {
  const aspect = display === undefined ? 9 / 16 : display.height / display.width;
  return { width, height: Math.max(2, Math.round((width * aspect) / 2) * 2) };
}

export function planThumbnails(probe: MediaProbe, video: MediaStreamInfo, options: ThumbnailPlanOptions): ThumbnailPlan {
  const least = options.count;
  if (!Number.isSafeInteger(least) || least < 1 || least > MAX_THUMBNAIL_COUNT) throw new Error(`thumbnail count must be 1…${MAX_THUMBNAIL_COUNT}, not ${least}`);
  assertPlausible(probe, [video]);
  const durationInSeconds = sourceDuration(probe, [video]);
  const count = thumbnailCount(durationInSeconds, least);
  const display = displaySize(video);
  const thumbnail = scaledSize(options.thumbnailWidth ?? 320, display);
  const sprite = spriteLayout(count, scaledSize(options.cellWidth ?? 160, display));
  const poster = posterTime(durationInSeconds);
  const times = thumbnailTimes(durationInSeconds, count);
  const outputDir = options.outputDir.replace(/\/+$/, "");
  const files = { poster: "poster.jpg", thumbnails: times.map((_, k) => thumbnailName(k)), sprites: spriteSheetNames(count), vtt: "sprite.vtt" };
  const sdr = sdrFilters(video).join(",");
  const perRun = imagesPerRun(durationInSeconds, count + 1);
  const runs: ThumbnailRun[] = [];
  for (let first = 0, r = 0; first < count; r++) {
    const withPoster = r === 0;
    const take = Math.min(count - first, withPoster ? Math.max(1, perRun - 1) : perRun);
    const cells = `cells-${String(r + 1).padStart(2, "0")}.mkv`;
    const graph: string[] = [];
    const outputs: string[] = [];
    // `trim=end_frame=1`: the first frame at the seek time is all an input gives; the input is
    // not read further once every output it feeds has its frame.
    if (withPoster) {
      graph.push(`[0:${video.index}]trim=end_frame=1,${sdr},${capFilter(options.posterMaxSide ?? 1280)},setsar=1[poster]`);
      outputs.push("-map", "[poster]", "-frames:v", "1", "-q:v", "3", "-f", "image2", "-y", `${outputDir}/${files.poster}`);
    }
    const offset = withPoster ? 1 : 0;
    for (let j = 0; j < take; j++) {
      const k = first + j;
      graph.push(
        `[${j + offset}:${video.index}]trim=end_frame=1,${sdr},split=2[i${j}][j${j}]`,
        `[i${j}]scale=${thumbnail.width}:${thumbnail.height},setsar=1[t${j}]`,
        `[j${j}]scale=${sprite.cell.width}:${sprite.cell.height},setsar=1[c${j}]`,
      );
      outputs.push("-map", `[t${j}]`, "-frames:v", "1", "-q:v", "4", "-f", "image2", "-y", `${outputDir}/${files.thumbnails[k]}`);
    }
    // One-frame segments have no duration, so concat gives every cell the same timestamp and
    // the muxer would drop all but one: number them instead, 0.1 s apart.
    graph.push(`${Array.from({ length: take }, (_, j) => `[c${j}]`).join("")}concat=n=${take}:v=1:a=0,${CELL_CLOCK}[cells]`);
    // Lossless and tiny; Matroska is among the demuxers the adapter allows, so the sprite run can
    // read it. The first output: ffmpeg's `-progress` counts its frames, one per image, so the
    // stall watch sees a run move from seek to seek (the image outputs stop at their one frame).
    const cellsOutput = ["-map", "[cells]", "-c:v", "ffv1", "-f", "matroska", "-y", `${outputDir}/${cells}`];
    runs.push({
      seeks: [...(withPoster ? [poster] : []), ...times.slice(first, first + take)],
      arguments: ["-filter_complex", graph.join(";"), ...cellsOutput, ...outputs],
      first,
      count: take,
      poster: withPoster,
      cells,
    });
    first += take;
  }
  return { videoIndex: video.index, durationInSeconds, posterTime: poster, times, thumbnail, sprite, files, runs, outputDir };
}

/**
 * The last run: the cells of the first `produced` thumbnails (from the cells files of the runs
 * that made them, read as local files) joined and tiled into the sheets. Its inputs are
 * `inputs` (paths), in order.
 */
export function spriteRun(plan: ThumbnailPlan, produced: number): { inputs: string[]; arguments: string[]; sheets: string[] } {
  const used = plan.runs.filter((r) => r.first < produced);
  const sheets = plan.files.sprites.slice(0, Math.max(1, Math.ceil(produced / CELLS_PER_SHEET)));
  const { columns, rows } = plan.sprite;
  const joined = used.map((_, k) => `[${k}:0]`).join("");
  // Renumbered (the cells files each start at 0). `-vsync passthrough`: the image muxer would
  // otherwise force a constant rate on the sheets and repeat or drop one.
  const graph = `${joined}concat=n=${used.length}:v=1:a=0,${CELL_CLOCK},trim=end_frame=${produced},tile=${columns}x${rows}[sheets]`;
  const target = sheets.length === 1 ? [`${plan.outputDir}/${sheets[0]}`] : ["-start_number", "1", `${plan.outputDir}/sprite-%02d.jpg`];
  return {
    inputs: used.map((r) => `${plan.outputDir}/${r.cells}`),
    arguments: ["-filter_complex", graph, "-map", "[sheets]", "-frames:v", String(sheets.length), "-vsync", "passthrough", "-q:v", "4", "-f", "image2", "-y", ...target],
    sheets,
  };
}

/**
 * The one run over a thumbnail excerpt (shared/media/thumbnail-excerpt.ts, a local MP4 of just
 * the groups of pictures the images need): ffmpeg picks the poster's frame and the thumbnails'
 * frames by their presentation time in the excerpt (`-copyts`: the times are the excerpt's own,
 * unshifted), and makes the poster, the thumbnails (`thumb-01.jpg` … in order) and the sprite
 * sheets straight from them — no cells files, no second run. `produced`: how many thumbnails
 * have a frame (the first ones; a time past the last frame has none).
 */
export function excerptRun(
  plan: ThumbnailPlan,
  video: MediaStreamInfo,
  frames: { poster: number; thumbnails: readonly number[] },
  options: Pick<ThumbnailPlanOptions, "posterMaxSide"> = {},
): { arguments: string[]; sheets: string[] } {
  const produced = frames.thumbnails.length;
  const sdr = sdrFilters(video).join(",");
  const pick = (times: readonly number[]): string => `select='${times.map((t) => `eq(pts,${t})`).join("+")}'`;
  const sheets = plan.files.sprites.slice(0, Math.max(1, Math.ceil(produced / CELLS_PER_SHEET)));
  const { columns, rows, cell } = plan.sprite;
  const graph = [
    `[0:0]${pick([frames.poster])},${sdr},${capFilter(options.posterMaxSide ?? 1280)},setsar=1[poster]`,
    `[0:0]${pick(frames.thumbnails)},${sdr},split=2[i][j]`,
    `[i]scale=${plan.thumbnail.width}:${plan.thumbnail.height},setsar=1[thumbs]`,
    `[j]scale=${cell.width}:${cell.height},setsar=1,tile=${columns}x${rows}[sheets]`,
  ];
  const sheetTarget = sheets.length === 1 ? [`${plan.outputDir}/${sheets[0]}`] : ["-start_number", "1", `${plan.outputDir}/sprite-%02d.jpg`];
  return {
    arguments: [
      "-copyts",
      "-filter_complex",
      graph.join(";"),
      // The thumbnails first: ffmpeg's `-progress` counts the first output's frames, so the stall watch sees every picked frame.
      ...["-map", "[thumbs]", "-vsync", "passthrough", "-q:v", "4", "-f", "image2", "-start_number", "1", "-y", `${plan.outputDir}/thumb-%02d.jpg`],
      ...["-map", "[poster]", "-frames:v", "1", "-q:v", "3", "-f", "image2", "-y", `${plan.outputDir}/${plan.files.poster}`],
      ...["-map", "[sheets]", "-frames:v", String(sheets.length), "-q:v", "4", "-f", "image2", "-y", ...sheetTarget],
    ],
    sheets,
  };
}

export function thumbnailName(k: number): string {
  return `thumb-${String(k + 1).padStart(2, "0")}.jpg`;
}

/**
 * The WebVTT scrubbing track over the first `produced` thumbnails: cue k covers
 * [k·d/N, (k+1)·d/N) and points at thumbnail k's cell on its sheet; the last cue runs to the end.
 */
export function webVtt(plan: Pick<ThumbnailPlan, "times" | "sprite" | "durationInSeconds" | "files">, produced = plan.times.length): string {
  const count = Math.min(produced, plan.times.length);
  const end = plan.durationInSeconds ?? plan.times.length;
  const lines = ["WEBVTT", ""];
  for (let k = 0; k < count; k++) {
    const from = plan.times[k];
    const to = k + 1 < count ? plan.times[k + 1] : end;
    const { sheet, x, y, width, height } = spriteCell(plan, k);
    lines.push(`${k + 1}`, `${vttTime(from)} --> ${vttTime(Math.max(to, from + 0.001))}`, `${sheet}#xywh=${x},${y},${width},${height}`, "");
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

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
