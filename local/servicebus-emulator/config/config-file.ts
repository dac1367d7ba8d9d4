/**
 * Reads and validates the emulator's configuration: Microsoft's Service Bus emulator
 * `Config.json` format (schema: Azure/azure-service-bus-emulator-installer,
 * ServiceBus-Emulator/Schema/Config-schema.json), so a file written for Microsoft's emulator
 * works here unchanged.
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
import { readFile } from "node:fs/promises";
import { TIME_SPAN_MAX_MS, parseIsoDuration } from "./iso-duration";
import type {
  CorrelationFilterSpec,
  NamespaceSpec,
  QueueSettings,
  QueueSpec,
  ReceivableEntitySettings,
  RuleFilterSpec,
  RuleSpec,
  SubscriptionSettings,
  SubscriptionSpec,
  TopicSettings,
  TopicSpec,
} from "./types";

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * Every problem with a configuration. `field` is the JSON path of the offending value
 * (`UserConfig.Namespaces[0].Queues[2].Properties.LockDuration`), empty for problems with the
 * document as a whole (unreadable file, JSON syntax); `file` is set when the config came from
 * loadEmulatorConfigFile. The message always starts with the file (if any) and the field.
 */
export class ConfigError extends Error {
  readonly code = "InvalidConfig" as const;
  readonly field: string;
  /** The problem without the file and field prefix. */
  readonly detail: string;
  readonly file?: string;

  constructor(field: string, detail: string, file?: string) {
    super([file, field, detail].filter((part) => part).join(": "));
    this.name = "ConfigError";
    this.field = field;
    this.detail = detail;
    if (file !== undefined) this.file = file;
  }
}

function fail(field: string, detail: string): never {
  throw new ConfigError(field, detail);
}

// ---------------------------------------------------------------------------------------------
// Options and defaults
// ---------------------------------------------------------------------------------------------

export interface ParseEmulatorConfigOptions {
  /**
   * Checks a rule's SQL filter text at load time (the filters module compiles it). Throw to
   * reject; the message is reported with the field path of the SqlExpression.
   */
  validateSqlFilter?: (sqlExpression: string) => void;
  /** Same for a rule's SQL action (`SET …`, `REMOVE …`). */
  validateSqlAction?: (sqlExpression: string) => void;
}

/** The settings an entity gets for every property the config leaves out. */
export const DEFAULT_QUEUE_SETTINGS: Readonly<QueueSettings> = Object.freeze({
  lockDurationInMs: 60_000,
  maxDeliveryCount: 10,
  defaultMessageTimeToLiveInMs: TIME_SPAN_MAX_MS,
  deadLetteringOnMessageExpiration: false,
  requiresSession: false,
  requiresDuplicateDetection: false,
  duplicateDetectionHistoryTimeWindowInMs: 10 * 60_000,
});

export const DEFAULT_TOPIC_SETTINGS: Readonly<TopicSettings> = Object.freeze({
  defaultMessageTimeToLiveInMs: TIME_SPAN_MAX_MS,
  requiresDuplicateDetection: false,
  duplicateDetectionHistoryTimeWindowInMs: 10 * 60_000,
});

export const DEFAULT_SUBSCRIPTION_SETTINGS: Readonly<SubscriptionSettings> = Object.freeze({
  lockDurationInMs: 60_000,
  maxDeliveryCount: 10,
  defaultMessageTimeToLiveInMs: TIME_SPAN_MAX_MS,
  deadLetteringOnMessageExpiration: false,
  requiresSession: false,
});

/** The rule the service gives a subscription created without one. */
export const DEFAULT_RULE_NAME = "$Default";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const INT32_MAX = 2_147_483_647;

// ---------------------------------------------------------------------------------------------
// Value readers: each takes the raw JSON value and its path, returns the typed value or throws.
// ---------------------------------------------------------------------------------------------

type Reader<V> = (value: unknown, field: string) => V;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const readBoolean: Reader<boolean> = (value, field) =>
  typeof value === "boolean" ? value : fail(field, `must be true or false, not ${describe(value)}`);

function readString(value: unknown, field: string): string {
  return typeof value === "string" ? value : fail(field, `must be a string, not ${describe(value)}`);
}

function formatLimit(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY} day${ms === DAY ? "" : "s"}`;
  if (ms % MINUTE === 0) return `${ms / MINUTE} min`;
  return `${ms / SECOND} s`;
}

/** A duration property: ISO 8601 text, inclusive bounds (min 0 means "greater than zero"). */
function durationReader(min: number, max: number): Reader<number> {
  return (value, field) => {
    const text = readString(value, field);
    let ms: number;
    try {
      ms = parseIsoDuration(text);
    } catch (error) {
      return fail(field, (error as Error).message);
    }
    if (min === 0 && ms <= 0) return fail(field, `${JSON.stringify(text)} must be greater than zero`);
    if (ms < min || ms > max) {
      const upper = max >= TIME_SPAN_MAX_MS ? "TimeSpan.MaxValue" : formatLimit(max);
      return fail(field, `${JSON.stringify(text)} is out of range: must be between ${formatLimit(min)} and ${upper}`);
    }
    return ms;
  };
}

function integerReader(min: number, max: number): Reader<number> {
  return (value, field) =>
    typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
      ? value
      : fail(field, `must be an integer ≥ ${min}${max < INT32_MAX ? ` and ≤ ${max}` : ""}, not ${describe(value)}`);
}

/**
 * ForwardTo / ForwardDeadLetteredMessagesTo: an entity name, checked for existence after the
 * whole namespace has been read. Empty string means "not set" (Microsoft's sample configs
 * write `"ForwardTo": ""`).
 */
const readEntityReference: Reader<string | undefined> = (value, field) => {
  const text = readString(value, field);
  if (text === "") return undefined;
  checkName(text, field, QUEUE_OR_TOPIC_NAME, "entity");
  return text;
};

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

interface NameRule {
  pattern: RegExp;
  maxLength: number;
  characters: string;
}

// Service Bus naming rules (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftservicebus
// and the emulator schema's pattern): start and end with a letter or digit.
const QUEUE_OR_TOPIC_NAME: NameRule = {
  pattern: /^[A-Za-z0-9](?:[A-Za-z0-9._\-/]*[A-Za-z0-9])?$/,
  maxLength: 260,
  characters: "letters, digits, periods, hyphens, underscores and slashes",
};
const SUBSCRIPTION_OR_RULE_NAME: NameRule = {
  pattern: /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/,
  maxLength: 50,
  characters: "letters, digits, periods, hyphens and underscores",
};
const NAMESPACE_NAME: NameRule = {
  pattern: /^[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/,
  maxLength: 50,
  characters: "letters, digits and hyphens, starting with a letter",
};

function checkName(name: string, field: string, rule: NameRule, what: string): void {
  if (name.length === 0) fail(field, `the ${what} name is empty`);
  if (name.length > rule.maxLength) {
    fail(field, `${JSON.stringify(name)} is too long for a ${what} name (${name.length} characters, at most ${rule.maxLength})`);
  }
  if (!rule.pattern.test(name)) {
    fail(
      field,
      `${JSON.stringify(name)} is not a valid ${what} name: use ${rule.characters}, ` +
        `starting and ending with a letter or digit (at most ${rule.maxLength} characters)`,
    );
  }
}

function readName(entity: Record<string, unknown>, path: string, rule: NameRule, what: string): string {
  const field = `${path}.Name`;
  if (!("Name" in entity)) fail(field, `every ${what} needs a Name`);
  const name = readString(entity["Name"], field);
  // The service creates `$Default` itself; a config may spell it out to give it another filter.
  if (what === "rule" && name.toLowerCase() === DEFAULT_RULE_NAME.toLowerCase()) return DEFAULT_RULE_NAME;
  checkName(name, field, rule, what);
  return name;
}

// ---------------------------------------------------------------------------------------------
// Objects: unknown keys are errors (a typo such as "LockDuraton" must not silently take the
// default), with a suggestion when the key is close to an allowed one.
// ---------------------------------------------------------------------------------------------

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function suggestion(key: string, allowed: readonly string[]): string {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const other = candidate.toLowerCase();
    // A truncated key ("Sql" for "SqlExpression") counts as close, whatever its length.
    const distance = other === lower ? 0 : other.startsWith(lower) || lower.startsWith(other) ? 1 : editDistance(lower, other);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean "${best}"?)` : "";
}

/** Asserts `value` is an object with only `allowed` keys (names are case-sensitive, as in the schema). */
function readObject(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isObject(value)) fail(field, `must be an object, not ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      fail(
        field ? `${field}.${key}` : key,
        `unknown property${suggestion(key, allowed)}; allowed here: ${allowed.length ? allowed.join(", ") : "none"}`,
      );
    }
  }
  return value;
}

function readArray(value: unknown, field: string): unknown[] {
  return Array.isArray(value) ? value : fail(field, `must be an array, not ${describe(value)}`);
}

/** An entity's optional `Properties` object: absent means all defaults (null is an error). */
function propertiesOf(entity: Record<string, unknown>): unknown {
  return "Properties" in entity ? entity["Properties"] : {};
}

/** An optional array property: absent means empty. */
function optionalArray(container: Record<string, unknown>, key: string, path: string): unknown[] {
  return key in container ? readArray(container[key], `${path}.${key}`) : [];
}

// ---------------------------------------------------------------------------------------------
// Property tables: one descriptor per Config.json property.
// ---------------------------------------------------------------------------------------------

/** A Config.json property (`key`) and the settings field it sets (`target`). */
type Descriptor<T> = {
  [K in keyof T]-?: { key: string; target: K; read: Reader<T[K]> };
}[keyof T];

const lockDuration: Descriptor<ReceivableEntitySettings> = {
  key: "LockDuration",
  target: "lockDurationInMs",
  read: durationReader(5 * SECOND, 5 * MINUTE),
};
const maxDeliveryCount: Descriptor<ReceivableEntitySettings> = {
  key: "MaxDeliveryCount",
  target: "maxDeliveryCount",
  read: integerReader(1, INT32_MAX),
};
const defaultMessageTimeToLive: Descriptor<ReceivableEntitySettings & TopicSettings> = {
  key: "DefaultMessageTimeToLive",
  target: "defaultMessageTimeToLiveInMs",
  read: durationReader(0, TIME_SPAN_MAX_MS),
};
const deadLetteringOnMessageExpiration: Descriptor<ReceivableEntitySettings> = {
  key: "DeadLetteringOnMessageExpiration",
  target: "deadLetteringOnMessageExpiration",
  read: readBoolean,
};
const requiresSession: Descriptor<ReceivableEntitySettings> = {
  key: "RequiresSession",
  target: "requiresSession",
  read: readBoolean,
};
const forwardTo: Descriptor<ReceivableEntitySettings> = {
  key: "ForwardTo",
  target: "forwardTo",
  read: readEntityReference,
};
const forwardDeadLetteredMessagesTo: Descriptor<ReceivableEntitySettings> = {
  key: "ForwardDeadLetteredMessagesTo",
  target: "forwardDeadLetteredMessagesTo",
  read: readEntityReference,
};
const requiresDuplicateDetection: Descriptor<QueueSettings & TopicSettings> = {
  key: "RequiresDuplicateDetection",
  target: "requiresDuplicateDetection",
  read: readBoolean,
};
const duplicateDetectionHistoryTimeWindow: Descriptor<QueueSettings & TopicSettings> = {
  key: "DuplicateDetectionHistoryTimeWindow",
  target: "duplicateDetectionHistoryTimeWindowInMs",
  read: durationReader(5 * SECOND, 7 * DAY),
};

const QUEUE_PROPERTIES: readonly Descriptor<QueueSettings>[] = [
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

const TOPIC_PROPERTIES: readonly Descriptor<TopicSettings>[] = [
  defaultMessageTimeToLive,
  duplicateDetectionHistoryTimeWindow,
  requiresDuplicateDetection,
];

const SUBSCRIPTION_PROPERTIES: readonly Descriptor<SubscriptionSettings>[] = [
  deadLetteringOnMessageExpiration,
  defaultMessageTimeToLive,
  forwardDeadLetteredMessagesTo,
  forwardTo,
  lockDuration,
  maxDeliveryCount,
  requiresSession,
];

/** Correlation filter fields; an empty string counts as not set, as for ForwardTo. */
const CORRELATION_PROPERTIES: readonly Descriptor<CorrelationFilterSpec>[] = [
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

function optionalText(value: unknown, field: string): string | undefined {
  const text = readString(value, field);
  return text === "" ? undefined : text;
}

function readApplicationProperties(
  value: unknown,
  field: string,
): Record<string, string | number | boolean> | undefined {
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
function readProperties<T extends object>(
  value: unknown,
  field: string,
  table: readonly Descriptor<T>[],
  defaults: Readonly<T>,
): T {
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

// ---------------------------------------------------------------------------------------------
// Entities
// ---------------------------------------------------------------------------------------------

/** A ForwardTo-style reference, resolved once every queue and topic is known. */
interface PendingReference {
  field: string;
  owner: string;
  settings: ReceivableEntitySettings;
  target: "forwardTo" | "forwardDeadLetteredMessagesTo";
}

/** Detects case-insensitive duplicates within one scope (a namespace, a topic, a subscription). */
class NameScope {
  private readonly seen = new Map<string, { field: string; what: string; name: string }>();
  constructor(private readonly sharedNote: string) {}

  add(name: string, field: string, what: string): void {
    const key = name.toLowerCase();
    const previous = this.seen.get(key);
    if (previous) {
      fail(
        field,
        `${what} name ${JSON.stringify(name)} is already used by the ${previous.what} ${JSON.stringify(previous.name)} ` +
          `at ${previous.field} (${this.sharedNote})`,
      );
    }
    this.seen.set(key, { field, what, name });
  }

  canonical(name: string): { name: string; what: string } | undefined {
    return this.seen.get(name.toLowerCase());
  }
}

function collectReferences(
  settings: ReceivableEntitySettings,
  propertiesField: string,
  owner: string,
  pending: PendingReference[],
): void {
  for (const target of ["forwardTo", "forwardDeadLetteredMessagesTo"] as const) {
    if (settings[target] === undefined) continue;
    const key = target === "forwardTo" ? "ForwardTo" : "ForwardDeadLetteredMessagesTo";
    pending.push({ field: `${propertiesField}.${key}`, owner, settings, target });
  }
}

function readQueue(value: unknown, path: string, pending: PendingReference[]): QueueSpec {
  const entity = readObject(value, path, ["Name", "Properties"]);
  const name = readName(entity, path, QUEUE_OR_TOPIC_NAME, "queue");
  const settings = readProperties(propertiesOf(entity), `${path}.Properties`, QUEUE_PROPERTIES, DEFAULT_QUEUE_SETTINGS);
  collectReferences(settings, `${path}.Properties`, name, pending);
  return { name, settings };
}

function readRuleFilter(
  properties: Record<string, unknown>,
  field: string,
  options: ParseEmulatorConfigOptions,
): RuleFilterSpec {
  if (!("FilterType" in properties)) fail(`${field}.FilterType`, `is required: "Correlation" or "Sql"`);
  const filterType = readString(properties["FilterType"], `${field}.FilterType`).toLowerCase();
  // Each filter type owns one property; the other must not be there (it would be ignored).
  const own = filterType === "sql" ? "SqlFilter" : filterType === "correlation" ? "CorrelationFilter" : undefined;
  if (own === undefined) {
    fail(`${field}.FilterType`, `${describe(properties["FilterType"])} is not a filter type: use "Correlation" or "Sql"`);
  }
  const other = own === "SqlFilter" ? "CorrelationFilter" : "SqlFilter";
  if (other in properties) fail(`${field}.${other}`, `not allowed when FilterType is ${JSON.stringify(properties["FilterType"])}`);
  if (!(own in properties)) fail(`${field}.${own}`, `is required when FilterType is ${JSON.stringify(properties["FilterType"])}`);

  if (own === "SqlFilter") {
    const sqlFilter = readObject(properties["SqlFilter"], `${field}.SqlFilter`, ["SqlExpression"]);
    const sqlField = `${field}.SqlFilter.SqlExpression`;
    if (!("SqlExpression" in sqlFilter)) fail(sqlField, "is required");
    const sqlExpression = readString(sqlFilter["SqlExpression"], sqlField);
    if (sqlExpression.trim() === "") fail(sqlField, "must not be empty (use 1=1 to match every message)");
    runValidator(options.validateSqlFilter, sqlExpression, sqlField, "SQL filter");
    return { kind: "sql", sqlExpression };
  }

  const correlation = readProperties<CorrelationFilterSpec>(
    properties["CorrelationFilter"],
    `${field}.CorrelationFilter`,
    CORRELATION_PROPERTIES,
    {},
  );
  // An empty correlation filter would match everything; the schema (minProperties 1) and the
  // service both refuse it.
  if (Object.keys(correlation).length === 0) {
    fail(
      `${field}.CorrelationFilter`,
      `needs at least one non-empty property: ${CORRELATION_PROPERTIES.map((d) => d.key).join(", ")}`,
    );
  }
  return { kind: "correlation", correlation };
}

function runValidator(
  validate: ((sqlExpression: string) => void) | undefined,
  sqlExpression: string,
  field: string,
  what: string,
): void {
  if (!validate) return;
  try {
    validate(sqlExpression);
  } catch (error) {
    fail(field, `invalid ${what} ${JSON.stringify(sqlExpression)}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function readRule(value: unknown, path: string, options: ParseEmulatorConfigOptions): RuleSpec {
  const entity = readObject(value, path, ["Name", "Properties"]);
  const name = readName(entity, path, SUBSCRIPTION_OR_RULE_NAME, "rule");
  if (!("Properties" in entity)) fail(`${path}.Properties`, "is required: a rule needs a FilterType and its filter");
  const field = `${path}.Properties`;
  const properties = readObject(entity["Properties"], field, ["FilterType", "CorrelationFilter", "SqlFilter", "Action"]);
  const rule: RuleSpec = { name, filter: readRuleFilter(properties, field, options) };
  if ("Action" in properties) {
    const action = readObject(properties["Action"], `${field}.Action`, ["SqlExpression"]);
    const actionField = `${field}.Action.SqlExpression`;
    const text = "SqlExpression" in action ? readString(action["SqlExpression"], actionField) : "";
    // An empty action is how generated configs say "no action".
    if (text.trim() !== "") {
      runValidator(options.validateSqlAction, text, actionField, "SQL action");
      rule.actionSqlExpression = text;
    }
  }
  return rule;
}

function readSubscription(
  value: unknown,
  path: string,
  topicName: string,
  pending: PendingReference[],
  options: ParseEmulatorConfigOptions,
): SubscriptionSpec {
  const entity = readObject(value, path, ["Name", "Properties", "Rules"]);
  const name = readName(entity, path, SUBSCRIPTION_OR_RULE_NAME, "subscription");
  const settings = readProperties(
    propertiesOf(entity),
    `${path}.Properties`,
    SUBSCRIPTION_PROPERTIES,
    DEFAULT_SUBSCRIPTION_SETTINGS,
  );
  collectReferences(settings, `${path}.Properties`, `${topicName}/Subscriptions/${name}`, pending);

  const ruleNames = new NameScope("rule names are unique within a subscription, ignoring case");
  const rules = optionalArray(entity, "Rules", path).map((ruleValue, index) => {
    const rulePath = `${path}.Rules[${index}]`;
    const rule = readRule(ruleValue, rulePath, options);
    ruleNames.add(rule.name, `${rulePath}.Name`, "rule");
    return rule;
  });
  // As the service does for a subscription created without a rule.
  if (rules.length === 0) rules.push({ name: DEFAULT_RULE_NAME, filter: { kind: "true" } });
  return { name, settings, rules };
}

function readTopic(
  value: unknown,
  path: string,
  pending: PendingReference[],
  options: ParseEmulatorConfigOptions,
): TopicSpec {
  const entity = readObject(value, path, ["Name", "Properties", "Subscriptions"]);
  const name = readName(entity, path, QUEUE_OR_TOPIC_NAME, "topic");
  const settings = readProperties(propertiesOf(entity), `${path}.Properties`, TOPIC_PROPERTIES, DEFAULT_TOPIC_SETTINGS);
  const subscriptionNames = new NameScope("subscription names are unique within a topic, ignoring case");
  const subscriptions = optionalArray(entity, "Subscriptions", path).map((subscriptionValue, index) => {
    const subscriptionPath = `${path}.Subscriptions[${index}]`;
    const subscription = readSubscription(subscriptionValue, subscriptionPath, name, pending, options);
    subscriptionNames.add(subscription.name, `${subscriptionPath}.Name`, "subscription");
    return subscription;
  });
  return { name, settings, subscriptions };
}

/** Resolves ForwardTo targets to the configured entity (its spelling), or fails. */
function resolveReferences(pending: readonly PendingReference[], entities: NameScope): void {
  for (const reference of pending) {
    const wanted = reference.settings[reference.target]!;
    const found = entities.canonical(wanted);
    if (!found) {
      fail(reference.field, `${JSON.stringify(wanted)} is not a queue or topic in this configuration`);
    }
    if (found.name === reference.owner) {
      fail(reference.field, `${JSON.stringify(wanted)} is the ${found.what} itself; an entity cannot forward to itself`);
    }
    reference.settings[reference.target] = found.name;
  }
}

const LOGGING_TYPES = ["file", "console"];

function checkLogging(value: unknown, field: string): void {
  // Accepted for compatibility with Microsoft's emulator and otherwise ignored: Custody's
  // emulator logs through its host.
  const logging = readObject(value, field, ["Type"]);
  if (!("Type" in logging)) fail(`${field}.Type`, `is required: "File", "Console" or "File,Console"`);
  const type = readString(logging["Type"], `${field}.Type`);
  const parts = type.split(",").map((part) => part.trim().toLowerCase());
  if (parts.some((part) => !LOGGING_TYPES.includes(part)) || new Set(parts).size !== parts.length) {
    fail(`${field}.Type`, `${JSON.stringify(type)} is not a logging type: use "File", "Console" or "File,Console"`);
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/**
 * Validates a parsed Config.json document and returns its namespace with every default applied.
 * Throws ConfigError naming the first offending field.
 */
export function parseEmulatorConfig(json: unknown, options: ParseEmulatorConfigOptions = {}): NamespaceSpec {
  if (typeof json === "string") {
    fail("", "expected the parsed Config.json object, not a string (JSON.parse it first, or use loadEmulatorConfigFile)");
  }
  if (!isObject(json)) fail("", `the configuration must be a JSON object, not ${describe(json)}`);
  // "$schema" lets editors validate the file against Microsoft's schema.
  const root = readObject(json, "", ["UserConfig", "$schema"]);
  if (!("UserConfig" in root)) fail("UserConfig", "is required");
  const userConfig = readObject(root["UserConfig"], "UserConfig", ["Namespaces", "Logging"]);
  if ("Logging" in userConfig) checkLogging(userConfig["Logging"], "UserConfig.Logging");

  if (!("Namespaces" in userConfig)) fail("UserConfig.Namespaces", "is required: a list with exactly one namespace");
  const namespaces = readArray(userConfig["Namespaces"], "UserConfig.Namespaces");
  if (namespaces.length !== 1) {
    const names = namespaces.map((ns) => (isObject(ns) && typeof ns["Name"] === "string" ? JSON.stringify(ns["Name"]) : "?"));
    fail(
      "UserConfig.Namespaces",
      namespaces.length === 0
        ? "lists no namespace; the emulator serves exactly one"
        : `lists ${namespaces.length} namespaces (${names.join(", ")}); the emulator serves exactly one`,
    );
  }

  const path = "UserConfig.Namespaces[0]";
  const namespace = readObject(namespaces[0], path, ["Name", "Queues", "Topics"]);
  const name = readName(namespace, path, NAMESPACE_NAME, "namespace");

  const pending: PendingReference[] = [];
  const entities = new NameScope("entity names are case-insensitive and queues and topics share one namespace");
  const queues = optionalArray(namespace, "Queues", path).map((value, index) => {
    const queuePath = `${path}.Queues[${index}]`;
    const queue = readQueue(value, queuePath, pending);
    entities.add(queue.name, `${queuePath}.Name`, "queue");
    return queue;
  });
  const topics = optionalArray(namespace, "Topics", path).map((value, index) => {
    const topicPath = `${path}.Topics[${index}]`;
    const topic = readTopic(value, topicPath, pending, options);
    entities.add(topic.name, `${topicPath}.Name`, "topic");
    return topic;
  });
  resolveReferences(pending, entities);
  return { name, queues, topics };
}

/**
 * Reads, parses and validates a Config.json file. Every failure is a ConfigError whose message
 * starts with the file path; JSON syntax errors give the line and column.
 */
export async function loadEmulatorConfigFile(
  path: string,
  options: ParseEmulatorConfigOptions = {},
): Promise<NamespaceSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory" : (error as Error).message;
    throw new ConfigError("", `cannot read the emulator config file: ${reason}`, path);
  }
  // Editors on Windows often save a byte order mark, which JSON.parse rejects.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const { line, column } = lineAndColumn(text, findJsonSyntaxError(text));
    throw new ConfigError("", `invalid JSON at line ${line}, column ${column}: ${(error as Error).message}`, path);
  }
  try {
    return parseEmulatorConfig(json, options);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.field, error.detail, path);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON syntax error location. V8's messages only sometimes carry a position ("Unexpected token
// '}', ... is not valid JSON" does not), so on failure the text is re-scanned by a minimal
// JSON recogniser that returns the offset of the first error.
// ---------------------------------------------------------------------------------------------

function findJsonSyntaxError(text: string): number {
  let i = 0;
  class Stop {
    constructor(readonly at: number) {}
  }
  const stop = (): never => {
    throw new Stop(i);
  };
  const space = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) stop();
      i++;
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) stop();
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        return;
      }
      if (ch < " ") stop();
      if (ch === "\\") {
        i++;
        const escape = text[i];
        if (escape === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) stop();
          i += 5;
        } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) i++;
        else stop();
      } else i++;
    }
  };
  const number = (): void => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match) stop();
    i += match![0].length;
  };
  const value = (): void => {
    space();
    const ch = text[i];
    if (ch === "{") {
      i++;
      space();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') stop();
        string();
        space();
        if (text[i] !== ":") stop();
        i++;
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return;
        } else stop();
      }
    }
    if (ch === "[") {
      i++;
      space();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return;
        } else stop();
      }
    }
    if (ch === '"') return string();
    if (ch === "t") return literal("true");
    if (ch === "f") return literal("false");
    if (ch === "n") return literal("null");
    number();
  };
  try {
    value();
    space();
    if (i < text.length) stop();
    return text.length; // JSON.parse disagreed; point at the end rather than guess
  } catch (error) {
    if (error instanceof Stop) return error.at;
    throw error;
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  return { line, column };
}
