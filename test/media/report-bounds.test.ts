/**
 * A probe of a crafted upload still makes a valid, small stage-result message.
 */
import { isValidMessage } from "../../shared/contracts/validate";
import { boundedProbe, MAX_REPORTED_STREAMS } from "../../shared/media/report-bounds";
import type { MediaProbe, MediaStreamInfo } from "../../shared/media/probe";

test("over-long and empty strings, NaN and thousands of streams are bounded; the primary streams survive", () => {
  const streams: MediaStreamInfo[] = Array.from({ length: 3000 }, (_, index) => ({
    index,
    type: "data",
    codecTag: index % 2 ? "" : "x".repeat(500),
    handlerName: "h".repeat(10_000),
    frameRate: Number.NaN,
    durationInSeconds: -1,
  }));
  streams[2500] = { index: 2500, type: "video", codec: "h264", width: 1920, height: 1080, rotation: 90 };
  const crafted: MediaProbe = {
    container: "mov,mp4,m4a,3gp,3g2,mj2",
    durationInSeconds: Number.POSITIVE_INFINITY,
    streams,
    primaryVideoIndex: 2500,
    dataTracks: Array.from({ length: 3000 }, () => "y".repeat(300)).concat([""]),
    creationTime: "",
    device: { make: "", model: "m".repeat(1000) },
    location: "+51.5-0.2/",
  };
  const bounded = boundedProbe(crafted);
  expect(bounded.streams).toHaveLength(MAX_REPORTED_STREAMS);
  expect(bounded.streams.find((s) => s.index === 2500)).toEqual({ index: 2500, type: "video", codec: "h264", width: 1920, height: 1080, rotation: 90 });
  expect(bounded.durationInSeconds).toBeUndefined();
  expect(bounded.creationTime).toBeUndefined();
  expect(bounded.device).toEqual({ model: `${"m".repeat(255)}…` });
  const message = {
    schemaVersion: 1,
    kind: "stage-result",
    evidenceId: "ev-0123456789abcdef0123456789abcdef",
    stage: "thumbnail",
    attempt: 1,
    outcome: "skipped",
    skipReason: "no video stream",
    final: true,
    startedAt: "2026-11-26T10:00:00Z",
    finishedAt: "2026-11-26T10:00:01Z",
    actor: "custody/thumbnail@test",
    media: bounded,
  };
  expect(isValidMessage("stage-result", message)).toBe(true);
  expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThan(64 * 1024);
  expect(isValidMessage("stage-result", { ...message, media: crafted })).toBe(false);
});
