/**
 * The fragment index, the HLS playlist over it and the index checks, on fragmented MP4s built
 * box by box here (ISO/IEC 14496-12 layouts): fed whole and in every small chunking, gaps and
 * overlaps of one tick, missing keyframes, truncated files.
 */
import { Fmp4Indexer, indexFmp4, trackTotals } from "../../shared/media/fmp4-index";
import { hlsPlaylist } from "../../shared/media/hls-playlist";
import type { SegmentPlan } from "../../shared/media/segment-plan";
import { fragmentIndexProblems } from "../../shared/media/verify-join";

function box(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, "latin1");
  return Buffer.concat([header, body]);
}
function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}
function trak(id: number, handler: string, timescale: number): Buffer {
  return box(
    "trak",
    box("tkhd", u32(0, 0, 0, id, 0, 0)),
    box("mdia", box("mdhd", u32(0, 0, 0, timescale, 0, 0)), box("hdlr", u32(0, 0), Buffer.from(handler, "latin1"), u32(0, 0, 0), Buffer.from([0]))),
  );
}
function init(tracks: Array<[number, string, number]>): Buffer {
  return Buffer.concat([
    box("ftyp", Buffer.from("isom", "latin1"), u32(512)),
    box("moov", box("mvhd", Buffer.alloc(100)), ...tracks.map(([id, handler, scale]) => trak(id, handler, scale)), box("mvex", ...tracks.map(([id]) => box("trex", u32(0, id, 1, 0, 0, 0))))),
  ]);
}
/** A fragment: per track, tfdt and samples [duration, size, sync]. */
function fragment(sequence: number, runs: Array<{ id: number; base: number; samples: Array<[number, number, boolean]> }>): Buffer {
  const trafs = runs.map((run) =>
    box(
      "traf",
      box("tfhd", u32(0x020000, run.id)),
      box("tfdt", u32(0, run.base)),
      box("trun", u32(0x000701, run.samples.length, 0), ...run.samples.map(([duration, size, sync]) => u32(duration, size, sync ? 0x02000000 : 0x01010000))),
    ),
  );
  const payload = runs.reduce((sum, run) => sum + run.samples.reduce((s, [, size]) => s + size, 0), 0);
  return Buffer.concat([box("moof", box("mfhd", u32(0, sequence)), ...trafs), box("mdat", Buffer.alloc(payload))]);
}
const frames = (n: number, duration: number): Array<[number, number, boolean]> => Array.from({ length: n }, (_, i) => [duration, 100 + i, i === 0]);
const aac = (n: number): Array<[number, number, boolean]> => Array.from({ length: n }, () => [1024, 10, true]);

const plan: SegmentPlan = { kind: "video", videoIndex: 0, audioIndex: 1, audioSampleRate: 48000, durationInSeconds: 4, segments: [{ index: 0, startInMicroseconds: 0, endInMicroseconds: 4_000_000 }] };
/** Two seconds of 25 fps (90 kHz) and of 48 kHz AAC per fragment. */
function file(options: { secondBase?: number; secondSync?: boolean; mfra?: boolean } = {}): Buffer {
  const second = frames(50, 3600);
  if (options.secondSync === false) second[0][2] = false;
  return Buffer.concat([
    init([
      [1, "vide", 90000],
      [2, "soun", 48000],
    ]),
    fragment(1, [
      { id: 1, base: 0, samples: frames(50, 3600) },
      { id: 2, base: 0, samples: aac(94) },
    ]),
    fragment(2, [
      { id: 1, base: options.secondBase ?? 180000, samples: second },
      { id: 2, base: 96256, samples: aac(94) },
    ]),
    ...(options.mfra === false ? [] : [box("mfra", box("mfro", u32(0, 16)))]),
  ]);
}

describe("the fragment index", () => {
  test("tracks, fragments with their byte ranges, per-track totals", () => {
    const bytes = file();
    const index = indexFmp4(bytes);
    expect(index.tracks.map((t) => [t.id, t.handler, t.timescale])).toEqual([
      [1, "vide", 90000],
      [2, "soun", 48000],
    ]);
    expect(index.layout).toEqual(["ftyp", "moov", "moof", "mdat", "moof", "mdat", "mfra"]);
    expect(index.fragments).toHaveLength(2);
    const [first, second] = index.fragments;
    expect(first.offset).toBe(index.initSize);
    expect(second.offset).toBe(first.offset + first.size);
    expect(bytes.toString("latin1", second.offset + 4, second.offset + 8)).toBe("moof");
    // The second fragment ends where the mfra starts.
    expect(bytes.toString("latin1", second.offset + second.size + 4, second.offset + second.size + 8)).toBe("mfra");
    expect(first.tracks[0]).toMatchObject({ trackId: 1, baseMediaDecodeTime: 0, samples: 50, duration: 180000, startsWithSync: true });
    expect(trackTotals(index, 1)).toEqual({ samples: 100, duration: 360000, start: 0, end: 360000 });
    expect(trackTotals(index, 2).samples).toBe(188);
    expect(index.totalBytes).toBe(bytes.length);
  });

  test("the same index whatever the chunking (a byte at a time, odd sizes)", () => {
    const bytes = file();
    const whole = indexFmp4(bytes);
    for (const size of [1, 3, 7, 64, 1000]) {
      const indexer = new Fmp4Indexer();
      for (let at = 0; at < bytes.length; at += size) indexer.push(bytes.subarray(at, at + size));
      expect(indexer.end()).toEqual(whole);
    }
  });

  test("the last fragment runs to the end of a file without mfra", () => {
    const bytes = file({ mfra: false });
    const index = indexFmp4(bytes);
    const last = index.fragments[1];
    expect(last.offset + last.size).toBe(bytes.length);
  });

  test("a truncated file, a moof before the moov and an oversized moof are refused", () => {
    const bytes = file();
    expect(() => indexFmp4(bytes.subarray(0, bytes.length - 30))).toThrow(/ends inside/);
    expect(() => indexFmp4(bytes.subarray(0, 5))).toThrow(/ends inside a box header/);
    const fragmentOnly = fragment(1, [{ id: 1, base: 0, samples: frames(2, 3600) }]);
    expect(() => indexFmp4(fragmentOnly)).toThrow(/before the moov/);
    expect(() => indexFmp4(bytes, { maxHeaderBoxBytes: 100 })).toThrow(/moov box at byte \d+ is \d+ bytes/);
  });
});

describe("the index checks", () => {
  test("a well-formed join has no problems", () => {
    expect(fragmentIndexProblems(indexFmp4(file()), plan)).toEqual([]);
  });

  test.each([
    [179999, /video fragment 2 \(sequence 2\) starts at 1\.999989 s, overlapping by 0\.000011 s \(1 ticks\)/],
    [180001, /video fragment 2 \(sequence 2\) starts at 2\.000011 s, after a gap of 0\.000011 s \(1 ticks\)/],
  ])("a fragment starting at %s instead of 180000 ticks", (base, problem) => {
    expect(fragmentIndexProblems(indexFmp4(file({ secondBase: base })), plan)).toEqual([expect.stringMatching(problem)]);
  });

  test("a video fragment that does not start with a keyframe", () => {
    expect(fragmentIndexProblems(indexFmp4(file({ secondSync: false })), plan)).toEqual([expect.stringMatching(/video fragment 2 .* does not start with a keyframe/)]);
  });

  test("tracks the plan does not have, or lacks", () => {
    const audioOnly: SegmentPlan = { ...plan, kind: "audio", videoIndex: undefined };
    expect(fragmentIndexProblems(indexFmp4(file()), audioOnly)).toEqual([expect.stringMatching(/the plan has no video, but the fragmented MP4 has 1 video track/)]);
    const withoutAudio = Buffer.concat([init([[1, "vide", 90000]]), fragment(1, [{ id: 1, base: 0, samples: frames(2, 3600) }])]);
    expect(fragmentIndexProblems(indexFmp4(withoutAudio), plan)).toEqual(["expected one audio track in the fragmented MP4, found 0"]);
  });
});

describe("the HLS playlist over the index", () => {
  test("version 7, the init by EXT-X-MAP, one byte range per fragment, EXTINF from the video track", () => {
    const index = indexFmp4(file());
    const [first, second] = index.fragments;
    expect(hlsPlaylist(index, { mediaName: "proxy.mp4" })).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        `#EXT-X-MAP:URI="proxy.mp4",BYTERANGE="${index.initSize}@0"`,
        "#EXTINF:2.000000,",
        `#EXT-X-BYTERANGE:${first.size}@${first.offset}`,
        "proxy.mp4",
        "#EXTINF:2.000000,",
        `#EXT-X-BYTERANGE:${second.size}@${second.offset}`,
        "proxy.mp4",
        "#EXT-X-ENDLIST",
        "",
      ].join("\n"),
    );
  });

  test("a media name that is not a plain file name is refused", () => {
    expect(() => hlsPlaylist(indexFmp4(file()), { mediaName: "../proxy.mp4" })).toThrow(/not a plain media file name/);
  });
});
