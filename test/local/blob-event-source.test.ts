/**
 * The blob-event source announces each blob version once: a restart neither loses uploads
 * made while it was down nor replays the ones it already announced.
 */
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteInstance } from "../../local/azurite";
import { startBlobEventSource } from "../../local/blob-event-source";
import { parseBlobCreatedEvent } from "../../shared/contracts/blob-created-event";
import { createLogger, silentLogger, type LogFields } from "../../shared/logging";
import { startServiceBusEmulator, type ServiceBusEmulator } from "../../local/servicebus-emulator";

let azurite: AzuriteInstance;
let emulator: ServiceBusEmulator;
const work = mkdtempSync(path.join(os.tmpdir(), "custody-events-"));

beforeAll(async () => {
  azurite = await startAzurite({ location: path.join(work, "azurite") });
  emulator = await startServiceBusEmulator({
    config: { UserConfig: { Namespaces: [{ Name: "sbemulatorns", Queues: [{ Name: "blob-created", Properties: { RequiresDuplicateDetection: true } }] }] } },
  });
}, 30_000);

afterAll(async () => {
  await emulator?.close();
  await azurite?.stop();
});

test("each version is announced once, across restarts, as a valid BlobCreated CloudEvent", async () => {
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("originals");
  await container.createIfNotExists();
  const client = new ServiceBusClient(emulator.connectionString);
  const receiver = client.createReceiver("blob-created", { receiveMode: "receiveAndDelete" });
  const start = () => startBlobEventSource({ container, client, queueName: "blob-created", stateFile: path.join(work, "state.json"), pollIntervalInMs: 60_000, log: silentLogger });
  try {
    await container.getBlockBlobClient("a/one.mp4").uploadData(Buffer.from("one"));
    let source = await start();
    expect(await source.pollOnce()).toBe(1);
    expect(await source.pollOnce()).toBe(0);
    await source.stop();

    // Uploaded while the source was down; and one blob overwritten (a new version).
    await container.getBlockBlobClient("a/two.mp4").uploadData(Buffer.from("two"));
    await container.getBlockBlobClient("a/one.mp4").uploadData(Buffer.from("one, again"));
    source = await start();
    expect(await source.pollOnce()).toBe(2);
    await source.stop();

    const messages = await receiver.receiveMessages(10, { maxWaitTimeInMs: 1000 });
    const events = messages.map((m) => parseBlobCreatedEvent(m.body));
    expect(events.map((e) => e.subject).sort()).toEqual([
      "/blobServices/default/containers/originals/blobs/a/one.mp4",
      "/blobServices/default/containers/originals/blobs/a/one.mp4",
      "/blobServices/default/containers/originals/blobs/a/two.mp4",
    ]);
    expect(new Set(events.map((e) => e.data.eTag)).size).toBe(3);
    expect(messages.every((m) => m.messageId === parseBlobCreatedEvent(m.body).id)).toBe(true);
  } finally {
    await receiver.close();
    await client.close();
  }
});

/*
 * The event's `time`: Event Grid's BlobCreated `time` is when the blob was committed. The local source announces
 * uploads made while it was down only later, and ingest records the event time as the
 * recording's `uploadedAt` (and the custody log's "received" time): it must be the blob's
 * commit time, not the time of the poll.
 */
test("an upload announced late carries its commit time, not the time of the poll", async () => {
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("originals");
  await container.createIfNotExists();
  const client = new ServiceBusClient(emulator.connectionString);
  const receiver = client.createReceiver("blob-created", { receiveMode: "receiveAndDelete" });
  try {
    const blob = container.getBlockBlobClient("a/late.mp4");
    await blob.uploadData(Buffer.from("uploaded while the source was down"));
    const committedAt = (await blob.getProperties()).lastModified!;
    await new Promise((resolve) => setTimeout(resolve, 2100));

    const source = await startBlobEventSource({ container, client, queueName: "blob-created", stateFile: path.join(work, "state.json"), pollIntervalInMs: 60_000, log: silentLogger });
    expect(await source.pollOnce()).toBe(1);
    await source.stop();

    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 });
    const event = parseBlobCreatedEvent(message.body);
    expect(Date.parse(event.time)).toBe(committedAt.getTime());
  } finally {
    await receiver.close();
    await client.close();
  }
});

/*
 * Azurite fails every List Blobs page that would hold a name with a control character (Azure
 * encodes such names). Such a name must not hide the rest of the container, nor the entries of
 * its own folder that can be listed, and the folder must be reported on every poll, not once.
 */
test("a name Azurite cannot list hides only what sorts after it in its folder, and is reported on every poll", async () => {
  // As the stack lists (local/stack.ts): no retries of a failed listing.
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString, { retryOptions: { maxTries: 1 } }).getContainerClient("originals-odd");
  await container.createIfNotExists();
  const client = new ServiceBusClient(emulator.connectionString);
  const receiver = client.createReceiver("blob-created", { receiveMode: "receiveAndDelete" });
  const warnings: LogFields[] = [];
  const log = createLogger({ minLevel: "warn", sink: (_level, line) => warnings.push(JSON.parse(line) as LogFields) });
  try {
    for (const name of ["odd/bell\u0007.mp4", "odd/a-before.mp4", "odd/0-sub/deep.mp4", "odd/z-after.mp4", "other/fine.mp4", "top.mp4"]) {
      await container.getBlockBlobClient(name).uploadData(Buffer.from(name));
    }
    const source = await startBlobEventSource({ container, client, queueName: "blob-created", stateFile: path.join(work, "odd-state.json"), pollIntervalInMs: 60_000, log });
    const firstPoll = await source.pollOnce();
    const afterFirst = warnings.length;
    expect(await source.pollOnce()).toBe(0);
    expect(await source.pollOnce()).toBe(0);
    await source.stop();

    const messages = await receiver.receiveMessages(20, { maxWaitTimeInMs: 1000 });
    const announced = messages.map((m) => parseBlobCreatedEvent(m.body).subject.replace("/blobServices/default/containers/originals-odd/blobs/", "")).sort();
    // Everything outside the folder, and the folder's entries before the unlistable name (a subfolder included).
    expect(announced).toEqual(["odd/0-sub/deep.mp4", "odd/a-before.mp4", "other/fine.mp4", "top.mp4"]);
    expect(firstPoll).toBe(4);
    // One warning per poll, each naming the folder and how far it was listed.
    expect(afterFirst).toBe(1);
    expect(warnings).toHaveLength(3);
    for (const warning of warnings) expect(warning).toMatchObject({ level: "warn", container: "originals-odd", folder: "odd/", listedUpTo: "odd/a-before.mp4" });
  } finally {
    await receiver.close();
    await client.close();
  }
});
