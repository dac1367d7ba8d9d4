/**
 * The contract check end-to-end tests share: every message on the evidence-ready topic must be
 * a valid CloudEvent (binary mode) whose data matches its schema — `parseEvidenceEvent`
 * throws, with every problem listed, when it is not.
 */
import type { ServiceBusClient, ServiceBusReceivedMessage } from "@azure/service-bus";
import { parseEvidenceEvent, type EvidenceEvent } from "../../shared/contracts/evidence-events";
import { ENTITIES } from "../../shared/topology";

/** Parses a received message as an evidence event, failing the test with the reason when it is not one. */
export function expectEvidenceEvent(message: Pick<ServiceBusReceivedMessage, "body" | "contentType" | "applicationProperties" | "messageId">): EvidenceEvent {
  const event = parseEvidenceEvent(message, { closed: true });
  // The Service Bus message id is the CloudEvents id: duplicate detection and consumers dedupe on the same value.
  expect(message.messageId).toBe(event.id);
  return event;
}

/** Receives (and deletes) everything a subscription of the evidence-ready topic holds now, each checked against the contract. */
export async function drainEvents(client: ServiceBusClient, subscription: string, quietInMs = 500): Promise<Array<{ message: ServiceBusReceivedMessage; event: EvidenceEvent }>> {
  const receiver = client.createReceiver(ENTITIES.evidenceReadyTopic, subscription, { receiveMode: "receiveAndDelete" });
  const out: Array<{ message: ServiceBusReceivedMessage; event: EvidenceEvent }> = [];
  try {
    for (;;) {
      const batch = await receiver.receiveMessages(50, { maxWaitTimeInMs: quietInMs });
      if (batch.length === 0) break;
      for (const message of batch) out.push({ message, event: expectEvidenceEvent(message) });
    }
  } finally {
    await receiver.close();
  }
  return out;
}
