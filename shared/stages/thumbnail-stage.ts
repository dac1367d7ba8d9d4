/**
 * The thumbnail stage: a poster frame, N thumbnails over the real duration (N grows with the
 * length, capped), sprite sheets and their WebVTT scrubbing track, under
 * `derived/<evidenceId>/thumbnail/` (poster.jpg, thumb-01.jpg …, sprite.jpg — or sprite-01.jpg …
 * when there are several sheets —, sprite.vtt). Every image is an input-side seek, never a
 * decode of the whole recording; see shared/media/thumbnail-plan.ts.
 *
 * ffmpeg exits 0 without writing an image when a time is past the last frame, so every file
 * is checked to exist and be non-empty: a missing poster or sprite sheet, or no thumbnail at
 * all, is OutputVerificationFailed. Fewer thumbnails than asked (a clip with very few frames:
 * a seek past its last frame gives nothing, and every later one neither, so the runs after it
 * are not started) are published as they are, with a WebVTT track over the ones that exist.
 *
 * A recording without video (voice memo, `.m4a`) is `skipped` with "no video stream" — which
 * counts as done for readiness. No stream at all is UnsupportedMedia.
 */
import { writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { EvidenceReceivedMessage, Rendition } from "../contracts/messages";
import { CustodyError } from "../errors";
import { DEFAULT_THUMBNAIL_COUNT, planThumbnails, spriteRun, webVtt } from "../media/thumbnail-plan";
import { mediaRunLimits } from "../media/run-limits";
import { cappedSize, describeStreams, displaySize } from "../media/transcode-plan";
import { missingOrEmpty, verificationFailure } from "../media/verify-output";
import { MediaSession, type MediaStageDeps } from "./media-session";
import type { StageWork } from "./report-stage";
import type { StageContext } from "./stage-context";

export const NO_VIDEO_SKIP_REASON = "no video stream";

export interface ThumbnailOptions {
  /** The least number of thumbnails per recording (CUSTODY_THUMBNAIL_COUNT); default 8, more for longer ones (thumbnail-plan.ts). */
  count?: number;
  /** How long ffmpeg may make no progress (CUSTODY_MEDIA_STALL_TIMEOUT_MS); default the media tool's (60 s). */
  stallTimeoutInMs?: number;
}

export async function thumbnailOriginal(input: EvidenceReceivedMessage, deps: MediaStageDeps, context: StageContext, options: ThumbnailOptions = {}): Promise<StageWork> {
  const session = new MediaSession(input, "thumbnail", deps, context);
  try {
    const probe = await session.open();
    const video = probe.primaryVideoIndex === undefined ? undefined : probe.streams.find((s) => s.index === probe.primaryVideoIndex);
    if (video === undefined) {
      if (probe.primaryAudioIndex === undefined) throw new CustodyError("UnsupportedMedia", `No decodable video or audio stream in ${describeStreams(probe)}.`);
      session.log.info("no video stream: thumbnails skipped");
      return { outcome: "skipped", skipReason: NO_VIDEO_SKIP_REASON, media: probe, renditions: [], provenance: session.provenance() };
    }
    const dir = await session.tempDir();
    const plan = planThumbnails(probe, video, { count: options.count ?? DEFAULT_THUMBNAIL_COUNT, outputDir: dir });
    const file = (name: string): string => path.join(dir, name);
    const sizeOf = async (name: string) => ({ name, size: await session.sizeOf(file(name)) });
    // A run decodes a group of pictures per seek: seconds, whatever the recording's length. The
    // limits are the media tool's (stall window; ceiling at its one-hour floor).
    const limits = mediaRunLimits({ durationInSeconds: 1, video }, options.stallTimeoutInMs);
    const thumbnails: Array<{ name: string; size: number | undefined }> = [];
    for (const run of plan.runs) {
      await session.run("thumbnails", run.arguments, limits, run.seeks);
      const made = await Promise.all(plan.files.thumbnails.slice(run.first, run.first + run.count).map(sizeOf));
      thumbnails.push(...made);
      // Times only grow: past the last frame here, past it in every later run too.
      if (made.some((t) => !(t.size !== undefined && t.size > 0))) break;
    }
    const poster = await sizeOf(plan.files.poster);
    const produced = countLeading(thumbnails, (t) => t.size !== undefined && t.size > 0);
    const problems = missingOrEmpty([poster]);
    if (produced === 0) problems.push(`none of the ${plan.times.length} thumbnails was written`);
    else if (thumbnails.slice(produced).some((t) => t.size !== undefined)) problems.push(`thumbnail ${thumbnails[produced].name} is empty`);
    if (problems.length > 0) throw verificationFailure("thumbnail set", problems);

    const sprite = spriteRun(plan, produced);
    await session.runLocal("sprite", sprite.inputs, sprite.arguments, limits);
    const sheets = await Promise.all(sprite.sheets.map(sizeOf));
    const missingSheets = missingOrEmpty(sheets);
    if (missingSheets.length > 0) throw verificationFailure("thumbnail set", missingSheets);
    if (produced < plan.times.length) session.log.warn("fewer thumbnails than planned (few frames)", { planned: plan.times.length, produced });
    await session.checkOriginalUnchanged();

    await writeFile(file(plan.files.vtt), webVtt(plan, produced), "utf8");
    const display = displaySize(video);
    const posterSize = display === undefined ? undefined : cappedSize(display.width, display.height, 1280);
    const sheetSize = { width: plan.sprite.columns * plan.sprite.cell.width, height: plan.sprite.rows * plan.sprite.cell.height };
    const uploads: Array<Promise<Rendition>> = [
      session.upload("poster", file(plan.files.poster), plan.files.poster, "image/jpeg", { timeInSeconds: plan.posterTime, ...posterSize }),
      ...plan.files.thumbnails.slice(0, produced).map((name, k) => session.upload("thumbnail", file(name), name, "image/jpeg", { timeInSeconds: plan.times[k], ...plan.thumbnail })),
      ...sprite.sheets.map((name) => session.upload("sprite", file(name), name, "image/jpeg", sheetSize)),
      session.upload("sprite-vtt", file(plan.files.vtt), plan.files.vtt, "text/vtt"),
    ];
    const renditions = await Promise.all(uploads);
    session.log.info("thumbnails published", { renditions: renditions.length, thumbnails: produced, poster: renditions[0].sha256 });
    return { outcome: "succeeded", media: probe, renditions, provenance: session.provenance() };
  } catch (error) {
    throw session.failure(error);
  } finally {
    await session.cleanup();
  }
}

function countLeading<T>(items: T[], predicate: (item: T) => boolean): number {
  let n = 0;
  while (n < items.length && predicate(items[n])) n++;
  return n;
}
