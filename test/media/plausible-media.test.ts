/**
 * Probe values no recording has → UnsupportedMedia (final) before any run, pure; and the plans
 * that rely on them refuse them. (The crafted 10-year MKV through the real stages is in
 * test/stages/thumbnail-stage.test.ts and transcode-stage.test.ts.)
 */
import { isCustodyError } from "../../shared/errors";
import { assertPlausible, implausibility, MAX_PLAUSIBLE_DURATION_IN_SECONDS } from "../../shared/media/plausible-media";
import { normaliseProbe } from "../../shared/media/probe-normalise";
import { planThumbnails } from "../../shared/media/thumbnail-plan";
import { planTranscode } from "../../shared/media/transcode-plan";
import type { MediaProbe, MediaStreamInfo } from "../../shared/media/probe";

const TEN_YEARS = 10 * 365 * 86_400;

function recording(video: Partial<MediaStreamInfo> = {}, probe: Partial<MediaProbe> = {}): { probe: MediaProbe; video: MediaStreamInfo; audio: MediaStreamInfo } {
  const v: MediaStreamInfo = { index: 0, type: "video", codec: "h264", width: 1920, height: 1080, frameRate: 30, ...video };
  const a: MediaStreamInfo = { index: 1, type: "audio", codec: "aac", sampleRate: 48000, channels: 2 };
  return { probe: { container: "matroska,webm", durationInSeconds: 600, streams: [v, a], primaryVideoIndex: 0, primaryAudioIndex: 1, dataTracks: [], ...probe }, video: v, audio: a };
}

function refusal(run: () => unknown): { code: string; retryable: boolean; message: string } {
  try {
    run();
  } catch (error) {
    if (isCustodyError(error)) return { code: error.code, retryable: error.retryable, message: error.message };
    throw error;
  }
  throw new Error("expected a refusal");
}

test("a recording of minutes to a shift, up to 8K, is plausible", () => {
  for (const durationInSeconds of [0.04, 600, 12 * 3600, MAX_PLAUSIBLE_DURATION_IN_SECONDS]) {
    const { probe, video, audio } = recording({ durationInSeconds }, { durationInSeconds });
    expect(implausibility(probe, [video, audio])).toBeUndefined();
  }
  const { probe, video } = recording({ width: 7680, height: 4320 });
  expect(implausibility(probe, [video])).toBeUndefined();
});

test.each([
  ["the container claims 10 years", recording({}, { durationInSeconds: TEN_YEARS }), /matroska,webm header claims a duration of 3650 days \(315360000 s\), beyond the 7 days/],
  ["a stream claims 8 days", recording({ durationInSeconds: 8 * 86_400 }), /video stream #0 claims a duration of 8 days/],
  ["a non-finite duration", recording({}, { durationInSeconds: Number.POSITIVE_INFINITY }), /duration that is not a number \(Infinity\)/],
  ["a 0×0 picture", recording({ width: 0, height: 0 }), /video stream #0 states a picture size of 0×0: its parameters could not be read/],
  ["a negative width", recording({ width: -2 }), /picture size of -2×1080, outside 1–16384/],
  ["a 65535-pixel side", recording({ width: 65_535, height: 65_535 }), /picture size of 65535×65535/],
  ["a NaN frame rate", recording({ frameRate: Number.NaN }), /frameRate that is not a number/],
])("%s → UnsupportedMedia, final, saying what is wrong and what to do", (_label, { probe, video, audio }, reason) => {
  const refused = refusal(() => assertPlausible(probe, [video, audio]));
  expect(refused).toMatchObject({ code: "UnsupportedMedia", retryable: false });
  expect(refused.message).toMatch(reason);
  expect(refused.message).toMatch(/Export the recording again .* reprocess it/);
});

test("only what a plan maps counts: an unmapped data track with a silly duration does not fail the recording", () => {
  const { probe, video } = recording();
  probe.streams.push({ index: 2, type: "data", codecTag: "gpmd", durationInSeconds: TEN_YEARS });
  expect(implausibility(probe, [video])).toBeUndefined();
});

test("both plans refuse a 10-year claim instead of planning with it (the thumbnail rate used to round to 0)", () => {
  const { probe, video } = recording({}, { durationInSeconds: TEN_YEARS });
  for (const plan of [() => planThumbnails(probe, video, { count: 8, outputDir: "/tmp/t" }), () => planTranscode(probe, { maxSide: 1280, outputPath: "/tmp/p.mp4" })]) {
    expect(refusal(plan)).toMatchObject({ code: "UnsupportedMedia", retryable: false, message: expect.stringMatching(/3650 days/) });
  }
});

test("at the bound, the thumbnail plan still seeks to finite times inside the recording", () => {
  const d = MAX_PLAUSIBLE_DURATION_IN_SECONDS;
  const { probe, video } = recording({ durationInSeconds: d }, { durationInSeconds: d });
  const seeks = planThumbnails(probe, video, { count: 1, outputDir: "/tmp/t" }).runs.flatMap((r) => r.seeks);
  expect(seeks.length).toBeGreaterThan(1);
  for (const t of seeks) expect(Number.isFinite(t) && t >= 0 && t < d).toBe(true);
});

test("ffprobe's 0×0 (could not read the stream) reaches the plans as 0, not as 'unknown'", () => {
  const probe = normaliseProbe({ streams: [{ index: 0, codec_type: "video", codec_name: "prores", width: 0, height: 0 }], format: { format_name: "mov", duration: "5" } });
  expect(probe.streams[0]).toMatchObject({ width: 0, height: 0 });
  expect(refusal(() => planTranscode(probe, { maxSide: 1280, outputPath: "/tmp/p.mp4" }))).toMatchObject({ code: "UnsupportedMedia", message: expect.stringMatching(/0×0/) });
});
