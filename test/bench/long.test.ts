/**
 * The pure parts of the long bench: the segment count it projects with is the planner's, the
 * projection's arithmetic (segment lengthening, waves, the last segment, scaling of plan and
 * join, the wall and CPU bases), the measured critical path, and the goals the report marks.
 */
import type { MediaProbe } from "../../shared/media/probe";
import { planSegments } from "../../shared/media/segment-plan";
import { criticalPathSeconds, projectTimeToReady, segmentCount, type MeasuredSegment } from "../../bench/long/projection";
import { combine, longReport, summarize, type LongFigures } from "../../bench/long/report";
import { MiB } from "../../bench/support/sizes";

function videoOnly(durationInSeconds: number): MediaProbe {
  return {
    container: "mov,mp4,m4a,3gp,3g2,mj2",
    durationInSeconds,
    streams: [{ index: 0, type: "video", codec: "h264", width: 1280, height: 720, pixelFormat: "yuv420p", frameRate: 30, durationInSeconds }],
    primaryVideoIndex: 0,
    dataTracks: [],
  };
}

const measured: MeasuredSegment[] = [
  { index: 0, lengthInSeconds: 60, wallSeconds: 30, cpuSeconds: 50 },
  { index: 1, lengthInSeconds: 60, wallSeconds: 45, cpuSeconds: 60 },
  // A short one's fixed cost must not set the rate (wall 1 s per s of video).
  { index: 2, lengthInSeconds: 20, wallSeconds: 20, cpuSeconds: 20 },
];

describe("segmentCount", () => {
  it.each([
    [7200, 60],
    [36000, 90],
    [3680, 60],
    [89, 60],
    [95, 60],
    [20, 4],
  ])("equals planSegments' count for %s s at %s s", (duration, length) => {
    expect(segmentCount(duration, length)).toBe(planSegments(videoOnly(duration), { targetSeconds: length }).segments.length);
  });
});

describe("projectTimeToReady", () => {
  const base = { measuredSeconds: 7200, segments: measured, planSeconds: 2, joinSeconds: 60, proxyBytes: 1000 * MiB, instances: 50, targetSegmentSeconds: 60, maxSegmentsPerPlan: 400 };

  it("lengthens segments to stay within the plan's limit, then waits one wave per 50 segments", () => {
    const p = projectTimeToReady({ ...base, projectedSeconds: 36000 });
    expect(p.segmentSeconds).toBe(90);
    expect(p.segments).toBe(400);
    expect(p.waves).toBe(8);
    expect(p.segmentWallSeconds).toBeCloseTo(67.5); // 0.75 s per s of video (segment 1) × 90 s
    expect(p.planSeconds).toBeCloseTo(10); // × 5
    expect(p.joinSeconds).toBeCloseTo(300); // × 5
    expect(p.proxyBytes).toBeCloseTo(5000 * MiB);
    expect(p.totalSeconds).toBeCloseTo(10 + 8 * 67.5 + 300);
  });

  it("on the CPU basis divides each segment's CPU seconds by the instance's cores", () => {
    const p = projectTimeToReady({ ...base, projectedSeconds: 36000, basis: { kind: "cpu", cores: 2 } });
    expect(p.segmentWallSeconds).toBeCloseTo(45); // 60 CPU s ÷ 2 ÷ 60 s × 90 s
    expect(p.totalSeconds).toBeCloseTo(10 + 8 * 45 + 300);
  });

  it("keeps the target length below the limit and counts a longer last segment at its own length", () => {
    // 3680 s at 60 s: 61 segments, the last 80 s (a 20 s tail joined to it).
    const p = projectTimeToReady({ ...base, projectedSeconds: 3680 });
    expect(p.segmentSeconds).toBe(60);
    expect(p.segments).toBe(61);
    expect(p.waves).toBe(2);
    expect(p.lastSegmentWallSeconds).toBeCloseTo(0.75 * 80);
    expect(p.totalSeconds).toBeCloseTo(2 * (3680 / 7200) + 45 + 60 + 60 * (3680 / 7200));
  });
});

describe("criticalPathSeconds", () => {
  it("is the plan, the longest segment by wall time and the join", () => {
    const path = criticalPathSeconds(2, measured, 60);
    expect(path.longestSegment.index).toBe(1);
    expect(path.totalSeconds).toBe(2 + 45 + 60);
  });
});

describe("the long report", () => {
  const run = (wall: number, cpu: number, disk = 0) => ({ wallSeconds: wall, cpuSeconds: cpu, peakChildRssBytes: 100 * MiB, peakDiskBytes: disk, peakHostRssBytes: 120 * MiB });
  const figures: LongFigures = {
    recording: { seconds: 7200, bytes: 2000 * MiB, width: 1280, height: 720, clipSeconds: 600 },
    targetSegmentSeconds: 60,
    maxSide: 1280,
    join: "stream",
    plan: combine([run(2, 1)]),
    segments: { kind: combine(measured.map((s) => run(s.wallSeconds, s.cpuSeconds, 10 * MiB))), each: measured, bytes: 1000 * MiB },
    joined: { kind: combine([run(60, 6, 3000 * MiB)]), steps: [], proxyBytes: 1000 * MiB, playlistBytes: 1000 * MiB, problems: [] },
    single: { kind: combine([run(100, 120)]), proxyBytes: 950 * MiB },
    thumbnails: [
      { label: "10 min", durationInSeconds: 600, bytes: 1, thumbnails: 120, sheets: 6, ffmpegRuns: 12, figures: combine([run(10, 5)]) },
      { label: "120 min", durationInSeconds: 7200, bytes: 1, thumbnails: 120, sheets: 6, ffmpegRuns: 12, figures: combine([run(25, 9)]) },
    ],
    projection: { hours: 10, instances: 50, maxSegmentsPerPlan: 400 },
    lifetimePeakHostRssBytes: 150 * MiB,
    totalSeconds: 500,
    loadAverage: { before: [1, 1, 1], after: [2, 2, 2] },
  };

  it("sums segments and join against the single run, and marks each goal", () => {
    const summary = summarize(figures);
    expect(summary.cpuRatio).toBeCloseTo((50 + 60 + 20 + 6) / 120);
    expect(summary.thumbnailRatio).toBeCloseTo(2.5);
    expect(summary.joinSecondsPerGiB).toBeCloseTo(60 / (1000 / 1024));
    const goals = longReport(figures).tables[0].rows;
    const row = (prefix: string) => goals.find((r) => String(r[0]).startsWith(prefix))!;
    expect(row("CPU, segmented")[3]).toBe("**no**"); // 1.13×
    expect(row("projected time to ready")[3]).toBe("**no**"); // 850 s > 10 min
    expect(row("the same, segments at CPU")[1]).toBe("11.2 min"); // 670 s
    expect(row("thumbnail stage")[3]).toBe("**no**");
    expect(row("peak local disk, one segment run")[3]).toBe("yes");
    expect(row("peak local disk, join run")[3]).toBe("**no**");
    expect(row("peak RSS of the Node host")[3]).toBe("yes");
    expect(summarize({ ...figures, plan: combine([{ ...run(2, 1), peakHostRssBytes: 301 * MiB }]) }).peakRunHostRssBytes).toBe(301 * MiB);
  });

  it("reports a skipped single run and thumbnails as skipped, not as met", () => {
    const goals = longReport({ ...figures, single: undefined, thumbnails: undefined }).tables[0].rows;
    expect(goals.filter((r) => r[1] === "skipped").map((r) => r[3])).toEqual(["–", "–"]);
  });
});
