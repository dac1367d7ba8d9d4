/**
 * An index of a fragmented MP4 built while its bytes stream past (the join's output on its way
 * to Blob Storage), so the HLS playlist and the join's checks need no second read of a file
 * that may be gigabytes long. Pure and incremental: feed chunks in order, then `end()`.
 *
 * Only the boxes that describe the file are kept in memory: `moov` (tracks: id, handler,
 * timescale, defaults from `trex`, edit list) and each `moof` (per track: `tfdt` base decode
 * time, `trun` sample count and the sum of its sample durations and sizes, whether the first
 * sample is a sync sample). `mdat` payloads are counted, never buffered. Memory is the largest
 * `moof`/`moov` (bounded by {@link Fmp4IndexOptions.maxHeaderBoxBytes}) plus a few numbers per
 * fragment. Box layouts: ISO/IEC 14496-12 (tkhd, mdhd, hdlr, elst, trex, mfhd, tfhd, tfdt, trun).
 */
import { CustodyError } from "../errors";
import { childBoxes, type Mp4Box } from "./mp4-boxes";

export interface Fmp4Track {
  id: number;
  /** The handler type: `vide`, `soun`, … */
  handler: string;
  timescale: number;
  /** trex defaults (used when tfhd and trun give none). */
  defaultSampleDuration: number;
  defaultSampleSize: number;
  defaultSampleFlags: number;
  /** Media time of the first edit (`elst`), in the track's timescale; undefined: no edit list. */
  editMediaTime?: number;
}

export interface Fmp4TrackRun {
  trackId: number;
  /** tfdt: decode time of the fragment's first sample, in the track's timescale. */
  baseMediaDecodeTime: number;
  samples: number;
  /** Sum of the samples' durations, in the track's timescale. */
  duration: number;
  /** Sum of the samples' sizes in bytes. */
  bytes: number;
  /** Whether the first sample is a sync sample (sample_is_non_sync_sample clear). */
  startsWithSync: boolean;
}

export interface Fmp4Fragment {
  /** mfhd sequence number. */
  sequence: number;
  /** Byte offset of the `moof` in the file. */
  offset: number;
  /** Bytes from the `moof` up to the next `moof`, `mfra` or the end of the file. */
  size: number;
  tracks: Fmp4TrackRun[];
}

export interface Fmp4Index {
  /** Bytes before the first `moof` (ftyp + moov): the HLS initialisation section. */
  initSize: number;
  tracks: Fmp4Track[];
  fragments: Fmp4Fragment[];
  totalBytes: number;
  /** Top-level box types in order, consecutive repeats collapsed (`ftyp moov moof mdat moof mdat … mfra`). */
  layout: string[];
}

export interface Fmp4IndexOptions {
  /** Largest `moov` or `moof` accepted (they are held in memory to be parsed); default 16 MiB. */
  maxHeaderBoxBytes?: number;
}

const NON_SYNC = 0x00010000;

/** Feed it the file's bytes in order; `end()` returns the index (or throws when the file is not a complete fragmented MP4). */
export class Fmp4Indexer {
  private readonly maxHeader: number;
  private offset = 0;
  /** Bytes of the current box header or header box body being collected. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The box being read: type, start offset, total size (undefined: size 0, to the end of the file). */
  private box: { type: string; start: number; size: number | undefined; headerSize: number } | undefined;
  /** Bytes of the current box still to skip (mdat and other unparsed boxes). */
  private skip = 0;
  private readonly tracks = new Map<number, Fmp4Track>();
  private readonly fragments: Fmp4Fragment[] = [];
  private readonly layout: string[] = [];
  private initSize: number | undefined;
  private sawMoov = false;

  /** Where the first fragment ends, once the box after it has begun (undefined before). */
  get firstFragmentEnd(): number | undefined {
    const first = this.fragments[0];
    return first === undefined || first.size === 0 ? undefined : first.offset + first.size;
  }

  constructor(options: Fmp4IndexOptions = {}) {
    this.maxHeader = options.maxHeaderBoxBytes ?? 16 * 1024 * 1024;
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        this.offset += n;
        if (this.skip === 0) this.box = undefined;
        continue;
      }
      if (this.box === undefined) {
        // Collect the header: 8 bytes, 16 with a 64-bit size.
        const need = this.headerNeed();
        const n = Math.min(need - this.pendingBytes, chunk.length - at);
        this.collect(chunk.subarray(at, at + n));
        at += n;
        this.offset += n;
        if (this.pendingBytes === this.headerNeed()) this.startBox();
        continue;
      }
      // Collecting a header box's body (moov, moof).
      const body = (this.box.size ?? 0) - this.box.headerSize;
      const n = Math.min(body - this.pendingBytes, chunk.length - at);
      this.collect(chunk.subarray(at, at + n));
      at += n;
      this.offset += n;
      if (this.pendingBytes === body) this.finishHeaderBox();
    }
  }

  end(): Fmp4Index {
    if (this.skip > 0 && Number.isFinite(this.skip)) throw invalid(`the file ends inside its ${this.box?.type ?? "?"} box at byte ${this.offset} (${this.skip} bytes short)`);
    if (this.skip === 0 && this.box !== undefined) throw invalid(`the file ends inside its ${this.box.type} box at byte ${this.offset}`);
    if (this.box === undefined && this.pendingBytes > 0) throw invalid(`the file ends inside a box header at byte ${this.offset}`);
    if (!this.sawMoov) throw invalid("no moov box");
    const last = this.fragments.at(-1);
    if (last !== undefined && last.size === 0) last.size = this.offset - last.offset;
    return { initSize: this.initSize ?? this.offset, tracks: [...this.tracks.values()], fragments: this.fragments, totalBytes: this.offset, layout: this.layout };
  }

  private headerNeed(): number {
    if (this.pendingBytes < 8) return 8;
    return this.peek().readUInt32BE(0) === 1 ? 16 : 8;
  }

  private collect(part: Buffer): void {
    if (part.length === 0) return;
    this.pending.push(part);
    this.pendingBytes += part.length;
  }

  private peek(): Buffer {
    if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0];
  }

  private take(): Buffer {
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return all;
  }

  private startBox(): void {
    const header = this.take();
    const start = this.offset - header.length;
    const size32 = header.readUInt32BE(0);
    const type = header.toString("latin1", 4, 8);
    const size = size32 === 1 ? Number(header.readBigUInt64BE(8)) : size32 === 0 ? undefined : size32;
    if (size !== undefined && size < header.length) throw invalid(`box ${JSON.stringify(type)} at byte ${start} has an impossible size ${size}`);
    if (this.layout.at(-1) !== type) this.layout.push(type);
    this.box = { type, start, size, headerSize: header.length };
    if (type === "moof" || type === "mfra") {
      const last = this.fragments.at(-1);
      if (last !== undefined && last.size === 0) last.size = start - last.offset;
      this.initSize ??= start;
    }
    if (type === "moov" || type === "moof") {
      if (size === undefined) throw invalid(`${type} box at byte ${start} without a size`);
      if (size - header.length > this.maxHeader) throw invalid(`${type} box at byte ${start} is ${size} bytes (more than ${this.maxHeader})`);
      if (size === header.length) this.finishHeaderBox();
      return;
    }
    if (size === undefined) {
      // To the end of the file: skip everything that follows.
      this.skip = Number.POSITIVE_INFINITY;
      return;
    }
    this.skip = size - header.length;
    if (this.skip === 0) this.box = undefined;
  }

  private finishHeaderBox(): void {
    const box = this.box;
    if (box === undefined) return;
    const body = this.take();
    this.box = undefined;
    if (box.type === "moov") {
      if (this.sawMoov) throw invalid("a second moov box");
      this.sawMoov = true;
      this.parseMoov(body);
    } else {
      if (!this.sawMoov) throw invalid(`a moof box at byte ${box.start} before the moov`);
      this.fragments.push(this.parseMoof(body, box.start));
    }
  }

  private parseMoov(body: Buffer): void {
    const trex = new Map<number, { duration: number; size: number; flags: number }>();
    for (const child of boxes(body)) {
      if (child.type === "trak") {
        const track = parseTrak(child.body);
        this.tracks.set(track.id, track);
      } else if (child.type === "mvex") {
        for (const t of boxes(child.body)) {
          if (t.type !== "trex" || t.body.length < 24) continue;
          trex.set(t.body.readUInt32BE(4), { duration: t.body.readUInt32BE(12), size: t.body.readUInt32BE(16), flags: t.body.readUInt32BE(20) });
        }
      }
    }
    for (const [id, defaults] of trex) {
      const track = this.tracks.get(id);
      if (track === undefined) continue;
      track.defaultSampleDuration = defaults.duration;
      track.defaultSampleSize = defaults.size;
      track.defaultSampleFlags = defaults.flags;
    }
  }

  private parseMoof(body: Buffer, offset: number): Fmp4Fragment {
    let sequence = -1;
    const runs: Fmp4TrackRun[] = [];
    for (const child of boxes(body)) {
      if (child.type === "mfhd" && child.body.length >= 8) sequence = child.body.readUInt32BE(4);
      if (child.type === "traf") runs.push(this.parseTraf(child.body, offset));
    }
    return { sequence, offset, size: 0, tracks: runs };
  }

  private parseTraf(body: Buffer, moofOffset: number): Fmp4TrackRun {
    let trackId = -1;
    let defaults = { duration: 0, size: 0, flags: 0 };
    let base: number | undefined;
    const run = { samples: 0, duration: 0, bytes: 0, startsWithSync: false };
    let first = true;
    for (const child of boxes(body)) {
      const b = child.body;
      if (child.type === "tfhd") {
        const flags = b.readUInt32BE(0) & 0xffffff;
        trackId = b.readUInt32BE(4);
        const track = this.tracks.get(trackId);
        if (track === undefined) throw invalid(`a fragment at byte ${moofOffset} names track ${trackId}, which the moov does not have`);
        defaults = { duration: track.defaultSampleDuration, size: track.defaultSampleSize, flags: track.defaultSampleFlags };
        let at = 8;
        if (flags & 0x1) at += 8;
        if (flags & 0x2) at += 4;
        if (flags & 0x8) {
          defaults.duration = b.readUInt32BE(at);
          at += 4;
        }
        if (flags & 0x10) {
          defaults.size = b.readUInt32BE(at);
          at += 4;
        }
        if (flags & 0x20) defaults.flags = b.readUInt32BE(at);
      } else if (child.type === "tfdt") {
        base = b.readUInt8(0) === 1 ? Number(b.readBigUInt64BE(4)) : b.readUInt32BE(4);
      } else if (child.type === "trun") {
        const flags = b.readUInt32BE(0) & 0xffffff;
        const count = b.readUInt32BE(4);
        let at = 8;
        if (flags & 0x1) at += 4;
        let firstFlags: number | undefined;
        if (flags & 0x4) {
          firstFlags = b.readUInt32BE(at);
          at += 4;
        }
        const perSample = 4 * [0x100, 0x200, 0x400, 0x800].filter((f) => flags & f).length;
        if (at + count * perSample > b.length) throw invalid(`a trun at fragment byte ${moofOffset} claims ${count} samples but is only ${b.length} bytes`);
        for (let i = 0; i < count; i++) {
          let duration = defaults.duration;
          let size = defaults.size;
          let sampleFlags = i === 0 && firstFlags !== undefined ? firstFlags : defaults.flags;
          if (flags & 0x100) {
            duration = b.readUInt32BE(at);
            at += 4;
          }
          if (flags & 0x200) {
            size = b.readUInt32BE(at);
            at += 4;
          }
          if (flags & 0x400) {
            if (!(i === 0 && firstFlags !== undefined)) sampleFlags = b.readUInt32BE(at);
            at += 4;
          }
          if (flags & 0x800) at += 4;
          if (first) {
            run.startsWithSync = (sampleFlags & NON_SYNC) === 0;
            first = false;
          }
          run.duration += duration;
          run.bytes += size;
        }
        run.samples += count;
      }
    }
    if (trackId < 0) throw invalid(`a traf without tfhd in the fragment at byte ${moofOffset}`);
    if (base === undefined) throw invalid(`the fragment at byte ${moofOffset} has no tfdt for track ${trackId}`);
    return { trackId, baseMediaDecodeTime: base, ...run };
  }
}

/** Indexes a whole buffer (tests, small files). */
export function indexFmp4(bytes: Buffer, options?: Fmp4IndexOptions): Fmp4Index {
  const indexer = new Fmp4Indexer(options);
  indexer.push(bytes);
  return indexer.end();
}

/** The track with this handler (`vide`, `soun`), if exactly one. */
export function trackOf(index: Fmp4Index, handler: string): Fmp4Track | undefined {
  const found = index.tracks.filter((t) => t.handler === handler);
  return found.length === 1 ? found[0] : undefined;
}

/** One track's totals over all fragments: samples, duration (timescale units), first and end decode times. */
export function trackTotals(index: Fmp4Index, trackId: number): { samples: number; duration: number; start: number | undefined; end: number | undefined } {
  let samples = 0;
  let duration = 0;
  let start: number | undefined;
  let end: number | undefined;
  for (const fragment of index.fragments) {
    for (const run of fragment.tracks) {
      if (run.trackId !== trackId) continue;
      samples += run.samples;
      duration += run.duration;
      start ??= run.baseMediaDecodeTime;
      end = run.baseMediaDecodeTime + run.duration;
    }
  }
  return { samples, duration, start, end };
}

function parseTrak(body: Buffer): Fmp4Track {
  const track: Fmp4Track = { id: -1, handler: "", timescale: 0, defaultSampleDuration: 0, defaultSampleSize: 0, defaultSampleFlags: 0 };
  for (const child of boxes(body)) {
    if (child.type === "tkhd") track.id = child.body.readUInt8(0) === 1 ? child.body.readUInt32BE(20) : child.body.readUInt32BE(12);
    if (child.type === "edts") {
      for (const e of boxes(child.body)) {
        if (e.type !== "elst" || e.body.length < 8 || e.body.readUInt32BE(4) === 0) continue;
        const v1 = e.body.readUInt8(0) === 1;
        // Entries: segment_duration, media_time (signed); the first non-empty edit (media_time ≥ 0) is where presentation starts.
        const count = e.body.readUInt32BE(4);
        for (let i = 0, at = 8; i < count; i++, at += v1 ? 20 : 12) {
          const mediaTime = v1 ? Number(e.body.readBigInt64BE(at + 8)) : e.body.readInt32BE(at + 4);
          if (mediaTime >= 0) {
            track.editMediaTime = mediaTime;
            break;
          }
        }
      }
    }
    if (child.type === "mdia") {
      for (const m of boxes(child.body)) {
        if (m.type === "mdhd") track.timescale = m.body.readUInt8(0) === 1 ? m.body.readUInt32BE(20) : m.body.readUInt32BE(12);
        if (m.type === "hdlr") track.handler = m.body.toString("latin1", 8, 12);
      }
    }
  }
  if (track.id < 0 || track.timescale <= 0) throw invalid("a trak without tkhd or mdhd");
  return track;
}

/** Child boxes of a box body. */
function boxes(body: Buffer): Generator<Mp4Box> {
  return childBoxes(body, invalid);
}

function invalid(why: string): CustodyError {
  return new CustodyError("OutputVerificationFailed", `The joined proxy is not a well-formed fragmented MP4: ${why}.`);
}
