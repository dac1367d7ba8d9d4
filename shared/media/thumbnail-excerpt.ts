/**
 * The frames a thumbnail set shows, cut out of an MP4 without ffmpeg reading its index: for
 * each wanted frame, the samples from the sync sample its group starts at up to it (decode
 * order) — a "piece" —, laid one after the other in a small local MP4 that ffmpeg decodes in
 * one run and picks the wanted frames from by their presentation time. Pure: the stage reads
 * the bytes (shared/stages/thumbnail-stage.ts).
 *
 * - Every piece starts at a sync sample, so it decodes on its own; pieces are never merged,
 *   so each wanted frame appears exactly once (two thumbnails of one frame are two pieces).
 * - Pieces keep their samples' decode-time steps and composition offsets; piece p+1 starts
 *   after everything piece p shows, so presentation times only grow and every wanted frame's
 *   time in the excerpt is known here exactly.
 * - The excerpt is `ftyp` + `moov` (one track: the original's tkhd — its rotation —, mdhd,
 *   hdlr, vmhd and stsd copied byte for byte; new sample tables, one sample per chunk) + `mdat`.
 *   No edit list: times are the excerpt's own.
 * - Its size is the wanted groups of pictures (half a group per thumbnail on average: tens of
 *   MB for 121 frames of 1080p), whatever the recording's length; past
 *   {@link ThumbnailExcerptOptions.maxBytes} (very long groups) the caller seeks instead.
 */
import { type Mp4SampleIndex, frameAtOrAfter, isSyncSample, presentationTime, syncSampleFor } from "./mp4-sample-index";
import { uint32s, writeBox, writeFullBox } from "./mp4-boxes";

export interface ThumbnailExcerptOptions {
  /** Most bytes of samples the excerpt may hold (local disk). */
  maxBytes: number;
  /** Most bytes one piece's read may span in the original (its samples and what lies between them). */
  maxReadBytes: number;
}

export const DEFAULT_EXCERPT_OPTIONS: ThumbnailExcerptOptions = { maxBytes: 192 * 1024 * 1024, maxReadBytes: 64 * 1024 * 1024 };

export interface ExcerptPiece {
  /** Samples [first, last] of the original track, in decode order. */
  first: number;
  last: number;
  /** The wanted frame's presentation time in the excerpt (timescale units) — what ffmpeg's `select` matches. */
  excerptTime: number;
  /** The wanted frame's presentation time in the original, seconds from the start of presentation. */
  timeInSeconds: number;
}

export interface ThumbnailExcerpt {
  /** One per wanted time, in order; undefined where the recording has no frame at or after it. */
  pieces: Array<ExcerptPiece | undefined>;
  /** Bytes of samples (the `mdat` payload). */
  bytes: number;
  samples: number;
}

export type ExcerptPlan = { kind: "excerpt"; excerpt: ThumbnailExcerpt } | { kind: "too-large"; reason: string };

/** Pieces for frames at `timesInSeconds` (from the start of presentation). */
export function planExcerpt(index: Mp4SampleIndex, timesInSeconds: readonly number[], options: ThumbnailExcerptOptions = DEFAULT_EXCERPT_OPTIONS): ExcerptPlan {
  const pieces: Array<ExcerptPiece | undefined> = [];
  let bytes = 0;
  let samples = 0;
  // Excerpt decode time where the next piece starts.
  let next = 0;
  for (const seconds of timesInSeconds) {
    const wanted = frameAtOrAfter(index, index.presentationStart + Math.round(seconds * index.timescale));
    if (wanted === undefined) {
      pieces.push(undefined);
      continue;
    }
    const first = syncSampleFor(index, wanted);
    const span = readSpan(index, first, wanted);
    if (span.length > options.maxReadBytes) return { kind: "too-large", reason: `one frame needs ${span.length} bytes of the original read (more than ${options.maxReadBytes})` };
    for (let i = first; i <= wanted; i++) bytes += index.sizes[i];
    if (bytes > options.maxBytes) return { kind: "too-large", reason: `the frames need more than ${options.maxBytes} bytes of samples` };
    samples += wanted - first + 1;
    // Shift so that this piece's earliest presentation is after everything before it.
    let latest = -Infinity;
    for (let i = first; i <= wanted; i++) latest = Math.max(latest, presentationTime(index, i));
    const shift = next - index.dts[first];
    pieces.push({
      first,
      last: wanted,
      excerptTime: presentationTime(index, wanted) + shift,
      timeInSeconds: (presentationTime(index, wanted) - index.presentationStart) / index.timescale,
    });
    // The next piece starts after this one's last decode time and after all it shows (less the
    // next piece's most negative offset), one frame's step later.
    const step = Math.max(1, index.lastDuration);
    next = Math.max(index.dts[wanted] + shift + step, latest + shift + step - Math.min(0, index.minCtsOffset));
  }
  return { kind: "excerpt", excerpt: { pieces, bytes, samples } };
}

/** The byte range of the original one piece is read from, and where each of its samples lies in it. */
export function readSpan(index: Mp4SampleIndex, first: number, last: number): { offset: number; length: number } {
  let start = Infinity;
  let end = 0;
  for (let i = first; i <= last; i++) {
    start = Math.min(start, index.offsets[i]);
    end = Math.max(end, index.offsets[i] + index.sizes[i]);
  }
  return { offset: start, length: end - start };
}

/** The pieces that exist, in order. */
export function presentPieces(excerpt: ThumbnailExcerpt): ExcerptPiece[] {
  return excerpt.pieces.filter((p): p is ExcerptPiece => p !== undefined);
}

/**
 * The excerpt's bytes before its samples: `ftyp`, `moov`, and the `mdat` header. The samples
 * follow in piece order, each piece's in decode order.
 */
export function excerptHeader(index: Mp4SampleIndex, excerpt: ThumbnailExcerpt): Buffer {
  const pieces = presentPieces(excerpt);
  const count = excerpt.samples;
  const deltas: number[] = [];
  const offsets: number[] = [];
  const sizes: number[] = [];
  const sync: number[] = [];
  let n = 0;
  let decodeTime = 0;
  for (let p = 0; p < pieces.length; p++) {
    const piece = pieces[p];
    const shift = piece.excerptTime - presentationTime(index, piece.last);
    for (let i = piece.first; i <= piece.last; i++, n++) {
      const here = index.dts[i] + shift;
      if (n > 0) deltas.push(here - decodeTime);
      decodeTime = here;
      offsets.push(index.ctsOffsets[i]);
      sizes.push(index.sizes[i]);
      if (i === piece.first || isSyncSample(index, i)) sync.push(n + 1);
    }
  }
  deltas.push(Math.max(1, index.lastDuration));
  const dtsSteps = runs(deltas);
  const duration = deltas.reduce((a, b) => a + b, 0);
  const negative = offsets.some((o) => o < 0);
  const ctts = runs(offsets);

  const ftyp = writeBox("ftyp", Buffer.from("isom", "latin1"), uint32s([0x200]), Buffer.from("isomiso2mp41", "latin1"));
  const stbl = writeBox(
    "stbl",
    index.boxes.stsd,
    writeFullBox("stts", 0, 0, uint32s([dtsSteps.length]), ...dtsSteps.map(([run, v]) => uint32s([run, v]))),
    writeFullBox("ctts", negative ? 1 : 0, 0, uint32s([ctts.length]), ...ctts.map(([run, v]) => int32Pair(run, v))),
    writeFullBox("stss", 0, 0, uint32s([sync.length, ...sync])),
    writeFullBox("stsz", 0, 0, uint32s([0, count]), uint32s(sizes)),
    writeFullBox("stsc", 0, 0, uint32s([1, 1, 1, 1])),
    // Chunk offsets are filled below, once the moov's size is known (one sample per chunk).
    writeFullBox("stco", 0, 0, uint32s([count]), Buffer.alloc(count * 4)),
  );
  const dinf = writeBox("dinf", writeFullBox("dref", 0, 0, uint32s([1]), writeFullBox("url ", 0, 1)));
  const minf = writeBox("minf", ...(index.boxes.vmhd === undefined ? [] : [index.boxes.vmhd]), dinf, stbl);
  const mdia = writeBox("mdia", index.boxes.mdhd, index.boxes.hdlr, minf);
  const moov = writeBox("moov", movieHeader(index.timescale, duration), writeBox("trak", index.boxes.tkhd, mdia));
  const mdatHeader = Buffer.alloc(8);
  mdatHeader.writeUInt32BE(8 + excerpt.bytes, 0);
  mdatHeader.write("mdat", 4, 4, "latin1");
  const header = Buffer.concat([ftyp, moov, mdatHeader]);
  // stco is the last box of the moov: its entries end where the moov ends.
  let at = header.length;
  const stcoEntries = ftyp.length + moov.length - count * 4;
  for (let k = 0; k < count; k++) {
    header.writeUInt32BE(at, stcoEntries + k * 4);
    at += sizes[k];
  }
  return header;
}

/** Run-length pairs [count, value]. */
function runs(values: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const v of values) {
    const last = out.at(-1);
    if (last !== undefined && last[1] === v) last[0]++;
    else out.push([1, v]);
  }
  return out;
}

function int32Pair(count: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(count, 0);
  b.writeInt32BE(value, 4);
  return b;
}

/** `mvhd` version 0: times zero, rate 1.0, volume 1.0, identity matrix, next track 2. */
function movieHeader(timescale: number, duration: number): Buffer {
  const body = Buffer.alloc(96);
  body.writeUInt32BE(timescale, 8);
  body.writeUInt32BE(Math.min(duration, 0xffffffff), 12);
  body.writeUInt32BE(0x00010000, 16);
  body.writeUInt16BE(0x0100, 20);
  const matrix = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];
  matrix.forEach((v, k) => body.writeUInt32BE(v, 32 + k * 4));
  body.writeUInt32BE(2, 92);
  return writeFullBox("mvhd", 0, 0, body);
}
