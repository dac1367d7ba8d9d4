/**
 * retention-command — the retention-commands queue (operators' `custody retention` / `hold`,
 * case-management systems, the disposal timer) and the retention-releases queue (records
 * officers' `custody release`) → the index records the recording's category, legal holds or
 * disposal (shared/stages/index-stage.ts indexRetentionCommand). A command the index refuses
 * (unknown recording or category, a release without a hold, a release by the wrong route, a
 * body that is not a retention-command) is dead-lettered with the reason.
 */
import type { InvocationContext } from "@azure/functions";
import { parseMessage } from "../shared/contracts/validate";
import { retentionRouteRefusal } from "../shared/contracts/retention-routes";
import { CustodyError } from "../shared/errors";
import { indexRetentionCommand } from "../shared/stages/index-stage";
import { ENTITIES, type QueueEntity } from "../shared/topology";
import { annotateEvidenceId, settleWithRetries, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices, retryDeps } from "./services";

export const retentionCommandFunction: FunctionDefinition = {
  name: "retention-command",
  entity: ENTITIES.retentionCommands,
  handler: (message, invocation) => handleRetentionCommand(retentionCommandFunction, ENTITIES.retentionCommands, message, invocation),
};

export const retentionReleaseFunction: FunctionDefinition = {
  name: "retention-release",
  entity: ENTITIES.retentionReleases,
  handler: (message, invocation) => handleRetentionCommand(retentionReleaseFunction, ENTITIES.retentionReleases, message, invocation),
};

async function handleRetentionCommand(definition: FunctionDefinition, route: QueueEntity, message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(definition, invocation);
  return settleWithRetries(definition, invocation, context, message, retryDeps, async () => {
    const command = parseMessage("retention-command", message);
    annotateEvidenceId(context, command.evidenceId);
    const refusal = retentionRouteRefusal(route.queueName, command.action);
    if (refusal !== undefined) {
      // Its own line for an alert: whoever sent it holds Send on this queue but not the right it asked for.
      context.log.error("retention command refused: wrong route", { evidenceId: command.evidenceId, route: route.queueName, action: command.action, commandId: command.commandId });
      throw new CustodyError("InvalidMessage", refusal, { retryable: false });
    }
    const { index, ledger, publisher, retention, settings } = await getServices();
    await indexRetentionCommand(
      command,
      {
        index,
        ledger,
        publisher,
        readyTopic: ENTITIES.evidenceReadyTopic,
        eventSource: settings.eventSource,
        retentionStore: retention,
        requiredStages: settings.requiredStages,
        retryPolicy: settings.retry,
      },
      context,
    );
  });
}
