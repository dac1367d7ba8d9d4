/**
 * Publisher over Service Bus: one sender per entity, reused. Each message carries its
 * deterministic id, `subject` (the kind, for SQL filters on `sys.Label`), the evidence id as
 * correlation id and application property, and `traceparent` / `Diagnostic-Id` so the
 * receiving stage continues the trace.
 */
import type { ServiceBusClient, ServiceBusSender } from "@azure/service-bus";
import { toCustodyError } from "../errors";
import type { OutgoingMessage, Publisher } from "../ports/publisher";

export class ServiceBusPublisher implements Publisher {
  private readonly senders = new Map<string, ServiceBusSender>();

  constructor(private readonly client: ServiceBusClient) {}

  async publish(entity: string, message: OutgoingMessage): Promise<void> {
    let sender = this.senders.get(entity);
    if (!sender) {
      sender = this.client.createSender(entity);
      this.senders.set(entity, sender);
    }
    const applicationProperties: Record<string, string | number | boolean | Date> = { ...(message.applicationProperties ?? {}) };
    // A message about no recording yet (a re-scheduled blob-created event) has no evidence id.
    if (message.correlationId !== "") applicationProperties.evidenceId = message.correlationId;
    if (message.traceparent) {
      applicationProperties.traceparent = message.traceparent;
      // The name Azure SDKs and the Functions host use for the same W3C context.
      applicationProperties["Diagnostic-Id"] = message.traceparent;
    }
    try {
      await sender.sendMessages({
        messageId: message.messageId,
        body: message.body,
        contentType: message.contentType ?? "application/json",
        subject: message.subject,
        ...(message.correlationId === "" ? {} : { correlationId: message.correlationId }),
        applicationProperties,
        ...(message.scheduledEnqueueTime === undefined ? {} : { scheduledEnqueueTimeUtc: message.scheduledEnqueueTime }),
      });
    } catch (error) {
      throw toCustodyError(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.senders.values()].map((sender) => sender.close()));
    this.senders.clear();
  }
}
