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
 *
 * Documents are built as element trees and written by fast-xml-builder — the builder half of
 * fast-xml-parser, the XML library the SDK itself reads them with (through @azure/core-xml) —
 * which escapes text and attribute values. Object key order is element order.
 */
import XMLBuilder from "fast-xml-builder";
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

/**
 * An element's content for XMLBuilder: child elements by name (in order), attributes as
 * `@_name`, text beside attributes as `#text`; an undefined child is left out and an array
 * repeats the element.
 */
type XmlValue = string | number | boolean | undefined | XmlElement | XmlElement[];
interface XmlElement {
  [name: string]: XmlValue;
}

const XML_DECLARATION: XmlElement = { "?xml": { "@_version": "1.0", "@_encoding": "utf-8" } };

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@_", textNodeName: "#text", suppressEmptyNode: true });

function xmlDocument(root: XmlElement): string {
  return builder.build({ ...XML_DECLARATION, ...root });
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
  /** The description element (one root: `{ QueueDescription: {...} }`). */
  content: XmlElement;
}

function entryElement(context: AtomContext, parts: EntryParts, xmlBase?: string): XmlElement {
  const url = entityUrl(context, parts.path);
  return {
    ...(xmlBase === undefined ? { "@_xmlns": ATOM_NAMESPACE } : { "@_xml:base": xmlBase }),
    id: url,
    title: { "@_type": "text", "#text": parts.title },
    published: time(parts.published),
    updated: time(parts.updated),
    author: { name: context.namespace.name },
    link: { "@_rel": "self", "@_href": url },
    content: { "@_type": "application/xml", ...parts.content },
  };
}

/** A single resource, as returned by a GET on it. */
export function atomEntry(context: AtomContext, parts: EntryParts): string {
  return xmlDocument({ entry: entryElement(context, parts) });
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
  const nextUrl = entityUrl(context, page.collectionPath, `%24skip=${page.skip + page.top}&%24top=${page.top}&api-version=${API_VERSION}`);
  const xmlBase = entityUrl(context, page.collectionPath);
  const links: XmlElement[] = [{ "@_rel": "self", "@_href": selfUrl }];
  if (page.hasMore) links.push({ "@_rel": "next", "@_href": nextUrl });
  return xmlDocument({
    feed: {
      "@_xmlns": ATOM_NAMESPACE,
      title: { "@_type": "text", "#text": page.title },
      id: selfUrl,
      updated: new Date().toISOString(),
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- the ATOM <link> element, not String.prototype.link (XmlValue includes string)
      link: links,
      entry: page.entries.map((entry) => entryElement(context, entry, xmlBase)),
    },
  });
}

/** The service's error document; the SDK reads `Error.Detail` into the RestError message. */
export function errorDocument(status: number, detail: string): string {
  return xmlDocument({ Error: { Code: status, Detail: detail } });
}

function description(rootName: string, body: XmlElement): XmlElement {
  return { [rootName]: { "@_xmlns": SERVICEBUS_NAMESPACE, "@_xmlns:i": XML_SCHEMA_INSTANCE_NAMESPACE, ...body } };
}

function countDetails(counts: Pick<MessageCounts, Exclude<keyof MessageCounts, "totalMessageCount" | "sizeInBytes">>): XmlElement {
  return {
    "@_xmlns:d2p1": COUNT_DETAILS_NAMESPACE,
    "d2p1:ActiveMessageCount": counts.activeMessageCount,
    "d2p1:DeadLetterMessageCount": counts.deadLetterMessageCount,
    "d2p1:ScheduledMessageCount": counts.scheduledMessageCount,
    "d2p1:TransferMessageCount": counts.transferMessageCount,
    "d2p1:TransferDeadLetterMessageCount": counts.transferDeadLetterMessageCount,
  };
}

export function namespaceEntry(context: AtomContext): string {
  const ns = context.namespace;
  return atomEntry(context, {
    path: "$namespaceinfo",
    title: ns.name,
    published: ns.createdAt,
    updated: ns.createdAt,
    content: description("NamespaceInfo", {
      CreatedTime: time(ns.createdAt),
      MessagingSKU: "Standard",
      ModifiedTime: time(ns.createdAt),
      Name: ns.name,
      NamespaceType: "Messaging",
    }),
  });
}

/** Element order is the service's (QueueDescription data contract order). */
export function queueEntryParts(context: AtomContext, queue: QueueView): EntryParts {
  const s = queue.settings;
  const counts = queue.counts();
  return {
    path: queue.name,
    title: queue.name,
    published: queue.createdAt,
    updated: queue.modifiedAt,
    content: description("QueueDescription", {
      LockDuration: formatDuration(s.lockDurationInMs),
      MaxSizeInMegabytes: MAX_SIZE_IN_MEGABYTES,
      RequiresDuplicateDetection: s.requiresDuplicateDetection,
      RequiresSession: s.requiresSession,
      DefaultMessageTimeToLive: formatDuration(s.defaultMessageTimeToLiveInMs),
      DeadLetteringOnMessageExpiration: s.deadLetteringOnMessageExpiration,
      DuplicateDetectionHistoryTimeWindow: formatDuration(s.duplicateDetectionHistoryTimeWindowInMs),
      MaxDeliveryCount: s.maxDeliveryCount,
      EnableBatchedOperations: true,
      SizeInBytes: counts.sizeInBytes,
      MessageCount: counts.totalMessageCount,
      IsAnonymousAccessible: false,
      AuthorizationRules: "",
      Status: "Active",
      ForwardTo: forwardingUrl(context, s.forwardTo),
      CreatedAt: time(queue.createdAt),
      UpdatedAt: time(queue.modifiedAt),
      AccessedAt: time(queue.accessedAt),
      SupportOrdering: true,
      CountDetails: countDetails(counts),
      AutoDeleteOnIdle: TIME_SPAN_MAX_ISO,
      EnablePartitioning: false,
      EntityAvailabilityStatus: "Available",
      EnableExpress: false,
      ForwardDeadLetteredMessagesTo: forwardingUrl(context, s.forwardDeadLetteredMessagesTo),
      MaxMessageSizeInKilobytes: MAX_MESSAGE_SIZE_IN_KILOBYTES,
    }),
  };
}

export function topicEntryParts(topic: TopicView): EntryParts {
  const s = topic.settings;
  return {
    path: topic.name,
    title: topic.name,
    published: topic.createdAt,
    updated: topic.modifiedAt,
    content: description("TopicDescription", {
      DefaultMessageTimeToLive: formatDuration(s.defaultMessageTimeToLiveInMs),
      MaxSizeInMegabytes: MAX_SIZE_IN_MEGABYTES,
      RequiresDuplicateDetection: s.requiresDuplicateDetection,
      DuplicateDetectionHistoryTimeWindow: formatDuration(s.duplicateDetectionHistoryTimeWindowInMs),
      EnableBatchedOperations: true,
      SizeInBytes: topic.sizeInBytes(),
      FilteringMessagesBeforePublishing: false,
      IsAnonymousAccessible: false,
      AuthorizationRules: "",
      Status: "Active",
      CreatedAt: time(topic.createdAt),
      UpdatedAt: time(topic.modifiedAt),
      AccessedAt: time(topic.accessedAt),
      SupportOrdering: true,
      // A topic holds no receivable messages itself; only scheduled ones wait on it.
      CountDetails: countDetails({
        activeMessageCount: 0,
        deadLetterMessageCount: 0,
        scheduledMessageCount: topic.scheduledMessageCount(),
        transferMessageCount: 0,
        transferDeadLetterMessageCount: 0,
      }),
      SubscriptionCount: topic.subscriptions().length,
      AutoDeleteOnIdle: TIME_SPAN_MAX_ISO,
      EnablePartitioning: false,
      EntityAvailabilityStatus: "Available",
      EnableSubscriptionPartitioning: false,
      EnableExpress: false,
      MaxMessageSizeInKilobytes: MAX_MESSAGE_SIZE_IN_KILOBYTES,
    }),
  };
}

export function subscriptionPath(topicName: string, subscriptionName: string): string {
  return `${topicName}/Subscriptions/${subscriptionName}`;
}

export function subscriptionEntryParts(context: AtomContext, subscription: SubscriptionView): EntryParts {
  const s = subscription.settings;
  const counts = subscription.counts();
  return {
    path: subscriptionPath(subscription.topicName, subscription.name),
    title: subscription.name,
    published: subscription.createdAt,
    updated: subscription.modifiedAt,
    content: description("SubscriptionDescription", {
      LockDuration: formatDuration(s.lockDurationInMs),
      RequiresSession: s.requiresSession,
      DefaultMessageTimeToLive: formatDuration(s.defaultMessageTimeToLiveInMs),
      DeadLetteringOnMessageExpiration: s.deadLetteringOnMessageExpiration,
      // Config.json has no such setting; the service's default is on.
      DeadLetteringOnFilterEvaluationExceptions: true,
      MessageCount: counts.totalMessageCount,
      MaxDeliveryCount: s.maxDeliveryCount,
      EnableBatchedOperations: true,
      Status: "Active",
      ForwardTo: forwardingUrl(context, s.forwardTo),
      CreatedAt: time(subscription.createdAt),
      UpdatedAt: time(subscription.modifiedAt),
      AccessedAt: time(subscription.accessedAt),
      CountDetails: countDetails(counts),
      AutoDeleteOnIdle: TIME_SPAN_MAX_ISO,
      ForwardDeadLetteredMessagesTo: forwardingUrl(context, s.forwardDeadLetteredMessagesTo),
      EntityAvailabilityStatus: "Available",
    }),
  };
}

/**
 * Typed value as the data contract serializer writes `object` values. Integers that fit
 * 32 bits are `int`; other numbers are `double` because SDK 7.9.5 cannot read `long`
 * (it throws on any type but int, double, string, boolean and dateTime).
 */
function keyValue(key: string, value: string | number | boolean): XmlElement {
  let type: string;
  if (typeof value === "string") type = "string";
  else if (typeof value === "boolean") type = "boolean";
  else type = Number.isInteger(value) && Math.abs(value) <= 2_147_483_647 ? "int" : "double";
  return { Key: key, Value: { "@_xmlns:d6p1": XML_SCHEMA_NAMESPACE, "@_i:type": `d6p1:${type}`, "#text": String(value) } };
}

function correlationFilter(filter: CorrelationFilterSpec): XmlElement {
  const properties = Object.entries(filter.applicationProperties ?? {});
  return {
    "@_i:type": "CorrelationFilter",
    CorrelationId: filter.correlationId,
    MessageId: filter.messageId,
    To: filter.to,
    ReplyTo: filter.replyTo,
    // The wire name is still Label; the SDK maps it to `subject`.
    Label: filter.subject,
    SessionId: filter.sessionId,
    ReplyToSessionId: filter.replyToSessionId,
    ContentType: filter.contentType,
    Properties: properties.length > 0 ? { KeyValueOfstringanyType: properties.map(([k, v]) => keyValue(k, v)) } : undefined,
  };
}

function sqlLikeFilter(type: string, expression: string): XmlElement {
  return { "@_i:type": type, SqlExpression: expression, CompatibilityLevel: 20 };
}

function ruleFilter(rule: RuleSpec): XmlElement {
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

function ruleAction(rule: RuleSpec): XmlElement {
  if (rule.actionSqlExpression === undefined || rule.actionSqlExpression.trim() === "") return { "@_i:type": "EmptyRuleAction" };
  return { "@_i:type": "SqlRuleAction", SqlExpression: rule.actionSqlExpression, CompatibilityLevel: 20 };
}

export function ruleEntryParts(subscription: SubscriptionView, rule: RuleSpec): EntryParts {
  // Rules have no times of their own in the views; they exist since their subscription does.
  return {
    path: `${subscriptionPath(subscription.topicName, subscription.name)}/Rules/${rule.name}`,
    title: rule.name,
    published: subscription.createdAt,
    updated: subscription.createdAt,
    content: description("RuleDescription", {
      Filter: ruleFilter(rule),
      Action: ruleAction(rule),
      CreatedAt: time(subscription.createdAt),
      Name: rule.name,
    }),
  };
}
