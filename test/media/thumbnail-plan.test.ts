/**
 * Poster and thumbnail times, how many with the length, sprite sheets, WebVTT and the ffmpeg
 * runs (input-side seeks), pure.
 */
import {
  CELLS_PER_SHEET,
  excerptRun,
  imagesPerRun,
  MAX_IMAGE_RUNS,
  planThumbnails,
  posterTime,
  scaledSize,
  spriteLayout,
  spriteRun,
  THUMBNAIL_CAP,
  thumbnailCount,
  thumbnailTimes,
  vttTime,
  webVtt,
} from "../../shared/media/thumbnail-plan";
import type { MediaProbe, MediaStreamInfo } from "../../shared/media/probe";

function probeOf(video: Partial<MediaStreamInfo>, durationInSeconds: number | undefined = 10): { probe: MediaProbe; video: MediaStreamInfo } {
  const stream: MediaStreamInfo = { index: 3, type: "video", width: 1920, height: 1080, durationInSeconds, ...video };
  return { probe: { container: "mov", durationInSeconds, streams: [stream], primaryVideoIndex: 3, dataTracks: [] }, video: stream };
}

describe("times", () => {
  test("poster at min(1 s, 10 %): long clips at 1 s, short ones early enough to exist, unknown at 0", () => {
    expect(posterTime(600)).toBe(1);
    expect(posterTime(10)).toBe(1);
    expect(posterTime(5)).toBe(0.5);
    expect(posterTime(0.5)).toBe(0.05);
    expect(posterTime(0.1)).toBe(0.01);
    expect(posterTime(undefined)).toBe(0);
    expect(posterTime(0)).toBe(0);
  });

  test("N thumbnails at k·d/N over the real duration, never at or past the end", () => {
    expect(thumbnailTimes(10, 8)).toEqual([0, 1.25, 2.5, 3.75, 5, 6.25, 7.5, 8.75]);
    expect(thumbnailTimes(0.5, 4)).toEqual([0, 0.125, 0.25, 0.375]);
    for (const d of [0.04, 0.1, 1, 3600]) expect(Math.max(...thumbnailTimes(d, 8))).toBeLessThan(d);
  });
});

describe("layout", () => {
  test("sprite: at most 5 columns, enough rows", () => {
    expect(spriteLayout(8, { width: 160, height: 90 })).toEqual({ columns: 5, rows: 2, cell: { width: 160, height: 90 } });
    expect(spriteLayout(3, { width: 160, height: 90 })).toEqual({ columns: 3, rows: 1, cell: { width: 160, height: 90 } });
    // A sheet holds at most 5×4 cells; more thumbnails go on further sheets.
    expect(spriteLayout(25, { width: 160, height: 90 })).toMatchObject({ columns: 5, rows: 4 });
  });

  test("sizes follow the displayed aspect, even heights; 16:9 when unknown", () => {
    expect(scaledSize(320, { width: 1920, height: 1080 })).toEqual({ width: 320, height: 180 });
    expect(scaledSize(320, { width: 1080, height: 1920 })).toEqual({ width: 320, height: 568 });
    expect(scaledSize(160, undefined)).toEqual({ width: 160, height: 90 });
  });

  test("a quarter-turn rotation makes portrait thumbnails", () => {
    const { probe, video } = probeOf({ rotation: 90 });
    const plan = planThumbnails(probe, video, { count: 8, outputDir: "/tmp/t" });
    expect(plan.thumbnail).toEqual({ width: 320, height: 568 });
    expect(plan.sprite.cell).toEqual({ width: 160, height: 284 });
  });
});

describe("how many, with the length", () => {
  test("one per 5 s, at least the configured count, at most the cap (reached at 10 minutes)", () => {
    expect(thumbnailCount(10, 8)).toBe(8);
    expect(thumbnailCount(0.5, 8)).toBe(8);
    expect(thumbnailCount(undefined, 8)).toBe(8);
    expect(thumbnailCount(120, 8)).toBe(24);
    expect(thumbnailCount(600, 8)).toBe(THUMBNAIL_CAP);
    for (const hours of [2, 10, 24 * 7]) expect(thumbnailCount(hours * 3600, 8)).toBe(THUMBNAIL_CAP);
    expect(thumbnailCount(10, 99)).toBe(99);
    expect(THUMBNAIL_CAP).toBe(120);
  });

  test("the plan: 8 on one 5×2 sheet for a 10 s clip; 120 on six 5×4 sheets for 10 hours, each cue on its sheet", () => {
    const short = planThumbnails(...args(probeOf({}, 10)));
    expect(short.times).toHaveLength(8);
    expect(short.files.sprites).toEqual(["sprite.jpg"]);
    expect(short.sprite).toMatchObject({ columns: 5, rows: 2 });

    const long = planThumbnails(...args(probeOf({}, 10 * 3600)));
    expect(long.times).toHaveLength(120);
    expect(long.times[1]).toBe(300); // one every 5 minutes
    expect(long.files.sprites).toEqual(["sprite-01.jpg", "sprite-02.jpg", "sprite-03.jpg", "sprite-04.jpg", "sprite-05.jpg", "sprite-06.jpg"]);
    expect(long.sprite).toMatchObject({ columns: 5, rows: 4, cell: { width: 160, height: 90 } }); // 800×360 px per sheet
    const vtt = webVtt(long);
    expect(vtt).toContain("1\n00:00:00.000 --> 00:05:00.000\nsprite-01.jpg#xywh=0,0,160,90\n");
    expect(vtt).toContain("20\n01:35:00.000 --> 01:40:00.000\nsprite-01.jpg#xywh=640,270,160,90\n");
    expect(vtt).toContain("21\n01:40:00.000 --> 01:45:00.000\nsprite-02.jpg#xywh=0,0,160,90\n");
    expect(vtt).toContain("120\n09:55:00.000 --> 10:00:00.000\nsprite-06.jpg#xywh=640,270,160,90\n");
  });

  test("seeks per process: up to 12, fewer for very long recordings (index memory), never more than 24 processes", () => {
    expect(imagesPerRun(600, 121)).toBe(12);
    expect(imagesPerRun(2 * 3600, 121)).toBe(12);
    expect(imagesPerRun(10 * 3600, 121)).toBe(Math.ceil(121 / MAX_IMAGE_RUNS)); // 24 h of index would allow 2
    expect(imagesPerRun(10, 9)).toBe(12);
    for (const hours of [0.01, 1, 2, 10, 100]) {
      const plan = planThumbnails(...args(probeOf({}, hours * 3600)));
      expect(plan.runs.length).toBeLessThanOrEqual(MAX_IMAGE_RUNS);
      expect(plan.runs.flatMap((r) => r.seeks)).toEqual([plan.posterTime, ...plan.times]);
    }
  });
});

describe("the ffmpeg runs: every image an input-side seek, never a decode of the whole recording", () => {
  test("each input is one seek; each graph input keeps its first frame only; poster, thumbnails and cells as outputs", () => {
    const plan = planThumbnails(...args(probeOf({}, 10), "/tmp/t/"));
    expect(plan.runs).toHaveLength(1);
    const [run] = plan.runs;
    expect(run.seeks).toEqual([1, 0, 1.25, 2.5, 3.75, 5, 6.25, 7.5, 8.75]);
    const graph = run.arguments[run.arguments.indexOf("-filter_complex") + 1];
    expect(graph).toMatch(/^\[0:3\]trim=end_frame=1,format=yuv420p,scale=.*setsar=1\[poster\];/);
    for (let j = 0; j < 8; j++) expect(graph).toContain(`[${j + 1}:3]trim=end_frame=1,format=yuv420p,split=2[i${j}][j${j}]`);
    expect(graph).toContain("[i0]scale=320:180,setsar=1[t0]");
    expect(graph).toContain("[j7]scale=160:90,setsar=1[c7]");
    // One-frame segments share a timestamp after concat: renumbered, or the muxer keeps one cell.
    expect(graph).toContain("[c0][c1][c2][c3][c4][c5][c6][c7]concat=n=8:v=1:a=0,settb=1/10,setpts=N[cells]");
    // No whole-stream consumer: no null output, no fps filter, every image output stops at one frame.
    expect(run.arguments).not.toContain("null");
    expect(graph).not.toContain("fps=");
    const images = run.arguments.flatMap((a, i) => (a === "-map" && run.arguments[i + 1] !== "[cells]" ? [run.arguments.slice(i, i + 4)] : []));
    expect(images).toHaveLength(9);
    for (const image of images) expect(image.slice(2)).toEqual(["-frames:v", "1"]);
    expect(run.arguments).toEqual(expect.arrayContaining(["/tmp/t/poster.jpg", "/tmp/t/thumb-01.jpg", "/tmp/t/thumb-08.jpg", "/tmp/t/cells-01.mkv"]));
    expect(run.arguments).not.toContain("-i"); // the adapter adds the inputs, hardened
  });

  test("the sprite run tiles the cells files of the runs that made the produced thumbnails", () => {
    const long = planThumbnails(...args(probeOf({}, 10 * 3600), "/w"));
    const all = spriteRun(long, 120);
    expect(all.inputs).toEqual(long.runs.map((r) => `/w/${r.cells}`));
    expect(all.sheets).toHaveLength(120 / CELLS_PER_SHEET);
    expect(all.arguments[1]).toMatch(new RegExp(`^\\[0:0\\]\\[1:0\\].*concat=n=${long.runs.length}:v=1:a=0,settb=1/10,setpts=N,trim=end_frame=120,tile=5x4\\[sheets\\]$`));
    expect(all.arguments.slice(-3)).toEqual(["-start_number", "1", "/w/sprite-%02d.jpg"]);
    expect(all.arguments).toEqual(expect.arrayContaining(["-frames:v", "6", "-vsync", "passthrough"])); // not a forced rate: no sheet repeated or dropped
    const few = spriteRun(planThumbnails(...args(probeOf({}, 10), "/w")), 3);
    expect(few.sheets).toEqual(["sprite.jpg"]);
    expect(few.arguments.slice(-1)).toEqual(["/w/sprite.jpg"]);
    expect(few.arguments[1]).toContain("trim=end_frame=3,tile=5x2");
  });

  test("seek times are written as plain decimals by the adapter; a 0.5 s clip seeks early enough to exist", () => {
    const plan = planThumbnails(...args(probeOf({}, 0.5), "/tmp/t", 4));
    expect(plan.runs[0].seeks).toEqual([0.05, 0, 0.125, 0.25, 0.375]);
  });

  test("HDR sources are tone-mapped before the scaling, like the proxy", () => {
    const plan = planThumbnails(...args(probeOf({ colorTransfer: "smpte2084", hdr: true, bitDepth: 10 }), "/tmp/t", 2));
    expect(plan.runs[0].arguments[1]).toMatch(/^\[0:3\]trim=end_frame=1,zscale=.*tonemap=tonemap=hable.*/);
  });

  test("provenance stays inside the stage result's limits: ≤ 32 runs, ≤ 512 arguments each, graphs ≤ 8192 characters (HDR, 100 hours)", () => {
    const plan = planThumbnails(...args(probeOf({ colorTransfer: "smpte2084", hdr: true, bitDepth: 10 }, 100 * 3600), "/tmp/custody-thumbnail-abcdef/", 99));
    expect(1 + plan.runs.length + 1).toBeLessThanOrEqual(32); // probe, image runs, sprite run
    // What the adapter adds per URL input: -ss T, six allow-list/timeout pairs, -i URL.
    const perInput = 2 + 10 + 2;
    for (const run of plan.runs) {
      expect(6 + run.seeks.length * perInput + run.arguments.length + 2).toBeLessThanOrEqual(512);
      expect(Math.max(...run.arguments.map((a) => a.length))).toBeLessThanOrEqual(8192);
    }
  });

  test("the excerpt run: frames picked by their excerpt times (unshifted), poster, numbered thumbnails and sheets from one graph, inside the provenance limits (HDR, 100 hours)", () => {
    const { probe, video } = probeOf({ colorTransfer: "smpte2084", hdr: true, bitDepth: 10 }, 100 * 3600);
    const plan = planThumbnails(probe, video, { count: 8, outputDir: "/tmp/custody-thumbnail-abcdef/" });
    // Excerpt times of a 90 kHz track 100 hours long: as long as they get.
    const times = plan.times.map((t) => Math.round(t * 90_000) + 32_400_000_000);
    const run = excerptRun(plan, video, { poster: 90_000, thumbnails: times });
    const graph = run.arguments[run.arguments.indexOf("-filter_complex") + 1];
    expect(run.arguments[0]).toBe("-copyts");
    expect(graph).toContain("[0:0]select='eq(pts,90000)',zscale");
    expect(graph).toContain(`[0:0]select='${times.map((t) => `eq(pts,${t})`).join("+")}',zscale`);
    expect(graph).toContain("tile=5x4[sheets]");
    expect(run.arguments.join(" ")).toContain("-start_number 1 -y /tmp/custody-thumbnail-abcdef/thumb-%02d.jpg");
    expect(run.arguments.join(" ")).toContain("-frames:v 6 -q:v 4 -f image2 -y -start_number 1 /tmp/custody-thumbnail-abcdef/sprite-%02d.jpg");
    expect(run.sheets).toEqual(plan.files.sprites);
    expect(graph.length).toBeLessThanOrEqual(8192);
    expect(run.arguments.length + 20).toBeLessThanOrEqual(512);
    // Fewer frames than planned (a very short clip): fewer sheets.
    expect(excerptRun(plan, video, { poster: 1, thumbnails: times.slice(0, 21) }).sheets).toEqual(["sprite-01.jpg", "sprite-02.jpg"]);
  });

  test("count outside 1…99 is refused", () => {
    const { probe, video } = probeOf({});
    expect(() => planThumbnails(probe, video, { count: 0, outputDir: "/t" })).toThrow();
    expect(() => planThumbnails(probe, video, { count: 100, outputDir: "/t" })).toThrow();
  });
});

function args({ probe, video }: { probe: MediaProbe; video: MediaStreamInfo }, outputDir = "/tmp/t", count = 8): [MediaProbe, MediaStreamInfo, { count: number; outputDir: string }] {
  return [probe, video, { count, outputDir }];
}

describe("WebVTT", () => {
  test("one cue per thumbnail addressing its sprite cell; the last cue runs to the end", () => {
    const { probe, video } = probeOf({}, 10);
    const plan = planThumbnails(probe, video, { count: 8, outputDir: "/t" });
    const vtt = webVtt(plan);
    expect(vtt.startsWith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.250\nsprite.jpg#xywh=0,0,160,90\n")).toBe(true);
    expect(vtt).toContain("6\n00:00:06.250 --> 00:00:07.500\nsprite.jpg#xywh=0,90,160,90\n");
    expect(vtt).toContain("8\n00:00:08.750 --> 00:00:10.000\nsprite.jpg#xywh=320,90,160,90\n");
    expect(vtt.match(/#xywh=/g)).toHaveLength(8);
  });

  test("fewer thumbnails produced than planned: cues only for those, the last stretched to the end", () => {
    const { probe, video } = probeOf({}, 0.1);
    const plan = planThumbnails(probe, video, { count: 8, outputDir: "/t" });
    const vtt = webVtt(plan, 3);
    expect(vtt.match(/#xywh=/g)).toHaveLength(3);
    expect(vtt).toContain("3\n00:00:00.025 --> 00:00:00.100\n");
  });

  test("times are hh:mm:ss.mmm", () => {
    expect(vttTime(0)).toBe("00:00:00.000");
    expect(vttTime(3725.5)).toBe("01:02:05.500");
  });
});
