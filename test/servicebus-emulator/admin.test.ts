/**
 * The management endpoint driven by the real, unmodified ServiceBusAdministrationClient
 * (@azure/service-bus 7.9.5), over TLS on a port shared the way the emulator shares it:
 * a plain net.Server hands every socket to the endpoint's https.Server.
 *
 * The namespace is a small in-memory fake of the store's read-only views (pure data).
 */
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import type { EntitiesResponse, QueueProperties, ServiceBusAdministrationClient } from "@azure/service-bus";

import { createEmulatorAdministrationClient } from "../../local/servicebus-emulator/admin/client";
import { createManagementEndpoint, type ManagementEndpoint } from "../../local/servicebus-emulator/admin/endpoint";
import { formatDuration } from "../../local/servicebus-emulator/admin/atom-xml";
import type { QueueSettings, RuleSpec, SubscriptionSettings, TopicSettings } from "../../local/servicebus-emulator/config/types";
import type { MessageCounts, NamespaceView, QueueView, SubscriptionView, TopicView } from "../../local/servicebus-emulator/store/views";

// ---------------------------------------------------------------- fake namespace ---------

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const created = new Date("2025-03-01T08:30:00.000Z");
const modified = new Date("2025-03-02T09:00:00.000Z");
const accessed = new Date("2025-03-03T10:15:30.500Z");
const times = { createdAt: created, modifiedAt: modified, accessedAt: accessed };

const zeroCounts: MessageCounts = {
  activeMessageCount: 0,
  deadLetterMessageCount: 0,
  scheduledMessageCount: 0,
  transferMessageCount: 0,
  transferDeadLetterMessageCount: 0,
  totalMessageCount: 0,
  sizeInBytes: 0,
};

function queueSettings(overrides: Partial<QueueSettings> = {}): QueueSettings {
  return {
    lockDurationInMs: MINUTE,
    maxDeliveryCount: 10,
    defaultMessageTimeToLiveInMs: 14 * DAY,
    deadLetteringOnMessageExpiration: false,
    requiresSession: false,
    requiresDuplicateDetection: false,
    duplicateDetectionHistoryTimeWindowInMs: 10 * MINUTE,
    ...overrides,
  };
}

function subscriptionSettings(overrides: Partial<SubscriptionSettings> = {}): SubscriptionSettings {
  return {
    lockDurationInMs: MINUTE,
    maxDeliveryCount: 10,
    defaultMessageTimeToLiveInMs: 14 * DAY,
    deadLetteringOnMessageExpiration: false,
    requiresSession: false,
    ...overrides,
  };
}

function queue(name: string, settings: QueueSettings, counts: MessageCounts = zeroCounts): QueueView {
  return { name, settings, counts: () => counts, ...times };
}

function subscription(topicName: string, name: string, settings: SubscriptionSettings, rules: RuleSpec[], counts: MessageCounts = zeroCounts): SubscriptionView {
  return { topicName, name, settings, counts: () => counts, rules: () => rules, ...times };
}

function topic(name: string, settings: TopicSettings, subscriptions: SubscriptionView[], scheduled = 0, size = 0): TopicView {
  return {
    name,
    settings,
    subscriptions: () => subscriptions,
    scheduledMessageCount: () => scheduled,
    sizeInBytes: () => size,
    ...times,
  };
}

function fakeNamespace(name: string, queues: QueueView[], topics: TopicView[]): NamespaceView {
  const find = <T extends { name: string }>(items: T[], wanted: string): T | undefined => items.find((i) => i.name.toLowerCase() === wanted.toLowerCase());
  return {
    name,
    createdAt: created,
    queues: () => queues,
    topics: () => topics,
    queue: (n) => find(queues, n),
    topic: (n) => find(topics, n),
    subscription: (t, s) => {
      const found = find(topics, t);
      return found ? find(found.subscriptions(), s) : undefined;
    },
  };
}

const defaultRule: RuleSpec = { name: "$Default", filter: { kind: "true" } };
const sqlRule: RuleSpec = {
  name: "large-video",
  filter: { kind: "sql", sqlExpression: "sys.Label = 'video' AND sizeBytes > 1000 & <x>" },
  actionSqlExpression: "SET indexed = TRUE; REMOVE scratch",
};
const correlationRule: RuleSpec = {
  name: "camera-7",
  filter: {
    kind: "correlation",
    correlation: {
      correlationId: "corr-1",
      subject: "video",
      contentType: "application/json",
      to: "indexer",
      applicationProperties: { camera: "bwc-7", priority: 2, urgent: true, ratio: 1.5 },
    },
  },
};
const falseRule: RuleSpec = { name: "never", filter: { kind: "false" } };

const ingestCounts: MessageCounts = {
  activeMessageCount: 3,
  deadLetterMessageCount: 2,
  scheduledMessageCount: 1,
  transferMessageCount: 0,
  transferDeadLetterMessageCount: 0,
  totalMessageCount: 6,
  sizeInBytes: 2048,
};
const indexCounts: MessageCounts = {
  activeMessageCount: 7,
  deadLetterMessageCount: 1,
  scheduledMessageCount: 0,
  transferMessageCount: 0,
  transferDeadLetterMessageCount: 0,
  totalMessageCount: 8,
  sizeInBytes: 4096,
};

const queues: QueueView[] = [
  // Deliberately not in name order: the endpoint lists by name, as the service does.
  queue(
    "sessions",
    queueSettings({
      requiresSession: true,
      lockDurationInMs: 30_000,
      maxDeliveryCount: 5,
      forwardTo: "ingest",
      forwardDeadLetteredMessagesTo: "audit",
    }),
  ),
  queue(
    "ingest",
    queueSettings({
      deadLetteringOnMessageExpiration: true,
      requiresDuplicateDetection: true,
      duplicateDetectionHistoryTimeWindowInMs: 90 * 1000 + 250,
    }),
    ingestCounts,
  ),
  queue("audit", queueSettings({ defaultMessageTimeToLiveInMs: Number.POSITIVE_INFINITY })),
];

const evidenceSubscriptions = [
  subscription("evidence", "proxy", subscriptionSettings(), [defaultRule]),
  subscription("evidence", "index", subscriptionSettings({ maxDeliveryCount: 3, lockDurationInMs: 5 * MINUTE }), [sqlRule, correlationRule], indexCounts),
  subscription("evidence", "sessions-sub", subscriptionSettings({ requiresSession: true, forwardTo: "ingest" }), [falseRule]),
];
const topics: TopicView[] = [
  topic("evidence", { defaultMessageTimeToLiveInMs: 7 * DAY, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 2 * MINUTE }, evidenceSubscriptions, 4, 999),
  topic("alerts", { defaultMessageTimeToLiveInMs: 3_600_000, requiresDuplicateDetection: false, duplicateDetectionHistoryTimeWindowInMs: 10 * MINUTE }, []),
];

// ---------------------------------------------------------------- harness ---------------

interface Harness {
  endpoint: ManagementEndpoint;
  netServer: net.Server;
  port: number;
  client: ServiceBusAdministrationClient;
  logLines: string[];
}

async function startHarness(namespace: NamespaceView): Promise<Harness> {
  const logLines: string[] = [];
  const endpoint = await createManagementEndpoint({ namespace, log: (line) => logLines.push(line) });
  // Stand-in for the emulator's sniffing listener: every socket goes to the HTTPS server.
  const netServer = net.createServer((socket) => endpoint.server.emit("connection", socket));
  await new Promise<void>((resolve) => netServer.listen(0, resolve));
  const port = (netServer.address() as AddressInfo).port;
  const connectionString = `Endpoint=sb://localhost:${port};SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true`;
  const client = createEmulatorAdministrationClient(connectionString, endpoint.certificatePem);
  return { endpoint, netServer, port, client, logLines };
}

async function stopHarness(h: Harness): Promise<void> {
  await h.endpoint.close();
  await new Promise<void>((resolve) => h.netServer.close(() => resolve()));
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain https request (no SDK), for what the SDK never sends: no auth, bad paths, HEAD. */
function rawRequest(h: Harness, method: string, path: string, headers: Record<string, string> = { Authorization: "SharedAccessSignature sr=x&sig=y&se=1&skn=k" }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "localhost", port: h.port, method, path, headers, ca: h.endpoint.certificatePem, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The SDK's RestError (from @azure/core-rest-pipeline, not a direct dependency), duck-typed. */
interface RestErrorLike extends Error {
  statusCode?: number;
  code?: string;
}

async function expectRestError(promise: Promise<unknown>, statusCode: number, code: string): Promise<RestErrorLike> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  const restError = error as RestErrorLike;
  expect(restError.name).toBe("RestError");
  expect(restError.statusCode).toBe(statusCode);
  expect(restError.code).toBe(code);
  return restError;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const MAX_TIMESPAN = "P10675199DT2H48M5.4775807S";

// ---------------------------------------------------------------- tests -----------------

describe("management endpoint through ServiceBusAdministrationClient", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(fakeNamespace("custody-local", queues, topics));
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  test("logs how long the certificate took and exposes it as PEM", () => {
    expect(h.endpoint.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(h.logLines[0]).toMatch(/certificate for localhost generated in \d+(\.\d+)? ms/);
  });

  test("getNamespaceProperties", async () => {
    const ns = await h.client.getNamespaceProperties();
    expect(ns.name).toBe("custody-local");
    expect(ns.messagingSku).toBe("Standard");
    expect(ns.messagingUnits).toBeUndefined();
    expect(ns.createdAt).toEqual(created);
    expect(ns.modifiedAt).toEqual(created);
  });

  describe("queues", () => {
    test("getQueue converts settings to the SDK's types", async () => {
      const q = await h.client.getQueue("ingest");
      expect(q).toMatchObject({
        name: "ingest",
        lockDuration: "PT1M",
        maxDeliveryCount: 10,
        requiresSession: false,
        requiresDuplicateDetection: true,
        duplicateDetectionHistoryTimeWindow: "PT1M30.25S",
        defaultMessageTimeToLive: "P14D",
        deadLetteringOnMessageExpiration: true,
        maxSizeInMegabytes: 1024,
        maxMessageSizeInKilobytes: 256,
        enablePartitioning: false,
        enableBatchedOperations: true,
        enableExpress: false,
        autoDeleteOnIdle: MAX_TIMESPAN,
        status: "Active",
        availabilityStatus: "Available",
      });
      expect(q.forwardTo).toBeUndefined();
      expect(q.forwardDeadLetteredMessagesTo).toBeUndefined();
      expect(q.authorizationRules).toBeUndefined();
    });

    test("getQueue: sessions, forwarding as sb:// URLs, case-insensitive names, infinite TTL", async () => {
      const q = await h.client.getQueue("SESSIONS");
      expect(q.name).toBe("sessions");
      expect(q.requiresSession).toBe(true);
      expect(q.lockDuration).toBe("PT30S");
      expect(q.maxDeliveryCount).toBe(5);
      expect(q.forwardTo).toBe(`sb://localhost:${h.port}/ingest`);
      expect(q.forwardDeadLetteredMessagesTo).toBe(`sb://localhost:${h.port}/audit`);
      expect((await h.client.getQueue("audit")).defaultMessageTimeToLive).toBe(MAX_TIMESPAN);
    });

    test("getQueueRuntimeProperties reports the store's counts", async () => {
      const r = await h.client.getQueueRuntimeProperties("ingest");
      expect(r).toMatchObject({
        name: "ingest",
        activeMessageCount: 3,
        deadLetterMessageCount: 2,
        scheduledMessageCount: 1,
        transferMessageCount: 0,
        transferDeadLetterMessageCount: 0,
        totalMessageCount: 6,
        sizeInBytes: 2048,
      });
      expect(r.createdAt).toEqual(created);
      expect(r.modifiedAt).toEqual(modified);
      expect(r.accessedAt).toEqual(accessed);
    });

    test("listQueues returns every queue by name; byPage follows the next link", async () => {
      const all = await collect(h.client.listQueues());
      expect(all.map((q) => q.name)).toEqual(["audit", "ingest", "sessions"]);
      expect(all[1].lockDuration).toBe("PT1M");

      const pages: string[][] = [];
      const tokens: (string | undefined)[] = [];
      for await (const page of h.client.listQueues().byPage({ maxPageSize: 2 })) {
        pages.push(page.map((q) => q.name));
        tokens.push(page.continuationToken);
      }
      expect(pages).toEqual([["audit", "ingest"], ["sessions"]]);
      expect(tokens).toEqual(["2", undefined]);
    });

    test("listQueuesRuntimeProperties", async () => {
      const all = await collect(h.client.listQueuesRuntimeProperties());
      expect(all.map((q) => [q.name, q.activeMessageCount, q.totalMessageCount])).toEqual([
        ["audit", 0, 0],
        ["ingest", 3, 6],
        ["sessions", 0, 0],
      ]);
    });

    test("queueExists", async () => {
      expect(await h.client.queueExists("ingest")).toBe(true);
      expect(await h.client.queueExists("missing")).toBe(false);
      // A topic's name answers with a TopicDescription, which is not a queue (as on the service).
      expect(await h.client.queueExists("evidence")).toBe(false);
    });

    test("an unknown queue is a 404 MessageEntityNotFoundError naming Config.json", async () => {
      const e = await expectRestError(h.client.getQueue("missing"), 404, "MessageEntityNotFoundError");
      expect(e.message).toContain("custody-local:missing");
      expect(e.message).toContain("Config.json");
      await expectRestError(h.client.getQueueRuntimeProperties("missing"), 404, "MessageEntityNotFoundError");
    });
  });

  describe("topics", () => {
    test("getTopic", async () => {
      const t = await h.client.getTopic("evidence");
      expect(t).toMatchObject({
        name: "evidence",
        defaultMessageTimeToLive: "P7D",
        requiresDuplicateDetection: true,
        duplicateDetectionHistoryTimeWindow: "PT2M",
        maxSizeInMegabytes: 1024,
        supportOrdering: true,
        enablePartitioning: false,
        autoDeleteOnIdle: MAX_TIMESPAN,
        status: "Active",
        availabilityStatus: "Available",
      });
    });

    test("getTopicRuntimeProperties", async () => {
      const r = await h.client.getTopicRuntimeProperties("Evidence");
      expect(r).toMatchObject({ name: "evidence", subscriptionCount: 3, scheduledMessageCount: 4, sizeInBytes: 999 });
      expect(r.accessedAt).toEqual(accessed);
    });

    test("listTopics and listTopicsRuntimeProperties", async () => {
      expect((await collect(h.client.listTopics())).map((t) => [t.name, t.defaultMessageTimeToLive])).toEqual([
        ["alerts", "PT1H"],
        ["evidence", "P7D"],
      ]);
      expect((await collect(h.client.listTopicsRuntimeProperties())).map((t) => [t.name, t.subscriptionCount])).toEqual([
        ["alerts", 0],
        ["evidence", 3],
      ]);
    });

    test("topicExists and 404", async () => {
      expect(await h.client.topicExists("evidence")).toBe(true);
      expect(await h.client.topicExists("nope")).toBe(false);
      await expectRestError(h.client.getTopic("nope"), 404, "MessageEntityNotFoundError");
    });
  });

  describe("subscriptions", () => {
    test("getSubscription", async () => {
      const s = await h.client.getSubscription("evidence", "index");
      expect(s).toMatchObject({
        topicName: "evidence",
        subscriptionName: "index",
        lockDuration: "PT5M",
        maxDeliveryCount: 3,
        requiresSession: false,
        defaultMessageTimeToLive: "P14D",
        deadLetteringOnMessageExpiration: false,
        deadLetteringOnFilterEvaluationExceptions: true,
        enableBatchedOperations: true,
        autoDeleteOnIdle: MAX_TIMESPAN,
        status: "Active",
        availabilityStatus: "Available",
      });
      const sessions = await h.client.getSubscription("evidence", "sessions-sub");
      expect(sessions.requiresSession).toBe(true);
      expect(sessions.forwardTo).toBe(`sb://localhost:${h.port}/ingest`);
    });

    test("getSubscriptionRuntimeProperties", async () => {
      const r = await h.client.getSubscriptionRuntimeProperties("evidence", "INDEX");
      expect(r).toMatchObject({
        topicName: "evidence",
        subscriptionName: "index",
        activeMessageCount: 7,
        deadLetterMessageCount: 1,
        totalMessageCount: 8,
        transferMessageCount: 0,
        transferDeadLetterMessageCount: 0,
      });
      expect(r.createdAt).toEqual(created);
    });

    test("listSubscriptions and listSubscriptionsRuntimeProperties (paged)", async () => {
      const subs = await collect(h.client.listSubscriptions("evidence"));
      expect(subs.map((s) => [s.topicName, s.subscriptionName])).toEqual([
        ["evidence", "index"],
        ["evidence", "proxy"],
        ["evidence", "sessions-sub"],
      ]);
      const pages: number[] = [];
      for await (const page of h.client.listSubscriptionsRuntimeProperties("evidence").byPage({ maxPageSize: 1 })) {
        pages.push(page.length);
      }
      expect(pages).toEqual([1, 1, 1]);
      const runtime = await collect(h.client.listSubscriptionsRuntimeProperties("evidence"));
      expect(runtime.map((s) => s.activeMessageCount)).toEqual([7, 0, 0]);
      expect(await collect(h.client.listSubscriptions("alerts"))).toEqual([]);
    });

    test("subscriptionExists and 404s for a missing subscription or topic", async () => {
      expect(await h.client.subscriptionExists("evidence", "proxy")).toBe(true);
      expect(await h.client.subscriptionExists("evidence", "nope")).toBe(false);
      expect(await h.client.subscriptionExists("nope", "proxy")).toBe(false);
      const e = await expectRestError(h.client.getSubscription("evidence", "nope"), 404, "MessageEntityNotFoundError");
      expect(e.message).toContain("custody-local:Topic:evidence|nope");
      await expectRestError(collect(h.client.listSubscriptions("nope")), 404, "MessageEntityNotFoundError");
    });
  });

  describe("rules", () => {
    test("true filter ($Default) and empty action", async () => {
      const rule = await h.client.getRule("evidence", "proxy", "$Default");
      expect(rule.name).toBe("$Default");
      expect(rule.filter).toEqual({ sqlExpression: "1=1", sqlParameters: undefined });
      expect(rule.action).toEqual({ sqlExpression: undefined, sqlParameters: undefined });
    });

    test("false filter", async () => {
      const rule = await h.client.getRule("evidence", "sessions-sub", "never");
      expect(rule.filter).toEqual({ sqlExpression: "1=0", sqlParameters: undefined });
    });

    test("SQL filter with SQL rule action (XML-escaped text survives)", async () => {
      const rule = await h.client.getRule("evidence", "index", "large-video");
      expect(rule.filter).toEqual({ sqlExpression: "sys.Label = 'video' AND sizeBytes > 1000 & <x>", sqlParameters: undefined });
      expect(rule.action).toEqual({ sqlExpression: "SET indexed = TRUE; REMOVE scratch", sqlParameters: undefined });
    });

    test("correlation filter with typed application properties", async () => {
      const rule = await h.client.getRule("evidence", "index", "CAMERA-7");
      expect(rule.name).toBe("camera-7");
      expect(rule.filter).toEqual({
        correlationId: "corr-1",
        subject: "video",
        to: "indexer",
        replyTo: undefined,
        replyToSessionId: undefined,
        sessionId: undefined,
        messageId: undefined,
        contentType: "application/json",
        applicationProperties: { camera: "bwc-7", priority: 2, urgent: true, ratio: 1.5 },
      });
    });

    test("listRules keeps configured order", async () => {
      const rules = await collect(h.client.listRules("evidence", "index"));
      expect(rules.map((r) => r.name)).toEqual(["large-video", "camera-7"]);
      expect(await h.client.ruleExists("evidence", "index", "camera-7")).toBe(true);
    });

    test("unknown rule or subscription is a 404", async () => {
      const e = await expectRestError(h.client.getRule("evidence", "index", "nope"), 404, "MessageEntityNotFoundError");
      expect(e.message).toContain("evidence|index|nope");
      await expectRestError(collect(h.client.listRules("evidence", "nope")), 404, "MessageEntityNotFoundError");
    });
  });

  describe("refused and malformed requests", () => {
    test("writes are refused with 403 InvalidOperationError pointing at Config.json", async () => {
      const created = await expectRestError(h.client.createQueue("new-queue"), 403, "InvalidOperationError");
      expect(created.message).toContain("Config.json");
      await expectRestError(h.client.deleteQueue("ingest"), 403, "InvalidOperationError");
      const queue = await h.client.getQueue("ingest");
      await expectRestError(h.client.updateQueue({ ...queue, maxDeliveryCount: 3 }), 403, "InvalidOperationError");
      await expectRestError(h.client.createTopic("t2"), 403, "InvalidOperationError");
      await expectRestError(h.client.createSubscription("evidence", "s2"), 403, "InvalidOperationError");
      await expectRestError(h.client.createRule("evidence", "proxy", "r2", { sqlExpression: "1=1" }), 403, "InvalidOperationError");
      await expectRestError(h.client.deleteRule("evidence", "proxy", "$Default"), 403, "InvalidOperationError");
      // Nothing changed.
      expect((await h.client.getQueue("ingest")).maxDeliveryCount).toBe(10);
    });

    test("a request without Authorization is a 401 with the service's error body", async () => {
      const res = await rawRequest(h, "GET", "/ingest?api-version=2021-05", {});
      expect(res.status).toBe(401);
      expect(res.headers["content-type"]).toContain("application/xml");
      expect(res.body).toMatch(/<Error><Code>401<\/Code><Detail>MissingToken: .*<\/Detail><\/Error>$/);
    });

    test.each([
      ["/", 400],
      ["/%E0%A4%A?api-version=2021-05", 400],
      ["/a//b?api-version=2021-05", 400],
      ["/$Resources/EventHubs?api-version=2021-05", 400],
      ["/$Resources/Queues?$top=abc", 400],
      ["/$Resources/Queues?$skip=-1", 400],
      ["/evidence/Subscriptions/index/Rules/a/b", 404],
      ["/no/such/queue", 404],
    ])("GET %s answers %d with an XML error body", async (path, status) => {
      const res = await rawRequest(h, "GET", path);
      expect(res.status).toBe(status);
      expect(res.body).toMatch(new RegExp(`^<\\?xml [^>]*\\?><Error><Code>${status}</Code><Detail>.+</Detail></Error>$`));
    });

    test("other methods get 405; HEAD answers like GET without a body", async () => {
      const options = await rawRequest(h, "OPTIONS", "/ingest");
      expect(options.status).toBe(405);
      expect(options.headers["allow"]).toBe("GET, HEAD");
      const head = await rawRequest(h, "HEAD", "/ingest");
      expect(head.status).toBe(200);
      expect(head.body).toBe("");
    });

    test("raw XML: CountDetails uses the d2p1 prefix, feeds carry self and next links", async () => {
      const entry = await rawRequest(h, "GET", "/ingest?api-version=2021-05");
      expect(entry.headers["content-type"]).toBe("application/atom+xml;type=entry;charset=utf-8");
      expect(entry.body).toContain('<CountDetails xmlns:d2p1="http://schemas.microsoft.com/netservices/2011/06/servicebus"><d2p1:ActiveMessageCount>3</d2p1:ActiveMessageCount>');
      expect(entry.body).toContain(`<id>https://localhost:${h.port}/ingest?api-version=2021-05</id>`);
      const feed = await rawRequest(h, "GET", "/$Resources/Queues?$skip=1&$top=1&api-version=2021-05");
      expect(feed.headers["content-type"]).toBe("application/atom+xml;type=feed;charset=utf-8");
      expect(feed.body).toContain('<link rel="self"');
      expect(feed.body).toContain(`<link rel="next" href="https://localhost:${h.port}/$Resources/Queues?%24skip=2&amp;%24top=1&amp;api-version=2021-05"/>`);
      expect(feed.body.match(/<entry /g)).toHaveLength(1);
    });

    test("garbage after the TLS handshake gets a 400, and the endpoint keeps serving", async () => {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: "localhost", port: h.port, ca: h.endpoint.certificatePem }, () => {
          socket.write("NOT HTTP AT ALL\r\n\r\n");
        });
        let data = "";
        socket.setEncoding("utf8");
        socket.on("data", (d: string) => (data += d));
        socket.on("end", () => resolve(data));
        socket.on("error", reject);
      });
      expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request/);
      expect(reply).toContain("<Error><Code>400</Code>");
      expect((await h.client.getNamespaceProperties()).name).toBe("custody-local");
    });

    test("a client that does not trust the certificate fails the handshake", async () => {
      const error = await new Promise<Error>((resolve) => {
        const req = https.request({ host: "localhost", port: h.port, path: "/$namespaceinfo", agent: false }, () => resolve(new Error("unexpected success")));
        req.on("error", resolve);
        req.end();
      });
      expect((error as NodeJS.ErrnoException).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
    });
  });
});

describe("management endpoint paging at the service's 100-entry page size", () => {
  let h: Harness;
  beforeAll(async () => {
    const many = Array.from({ length: 150 }, (_, i) => queue(`bulk-${String(i).padStart(3, "0")}`, queueSettings()));
    h = await startHarness(fakeNamespace("paging", many, []));
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  test("an unbounded list is served in pages of 100 with a continuation token", async () => {
    const first = await h.client.listQueues().byPage().next();
    expect(first.done).toBe(false);
    const page = first.value as EntitiesResponse<QueueProperties>;
    expect(page.length).toBe(100);
    expect(page.continuationToken).toBe("100");
    const all = await collect(h.client.listQueuesRuntimeProperties());
    expect(all).toHaveLength(150);
    expect(all[149].name).toBe("bulk-149");
  });

  test("a continuation token resumes where it left off", async () => {
    const pages = h.client.listQueues().byPage({ continuationToken: "140", maxPageSize: 5 });
    const names: string[] = [];
    for await (const page of pages) names.push(...page.map((q) => q.name));
    expect(names).toEqual(Array.from({ length: 10 }, (_, i) => `bulk-${140 + i}`));
  });
});

describe("management endpoint when the store throws", () => {
  let h: Harness;
  beforeAll(async () => {
    const broken = fakeNamespace("broken", [], []);
    broken.queues = () => {
      throw new Error("store exploded");
    };
    h = await startHarness(broken);
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  test("answers 500 with an XML error, logs the cause, and keeps serving", async () => {
    const res = await rawRequest(h, "GET", "/$Resources/Queues?api-version=2021-05");
    expect(res.status).toBe(500);
    expect(res.body).toContain("<Error><Code>500</Code>");
    expect(h.logLines.some((l) => l.includes("store exploded"))).toBe(true);
    expect((await h.client.getNamespaceProperties()).name).toBe("broken");
  });
});

describe("formatDuration", () => {
  test.each([
    [0, "PT0S"],
    [1, "PT0.001S"],
    [1500, "PT1.5S"],
    [30_000, "PT30S"],
    [60_000, "PT1M"],
    [3_600_000, "PT1H"],
    [5_400_000, "PT1H30M"],
    [14 * DAY, "P14D"],
    [DAY + 1000, "P1DT1S"],
    [Number.POSITIVE_INFINITY, MAX_TIMESPAN],
    [Number.MAX_SAFE_INTEGER, MAX_TIMESPAN],
    [-5, "PT0S"],
    [Number.NaN, "PT0S"],
  ])("%d ms -> %s", (ms, iso) => {
    expect(formatDuration(ms)).toBe(iso);
  });
});
