/**
 * `custody dlq list` and `custody dlq peek` against an embedded stack, with messages that
 * dead-lettered for real: the app's own functions run in a dev host (ingest, hash, both index
 * functions) while the broker refuses every stage result (so the hash stage cannot report), so
 *   - an invalid body on blob-created is dead-lettered by the dev host as InvalidMessage;
 *   - a recording's hash message exhausts MaxDeliveryCount (MaxDeliveryCountExceeded) — the
 *     record, which heard nothing from the stage, stays `received`;
 *   - an event that outlives its time-to-live expires into a dead-letter queue (TTLExpiredException).
 * The CLI runs as a separate process (bin/custody.js) against the stack's data folder.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient, type ServiceBusAdministrationClient } from "@azure/service-bus";
import type { DlqListRow, DlqPeekResult } from "../../cli/commands/dlq";
import { hashFunction } from "../../functions/hash";
import { indexReceivedFunction, indexResultsFunction } from "../../functions/index-evidence";
import { ingestFunction } from "../../functions/ingest";
import { useServices, type FunctionServices } from "../../functions/services";
import { startDevHost, type DevHost } from "../../local/dev-host/dev-host";
import { readHostJson } from "../../local/dev-host/host-json";
import { createEmulatorAdministrationClient } from "../../local/servicebus-emulator";
import { startStack, type RunningStack } from "../../local/stack";
import { createQueueOperations } from "../../shared/adapters/service-bus-operations";
import type { EvidenceReceivedMessage } from "../../shared/contracts/messages";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import { createLogger, silentLogger } from "../../shared/logging";
import { ENTITIES } from "../../shared/topology";
import { waitFor } from "../support/polling";
import { publisherFailingResults } from "./dead-letter-fixture";
import { CUSTODY_BIN, runCli } from "./run-cli";

const ORIGINAL: EvidenceReceivedMessage["original"] = {
  account: "devstoreaccount1",
  container: "originals",
  name: "PC1234/BWV-0042/clip.mp4",
  etag: "0x8DDEADBEEF00001",
  url: "http://127.0.0.1:10000/devstoreaccount1/originals/PC1234/BWV-0042/clip.mp4",
  size: 4096,
  contentType: "video/mp4",
};
/** As ingest derives it (the index refuses an evidence-received whose id is not its original's). */
const EVIDENCE_ID = deriveEvidenceId(ORIGINAL);

let stack: RunningStack;
let client: ServiceBusClient;
let admin: ServiceBusAdministrationClient;
let devHost: DevHost | undefined;
let dataDir: string;

function evidenceReceived(): EvidenceReceivedMessage {
  return {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: EVIDENCE_ID,
    original: { ...ORIGINAL },
    capture: { officerId: "PC1234", deviceId: "BWV-0042", recordedAt: "2026-11-26T08:15:00Z" },
    acceptance: { status: "accepted" },
    uploadedAt: "2026-11-26T08:20:00Z",
    sourceEventId: "test-event-1",
  };
}

beforeAll(async () => {
  dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-dlq-")), "data");
  const log = process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger;
  stack = await startStack({ dataDir, log, runFunctions: false });
  const services = stack.services!;
  // The real services, except that the broker refuses every stage result.
  const faulty: FunctionServices = { ...services, publisher: publisherFailingResults(services.publisher) };
  useServices(faulty);
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  admin = createEmulatorAdministrationClient(stack.environment.ServiceBusConnection, stack.serviceBus.certificatePem);
  devHost = startDevHost({
    client,
    definitions: [ingestFunction, hashFunction, indexReceivedFunction, indexResultsFunction],
    hostSettings: readHostJson(),
    log: log.child({ component: "dev-host" }),
  });

  // (a) Not a CloudEvent: ingest says invalid, the dev host dead-letters it at once.
  const blobCreated = client.createSender(ENTITIES.blobCreated.queueName);
  await blobCreated.sendMessages({ messageId: "not-a-cloudevent", body: { hello: "world" }, contentType: "application/json" });
  await blobCreated.close();

  // (b) A recording whose hash stage cannot report on any delivery.
  await services.publisher.publish(ENTITIES.evidenceReceivedTopic, {
    messageId: `${EVIDENCE_ID}:received`,
    body: evidenceReceived(),
    subject: "evidence-received",
    correlationId: EVIDENCE_ID,
  });

  // (c) An event nobody consumed in time (evidence-ready/all-events has no receiver here).
  const ready = client.createSender(ENTITIES.evidenceReadyTopic);
  await ready.sendMessages({ messageId: "short-lived", body: { note: "expires" }, subject: "evidence-ready", correlationId: EVIDENCE_ID, timeToLive: 500 });
  await ready.close();

  await waitFor("blob-created to dead-letter", async () => ((await admin.getQueueRuntimeProperties("blob-created")).deadLetterMessageCount === 1 ? true : undefined));
  await waitFor("the hash message to exhaust its deliveries", async () =>
    (await admin.getSubscriptionRuntimeProperties("evidence-received", "hash")).deadLetterMessageCount === 1 ? true : undefined,
  );
  await waitFor("the event to expire", async () => ((await admin.getSubscriptionRuntimeProperties("evidence-ready", "all-events")).deadLetterMessageCount === 1 ? true : undefined));
  await waitFor("the record to exist", async () => (await services.index.read(EVIDENCE_ID))?.record);
  await devHost.stop();
  devHost = undefined;
}, 90_000);

afterAll(async () => {
  await devHost?.stop();
  useServices(undefined);
  await client?.close();
  await stack?.stop();
});

test("dlq list shows active, dead-letter and scheduled counts for every queue and subscription", async () => {
  const result = await runCli(["dlq", "list", "--data-dir", dataDir, "--json"]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  const rows = JSON.parse(result.stdout) as DlqListRow[];
  const byEntity = Object.fromEntries(rows.map((r) => [r.entity, r]));
  expect(Object.keys(byEntity).sort()).toEqual(
    [
      "blob-created",
      "stage-results",
      "media-results",
      "retention-commands",
      "retention-releases",
      "transcode-segments",
      "transcode-join",
      "content-credentials",
      "evidence-received/hash",
      "evidence-received/transcode",
      "evidence-received/thumbnail",
      "evidence-received/index",
      "evidence-ready/all-events",
      "evidence-ready/ready",
      "evidence-ready/failures",
      "evidence-ready/unit-camden",
      "evidence-ready/updates",
      "evidence-ready/disposals",
    ].sort(),
  );
  expect(byEntity["blob-created"]).toMatchObject({ path: "blob-created", kind: "queue", active: 0, deadLetter: 1, scheduled: 0, transferDeadLetter: 0 });
  expect(byEntity["evidence-received/hash"]).toMatchObject({ path: "evidence-received/Subscriptions/hash", kind: "subscription", active: 0, deadLetter: 1, scheduled: null });
  // Nothing runs the media stages here: their copies wait, not dead-lettered.
  expect(byEntity["evidence-received/transcode"]).toMatchObject({ active: 1, deadLetter: 0 });
  expect(byEntity["evidence-received/index"]).toMatchObject({ active: 0, deadLetter: 0 });
  expect(byEntity["stage-results"]).toMatchObject({ active: 0, deadLetter: 0 });
  // No final event (the recording is not final); the expired event is in all-events' DLQ.
  expect(byEntity["evidence-ready/all-events"]).toMatchObject({ active: 0, deadLetter: 1 });
  expect(byEntity["evidence-ready/failures"]).toMatchObject({ active: 0, deadLetter: 0 });
  expect(byEntity["evidence-ready/ready"]).toMatchObject({ active: 0, deadLetter: 0 });

  const text = await runCli(["dlq", "list", "--data-dir", dataDir]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^ENTITY\s+ACTIVE\s+DEAD-LETTER\s+SCHEDULED$/m);
  expect(text.stdout).toMatch(/^blob-created\s+0\s+1\s+0$/m);
  expect(text.stdout).toMatch(/^evidence-received\/hash\s+0\s+1\s+-$/m);
  expect(text.stdout).toMatch(/^evidence-received\/transcode\s+1\s+0\s+-$/m);
  expect(text.stdout).toContain("custody dlq peek");

  const some = await runCli(["dlq", "list", "evidence-received/Subscriptions/hash", "blob-created", "--data-dir", dataDir, "--json"]);
  expect(some.code).toBe(0);
  expect((JSON.parse(some.stdout) as DlqListRow[]).map((r) => [r.entity, r.deadLetter])).toEqual([
    ["evidence-received/hash", 1],
    ["blob-created", 1],
  ]);
}, 60_000);

test("dlq peek on a stage's subscription shows the dead-letter reason and what the record says of the stage", async () => {
  const result = await runCli(["dlq", "peek", "evidence-received/hash", "--data-dir", dataDir, "--json"]);
  expect(result.code).toBe(0);
  const peek = JSON.parse(result.stdout) as DlqPeekResult;
  expect(peek).toMatchObject({ entity: "evidence-received/hash", path: "evidence-received/Subscriptions/hash", stage: "hash", deadLetterCount: 1 });
  expect(peek.messages).toHaveLength(1);
  const [message] = peek.messages;
  expect(message).toMatchObject({
    messageId: `${EVIDENCE_ID}:received`,
    evidenceId: EVIDENCE_ID,
    deadLetterReason: "MaxDeliveryCountExceeded",
    record: { status: "received", stage: "hash" },
  });
  // The stage never reported: the record has no state for it, and says so.
  expect(message.record).not.toHaveProperty("lastError.code");
  expect(message.deliveryCount).toBe(ENTITIES.hashSubscription.maxDeliveryCount);
  expect(message.deadLetterErrorDescription).toBeTruthy();
  expect(message.sequenceNumber).toMatch(/^\d+$/);
  expect(Number.isNaN(Date.parse(message.enqueuedTime!))).toBe(false);
  expect(typeof message.deliveryCount).toBe("number");

  const text = await runCli(["dlq", "peek", "evidence-received/hash", "--data-dir", dataDir]);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain("evidence-received/hash: 1 of 1 dead-lettered message(s) (stage hash)");
  expect(text.stdout).toContain(`evidence     ${EVIDENCE_ID}`);
  expect(text.stdout).toContain(`dead-letter  MaxDeliveryCountExceeded: ${message.deadLetterErrorDescription}`);
  expect(text.stdout).toContain("record       status received");
  expect(text.stdout).toContain("no error recorded");

  // Peeking locks nothing and moves nothing: the same message is there, as often as asked.
  const again = JSON.parse((await runCli(["dlq", "peek", "evidence-received/Subscriptions/hash", "--data-dir", dataDir, "--json"])).stdout) as DlqPeekResult;
  expect(again.messages.map((m) => [m.sequenceNumber, m.deliveryCount])).toEqual([[message.sequenceNumber, message.deliveryCount]]);
  expect((await admin.getSubscriptionRuntimeProperties("evidence-received", "hash")).deadLetterMessageCount).toBe(1);
}, 60_000);

test("dlq peek on blob-created shows the schema violations; on an event subscription the expiry and the record's status", async () => {
  const invalid = await runCli(["dlq", "peek", "blob-created", "--data-dir", dataDir, "--json"]);
  expect(invalid.code).toBe(0);
  const peekInvalid = JSON.parse(invalid.stdout) as DlqPeekResult;
  expect(peekInvalid.stage).toBeUndefined();
  expect(peekInvalid.messages).toHaveLength(1);
  expect(peekInvalid.messages[0]).toMatchObject({ messageId: "not-a-cloudevent", deadLetterReason: "InvalidMessage", record: null });
  expect(peekInvalid.messages[0].evidenceId).toBeUndefined();
  expect(peekInvalid.messages[0].deadLetterErrorDescription).toMatch(/\S/);

  const expired = await runCli(["dlq", "peek", "evidence-ready/all-events", "--data-dir", dataDir, "--json"]);
  expect(expired.code).toBe(0);
  const peekExpired = JSON.parse(expired.stdout) as DlqPeekResult;
  expect(peekExpired.messages).toHaveLength(1);
  expect(peekExpired.messages[0]).toMatchObject({ messageId: "short-lived", evidenceId: EVIDENCE_ID, deadLetterReason: "TTLExpiredException", record: { status: "received" } });
  expect(peekExpired.messages[0].record).not.toHaveProperty("lastError");
  const text = await runCli(["dlq", "peek", "evidence-ready/all-events", "--data-dir", dataDir]);
  expect(text.stdout).toContain("record       status received");
}, 60_000);

test("an unknown entity exits 2 naming the known ones; a bad --max exits 2", async () => {
  const peek = await runCli(["dlq", "peek", "evidence-received/nope", "--data-dir", dataDir]);
  expect(peek.code).toBe(2);
  expect(peek.stdout).toBe("");
  expect(peek.stderr).toContain("Unknown entity 'evidence-received/nope'");
  for (const known of ["blob-created", "stage-results", "evidence-received/hash", "evidence-ready/failures"]) expect(peek.stderr).toContain(known);

  const list = await runCli(["dlq", "list", "blob-created", "no-such-queue", "--data-dir", dataDir, "--json"]);
  expect(list.code).toBe(2);
  expect(list.stderr).toContain("Unknown entity 'no-such-queue'");

  const max = await runCli(["dlq", "peek", "blob-created", "--max", "0", "--data-dir", dataDir]);
  expect(max.code).toBe(2);
  expect(max.stderr).toContain("--max");
}, 30_000);

test("peek pages through a dead-letter queue with --max, oldest first, without moving anything", async () => {
  // Dead-letter five messages of evidence-ready/failures directly, with a reason, as a consumer would.
  const sender = client.createSender(ENTITIES.evidenceReadyTopic);
  await sender.sendMessages(
    Array.from({ length: 5 }, (_, i) => ({
      messageId: `failed-${i}`,
      body: { i },
      subject: "evidence-failed",
      correlationId: EVIDENCE_ID,
      applicationProperties: { eventType: "org.custody.evidence.failed.v1" },
    })),
  );
  await sender.close();
  const receiver = client.createReceiver(ENTITIES.evidenceReadyTopic, "failures");
  let deadLettered = 0;
  while (deadLettered < 5) {
    for (const message of await receiver.receiveMessages(10, { maxWaitTimeInMs: 1000 })) {
      await receiver.deadLetterMessage(message, { deadLetterReason: "ConsumerRejected", deadLetterErrorDescription: `cannot use ${String(message.messageId)}` });
      deadLettered++;
    }
  }
  await receiver.close();

  const operations = createQueueOperations(
    { kind: "connectionString", connectionString: stack.environment.ServiceBusConnection },
    { emulatorCertificatePem: stack.serviceBus.certificatePem, pageSize: 2 },
  );
  try {
    const failures = { kind: "subscription", topicName: "evidence-ready", subscriptionName: "failures", maxDeliveryCount: 10 } as const;
    const all = await operations.peekDeadLetters(failures, 100);
    expect(all).toHaveLength(5);
    const sequence = all.map((m) => BigInt(m.sequenceNumber));
    expect([...sequence].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(sequence);
    expect(new Set(sequence).size).toBe(5);
    expect(all.every((m) => m.deadLetterReason === "ConsumerRejected")).toBe(true);
    const firstFour = await operations.peekDeadLetters(failures, 4);
    expect(firstFour.map((m) => m.sequenceNumber)).toEqual(all.slice(0, 4).map((m) => m.sequenceNumber));
  } finally {
    await operations.close();
  }

  const cli = await runCli(["dlq", "peek", "evidence-ready/failures", "--max", "2", "--data-dir", dataDir, "--json"]);
  expect(cli.code).toBe(0);
  const peek = JSON.parse(cli.stdout) as DlqPeekResult;
  expect(peek.deadLetterCount).toBe(5);
  expect(peek.messages).toHaveLength(2);
  expect(peek.messages[0].record).toEqual({ status: "received" });
  expect((await admin.getSubscriptionRuntimeProperties("evidence-ready", "failures")).deadLetterMessageCount).toBe(5);
}, 60_000);

test("an emulator connection string without its certificate fails with a clear message (exit 2)", async () => {
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...stack.environment };
    delete env.NODE_EXTRA_CA_CERTS;
    const child = spawn(process.execPath, [CUSTODY_BIN, "dlq", "list", "--data-dir", path.join(dataDir, "none-here")], { stdio: ["ignore", "ignore", "pipe"], env });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("exit", (code) => resolve({ code, stderr }));
  });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("UseDevelopmentEmulator=true");
  expect(result.stderr).toContain("--cert-out");
}, 30_000);
