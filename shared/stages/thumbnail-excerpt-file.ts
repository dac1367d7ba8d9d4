/**
 * The thumbnail stage's way to its frames in time independent of the recording's length: the
 * MP4's sample table is read once (range reads of the `moov` only), and just the groups of
 * pictures the images need are copied into a small local MP4 (shared/media/thumbnail-excerpt.ts)
 * that one ffmpeg run decodes. ffmpeg's own input-side seeks parse the whole `moov` on every
 * open — ~0.2 s per image for 2 hours, ~1 s for 10 — so N images cost N parses.
 *
 * Anything this does not cover (another container, a fragmented MP4, an unusual sample table, a
 * `moov` over {@link MAX_MOOV_BYTES}, groups of pictures too long to copy) returns `seeks` with
 * the reason: the stage then takes the input-side seeks, which work on any container.
 */
import { open } from "node:fs/promises";
import type { MediaStreamInfo } from "../media/probe";
import { boxHeader } from "../media/mp4-boxes";
import { indexMp4Track, type Mp4SampleIndex } from "../media/mp4-sample-index";
import { excerptHeader, planExcerpt, presentPieces, readSpan, type ThumbnailExcerpt, type ThumbnailExcerptOptions } from "../media/thumbnail-excerpt";
import type { MediaProbe } from "../media/probe";
import type { MediaSession } from "./media-session";

/** 256 MiB: the index of some 80 hours of 30 fps video with AAC audio. */
export const MAX_MOOV_BYTES = 256 * 1024 * 1024;
/** Top-level boxes walked looking for the `moov` (ftyp, free, mdat, udta, uuid … are a handful). */
const MAX_TOP_LEVEL_BOXES = 4096;

export type ExcerptSource = { kind: "excerpt"; file: string; excerpt: ThumbnailExcerpt; index: Mp4SampleIndex } | { kind: "seeks"; reason: string };

export async function writeThumbnailExcerpt(
  session: MediaSession,
  probe: MediaProbe,
  video: MediaStreamInfo,
  timesInSeconds: readonly number[],
  file: string,
  options?: ThumbnailExcerptOptions,
): Promise<ExcerptSource> {
  if (!/(^|,)(mov|mp4)(,|$)/.test(probe.container)) return { kind: "seeks", reason: `a ${probe.container} container` };
  const started = new Date().toISOString();
  const size = await session.originalSize();
  const moov = await findMoov(session, size);
  if (moov.kind === "none") return { kind: "seeks", reason: moov.reason };
  const indexed = indexMp4Track(moov.body, video.index);
  if (indexed.kind === "unsupported") return { kind: "seeks", reason: indexed.reason };
  const index = indexed.index;
  if (index.handler !== "vide") return { kind: "seeks", reason: `track ${video.index} is ${JSON.stringify(index.handler)}, not video` };
  const plan = planExcerpt(index, timesInSeconds, options);
  if (plan.kind === "too-large") return { kind: "seeks", reason: plan.reason };
  const { excerpt } = plan;

  const out = await open(file, "w");
  try {
    await out.write(excerptHeader(index, excerpt));
    for (const piece of presentPieces(excerpt)) {
      const span = readSpan(index, piece.first, piece.last);
      const bytes = await session.readOriginal(span.offset, span.length);
      for (let i = piece.first; i <= piece.last; i++) {
        const at = index.offsets[i] - span.offset;
        await out.write(bytes.subarray(at, at + index.sizes[i]));
      }
    }
  } finally {
    await out.close();
  }
  session.record(
    "excerpt",
    [
      `moov at ${moov.offset}, ${moov.body.length} bytes`,
      `track ${index.ordinal} (id ${index.trackId}), ${index.count} samples`,
      `${excerpt.samples} samples, ${excerpt.bytes} bytes`,
      // Decode-order sample ranges of the original, one per image (poster first).
      ...excerpt.pieces.map((p) => (p === undefined ? "none" : `${p.first}-${p.last}`)),
    ],
    started,
  );
  return { kind: "excerpt", file, excerpt, index };
}

type MoovSearch = { kind: "found"; offset: number; body: Buffer } | { kind: "none"; reason: string };

/** Walks the top-level boxes (16-byte range reads) to the `moov` and reads its body. */
async function findMoov(session: MediaSession, size: number): Promise<MoovSearch> {
  let at = 0;
  for (let n = 0; n < MAX_TOP_LEVEL_BOXES && at + 8 <= size; n++) {
    const header = boxHeader(await session.readOriginal(at, Math.min(16, size - at)), size - at);
    if (header === undefined) return { kind: "none", reason: `no well-formed box at byte ${at}` };
    if (header.type === "moov") {
      if (header.size > MAX_MOOV_BYTES) return { kind: "none", reason: `a moov of ${header.size} bytes (more than ${MAX_MOOV_BYTES})` };
      return { kind: "found", offset: at, body: await session.readOriginal(at + header.headerSize, header.size - header.headerSize) };
    }
    at += header.size;
  }
  return { kind: "none", reason: "no moov" };
}
