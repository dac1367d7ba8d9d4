/**
 * ingest — Microsoft.Storage.BlobCreated (CloudEvents, from Event Grid via the blob-created
 * queue) → one evidence-received message per recording. Accepted or rejected, every
 * recording goes on: a rejected one is still hashed and indexed with its reasons.
 */
import type { InvocationContext } from "@azure/functions";
import { evidenceReceivedMessageId, operationLabelOf, reannouncedEvidenceReceivedMessageId } from "../shared/contracts/message-ids";
import { parseBlobCreatedEvent } from "../shared/contracts/blob-created-event";
import { ingestRecording } from "../shared/stages/ingest-stage";
import { ENTITIES } from "../shared/topology";
import { annotateEvidenceId, settleWithRetries, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices, retryDeps } from "./services";

export const ingestFunction: FunctionDefinition = {
  name: "ingest",
  entity: ENTITIES.blobCreated,
  handler: ingestHandler,
};

export async function ingestHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(ingestFunction, invocation);
  return settleWithRetries(ingestFunction, invocation, context, message, retryDeps, async () => {
    const event = parseBlobCreatedEvent(message);
    const { blobs, publisher, settings } = await getServices();
    const received = await ingestRecording(event, { blobs }, context, { acceptedContainers: settings.acceptedContainers });
    annotateEvidenceId(context, received.evidenceId);
    // A re-announcement (reconcile, a redrive of this queue) gets its own id: the first
    // announcement's would be dropped by the topic's duplicate detection inside its window.
    const operation = operationLabelOf(triggerProperties(invocation));
    await publisher.publish(ENTITIES.evidenceReceivedTopic, {
      messageId: operation === undefined ? evidenceReceivedMessageId(received.evidenceId) : reannouncedEvidenceReceivedMessageId(received.evidenceId, operation),
      body: received,
      subject: "evidence-received",
      correlationId: received.evidenceId,
      applicationProperties: { acceptance: received.acceptance.status },
      traceparent: context.traceparent,
    });
    context.log.info("recording received", {
      evidenceId: received.evidenceId,
      container: received.original.container,
      name: received.original.name,
      acceptance: received.acceptance.status,
      ...(operation === undefined ? {} : { operation }),
    });
  });
}

function triggerProperties(invocation: InvocationContext): Record<string, unknown> | undefined {
  const metadata = (invocation.triggerMetadata ?? {}) as { applicationProperties?: Record<string, unknown>; userProperties?: Record<string, unknown> };
  return metadata.applicationProperties ?? metadata.userProperties;
}
