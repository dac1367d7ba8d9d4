/**
 * The emulator's view of a namespace topology, after the Config.json file (the shape of
 * Microsoft's Service Bus emulator configuration) has been read and validated.
 * Durations are milliseconds; absent optional settings take the service's defaults.
 */

/** Settings shared by queues and subscriptions (the entities messages are received from). */
export interface ReceivableEntitySettings {
  /** Peek-lock duration. Service default PT1M. */
  lockDurationInMs: number;
  /** Deliveries before a message is dead-lettered with MaxDeliveryCountExceeded. Default 10. */
  maxDeliveryCount: number;
  /** Time to live applied when a message sets none (and the cap for those that do). */
  defaultMessageTimeToLiveInMs: number;
  /** Expired messages go to the dead-letter queue (reason TTLExpiredException) instead of being dropped. */
  deadLetteringOnMessageExpiration: boolean;
  /** Only session receivers may receive; every message must carry a session id. */
  requiresSession: boolean;
  /** Entity every message arriving here is forwarded to (a queue or a topic), if set. */
  forwardTo?: string;
  /** Entity dead-lettered messages are forwarded to, if set. */
  forwardDeadLetteredMessagesTo?: string;
}

export interface QueueSettings extends ReceivableEntitySettings {
  requiresDuplicateDetection: boolean;
  duplicateDetectionHistoryTimeWindowInMs: number;
}

export interface TopicSettings {
  defaultMessageTimeToLiveInMs: number;
  requiresDuplicateDetection: boolean;
  duplicateDetectionHistoryTimeWindowInMs: number;
}

export type SubscriptionSettings = ReceivableEntitySettings;

/** Correlation filter: every property given must equal the message's (AND). */
export interface CorrelationFilterSpec {
  correlationId?: string;
  messageId?: string;
  to?: string;
  replyTo?: string;
  /** Called `Label` in Config.json and in SQL (`sys.Label`); `subject` in the SDK. */
  subject?: string;
  sessionId?: string;
  replyToSessionId?: string;
  contentType?: string;
  /** Application properties that must be present with equal values. */
  applicationProperties?: Record<string, string | number | boolean>;
}

export type RuleFilterSpec = { kind: "sql"; sqlExpression: string } | { kind: "correlation"; correlation: CorrelationFilterSpec } | { kind: "true" } | { kind: "false" };

export interface RuleSpec {
  name: string;
  filter: RuleFilterSpec;
  /** SQL rule action (`SET …`, `REMOVE …`), applied to the subscription's copy of a matched message. */
  actionSqlExpression?: string;
}

export interface QueueSpec {
  name: string;
  settings: QueueSettings;
}

export interface SubscriptionSpec {
  name: string;
  settings: SubscriptionSettings;
  /** When a config gives no rule, the subscription gets `$Default` with a true filter, as the service does. */
  rules: RuleSpec[];
}

export interface TopicSpec {
  name: string;
  settings: TopicSettings;
  subscriptions: SubscriptionSpec[];
}

export interface NamespaceSpec {
  name: string;
  queues: QueueSpec[];
  topics: TopicSpec[];
}
