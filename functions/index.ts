/**
 * The Azure Functions entry point (package.json "main"): registers the function definitions of
 * this app's role (CUSTODY_APP_ROLE: the core app or the media app, functions/app-roles.ts)
 * with the v4 programming model. Outside the Functions host these registrations are skipped
 * ("test mode"), which is why the dev host reads FUNCTION_DEFINITIONS instead.
 *
 * Settlement in Azure: the host completes a message when the handler returns and abandons it
 * when it throws. A handler outcome of "deadLetter" (an invalid message) is turned into a
 * thrown error here, so in Azure such a message is retried until MaxDeliveryCount and then
 * dead-lettered as MaxDeliveryCountExceeded, with the reason in the logs and on the record;
 * the dev host dead-letters it at once with the reason. Dead-lettering directly in Azure
 * needs the Service Bus SDK binding (`sdkBinding`, @azure/functions-extensions-servicebus,
 * in preview) — see docs/architecture.md.
 */
// First: telemetry must start before the SDKs it instruments are loaded (no-op without its setting).
import "./telemetry-bootstrap";
import { app, type InvocationContext } from "@azure/functions";
import { CustodyError } from "../shared/errors";
import { SERVICE_BUS_CONNECTION } from "../shared/settings";
import { appRoles } from "./app-roles";
import { definitionsForRoles } from "./definitions";
import type { FunctionDefinition } from "./invocation";

// Only this app's role's functions (CUSTODY_APP_ROLE; an unknown role fails the start, naming the setting).
const { functions, timers } = definitionsForRoles(appRoles(process.env));
for (const definition of functions) register(definition);
// Timers: the schedule comes from the app settings (process.env in the worker) and is checked at start.
for (const timer of timers) {
  app.timer(timer.name, { schedule: timer.schedule(process.env), runOnStartup: false, handler: (trigger, context) => timer.handler(trigger, context) });
}

function register(definition: FunctionDefinition): void {
  const handler = async (message: unknown, context: InvocationContext): Promise<void> => {
    const outcome = await definition.handler(message, context);
    if (outcome.settle === "deadLetter") {
      throw new CustodyError("InvalidMessage", `${outcome.reason}: ${outcome.description}`, { retryable: false });
    }
  };
  if (definition.entity.kind === "queue") {
    app.serviceBusQueue(definition.name, { connection: SERVICE_BUS_CONNECTION, queueName: definition.entity.queueName, handler });
  } else {
    app.serviceBusTopic(definition.name, {
      connection: SERVICE_BUS_CONNECTION,
      topicName: definition.entity.topicName,
      subscriptionName: definition.entity.subscriptionName,
      handler,
    });
  }
}
