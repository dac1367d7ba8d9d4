/**
 * transcode-join — a `join-request` (queue `transcode-join`, sent by the index once every
 * segment succeeded) → the proxy, the HLS playlist and the segment manifest in
 * `derived/<evidenceId>/transcode/`, joined by stream copy and verified; the outcome is the
 * transcode stage's `stage-result` on media-results.
 */
import type { InvocationContext } from "@azure/functions";
import { parseMessage } from "../shared/contracts/validate";
import { runAndReportStage } from "../shared/stages/report-stage";
import { joinTranscode } from "../shared/stages/transcode-join-stage";
import { ENTITIES } from "../shared/topology";
import { settleInvalidMessages, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices } from "./services";

export const transcodeJoinFunction: FunctionDefinition = {
  name: "transcode-join",
  entity: ENTITIES.transcodeJoin,
  handler: transcodeJoinHandler,
};

export async function transcodeJoinHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(transcodeJoinFunction, invocation);
  return settleInvalidMessages(context, async () => {
    const request = parseMessage("join-request", message);
    const { blobs, media, publisher, settings } = await getServices();
    await runAndReportStage(
      { stage: "transcode", evidenceId: request.evidenceId, publisher, resultsEntity: ENTITIES.mediaResults.queueName, reprocess: request.reprocess, retry: request.retry },
      context,
      () => joinTranscode(request, { blobs, media }, context, { stallTimeoutInMs: settings.media.stallTimeoutInMs }),
    );
  });
}
