/**
 * What the operations CLI asks of Service Bus: how many messages sit where, and what the
 * dead-letter queues hold — read-only, never locking a message. Implemented by
 * adapters/service-bus-operations.ts (ServiceBusAdministrationClient for counts, a
 * dead-letter receiver's peek for messages), the same code against Azure and the emulator.
 */
import type { ReceivableEntity } from "../topology";

export interface EntityCounts {
  /** The receiver path: `queue` or `topic/Subscriptions/sub`. */
  entity: string;
  kind: ReceivableEntity["kind"];
  active: number;
  deadLetter: number;
  /** Null for a subscription: messages scheduled on a topic wait in the topic. */
  scheduled: number | null;
  transferDeadLetter: number;
}

export interface DeadLetteredMessage {
  /**
   * Decimal string (a 64-bit number). The emulator numbers a dead-letter queue on its own;
   * Azure keeps the sequence number the message had in its entity.
   */
  sequenceNumber: string;
  messageId?: string;
  correlationId?: string;
  subject?: string;
  /** ISO 8601. */
  enqueuedTime?: string;
  /** As the SDK reports it (the AMQP header's count of earlier deliveries). */
  deliveryCount?: number;
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  deadLetterSource?: string;
  applicationProperties: Record<string, unknown>;
  body: unknown;
}

export interface QueueOperations {
  /** Active, dead-letter, scheduled and transfer-dead-letter counts, in the order given. */
  listCounts(entities: readonly ReceivableEntity[]): Promise<EntityCounts[]>;
  /** Up to `max` messages of the entity's dead-letter queue, oldest first, without locking any. */
  peekDeadLetters(entity: ReceivableEntity, max: number): Promise<DeadLetteredMessage[]>;
  close(): Promise<void>;
}
