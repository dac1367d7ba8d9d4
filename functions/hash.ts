/**
 * hash — evidence-received (subscription `hash`) → SHA-256 of the exact original version,
 * streamed, with per-segment digests; the outcome goes to stage-results.
 */
import type { InvocationContext } from "@azure/functions";
import { parseMessage } from "../shared/contracts/validate";
import { hashOriginal } from "../shared/stages/hash-stage";
import { runAndReportStage } from "../shared/stages/report-stage";
import { ENTITIES } from "../shared/topology";
import { settleInvalidMessages, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices } from "./services";

export const hashFunction: FunctionDefinition = {
  name: "hash",
  entity: ENTITIES.hashSubscription,
  handler: hashHandler,
};

export async function hashHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(hashFunction, invocation);
  return settleInvalidMessages(context, async () => {
    const received = parseMessage("evidence-received", message);
    const { blobs, publisher } = await getServices();
    await runAndReportStage(
      { stage: "hash", evidenceId: received.evidenceId, publisher, resultsEntity: ENTITIES.stageResults.queueName, reprocess: received.reprocess, retry: received.retry },
      context,
      async () => {
        const hash = await hashOriginal(received, { blobs }, context);
        return { outcome: "succeeded", hash, inputSha256: hash.sha256 };
      },
    );
  });
}
