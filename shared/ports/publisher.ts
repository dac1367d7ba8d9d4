/**
 * Sending messages to Service Bus entities. Implemented by adapters/service-bus-publisher.ts.
 * Every message carries a deterministic id (duplicate detection), the evidence id and the
 * trace context as application properties so logs of all stages can be joined.
 */
/** A pipeline message to publish (operator tools send theirs as given: ports/queue-operations.ts VerbatimMessage). */
export interface OutgoingMessage {
  messageId: string;
  body: unknown;
  /** Service Bus `subject` (SQL `sys.Label`): the message kind, used by subscription filters. */
  subject: string;
  /** The evidence id; also set as the `evidenceId` application property. */
  correlationId: string;
  /** AMQP content type; default `application/json`. */
  contentType?: string;
  /** Dates travel as AMQP timestamps (the CloudEvents binding's `cloudEvents:time`). */
  applicationProperties?: Record<string, string | number | boolean | Date>;
  /** W3C trace context of the work that produced the message. */
  traceparent?: string;
  /** Enqueue it only at this time (a retry with backoff); duplicate detection applies when it is sent. */
  scheduledEnqueueTime?: Date;
}

export interface Publisher {
  /** Sends to a queue or topic; resolves once the service accepted it. */
  publish(entity: string, message: OutgoingMessage): Promise<void>;
}
