/**
 * The entities of a namespace — queues, topics, their subscriptions and rules — read from their
 * Config.json objects with every default applied, and the `Logging` section.
 */
import { fail } from "./config-error";
import { DEFAULT_RULE_NAME, NameScope, QUEUE_OR_TOPIC_NAME, readName, readNamedList, SUBSCRIPTION_OR_RULE_NAME } from "./names";
import {
  CORRELATION_PROPERTIES,
  DEFAULT_QUEUE_SETTINGS,
  DEFAULT_SUBSCRIPTION_SETTINGS,
  DEFAULT_TOPIC_SETTINGS,
  QUEUE_PROPERTIES,
  readProperties,
  SUBSCRIPTION_PROPERTIES,
  TOPIC_PROPERTIES,
} from "./properties";
import { describe, propertiesOf, readObject, readString } from "./readers";
import { collectReferences, type PendingReference } from "./references";
import type { CorrelationFilterSpec, QueueSpec, RuleFilterSpec, RuleSpec, SubscriptionSpec, TopicSpec } from "./types";

export interface ParseEmulatorConfigOptions {
  /**
   * Checks a rule's SQL filter text at load time (the filters module compiles it). Throw to
   * reject; the message is reported with the field path of the SqlExpression.
   */
  validateSqlFilter?: (sqlExpression: string) => void;
  /** Same for a rule's SQL action (`SET …`, `REMOVE …`). */
  validateSqlAction?: (sqlExpression: string) => void;
}

export function readQueue(value: unknown, path: string, pending: PendingReference[]): QueueSpec {
  const entity = readObject(value, path, ["Name", "Properties"]);
  const name = readName(entity, path, QUEUE_OR_TOPIC_NAME, "queue");
  const settings = readProperties(propertiesOf(entity), `${path}.Properties`, QUEUE_PROPERTIES, DEFAULT_QUEUE_SETTINGS);
  collectReferences(settings, `${path}.Properties`, name, pending);
  return { name, settings };
}

function readRuleFilter(properties: Record<string, unknown>, field: string, options: ParseEmulatorConfigOptions): RuleFilterSpec {
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

  const correlation = readProperties<CorrelationFilterSpec>(properties["CorrelationFilter"], `${field}.CorrelationFilter`, CORRELATION_PROPERTIES, {});
  // An empty correlation filter would match everything; the schema (minProperties 1) and the
  // service both refuse it.
  if (Object.keys(correlation).length === 0) {
    fail(`${field}.CorrelationFilter`, `needs at least one non-empty property: ${CORRELATION_PROPERTIES.map((d) => d.key).join(", ")}`);
  }
  return { kind: "correlation", correlation };
}

function runValidator(validate: ((sqlExpression: string) => void) | undefined, sqlExpression: string, field: string, what: string): void {
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

function readSubscription(value: unknown, path: string, topicName: string, pending: PendingReference[], options: ParseEmulatorConfigOptions): SubscriptionSpec {
  const entity = readObject(value, path, ["Name", "Properties", "Rules"]);
  const name = readName(entity, path, SUBSCRIPTION_OR_RULE_NAME, "subscription");
  const settings = readProperties(propertiesOf(entity), `${path}.Properties`, SUBSCRIPTION_PROPERTIES, DEFAULT_SUBSCRIPTION_SETTINGS);
  collectReferences(settings, `${path}.Properties`, `${topicName}/Subscriptions/${name}`, pending);

  const ruleNames = new NameScope("rule names are unique within a subscription, ignoring case");
  const rules = readNamedList(entity, "Rules", path, ruleNames, "rule", (ruleValue, rulePath) => readRule(ruleValue, rulePath, options));
  // As the service does for a subscription created without a rule.
  if (rules.length === 0) rules.push({ name: DEFAULT_RULE_NAME, filter: { kind: "true" } });
  return { name, settings, rules };
}

export function readTopic(value: unknown, path: string, pending: PendingReference[], options: ParseEmulatorConfigOptions): TopicSpec {
  const entity = readObject(value, path, ["Name", "Properties", "Subscriptions"]);
  const name = readName(entity, path, QUEUE_OR_TOPIC_NAME, "topic");
  const settings = readProperties(propertiesOf(entity), `${path}.Properties`, TOPIC_PROPERTIES, DEFAULT_TOPIC_SETTINGS);
  const subscriptionNames = new NameScope("subscription names are unique within a topic, ignoring case");
  const subscriptions = readNamedList(entity, "Subscriptions", path, subscriptionNames, "subscription", (subscriptionValue, subscriptionPath) =>
    readSubscription(subscriptionValue, subscriptionPath, name, pending, options),
  );
  return { name, settings, subscriptions };
}

const LOGGING_TYPES = ["file", "console"];

export function checkLogging(value: unknown, field: string): void {
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
