/**
 * Session semantics (RequiresSession queues and subscriptions), driven only through the public
 * @azure/service-bus API (pinned: 7.9.5) against the emulator. Every entity's lock duration is
 * 1.5 s (fault injection) so lock expiry is observable; receivers that must not lose their
 * session keep the SDK's automatic session-lock renewal on. Each test owns its entities.
 */
import { inspect } from "node:util";
import {
  ServiceBusClient,
  isServiceBusError,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
  type ServiceBusSender,
  type ServiceBusSessionReceiver,
  type ServiceBusSessionReceiverOptions,
} from "@azure/service-bus";
import { delay, emulatorConfig, startHarness, type EmulatorHarness } from "./harness";

const LOCK_MS = 1500;
const SESSION = { RequiresSession: true };

const QUEUES = ["s-order", "s-next", "s-locked", "s-empty", "s-state", "s-renew", "s-expiry", "s-no-session-id", "s-plain-receiver", "s-settle", "s-compete", "s-long-work", "s-abandoned-accept"];

const CONFIG = emulatorConfig({
  queues: QUEUES.map((name) => ({ name, properties: SESSION })),
  topics: [{ name: "s-topic", subscriptions: [{ name: "s-sub", properties: SESSION }] }],
});

let harness: EmulatorHarness;
const receivers: ServiceBusReceiver[] = [];
const senders: ServiceBusSender[] = [];
const extraClients: ServiceBusClient[] = [];

beforeAll(async () => {
  harness = await startHarness(CONFIG, { faults: { lockDurationInMs: LOCK_MS } });
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
  for (const sender of senders) await sender.close();
  for (const client of extraClients) await client.close();
  await harness?.close();
});

function track<T extends ServiceBusReceiver>(receiver: T): T {
  receivers.push(receiver);
  return receiver;
}

async function send(entity: string, messages: Array<{ id: string; sessionId: string; body?: unknown }>): Promise<void> {
  const sender = harness.client.createSender(entity);
  senders.push(sender);
  await sender.sendMessages(messages.map((m) => ({ messageId: m.id, sessionId: m.sessionId, body: m.body ?? m.id })));
}

function accept(entity: string, sessionId: string, options: ServiceBusSessionReceiverOptions = {}): Promise<ServiceBusSessionReceiver> {
  return harness.client.acceptSession(entity, sessionId, options).then(track);
}

async function receiveAll(receiver: ServiceBusReceiver, waitMs = 500): Promise<ServiceBusReceivedMessage[]> {
  return receiver.receiveMessages(50, { maxWaitTimeInMs: waitMs });
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
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

const ids = (messages: ServiceBusReceivedMessage[]): string[] => messages.map((m) => String(m.messageId));

describe("accepting sessions", () => {
  it.each([
    ["queue", "s-order", undefined],
    ["subscription", "s-topic", "s-sub"],
  ] as const)("acceptSession on a %s receives only that session's messages, in order", async (_kind, entity, subscription) => {
    await send(entity, [
      { id: `${entity}-a1`, sessionId: "A" },
      { id: `${entity}-b1`, sessionId: "B" },
      { id: `${entity}-a2`, sessionId: "A" },
      { id: `${entity}-b2`, sessionId: "B" },
      { id: `${entity}-a3`, sessionId: "A" },
    ]);
    const receiverA = track(subscription === undefined ? await harness.client.acceptSession(entity, "A") : await harness.client.acceptSession(entity, subscription, "A"));
    expect(receiverA.sessionId).toBe("A");
    const fromA = await receiveAll(receiverA);
    expect(ids(fromA)).toEqual([`${entity}-a1`, `${entity}-a2`, `${entity}-a3`]);
    expect(fromA.every((m) => m.sessionId === "A")).toBe(true);
    for (const m of fromA) await receiverA.completeMessage(m);

    const receiverB = track(subscription === undefined ? await harness.client.acceptSession(entity, "B") : await harness.client.acceptSession(entity, subscription, "B"));
    expect(ids(await receiveAll(receiverB))).toEqual([`${entity}-b1`, `${entity}-b2`]);
  });

  it("acceptNextSession picks a session that has messages and reports its id", async () => {
    await send("s-next", [{ id: "next-1", sessionId: "the-one" }]);
    const receiver = track(await harness.client.acceptNextSession("s-next"));
    expect(receiver.sessionId).toBe("the-one");
    expect(receiver.sessionLockedUntilUtc.getTime()).toBeGreaterThan(Date.now());
    expect(ids(await receiveAll(receiver))).toEqual(["next-1"]);
  });

  it("a second acceptSession on a locked session fails with SessionCannotBeLocked", async () => {
    await send("s-locked", [{ id: "locked-1", sessionId: "L" }]);
    const first = await accept("s-locked", "L");
    const error = await failure(harness.client.acceptSession("s-locked", "L"));
    expect(error.code).toBe("SessionCannotBeLocked");
    // The first receiver still owns the session.
    expect(ids(await receiveAll(first))).toEqual(["locked-1"]);
  });

  it("acceptNextSession with no session available fails after its timeout with ServiceTimeout", async () => {
    const client = new ServiceBusClient(harness.emulator.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 2000 } });
    extraClients.push(client);
    const started = Date.now();
    const error = await failure(client.acceptNextSession("s-empty"));
    const elapsed = Date.now() - started;
    expect(error.code).toBe("ServiceTimeout");
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(8000);
  });

  it("competing acceptNextSession callers get different sessions", async () => {
    await send("s-compete", [
      { id: "c-1", sessionId: "c1" },
      { id: "c-2", sessionId: "c2" },
      { id: "c-3", sessionId: "c3" },
    ]);
    const accepted = await Promise.all([0, 1, 2].map(() => harness.client.acceptNextSession("s-compete").then(track)));
    expect(accepted.map((r) => r.sessionId).sort()).toEqual(["c1", "c2", "c3"]);
    const received = await Promise.all(accepted.map((r) => receiveAll(r)));
    received.forEach((messages, i) => expect(messages.map((m) => m.sessionId)).toEqual([accepted[i].sessionId]));
  });
});

describe("session misuse", () => {
  it("sending a message without a sessionId to a session queue fails", async () => {
    const sender = harness.client.createSender("s-no-session-id");
    senders.push(sender);
    const error = await failure(sender.sendMessages({ messageId: "no-sid", body: "x" }));
    // Recorded: the SDK reports amqp:not-allowed (the service's InvalidOperationException) as GeneralError.
    expect(error.code).toBe("GeneralError");
    expect(error.message).toMatch(/SessionId was not set/);
    // Nothing was stored: a session receiver finds no session.
    const quick = new ServiceBusClient(harness.emulator.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 1000 } });
    extraClients.push(quick);
    expect((await failure(quick.acceptNextSession("s-no-session-id"))).code).toBe("ServiceTimeout");
  });

  it("a non-session receiver on a session queue fails", async () => {
    await send("s-plain-receiver", [{ id: "plain-1", sessionId: "P" }]);
    const receiver = track(harness.client.createReceiver("s-plain-receiver"));
    const error = await failure(receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 }));
    expect(error.message).toMatch(/requires sessions|session/i);
    // The message is still there for a session receiver.
    const sessionReceiver = await accept("s-plain-receiver", "P");
    expect(ids(await receiveAll(sessionReceiver))).toEqual(["plain-1"]);
  });
});

describe("session state and locks", () => {
  it("session state round-trips strings and JSON objects and survives the receiver", async () => {
    await send("s-state", [{ id: "state-1", sessionId: "S" }]);
    const first = await accept("s-state", "S");
    expect(await first.getSessionState()).toBeFalsy();
    await first.setSessionState("step-1");
    expect(await first.getSessionState()).toBe("step-1");
    await first.setSessionState({ step: 2, items: ["a", "b"], nested: { ok: true } });
    expect(await first.getSessionState()).toEqual({ step: 2, items: ["a", "b"], nested: { ok: true } });
    await first.close();

    const second = await accept("s-state", "S");
    expect(await second.getSessionState()).toEqual({ step: 2, items: ["a", "b"], nested: { ok: true } });
    // Complete the only message: the state stays with the (now empty) session.
    for (const m of await receiveAll(second)) await second.completeMessage(m);
    await second.close();
    const third = await accept("s-state", "S");
    expect(await third.getSessionState()).toEqual({ step: 2, items: ["a", "b"], nested: { ok: true } });
  });

  it("renewSessionLock extends sessionLockedUntilUtc", async () => {
    await send("s-renew", [{ id: "renew-1", sessionId: "R" }]);
    const receiver = await accept("s-renew", "R", { maxAutoLockRenewalDurationInMs: 0 });
    const before = receiver.sessionLockedUntilUtc.getTime();
    expect(before).toBeGreaterThan(Date.now());
    expect(before).toBeLessThanOrEqual(Date.now() + LOCK_MS + 100);
    await delay(400);
    const renewed = await receiver.renewSessionLock();
    expect(renewed.getTime()).toBeGreaterThan(before + 200);
    expect(receiver.sessionLockedUntilUtc.getTime()).toBe(renewed.getTime());
    // Past the original expiry the session is still ours (session operations need the lock).
    await delay(Math.max(0, before - Date.now()) + 200);
    expect(Date.now()).toBeLessThan(renewed.getTime());
    await expect(receiver.getSessionState()).resolves.toBeFalsy();
    // And once the renewed lock has expired too, it is not.
    await delay(Math.max(0, renewed.getTime() - Date.now()) + 100);
    await expect(receiver.getSessionState()).rejects.toMatchObject({ code: "SessionLockLost" });
  });

  it("an expired session lock frees the session for another receiver and redelivers its messages", async () => {
    await send("s-expiry", [{ id: "exp-1", sessionId: "E" }]);
    const first = await accept("s-expiry", "E", { maxAutoLockRenewalDurationInMs: 0 });
    const held = await receiveAll(first);
    expect(ids(held)).toEqual(["exp-1"]);
    expect(held[0].deliveryCount).toBe(0);
    expect((await failure(harness.client.acceptSession("s-expiry", "E"))).code).toBe("SessionCannotBeLocked");

    await delay(LOCK_MS + 500);
    const second = await accept("s-expiry", "E");
    const again = await receiveAll(second);
    expect(ids(again)).toEqual(["exp-1"]);
    expect(again[0].deliveryCount).toBe(1);
    // The first receiver lost its session: settling through it fails.
    const lost = await failure(first.completeMessage(held[0]));
    expect(lost.code).toBe("SessionLockLost");
    await second.completeMessage(again[0]);
  });

  it("messages received in a session stay locked while the session lock is renewed", async () => {
    await send("s-long-work", [{ id: "long-1", sessionId: "W" }]);
    const receiver = await accept("s-long-work", "W"); // automatic session-lock renewal on
    const [message] = await receiveAll(receiver);
    expect(message.messageId).toBe("long-1");
    await delay(LOCK_MS * 2);
    await receiver.completeMessage(message);
    expect(await receiveAll(receiver, 300)).toEqual([]);
  });
});

describe("settlement within a session", () => {
  it("complete, abandon, defer and receiveDeferredMessages", async () => {
    await send("s-settle", [
      { id: "st-1", sessionId: "T" },
      { id: "st-2", sessionId: "T" },
      { id: "st-3", sessionId: "T" },
      { id: "other-1", sessionId: "U" },
    ]);
    const receiver = await accept("s-settle", "T");
    const [m1, m2, m3, ...rest] = await receiveAll(receiver);
    expect(rest).toEqual([]);
    expect(ids([m1, m2, m3])).toEqual(["st-1", "st-2", "st-3"]);

    await receiver.completeMessage(m1);
    await receiver.abandonMessage(m2);
    await receiver.deferMessage(m3);

    const redelivered = await receiveAll(receiver);
    expect(ids(redelivered)).toEqual(["st-2"]);
    expect(redelivered[0].deliveryCount).toBe(1);
    await receiver.completeMessage(redelivered[0]);

    const deferred = await receiver.receiveDeferredMessages([m3.sequenceNumber!]);
    expect(ids(deferred)).toEqual(["st-3"]);
    expect(deferred[0].sessionId).toBe("T");
    await receiver.completeMessage(deferred[0]);
    await expect(receiver.receiveDeferredMessages([m3.sequenceNumber!])).rejects.toMatchObject({ code: "MessageNotFound" });

    expect(await receiver.peekMessages(10)).toEqual([]);
    // The other session was untouched.
    const other = await accept("s-settle", "U");
    expect(ids(await receiveAll(other))).toEqual(["other-1"]);
  });
});

// Last in the file: it cuts every client connection (the SDK reconnects on next use).
describe("a waiting acceptNextSession whose connection drops", () => {
  it("does not take a session that arrives later", async () => {
    const leaving = new ServiceBusClient(harness.emulator.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
    extraClients.push(leaving);
    const pending = leaving.acceptNextSession("s-abandoned-accept").then(
      () => "accepted",
      () => "failed",
    );
    await delay(300); // the emulator now holds the waiting link
    expect(harness.emulator.dropConnections()).toBeGreaterThan(0);
    expect(await pending).toBe("failed");

    await send("s-abandoned-accept", [{ id: "late-1", sessionId: "late" }]);
    // Well within the 1.5 s lock a departed waiter would have put on the session.
    const quick = new ServiceBusClient(harness.emulator.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 1000 } });
    extraClients.push(quick);
    const receiver = track(await quick.acceptNextSession("s-abandoned-accept"));
    expect(receiver.sessionId).toBe("late");
    expect(ids(await receiveAll(receiver))).toEqual(["late-1"]);
  });
});
