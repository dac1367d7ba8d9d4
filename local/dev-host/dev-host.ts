/**
 * The dev host: runs the app's function definitions against Service Bus the way the Azure
 * Functions host does — peek-lock receivers with host.json's maxConcurrentCalls and
 * maxAutoLockRenewalDuration; complete when the handler returns, abandon when it throws (so
 * the entity's MaxDeliveryCount sends exhausted messages to the dead-letter queue); and, which
 * the host cannot do without SDK bindings, dead-letter at once with the reason when the
 * handler says a message is invalid.
 */
import { randomUUID } from "node:crypto";
import { InvocationContext } from "@azure/functions";
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from "@azure/service-bus";
import type { FunctionDefinition } from "../../functions/invocation";
import type { Logger } from "../../shared/logging";
import { entityPath } from "../../shared/topology";
import type { ServiceBusHostSettings } from "./host-json";

export interface StartDevHostOptions {
  client: ServiceBusClient;
  definitions: readonly FunctionDefinition[];
  hostSettings: ServiceBusHostSettings;
  log: Logger;
}

export interface DevHost {
  /** Stops taking messages, waits up to `drainTimeoutInMs` for running invocations, then closes. */
  stop(drainTimeoutInMs?: number): Promise<void>;
}

export function startDevHost(options: StartDevHostOptions): DevHost {
  const receivers: ServiceBusReceiver[] = [];
  const subscriptions: Array<{ close(): Promise<void> }> = [];
  // Invocations still running: stop() lets them finish and settle, as the Functions host drains.
  const inFlight = new Set<Promise<void>>();
  for (const definition of options.definitions) {
    const receiver = options.client.createReceiver(entityPath(definition.entity), {
      receiveMode: "peekLock",
      maxAutoLockRenewalDurationInMs: options.hostSettings.maxAutoLockRenewalDurationInMs,
    });
    receivers.push(receiver);
    const log = options.log.child({ function: definition.name });
    subscriptions.push(
      receiver.subscribe(
        {
          processMessage: (message) => {
            const invocation = invoke(definition, receiver, message, log);
            inFlight.add(invocation);
            return invocation.finally(() => inFlight.delete(invocation));
          },
          processError: (args) => {
            log.warn("receiver error (the SDK retries)", { error: args.error, source: args.errorSource });
            return Promise.resolve();
          },
        },
        { autoCompleteMessages: false, maxConcurrentCalls: options.hostSettings.maxConcurrentCalls },
      ),
    );
    log.info("listening", { entity: entityPath(definition.entity), maxConcurrentCalls: options.hostSettings.maxConcurrentCalls });
  }
  return {
    async stop(drainTimeoutInMs = 30_000) {
      await Promise.all(subscriptions.map((s) => s.close()));
      // Give running invocations time to finish; what does not finish is redelivered after its lock expires.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, drainTimeoutInMs);
          timer.unref();
        }),
      ]);
      if (timer) clearTimeout(timer);
      await Promise.all(receivers.map((r) => r.close()));
    },
  };
}

async function invoke(definition: FunctionDefinition, receiver: ServiceBusReceiver, message: ServiceBusReceivedMessage, log: Logger): Promise<void> {
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: definition.name,
    triggerMetadata: triggerMetadataOf(message),
    // Function logs arrive as the JSON lines shared/logging.ts writes; re-emit them through the
    // dev host's logger so they go where the host's own logs go (and are silenced with them).
    logHandler: (level, ...args) => {
      const line = args.map(String).join(" ");
      let fields: Record<string, unknown> = {};
      let message = line;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed && typeof parsed === "object" && typeof parsed.message === "string") {
          ({ message } = parsed as { message: string });
          fields = parsed;
          delete fields.message;
          delete fields.time;
          delete fields.level;
        }
      } catch {
        // a plain text line
      }
      if (level === "error" || level === "critical") log.error(message, fields);
      else if (level === "warning") log.warn(message, fields);
      else if (level === "debug" || level === "trace") log.debug(message, fields);
      else log.info(message, fields);
    },
  });
  let outcome;
  try {
    outcome = await definition.handler(message.body, context);
  } catch (error) {
    log.warn("invocation failed: abandoning the message", { messageId: message.messageId, deliveryCount: message.deliveryCount, error });
    await receiver.abandonMessage(message).catch((settleError: unknown) => log.warn("abandon failed (the lock will expire)", { error: settleError }));
    return;
  }
  if (outcome.settle === "deadLetter") {
    await receiver.deadLetterMessage(message, { deadLetterReason: outcome.reason, deadLetterErrorDescription: outcome.description });
  } else {
    await receiver.completeMessage(message);
  }
}

/**
 * The Functions host's Service Bus binding data, from a received message. deliveryCount is
 * 1-based there (.NET SDK) and 0-based in the JS SDK.
 */
export function triggerMetadataOf(message: ServiceBusReceivedMessage): Record<string, unknown> {
  return {
    deliveryCount: (message.deliveryCount ?? 0) + 1,
    messageId: message.messageId,
    correlationId: message.correlationId,
    subject: message.subject,
    contentType: message.contentType,
    sequenceNumber: message.sequenceNumber?.toNumber(),
    enqueuedTimeUtc: message.enqueuedTimeUtc?.toISOString(),
    expiresAtUtc: message.expiresAtUtc?.toISOString(),
    lockToken: message.lockToken,
    deadLetterSource: message.deadLetterSource,
    applicationProperties: message.applicationProperties ?? {},
    userProperties: message.applicationProperties ?? {},
  };
}
