/**
 * Sending messages to Service Bus entities. Implemented by adapters/service-bus-publisher.ts.
 * Every message carries a deterministic id (duplicate detection), the evidence id and the
 * trace context as application properties so logs of all stages can be joined.
 */
import type { OutgoingMessage } from "../contracts/envelopes";

export type { OutgoingMessage } from "../contracts/envelopes";

export interface Publisher {
  /** Sends to a queue or topic; resolves once the service accepted it. */
  publish(entity: string, message: OutgoingMessage): Promise<void>;
}
