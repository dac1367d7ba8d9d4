/**
 * The checks that stop a silently wrong proxy (ffmpeg exit code 0 proves nothing).
 */
import { durationTolerance, missingOrEmpty, proxyProblems, verifyProxy } from "../../shared/media/verify-output";
import type { ProxyExpectation } from "../../shared/media/transcode-plan";
import type { MediaProbe, MediaStreamInfo } from "../../shared/media/probe";

const expected: ProxyExpectation = { hasVideo: true, hasAudio: true, durationInSeconds: 60, width: 720, height: 1280, maxSide: 1280 };

function proxy(overrides: { video?: Partial<MediaStreamInfo> | null; audio?: Partial<MediaStreamInfo> | null; extra?: MediaStreamInfo[]; duration?: number } = {}): MediaProbe {
  const streams: MediaStreamInfo[] = [];
  if (overrides.video !== null) streams.push({ index: 0, type: "video", codec: "h264", pixelFormat: "yuv420p", width: 720, height: 1280, ...overrides.video });
  if (overrides.audio !== null) streams.push({ index: 1, type: "audio", codec: "aac", ...overrides.audio });
  streams.push(...(overrides.extra ?? []));
  return { container: "mov,mp4,m4a,3gp,3g2,mj2", durationInSeconds: overrides.duration ?? 60.02, streams, dataTracks: [] };
}

test("a good proxy passes", () => {
  expect(proxyProblems(proxy(), expected)).toEqual([]);
  expect(() => verifyProxy(proxy(), expected)).not.toThrow();
});

test("tolerance is max(0.5 s, 2 %)", () => {
  expect(durationTolerance(1)).toBe(0.5);
  expect(durationTolerance(100)).toBe(2);
  expect(proxyProblems(proxy({ duration: 61.1 }), expected)).toEqual([]);
  expect(proxyProblems(proxy({ duration: 58.7 }), expected)).toEqual([expect.stringMatching(/lasts 58\.700 s but the source states 60\.000 s.*truncated/)]);
});

test("no video where the source has video (the empty-stream WMV case)", () => {
  expect(proxyProblems(proxy({ video: null }), expected)).toContain("expected one video stream, found 0");
});

test("High 10 / 10-bit output, another codec, a rotation left on, wrong orientation, over the cap", () => {
  const problems = proxyProblems(proxy({ video: { pixelFormat: "yuv420p10le", codec: "hevc", rotation: 90, width: 1920, height: 1080 } }), expected);
  expect(problems.join("\n")).toMatch(/not h264/);
  expect(problems.join("\n")).toMatch(/yuv420p10le, not yuv420p/);
  expect(problems.join("\n")).toMatch(/still carries a 90° rotation/);
  expect(problems.join("\n")).toMatch(/landscape but the source shows portrait/);
  expect(problems.join("\n")).toMatch(/exceeds the longest side 1280/);
});

test("audio: required when the source has it, forbidden when not; data tracks never", () => {
  expect(proxyProblems(proxy({ audio: null }), expected)).toContain("expected one audio stream, found 0");
  expect(proxyProblems(proxy(), { ...expected, hasAudio: false })).toEqual([expect.stringMatching(/has no audio, but the proxy has 1/)]);
  expect(proxyProblems(proxy({ extra: [{ index: 2, type: "data", codecTag: "tmcd" }] }), expected)).toEqual([expect.stringMatching(/data \(tmcd\)/)]);
});

test("audio proxy: no video allowed", () => {
  const audioOnly = { hasVideo: false, hasAudio: true, durationInSeconds: 0.81, maxSide: 1280 };
  expect(proxyProblems(proxy({ video: null, duration: 0.81 }), audioOnly)).toEqual([]);
  expect(proxyProblems(proxy({ duration: 0.81 }), audioOnly)).toEqual([expect.stringMatching(/no video, but the proxy has 1/)]);
});

test("the error is final OutputVerificationFailed listing every problem", () => {
  expect(() => verifyProxy(proxy({ video: null, audio: null }), expected)).toThrow(
    expect.objectContaining({ code: "OutputVerificationFailed", retryable: false, message: expect.stringMatching(/video stream, found 0; expected one audio/) }),
  );
});

test("images: missing and empty files are named", () => {
  expect(
    missingOrEmpty([
      { name: "poster.jpg", size: undefined },
      { name: "sprite.jpg", size: 0 },
      { name: "thumb-01.jpg", size: 10 },
    ]),
  ).toEqual(["poster.jpg was not written", "sprite.jpg is empty"]);
});
