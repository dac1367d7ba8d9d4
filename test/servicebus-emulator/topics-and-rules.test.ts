/**
 * Topic fan-out, subscription rules (correlation and SQL filters, SQL actions), the
 * ServiceBusRuleManager and ForwardTo, driven only through the public @azure/service-bus API
 * (pinned: 7.9.5) against the emulator. Each test owns its topic (or subscription), so no test
 * sees another's messages.
 */
import { inspect } from "node:util";
import { isServiceBusError, type ServiceBusMessage, type ServiceBusReceivedMessage, type ServiceBusReceiver, type ServiceBusSender, type RuleProperties } from "@azure/service-bus";
import { EmulatorStartError, startServiceBusEmulator } from "../../local/servicebus-emulator";
import { emulatorConfig, startHarness, type EmulatorHarness } from "./harness";

// ---------------------------------------------------------------- configuration

const sqlRule = (name: string, sqlExpression: string, action?: string): unknown => ({
  Name: name,
  Properties: { FilterType: "Sql", SqlFilter: { SqlExpression: sqlExpression }, ...(action ? { Action: { SqlExpression: action } } : {}) },
});
const correlationRule = (name: string, correlation: Record<string, unknown>): unknown => ({
  Name: name,
  Properties: { FilterType: "Correlation", CorrelationFilter: correlation },
});
/** A subscription with a single SQL rule named after it. */
const sqlSub = (name: string, sqlExpression: string): { name: string; rules: unknown[] } => ({ name, rules: [sqlRule(`${name}-rule`, sqlExpression)] });
const corrSub = (name: string, correlation: Record<string, unknown>): { name: string; rules: unknown[] } => ({
  name,
  rules: [correlationRule(`${name}-rule`, correlation)],
});

const FANOUT = {
  name: "fanout",
  subscriptions: [
    { name: "all" }, // no Rules: $Default (true filter)
    corrSub("red", { Label: "red" }),
    sqlSub("blue", "color = 'blue'"),
    { name: "red-or-blue", rules: [correlationRule("by-label", { Label: "red" }), sqlRule("by-color", "color = 'blue'")] },
  ],
};

const CORRELATION = {
  name: "correlation",
  subscriptions: [
    corrSub("c-correlation-id", { CorrelationId: "cid-1" }),
    corrSub("c-message-id", { MessageId: "mid-special-1" }),
    corrSub("c-to", { To: "to-1" }),
    corrSub("c-reply-to", { ReplyTo: "rt-1" }),
    corrSub("c-label", { Label: "label-1" }),
    corrSub("c-session-id", { SessionId: "sid-1" }),
    corrSub("c-reply-to-session-id", { ReplyToSessionId: "rtsid-1" }),
    corrSub("c-content-type", { ContentType: "application/x-corr" }),
    corrSub("c-properties", { Properties: { region: "eu", tier: 3, vip: true } }),
    corrSub("c-label-and-property", { Label: "label-1", Properties: { region: "eu" } }),
  ],
};

const SQL_SYSTEM = {
  name: "sql-system",
  subscriptions: [
    sqlSub("s-label", "sys.Label = 'invoice'"),
    sqlSub("s-message-id", "sys.MessageId = 'sys-mid-42'"),
    sqlSub("s-correlation-id", "sys.CorrelationId = 'corr-7'"),
    sqlSub("s-content-type", "sys.ContentType = 'application/json'"),
    sqlSub("s-to", "sys.To = 'dest-a'"),
    sqlSub("s-reply-to", "sys.ReplyTo LIKE 'reply-%'"),
    sqlSub("s-session-id", "sys.SessionId = 'sess-9'"),
    sqlSub("s-reply-to-session-id", "sys.ReplyToSessionId = 'rts-1'"),
    sqlSub("s-label-not-invoice", "sys.Label <> 'invoice'"),
  ],
};

const SQL_COMPARISON = {
  name: "sql-comparison",
  subscriptions: [
    sqlSub("q-eq", "qty = 10"),
    sqlSub("q-ne", "qty <> 10"),
    sqlSub("q-lt", "qty < 10"),
    sqlSub("q-le", "qty <= 10"),
    sqlSub("q-gt", "qty > 10"),
    sqlSub("q-ge", "qty >= 10"),
    sqlSub("q-decimal", "price >= 9.5"),
    sqlSub("q-quoted-string", "name = 'it''s'"),
    sqlSub("q-string-order", "name < 'b'"),
    sqlSub("q-negative", "delta = -3"),
  ],
};

const SQL_LOGIC = {
  name: "sql-logic",
  subscriptions: [
    sqlSub("l-and", "color = 'red' AND size > 2"),
    sqlSub("l-or", "color = 'red' OR size > 2"),
    sqlSub("l-not", "NOT (color = 'red')"),
    sqlSub("l-in", "color IN ('red', 'green')"),
    sqlSub("l-not-in", "color NOT IN ('red', 'green')"),
    sqlSub("l-like-percent", "name LIKE 'ord%'"),
    sqlSub("l-like-underscore", "code LIKE 'A_C'"),
    sqlSub("l-not-like", "name NOT LIKE 'ord%'"),
    sqlSub("l-is-null", "color IS NULL"),
    sqlSub("l-is-not-null", "color IS NOT NULL"),
    sqlSub("l-exists", "EXISTS(size)"),
    sqlSub("l-not-exists", "NOT EXISTS(size)"),
    sqlSub("l-nested", "(color = 'red' OR color = 'blue') AND NOT size < 2"),
  ],
};

const ACTIONS = {
  name: "actions",
  subscriptions: [{ name: "a-plain" }, { name: "a-stamped", rules: [sqlRule("stamp-red", "color = 'red'", "SET sys.Label = 'stamped'; SET route = 'b'; SET qty = qty + 1; REMOVE secret")] }],
};

const NO_MATCH = {
  name: "no-match",
  subscriptions: [corrSub("only-a", { Label: "a" }), sqlSub("only-x1", "x = 1")],
};

// One topic per rule-manager test: a subscription keeps $Default until the test removes it,
// so a shared topic would leak one test's messages into another's subscription.
const MANAGED = { name: "managed", subscriptions: [{ name: "rm-lifecycle" }] };
const MANAGED_CORRELATION = { name: "managed-correlation", subscriptions: [{ name: "rm-correlation" }] };
const MANAGED_ERRORS = { name: "managed-errors", subscriptions: [{ name: "rm-errors" }] };

const FORWARDING = {
  name: "forwarding",
  subscriptions: [{ name: "fwd-sub", properties: { ForwardTo: "fwd-target" } }, { name: "fwd-keep" }],
};

const CONFIG = emulatorConfig({
  queues: [{ name: "fwd-target" }],
  topics: [FANOUT, CORRELATION, SQL_SYSTEM, SQL_COMPARISON, SQL_LOGIC, ACTIONS, NO_MATCH, MANAGED, MANAGED_CORRELATION, MANAGED_ERRORS, FORWARDING],
});

// ---------------------------------------------------------------- harness

let harness: EmulatorHarness;
const senders: ServiceBusSender[] = [];
const receivers: ServiceBusReceiver[] = [];

beforeAll(async () => {
  harness = await startHarness(CONFIG);
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
  for (const sender of senders) await sender.close();
  await harness?.close();
});

const DRAIN_WAIT_MS = 400;

function sender(entity: string): ServiceBusSender {
  const s = harness.client.createSender(entity);
  senders.push(s);
  return s;
}

/** Everything a subscription (or queue) holds, removed: one receive-and-delete batch. */
async function drain(topicOrQueue: string, subscription?: string): Promise<ServiceBusReceivedMessage[]> {
  const receiver =
    subscription === undefined
      ? harness.client.createReceiver(topicOrQueue, { receiveMode: "receiveAndDelete" })
      : harness.client.createReceiver(topicOrQueue, subscription, { receiveMode: "receiveAndDelete" });
  receivers.push(receiver);
  try {
    return await receiver.receiveMessages(100, { maxWaitTimeInMs: DRAIN_WAIT_MS });
  } finally {
    await receiver.close();
  }
}

/** Drains every subscription of a topic in parallel; returns subscription → sorted message ids. */
async function drainAll(topic: { name: string; subscriptions: Array<{ name: string }> }): Promise<Record<string, string[]>> {
  const entries = await Promise.all(topic.subscriptions.map(async (sub) => [sub.name, (await drain(topic.name, sub.name)).map((m) => String(m.messageId)).sort()] as const));
  return Object.fromEntries(entries);
}

/** Sends messages with the given ids (each id is also the messageId unless the message sets one). */
async function send(topic: string, messages: ServiceBusMessage[]): Promise<void> {
  await sender(topic).sendMessages(messages);
}

async function expectServiceBusError(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) throw new Error("expected the operation to fail, but it succeeded");
  if (!isServiceBusError(thrown)) throw new Error(`expected a ServiceBusError, got: ${inspect(thrown)}`);
  return { code: thrown.code, message: thrown.message };
}

async function listRules(topic: string, subscription: string): Promise<RuleProperties[]> {
  const manager = harness.client.createRuleManager(topic, subscription);
  const rules: RuleProperties[] = [];
  for await (const rule of manager.listRules()) rules.push(rule);
  return rules;
}

// ---------------------------------------------------------------- fan-out

describe("topic fan-out", () => {
  it("copies a message to every subscription with a matching rule, $Default taking everything, once per subscription", async () => {
    await send(FANOUT.name, [
      { messageId: "f1-red", body: 1, subject: "red" },
      { messageId: "f2-blue", body: 2, applicationProperties: { color: "blue" } },
      { messageId: "f3-both", body: 3, subject: "red", applicationProperties: { color: "blue" } },
      { messageId: "f4-green", body: 4, subject: "green", applicationProperties: { color: "green" } },
    ]);
    expect(await drainAll(FANOUT)).toEqual({
      all: ["f1-red", "f2-blue", "f3-both", "f4-green"],
      red: ["f1-red", "f3-both"],
      blue: ["f2-blue", "f3-both"],
      // Two rules match f3, but a subscription takes one copy when no rule has an action.
      "red-or-blue": ["f1-red", "f2-blue", "f3-both"],
    });
  });

  it("delivers a message matching no subscription nowhere, and the send still succeeds", async () => {
    await send(NO_MATCH.name, [
      { messageId: "n1-nothing", body: "x", subject: "c", applicationProperties: { x: 2 } },
      { messageId: "n2-a", body: "y", subject: "a" },
    ]);
    expect(await drainAll(NO_MATCH)).toEqual({ "only-a": ["n2-a"], "only-x1": [] });
  });

  it("forwards a subscription's messages to its ForwardTo queue", async () => {
    await send(FORWARDING.name, [{ messageId: "fw-1", body: { n: 1 } }]);
    const [queued, forwardingSub, keep] = await Promise.all([drain("fwd-target"), drain(FORWARDING.name, "fwd-sub"), drain(FORWARDING.name, "fwd-keep")]);
    expect(queued.map((m) => m.messageId)).toEqual(["fw-1"]);
    expect(queued[0].body).toEqual({ n: 1 });
    expect(forwardingSub).toEqual([]);
    expect(keep.map((m) => m.messageId)).toEqual(["fw-1"]);
  });
});

// ---------------------------------------------------------------- correlation filters

describe("correlation filters from the config", () => {
  it("match on each broker property and on application properties, and not on other values", async () => {
    await send(CORRELATION.name, [
      { messageId: "a1", body: 0, correlationId: "cid-1" },
      { messageId: "a1x", body: 0, correlationId: "cid-2" },
      { messageId: "mid-special-1", body: 0 },
      { messageId: "mid-special-2", body: 0 },
      { messageId: "a3", body: 0, to: "to-1" },
      { messageId: "a3x", body: 0, to: "to-2" },
      { messageId: "a4", body: 0, replyTo: "rt-1" },
      { messageId: "a4x", body: 0, replyTo: "rt-2" },
      { messageId: "a5", body: 0, subject: "label-1" },
      { messageId: "a5x", body: 0, subject: "label-2" },
      { messageId: "a6", body: 0, sessionId: "sid-1" },
      { messageId: "a6x", body: 0, sessionId: "sid-2" },
      { messageId: "a7", body: 0, replyToSessionId: "rtsid-1" },
      { messageId: "a7x", body: 0, replyToSessionId: "rtsid-2" },
      { messageId: "a8", body: 0, contentType: "application/x-corr" },
      { messageId: "a8x", body: 0, contentType: "text/plain" },
      { messageId: "a9", body: 0, applicationProperties: { region: "eu", tier: 3, vip: true } },
      { messageId: "a9x-tier", body: 0, applicationProperties: { region: "eu", tier: 4, vip: true } },
      { messageId: "a9x-missing", body: 0, applicationProperties: { region: "eu", tier: 3 } },
      { messageId: "a10", body: 0, subject: "label-1", applicationProperties: { region: "eu" } },
      { messageId: "a10x", body: 0, subject: "label-1", applicationProperties: { region: "us" } },
    ]);
    expect(await drainAll(CORRELATION)).toEqual({
      "c-correlation-id": ["a1"],
      "c-message-id": ["mid-special-1"],
      "c-to": ["a3"],
      "c-reply-to": ["a4"],
      "c-label": ["a10", "a10x", "a5"],
      "c-session-id": ["a6"],
      "c-reply-to-session-id": ["a7"],
      "c-content-type": ["a8"],
      "c-properties": ["a9"],
      "c-label-and-property": ["a10"],
    });
  });
});

// ---------------------------------------------------------------- SQL filters

describe("SQL filters from the config", () => {
  it("test broker properties through sys.*", async () => {
    await send(SQL_SYSTEM.name, [
      { messageId: "b1", body: 0, subject: "invoice" },
      { messageId: "sys-mid-42", body: 0 },
      { messageId: "b3", body: 0, correlationId: "corr-7", contentType: "application/json" },
      { messageId: "b4", body: 0, to: "dest-a", replyTo: "reply-x" },
      { messageId: "b5", body: 0, sessionId: "sess-9", replyToSessionId: "rts-1", subject: "receipt" },
      { messageId: "b6", body: 0, replyTo: "noreply", to: "dest-b", correlationId: "corr-8", contentType: "text/plain" },
    ]);
    expect(await drainAll(SQL_SYSTEM)).toEqual({
      "s-label": ["b1"],
      "s-message-id": ["sys-mid-42"],
      "s-correlation-id": ["b3"],
      "s-content-type": ["b3"],
      "s-to": ["b4"],
      "s-reply-to": ["b4"],
      "s-session-id": ["b5"],
      "s-reply-to-session-id": ["b5"],
      // Messages without a Label make the comparison unknown, which is not a match.
      "s-label-not-invoice": ["b5"],
    });
  });

  it("compare application properties with = <> < <= > >= over numeric and string literals", async () => {
    await send(SQL_COMPARISON.name, [
      { messageId: "c1", body: 0, applicationProperties: { qty: 5, price: 9.49, name: "apple", delta: -3 } },
      { messageId: "c2", body: 0, applicationProperties: { qty: 10, price: 9.5, name: "it's" } },
      { messageId: "c3", body: 0, applicationProperties: { qty: 15, price: 20, name: "zebra", delta: 3 } },
      { messageId: "c4", body: 0, applicationProperties: { name: "banana" } },
    ]);
    expect(await drainAll(SQL_COMPARISON)).toEqual({
      "q-eq": ["c2"],
      "q-ne": ["c1", "c3"], // c4 has no qty: unknown, not a match
      "q-lt": ["c1"],
      "q-le": ["c1", "c2"],
      "q-gt": ["c3"],
      "q-ge": ["c2", "c3"],
      "q-decimal": ["c2", "c3"],
      "q-quoted-string": ["c2"],
      "q-string-order": ["c1"],
      "q-negative": ["c1"],
    });
  });

  it("combine with AND, OR, NOT, IN, LIKE, IS [NOT] NULL and EXISTS under three-valued logic", async () => {
    await send(SQL_LOGIC.name, [
      { messageId: "d1", body: 0, applicationProperties: { color: "red", size: 3, name: "order-1", code: "ABC" } },
      { messageId: "d2", body: 0, applicationProperties: { color: "red", size: 1, name: "ord", code: "AC" } },
      { messageId: "d3", body: 0, applicationProperties: { color: "green", size: 5, name: "xorder", code: "AXC" } },
      { messageId: "d4", body: 0, applicationProperties: { color: "blue", name: "report", code: "ABBC" } },
      { messageId: "d5", body: 0, applicationProperties: { size: 2, code: "AB" } },
    ]);
    expect(await drainAll(SQL_LOGIC)).toEqual({
      "l-and": ["d1"],
      "l-or": ["d1", "d2", "d3"],
      "l-not": ["d3", "d4"],
      "l-in": ["d1", "d2", "d3"],
      "l-not-in": ["d4"],
      "l-like-percent": ["d1", "d2"],
      "l-like-underscore": ["d1", "d3"],
      "l-not-like": ["d3", "d4"],
      "l-is-null": ["d5"],
      "l-is-not-null": ["d1", "d2", "d3", "d4"],
      "l-exists": ["d1", "d2", "d3", "d5"],
      "l-not-exists": ["d4"],
      "l-nested": ["d1"],
    });
  });

  it("a SQL rule action (SET/REMOVE) changes only that subscription's copy", async () => {
    await send(ACTIONS.name, [
      { messageId: "e1", body: "payload", subject: "orig", applicationProperties: { color: "red", qty: 1, secret: "s" } },
      { messageId: "e2", body: "other", subject: "orig", applicationProperties: { color: "blue", qty: 1 } },
    ]);
    const [plain, stamped] = await Promise.all([drain(ACTIONS.name, "a-plain"), drain(ACTIONS.name, "a-stamped")]);
    const byId = (messages: ServiceBusReceivedMessage[]) => Object.fromEntries(messages.map((m) => [String(m.messageId), m]));

    const plainById = byId(plain);
    expect(Object.keys(plainById).sort()).toEqual(["e1", "e2"]);
    expect(plainById.e1.subject).toBe("orig");
    expect(plainById.e1.applicationProperties).toEqual({ color: "red", qty: 1, secret: "s" });
    expect(plainById.e1.body).toBe("payload");

    expect(stamped.map((m) => m.messageId)).toEqual(["e1"]);
    expect(stamped[0].subject).toBe("stamped");
    expect(stamped[0].applicationProperties).toEqual({ color: "red", qty: 2, route: "b" });
    expect(stamped[0].body).toBe("payload");
  });
});

// ---------------------------------------------------------------- rule manager

describe("ServiceBusRuleManager", () => {
  it("lists, creates and deletes rules, and routing follows", async () => {
    const topic = MANAGED.name;
    const sub = "rm-lifecycle";
    const manager = harness.client.createRuleManager(topic, sub);

    expect(await listRules(topic, sub)).toEqual([{ name: "$Default", filter: { sqlExpression: "1=1" }, action: {} }]);

    await manager.createRule("sql-red", { sqlExpression: "color = 'red'" });
    await manager.createRule("corr-blue", { subject: "blue", applicationProperties: { k: "v", n: 7 } });
    await manager.createRule("green-stamp", { sqlExpression: "color = 'green'" }, { sqlExpression: "SET sys.Label = 'g'" });
    await manager.deleteRule("$Default");

    // Listed by name (as the service does), not in creation order.
    const rules = await listRules(topic, sub);
    expect(rules.map((r) => r.name)).toEqual(["corr-blue", "green-stamp", "sql-red"]);
    // Unset correlation fields travel as AMQP nulls, which the SDK hands back as null.
    expect(rules[0]).toEqual({
      name: "corr-blue",
      filter: {
        correlationId: null,
        messageId: null,
        to: null,
        replyTo: null,
        subject: "blue",
        sessionId: null,
        replyToSessionId: null,
        contentType: null,
        applicationProperties: { k: "v", n: 7 },
      },
      action: {},
    });
    expect(rules[1]).toEqual({ name: "green-stamp", filter: { sqlExpression: "color = 'green'" }, action: { sqlExpression: "SET sys.Label = 'g'" } });
    expect(rules[2]).toEqual({ name: "sql-red", filter: { sqlExpression: "color = 'red'" }, action: {} });

    await send(topic, [
      { messageId: "r-red", body: 0, applicationProperties: { color: "red" } },
      { messageId: "r-blue-kv", body: 0, subject: "blue", applicationProperties: { k: "v", n: 7 } },
      { messageId: "r-blue-no-kv", body: 0, subject: "blue", applicationProperties: { k: "w", n: 7 } },
      { messageId: "r-green", body: 0, applicationProperties: { color: "green" } },
      { messageId: "r-yellow", body: 0, applicationProperties: { color: "yellow" } },
    ]);
    const first = await drain(topic, sub);
    expect(first.map((m) => String(m.messageId)).sort()).toEqual(["r-blue-kv", "r-green", "r-red"]);
    expect(first.find((m) => m.messageId === "r-green")?.subject).toBe("g");

    await manager.deleteRule("sql-red");
    expect((await listRules(topic, sub)).map((r) => r.name)).toEqual(["corr-blue", "green-stamp"]);
    await send(topic, [
      { messageId: "r-red-2", body: 0, applicationProperties: { color: "red" } },
      { messageId: "r-green-2", body: 0, applicationProperties: { color: "green" } },
    ]);
    expect((await drain(topic, sub)).map((m) => m.messageId)).toEqual(["r-green-2"]);
  });

  it("lists a correlation rule created from the SDK with each field it set", async () => {
    const topic = MANAGED_CORRELATION.name;
    const sub = "rm-correlation";
    const manager = harness.client.createRuleManager(topic, sub);
    await manager.deleteRule("$Default");
    const filter = {
      correlationId: "c",
      messageId: "m",
      to: "t",
      replyTo: "r",
      subject: "s",
      sessionId: "sid",
      replyToSessionId: "rsid",
      contentType: "ct",
      applicationProperties: { p: "q", when: new Date("2000-01-01T00:00:00Z"), on: true },
    };
    await manager.createRule("all-fields", filter);
    expect(await listRules(topic, sub)).toEqual([{ name: "all-fields", filter, action: {} }]);

    await send(topic, [
      { ...filter, body: 0 },
      { ...filter, messageId: "m2", body: 0 },
      { ...filter, messageId: "m", contentType: "other", body: 0 },
    ]);
    const received = await drain(topic, sub);
    expect(received.map((m) => [m.messageId, m.contentType])).toEqual([["m", "ct"]]);
  });

  it("refuses invalid SQL, duplicate names and deleting unknown rules with the service's errors", async () => {
    const topic = MANAGED_ERRORS.name;
    const sub = "rm-errors";
    const manager = harness.client.createRuleManager(topic, sub);

    const badFilter = await expectServiceBusError(manager.createRule("bad-sql", { sqlExpression: "color = = 'red'" }));
    expect(badFilter.message).toMatch(/Invalid SQL filter at line 1, column \d+/);
    expect(badFilter.message).toContain("bad-sql");

    const badAction = await expectServiceBusError(manager.createRule("bad-action", { sqlExpression: "1=1" }, { sqlExpression: "SET sys.SequenceNumber = 1" }));
    expect(badAction.message).toMatch(/Invalid SQL action/);
    expect(badAction.message).toContain("sys.SequenceNumber");

    await manager.createRule("dup", { sqlExpression: "1=1" });
    const duplicate = await expectServiceBusError(manager.createRule("dup", { sqlExpression: "a = 1" }));
    expect(duplicate.code).toBe("MessagingEntityAlreadyExists");
    expect(duplicate.message).toMatch(/The messaging entity '.*dup' already exists/);
    const duplicateDefault = await expectServiceBusError(manager.createRule("$default", { sqlExpression: "a = 1" }));
    expect(duplicateDefault.code).toBe("MessagingEntityAlreadyExists");

    const missing = await expectServiceBusError(manager.deleteRule("no-such-rule"));
    expect(missing.code).toBe("MessagingEntityNotFound");

    // None of the failed creations left a rule behind.
    expect((await listRules(topic, sub)).map((r) => r.name)).toEqual(["$Default", "dup"]);
  });
});

// ---------------------------------------------------------------- config validation

describe("invalid rules in the config", () => {
  const withRule = (rule: unknown): unknown => emulatorConfig({ topics: [{ name: "t", subscriptions: [{ name: "s" }, { name: "s2", rules: [sqlRule("fine", "1=1"), rule] }] }] });

  it("an invalid SQL filter makes startServiceBusEmulator reject, naming the config field", async () => {
    const start = startServiceBusEmulator({ config: withRule(sqlRule("broken", "color = = 'red'")) });
    await expect(start).rejects.toBeInstanceOf(EmulatorStartError);
    await expect(start).rejects.toMatchObject({ code: "InvalidConfig" });
    await expect(start).rejects.toThrow("Topics[0].Subscriptions[1].Rules[1].Properties.SqlFilter.SqlExpression");
    await expect(start).rejects.toThrow(/Invalid SQL filter at line 1, column \d+/);
  });

  it("an invalid SQL action makes startServiceBusEmulator reject, naming the config field", async () => {
    const start = startServiceBusEmulator({ config: withRule(sqlRule("broken", "1=1", "SET = 'x'")) });
    await expect(start).rejects.toMatchObject({ code: "InvalidConfig" });
    await expect(start).rejects.toThrow("Topics[0].Subscriptions[1].Rules[1].Properties.Action.SqlExpression");
  });
});
