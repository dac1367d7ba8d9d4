/**
 * index — the only writer of the evidence index (Cosmos DB). Two triggers:
 *   index-received: evidence-received (subscription `index`) creates/merges the record;
 *   index-results:  stage-results merges each stage outcome, and each fixity check
 *                   (`fixity-result`, from the fixity-sample timer or `custody verify --record`).
 * When every required stage is done it publishes evidence-ready (or evidence-failed) once.
 */
import type { InvocationContext } from "@azure/functions";
import { claimedKind, parseMessage } from "../shared/contracts/validate";
import type { Settings } from "../shared/settings";
import { indexEvidenceReceived, indexFixityResult, indexStageResult, type IndexStageDeps } from "../shared/stages/index-stage";
import { ENTITIES } from "../shared/topology";
import { settleWithRetries, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices, retryDeps } from "./services";

export const indexReceivedFunction: FunctionDefinition = {
  name: "index-received",
  entity: ENTITIES.indexSubscription,
  handler: indexReceivedHandler,
};

export const indexResultsFunction: FunctionDefinition = {
  name: "index-results",
  entity: ENTITIES.stageResults,
  handler: indexResultsHandler,
};

export async function indexReceivedHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(indexReceivedFunction, invocation);
  return settleWithRetries(indexReceivedFunction, invocation, context, message, retryDeps, async () => {
    const received = parseMessage("evidence-received", message);
    const { index, publisher, settings } = await getServices();
    await indexEvidenceReceived(received, indexDeps(index, publisher, settings), context);
  });
}

export async function indexResultsHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(indexResultsFunction, invocation);
  return settleWithRetries(indexResultsFunction, invocation, context, message, retryDeps, async () => {
    if (claimedKind(message) === "fixity-result") {
      const fixity = parseMessage("fixity-result", message);
      const { index, settings } = await getServices();
      await indexFixityResult(fixity, { index, retryPolicy: settings.retry }, context);
      return;
    }
    const result = parseMessage("stage-result", message);
    const { index, publisher, settings } = await getServices();
    await indexStageResult(result, indexDeps(index, publisher, settings), context);
  });
}

function indexDeps(index: IndexStageDeps["index"], publisher: IndexStageDeps["publisher"], settings: Settings): IndexStageDeps {
  return {
    index,
    publisher,
    requiredStages: settings.requiredStages,
    readyTopic: ENTITIES.evidenceReadyTopic,
    receivedTopic: ENTITIES.evidenceReceivedTopic,
    eventSource: settings.eventSource,
    retryPolicy: settings.retry,
  };
}
