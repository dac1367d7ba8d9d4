/**
 * Poster and thumbnail times, sprite layout, WebVTT and the one-pass ffmpeg graph, pure.
 */
import { planThumbnails, posterTime, scaledSize, spriteLayout, thumbnailTimes, vttTime, webVtt } from "../../shared/media/thumbnail-plan";
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
    expect(spriteLayout(25, { width: 160, height: 90 })).toMatchObject({ columns: 5, rows: 5 });
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

describe("the ffmpeg run", () => {
  test("one pass: the chosen stream split into poster, N thumbnails and a tiled sprite, each output checked later", () => {
    const { probe, video } = probeOf({});
    const plan = planThumbnails(probe, video, { count: 8, outputDir: "/tmp/t/" });
    const graph = plan.arguments[plan.arguments.indexOf("-filter_complex") + 1];
    expect(graph).toMatch(/^\[0:3\]format=yuv420p,split=3\[progress\]\[p\]\[t\];/);
    // The first output takes every decoded frame, so ffmpeg's progress moves while it decodes.
    expect(plan.arguments.slice(plan.arguments.indexOf("-map"), plan.arguments.indexOf("-map") + 6)).toEqual(["-map", "[progress]", "-f", "null", "-", "-map"]);
    expect(graph).toContain("[p]trim=start=1.000000,");
    expect(graph).toContain("[t]fps=fps=0.800000,split=2[a][b]");
    expect(graph).toContain("[a]scale=320:180,setsar=1[thumbs]");
    expect(graph).toContain("[b]scale=160:90,setsar=1,tile=5x2[sprite]");
    expect(plan.arguments).toEqual(expect.arrayContaining(["-map", "[poster]", "/tmp/t/poster.jpg", "[thumbs]", "/tmp/t/thumb-%02d.jpg", "[sprite]", "/tmp/t/sprite.jpg"]));
    expect(plan.arguments[plan.arguments.indexOf("[thumbs]") + 2]).toBe("8");
    expect(plan.files.thumbnails).toEqual(["thumb-01.jpg", "thumb-02.jpg", "thumb-03.jpg", "thumb-04.jpg", "thumb-05.jpg", "thumb-06.jpg", "thumb-07.jpg", "thumb-08.jpg"]);
  });

  test("trim times are written with a leading digit (ffmpeg refuses '.05')", () => {
    const { probe, video } = probeOf({}, 0.5);
    const plan = planThumbnails(probe, video, { count: 4, outputDir: "/tmp/t" });
    expect(plan.arguments.join(" ")).toContain("trim=start=0.050000");
  });

  test("HDR sources are tone-mapped before the split, like the proxy", () => {
    const { probe, video } = probeOf({ colorTransfer: "smpte2084", hdr: true, bitDepth: 10 });
    const graph = planThumbnails(probe, video, { count: 2, outputDir: "/tmp/t" }).arguments[1];
    expect(graph).toMatch(/^\[0:3\]zscale=.*tonemap=tonemap=hable.*,split=3/);
  });

  test("count outside 1…99 is refused", () => {
    const { probe, video } = probeOf({});
    expect(() => planThumbnails(probe, video, { count: 0, outputDir: "/t" })).toThrow();
    expect(() => planThumbnails(probe, video, { count: 100, outputDir: "/t" })).toThrow();
  });
});

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
