/**
 * ATOM XML serialization for the management endpoint: the documents Service Bus returns
 * from its ATOM management API (api-version 2021-05), element for element, so that the
 * unmodified `ServiceBusAdministrationClient` deserializes them into correct objects.
 *
 * Shapes follow recorded service responses and what @azure/service-bus 7.9.5 reads in
 * `src/serializers/*` and `src/util/atomXmlHelper.js`. Points the SDK is strict about:
 * - every entry carries an `<id>` URL whose path names the entity; the SDK takes the queue,
 *   topic, subscription and rule names from it (matching `/Subscriptions/` and `/Rules/`
 *   case-sensitively), not from the description body;
 * - `CountDetails` must declare exactly one `xmlns:<prefix>` attribute, and its children
 *   must use that prefix (`d2p1:` as the service does);
 * - a feed's `<link>` elements are only read when there are at least two of them (the XML
 *   parser yields an array), so every feed has a `self` link and, when more pages follow,
 *   a `next` link carrying `$skip`;
 * - key/value pairs are typed `i:type="d6p1:<type>"`; the SDK strips the first five
 *   characters, so the prefix must be four characters long.
 */
import { TIME_SPAN_MAX_ISO, formatIsoDuration } from "../config/iso-duration";
import type { CorrelationFilterSpec, RuleSpec } from "../config/types";
import type { MessageCounts, NamespaceView, QueueView, SubscriptionView, TopicView } from "../store/views";

export const ATOM_NAMESPACE = "http://www.w3.org/2005/Atom";
export const SERVICEBUS_NAMESPACE = "http://schemas.microsoft.com/netservices/2010/10/servicebus/connect";
export const COUNT_DETAILS_NAMESPACE = "http://schemas.microsoft.com/netservices/2011/06/servicebus";
export const XML_SCHEMA_INSTANCE_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance";
export const XML_SCHEMA_NAMESPACE = "http://www.w3.org/2001/XMLSchema";

/** The api-version echoed in ids and links (the SDK's default; it sends it on every request). */
export const API_VERSION = "2021-05";

export const ENTRY_CONTENT_TYPE = "application/atom+xml;type=entry;charset=utf-8";
export const FEED_CONTENT_TYPE = "application/atom+xml;type=feed;charset=utf-8";
export const ERROR_CONTENT_TYPE = "application/xml; charset=utf-8";

/**
 * Standard-tier values for settings the emulator's Config.json has no say in. They are
 * what a freshly created Standard entity reports, so tools comparing against the cloud see
 * familiar numbers.
 */
const MAX_SIZE_IN_MEGABYTES = 1024;
const MAX_MESSAGE_SIZE_IN_KILOBYTES = 256;

const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      default:
        return "&apos;";
    }
  });
}

/**
 * Milliseconds as the service writes durations (XmlConvert's TimeSpan form: "PT1M", "P14D",
 * TimeSpan.MaxValue for "never"), via the config loader's formatter so both directions agree.
 * A value the formatter rejects (negative or NaN: a store bug) prints as "PT0S" rather than
 * failing the whole document.
 */
export function formatDuration(milliseconds: number): string {
  return milliseconds >= 0 ? formatIsoDuration(milliseconds) : "PT0S";
}

function element(name: string, value: string | number | boolean): string {
  const text = typeof value === "string" ? escapeXml(value) : String(value);
  return `<${name}>${text}</${name}>`;
}

function optionalElement(name: string, value: string | undefined): string {
  return value === undefined ? "" : element(name, value);
}

function time(date: Date): string {
  return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString();
}

/** Everything the documents need from the request: where the client reached us. */
export interface AtomContext {
  /** `host[:port]` the client addressed (the Host header), used in ids, links and ForwardTo. */
  host: string;
  namespace: NamespaceView;
}

/** Path segments are percent-encoded in URLs (names may hold `/`, kept as separators). */
function encodePath(path: string): string {
  return path
    .split("/")
    .map((segment) => encodeURIComponent(segment).replace(/%24/g, "$"))
    .join("/");
}

function entityUrl(context: AtomContext, path: string, query = `api-version=${API_VERSION}`): string {
  return `https://${context.host}/${encodePath(path)}?${query}`;
}

/**
 * The service returns forwarding targets as absolute `sb://` URLs even when they were set
 * as bare entity names; the SDK passes the value through unchanged.
 */
function forwardingUrl(context: AtomContext, target: string | undefined): string | undefined {
  if (target === undefined || target === "") return undefined;
  if (/^(sb|https?):\/\//i.test(target)) return target;
  return `sb://${context.host}/${target}`;
}

export interface EntryParts {
  path: string;
  title: string;
  published: Date;
  updated: Date;
  /** The description element, already serialized. */
  content: string;
}

function entryBody(context: AtomContext, parts: EntryParts, xmlBase?: string): string {
  const url = entityUrl(context, parts.path);
  const base = xmlBase === undefined ? ` xmlns="${ATOM_NAMESPACE}"` : ` xml:base="${escapeXml(xmlBase)}"`;
  return (
    `<entry${base}>` +
    element("id", url) +
    `<title type="text">${escapeXml(parts.title)}</title>` +
    element("published", time(parts.published)) +
    element("updated", time(parts.updated)) +
    `<author>${element("name", context.namespace.name)}</author>` +
    `<link rel="self" href="${escapeXml(url)}"/>` +
    `<content type="application/xml">${parts.content}</content>` +
    `</entry>`
  );
}

/** A single resource, as returned by a GET on it. */
export function atomEntry(context: AtomContext, parts: EntryParts): string {
  return XML_DECLARATION + entryBody(context, parts);
}

export interface FeedPage {
  /** Collection path as requested, e.g. `$Resources/Queues` or `orders/Subscriptions`. */
  collectionPath: string;
  title: string;
  skip: number;
  top: number;
  /** Whether entities exist beyond this page (adds the `next` link the SDK pages with). */
  hasMore: boolean;
  entries: EntryParts[];
}

/** A page of a collection, as returned by a list GET. */
export function atomFeed(context: AtomContext, page: FeedPage): string {
  const selfUrl = entityUrl(context, page.collectionPath, `$skip=${page.skip}&$top=${page.top}&api-version=${API_VERSION}`);
  const nextUrl = entityUrl(
    context,
    page.collectionPath,
    `%24skip=${page.skip + page.top}&%24top=${page.top}&api-version=${API_VERSION}`,
  );
  const xmlBase = entityUrl(context, page.collectionPath);
  return (
    XML_DECLARATION +
    `<feed xmlns="${ATOM_NAMESPACE}">` +
    `<title type="text">${escapeXml(page.title)}</title>` +
    element("id", selfUrl) +
    element("updated", new Date().toISOString()) +
    `<link rel="self" href="${escapeXml(selfUrl)}"/>` +
    (page.hasMore ? `<link rel="next" href="${escapeXml(nextUrl)}"/>` : "") +
    page.entries.map((entry) => entryBody(context, entry, xmlBase)).join("") +
    `</feed>`
  );
}

/** The service's error document; the SDK reads `Error.Detail` into the RestError message. */
export function errorDocument(status: number, detail: string): string {
  return XML_DECLARATION + `<Error>${element("Code", status)}${element("Detail", detail)}</Error>`;
}

function description(rootName: string, body: string): string {
  return `<${rootName} xmlns="${SERVICEBUS_NAMESPACE}" xmlns:i="${XML_SCHEMA_INSTANCE_NAMESPACE}">${body}</${rootName}>`;
}

function countDetails(counts: Pick<MessageCounts, Exclude<keyof MessageCounts, "totalMessageCount" | "sizeInBytes">>): string {
  const item = (name: string, value: number): string => `<d2p1:${name}>${value}</d2p1:${name}>`;
  return (
    `<CountDetails xmlns:d2p1="${COUNT_DETAILS_NAMESPACE}">` +
    item("ActiveMessageCount", counts.activeMessageCount) +
    item("DeadLetterMessageCount", counts.deadLetterMessageCount) +
    item("ScheduledMessageCount", counts.scheduledMessageCount) +
    item("TransferMessageCount", counts.transferMessageCount) +
    item("TransferDeadLetterMessageCount", counts.transferDeadLetterMessageCount) +
    `</CountDetails>`
  );
}

export function namespaceEntry(context: AtomContext): string {
  const ns = context.namespace;
  const body =
    element("CreatedTime", time(ns.createdAt)) +
    element("MessagingSKU", "Standard") +
    element("ModifiedTime", time(ns.createdAt)) +
    element("Name", ns.name) +
    element("NamespaceType", "Messaging");
  return atomEntry(context, {
    path: "$namespaceinfo",
    title: ns.name,
    published: ns.createdAt,
    updated: ns.createdAt,
    content: description("NamespaceInfo", body),
  });
}

/** Element order is the service's (QueueDescription data contract order). */
export function queueEntryParts(context: AtomContext, queue: QueueView): EntryParts {
  const s = queue.settings;
  const counts = queue.counts();
  const body =
    element("LockDuration", formatDuration(s.lockDurationInMs)) +
    element("MaxSizeInMegabytes", MAX_SIZE_IN_MEGABYTES) +
    element("RequiresDuplicateDetection", s.requiresDuplicateDetection) +
    element("RequiresSession", s.requiresSession) +
    element("DefaultMessageTimeToLive", formatDuration(s.defaultMessageTimeToLiveInMs)) +
    element("DeadLetteringOnMessageExpiration", s.deadLetteringOnMessageExpiration) +
    element("DuplicateDetectionHistoryTimeWindow", formatDuration(s.duplicateDetectionHistoryTimeWindowInMs)) +
    element("MaxDeliveryCount", s.maxDeliveryCount) +
    element("EnableBatchedOperations", true) +
    element("SizeInBytes", counts.sizeInBytes) +
    element("MessageCount", counts.totalMessageCount) +
    element("IsAnonymousAccessible", false) +
    "<AuthorizationRules></AuthorizationRules>" +
    element("Status", "Active") +
    optionalElement("ForwardTo", forwardingUrl(context, s.forwardTo)) +
    element("CreatedAt", time(queue.createdAt)) +
    element("UpdatedAt", time(queue.modifiedAt)) +
    element("AccessedAt", time(queue.accessedAt)) +
    element("SupportOrdering", true) +
    countDetails(counts) +
    element("AutoDeleteOnIdle", TIME_SPAN_MAX_ISO) +
    element("EnablePartitioning", false) +
    element("EntityAvailabilityStatus", "Available") +
    element("EnableExpress", false) +
    optionalElement("ForwardDeadLetteredMessagesTo", forwardingUrl(context, s.forwardDeadLetteredMessagesTo)) +
    element("MaxMessageSizeInKilobytes", MAX_MESSAGE_SIZE_IN_KILOBYTES);
  return {
    path: queue.name,
    title: queue.name,
    published: queue.createdAt,
    updated: queue.modifiedAt,
    content: description("QueueDescription", body),
  };
}

export function topicEntryParts(topic: TopicView): EntryParts {
  const s = topic.settings;
  const body =
    element("DefaultMessageTimeToLive", formatDuration(s.defaultMessageTimeToLiveInMs)) +
    element("MaxSizeInMegabytes", MAX_SIZE_IN_MEGABYTES) +
    element("RequiresDuplicateDetection", s.requiresDuplicateDetection) +
    element("DuplicateDetectionHistoryTimeWindow", formatDuration(s.duplicateDetectionHistoryTimeWindowInMs)) +
    element("EnableBatchedOperations", true) +
    element("SizeInBytes", topic.sizeInBytes()) +
    element("FilteringMessagesBeforePublishing", false) +
    element("IsAnonymousAccessible", false) +
    "<AuthorizationRules></AuthorizationRules>" +
    element("Status", "Active") +
    element("CreatedAt", time(topic.createdAt)) +
    element("UpdatedAt", time(topic.modifiedAt)) +
    element("AccessedAt", time(topic.accessedAt)) +
    element("SupportOrdering", true) +
    // A topic holds no receivable messages itself; only scheduled ones wait on it.
    countDetails({
      activeMessageCount: 0,
      deadLetterMessageCount: 0,
      scheduledMessageCount: topic.scheduledMessageCount(),
      transferMessageCount: 0,
      transferDeadLetterMessageCount: 0,
    }) +
    element("SubscriptionCount", topic.subscriptions().length) +
    element("AutoDeleteOnIdle", TIME_SPAN_MAX_ISO) +
    element("EnablePartitioning", false) +
    element("EntityAvailabilityStatus", "Available") +
    element("EnableSubscriptionPartitioning", false) +
    element("EnableExpress", false) +
    element("MaxMessageSizeInKilobytes", MAX_MESSAGE_SIZE_IN_KILOBYTES);
  return {
    path: topic.name,
    title: topic.name,
    published: topic.createdAt,
    updated: topic.modifiedAt,
    content: description("TopicDescription", body),
  };
}

export function subscriptionPath(topicName: string, subscriptionName: string): string {
  return `${topicName}/Subscriptions/${subscriptionName}`;
}

export function subscriptionEntryParts(context: AtomContext, subscription: SubscriptionView): EntryParts {
  const s = subscription.settings;
  const counts = subscription.counts();
  const body =
    element("LockDuration", formatDuration(s.lockDurationInMs)) +
    element("RequiresSession", s.requiresSession) +
    element("DefaultMessageTimeToLive", formatDuration(s.defaultMessageTimeToLiveInMs)) +
    element("DeadLetteringOnMessageExpiration", s.deadLetteringOnMessageExpiration) +
    // Config.json has no such setting; the service's default is on.
    element("DeadLetteringOnFilterEvaluationExceptions", true) +
    element("MessageCount", counts.totalMessageCount) +
    element("MaxDeliveryCount", s.maxDeliveryCount) +
    element("EnableBatchedOperations", true) +
    element("Status", "Active") +
    optionalElement("ForwardTo", forwardingUrl(context, s.forwardTo)) +
    element("CreatedAt", time(subscription.createdAt)) +
    element("UpdatedAt", time(subscription.modifiedAt)) +
    element("AccessedAt", time(subscription.accessedAt)) +
    countDetails(counts) +
    element("AutoDeleteOnIdle", TIME_SPAN_MAX_ISO) +
    optionalElement("ForwardDeadLetteredMessagesTo", forwardingUrl(context, s.forwardDeadLetteredMessagesTo)) +
    element("EntityAvailabilityStatus", "Available");
  return {
    path: subscriptionPath(subscription.topicName, subscription.name),
    title: subscription.name,
    published: subscription.createdAt,
    updated: subscription.modifiedAt,
    content: description("SubscriptionDescription", body),
  };
}

/**
 * Typed value as the data contract serializer writes `object` values. Integers that fit
 * 32 bits are `int`; other numbers are `double` because SDK 7.9.5 cannot read `long`
 * (it throws on any type but int, double, string, boolean and dateTime).
 */
function keyValue(key: string, value: string | number | boolean): string {
  let type: string;
  if (typeof value === "string") type = "string";
  else if (typeof value === "boolean") type = "boolean";
  else type = Number.isInteger(value) && Math.abs(value) <= 2_147_483_647 ? "int" : "double";
  return (
    `<KeyValueOfstringanyType>${element("Key", key)}` +
    `<Value xmlns:d6p1="${XML_SCHEMA_NAMESPACE}" i:type="d6p1:${type}">${escapeXml(String(value))}</Value>` +
    `</KeyValueOfstringanyType>`
  );
}

function correlationFilter(filter: CorrelationFilterSpec): string {
  const properties = Object.entries(filter.applicationProperties ?? {});
  return (
    `<Filter i:type="CorrelationFilter">` +
    optionalElement("CorrelationId", filter.correlationId) +
    optionalElement("MessageId", filter.messageId) +
    optionalElement("To", filter.to) +
    optionalElement("ReplyTo", filter.replyTo) +
    // The wire name is still Label; the SDK maps it to `subject`.
    optionalElement("Label", filter.subject) +
    optionalElement("SessionId", filter.sessionId) +
    optionalElement("ReplyToSessionId", filter.replyToSessionId) +
    optionalElement("ContentType", filter.contentType) +
    (properties.length > 0 ? `<Properties>${properties.map(([k, v]) => keyValue(k, v)).join("")}</Properties>` : "") +
    `</Filter>`
  );
}

function sqlLikeFilter(type: string, expression: string): string {
  return (
    `<Filter i:type="${type}">` + element("SqlExpression", expression) + element("CompatibilityLevel", 20) + `</Filter>`
  );
}

function ruleFilter(rule: RuleSpec): string {
  switch (rule.filter.kind) {
    case "sql":
      return sqlLikeFilter("SqlFilter", rule.filter.sqlExpression);
    case "true":
      // The service describes True/False filters as SQL filters with a constant expression.
      return sqlLikeFilter("TrueFilter", "1=1");
    case "false":
      return sqlLikeFilter("FalseFilter", "1=0");
    case "correlation":
      return correlationFilter(rule.filter.correlation);
  }
}

function ruleAction(rule: RuleSpec): string {
  if (rule.actionSqlExpression === undefined || rule.actionSqlExpression.trim() === "") {
    return `<Action i:type="EmptyRuleAction"/>`;
  }
  return (
    `<Action i:type="SqlRuleAction">` +
    element("SqlExpression", rule.actionSqlExpression) +
    element("CompatibilityLevel", 20) +
    `</Action>`
  );
}

export function ruleEntryParts(subscription: SubscriptionView, rule: RuleSpec): EntryParts {
  // Rules have no times of their own in the views; they exist since their subscription does.
  const body = ruleFilter(rule) + ruleAction(rule) + element("CreatedAt", time(subscription.createdAt)) + element("Name", rule.name);
  return {
    path: `${subscriptionPath(subscription.topicName, subscription.name)}/Rules/${rule.name}`,
    title: rule.name,
    published: subscription.createdAt,
    updated: subscription.createdAt,
    content: description("RuleDescription", body),
  };
}
