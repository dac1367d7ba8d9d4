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
import { silentLogger } from "../../shared/logging";
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
  const start = () =>
    startBlobEventSource({ container, client, queueName: "blob-created", stateFile: path.join(work, "state.json"), pollIntervalInMs: 60_000, log: silentLogger });
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
    const event = parseBlobCreatedEvent(message!.body);
    expect(Date.parse(event.time)).toBe(committedAt.getTime());
  } finally {
    await receiver.close();
    await client.close();
  }
});
