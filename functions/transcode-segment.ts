/**
 * transcode-segment — one `segment-request` (queue `transcode-segments`, sent by the index) →
 * that segment of the proxy encoded from its part of the original and uploaded to
 * `derived/<evidenceId>/transcode/`; the outcome, success or failure, is claimed on
 * media-results (`segment-result`) and the request completed: the index retries a segment.
 */
import type { InvocationContext } from "@azure/functions";
import { parseMessage } from "../shared/contracts/validate";
import { encodeAndReportSegment } from "../shared/stages/transcode-segment-stage";
import { ENTITIES } from "../shared/topology";
import { settleInvalidMessages, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices } from "./services";

export const transcodeSegmentFunction: FunctionDefinition = {
  name: "transcode-segment",
  entity: ENTITIES.transcodeSegments,
  handler: transcodeSegmentHandler,
};

export async function transcodeSegmentHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(transcodeSegmentFunction, invocation);
  return settleInvalidMessages(context, async () => {
    const request = parseMessage("segment-request", message);
    const { blobs, media, publisher, settings } = await getServices();
    await encodeAndReportSegment(request, { blobs, media }, context, { stallTimeoutInMs: settings.media.stallTimeoutInMs }, { publisher, resultsEntity: ENTITIES.mediaResults.queueName });
  });
}
