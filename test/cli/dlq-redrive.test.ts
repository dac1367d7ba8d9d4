/**
 * `custody dlq redrive`, `custody dlq purge` and `custody audit` against an embedded stack,
 * with messages that dead-lettered for real (as in dlq-commands.test.ts): the hash function
 * runs in a dev host while every read of an original fails transiently, so the recording's
 * hash message exhausts its deliveries. The functions are stopped while the CLI redrives, so
 * the emulator's counts show exactly where the copies went (only the hash subscription); the
 * fault is then removed and the functions restarted to finish the recording.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient, type ServiceBusAdministrationClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import type { AuditRecord } from "../../shared/ports/audit-log";
import type { DeadLetterChangeResult } from "../../shared/operations/redrive";
import { hashFunction } from "../../functions/hash";
import { indexReceivedFunction, indexResultsFunction } from "../../functions/index-evidence";
import { useServices, type FunctionServices } from "../../functions/services";
import { startDevHost, type DevHost } from "../../local/dev-host/dev-host";
import { readHostJson } from "../../local/dev-host/host-json";
import { createEmulatorAdministrationClient } from "../../local/servicebus-emulator";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import type { EvidenceReceivedMessage } from "../../shared/contracts/messages";
import { createLogger, silentLogger } from "../../shared/logging";
import { ENTITIES } from "../../shared/topology";
import { waitFor } from "../support/polling";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import { publisherFailingResults } from "./dead-letter-fixture";
import { runCli } from "./run-cli";

/** Derived from the uploaded original, as ingest does (the index refuses an evidence-received whose id is not its original's). */
let EVIDENCE_ID: string;
const BLOB_NAME = "PC1234/BWV-0042/redrive.mp4";

let stack: RunningStack;
let client: ServiceBusClient;
let admin: ServiceBusAdministrationClient;
let devHost: DevHost | undefined;
let dataDir: string;
let failing = true;
const log = process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger;

async function counts(topic: string, subscription: string): Promise<{ active: number; deadLetter: number }> {
  const p = await admin.getSubscriptionRuntimeProperties(topic, subscription);
  return { active: p.activeMessageCount, deadLetter: p.deadLetterMessageCount };
}

function startFunctions(): DevHost {
  return startDevHost({
    client,
    definitions: [hashFunction, indexReceivedFunction, indexResultsFunction],
    hostSettings: readHostJson(),
    log: log.child({ component: "dev-host" }),
  });
}

beforeAll(async () => {
  dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-redrive-")), "data");
  // Only hash is required, so the recording can become ready without media tools.
  stack = await startStack({ dataDir, log, runFunctions: false, environment: { CUSTODY_REQUIRED_STAGES: "hash" } });
  const services = stack.services!;
  const faulty: FunctionServices = { ...services, publisher: publisherFailingResults(services.publisher, () => failing) };
  useServices(faulty);
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  admin = createEmulatorAdministrationClient(stack.environment.ServiceBusConnection, stack.serviceBus.certificatePem);

  // A real original, so the hash succeeds once the fault is removed.
  const bytes = randomBytes(4096);
  const blob = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage).getContainerClient(ORIGINALS_CONTAINER).getBlockBlobClient(BLOB_NAME);
  const uploaded = await blob.upload(bytes, bytes.length, { blobHTTPHeaders: { blobContentType: "video/mp4" } });
  EVIDENCE_ID = deriveEvidenceId({ account: "devstoreaccount1", container: ORIGINALS_CONTAINER, name: BLOB_NAME, etag: uploaded.etag! });
  const received: EvidenceReceivedMessage = {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: EVIDENCE_ID,
    original: { account: "devstoreaccount1", container: ORIGINALS_CONTAINER, name: BLOB_NAME, etag: uploaded.etag!, url: blob.url, size: bytes.length, contentType: "video/mp4" },
    capture: { officerId: "PC1234", deviceId: "BWV-0042", recordedAt: "2026-11-26T08:15:00Z" },
    acceptance: { status: "accepted" },
    uploadedAt: "2026-11-26T08:20:00Z",
    sourceEventId: "test-event-redrive",
  };

  devHost = startFunctions();
  await services.publisher.publish(ENTITIES.evidenceReceivedTopic, { messageId: `${EVIDENCE_ID}:received`, body: received, subject: "evidence-received", correlationId: EVIDENCE_ID });
  await waitFor("the hash message to exhaust its deliveries", async () => ((await counts("evidence-received", "hash")).deadLetter === 1 ? true : undefined), 60_000);
  await waitFor("the record to exist", async () => (await services.index.read(EVIDENCE_ID))?.record);
  await devHost.stop();
  devHost = undefined;
}, 120_000);

afterAll(async () => {
  await devHost?.stop();
  useServices(undefined);
  await client?.close();
  await stack?.stop();
});

test("redrive of a subscription's dead-letters reaches only that subscription; --dry-run changes nothing; the record ends ready", async () => {
  const before = {
    hash: await counts("evidence-received", "hash"),
    transcode: await counts("evidence-received", "transcode"),
    thumbnail: await counts("evidence-received", "thumbnail"),
    index: await counts("evidence-received", "index"),
  };
  expect(before.hash).toEqual({ active: 0, deadLetter: 1 });
  // Nothing runs the media stages: their copies of the original message wait.
  expect(before.transcode).toEqual({ active: 1, deadLetter: 0 });
  expect(before.thumbnail).toEqual({ active: 1, deadLetter: 0 });
  expect(before.index).toEqual({ active: 0, deadLetter: 0 });

  const dry = await runCli(["dlq", "redrive", "evidence-received/hash", "--dry-run", "--data-dir", dataDir, "--json"]);
  expect(dry.stderr).toBe("");
  expect(dry.code).toBe(0);
  const dryResult = JSON.parse(dry.stdout) as DeadLetterChangeResult;
  expect(dryResult).toMatchObject({ action: "redrive", dryRun: true, entity: "evidence-received/hash", count: 1 });
  expect(dryResult.audit).toBeUndefined();
  expect(dryResult.messages[0]).toMatchObject({ messageId: `${EVIDENCE_ID}:received`, evidenceId: EVIDENCE_ID, deadLetterReason: "MaxDeliveryCountExceeded" });
  // The copy's id names the run and the subscription (and the dead-letter's sequence number).
  expect(dryResult.messages[0].newMessageId).toBe(`${EVIDENCE_ID}:received:redrive-${dryResult.id}:hash:${dryResult.messages[0].sequenceNumber}`);
  const dryText = await runCli(["dlq", "redrive", "evidence-received/hash", "--dry-run", "--data-dir", dataDir]);
  expect(dryText.stdout).toContain("would redrive 1 message(s)");
  expect(dryText.stdout).toContain("dry run: nothing changed");
  expect(await counts("evidence-received", "hash")).toEqual(before.hash);

  // A filter that matches nothing moves nothing (and leaves the message where it was).
  const none = await runCli(["dlq", "redrive", "evidence-received/hash", "--reason-like", "*TTLExpired*", "--data-dir", dataDir, "--json"]);
  expect(none.code).toBe(0);
  expect(JSON.parse(none.stdout)).toMatchObject({ count: 0, messages: [] });
  expect((await counts("evidence-received", "hash")).deadLetter).toBe(1);

  const redrive = await runCli(["dlq", "redrive", "evidence-received/hash", "--reason-like", "maxdelivery", "--evidence", EVIDENCE_ID, "--data-dir", dataDir, "--json"]);
  expect(redrive.stderr).toBe("");
  expect(redrive.code).toBe(0);
  const result = JSON.parse(redrive.stdout) as DeadLetterChangeResult;
  expect(result).toMatchObject({ action: "redrive", dryRun: false, count: 1, destination: "evidence-received (custodyRedriveTo=hash)" });
  expect(result.audit).toMatch(/^audit\/\d{4}-\d\d-\d\d\/.+\.json$/);

  // Only the hash subscription got the copy; the others' counts are what they were.
  expect(await counts("evidence-received", "hash")).toEqual({ active: 1, deadLetter: 0 });
  expect(await counts("evidence-received", "transcode")).toEqual(before.transcode);
  expect(await counts("evidence-received", "thumbnail")).toEqual(before.thumbnail);
  expect(await counts("evidence-received", "index")).toEqual(before.index);

  const peeker = client.createReceiver("evidence-received", "hash");
  const [copy] = await peeker.peekMessages(1);
  await peeker.close();
  expect(copy.messageId).toBe(`${EVIDENCE_ID}:received:redrive-${result.id}:hash:${result.messages[0].sequenceNumber}`);
  expect(copy.correlationId).toBe(EVIDENCE_ID);
  expect(copy.subject).toBe("evidence-received");
  expect(copy.body).toMatchObject({ evidenceId: EVIDENCE_ID, kind: "evidence-received" });
  expect(copy.applicationProperties).toMatchObject({ custodyRedriveCount: 1, custodyRedriveId: result.id, custodyRedriveTo: "hash" });
  expect(copy.applicationProperties).not.toHaveProperty("DeadLetterReason");
  expect(copy.applicationProperties).not.toHaveProperty("DeadLetterErrorDescription");

  // The fault is gone: the functions process the copy once and the record becomes ready.
  failing = false;
  devHost = startFunctions();
  const record = await waitFor("the record to be ready", async () => {
    const r = (await stack.services!.index.read(EVIDENCE_ID))?.record;
    return r?.status === "ready" && r.finalEvent?.publishedAt ? r : undefined;
  });
  expect(record.stages.hash?.status).toBe("succeeded");
  await devHost.stop();
  devHost = undefined;
  expect(await counts("evidence-received", "hash")).toEqual({ active: 0, deadLetter: 0 });
  const events = client.createReceiver(ENTITIES.evidenceReadyTopic, "all-events");
  const published = await events.peekMessages(100);
  await events.close();
  expect(published.filter((m) => m.correlationId === EVIDENCE_ID && m.subject === "org.custody.evidence.ready.v1")).toHaveLength(1);
}, 90_000);

test("--reason-like and --max select; purge needs --yes; audit lists every redrive and purge", async () => {
  const sender = client.createSender(ENTITIES.evidenceReadyTopic);
  await sender.sendMessages(
    Array.from({ length: 5 }, (_, i) => ({
      messageId: `f-${i}`,
      body: { i },
      subject: "evidence-failed",
      correlationId: EVIDENCE_ID,
      contentType: "application/json",
      // The failures subscription routes on the event type.
      applicationProperties: { origin: "test", i, eventType: "org.custody.evidence.failed.v1" },
    })),
  );
  await sender.close();
  const receiver = client.createReceiver(ENTITIES.evidenceReadyTopic, "failures");
  let deadLettered = 0;
  while (deadLettered < 5) {
    for (const message of await receiver.receiveMessages(10, { maxWaitTimeInMs: 1000 })) {
      const id = String(message.messageId);
      if (!id.startsWith("f-")) {
        await receiver.completeMessage(message);
        continue;
      }
      const alpha = Number(id.slice(2)) < 3;
      await receiver.deadLetterMessage(
        message,
        alpha
          ? { deadLetterReason: "ConsumerRejected", deadLetterErrorDescription: `alpha trouble in ${id}` }
          : { deadLetterReason: "PoisonMessage", deadLetterErrorDescription: `beta trouble in ${id}` },
      );
      deadLettered++;
    }
  }
  await receiver.close();
  expect(await counts("evidence-ready", "failures")).toEqual({ active: 0, deadLetter: 5 });
  const allEventsBefore = await counts("evidence-ready", "all-events");

  const substring = JSON.parse((await runCli(["dlq", "redrive", "evidence-ready/failures", "--reason-like", "ALPHA", "--dry-run", "--data-dir", dataDir, "--json"])).stdout) as DeadLetterChangeResult;
  expect(substring.messages.map((m) => m.messageId).sort()).toEqual(["f-0", "f-1", "f-2"]);
  const glob = JSON.parse((await runCli(["dlq", "redrive", "evidence-ready/failures", "--reason-like", "poison*", "--dry-run", "--data-dir", dataDir, "--json"])).stdout) as DeadLetterChangeResult;
  expect(glob.messages.map((m) => m.messageId).sort()).toEqual(["f-3", "f-4"]);
  const maxed = JSON.parse((await runCli(["dlq", "redrive", "evidence-ready/failures", "--max", "4", "--dry-run", "--data-dir", dataDir, "--json"])).stdout) as DeadLetterChangeResult;
  expect(maxed.count).toBe(4);

  const run = await runCli(["dlq", "redrive", "evidence-ready/failures", "--reason-like", "*alpha*", "--max", "2", "--rate", "20", "--data-dir", dataDir, "--json"]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const redrove = JSON.parse(run.stdout) as DeadLetterChangeResult;
  expect(redrove.count).toBe(2);
  const movedIds = redrove.messages.map((m) => m.messageId!);
  for (const id of movedIds) expect(["f-0", "f-1", "f-2"]).toContain(id);
  expect(redrove.messages.map((m) => m.newMessageId)).toEqual(redrove.messages.map((m) => `${m.messageId}:redrive-${redrove.id}:failures:${m.sequenceNumber}`));
  expect(await counts("evidence-ready", "failures")).toEqual({ active: 2, deadLetter: 3 });
  expect(await counts("evidence-ready", "all-events")).toEqual(allEventsBefore);
  const peeker = client.createReceiver(ENTITIES.evidenceReadyTopic, "failures");
  const copies = await peeker.peekMessages(10);
  await peeker.close();
  expect(copies).toHaveLength(2);
  for (const copy of copies) {
    expect(copy.contentType).toBe("application/json");
    expect(copy.subject).toBe("evidence-failed");
    expect(copy.correlationId).toBe(EVIDENCE_ID);
    expect(copy.applicationProperties).toMatchObject({ origin: "test", custodyRedriveCount: 1, custodyRedriveId: redrove.id, custodyRedriveTo: "failures" });
  }

  const refused = await runCli(["dlq", "purge", "evidence-ready/failures", "--data-dir", dataDir]);
  expect(refused.code).toBe(2);
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toContain("--yes");
  expect((await counts("evidence-ready", "failures")).deadLetter).toBe(3);

  const beta = JSON.parse((await runCli(["dlq", "purge", "evidence-ready/failures", "--reason-like", "beta", "--yes", "--data-dir", dataDir, "--json"])).stdout) as DeadLetterChangeResult;
  expect(beta.messages.map((m) => m.messageId).sort()).toEqual(["f-3", "f-4"]);
  expect((await counts("evidence-ready", "failures")).deadLetter).toBe(1);
  const notOldEnough = JSON.parse((await runCli(["dlq", "purge", "evidence-ready/failures", "--older-than", "1d", "--yes", "--data-dir", dataDir, "--json"])).stdout) as DeadLetterChangeResult;
  expect(notOldEnough.count).toBe(0);
  const rest = await runCli(["dlq", "purge", "evidence-ready/failures", "--yes", "--data-dir", dataDir]);
  expect(rest.code).toBe(0);
  expect(rest.stdout).toContain("purged 1 message(s)");
  expect(await counts("evidence-ready", "failures")).toEqual({ active: 2, deadLetter: 0 });

  const audit = await runCli(["audit", "--data-dir", dataDir, "--json"]);
  expect(audit.stderr).toBe("");
  expect(audit.code).toBe(0);
  const records = JSON.parse(audit.stdout) as AuditRecord[];
  // Newest first: three purges, the failures redrive, the hash redrive, the redrive that matched nothing.
  expect(records.map((r) => [r.action, r.entity, r.count])).toEqual([
    ["purge", "evidence-ready/failures", 1],
    ["purge", "evidence-ready/failures", 0],
    ["purge", "evidence-ready/failures", 2],
    ["redrive", "evidence-ready/failures", 2],
    ["redrive", "evidence-received/hash", 1],
    ["redrive", "evidence-received/hash", 0],
  ]);
  const who = `${os.userInfo().username}@${os.hostname()}`;
  for (const r of records) expect(r.who).toBe(who);
  expect(records[2]).toMatchObject({ filter: { reasonLike: "beta" }, messageIds: expect.arrayContaining(["f-3", "f-4"]), evidenceIds: [EVIDENCE_ID] });
  expect(records[3]).toMatchObject({ id: redrove.id, filter: { reasonLike: "*alpha*", max: 2, rate: 20 }, messageIds: movedIds, evidenceIds: [EVIDENCE_ID] });
  expect(records[4]).toMatchObject({
    filter: { reasonLike: "maxdelivery", evidenceId: EVIDENCE_ID },
    messageIds: [`${EVIDENCE_ID}:received`],
    evidenceIds: [EVIDENCE_ID],
    destination: "evidence-received (custodyRedriveTo=hash)",
  });

  const future = await runCli(["audit", "--since", "2999-01-01", "--data-dir", dataDir, "--json"]);
  expect(JSON.parse(future.stdout)).toEqual([]);
  const text = await runCli(["audit", "--since", "1h", "--data-dir", dataDir]);
  expect(text.stdout).toContain(`redrive   evidence-received/hash  1 message(s)  by ${who}`);
}, 90_000);
