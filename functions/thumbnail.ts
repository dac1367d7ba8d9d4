/**
 * thumbnail — evidence-received (subscription `thumbnail`) → poster, thumbnails, sprite sheet
 * and WebVTT track in `derived/<evidenceId>/thumbnail/` (or `skipped: no video stream` for
 * audio-only recordings); the outcome goes to media-results (the media app's only results route).
 */
import type { InvocationContext } from "@azure/functions";
import { parseMessage } from "../shared/contracts/validate";
import { runAndReportStage } from "../shared/stages/report-stage";
import { thumbnailOriginal } from "../shared/stages/thumbnail-stage";
import { ENTITIES } from "../shared/topology";
import { settleInvalidMessages, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices } from "./services";

export const thumbnailFunction: FunctionDefinition = {
  name: "thumbnail",
  entity: ENTITIES.thumbnailSubscription,
  handler: thumbnailHandler,
};

export async function thumbnailHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(thumbnailFunction, invocation);
  return settleInvalidMessages(context, async () => {
    const received = parseMessage("evidence-received", message);
    const { blobs, media, publisher, settings } = await getServices();
    await runAndReportStage(
      { stage: "thumbnail", evidenceId: received.evidenceId, publisher, resultsEntity: ENTITIES.mediaResults.queueName, reprocess: received.reprocess, retry: received.retry },
      context,
      () => thumbnailOriginal(received, { blobs, media }, context, { count: settings.media.thumbnailCount, stallTimeoutInMs: settings.media.stallTimeoutInMs }),
    );
  });
}
