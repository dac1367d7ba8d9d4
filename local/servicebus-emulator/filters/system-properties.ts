/**
 * The broker properties a SQL filter or action may name with `sys.`, i.e. the public
 * properties of the service's message class (docs: "Messages, payloads, and serialization").
 * Naming any other `sys.` property is an error in the service, so it is one at compile time here.
 */

const SYSTEM_PROPERTY_NAMES = [
  "ContentType",
  "CorrelationId",
  "DeadLetterSource",
  "DeliveryCount",
  "EnqueuedSequenceNumber",
  "EnqueuedTimeUtc",
  "ExpiresAtUtc",
  "ForcePersistence",
  "Label",
  "LockedUntilUtc",
  "LockToken",
  "MessageId",
  "PartitionKey",
  "ReplyTo",
  "ReplyToSessionId",
  "ScheduledEnqueueTimeUtc",
  "SequenceNumber",
  "SessionId",
  "Size",
  "State",
  "TimeToLive",
  "To",
  "ViaPartitionKey",
] as const;

export type SystemPropertyName = (typeof SYSTEM_PROPERTY_NAMES)[number];

/** Lower-cased spelling → canonical name; the docs make property names case-insensitive. */
const CANONICAL_BY_LOWER_CASE = new Map<string, SystemPropertyName>(SYSTEM_PROPERTY_NAMES.map((name) => [name.toLowerCase(), name]));
// The current SDKs call Label "Subject" (and the docs tell users to take names from the SDK
// message class), so accept that spelling too rather than fail a filter copied from SDK code.
CANONICAL_BY_LOWER_CASE.set("subject", "Label");

/** The canonical name (the key used in FilterableMessage.systemProperties), if it is one. */
export function canonicalSystemPropertyName(name: string): SystemPropertyName | undefined {
  return CANONICAL_BY_LOWER_CASE.get(name.toLowerCase());
}

/** The broker properties a rule action may SET or REMOVE; the rest are the broker's own. */
export const SETTABLE_SYSTEM_PROPERTIES: ReadonlySet<SystemPropertyName> = new Set<SystemPropertyName>([
  "Label",
  "To",
  "ReplyTo",
  "CorrelationId",
  "ContentType",
  "SessionId",
  "ReplyToSessionId",
  "MessageId",
]);
