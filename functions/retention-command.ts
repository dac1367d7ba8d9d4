/**
 * retention-command — the retention-commands queue (operators' `custody retention` / `hold` /
 * `release`, and downstream systems such as case management) → the index records the
 * recording's category or legal hold (shared/stages/index-stage.ts indexRetentionCommand). A
 * command the index refuses (unknown recording or category, a release without a hold, a body
 * that is not a retention-command) is dead-lettered with the reason.
 */
import type { InvocationContext } from "@azure/functions";
import { parseMessage } from "../shared/contracts/validate";
import { indexRetentionCommand } from "../shared/stages/index-stage";
import { ENTITIES } from "../shared/topology";
import { annotateEvidenceId, settleWithRetries, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices, retryDeps } from "./services";

export const retentionCommandFunction: FunctionDefinition = {
  name: "retention-command",
  entity: ENTITIES.retentionCommands,
  handler: retentionCommandHandler,
};

export async function retentionCommandHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(retentionCommandFunction, invocation);
  return settleWithRetries(retentionCommandFunction, invocation, context, message, retryDeps, async () => {
    const command = parseMessage("retention-command", message);
    annotateEvidenceId(context, command.evidenceId);
    const { index, ledger, retention, settings } = await getServices();
    await indexRetentionCommand(command, { index, ledger, retentionStore: retention, requiredStages: settings.requiredStages, retryPolicy: settings.retry }, context);
  });
}
