/**
 * What operations and reliability tests rely on: entity counts through the unmodified
 * ServiceBusAdministrationClient, fault injection, and a server that survives clients that
 * misbehave at the protocol level.
 */
import * as net from "node:net";
import { ServiceBusClient, isServiceBusError } from "@azure/service-bus";
import rhea = require("rhea");
import { createEmulatorAdministrationClient, startServiceBusEmulator } from "../../local/servicebus-emulator";
import { delay, emulatorConfig, startHarness, type EmulatorHarness } from "./harness";

const config = emulatorConfig({
  queues: [{ name: "counted", properties: { MaxDeliveryCount: 2 } }, { name: "dropped" }, { name: "twice" }, { name: "survivor" }],
  topics: [{ name: "events", subscriptions: [{ name: "all" }, { name: "none", rules: [{ Name: "never", Properties: { FilterType: "Sql", SqlFilter: { SqlExpression: "1=0" } } }] }] }],
});

describe("entity counts through ServiceBusAdministrationClient", () => {
  let harness: EmulatorHarness;
  beforeAll(async () => {
    harness = await startHarness(config);
  });
  afterAll(async () => harness?.close());

  test("active, dead-letter and scheduled counts per queue and subscription", async () => {
    const admin = createEmulatorAdministrationClient(harness.emulator.connectionString, harness.emulator.certificatePem);
    const sender = harness.client.createSender("counted");
    await sender.sendMessages([{ body: 1 }, { body: 2 }, { body: 3 }]);
    await sender.scheduleMessages({ body: "later" }, new Date(Date.now() + 60_000));
    await sender.close();
    const receiver = harness.client.createReceiver("counted");
    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 });
    await receiver.deadLetterMessage(first, { deadLetterReason: "Test", deadLetterErrorDescription: "counting" });
    await receiver.close();

    const queue = await admin.getQueueRuntimeProperties("counted");
    expect(queue.activeMessageCount).toBe(2);
    expect(queue.deadLetterMessageCount).toBe(1);
    expect(queue.scheduledMessageCount).toBe(1);
    expect(queue.totalMessageCount).toBe(4);
    const properties = await admin.getQueue("counted");
    expect(properties.maxDeliveryCount).toBe(2);

    const topicSender = harness.client.createSender("events");
    await topicSender.sendMessages([{ body: "a" }, { body: "b" }]);
    await topicSender.close();
    const all = await admin.getSubscriptionRuntimeProperties("events", "all");
    const none = await admin.getSubscriptionRuntimeProperties("events", "none");
    expect(all.activeMessageCount).toBe(2);
    expect(none.activeMessageCount).toBe(0);

    const names: string[] = [];
    for await (const q of admin.listQueuesRuntimeProperties()) names.push(q.name);
    expect(names.sort()).toEqual(["counted", "dropped", "survivor", "twice"]);
    let notFound: unknown;
    try {
      await admin.getQueueRuntimeProperties("missing");
    } catch (error) {
      notFound = error;
    }
    expect((notFound as { statusCode?: number }).statusCode).toBe(404);
  });
});

describe("fault injection", () => {
  test("duplicateDeliveries delivers every message twice", async () => {
    const harness = await startHarness(config, { faults: { duplicateDeliveries: true } });
    try {
      const sender = harness.client.createSender("twice");
      await sender.sendMessages({ body: "once", messageId: "m-1" });
      await sender.close();
      const receiver = harness.client.createReceiver("twice", { receiveMode: "receiveAndDelete" });
      const received = await receiver.receiveMessages(5, { maxWaitTimeInMs: 800 });
      expect(received.map((m) => m.messageId)).toEqual(["m-1", "m-1"]);
      await receiver.close();
    } finally {
      await harness.close();
    }
  });

  test("dropConnections cuts clients; they reconnect, and a message locked at the time is redelivered after its lock expires", async () => {
    const harness = await startHarness(config, { faults: { lockDurationInMs: 1000 } });
    try {
      const sender = harness.client.createSender("dropped");
      await sender.sendMessages([{ body: "in flight" }, { body: "waiting" }]);
      const receiver = harness.client.createReceiver("dropped");
      const [inFlight] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 });
      expect(inFlight.body).toBe("in flight");
      expect(harness.emulator.dropConnections()).toBeGreaterThan(0);
      // Settling over the lost connection fails; the message is not lost.
      let settleError: unknown;
      try {
        await receiver.completeMessage(inFlight);
      } catch (error) {
        settleError = error;
      }
      expect(settleError).toBeDefined();
      await delay(1200);
      await sender.sendMessages({ body: "after reconnect" });
      const bodies: string[] = [];
      for (let i = 0; i < 10 && bodies.length < 3; i++) {
        for (const m of await receiver.receiveMessages(3, { maxWaitTimeInMs: 500 })) {
          bodies.push(m.body as string);
          await receiver.completeMessage(m);
        }
      }
      expect(bodies.sort()).toEqual(["after reconnect", "in flight", "waiting"]);
      await sender.close();
      await receiver.close();
    } finally {
      await harness.close();
    }
  });
});

describe("misbehaving clients", () => {
  test("malformed frames close only that connection; accepted messages and other clients are unaffected", async () => {
    const emulator = await startServiceBusEmulator({ config });
    const client = new ServiceBusClient(emulator.connectionString);
    try {
      const sender = client.createSender("survivor");
      await sender.sendMessages({ body: "kept" });

      for (const garbage of [
        Buffer.concat([Buffer.from("AMQP\x00\x01\x00\x00", "binary"), Buffer.from([0, 0, 0, 12, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])]),
        Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]),
      ]) {
        const ended = await new Promise<boolean>((resolve) => {
          const socket = net.connect(emulator.port, "127.0.0.1", () => socket.write(garbage));
          socket.on("error", () => undefined);
          socket.resume(); // read (and discard) whatever the server answers, so its end is seen
          // The server ending its side is what counts: it refused the connection.
          socket.on("end", () => resolve(true));
          socket.on("close", () => resolve(true));
          setTimeout(() => {
            socket.destroy();
            resolve(false);
          }, 3000).unref();
        });
        expect([garbage.subarray(0, 4).toString("hex"), ended]).toEqual([garbage.subarray(0, 4).toString("hex"), true]);
      }

      await sender.sendMessages({ body: "still accepted" });
      const receiver = client.createReceiver("survivor", { receiveMode: "receiveAndDelete" });
      const bodies: unknown[] = [];
      for (let i = 0; i < 5 && bodies.length < 2; i++) bodies.push(...(await receiver.receiveMessages(2, { maxWaitTimeInMs: 500 })).map((m): unknown => m.body));
      expect(bodies).toEqual(["kept", "still accepted"]);
    } finally {
      await client.close();
      await emulator.close();
    }
  });

  test("an unknown management operation gets a NotImplemented reply, not a hang or a crash", async () => {
    const emulator = await startServiceBusEmulator({ config });
    const container = rhea.create_container({ id: "raw-client" });
    const connection = container.connect({ host: "127.0.0.1", port: emulator.port, reconnect: false });
    try {
      const reply = await new Promise<rhea.Message>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no reply")), 5000);
        const receiver = connection.open_receiver({ name: "reply-link", source: { address: "survivor/$management" } });
        receiver.on("message", (context: rhea.EventContext) => {
          clearTimeout(timer);
          resolve(context.message!);
        });
        const sender = connection.open_sender({ target: { address: "survivor/$management" } });
        sender.once("sendable", () => sender.send({ message_id: "req-1", reply_to: "reply-link", application_properties: { operation: "com.microsoft:frobnicate" }, body: {} }));
      });
      expect(reply.correlation_id).toBe("req-1");
      expect(reply.application_properties?.statusCode).toBe(501);
      expect(reply.application_properties?.["error-condition"]).toBe("amqp:not-implemented");
      expect(String(reply.application_properties?.statusDescription)).toMatch(/frobnicate/);

      // The emulator keeps serving the SDK afterwards.
      const client = new ServiceBusClient(emulator.connectionString);
      const sender = client.createSender("survivor");
      await sender.sendMessages({ body: "ok" });
      await client.close();
    } finally {
      connection.close();
      await emulator.close();
    }
  });

  test("sending to a subscription address is refused with a clear error", async () => {
    const harness = await startHarness(config);
    try {
      const sender = harness.client.createSender("events/Subscriptions/all");
      let caught: unknown;
      try {
        await sender.sendMessages({ body: "x" });
      } catch (error) {
        caught = error;
      }
      expect(isServiceBusError(caught) || caught instanceof Error).toBe(true);
      expect((caught as Error).message).toMatch(/send to a queue or a topic/);
    } finally {
      await harness.close();
    }
  });
});
