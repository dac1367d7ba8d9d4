/**
 * Read-only views of the live entity store, for the management REST endpoint (the subset
 * of the Service Bus ATOM API that ServiceBusAdministrationClient uses) and for tests.
 * The store implements these; consumers never reach into the store's internals.
 */
import type { QueueSettings, RuleSpec, SubscriptionSettings, TopicSettings } from "../config/types";

export interface MessageCounts {
  /** Messages that can be received now (including those currently locked by a receiver). */
  activeMessageCount: number;
  deadLetterMessageCount: number;
  scheduledMessageCount: number;
  /** Always 0 in the emulator: forwarding happens at send time, no transfer queue builds up. */
  transferMessageCount: number;
  transferDeadLetterMessageCount: number;
  /** Every message held by the entity, in all of the states above (and deferred ones). */
  totalMessageCount: number;
  /** Sum of the encoded sizes of the messages the entity holds. */
  sizeInBytes: number;
}

interface EntityTimes {
  createdAt: Date;
  modifiedAt: Date;
  accessedAt: Date;
}

export interface QueueView extends EntityTimes {
  name: string;
  settings: QueueSettings;
  counts(): MessageCounts;
}

export interface SubscriptionView extends EntityTimes {
  topicName: string;
  name: string;
  settings: SubscriptionSettings;
  counts(): MessageCounts;
  rules(): RuleSpec[];
}

export interface TopicView extends EntityTimes {
  name: string;
  settings: TopicSettings;
  subscriptions(): SubscriptionView[];
  /** Messages scheduled on the topic and not yet routed to subscriptions. */
  scheduledMessageCount(): number;
  sizeInBytes(): number;
}

export interface NamespaceView {
  name: string;
  createdAt: Date;
  queues(): QueueView[];
  topics(): TopicView[];
  /** Case-insensitive, as entity names are in Service Bus. Undefined when absent. */
  queue(name: string): QueueView | undefined;
  topic(name: string): TopicView | undefined;
  subscription(topicName: string, subscriptionName: string): SubscriptionView | undefined;
}
