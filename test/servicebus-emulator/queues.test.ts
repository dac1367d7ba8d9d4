/**
 * Queue semantics of the Service Bus emulator, driven only through the public
 * @azure/service-bus API (pinned in package-lock.json; these tests are the contract).
 */
import { isServiceBusError, type ServiceBusReceivedMessage, type ServiceBusReceiver } from "@azure/service-bus";
import Long from "long";
import { delay, emulatorConfig, startHarness, type EmulatorHarness } from "./harness";

const LOCK_MS = 1500;

const config = emulatorConfig({
  queues: [
    { name: "basic" },
    { name: "settle" },
    { name: "defer" },
    { name: "dead" },
    { name: "lock", properties: { MaxDeliveryCount: 10 } },
    { name: "renew" },
    { name: "max-delivery", properties: { MaxDeliveryCount: 3 } },
    { name: "ttl-dlq", properties: { DeadLetteringOnMessageExpiration: true } },
    { name: "ttl-drop", properties: { DeadLetteringOnMessageExpiration: false } },
    { name: "dedupe", properties: { RequiresDuplicateDetection: true, DuplicateDetectionHistoryTimeWindow: "PT1M" } },
    { name: "schedule" },
    { name: "peek" },
    { name: "rnd" },
    { name: "compete" },
    { name: "size" },
    { name: "stream" },
    { name: "many" },
  ],
});

let harness: EmulatorHarness;

beforeAll(async () => {
  harness = await startHarness(config, { faults: { lockDurationInMs: LOCK_MS } });
});

afterAll(async () => {
  await harness?.close();
});

async function receiveAll(receiver: ServiceBusReceiver, expected: number, maxWaitTimeInMs = 2000): Promise<ServiceBusReceivedMessage[]> {
  const received: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + maxWaitTimeInMs * 2;
  while (received.length < expected && Date.now() < deadline) {
    received.push(...(await receiver.receiveMessages(expected - received.length, { maxWaitTimeInMs })));
  }
  return received;
}

async function expectServiceBusError(promise: Promise<unknown>, code: string): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeDefined();
  expect(isServiceBusError(caught)).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

describe("sending and receiving", () => {
  test("single sends, arrays and batches arrive in order with their properties", async () => {
    const sender = harness.client.createSender("basic");
    await sender.sendMessages({
      body: { n: 1 },
      messageId: "one",
      subject: "greeting",
      correlationId: "corr-1",
      contentType: "application/json",
      applicationProperties: { officer: "A123", count: 7, flag: true },
    });
    await sender.sendMessages([{ body: { n: 2 } }, { body: { n: 3 } }]);
    const batch = await sender.createMessageBatch();
    expect(batch.tryAddMessage({ body: { n: 4 } })).toBe(true);
    expect(batch.tryAddMessage({ body: { n: 5 } })).toBe(true);
    await sender.sendMessages(batch);
    await sender.close();

    const receiver = harness.client.createReceiver("basic");
    const messages = await receiveAll(receiver, 5);
    expect(messages.map((m) => (m.body as { n: number }).n)).toEqual([1, 2, 3, 4, 5]);
    const sequenceNumbers = messages.map((m) => (m.sequenceNumber as Long).toNumber());
    expect([...sequenceNumbers].sort((a, b) => a - b)).toEqual(sequenceNumbers);
    expect(new Set(sequenceNumbers).size).toBe(5);
    const first = messages[0];
    expect(first.messageId).toBe("one");
    expect(first.subject).toBe("greeting");
    expect(first.correlationId).toBe("corr-1");
    expect(first.contentType).toBe("application/json");
    expect(first.applicationProperties).toEqual({ officer: "A123", count: 7, flag: true });
    expect(first.deliveryCount).toBe(0);
    expect(first.enqueuedTimeUtc).toBeInstanceOf(Date);
    expect(first.lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now());
    // Messages sent without an id get one from the broker.
    expect(typeof messages[1].messageId).toBe("string");
    expect(messages[1].messageId).not.toBe("");
    for (const message of messages) await receiver.completeMessage(message);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toHaveLength(0);
    await receiver.close();
  });

  test("one peek-lock receiver takes thousands of messages (settled deliveries are released)", async () => {
    const total = 3000; // beyond rhea's 2,048 in-flight deliveries per session
    const sender = harness.client.createSender("many");
    for (let sent = 0; sent < total;) {
      const batch = await sender.createMessageBatch();
      while (sent < total && batch.tryAddMessage({ body: sent })) sent++;
      await sender.sendMessages(batch);
    }
    await sender.close();
    const receiver = harness.client.createReceiver("many");
    const seen = new Set<number>();
    // Batches small enough to settle within the 1.5 s lock on a busy machine: the point is the
    // number of deliveries through one session, not how many are held at once.
    for (let rounds = 0; seen.size < total && rounds < 150; rounds++) {
      const messages = await receiver.receiveMessages(100, { maxWaitTimeInMs: 1000 });
      await Promise.all(messages.map((m) => receiver.completeMessage(m)));
      for (const m of messages) seen.add(m.body as number);
    }
    expect(seen.size).toBe(total);
    await receiver.close();
  });

  test("subscribe() streams messages and completes them", async () => {
    const sender = harness.client.createSender("stream");
    await sender.sendMessages([1, 2, 3].map((n) => ({ body: n })));
    await sender.close();
    const receiver = harness.client.createReceiver("stream");
    const seen: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = receiver.subscribe(
        {
          processMessage: async (message) => {
            seen.push(message.body as number);
            if (seen.length === 3) {
              await subscription.close();
              resolve();
            }
          },
          processError: async (args) => reject(args.error),
        },
        { autoCompleteMessages: true },
      );
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(await receiver.peekMessages(10, { fromSequenceNumber: Long.fromNumber(1) })).toHaveLength(0);
    await receiver.close();
  });

  test("unknown entities fail with MessagingEntityNotFound", async () => {
    const sender = harness.client.createSender("no-such-queue");
    await expectServiceBusError(sender.sendMessages({ body: "x" }), "MessagingEntityNotFound");
    await sender.close();
    const receiver = harness.client.createReceiver("no-such-queue");
    await expectServiceBusError(receiver.receiveMessages(1, { maxWaitTimeInMs: 500 }), "MessagingEntityNotFound");
    await receiver.close();
  });

  test("messages up to 256 KB are accepted; larger ones fail with MessageSizeExceeded", async () => {
    const sender = harness.client.createSender("size");
    await sender.sendMessages({ body: Buffer.alloc(200 * 1024, 1) });
    await expectServiceBusError(sender.sendMessages({ body: Buffer.alloc(300 * 1024, 1) }), "MessageSizeExceeded");
    const batch = await sender.createMessageBatch();
    expect(batch.maxSizeInBytes).toBe(256 * 1024);
    expect(batch.tryAddMessage({ body: Buffer.alloc(300 * 1024, 1) })).toBe(false);
    await sender.close();
    const receiver = harness.client.createReceiver("size", { receiveMode: "receiveAndDelete" });
    const [message] = await receiveAll(receiver, 1);
    expect((message.body as Buffer).length).toBe(200 * 1024);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toHaveLength(0);
    await receiver.close();
  });
});

describe("settlement", () => {
  test("abandon redelivers with deliveryCount + 1 and the modified properties", async () => {
    const sender = harness.client.createSender("settle");
    await sender.sendMessages({ body: "a", applicationProperties: { stage: "hash" } });
    await sender.close();
    const receiver = harness.client.createReceiver("settle");
    const [first] = await receiveAll(receiver, 1);
    expect(first.deliveryCount).toBe(0);
    await receiver.abandonMessage(first, { lastError: "disk full" });
    const [second] = await receiveAll(receiver, 1);
    expect(second.messageId).toBe(first.messageId);
    expect(second.deliveryCount).toBe(1);
    expect(second.applicationProperties).toEqual({ stage: "hash", lastError: "disk full" });
    await receiver.completeMessage(second);
    await receiver.close();
  });

  test("defer hides a message until receiveDeferredMessages fetches it by sequence number", async () => {
    const sender = harness.client.createSender("defer");
    await sender.sendMessages([{ body: "later" }, { body: "now" }]);
    await sender.close();
    const receiver = harness.client.createReceiver("defer");
    const [later, now] = await receiveAll(receiver, 2);
    await receiver.deferMessage(later);
    await receiver.completeMessage(now);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toHaveLength(0);
    const [peeked] = await receiver.peekMessages(1, { fromSequenceNumber: later.sequenceNumber });
    expect(peeked.state).toBe("deferred");
    const [deferred] = await receiver.receiveDeferredMessages(later.sequenceNumber!);
    expect(deferred.body).toBe("later");
    expect(deferred.state).toBe("deferred");
    await receiver.completeMessage(deferred);
    await expectServiceBusError(receiver.receiveDeferredMessages(later.sequenceNumber!), "MessageNotFound");
    await receiver.close();
  });

  test("deadLetterMessage moves the message to the DLQ with reason, description and source", async () => {
    const sender = harness.client.createSender("dead");
    await sender.sendMessages({ body: "poison", applicationProperties: { evidenceId: "ev-1" } });
    await sender.close();
    const receiver = harness.client.createReceiver("dead");
    const [message] = await receiveAll(receiver, 1);
    await receiver.deadLetterMessage(message, { deadLetterReason: "InvalidBody", deadLetterErrorDescription: "missing officer id" });
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toHaveLength(0);
    await receiver.close();

    const dlq = harness.client.createReceiver("dead", { subQueueType: "deadLetter" });
    const [dead] = await receiveAll(dlq, 1);
    expect(dead.body).toBe("poison");
    expect(dead.messageId).toBe(message.messageId);
    expect(dead.deadLetterReason).toBe("InvalidBody");
    expect(dead.deadLetterErrorDescription).toBe("missing officer id");
    expect(dead.deadLetterSource).toBe("dead");
    expect(dead.applicationProperties?.evidenceId).toBe("ev-1");
    await dlq.completeMessage(dead);
    await dlq.close();
  });

  test("an expired lock makes the message available again, and settling it then fails with MessageLockLost", async () => {
    const sender = harness.client.createSender("lock");
    await sender.sendMessages({ body: "slow" });
    await sender.close();
    const receiver = harness.client.createReceiver("lock", { maxAutoLockRenewalDurationInMs: 0 });
    const [first] = await receiveAll(receiver, 1);
    expect(first.lockedUntilUtc!.getTime() - Date.now()).toBeLessThanOrEqual(LOCK_MS);
    // While locked, a competing receiver gets nothing.
    const other = harness.client.createReceiver("lock", { maxAutoLockRenewalDurationInMs: 0 });
    expect(await other.receiveMessages(1, { maxWaitTimeInMs: 300 })).toHaveLength(0);
    await delay(LOCK_MS + 300);
    await expectServiceBusError(receiver.completeMessage(first), "MessageLockLost");
    const [again] = await receiveAll(other, 1);
    expect(again.messageId).toBe(first.messageId);
    expect(again.deliveryCount).toBe(1);
    await other.completeMessage(again);
    await other.close();
    await receiver.close();
  });

  test("renewMessageLock keeps a message locked past its lock duration", async () => {
    const sender = harness.client.createSender("renew");
    await sender.sendMessages({ body: "long job" });
    await sender.close();
    const other = harness.client.createReceiver("renew");
    const receiver = harness.client.createReceiver("renew", { maxAutoLockRenewalDurationInMs: 0 });
    const [message] = await receiveAll(receiver, 1);
    const firstLock = message.lockedUntilUtc!.getTime();
    let lockedUntil = firstLock;
    // Renew every half lock period until well past the original lock.
    while (Date.now() < firstLock + LOCK_MS) {
      await delay(LOCK_MS / 3);
      const renewed = await receiver.renewMessageLock(message);
      expect(renewed.getTime()).toBeGreaterThan(lockedUntil);
      lockedUntil = renewed.getTime();
    }
    expect(Date.now()).toBeGreaterThan(firstLock);
    expect(await other.receiveMessages(1, { maxWaitTimeInMs: 200 })).toHaveLength(0);
    await receiver.renewMessageLock(message);
    await receiver.completeMessage(message);
    await other.close();
    await receiver.close();
  });

  test("a message abandoned MaxDeliveryCount times goes to the DLQ as MaxDeliveryCountExceeded", async () => {
    const sender = harness.client.createSender("max-delivery");
    await sender.sendMessages({ body: "always fails" });
    await sender.close();
    const receiver = harness.client.createReceiver("max-delivery");
    for (let attempt = 0; attempt < 3; attempt++) {
      const [message] = await receiveAll(receiver, 1);
      expect(message.deliveryCount).toBe(attempt);
      await receiver.abandonMessage(message);
    }
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toHaveLength(0);
    await receiver.close();
    const dlq = harness.client.createReceiver("max-delivery", { subQueueType: "deadLetter" });
    const [dead] = await receiveAll(dlq, 1);
    expect(dead.body).toBe("always fails");
    expect(dead.deadLetterReason).toBe("MaxDeliveryCountExceeded");
    expect(dead.deadLetterErrorDescription).toMatch(/3 delivery attempts/);
    await dlq.completeMessage(dead);
    await dlq.close();
  });

  test("competing receivers never hold the same message", async () => {
    const sender = harness.client.createSender("compete");
    const total = 60;
    await sender.sendMessages(Array.from({ length: total }, (_, i) => ({ body: i, messageId: `c-${i}` })));
    await sender.close();
    const receivers = [0, 1, 2].map(() => harness.client.createReceiver("compete"));
    const batches = await Promise.all(receivers.map((r) => r.receiveMessages(30, { maxWaitTimeInMs: 1000 })));
    const ids = batches.flat().map((m) => m.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    const remaining = await receiveAll(receivers[0], total - ids.length);
    const all = [...ids, ...remaining.map((m) => m.messageId)];
    expect(new Set(all).size).toBe(total);
    for (const [i, batch] of batches.entries()) for (const m of batch) await receivers[i].completeMessage(m);
    for (const m of remaining) await receivers[0].completeMessage(m);
    await Promise.all(receivers.map((r) => r.close()));
  });
});

describe("expiry, duplicates, scheduling", () => {
  test("an expired message is dead-lettered when DeadLetteringOnMessageExpiration is on", async () => {
    const sender = harness.client.createSender("ttl-dlq");
    await sender.sendMessages({ body: "stale", timeToLive: 300 });
    await sender.close();
    await delay(600);
    const receiver = harness.client.createReceiver("ttl-dlq");
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toHaveLength(0);
    await receiver.close();
    const dlq = harness.client.createReceiver("ttl-dlq", { subQueueType: "deadLetter" });
    const [dead] = await receiveAll(dlq, 1);
    expect(dead.body).toBe("stale");
    expect(dead.deadLetterReason).toBe("TTLExpiredException");
    await dlq.completeMessage(dead);
    await dlq.close();
  });

  test("an expired message is dropped when DeadLetteringOnMessageExpiration is off", async () => {
    const sender = harness.client.createSender("ttl-drop");
    await sender.sendMessages([{ body: "stale", timeToLive: 300 }, { body: "fresh" }]);
    await sender.close();
    await delay(600);
    const receiver = harness.client.createReceiver("ttl-drop", { receiveMode: "receiveAndDelete" });
    const messages = await receiver.receiveMessages(5, { maxWaitTimeInMs: 500 });
    expect(messages.map((m): unknown => m.body)).toEqual(["fresh"]);
    await receiver.close();
    const dlq = harness.client.createReceiver("ttl-drop", { subQueueType: "deadLetter" });
    expect(await dlq.peekMessages(5)).toHaveLength(0);
    await dlq.close();
  });

  test("duplicate detection drops a second message with the same id within the window", async () => {
    const sender = harness.client.createSender("dedupe");
    await sender.sendMessages({ body: "first", messageId: "evidence-1:received" });
    await sender.sendMessages({ body: "again", messageId: "evidence-1:received" });
    await sender.sendMessages([
      { body: "other", messageId: "evidence-2:received" },
      { body: "batch dup", messageId: "evidence-2:received" },
    ]);
    await sender.close();
    const receiver = harness.client.createReceiver("dedupe", { receiveMode: "receiveAndDelete" });
    const messages = await receiver.receiveMessages(10, { maxWaitTimeInMs: 500 });
    expect(messages.map((m): unknown => m.body)).toEqual(["first", "other"]);
    await receiver.close();
  });

  test("scheduled messages appear at their time; cancelled ones never do", async () => {
    const sender = harness.client.createSender("schedule");
    const at = new Date(Date.now() + 800);
    const [keep, cancel] = await sender.scheduleMessages([{ body: "keep" }, { body: "cancel" }], at);
    expect(keep.toNumber()).not.toBe(cancel.toNumber());
    await sender.cancelScheduledMessages(cancel);
    const receiver = harness.client.createReceiver("schedule");
    const [peeked] = await receiver.peekMessages(5, { fromSequenceNumber: Long.fromNumber(0) });
    expect(peeked.state).toBe("scheduled");
    expect(peeked.scheduledEnqueueTimeUtc?.getTime()).toBe(at.getTime());
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 200 })).toHaveLength(0);
    await delay(900);
    const messages = await receiver.receiveMessages(5, { maxWaitTimeInMs: 500 });
    expect(messages.map((m): unknown => m.body)).toEqual(["keep"]);
    await receiver.completeMessage(messages[0]);
    await expectServiceBusError(sender.cancelScheduledMessages(cancel), "MessageNotFound");
    await sender.close();
    await receiver.close();
  });
});

describe("peek and receive-and-delete", () => {
  test("peekMessages walks active and dead-lettered messages from a sequence number without locking", async () => {
    const sender = harness.client.createSender("peek");
    await sender.sendMessages(Array.from({ length: 6 }, (_, i) => ({ body: i })));
    await sender.close();
    const receiver = harness.client.createReceiver("peek");
    const firstPage = await receiver.peekMessages(4);
    expect(firstPage.map((m): unknown => m.body)).toEqual([0, 1, 2, 3]);
    const nextPage = await receiver.peekMessages(4); // continues after the last peeked
    expect(nextPage.map((m): unknown => m.body)).toEqual([4, 5]);
    const fromThird = await receiver.peekMessages(2, { fromSequenceNumber: firstPage[2].sequenceNumber });
    expect(fromThird.map((m): unknown => m.body)).toEqual([2, 3]);
    // Peeking locks nothing: all six can still be received.
    const received = await receiveAll(receiver, 6);
    expect(received).toHaveLength(6);
    await receiver.deadLetterMessage(received[0], { deadLetterReason: "test", deadLetterErrorDescription: "peek test" });
    for (const m of received.slice(1)) await receiver.completeMessage(m);
    await receiver.close();
    const dlq = harness.client.createReceiver("peek", { subQueueType: "deadLetter" });
    const dead = await dlq.peekMessages(5);
    expect(dead.map((m): unknown[] => [m.body, m.deadLetterReason])).toEqual([[0, "test"]]);
    await dlq.close();
  });

  test("receiveAndDelete removes messages on delivery", async () => {
    const sender = harness.client.createSender("rnd");
    await sender.sendMessages([{ body: "x" }, { body: "y" }]);
    await sender.close();
    const receiver = harness.client.createReceiver("rnd", { receiveMode: "receiveAndDelete" });
    const messages = await receiveAll(receiver, 2);
    expect(messages.map((m): unknown => m.body)).toEqual(["x", "y"]);
    expect(messages[0].lockToken).toBeUndefined();
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toHaveLength(0);
    expect(await receiver.peekMessages(5, { fromSequenceNumber: Long.fromNumber(0) })).toHaveLength(0);
    await receiver.close();
  });
});
