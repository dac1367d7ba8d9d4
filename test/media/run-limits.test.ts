/**
 * The ceiling of a media run from its expected work, pure. (The stall window is enforced by the
 * adapter: test/adapters/ffmpeg-media-tool.test.ts and media-run-watchdog.test.ts.)
 */
import { CEILING_FLOOR_IN_MS, MAX_CEILING_IN_MS, mediaRunCeilingInMs, mediaRunLimits } from "../../shared/media/run-limits";

const HOUR = 3_600_000;

describe("ceiling from the expected work", () => {
  test("short clips get the 1 h floor, whatever their picture (the 0.3 s 4K60 clip that 10 s + 4× its duration killed)", () => {
    expect(mediaRunCeilingInMs({ durationInSeconds: 0.3, video: { width: 3840, height: 2160, frameRate: 60 } })).toBe(CEILING_FLOOR_IN_MS);
    expect(mediaRunCeilingInMs({ durationInSeconds: 2 })).toBe(CEILING_FLOOR_IN_MS);
  });

  test("10× real time up to 1080p30, proportionally more for more pixels per second", () => {
    expect(mediaRunCeilingInMs({ durationInSeconds: 2 * 3600, video: { width: 1280, height: 720, frameRate: 30 } })).toBe(20 * HOUR);
    expect(mediaRunCeilingInMs({ durationInSeconds: 1800 })).toBe(5 * HOUR); // audio only
    expect(mediaRunCeilingInMs({ durationInSeconds: 600, video: { width: 3840, height: 2160, frameRate: 60 } })).toBe(8 * 6_000_000); // 8× the pixels of 1080p30
  });

  test("a time base posing as a frame rate (90000/1) counts as 240 fps; no size counts as small", () => {
    expect(mediaRunCeilingInMs({ durationInSeconds: 600, video: { width: 1920, height: 1080, frameRate: 90_000 } })).toBe(8 * 6_000_000);
    expect(mediaRunCeilingInMs({ durationInSeconds: 600, video: { frameRate: 60 } })).toBe(6_000_000); // 10× 600 s
  });

  test("at most a day; unknown or nonsense durations get the day", () => {
    expect(mediaRunCeilingInMs({ durationInSeconds: 12 * 3600 })).toBe(MAX_CEILING_IN_MS);
    expect(MAX_CEILING_IN_MS).toBe(24 * HOUR);
    for (const durationInSeconds of [undefined, 0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(mediaRunCeilingInMs({ durationInSeconds })).toBe(MAX_CEILING_IN_MS);
  });

  test("limits carry the stall window only when one is given (else the adapter's default)", () => {
    expect(mediaRunLimits({ durationInSeconds: 1 })).toEqual({ ceilingInMs: CEILING_FLOOR_IN_MS });
    expect(mediaRunLimits({ durationInSeconds: 1 }, 30_000)).toEqual({ ceilingInMs: CEILING_FLOOR_IN_MS, stallTimeoutInMs: 30_000 });
  });
});
