/**
 * The thumbnail stage: a poster frame, N thumbnails over the real duration (N grows with the
 * length, capped), sprite sheets and their WebVTT scrubbing track, under
 * `derived/<evidenceId>/thumbnail/` (poster.jpg, thumb-01.jpg …, sprite.jpg — or sprite-01.jpg …
 * when there are several sheets —, sprite.vtt). Never a decode of the whole recording: an MP4's
 * frames come from one run over a local excerpt of just their groups of pictures (its sample
 * table read once: thumbnail-excerpt-file.ts), any other container's from input-side seeks; see
 * shared/media/thumbnail-plan.ts. The excerpt falls back to the seeks when it cannot be made or
 * its run fails for good, so a recording never fails for the faster way.
 *
 * ffmpeg exits 0 without writing an image when a time is past the last frame, so every file
 * is checked to exist and be non-empty: a missing poster or sprite sheet, or no thumbnail at
 * all, is OutputVerificationFailed. Fewer thumbnails than asked (a clip with very few frames:
 * a seek past its last frame gives nothing, and every later one neither, so the runs after it
 * are not started) are published as they are, with a WebVTT track over the ones that exist.
 *
 * Every JPEG carries Content Credentials (C2PA) before it is uploaded: the original (by its
 * SHA-256, read once while ffmpeg works) as ingredient, ffmpeg and its runs as the action,
 * signed by the evidence signing key (thumbnail-credentials.ts). The WebVTT track is not an image.
 *
 * A recording without video (voice memo, `.m4a`) is `skipped` with "no video stream" — which
 * counts as done for readiness. No stream at all is UnsupportedMedia.
 */
import { rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { EvidenceReceivedMessage, Rendition } from "../contracts/messages";
import { CustodyError, toCustodyError } from "../errors";
import type { MediaProbe, MediaStreamInfo } from "../media/probe";
import { DEFAULT_THUMBNAIL_COUNT, excerptRun, planThumbnails, spriteRun, webVtt, type ThumbnailPlan } from "../media/thumbnail-plan";
import { mediaRunLimits, type MediaRunLimits } from "../media/run-limits";
import { cappedSize, describeStreams, displaySize } from "../media/transcode-plan";
import { missingOrEmpty, verificationFailure } from "../media/verify-output";
import type { ContentCredentials } from "../media/content-credentials";
import { MediaSession, type MediaStageDeps } from "./media-session";
import type { StageWork } from "./report-stage";
import type { StageContext } from "./stage-context";
import { digestOriginal, signImages, type CredentialedImage, type OriginalDigest } from "./thumbnail-credentials";
import { writeThumbnailExcerpt } from "./thumbnail-excerpt-file";

export const NO_VIDEO_SKIP_REASON = "no video stream";

export interface ThumbnailOptions {
  /** The least number of thumbnails per recording (CUSTODY_THUMBNAIL_COUNT); default 8, more for longer ones (thumbnail-plan.ts). */
  count?: number;
  /** How long ffmpeg may make no progress (CUSTODY_MEDIA_STALL_TIMEOUT_MS); default the media tool's (60 s). */
  stallTimeoutInMs?: number;
}

export interface ThumbnailStageDeps extends MediaStageDeps {
  /** Signs each JPEG (Content Credentials) with the evidence signing key under its certificate chain. */
  contentCredentials: ContentCredentials;
}

export async function thumbnailOriginal(input: EvidenceReceivedMessage, deps: ThumbnailStageDeps, context: StageContext, options: ThumbnailOptions = {}): Promise<StageWork> {
  const session = new MediaSession(input, "thumbnail", deps, context);
  let digest: OriginalDigest | undefined;
  try {
    const probe = await session.open();
    const video = probe.primaryVideoIndex === undefined ? undefined : probe.streams.find((s) => s.index === probe.primaryVideoIndex);
    if (video === undefined) {
      if (probe.primaryAudioIndex === undefined) throw new CustodyError("UnsupportedMedia", `No decodable video or audio stream in ${describeStreams(probe)}.`);
      session.log.info("no video stream: thumbnails skipped");
      return { outcome: "skipped", skipReason: NO_VIDEO_SKIP_REASON, media: probe, renditions: [], provenance: session.provenance() };
    }
    digest = digestOriginal(session);
    const dir = await session.tempDir();
    const plan = planThumbnails(probe, video, { count: options.count ?? DEFAULT_THUMBNAIL_COUNT, outputDir: dir });
    const file = (name: string): string => path.join(dir, name);
    const sizeOf = async (name: string) => ({ name, size: await session.sizeOf(file(name)) });
    // A run decodes a group of pictures per image: seconds, whatever the recording's length. The
    // limits are the media tool's (stall window; ceiling at its one-hour floor).
    const limits = mediaRunLimits({ durationInSeconds: 1, video }, options.stallTimeoutInMs);
    const images = (await fromExcerpt(session, probe, video, plan, limits, sizeOf)) ?? (await fromSeeks(session, plan, limits, sizeOf));
    const { thumbnails, poster, produced } = images;
    const problems = missingOrEmpty([poster]);
    if (produced === 0) problems.push(`none of the ${plan.times.length} thumbnails was written`);
    else if (thumbnails.slice(produced).some((t) => t.size !== undefined)) problems.push(`thumbnail ${thumbnails[produced].name} is empty`);
    if (problems.length > 0) throw verificationFailure("thumbnail set", problems);
    const missingSheets = missingOrEmpty(images.sheets);
    if (missingSheets.length > 0) throw verificationFailure("thumbnail set", missingSheets);
    if (produced < plan.times.length) session.log.warn("fewer thumbnails than planned (few frames)", { planned: plan.times.length, produced });
    await session.checkOriginalUnchanged();

    await writeFile(file(plan.files.vtt), webVtt(plan, produced), "utf8");
    const display = displaySize(video);
    const posterSize = display === undefined ? undefined : cappedSize(display.width, display.height, 1280);
    const sheetSize = { width: plan.sprite.columns * plan.sprite.cell.width, height: plan.sprite.rows * plan.sprite.cell.height };
    const size = (s: { width?: number; height?: number } | undefined) => (s?.width === undefined || s.height === undefined ? "" : `, ${s.width}×${s.height}`);
    const credentialed: CredentialedImage[] = [
      {
        kind: "poster",
        file: file(plan.files.poster),
        name: plan.files.poster,
        description: `poster: the frame at ${plan.posterTime} s${size(posterSize)}`,
        purposes: ["thumbnails"],
        parameters: { timeInSeconds: plan.posterTime },
      },
      ...plan.files.thumbnails.slice(0, produced).map((name, k): CredentialedImage => ({
        kind: "thumbnail",
        file: file(name),
        name,
        description: `thumbnail: the frame at ${plan.times[k]} s${size(plan.thumbnail)}`,
        purposes: ["thumbnails"],
        parameters: { timeInSeconds: plan.times[k] },
      })),
      ...images.sheets.map(({ name }): CredentialedImage => ({
        kind: "sprite",
        file: file(name),
        name,
        description: `sprite sheet: ${plan.sprite.columns}×${plan.sprite.rows} thumbnails of ${plan.sprite.cell.width}×${plan.sprite.cell.height}`,
        purposes: ["thumbnails", "sprite"],
      })),
    ];
    await signImages(session, deps.contentCredentials, digest, credentialed);
    const uploads: Array<Promise<Rendition>> = [
      session.upload("poster", file(plan.files.poster), plan.files.poster, "image/jpeg", { timeInSeconds: plan.posterTime, ...posterSize }),
      ...plan.files.thumbnails.slice(0, produced).map((name, k) => session.upload("thumbnail", file(name), name, "image/jpeg", { timeInSeconds: plan.times[k], ...plan.thumbnail })),
      ...images.sheets.map(({ name }) => session.upload("sprite", file(name), name, "image/jpeg", sheetSize)),
      session.upload("sprite-vtt", file(plan.files.vtt), plan.files.vtt, "text/vtt"),
    ];
    const renditions = await Promise.all(uploads);
    session.log.info("thumbnails published", { renditions: renditions.length, thumbnails: produced, poster: renditions[0].sha256 });
    return { outcome: "succeeded", media: probe, renditions, provenance: session.provenance() };
  } catch (error) {
    throw session.failure(error);
  } finally {
    digest?.cancel();
    await session.cleanup();
  }
}

type SizeOf = (name: string) => Promise<{ name: string; size: number | undefined }>;

interface Images {
  poster: { name: string; size: number | undefined };
  /** Every planned thumbnail file, made or not. */
  thumbnails: Array<{ name: string; size: number | undefined }>;
  /** How many leading thumbnails were made. */
  produced: number;
  sheets: Array<{ name: string; size: number | undefined }>;
}

/**
 * The images from one run over an excerpt of the MP4 (stage/thumbnail-excerpt-file.ts); undefined
 * — take the seeks — for a recording it does not cover, and when its run fails for good or
 * makes other images than the excerpt holds (the seeks work on any file; a transient failure is
 * the stage's).
 */
async function fromExcerpt(session: MediaSession, probe: MediaProbe, video: MediaStreamInfo, plan: ThumbnailPlan, limits: MediaRunLimits, sizeOf: SizeOf): Promise<Images | undefined> {
  const source = await writeThumbnailExcerpt(session, probe, video, [plan.posterTime, ...plan.times], path.join(plan.outputDir, "excerpt.mp4"));
  if (source.kind === "seeks") {
    session.log.info("thumbnails by input-side seeks", { reason: source.reason });
    return undefined;
  }
  try {
    const [poster, ...pieces] = source.excerpt.pieces;
    const present = pieces
      .slice(
        0,
        countLeading(pieces, (p) => p !== undefined),
      )
      .filter((p) => p !== undefined);
    if (poster === undefined || present.length === 0) throw new CustodyError("OutputVerificationFailed", "the excerpt holds no poster or no thumbnail frame");
    const run = excerptRun(plan, video, { poster: poster.excerptTime, thumbnails: present.map((p) => p.excerptTime) });
    await session.runLocal("thumbnails", [source.file], run.arguments, limits);
    const images: Images = {
      poster: await sizeOf(plan.files.poster),
      thumbnails: await Promise.all(plan.files.thumbnails.map(sizeOf)),
      produced: 0,
      sheets: await Promise.all(run.sheets.map(sizeOf)),
    };
    images.produced = countLeading(images.thumbnails, (t) => t.size !== undefined && t.size > 0);
    if (images.produced !== present.length || images.thumbnails.slice(present.length).some((t) => t.size !== undefined)) {
      throw new CustodyError("OutputVerificationFailed", `the excerpt run made ${images.produced} thumbnails of ${present.length}`);
    }
    return images;
  } catch (error) {
    const failure = toCustodyError(error);
    if (failure.retryable) throw error;
    session.log.warn("thumbnails from the excerpt failed; taking input-side seeks", { code: failure.code, message: failure.message });
    return undefined;
  } finally {
    await rm(source.file, { force: true });
  }
}

/** The images by input-side seeks into the original (any container): image runs, then the sprite run over their cells. */
async function fromSeeks(session: MediaSession, plan: ThumbnailPlan, limits: MediaRunLimits, sizeOf: SizeOf): Promise<Images> {
  const thumbnails: Images["thumbnails"] = [];
  for (const run of plan.runs) {
    await session.run("thumbnails", run.arguments, limits, run.seeks);
    const made = await Promise.all(plan.files.thumbnails.slice(run.first, run.first + run.count).map(sizeOf));
    thumbnails.push(...made);
    // Times only grow: past the last frame here, past it in every later run too.
    if (made.some((t) => !(t.size !== undefined && t.size > 0))) break;
  }
  const poster = await sizeOf(plan.files.poster);
  const produced = countLeading(thumbnails, (t) => t.size !== undefined && t.size > 0);
  if (produced === 0 || !(poster.size !== undefined && poster.size > 0)) return { poster, thumbnails, produced, sheets: [] };
  const sprite = spriteRun(plan, produced);
  await session.runLocal("sprite", sprite.inputs, sprite.arguments, limits);
  return { poster, thumbnails, produced, sheets: await Promise.all(sprite.sheets.map(sizeOf)) };
}

function countLeading<T>(items: T[], predicate: (item: T) => boolean): number {
  let n = 0;
  while (n < items.length && predicate(items[n])) n++;
  return n;
}
