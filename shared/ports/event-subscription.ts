/**
 * What `custody subscribe` asks of Service Bus: one subscription of the evidence-ready topic,
 * its rules (to narrow it with a filter of the caller's, and to put the old rules back), and
 * peek-lock receiving with complete / dead-letter. Implemented by
 * adapters/service-bus-event-subscription.ts; the same code against Azure and the emulator.
 */
import type { SubscriptionRule } from "../contracts/event-filters";

export type { SubscriptionRule } from "../contracts/event-filters";

/** A received message, as much of it as an evidence event reader needs. */
export interface ReceivedMessage {
  messageId?: string;
  subject?: string;
  contentType?: string;
  correlationId?: string;
  applicationProperties: Record<string, unknown>;
  body: unknown;
  deliveryCount?: number;
  enqueuedTime?: string;
  /** The adapter's handle on the locked message; opaque to callers. */
  readonly handle: unknown;
}

export interface EventSubscription {
  readonly topicName: string;
  readonly subscriptionName: string;
  listRules(): Promise<SubscriptionRule[]>;
  addRule(rule: SubscriptionRule): Promise<void>;
  removeRule(name: string): Promise<void>;
  /** Up to `max` messages under a peek-lock; an empty array when none arrived within `maxWaitTimeInMs`. */
  receive(max: number, maxWaitTimeInMs: number, abortSignal?: AbortSignal): Promise<ReceivedMessage[]>;
  complete(message: ReceivedMessage): Promise<void>;
  deadLetter(message: ReceivedMessage, reason: string, description: string): Promise<void>;
  close(): Promise<void>;
}
