/**
 * The pipeline's spine end to end on the embedded stack — real Azurite, Cosmos stand-in,
 * Service Bus emulator, the app's functions in the dev host and the blob-event source:
 * upload → ingest → hash → index → evidence-ready.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient, type ServiceBusReceivedMessage } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { blobCreatedEvent } from "../../shared/contracts/blob-created-cloud-event";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { createLogger, silentLogger } from "../../shared/logging";
import { ENTITIES } from "../../shared/topology";
import { expectEvidenceEvent } from "../events/event-contract";
import { evidenceIdForBlob as evidenceIdForBlobIn, isFinal, waitForRecord } from "../support/polling";
import { waitForQuietPipeline } from "../support/quiet";

let stack: RunningStack;
let client: ServiceBusClient;
let blobService: BlobServiceClient;
const workDir = mkdtempSync(path.join(os.tmpdir(), "custody-spine-"));
/**
 * The embedded stack requires hash, transcode and thumbnail for `ready`, so recordings that
 * must end ready are a real (1 s) clip; random bytes are kept where the outcome is `rejected`.
 */
const CLIP = readFileSync(path.join(__dirname, "..", "..", "fixtures", "media", "exo_fragmented_fmp4.mp4"));

beforeAll(async () => {
  stack = await startStack({ dataDir: path.join(workDir, "data"), log: process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger, blobPollIntervalInMs: 100 });
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

function writeRecording(name: string, bytes: Buffer): string {
  const file = path.join(workDir, name);
  writeFileSync(file, bytes);
  return file;
}

function waitForFinalRecord(evidenceId: string, timeoutInMs = 20_000): Promise<EvidenceRecord> {
  return waitForRecord(stack.services!.index, evidenceId, isFinal, timeoutInMs);
}

/** All events published so far for one evidence id, drained from a dedicated subscription. */
const seenEvents: ServiceBusReceivedMessage[] = [];
async function eventsFor(evidenceId: string): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(ENTITIES.evidenceReadyTopic, "all-events", { receiveMode: "receiveAndDelete" });
  for (;;) {
    const batch = await receiver.receiveMessages(50, { maxWaitTimeInMs: 500 });
    if (batch.length === 0) break;
    // Every event the spine publishes is checked against the contract as it is drained.
    for (const message of batch) expectEvidenceEvent(message);
    seenEvents.push(...batch);
  }
  await receiver.close();
  return seenEvents.filter((m) => m.correlationId === evidenceId);
}

function evidenceIdForBlob(blobName: string, timeoutInMs = 15_000): Promise<string> {
  return evidenceIdForBlobIn(stack.services!.index, blobName, timeoutInMs);
}

test("a docked recording is hashed, indexed and announced once", async () => {
  const bytes = CLIP;
  const file = writeRecording("clip-happy.mp4", bytes);
  const uploaded = await uploadRecording(blobService.getContainerClient(ORIGINALS_CONTAINER), file, {
    officerId: "PC1234",
    deviceId: "BWV-0042",
    recordedAt: "2026-11-26T08:15:00Z",
  });
  const evidenceId = await evidenceIdForBlob(uploaded.blobName);
  const record = await waitForFinalRecord(evidenceId);
  const expected = createHash("sha256").update(bytes).digest("hex");
  expect(record.status).toBe("ready");
  expect(record.hash?.sha256).toBe(expected);
  expect(record.hash?.matchesDevice).toBe(true);
  expect(record.capture).toMatchObject({ officerId: "PC1234", deviceId: "BWV-0042", recordedAt: "2026-11-26T08:15:00Z" });
  expect(record.integrityFindings).toEqual([]);
  expect(record.custodyLog.map((entry) => entry.action)).toEqual(expect.arrayContaining(["received", "hashed"]));
  expect(record.requiredStages).toEqual(["hash", "transcode", "thumbnail"]);
  expect(record.stages).toMatchObject({ transcode: { status: "succeeded" }, thumbnail: { status: "succeeded" } });
  const events = await eventsFor(evidenceId);
  expect(events).toHaveLength(1);
  expect(events[0].subject).toBe("org.custody.evidence.ready.v1");
  expect(events[0].messageId).toBe(`${evidenceId}:ready`);
});

test("the same BlobCreated event delivered three times gives one record and one evidence-ready event", async () => {
  const bytes = CLIP;
  const file = writeRecording("clip-thrice.mp4", bytes);
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const uploaded = await uploadRecording(container, file, { officerId: "PC7", deviceId: "BWV-7", recordedAt: "2026-11-26T08:00:00Z" });
  const event = blobCreatedEvent(container, uploaded.blobName, uploaded.etag, { contentLength: uploaded.size, contentType: "video/mp4" });
  const sender = client.createSender(ENTITIES.blobCreated.queueName);
  // Redeliveries outside the duplicate-detection window: same event, new message ids.
  for (let i = 0; i < 3; i++) await sender.sendMessages({ body: event, messageId: `${event.id}-redelivery-${i}` });
  await sender.close();
  const evidenceId = await evidenceIdForBlob(uploaded.blobName);
  const record = await waitForFinalRecord(evidenceId);
  expect(record.status).toBe("ready");
  await waitForQuietPipeline(stack.serviceBus.namespace); // every redelivery has run through
  let count = 0;
  for await (const r of stack.services!.index.list({})) if (r.original?.name === uploaded.blobName) count++;
  expect(count).toBe(1);
  expect(await eventsFor(evidenceId)).toHaveLength(1);
  expect(record.custodyLog.filter((entry) => entry.action === "received")).toHaveLength(1);
});

test("a wrong device hash is recorded as an integrity finding and reported", async () => {
  const bytes = CLIP;
  const file = writeRecording("clip-tampered.mp4", bytes);
  const claimed = createHash("sha256").update("something else").digest("hex");
  const uploaded = await uploadRecording(blobService.getContainerClient(ORIGINALS_CONTAINER), file, {
    officerId: "PC9",
    deviceId: "BWV-9",
    recordedAt: "2026-11-26T07:00:00Z",
    omitDeviceHash: true,
    extraMetadata: { sha256: claimed },
  });
  const evidenceId = await evidenceIdForBlob(uploaded.blobName);
  const record = await waitForFinalRecord(evidenceId);
  expect(record.hash?.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
  expect(record.hash?.matchesDevice).toBe(false);
  expect(record.integrityFindings).toEqual([expect.objectContaining({ code: "DeviceHashMismatch", expected: claimed, actual: record.hash?.sha256 })]);
  const [event] = await eventsFor(evidenceId);
  expect(JSON.stringify(event.body)).toContain("DeviceHashMismatch");
});

test.each([
  ["missing metadata", { officerId: "", deviceId: "", recordedAt: "" }, "MissingMetadata"],
  ["an invalid officer id", { officerId: "PC 12; DROP", deviceId: "BWV-1", recordedAt: "2026-11-26T07:00:00Z" }, "InvalidMetadata"],
  ["a capture time without a zone", { officerId: "PC1", deviceId: "BWV-1", recordedAt: "2026-11-26 07:00" }, "InvalidMetadata"],
])("a recording with %s is rejected with its reason and still hashed", async (_label, metadata, code) => {
  const bytes = randomBytes(2048);
  const file = writeRecording(`clip-${code}-${Date.now()}.mp4`, bytes);
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const blobName = `rejects/${path.basename(file)}`;
  const values: Record<string, string> = {};
  if (metadata.officerId) values.officerid = metadata.officerId;
  if (metadata.deviceId) values.deviceid = metadata.deviceId;
  if (metadata.recordedAt) values.recordedat = metadata.recordedAt;
  await container.getBlockBlobClient(blobName).uploadData(bytes, { metadata: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, encodeURIComponent(v)])) });
  const evidenceId = await evidenceIdForBlob(blobName);
  const record = await waitForFinalRecord(evidenceId);
  expect(record.status).toBe("rejected");
  expect(record.rejection?.reasons.map((r) => r.code)).toContain(code);
  expect(record.hash?.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
});

test("an empty blob is rejected as EmptyBlob and still gets a hash", async () => {
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const blobName = "rejects/empty.mp4";
  await container.getBlockBlobClient(blobName).uploadData(Buffer.alloc(0), {
    metadata: { officerid: "PC1", deviceid: "BWV-1", recordedat: encodeURIComponent("2026-11-26T07:00:00Z") },
  });
  const evidenceId = await evidenceIdForBlob(blobName);
  const record = await waitForFinalRecord(evidenceId);
  expect(record.status).toBe("rejected");
  expect(record.rejection?.reasons.map((r) => r.code)).toContain("EmptyBlob");
  expect(record.hash?.sha256).toBe(createHash("sha256").update(Buffer.alloc(0)).digest("hex"));
});

test("a recording in a container ingest does not accept is rejected as UnsupportedContainer", async () => {
  const scratch = blobService.getContainerClient("scratch");
  await scratch.createIfNotExists();
  const bytes = randomBytes(1000);
  const upload = await scratch.getBlockBlobClient("elsewhere.mp4").uploadData(bytes, {
    metadata: { officerid: "PC1", deviceid: "BWV-1", recordedat: encodeURIComponent("2026-11-26T07:00:00Z") },
  });
  const event = blobCreatedEvent(scratch, "elsewhere.mp4", upload.etag!, { contentLength: bytes.length });
  const sender = client.createSender(ENTITIES.blobCreated.queueName);
  await sender.sendMessages({ body: event, messageId: event.id });
  await sender.close();
  const evidenceId = await evidenceIdForBlob("elsewhere.mp4");
  const record = await waitForFinalRecord(evidenceId);
  expect(record.status).toBe("rejected");
  expect(record.rejection?.reasons.map((r) => r.code)).toEqual(["UnsupportedContainer"]);
  expect(record.hash?.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
});

test("a name with control characters is rejected as InvalidName and still hashed; other uploads keep flowing", async () => {
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const blobName = "odd-names/bell\u0007clip.mp4";
  const bytes = randomBytes(500);
  const upload = await container.getBlockBlobClient(blobName).uploadData(bytes, {
    metadata: { officerid: "PC1", deviceid: "BWV-1", recordedat: encodeURIComponent("2026-11-26T07:00:00Z") },
  });
  // Azurite cannot list a folder holding such a name (Azure can): announce it as Event Grid would.
  const event = blobCreatedEvent(container, blobName, upload.etag!, { contentLength: bytes.length });
  const sender = client.createSender(ENTITIES.blobCreated.queueName);
  await sender.sendMessages({ body: event, messageId: event.id });
  await sender.close();
  const record = await waitForFinalRecord(await evidenceIdForBlob(blobName));
  expect(record.status).toBe("rejected");
  expect(record.rejection?.reasons.map((r) => r.code)).toContain("InvalidName");
  expect(record.hash?.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));

  // The unlistable folder does not hide uploads elsewhere.
  const other = await uploadRecording(container, writeRecording("after-odd-name.mp4", CLIP), {
    officerId: "PC2",
    deviceId: "BWV-2",
    recordedAt: "2026-11-26T07:30:00Z",
  });
  expect((await waitForFinalRecord(await evidenceIdForBlob(other.blobName))).status).toBe("ready");
});

test.each([
  ["a right-to-left override (reads as evidence4pm.jpg)", "lying-names/evidence\u202egpj.mp4", "U+202E"],
  ["a zero-width character (a twin of clip.mp4)", "lying-names/cl\u200bip.mp4", "U+200B"],
  ["percent-encoded dot segments", "%2e%2e/%2e%2e/x.mp4", "percent-encoded"],
])("a name with %s is rejected as InvalidName, kept under its real name and still hashed", async (_label, blobName, expected) => {
  const bytes = randomBytes(600);
  await blobService
    .getContainerClient(ORIGINALS_CONTAINER)
    .getBlockBlobClient(blobName)
    .uploadData(bytes, {
      metadata: { officerid: "PC1", deviceid: "BWV-1", recordedat: encodeURIComponent("2026-11-26T07:00:00Z") },
    });
  const record = await waitForFinalRecord(await evidenceIdForBlob(blobName));
  expect(record.status).toBe("rejected");
  expect(record.rejection?.reasons).toEqual([expect.objectContaining({ code: "InvalidName", message: expect.stringContaining(expected) })]);
  expect(record.original?.name).toBe(blobName);
  expect(record.hash?.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
});

test("a name longer than the evidence limit is rejected as InvalidName and still hashed", async () => {
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const blobName = `rejects/${"long-name-".repeat(60)}.mp4`; // ~600 characters: legal in Azure (1,024), over the evidence limit (512)
  const bytes = randomBytes(700);
  await container.getBlockBlobClient(blobName).uploadData(bytes, {
    metadata: { officerid: "PC1", deviceid: "BWV-1", recordedat: encodeURIComponent("2026-11-26T07:00:00Z") },
  });
  const record = await waitForFinalRecord(await evidenceIdForBlob(blobName));
  expect(record.status).toBe("rejected");
  expect(record.rejection?.reasons.every((r) => r.code === "InvalidName")).toBe(true);
  expect(record.rejection?.reasons.map((r) => r.message).join(" ")).toMatch(/at most 512 characters|512/);
  expect(record.original?.name).toBe(blobName);
  expect(record.hash?.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
});

test("a name with a '..' segment is rejected, and never read through a normalised path that names another blob", async () => {
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  // What a client that normalises "evidence/../escape.mp4" would read instead.
  await container.getBlockBlobClient("escape.mp4").uploadData(Buffer.from("a different recording"));
  // Azure can hold such a name (written with encoded dots); the JS SDK cannot address it, so
  // the event is sent as Event Grid would send it.
  const blobName = "evidence/../escape.mp4";
  const event = blobCreatedEvent(container, "placeholder.mp4", "0x8DD0000000000AA", { contentLength: 1234 });
  event.subject = `/blobServices/default/containers/${ORIGINALS_CONTAINER}/blobs/${blobName}`;
  event.data.url = `${container.url}/evidence/%2E%2E/escape.mp4`;
  event.id = `${event.id}-dots`;
  const sender = client.createSender(ENTITIES.blobCreated.queueName);
  await sender.sendMessages({ body: event, messageId: event.id });
  await sender.close();
  const record = await waitForFinalRecord(await evidenceIdForBlob(blobName));
  expect(record.status).toBe("rejected");
  expect(record.rejection?.reasons.map((r) => r.code)).toContain("InvalidName");
  expect(record.hash).toBeUndefined();
  expect(record.stages.hash).toMatchObject({ status: "failed", lastError: expect.objectContaining({ code: "UnaddressableName" }) });
});

test("an invalid message body is dead-lettered with a reason, not retried", async () => {
  const sender = client.createSender(ENTITIES.blobCreated.queueName);
  await sender.sendMessages({ body: { specversion: "1.0", type: "Microsoft.Storage.BlobCreated", note: "no id, no data" }, messageId: "garbage-1" });
  await sender.close();
  const dlq = client.createReceiver(ENTITIES.blobCreated.queueName, { subQueueType: "deadLetter" });
  let dead: ServiceBusReceivedMessage | undefined;
  for (let i = 0; i < 20 && !dead; i++) {
    dead = (await dlq.receiveMessages(10, { maxWaitTimeInMs: 500 })).find((m) => m.messageId === "garbage-1");
  }
  await dlq.close();
  expect(dead).toBeDefined();
  expect(dead!.deadLetterReason).toBe("InvalidMessage");
  expect(dead!.deadLetterErrorDescription).toMatch(/BlobCreated|data|id/);
  expect(dead!.deliveryCount).toBe(0);
});

test("every event the spine published — ready, rejected, odd names included — is a valid CloudEvent, one per recording", async () => {
  await eventsFor("(drain the rest)");
  expect(seenEvents.length).toBeGreaterThanOrEqual(8);
  const events = seenEvents.map((message) => expectEvidenceEvent(message));
  const subjects = events.map((event) => event.subject);
  expect(new Set(subjects).size).toBe(subjects.length);
  const rejected = events.filter((event) => event.data.status === "rejected");
  expect(rejected.length).toBeGreaterThanOrEqual(5);
  for (const event of rejected) {
    if (event.type !== "org.custody.evidence.failed.v1") throw new Error(`rejected but ${event.type}`);
    expect(event.data.failure).toMatchObject({ stage: "ingest", code: "Rejected" });
  }
  // The URL of a blob named with a '..' segment is passed on as it was, not resolved to another blob.
  const dots = events.find((event) => event.data.original.name === "evidence/../escape.mp4");
  expect(dots?.data.original.url).toMatch(/\/evidence\/%2E%2E\/escape\.mp4$/);
});
