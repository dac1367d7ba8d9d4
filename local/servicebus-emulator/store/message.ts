import type { Message as AmqpMessage } from "rhea";

export type MessageState = "active" | "deferred" | "scheduled";

/**
 * A message held by an entity. `amqp` is the message as its sender encoded it (rhea's decoded
 * form: header and properties fields flattened, `body`, sender's annotations) and is never
 * mutated — copies routed to several subscriptions share it. What the broker changes
 * (application properties on abandon/dead-letter, counts, lock, state) lives beside it.
 */
export interface StoredMessage {
  readonly sequenceNumber: number;
  readonly amqp: AmqpMessage;
  /** The message's application properties, copied so that settlement can modify them. */
  applicationProperties: Record<string, unknown> | undefined;
  /** Encoded size in bytes, as counted against the entity's maximum message size. */
  readonly size: number;
  /** Session id (AMQP group-id) on session entities; undefined otherwise. */
  readonly sessionId: string | undefined;
  state: MessageState;
  enqueuedAtMs: number;
  /** Infinity when the message never expires. */
  expiresAtMs: number;
  /** Failed deliveries so far (lock expiries and abandons): the AMQP header delivery-count. */
  deliveryCount: number;
  scheduledEnqueueAtMs?: number;
  /** The entity the message was dead-lettered from (set on dead-letter queue copies). */
  deadLetterSource?: string;
  /** Current peek-lock, if a receiver holds one. */
  lock?: MessageLock;
}

export interface MessageLock {
  token: string;
  lockedUntilMs: number;
  /** The receiver the message was delivered to (undefined for locks taken over $management). */
  owner: Consumer | undefined;
}

/**
 * A receiving link as the store sees it: how many messages it can take and how to hand one
 * over. The protocol layer implements this on top of a rhea sender link.
 */
export interface Consumer {
  readonly id: string;
  readonly receiveMode: "peekLock" | "receiveAndDelete";
  /** The session this consumer holds (session entities only). */
  readonly sessionId: string | undefined;
  credit(): number;
  deliver(message: StoredMessage, lockToken: string | undefined): void;
  /** The session lock expired: the link must be closed with SessionLockLost. */
  sessionLost?(reason: string): void;
}

/** What a sender hands to the store for one message. */
export interface IncomingMessage {
  amqp: AmqpMessage;
  size: number;
}

/** Settings for a message being enqueued (beyond what its AMQP fields say). */
export interface EnqueueOptions {
  scheduledEnqueueAtMs?: number;
  deliveryCount?: number;
  deadLetterSource?: string;
  applicationProperties?: Record<string, unknown>;
}

/** Time to live the sender asked for (AMQP header ttl, ms), or undefined. */
export function requestedTimeToLiveInMs(amqp: AmqpMessage): number | undefined {
  const ttl = amqp.ttl;
  return typeof ttl === "number" && ttl > 0 ? ttl : undefined;
}
