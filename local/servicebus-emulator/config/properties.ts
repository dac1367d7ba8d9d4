/**
 * The Config.json properties of each entity kind: one descriptor per property (its key, the
 * settings field it sets, its reader and range) and the defaults for those the config leaves out.
 *
 * Where Microsoft's emulator and the cloud service disagree, this module takes the cloud
 * service's *defaults* (types.ts promises "the service's defaults") and accepts the *union* of
 * both ranges (so every file Microsoft's emulator accepts is accepted here too):
 *
 * | property                            | default here          | Microsoft emulator schema      | range accepted here  |
 * | ----------------------------------- | --------------------- | ------------------------------ | -------------------- |
 * | LockDuration                        | PT1M                  | PT1M (5 s..5 min)              | 5 s..5 min           |
 * | MaxDeliveryCount                    | 10                    | 3 (1..10)                      | 1..2^31-1            |
 * | DefaultMessageTimeToLive            | TimeSpan.MaxValue     | PT1H (5 min..1 h)              | > 0..TimeSpan.Max    |
 * | DuplicateDetectionHistoryTimeWindow | PT10M                 | PT20S (5 s..5 min)             | 5 s..7 days          |
 * | booleans                            | false                 | false                          |                      |
 *
 * Sources: LockDuration max 5 min, default 1 min
 * (https://learn.microsoft.com/dotnet/api/azure.resourcemanager.servicebus.servicebusqueuedata.lockduration);
 * duplicate detection default 10 min (same ARM model, DuplicateDetectionHistoryTimeWindow) and
 * 20 s..7 days (https://learn.microsoft.com/dotnet/api/azure.messaging.servicebus.administration.queueproperties.duplicatedetectionhistorytimewindow);
 * MaxDeliveryCount default 10 and TTL default TimeSpan.MaxValue are the service's
 * (QueueProperties / CreateQueueOptions in the Azure SDKs).
 */
import { TIME_SPAN_MAX_MS } from "./iso-duration";
import { fail } from "./config-error";
import { DAY, describe, durationReader, integerReader, INT32_MAX, isObject, MINUTE, optionalText, readBoolean, readObject, SECOND, type Reader } from "./readers";
import { readEntityReference } from "./references";
import type { CorrelationFilterSpec, QueueSettings, ReceivableEntitySettings, SubscriptionSettings, TopicSettings } from "./types";

/** The settings an entity gets for every property the config leaves out. */
export const DEFAULT_SUBSCRIPTION_SETTINGS: Readonly<SubscriptionSettings> = Object.freeze({
  lockDurationInMs: 60_000,
  maxDeliveryCount: 10,
  defaultMessageTimeToLiveInMs: TIME_SPAN_MAX_MS,
  deadLetteringOnMessageExpiration: false,
  requiresSession: false,
});

/** A queue is received from like a subscription, and detects duplicates like a topic. */
export const DEFAULT_QUEUE_SETTINGS: Readonly<QueueSettings> = Object.freeze({
  ...DEFAULT_SUBSCRIPTION_SETTINGS,
  requiresDuplicateDetection: false,
  duplicateDetectionHistoryTimeWindowInMs: 10 * 60_000,
});

export const DEFAULT_TOPIC_SETTINGS: Readonly<TopicSettings> = Object.freeze({
  defaultMessageTimeToLiveInMs: TIME_SPAN_MAX_MS,
  requiresDuplicateDetection: false,
  duplicateDetectionHistoryTimeWindowInMs: 10 * 60_000,
});

/** A Config.json property (`key`) and the settings field it sets (`target`). */
export type Descriptor<T> = {
  [K in keyof T]-?: { key: string; target: K; read: Reader<T[K]> };
}[keyof T];

const lockDuration: Descriptor<ReceivableEntitySettings> = { key: "LockDuration", target: "lockDurationInMs", read: durationReader(5 * SECOND, 5 * MINUTE) };
const maxDeliveryCount: Descriptor<ReceivableEntitySettings> = { key: "MaxDeliveryCount", target: "maxDeliveryCount", read: integerReader(1, INT32_MAX) };
const defaultMessageTimeToLive: Descriptor<ReceivableEntitySettings & TopicSettings> = {
  key: "DefaultMessageTimeToLive",
  target: "defaultMessageTimeToLiveInMs",
  read: durationReader(0, TIME_SPAN_MAX_MS),
};
const deadLetteringOnMessageExpiration: Descriptor<ReceivableEntitySettings> = { key: "DeadLetteringOnMessageExpiration", target: "deadLetteringOnMessageExpiration", read: readBoolean };
const requiresSession: Descriptor<ReceivableEntitySettings> = { key: "RequiresSession", target: "requiresSession", read: readBoolean };
const forwardTo: Descriptor<ReceivableEntitySettings> = { key: "ForwardTo", target: "forwardTo", read: readEntityReference };
const forwardDeadLetteredMessagesTo: Descriptor<ReceivableEntitySettings> = { key: "ForwardDeadLetteredMessagesTo", target: "forwardDeadLetteredMessagesTo", read: readEntityReference };
const requiresDuplicateDetection: Descriptor<QueueSettings & TopicSettings> = { key: "RequiresDuplicateDetection", target: "requiresDuplicateDetection", read: readBoolean };
const duplicateDetectionHistoryTimeWindow: Descriptor<QueueSettings & TopicSettings> = {
  key: "DuplicateDetectionHistoryTimeWindow",
  target: "duplicateDetectionHistoryTimeWindowInMs",
  read: durationReader(5 * SECOND, 7 * DAY),
};

export const QUEUE_PROPERTIES: readonly Descriptor<QueueSettings>[] = [
  deadLetteringOnMessageExpiration,
  defaultMessageTimeToLive,
  duplicateDetectionHistoryTimeWindow,
  forwardDeadLetteredMessagesTo,
  forwardTo,
  lockDuration,
  maxDeliveryCount,
  requiresDuplicateDetection,
  requiresSession,
];

export const TOPIC_PROPERTIES: readonly Descriptor<TopicSettings>[] = [defaultMessageTimeToLive, duplicateDetectionHistoryTimeWindow, requiresDuplicateDetection];

export const SUBSCRIPTION_PROPERTIES: readonly Descriptor<SubscriptionSettings>[] = [
  deadLetteringOnMessageExpiration,
  defaultMessageTimeToLive,
  forwardDeadLetteredMessagesTo,
  forwardTo,
  lockDuration,
  maxDeliveryCount,
  requiresSession,
];

/** Correlation filter fields; an empty string counts as not set, as for ForwardTo. */
export const CORRELATION_PROPERTIES: readonly Descriptor<CorrelationFilterSpec>[] = [
  { key: "ContentType", target: "contentType", read: optionalText },
  { key: "CorrelationId", target: "correlationId", read: optionalText },
  { key: "Label", target: "subject", read: optionalText },
  { key: "MessageId", target: "messageId", read: optionalText },
  { key: "ReplyTo", target: "replyTo", read: optionalText },
  { key: "ReplyToSessionId", target: "replyToSessionId", read: optionalText },
  { key: "SessionId", target: "sessionId", read: optionalText },
  { key: "To", target: "to", read: optionalText },
  { key: "Properties", target: "applicationProperties", read: readApplicationProperties },
];

function readApplicationProperties(value: unknown, field: string): Record<string, string | number | boolean> | undefined {
  if (!isObject(value)) return fail(field, `must be an object of property names to values, not ${describe(value)}`);
  const entries = Object.entries(value).map(([name, v]): [string, string | number | boolean] => {
    if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) return [name, v];
    return fail(`${field}.${name}`, `must be a string, number or boolean, not ${describe(v)}`);
  });
  // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  return entries.length ? Object.fromEntries(entries) : undefined;
}

/**
 * Reads a `Properties` object through a descriptor table on top of `defaults`. Values that
 * read as `undefined` (empty ForwardTo, empty correlation fields) leave the field unset.
 */
export function readProperties<T extends object>(value: unknown, field: string, table: readonly Descriptor<T>[], defaults: Readonly<T>): T {
  const source = readObject(
    value,
    field,
    table.map((d) => d.key),
  );
  const result: Record<string, unknown> = { ...defaults };
  for (const descriptor of table) {
    if (!(descriptor.key in source)) continue;
    const parsed = descriptor.read(source[descriptor.key], `${field}.${descriptor.key}`);
    if (parsed !== undefined) result[descriptor.target as string] = parsed;
  }
  return result as T;
}
