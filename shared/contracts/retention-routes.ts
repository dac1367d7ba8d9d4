/**
 * Which queue each retention command may arrive by. Service Bus authorises senders per entity,
 * not per message, so the route is the only proof of who sent a command: releasing a legal hold
 * is the records officers' right and comes only by retention-releases, the queue only they may
 * send to (bicep/service-bus-access.json); everything else comes by retention-commands.
 * Read by the retention functions (which refuse a wrong route) and the CLI (which sends by it).
 */
import { ENTITIES } from "../topology";
import type { RetentionAction } from "./messages";

/** The one queue `action` may arrive by. */
export function expectedRetentionRoute(action: RetentionAction): string {
  return action === "release" ? ENTITIES.retentionReleases.queueName : ENTITIES.retentionCommands.queueName;
}

/** Why a command that arrived on `queueName` is refused, or undefined when that is its route. */
export function retentionRouteRefusal(queueName: string, action: RetentionAction): string | undefined {
  const expected = expectedRetentionRoute(action);
  if (queueName === expected) return undefined;
  return action === "release"
    ? `wrong route: a release arrived on ${queueName}, but releases are accepted only on ${expected}, which only records officers may send to; refused, the hold stays`
    : `wrong route: a ${action} command arrived on ${queueName}, which carries only releases; send it to ${expected}; refused, the record is unchanged`;
}
