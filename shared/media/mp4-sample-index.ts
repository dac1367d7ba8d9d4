/**
 * One track's sample table, read from an MP4/MOV `moov` once: every sample's decode time,
 * composition offset, size and file offset, and which samples are sync samples. Pure.
 *
 * Why not ffmpeg's: every `-i` of an MP4 parses the whole `moov` again (all tracks, ~0.2 s and
 * ~22 MB for 2 hours, growing with the length), so N input-side seeks cost N parses. Reading
 * the table here once lets the thumbnail stage fetch only the frames it needs
 * (shared/media/thumbnail-excerpt.ts). Why not a library: mp4box.js builds an object per sample
 * of every track (286 MB of heap and 1.1 s for a 2-hour recording, linear in length); this keeps
 * one track in typed arrays (~24 bytes per sample: 26 MB for 10 hours at 30 fps).
 *
 * Only what a plain, progressive MP4 holds is indexed; anything else is `unsupported` with the
 * reason, and the caller takes its other path (input-side seeks): fragmented files (`mvex`),
 * compact sample sizes (`stz2`), several sample descriptions, edit lists with more than one
 * edit that is not empty, more samples than {@link MAX_INDEXED_SAMPLES}. Box layouts: ISO/IEC
 * 14496-12 §8 (tkhd, mdhd, hdlr, elst, stts, ctts, stss, stsz, stsc, stco, co64).
 */
import { childBox, childBoxes, type Mp4Box } from "./mp4-boxes";

/** 10⁷ samples: over 90 hours at 30 fps. */
export const MAX_INDEXED_SAMPLES = 10_000_000;

export interface Mp4SampleIndex {
  /** Position of the track among the `moov`'s `trak` boxes (ffmpeg's stream index). */
  ordinal: number;
  trackId: number;
  handler: string;
  timescale: number;
  count: number;
  /** Decode time of each sample (timescale units, from 0). */
  dts: Float64Array;
  /** Composition offset of each sample: presentation time = dts + offset. */
  ctsOffsets: Int32Array;
  sizes: Uint32Array;
  /** Where each sample's bytes start in the file. */
  offsets: Float64Array;
  /** Sync samples (0-based, ascending); undefined: every sample is one (no `stss`). */
  sync: Uint32Array | undefined;
  /** Duration of the last sample (its `stts` delta). */
  lastDuration: number;
  /** Presentation starts at this composition time (the edit list's media time, else the earliest). */
  presentationStart: number;
  minCtsOffset: number;
  maxCtsOffset: number;
  /** The track's own boxes, whole, for an excerpt of it (tkhd holds the rotation; stsd the codec set-up). */
  boxes: { tkhd: Buffer; mdhd: Buffer; hdlr: Buffer; stsd: Buffer; vmhd?: Buffer };
}

export type Mp4IndexResult = { kind: "indexed"; index: Mp4SampleIndex } | { kind: "unsupported"; reason: string };

class Unsupported extends Error {}

const unsupported = (why: string): Error => new Unsupported(why);

/** The sample table of the `ordinal`-th track of `moov` (its body, after the box header). */
export function indexMp4Track(moov: Buffer, ordinal: number): Mp4IndexResult {
  try {
    return { kind: "indexed", index: indexTrack(moov, ordinal) };
  } catch (error) {
    if (error instanceof Unsupported) return { kind: "unsupported", reason: error.message };
    // A table that contradicts itself (a buffer read past its end): not a file to excerpt.
    if (error instanceof RangeError) return { kind: "unsupported", reason: `a sample table is cut short (${error.message})` };
    throw error;
  }
}

function indexTrack(moov: Buffer, ordinal: number): Mp4SampleIndex {
  let trak: Mp4Box | undefined;
  let n = 0;
  for (const child of childBoxes(moov, unsupported)) {
    if (child.type === "mvex") throw unsupported("a fragmented MP4 (mvex)");
    if (child.type === "trak" && n++ === ordinal) trak = child;
  }
  if (trak === undefined) throw unsupported(`no track ${ordinal}`);
  const need = (body: Buffer, type: string): Mp4Box => childBox(body, type, unsupported) ?? throwUnsupported(`no ${type}`);
  const tkhd = need(trak.body, "tkhd");
  const mdia = need(trak.body, "mdia");
  const mdhd = need(mdia.body, "mdhd");
  const hdlr = need(mdia.body, "hdlr");
  const minf = need(mdia.body, "minf");
  const stbl = need(minf.body, "stbl");
  const stsd = need(stbl.body, "stsd");
  if (stsd.body.readUInt32BE(4) !== 1) throw unsupported("several sample descriptions");
  if (childBox(stbl.body, "stz2", unsupported) !== undefined) throw unsupported("compact sample sizes (stz2)");
  const timescale = mdhd.body.readUInt8(0) === 1 ? mdhd.body.readUInt32BE(20) : mdhd.body.readUInt32BE(12);
  if (!(timescale > 0)) throw unsupported("a zero timescale");
  const trackId = tkhd.body.readUInt8(0) === 1 ? tkhd.body.readUInt32BE(20) : tkhd.body.readUInt32BE(12);

  const sizes = readSizes(need(stbl.body, "stsz").body);
  const count = sizes.length;
  if (count === 0) throw unsupported("no samples");
  const { dts, lastDuration } = readDecodeTimes(need(stbl.body, "stts").body, count);
  const ctsOffsets = readCompositionOffsets(childBox(stbl.body, "ctts", unsupported)?.body, count);
  const stss = childBox(stbl.body, "stss", unsupported);
  const sync = stss === undefined ? undefined : readSync(stss.body, count);
  const chunkOffsets = readChunkOffsets(childBox(stbl.body, "stco", unsupported) ?? childBox(stbl.body, "co64", unsupported) ?? throwUnsupported("no stco or co64"));
  const offsets = readSampleOffsets(need(stbl.body, "stsc").body, chunkOffsets, sizes);

  let minCtsOffset = 0;
  let maxCtsOffset = 0;
  let earliest = Infinity;
  for (let i = 0; i < count; i++) {
    minCtsOffset = Math.min(minCtsOffset, ctsOffsets[i]);
    maxCtsOffset = Math.max(maxCtsOffset, ctsOffsets[i]);
    earliest = Math.min(earliest, dts[i] + ctsOffsets[i]);
  }
  const edit = childBox(trak.body, "edts", unsupported);
  const mediaTime = edit === undefined ? undefined : editMediaTime(edit.body);
  const vmhd = childBox(minf.body, "vmhd", unsupported);
  return {
    ordinal,
    trackId,
    handler: hdlr.body.toString("latin1", 8, 12),
    timescale,
    count,
    dts,
    ctsOffsets,
    sizes,
    offsets,
    sync,
    lastDuration,
    presentationStart: mediaTime ?? earliest,
    minCtsOffset,
    maxCtsOffset,
    boxes: { tkhd: tkhd.whole, mdhd: mdhd.whole, hdlr: hdlr.whole, stsd: stsd.whole, ...(vmhd === undefined ? {} : { vmhd: vmhd.whole }) },
  };
}

function throwUnsupported(why: string): never {
  throw unsupported(why);
}

function readSizes(stsz: Buffer): Uint32Array {
  const uniform = stsz.readUInt32BE(4);
  const count = stsz.readUInt32BE(8);
  if (count > MAX_INDEXED_SAMPLES) throw unsupported(`${count} samples (more than ${MAX_INDEXED_SAMPLES})`);
  const sizes = new Uint32Array(count);
  if (uniform !== 0) sizes.fill(uniform);
  else for (let i = 0; i < count; i++) sizes[i] = stsz.readUInt32BE(12 + i * 4);
  return sizes;
}

function readDecodeTimes(stts: Buffer, count: number): { dts: Float64Array; lastDuration: number } {
  const dts = new Float64Array(count);
  const entries = stts.readUInt32BE(4);
  let i = 0;
  let t = 0;
  let delta = 0;
  for (let e = 0; e < entries && i < count; e++) {
    const run = stts.readUInt32BE(8 + e * 8);
    delta = stts.readUInt32BE(12 + e * 8);
    for (let k = 0; k < run && i < count; k++, i++) {
      dts[i] = t;
      t += delta;
    }
  }
  if (i < count) throw unsupported(`stts covers ${i} of ${count} samples`);
  return { dts, lastDuration: delta };
}

function readCompositionOffsets(ctts: Buffer | undefined, count: number): Int32Array {
  const offsets = new Int32Array(count);
  if (ctts === undefined) return offsets;
  const entries = ctts.readUInt32BE(4);
  let i = 0;
  for (let e = 0; e < entries && i < count; e++) {
    const run = ctts.readUInt32BE(8 + e * 8);
    // Signed in both versions, as ffmpeg reads them (some writers put negative offsets in version 0).
    const offset = ctts.readInt32BE(12 + e * 8);
    for (let k = 0; k < run && i < count; k++, i++) offsets[i] = offset;
  }
  return offsets;
}

function readSync(stss: Buffer, count: number): Uint32Array {
  const entries = stss.readUInt32BE(4);
  const sync = new Uint32Array(entries);
  for (let e = 0; e < entries; e++) {
    const sample = stss.readUInt32BE(8 + e * 4) - 1;
    if (sample >= count || (e > 0 && sample <= sync[e - 1])) throw unsupported("stss out of order or past the last sample");
    sync[e] = sample;
  }
  if (entries === 0) throw unsupported("no sync sample");
  return sync;
}

function readChunkOffsets(box: Mp4Box): Float64Array {
  const entries = box.body.readUInt32BE(4);
  const offsets = new Float64Array(entries);
  const wide = box.type === "co64";
  for (let e = 0; e < entries; e++) offsets[e] = wide ? Number(box.body.readBigUInt64BE(8 + e * 8)) : box.body.readUInt32BE(8 + e * 4);
  return offsets;
}

function readSampleOffsets(stsc: Buffer, chunkOffsets: Float64Array, sizes: Uint32Array): Float64Array {
  const offsets = new Float64Array(sizes.length);
  const entries = stsc.readUInt32BE(4);
  let i = 0;
  for (let e = 0; e < entries; e++) {
    const firstChunk = stsc.readUInt32BE(8 + e * 12) - 1;
    const perChunk = stsc.readUInt32BE(12 + e * 12);
    if (stsc.readUInt32BE(16 + e * 12) !== 1) throw unsupported("a sample description other than the first");
    const endChunk = e + 1 < entries ? stsc.readUInt32BE(20 + e * 12) - 1 : chunkOffsets.length;
    for (let c = firstChunk; c < endChunk && i < sizes.length; c++) {
      let at = chunkOffsets[c];
      for (let k = 0; k < perChunk && i < sizes.length; k++, i++) {
        offsets[i] = at;
        at += sizes[i];
      }
    }
  }
  if (i < sizes.length) throw unsupported(`the chunks hold ${i} of ${sizes.length} samples`);
  return offsets;
}

/** The media time presentation starts at: empty edits (a delay) are skipped; more than one real edit is unsupported. */
function editMediaTime(edts: Buffer): number | undefined {
  const elst = childBox(edts, "elst", unsupported);
  if (elst === undefined) return undefined;
  const v1 = elst.body.readUInt8(0) === 1;
  const entries = elst.body.readUInt32BE(4);
  const real: number[] = [];
  for (let e = 0, at = 8; e < entries; e++, at += v1 ? 20 : 12) {
    const mediaTime = v1 ? Number(elst.body.readBigInt64BE(at + 8)) : elst.body.readInt32BE(at + 4);
    if (mediaTime >= 0) real.push(mediaTime);
  }
  if (real.length > 1) throw unsupported(`an edit list of ${real.length} edits`);
  return real[0];
}

/** Presentation (composition) time of sample `i`. */
export function presentationTime(index: Mp4SampleIndex, i: number): number {
  return index.dts[i] + index.ctsOffsets[i];
}

/**
 * The first frame shown at or after composition time `time`: the sample with the least
 * presentation time ≥ `time`; undefined when every frame is before it. Binary search on the
 * decode times, then a scan bounded by the composition offsets' spread (the reordering window).
 */
export function frameAtOrAfter(index: Mp4SampleIndex, time: number): number | undefined {
  const { dts, count } = index;
  let lo = 0;
  let hi = count;
  const from = time - index.maxCtsOffset;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (dts[mid] < from) lo = mid + 1;
    else hi = mid;
  }
  let best: number | undefined;
  let bestTime = Infinity;
  for (let i = lo; i < count && dts[i] + index.minCtsOffset <= bestTime; i++) {
    const t = presentationTime(index, i);
    if (t >= time && t < bestTime) {
      best = i;
      bestTime = t;
    }
  }
  return best;
}

/**
 * The sync sample to start decoding at to show sample `i`: the last one at or before it in
 * decode order that is not shown after it (a frame shown before its group's sync sample may
 * depend on the group before, so its group starts one sync sample earlier).
 */
export function syncSampleFor(index: Mp4SampleIndex, i: number): number {
  const { sync } = index;
  if (sync === undefined) return i;
  let k = syncSamplesUpTo(sync, i) - 1;
  while (k > 0 && presentationTime(index, sync[k]) > presentationTime(index, i)) k--;
  return k < 0 ? 0 : sync[k];
}

/** Whether sample `i` is a sync sample. */
export function isSyncSample(index: Mp4SampleIndex, i: number): boolean {
  const { sync } = index;
  if (sync === undefined) return true;
  const k = syncSamplesUpTo(sync, i) - 1;
  return k >= 0 && sync[k] === i;
}

/** How many sync samples are at or before sample `i` (binary search in the ascending list). */
function syncSamplesUpTo(sync: Uint32Array, i: number): number {
  let lo = 0;
  let hi = sync.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sync[mid] <= i) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
