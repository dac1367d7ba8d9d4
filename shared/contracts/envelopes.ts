/**
 * The two shapes a message takes on its way to Service Bus — what goes on the wire, so a
 * contract: the ports that send them (ports/publisher.ts, ports/queue-operations.ts) and the
 * domain code that builds them (shared/evidence) both name them from here.
 */

/** A pipeline message to publish (operator tools send theirs as given: VerbatimMessage). */
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

/**
 * A message `send` puts on an entity exactly as given — redrive copies, reprocess requests —
 * unlike the pipeline's OutgoingMessage, which the publisher (ports/publisher.ts) completes
 * with the evidence id and trace context.
 */
export interface VerbatimMessage {
  messageId: string;
  body: unknown;
  contentType?: string;
  correlationId?: string;
  subject?: string;
  applicationProperties: Record<string, string | number | boolean | Date | null>;
}
