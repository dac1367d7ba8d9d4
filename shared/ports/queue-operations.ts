/**
 * What the operations CLI asks of Service Bus: how many messages sit where, and what the
 * dead-letter queues hold — read-only, never locking a message. Implemented by
 * adapters/service-bus-operations.ts (ServiceBusAdministrationClient for counts, a
 * dead-letter receiver's peek for messages), the same code against Azure and the emulator.
 */
import type { VerbatimMessage } from "../contracts/envelopes";
import type { ReceivableEntity } from "../topology";

export type { VerbatimMessage } from "../contracts/envelopes";

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
  contentType?: string;
  applicationProperties: Record<string, unknown>;
  body: unknown;
}

/** A dead-lettered message received under a peek-lock (redrive, purge). */
export interface LockedDeadLetter extends DeadLetteredMessage {
  /** The adapter's handle on the locked message; opaque to callers. */
  readonly handle: unknown;
}

/** A receiver on one entity's dead-letter queue, in peek-lock mode. */
export interface DeadLetterReceiver {
  /** Up to `max` messages, locked; an empty array when none arrived within `maxWaitTimeInMs`. */
  receive(max: number, maxWaitTimeInMs: number): Promise<LockedDeadLetter[]>;
  /** Removes the message from the dead-letter queue. */
  complete(message: LockedDeadLetter): Promise<void>;
  /** Releases the lock: the message stays in the dead-letter queue. */
  abandon(message: LockedDeadLetter): Promise<void>;
  close(): Promise<void>;
}

export interface QueueOperations {
  /** Active, dead-letter, scheduled and transfer-dead-letter counts, in the order given. */
  listCounts(entities: readonly ReceivableEntity[]): Promise<EntityCounts[]>;
  /** Up to `max` messages of the entity's dead-letter queue, oldest first, without locking any. */
  peekDeadLetters(entity: ReceivableEntity, max: number): Promise<DeadLetteredMessage[]>;
  /** A peek-lock receiver on the entity's dead-letter queue. */
  openDeadLetterReceiver(entity: ReceivableEntity): Promise<DeadLetterReceiver>;
  /** Sends to a queue or a topic; resolves when Service Bus accepted the message. */
  send(queueOrTopic: string, message: VerbatimMessage): Promise<void>;
  close(): Promise<void>;
}
