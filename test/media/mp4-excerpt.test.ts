/**
 * The MP4 sample table read once (shared/media/mp4-sample-index.ts) against what ffprobe reads
 * packet by packet on real files, and the thumbnail excerpt made from it
 * (shared/media/thumbnail-excerpt.ts): read back, probed and decoded by ffmpeg.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { locateMediaBinaries, type MediaBinary } from "../../shared/adapters/ffmpeg/media-binaries";
import { boxHeader } from "../../shared/media/mp4-boxes";
import { frameAtOrAfter, indexMp4Track, presentationTime, syncSampleFor, type Mp4SampleIndex } from "../../shared/media/mp4-sample-index";
import { excerptHeader, planExcerpt, presentPieces, type ThumbnailExcerpt } from "../../shared/media/thumbnail-excerpt";

const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "media");
let bin: Record<"ffmpeg" | "ffprobe", MediaBinary>;
let work: string;

beforeAll(async () => {
  bin = await locateMediaBinaries();
  work = mkdtempSync(path.join(os.tmpdir(), "custody-mp4-excerpt-"));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function generate(name: string, args: string[]): string {
  const out = path.join(work, name);
  execFileSync(bin.ffmpeg.path, ["-v", "error", "-y", ...args, out]);
  return out;
}

/** 20 s of 25 fps H.264 with B-frames (reordered: composition offsets), a keyframe every 2 s, interleaved with AAC. */
function withBFrames(): string {
  return generate("b-frames.mp4", [
    ...["-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=20", "-f", "lavfi", "-i", "sine=f=440:d=20"],
    ...["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "50", "-c:a", "aac", "-shortest"],
  ]);
}

function moovOf(file: string): Buffer {
  const bytes = readFileSync(file);
  for (let at = 0; at < bytes.length;) {
    const header = boxHeader(bytes.subarray(at, at + 16), bytes.length - at)!;
    if (header.type === "moov") return bytes.subarray(at + header.headerSize, at + header.size);
    at += header.size;
  }
  throw new Error("no moov");
}

function indexOf(file: string, ordinal: number): Mp4SampleIndex {
  const result = indexMp4Track(moovOf(file), ordinal);
  if (result.kind !== "indexed") throw new Error(result.reason);
  return result.index;
}

interface Packet {
  pts: number;
  dts: number;
  pos: number;
  size: number;
  key: boolean;
}

function packets(file: string, stream: number): Packet[] {
  const csv = execFileSync(bin.ffprobe.path, ["-v", "error", "-select_streams", String(stream), "-show_entries", "packet=pts,dts,pos,size,flags", "-of", "csv=p=0", file], {
    env: { GCONV_PATH: "/dev/null/none" },
  }).toString();
  return csv
    .trim()
    .split("\n")
    .filter((line) => line !== "") // the AAC packets' side data ends in an empty line
    .map((line) => {
      const [pts, dts, size, pos, flags] = line.split(",");
      return { pts: Number(pts), dts: Number(dts), size: Number(size), pos: Number(pos), key: flags.startsWith("K") };
    });
}

/** Every sample as ffprobe reads it, up to one constant shift of the times (ffprobe applies the edit list). */
function expectSameAsFfprobe(file: string, ordinal: number): Mp4SampleIndex {
  const index = indexOf(file, ordinal);
  const expected = packets(file, ordinal).sort((a, b) => a.pos - b.pos);
  expect(index.count).toBe(expected.length);
  const ours = Array.from({ length: index.count }, (_, i) => ({
    pts: presentationTime(index, i),
    dts: index.dts[i],
    pos: index.offsets[i],
    size: index.sizes[i],
    key: index.sync === undefined || index.sync.includes(i),
  })).sort((a, b) => a.pos - b.pos);
  const shift = expected[0].dts - ours[0].dts;
  expect(ours.map((p) => ({ ...p, pts: p.pts + shift, dts: p.dts + shift }))).toEqual(expected);
  return index;
}

test("the sample table equals ffprobe's packets: H.264 with B-frames interleaved with AAC, rotated HEVC from a phone, a GoPro file with data tracks", () => {
  const bFrames = expectSameAsFfprobe(withBFrames(), 0);
  expect(bFrames.maxCtsOffset).toBeGreaterThan(0);
  expect(bFrames.sync).toHaveLength(10);
  // The phone's tracks: timed metadata (mett), audio, video — ffmpeg numbers its streams in that order.
  const phone = path.join(FIXTURES, "exo_phone_hevc_mett_track_rot90.mp4");
  expect([0, 1, 2].map((ordinal) => expectSameAsFfprobe(phone, ordinal).handler)).toEqual(["meta", "soun", "vide"]);
  expect(expectSameAsFfprobe(path.join(FIXTURES, "gopro_max_heromode_gpmf.mp4"), 0).handler).toBe("vide");
  expect(expectSameAsFfprobe(path.join(FIXTURES, "ft_aac_audio_only.m4a"), 0).handler).toBe("soun");
});

test("what it does not read is said, not guessed: a fragmented MP4, a track that is not there", () => {
  expect(indexMp4Track(moovOf(path.join(FIXTURES, "exo_fragmented_fmp4.mp4")), 0)).toEqual({ kind: "unsupported", reason: "a fragmented MP4 (mvex)" });
  expect(indexMp4Track(moovOf(withBFrames()), 5)).toEqual({ kind: "unsupported", reason: "no track 5" });
});

test("the frame shown at a time and the sync sample its decoding starts at", () => {
  const index = indexOf(withBFrames(), 0);
  const start = index.presentationStart;
  const at = (seconds: number): number => frameAtOrAfter(index, start + seconds * index.timescale)!;
  // 25 fps: frame k is shown at k/25 s; the first frame at or after 3.01 s is the one at 3.04 s.
  expect((presentationTime(index, at(3.01)) - start) / index.timescale).toBeCloseTo(3.04, 6);
  expect((presentationTime(index, at(3)) - start) / index.timescale).toBeCloseTo(3, 6);
  expect(frameAtOrAfter(index, start + 21 * index.timescale)).toBeUndefined();
  // Decoding starts at the keyframe of its group (every 2 s: samples 0, 50, 100 …).
  expect(syncSampleFor(index, at(3.01))).toBe(50);
  expect(syncSampleFor(index, at(4))).toBe(100);
});

function writeExcerpt(file: string, index: Mp4SampleIndex, excerpt: ThumbnailExcerpt): string {
  const bytes = readFileSync(file);
  const samples = presentPieces(excerpt).flatMap((p) =>
    Array.from({ length: p.last - p.first + 1 }, (_, k) => bytes.subarray(index.offsets[p.first + k], index.offsets[p.first + k] + index.sizes[p.first + k])),
  );
  const out = path.join(work, `excerpt-${path.basename(file)}`);
  writeFileSync(out, Buffer.concat([excerptHeader(index, excerpt), ...samples]));
  return out;
}

test("an excerpt reads back as pieces from sync samples whose wanted frames have the times ffmpeg will see; it decodes cleanly and picks exactly those frames", () => {
  const original = withBFrames();
  const index = indexOf(original, 0);
  // Out of order and repeated on purpose: each wanted time is its own piece.
  const times = [1, 0, 3.01, 3.01, 7.5, 19.96, 25];
  const plan = planExcerpt(index, times);
  if (plan.kind !== "excerpt") throw new Error(plan.reason);
  const { pieces } = plan.excerpt;
  expect(pieces[6]).toBeUndefined();
  expect(pieces.slice(0, 6).map((p) => p!.timeInSeconds)).toEqual([1, 0, 3.04, 3.04, 7.52, 19.96].map((t) => expect.closeTo(t, 6) as number));

  const excerptFile = writeExcerpt(original, index, plan.excerpt);
  const back = expectSameAsFfprobe(excerptFile, 0);
  expect(back.count).toBe(plan.excerpt.samples);
  const shown = Array.from({ length: back.count }, (_, i) => presentationTime(back, i));
  let first = 0;
  for (const piece of presentPieces(plan.excerpt)) {
    const length = piece.last - piece.first + 1;
    expect(back.sync).toContain(first);
    // Its frames come after everything the pieces before it show, and the wanted one is where the plan says.
    expect(Math.min(...shown.slice(first, first + length))).toBeGreaterThan(Math.max(-Infinity, ...shown.slice(0, first)));
    expect(shown[first + length - 1]).toBe(piece.excerptTime);
    first += length;
  }
  // ffmpeg decodes it without a complaint and, with the times unshifted, picks one frame per piece.
  const select = presentPieces(plan.excerpt)
    .map((p) => `eq(pts,${p.excerptTime})`)
    .join("+");
  const run = (extra: string[]): string =>
    spawnSync(bin.ffmpeg.path, [...extra, "-copyts", "-i", excerptFile, "-vf", `select='${select}',showinfo`, "-vsync", "passthrough", "-f", "null", "-"], { encoding: "utf8" }).stderr;
  expect(run(["-v", "error"])).toBe("");
  const shownFrames = run(["-hide_banner"]);
  expect(shownFrames.match(/Parsed_showinfo.*n:\s*\d+ pts:\s*(\d+)/g)).toHaveLength(6);
});

test("groups of pictures too long to copy are refused with the reason (the stage seeks instead)", () => {
  const index = indexOf(withBFrames(), 0);
  expect(planExcerpt(index, [1, 5, 9], { maxBytes: 1000, maxReadBytes: 64 * 1024 * 1024 })).toEqual({ kind: "too-large", reason: expect.stringContaining("more than 1000 bytes") as string });
  expect(planExcerpt(index, [1.9], { maxBytes: 1e9, maxReadBytes: 100 })).toEqual({ kind: "too-large", reason: expect.stringContaining("read (more than 100)") as string });
});
