/**
 * The example downstream consumer (examples/downstream-consumer) against the embedded stack:
 * with a filter of its own it receives only its officer's events, validates each against the
 * published schema, handles each event once even when it is delivered again (also across a
 * restart), and dead-letters what it cannot understand with the reason.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import Long from "long";
import { BlobServiceClient } from "@azure/storage-blob";
import { startConsumer, type EvidenceEvent, type RunningConsumer } from "../../examples/downstream-consumer/consumer";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import { buildFinalEvent } from "../../shared/evidence/final-event";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { silentLogger } from "../../shared/logging";
import { ENTITIES } from "../../shared/topology";
import { isFinal, waitFor, waitForRecord } from "../support/polling";
import { waitForQuietPipeline } from "../support/quiet";

let stack: RunningStack;
let client: ServiceBusClient;
let blobService: BlobServiceClient;
const workDir = mkdtempSync(path.join(os.tmpdir(), "custody-consumer-"));
const CLIP = readFileSync(path.join(__dirname, "..", "..", "fixtures", "media", "exo_fragmented_fmp4.mp4"));
const SCHEMAS = path.join(__dirname, "..", "..", "docs", "events");
const STATE = path.join(workDir, "handled-events.txt");
const SUBSCRIPTION = "all-events";

beforeAll(async () => {
  stack = await startStack({ dataDir: path.join(workDir, "data"), log: silentLogger, blobPollIntervalInMs: 100 });
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

let counter = 0;
async function upload(bytes: Buffer, officerId: string, extraMetadata?: Record<string, string>): Promise<string> {
  const file = path.join(workDir, `rec-${++counter}.mp4`);
  writeFileSync(file, bytes);
  const uploaded = await uploadRecording(blobService.getContainerClient(ORIGINALS_CONTAINER), file, { officerId, deviceId: `BWV-${counter}`, recordedAt: "2026-11-26T08:00:00Z", extraMetadata });
  return deriveEvidenceId({ account: blobService.accountName, container: ORIGINALS_CONTAINER, name: uploaded.blobName, etag: uploaded.etag, versionId: uploaded.versionId });
}

function finalRecord(evidenceId: string): Promise<EvidenceRecord> {
  return waitForRecord(stack.services!.index, evidenceId, isFinal, 60_000);
}

/** Polls `probe` until it yields a value (a minute at most). */
function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  return waitFor(what, probe, 60_000);
}

/** True once the consumer has settled everything on its subscription (peek shows locked messages too). */
async function subscriptionDrained(): Promise<true | undefined> {
  const receiver = client.createReceiver(ENTITIES.evidenceReadyTopic, SUBSCRIPTION);
  const [left] = await receiver.peekMessages(1, { fromSequenceNumber: Long.fromNumber(0) });
  await receiver.close();
  return left === undefined ? true : undefined;
}

/** The evidence event of a record, sent again as a copy with a new Service Bus message id (duplicate detection cannot drop it). */
async function sendCopy(record: EvidenceRecord, copy: string): Promise<void> {
  const event = buildFinalEvent(record);
  const sender = client.createSender(ENTITIES.evidenceReadyTopic);
  await sender.sendMessages({
    messageId: `${event.messageId}:copy-${copy}`,
    body: event.body,
    contentType: event.contentType,
    subject: event.subject,
    correlationId: event.correlationId,
    applicationProperties: event.applicationProperties,
  });
  await sender.close();
}

test("filtered, validated, idempotent across a restart, and dead-letters what it cannot understand", async () => {
  const handled: EvidenceEvent[] = [];
  const deadLettered: Array<{ id?: string; reason: string }> = [];
  const start = (): Promise<RunningConsumer> =>
    startConsumer({
      connectionString: stack.environment.ServiceBusConnection,
      subscription: SUBSCRIPTION,
      filter: "officerId = 'PC-EX1'",
      stateFile: STATE,
      schemaDir: SCHEMAS,
      onEvent: (event) => void handled.push(event),
      onDeadLettered: (id, reason) => void deadLettered.push({ id, reason }),
    });
  let consumer = await start();
  try {
    const mine = await upload(CLIP, "PC-EX1");
    const theirs = await upload(CLIP, "PC-EX2");
    const mineRejected = await upload(randomBytes(2000), "PC-EX1", { recordedat: "not a time" });
    const [mineRecord] = await Promise.all([finalRecord(mine), finalRecord(theirs), finalRecord(mineRejected)]);

    // A message on the topic the consumer was not written for (a future major version), for its officer.
    const sender = client.createSender(ENTITIES.evidenceReadyTopic);
    await sender.sendMessages({
      messageId: "from-the-future",
      body: { evidenceId: mine },
      contentType: "application/json",
      applicationProperties: { "cloudEvents:specversion": "1.0", "cloudEvents:type": "org.custody.evidence.ready.v2", "cloudEvents:id": `${mine}:ready`, officerId: "PC-EX1" },
    });
    await sender.close();
    await sendCopy(mineRecord, "1");

    await until("both of the officer's events and the dead letter", () => (handled.length >= 2 && deadLettered.length >= 1 ? true : undefined));
    // Everything sent so far is settled — the pipeline's own messages and the consumer's subscription.
    // A stage that hit a transient failure under load has its re-run scheduled with backoff (5 s, 10 s, 20 s, …): wait for it to settle too.
    await waitForQuietPipeline(stack.serviceBus.namespace, { timeoutInMs: 150_000 });
    await until("the consumer's subscription to be drained", subscriptionDrained);
    expect(handled.map((e) => [e.data.evidenceId, e.type, e.data.status]).sort()).toEqual(
      [
        [mine, "org.custody.evidence.ready.v1", "ready"],
        [mineRejected, "org.custody.evidence.failed.v1", "rejected"],
      ].sort(),
    );
    const ready = handled.find((e) => e.data.evidenceId === mine)!;
    expect(ready.data.renditions.find((r) => r.kind === "proxy")?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/derived\/ev-[0-9a-f]{32}\/transcode\/proxy\.mp4$/);
    expect(deadLettered).toEqual([{ id: "from-the-future", reason: "unknown event type org.custody.evidence.ready.v2" }]);

    // A restart remembers what it handled: another copy of the same event is completed, not handled.
    await consumer.stop();
    consumer = await start();
    await sendCopy(mineRecord, "2");
    await until("the copy to be consumed", subscriptionDrained);
    expect(handled).toHaveLength(2);
    expect(readFileSync(STATE, "utf8").trim().split("\n").sort()).toEqual([`/custody ${mine}:ready`, `/custody ${mineRejected}:failed`].sort());
  } finally {
    await consumer.stop();
  }

  const dlq = client.createReceiver(ENTITIES.evidenceReadyTopic, SUBSCRIPTION, { subQueueType: "deadLetter" });
  const [dead] = await dlq.peekMessages(10);
  await dlq.close();
  expect(dead).toMatchObject({ messageId: "from-the-future", deadLetterReason: "UnrecognisedEvent", deadLetterErrorDescription: "unknown event type org.custody.evidence.ready.v2" });

  // The consumer's filter is its subscription's own, and stays: one rule of its own plus redrive.
  const names: string[] = [];
  for await (const rule of client.createRuleManager(ENTITIES.evidenceReadyTopic, SUBSCRIPTION).listRules()) names.push(rule.name);
  expect(names.sort()).toEqual(["consumer-filter", "redrive"]);
}, 300_000);
