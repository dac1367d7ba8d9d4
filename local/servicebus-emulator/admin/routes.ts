/**
 * Request routing for the read-only management endpoint: turns the path of an ATOM
 * management GET (as `ServiceBusAdministrationClient` builds it) into a document from the
 * namespace view. No I/O here; endpoint.ts owns HTTP, TLS and authorization.
 *
 * Paths the SDK uses (all relative to the namespace root, `?api-version=2021-05` added):
 *   $namespaceinfo                                   getNamespaceProperties
 *   $Resources/Queues, $Resources/Topics             list queues / topics ($skip, $top)
 *   <queue or topic>                                 get queue / topic (and *Exists)
 *   <topic>/Subscriptions/                           list subscriptions
 *   <topic>/Subscriptions/<sub>                      get subscription
 *   <topic>/Subscriptions/<sub>/Rules/               list rules
 *   <topic>/Subscriptions/<sub>/Rules/<rule>         get rule
 * Queue and topic names may contain `/`; subscription and rule names may not, so the
 * `Subscriptions`/`Rules` markers are located from the end of the path.
 */
import type { RuleSpec } from "../config/types";
import type { NamespaceView, SubscriptionView } from "../store/views";
import {
  ENTRY_CONTENT_TYPE,
  ERROR_CONTENT_TYPE,
  FEED_CONTENT_TYPE,
  atomEntry,
  atomFeed,
  errorDocument,
  namespaceEntry,
  queueEntryParts,
  ruleEntryParts,
  subscriptionEntryParts,
  subscriptionPath,
  topicEntryParts,
  type AtomContext,
  type EntryParts,
} from "./atom-xml";

export interface ManagementResponse {
  status: number;
  contentType: string;
  body: string;
}

/** The service's page size when `$top` is absent, and the most it returns per page. */
export const DEFAULT_PAGE_SIZE = 100;

/** Appended to not-found details: an unknown entity here is a Config.json question. */
const CONFIG_HINT = "The emulator's queues, topics, subscriptions and rules are declared in its Config.json.";

export function errorResponse(status: number, detail: string): ManagementResponse {
  return { status, contentType: ERROR_CONTENT_TYPE, body: errorDocument(status, detail) };
}

function notFound(entity: string, namespace: NamespaceView): ManagementResponse {
  return errorResponse(404, `MessagingEntityNotFound: Entity '${namespace.name}:${entity}' was not found. ${CONFIG_HINT}`);
}

function entry(body: string): ManagementResponse {
  return { status: 200, contentType: ENTRY_CONTENT_TYPE, body };
}

/** What a request path asks for, before looking anything up. */
export type ManagementRoute =
  | { kind: "namespace" }
  | { kind: "listQueues" }
  | { kind: "listTopics" }
  | { kind: "entity"; name: string }
  | { kind: "listSubscriptions"; topic: string }
  | { kind: "subscription"; topic: string; subscription: string }
  | { kind: "listRules"; topic: string; subscription: string }
  | { kind: "rule"; topic: string; subscription: string; rule: string }
  | { kind: "invalid"; detail: string };

const same = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

/**
 * Parses the (still percent-encoded) URL pathname. A trailing slash is insignificant: the
 * SDK lists collections with one (`orders/Subscriptions/`), fetches members without.
 */
export function parseManagementPath(pathname: string): ManagementRoute {
  let segments: string[];
  try {
    segments = pathname.split("/").map((s) => decodeURIComponent(s));
  } catch {
    return { kind: "invalid", detail: "The request path is not validly percent-encoded." };
  }
  if (segments[0] === "") segments.shift();
  if (segments.length > 0 && segments[segments.length - 1] === "") segments.pop();
  if (segments.length === 0) return { kind: "invalid", detail: "The request path does not name a messaging entity." };
  if (segments.some((s) => s === "")) return { kind: "invalid", detail: "The request path contains an empty segment." };

  if (segments.length === 1 && same(segments[0], "$namespaceinfo")) return { kind: "namespace" };
  if (same(segments[0], "$Resources")) {
    if (segments.length === 2 && same(segments[1], "Queues")) return { kind: "listQueues" };
    if (segments.length === 2 && same(segments[1], "Topics")) return { kind: "listTopics" };
    return { kind: "invalid", detail: `The collection '${segments.join("/")}' is not supported; use $Resources/Queues or $Resources/Topics.` };
  }

  const n = segments.length;
  const topicBefore = (index: number): string => segments.slice(0, index).join("/");
  // Each pattern needs at least one segment of topic name before "Subscriptions".
  if (n >= 2 && same(segments[n - 1], "Subscriptions")) {
    return { kind: "listSubscriptions", topic: topicBefore(n - 1) };
  }
  if (n >= 3 && same(segments[n - 2], "Subscriptions")) {
    return { kind: "subscription", topic: topicBefore(n - 2), subscription: segments[n - 1] };
  }
  if (n >= 4 && same(segments[n - 3], "Subscriptions") && same(segments[n - 1], "Rules")) {
    return { kind: "listRules", topic: topicBefore(n - 3), subscription: segments[n - 2] };
  }
  if (n >= 5 && same(segments[n - 4], "Subscriptions") && same(segments[n - 2], "Rules")) {
    return { kind: "rule", topic: topicBefore(n - 4), subscription: segments[n - 3], rule: segments[n - 1] };
  }
  return { kind: "entity", name: segments.join("/") };
}

interface Paging {
  skip: number;
  top: number;
}

function parsePaging(query: URLSearchParams): Paging | string {
  const read = (name: string, fallback: number): number | string => {
    const raw = query.get(name);
    if (raw === null || raw === "") return fallback;
    if (!/^\d{1,9}$/.test(raw)) return `The query parameter ${name}='${raw}' must be a non-negative integer.`;
    return Number(raw);
  };
  const skip = read("$skip", 0);
  const top = read("$top", DEFAULT_PAGE_SIZE);
  if (typeof skip === "string") return skip;
  if (typeof top === "string") return top;
  // $top=0 would page forever (the next link never advances); the service treats it as the default.
  return { skip, top: top === 0 ? DEFAULT_PAGE_SIZE : Math.min(top, DEFAULT_PAGE_SIZE) };
}

/** Service Bus lists entities ordered by name; sorting also keeps paging stable. */
function byName<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => {
    const x = a.name.toLowerCase();
    const y = b.name.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

function feed<T>(context: AtomContext, query: URLSearchParams, collectionPath: string, title: string, items: T[], toParts: (item: T) => EntryParts): ManagementResponse {
  const paging = parsePaging(query);
  if (typeof paging === "string") return errorResponse(400, paging);
  const page = items.slice(paging.skip, paging.skip + paging.top);
  const body = atomFeed(context, {
    collectionPath,
    title,
    skip: paging.skip,
    top: paging.top,
    hasMore: paging.skip + paging.top < items.length,
    entries: page.map(toParts),
  });
  return { status: 200, contentType: FEED_CONTENT_TYPE, body };
}

function findRule(subscription: SubscriptionView, name: string): RuleSpec | undefined {
  const wanted = name.toLowerCase();
  return subscription.rules().find((r) => r.name.toLowerCase() === wanted);
}

/** Answers a GET. Lookups are case-insensitive, as the service's are. */
export function respondToGet(pathname: string, query: URLSearchParams, context: AtomContext): ManagementResponse {
  const ns = context.namespace;
  const route = parseManagementPath(pathname);
  switch (route.kind) {
    case "invalid":
      return errorResponse(400, route.detail);
    case "namespace":
      return entry(namespaceEntry(context));
    case "listQueues":
      return feed(context, query, "$Resources/Queues", "Queues", byName(ns.queues()), (q) => queueEntryParts(context, q));
    case "listTopics":
      return feed(context, query, "$Resources/Topics", "Topics", byName(ns.topics()), topicEntryParts);
    case "entity": {
      // One namespace-wide name space: a GET on a name returns whichever entity holds it.
      const queue = ns.queue(route.name);
      if (queue) return entry(atomEntry(context, queueEntryParts(context, queue)));
      const topic = ns.topic(route.name);
      if (topic) return entry(atomEntry(context, topicEntryParts(topic)));
      return notFound(route.name, ns);
    }
    case "listSubscriptions": {
      const topic = ns.topic(route.topic);
      if (!topic) return notFound(`Topic:${route.topic}`, ns);
      return feed(context, query, `${topic.name}/Subscriptions`, "Subscriptions", byName(topic.subscriptions()), (s) => subscriptionEntryParts(context, s));
    }
    case "subscription": {
      const subscription = ns.subscription(route.topic, route.subscription);
      if (!subscription) return notFound(`Topic:${route.topic}|${route.subscription}`, ns);
      return entry(atomEntry(context, subscriptionEntryParts(context, subscription)));
    }
    case "listRules": {
      const subscription = ns.subscription(route.topic, route.subscription);
      if (!subscription) return notFound(`Topic:${route.topic}|${route.subscription}`, ns);
      // Rules keep their configured order ($Default first when present), as the service does.
      return feed(context, query, `${subscriptionPath(subscription.topicName, subscription.name)}/Rules`, "Rules", subscription.rules(), (r) => ruleEntryParts(subscription, r));
    }
    case "rule": {
      const subscription = ns.subscription(route.topic, route.subscription);
      if (!subscription) return notFound(`Topic:${route.topic}|${route.subscription}`, ns);
      const rule = findRule(subscription, route.rule);
      if (!rule) return notFound(`Topic:${route.topic}|${route.subscription}|${route.rule}`, ns);
      return entry(atomEntry(context, ruleEntryParts(subscription, rule)));
    }
  }
}
