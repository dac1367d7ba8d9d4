/**
 * The segment-parallel transcode's function files are thin: each parses its own message kind
 * first, so anything else — another kind of work order included — is dead-lettered with the
 * reason before any service is built or any media is touched.
 */
import { InvocationContext } from "@azure/functions";
import { transcodeHandler } from "../../functions/transcode";
import { transcodeJoinHandler } from "../../functions/transcode-join";
import { transcodeSegmentHandler } from "../../functions/transcode-segment";
import { useServices } from "../../functions/services";

const segmentRequest = {
  schemaVersion: 1,
  kind: "segment-request",
  evidenceId: `ev-${"a".repeat(32)}`,
  original: { account: "devstoreaccount1", container: "originals", name: "cam/clip.mp4", etag: "0x1", url: "http://127.0.0.1:10000/devstoreaccount1/originals/cam/clip.mp4", size: 10 },
  planId: "b".repeat(64),
  plan: { kind: "video", videoIndex: 0, targetSeconds: 60, maxSide: 1280 },
  streams: [{ index: 0, type: "video" }],
  segmentCount: 1,
  segment: { index: 0, startInMicroseconds: 0 },
};

function invocation(name: string): InvocationContext {
  return new InvocationContext({ functionName: name, invocationId: "test", triggerMetadata: { deliveryCount: 1, messageId: "m-1" }, logHandler: () => undefined });
}

beforeAll(() => {
  // No services installed (and no settings in the environment): a handler that built them first would fail with InvalidConfiguration.
  useServices(undefined);
});

test.each([
  ["transcode", transcodeHandler, segmentRequest, /evidence-received/],
  ["transcode-segment", transcodeSegmentHandler, { ...segmentRequest, kind: "join-request" }, /segment-request/],
  ["transcode-segment", transcodeSegmentHandler, { ...segmentRequest, segmentCount: 401 }, /segmentCount/],
  ["transcode-join", transcodeJoinHandler, segmentRequest, /join-request/],
])("%s dead-letters a message that is not its own, naming why (%#)", async (name, handler, body, reason) => {
  const outcome = await handler(body, invocation(name));
  expect(outcome).toMatchObject({ settle: "deadLetter", reason: "InvalidMessage", description: expect.stringMatching(reason) });
});
