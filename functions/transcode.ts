/**
 * transcode — evidence-received (subscription `transcode`) → the plan of the segment-parallel
 * transcode: the original is probed and cut into segments, and the plan is claimed on
 * media-results (`segment-plan`; the index then hands out the segments). A recording that
 * cannot be transcoded fails the stage here, reported as the transcode `stage-result`.
 */
import type { InvocationContext } from "@azure/functions";
import { parseMessage } from "../shared/contracts/validate";
import { planAndReportTranscode } from "../shared/stages/transcode-plan-stage";
import { ENTITIES } from "../shared/topology";
import { settleInvalidMessages, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices } from "./services";

export const transcodeFunction: FunctionDefinition = {
  name: "transcode",
  entity: ENTITIES.transcodeSubscription,
  handler: transcodeHandler,
};

export async function transcodeHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(transcodeFunction, invocation);
  return settleInvalidMessages(context, async () => {
    const received = parseMessage("evidence-received", message);
    const { blobs, media, publisher, settings } = await getServices();
    await planAndReportTranscode(
      received,
      { blobs, media },
      context,
      { maxSide: settings.media.proxyMaxSide, segmentSeconds: settings.media.segmentSeconds },
      { publisher, resultsEntity: ENTITIES.mediaResults.queueName },
    );
  });
}
