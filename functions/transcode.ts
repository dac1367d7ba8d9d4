/**
 * transcode — evidence-received (subscription `transcode`) → a verified browser-playable proxy
 * in `derived/<evidenceId>/transcode/`, and the probe of the original; the outcome goes to
 * media-results (the media app's only results route). Long runs keep their message lock
 * through the host's automatic lock renewal (host.json maxAutoLockRenewalDuration); the run is bounded by its progress (the stall window), not by a duration guess.
 */
import type { InvocationContext } from "@azure/functions";
import { parseMessage } from "../shared/contracts/validate";
import { runAndReportStage } from "../shared/stages/report-stage";
import { transcodeOriginal } from "../shared/stages/transcode-stage";
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
    await runAndReportStage(
      { stage: "transcode", evidenceId: received.evidenceId, publisher, resultsEntity: ENTITIES.mediaResults.queueName, reprocess: received.reprocess, retry: received.retry },
      context,
      () => transcodeOriginal(received, { blobs, media }, context, { maxSide: settings.media.proxyMaxSide, stallTimeoutInMs: settings.media.stallTimeoutInMs }),
    );
  });
}
