/**
 * What the dead-letter CLI tests share: a way to make a stage's message really exhaust its
 * deliveries. A transient failure of the work itself no longer does that (it is reported, and
 * the index schedules a retry with backoff); what still does is a stage that cannot report its
 * outcome — the broker refusing sends to the results queue — so every delivery is abandoned
 * and MaxDeliveryCount dead-letters the message, as after repeated host crashes.
 */
import { CustodyError } from "../../shared/errors";
import type { FunctionServices } from "../../functions/services";
import { ENTITIES } from "../../shared/topology";

export const INJECTED_BROKER_FAILURE = "Service Bus answered ServiceBusy on stage-results (injected by the test)";

/** The same publisher, but sends to the stage-results queue throw a transient error while `failing()` says so. */
export function publisherFailingResults(publisher: FunctionServices["publisher"], failing: () => boolean = () => true): FunctionServices["publisher"] {
  return {
    async publish(entity, message) {
      if (entity === ENTITIES.stageResults.queueName && failing()) throw new CustodyError("Transient", INJECTED_BROKER_FAILURE);
      return publisher.publish(entity, message);
    },
  };
}
