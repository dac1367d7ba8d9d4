/**
 * The copies `custody dlq redrive` and `custody reconcile` send, on the embedded stack, inside the
 * entities' duplicate-detection window (5 minutes). Service Bus accepts a duplicate send without
 * an error and drops it, so a copy whose id repeats an earlier message's is "sent" and lost:
 *
 * - one recording dead-lettered on two subscriptions of evidence-received, redriven from each back
 *   to back: both copies arrive (each id names its run and its subscription);
 * - a stuck recording re-announced by reconcile twice: ingest's evidence-received arrives twice
 *   (not dropped as a repeat of the first announcement, nor of the first reconcile);
 * - a record made by stage results alone: reconcile finds its original by the listing and
 *   re-announces it; one with no such original is an error that says what to check.
 *
 * Only the functions each step needs run in a dev host, so the subscriptions' counts show what
 * arrived.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient, type ServiceBusAdministrationClient, type ServiceBusReceivedMessage } from "@azure/service-bus";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import type { AuditRecord } from "../../shared/ports/audit-log";
import type { DeadLetterChangeResult } from "../../shared/operations/redrive";
import type { ReconcileResult } from "../../cli/commands/reconcile";
import { indexMediaResultsFunction, indexReceivedFunction } from "../../functions/index-evidence";
import { ingestFunction } from "../../functions/ingest";
import type { FunctionDefinition } from "../../functions/invocation";
import { useServices } from "../../functions/services";
import { startDevHost, type DevHost } from "../../local/dev-host/dev-host";
import { readHostJson } from "../../local/dev-host/host-json";
import { createEmulatorAdministrationClient } from "../../local/servicebus-emulator";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import { stageResultMessageId } from "../../shared/contracts/message-ids";
import type { EvidenceReceivedMessage, StageResultMessage } from "../../shared/contracts/messages";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import { createLogger, silentLogger } from "../../shared/logging";
import { ENTITIES, ROUTE_TO_SUBSCRIPTION_PROPERTY } from "../../shared/topology";
import { waitFor, waitForRecord } from "../support/polling";
import { runCli } from "./run-cli";

const TOPIC = ENTITIES.evidenceReceivedTopic;
const log = process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger;

let stack: RunningStack;
let client: ServiceBusClient;
let admin: ServiceBusAdministrationClient;
let originals: ContainerClient;
let devHost: DevHost | undefined;
let dataDir: string;

async function counts(subscription: string): Promise<{ active: number; deadLetter: number }> {
  const p = await admin.getSubscriptionRuntimeProperties(TOPIC, subscription);
  return { active: p.activeMessageCount, deadLetter: p.deadLetterMessageCount };
}

/** Every message the subscription holds. A client of its own: the SDK keeps one peek cursor per entity and connection. */
async function peekAll(subscription: string): Promise<ServiceBusReceivedMessage[]> {
  const peeker = new ServiceBusClient(stack.environment.ServiceBusConnection);
  try {
    return await peeker.createReceiver(TOPIC, subscription).peekMessages(100);
  } finally {
    await peeker.close();
  }
}

async function runFunctions(definitions: FunctionDefinition[]): Promise<void> {
  await devHost?.stop();
  devHost = startDevHost({ client, definitions, hostSettings: readHostJson(), log: log.child({ component: "dev-host" }) });
}

async function stopFunctions(): Promise<void> {
  await devHost?.stop();
  devHost = undefined;
}

async function upload(name: string): Promise<{ evidenceId: string; message: EvidenceReceivedMessage }> {
  const bytes = randomBytes(2048);
  const blob = originals.getBlockBlobClient(name);
  const uploaded = await blob.upload(bytes, bytes.length, {
    blobHTTPHeaders: { blobContentType: "video/mp4" },
    metadata: { officerid: "PC4711", deviceid: "BWV-0007", recordedat: "2026-11-26T08:00:00Z" },
  });
  const evidenceId = deriveEvidenceId({ account: originals.accountName, container: ORIGINALS_CONTAINER, name, etag: uploaded.etag! });
  return { evidenceId, message: receivedMessage(evidenceId, name, uploaded.etag!, blob.url, bytes.length) };
}

function receivedMessage(evidenceId: string, name: string, etag: string, url: string, size: number): EvidenceReceivedMessage {
  return {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId,
    original: { account: originals.accountName, container: ORIGINALS_CONTAINER, name, etag, url, size, contentType: "video/mp4" },
    capture: { officerId: "PC4711", deviceId: "BWV-0007", recordedAt: "2026-11-26T08:00:00Z" },
    acceptance: { status: "accepted" },
    uploadedAt: new Date().toISOString(),
    sourceEventId: `test-${evidenceId}`,
  };
}

/** The first announcement, as ingest sends it (its id, `<id>:received`, is now in the topic's window) — routed to `only` when given. */
async function announce(message: EvidenceReceivedMessage, only?: string): Promise<void> {
  const sender = client.createSender(TOPIC);
  await sender.sendMessages({
    messageId: `${message.evidenceId}:received`,
    body: message,
    subject: "evidence-received",
    correlationId: message.evidenceId,
    applicationProperties: { evidenceId: message.evidenceId, ...(only ? { [ROUTE_TO_SUBSCRIPTION_PROPERTY]: only } : {}) },
  });
  await sender.close();
}

/** A media stage's final failure, as the thumbnail stage reports it. */
async function reportThumbnailFailure(evidenceId: string): Promise<void> {
  const result: StageResultMessage = {
    schemaVersion: 1,
    kind: "stage-result",
    evidenceId,
    stage: "thumbnail",
    attempt: 1,
    outcome: "failed",
    final: true,
    startedAt: new Date(Date.now() - 1000).toISOString(),
    finishedAt: new Date().toISOString(),
    actor: "custody/thumbnail@test",
    error: { code: "UnsupportedMedia", message: "no video stream", retryable: false },
  };
  const sender = client.createSender(ENTITIES.mediaResults.queueName);
  await sender.sendMessages({ messageId: stageResultMessageId(result), body: result, subject: "stage-result", correlationId: evidenceId, applicationProperties: { evidenceId } });
  await sender.close();
}

beforeAll(async () => {
  dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-operation-copies-")), "data");
  stack = await startStack({ dataDir, log, runFunctions: false, environment: { CUSTODY_REQUIRED_STAGES: "hash" } });
  useServices(stack.services);
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  admin = createEmulatorAdministrationClient(stack.environment.ServiceBusConnection, stack.serviceBus.certificatePem);
  originals = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage).getContainerClient(ORIGINALS_CONTAINER);
}, 120_000);

afterAll(async () => {
  await devHost?.stop();
  useServices(undefined);
  await client?.close();
  await stack?.stop();
});

test("custody list on an empty index says so, and says where recordings come from", async () => {
  const text = await runCli(["list", "--data-dir", dataDir]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^No recordings in the index\. Upload with `custody process FILE…`.*`custody reconcile --dry-run`\.\n$/);
  const filtered = await runCli(["list", "--status", "failed", "--officer", "PC1", "--data-dir", dataDir]);
  expect(filtered.stdout).toBe("No recordings with status failed, officer PC1 (`custody list` without filters shows all).\n");
  expect(JSON.parse((await runCli(["list", "--json", "--data-dir", dataDir])).stdout)).toEqual([]);
});

test("one recording dead-lettered on transcode and thumbnail, redriven from each back to back: both copies arrive", async () => {
  // No blob and no function: only the messages matter here.
  const evidenceId = "ev-0123456789abcdef0123456789abcdef";
  const message = receivedMessage(evidenceId, "PC4711/BWV-0007/two-subscriptions.mp4", '"0x1"', "http://127.0.0.1/none", 1);
  await announce(message);
  for (const subscription of ["transcode", "thumbnail"]) {
    const receiver = client.createReceiver(TOPIC, subscription);
    const [received] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
    expect(received.messageId).toBe(`${evidenceId}:received`);
    await receiver.deadLetterMessage(received, { deadLetterReason: "MaxDeliveryCountExceeded", deadLetterErrorDescription: `${subscription} crashed on every delivery` });
    await receiver.close();
  }
  for (const subscription of ["hash", "index"]) {
    const receiver = client.createReceiver(TOPIC, subscription);
    for (const received of await receiver.receiveMessages(10, { maxWaitTimeInMs: 2000 })) await receiver.completeMessage(received);
    await receiver.close();
  }
  expect(await counts("transcode")).toEqual({ active: 0, deadLetter: 1 });
  expect(await counts("thumbnail")).toEqual({ active: 0, deadLetter: 1 });

  const first = await runCli(["dlq", "redrive", `${TOPIC}/transcode`, "--data-dir", dataDir, "--json"]);
  expect(first.stderr).toBe("");
  expect(first.code).toBe(0);
  const second = await runCli(["dlq", "redrive", `${TOPIC}/thumbnail`, "--evidence", evidenceId, "--rate", "5", "--data-dir", dataDir, "--json"]);
  expect(second.stderr).toBe("");
  expect(second.code).toBe(0);
  const [one, two] = [JSON.parse(first.stdout) as DeadLetterChangeResult, JSON.parse(second.stdout) as DeadLetterChangeResult];
  expect(one.count).toBe(1);
  expect(two.count).toBe(1);

  // Both arrived: the thumbnail copy was not dropped as a repeat of the transcode copy.
  expect(await counts("transcode")).toEqual({ active: 1, deadLetter: 0 });
  expect(await counts("thumbnail")).toEqual({ active: 1, deadLetter: 0 });
  const [transcodeCopy] = await peekAll("transcode");
  const [thumbnailCopy] = await peekAll("thumbnail");
  expect(transcodeCopy.messageId).toBe(one.messages[0].newMessageId);
  expect(thumbnailCopy.messageId).toBe(two.messages[0].newMessageId);
  expect(transcodeCopy.messageId).not.toBe(thumbnailCopy.messageId);
  // Each id names the original message, the run and the subscription.
  expect(transcodeCopy.messageId).toMatch(new RegExp(`^${evidenceId}:received:redrive-${one.id}:transcode:\\d+$`));
  expect(thumbnailCopy.messageId).toMatch(new RegExp(`^${evidenceId}:received:redrive-${two.id}:thumbnail:\\d+$`));
  expect(thumbnailCopy.applicationProperties).toMatchObject({ custodyOperation: `redrive-${two.id}`, custodyRedriveTo: "thumbnail" });

  // The audit record says how fast it went.
  const audit = JSON.parse((await runCli(["audit", "--json", "--data-dir", dataDir])).stdout) as AuditRecord[];
  expect(audit.find((r) => r.id === two.id)).toMatchObject({ count: 1, filter: { evidenceId, rate: 5 }, messageIds: [`${evidenceId}:received`] });
}, 120_000);

test("dlq peek --json shows each message's application properties and a reprocess request; purge --dry-run and --evidence", async () => {
  const [a, b] = ["ev-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ev-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"];
  const sender = client.createSender(TOPIC);
  const request = { id: "6f1c2a9e-0000-4000-8000-000000000001", requestedBy: "alice@host", requestedAt: new Date().toISOString(), reason: "ffmpeg 7.1 upgrade" };
  await sender.sendMessages([
    {
      messageId: `${a}:received`,
      body: { evidenceId: a },
      correlationId: a,
      subject: "evidence-received",
      applicationProperties: { evidenceId: a, acceptance: "accepted", [ROUTE_TO_SUBSCRIPTION_PROPERTY]: "hash" },
    },
    {
      messageId: `${b}:received:reprocess-${request.id}:hash`,
      body: { evidenceId: b, reprocess: request },
      correlationId: b,
      subject: "evidence-received",
      applicationProperties: { evidenceId: b, [ROUTE_TO_SUBSCRIPTION_PROPERTY]: "hash" },
    },
  ]);
  await sender.close();
  const receiver = client.createReceiver(TOPIC, "hash");
  let deadLettered = 0;
  while (deadLettered < 2) {
    for (const m of await receiver.receiveMessages(2, { maxWaitTimeInMs: 5000 })) {
      await receiver.deadLetterMessage(m, { deadLetterReason: "MaxDeliveryCountExceeded", deadLetterErrorDescription: "test" });
      deadLettered++;
    }
  }
  await receiver.close();

  const peek = JSON.parse((await runCli(["dlq", "peek", `${TOPIC}/hash`, "--json", "--data-dir", dataDir])).stdout) as { messages: Array<Record<string, unknown>> };
  const byEvidence = new Map(peek.messages.map((m) => [m.evidenceId as string, m]));
  expect(byEvidence.get(a)).toMatchObject({ correlationId: a, applicationProperties: { evidenceId: a, acceptance: "accepted", custodyRedriveTo: "hash" } });
  expect(byEvidence.get(a)!.reprocess).toBeUndefined();
  expect(byEvidence.get(b)).toMatchObject({ reprocess: { id: request.id, requestedBy: "alice@host", reason: "ffmpeg 7.1 upgrade" } });
  const text = (await runCli(["dlq", "peek", `${TOPIC}/hash`, "--data-dir", dataDir])).stdout;
  expect(text).toContain(`reprocess    request ${request.id} by alice@host (ffmpeg 7.1 upgrade): fix the cause, then \`custody dlq redrive ${TOPIC}/hash --evidence ${b}\``);

  const refused = await runCli(["dlq", "purge", `${TOPIC}/hash`, "--evidence", a, "--data-dir", dataDir]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain("--dry-run");
  const dry = JSON.parse((await runCli(["dlq", "purge", `${TOPIC}/hash`, "--evidence", a, "--dry-run", "--data-dir", dataDir, "--json"])).stdout) as DeadLetterChangeResult;
  expect(dry).toMatchObject({ action: "purge", dryRun: true, count: 1 });
  expect(dry.messages.map((m) => m.messageId)).toEqual([`${a}:received`]);
  expect(dry.audit).toBeUndefined();
  expect((await runCli(["dlq", "purge", `${TOPIC}/hash`, "--dry-run", "--data-dir", dataDir])).stdout).toContain("would purge 2 message(s) (dry run: nothing changed)");
  expect(await counts("hash")).toEqual({ active: 0, deadLetter: 2 });

  const purged = JSON.parse((await runCli(["dlq", "purge", `${TOPIC}/hash`, "--evidence", a, "--yes", "--data-dir", dataDir, "--json"])).stdout) as DeadLetterChangeResult;
  expect(purged.messages.map((m) => m.evidenceId)).toEqual([a]);
  expect(await counts("hash")).toEqual({ active: 0, deadLetter: 1 });
  const audit = JSON.parse((await runCli(["audit", "--json", "--data-dir", dataDir])).stdout) as AuditRecord[];
  expect(audit.find((r) => r.id === purged.id)).toMatchObject({ action: "purge", count: 1, filter: { evidenceId: a }, evidenceIds: [a] });
  await runCli(["dlq", "purge", `${TOPIC}/hash`, "--yes", "--data-dir", dataDir]);
  expect(await counts("hash")).toEqual({ active: 0, deadLetter: 0 });
}, 120_000);

test("a stuck recording re-announced by reconcile twice within the window reaches the stages twice", async () => {
  const name = "PC4711/BWV-0007/stuck-twice.mp4";
  const { evidenceId, message } = await upload(name);
  // The first announcement reached the index only (the stages' copies were lost), and its id is
  // in the topic's duplicate-detection window.
  await runFunctions([indexReceivedFunction]);
  await announce(message, "index");
  const received = await waitForRecord(stack.services!.index, evidenceId, (r) => r.original !== undefined);
  expect(received.status).toBe("received");
  await stopFunctions();
  expect(await counts("hash")).toEqual({ active: 0, deadLetter: 0 });

  await runFunctions([ingestFunction]);
  await waitFor("the record to be older than --stuck-after", () => (Date.now() - Date.parse(received.updatedAt) > 1500 ? true : undefined));
  const ids: string[] = [];
  for (const run of [1, 2]) {
    const out = await runCli(["reconcile", "--stuck-after", "1s", "--json", "--data-dir", dataDir]);
    expect(out.stderr).toBe("");
    const result = JSON.parse(out.stdout) as ReconcileResult;
    const item = result.items.find((i) => i.evidenceId === evidenceId);
    expect(item).toMatchObject({ reason: `stuck since ${received.updatedAt}`, sent: true });
    ids.push(result.id);
    // Ingest turned it into an evidence-received that the hash subscription really got.
    const arrived = await waitFor(`re-announcement ${run} at the hash stage`, async () => {
      const copies = (await peekAll("hash")).filter((m) => m.correlationId === evidenceId);
      return copies.length === run ? copies : undefined;
    });
    expect(item!.messageId).toBe(`${item!.eventId}:reconcile-${result.id}:${ENTITIES.blobCreated.queueName}`);
    expect(arrived.map((m) => m.messageId)).toEqual(ids.map((id) => `${evidenceId}:received:reconcile-${id}`));
  }
  await stopFunctions();
}, 120_000);

test("a record made by stage results alone: reconcile re-announces its original; without one it says what to check", async () => {
  const name = "PC4711/BWV-0007/results-first.mp4";
  const { evidenceId } = await upload(name);
  const orphan = "ev-00000000000000000000000000000abc";
  await runFunctions([indexMediaResultsFunction]);
  await reportThumbnailFailure(evidenceId);
  await reportThumbnailFailure(orphan);
  const made = await waitForRecord(stack.services!.index, evidenceId, (r) => r.stages.thumbnail?.status === "failed");
  await waitForRecord(stack.services!.index, orphan, (r) => r.stages.thumbnail?.status === "failed");
  expect(made.original).toBeUndefined();
  await stopFunctions();
  await waitFor("the records to be older than --stuck-after", () => (Date.now() - Date.parse(made.updatedAt) > 1500 ? true : undefined));

  const out = await runCli(["reconcile", "--stuck-after", "1s", "--json", "--data-dir", dataDir]);
  // The orphan is an error (exit code 2); the other recording is re-announced all the same.
  expect(out.code).toBe(2);
  const result = JSON.parse(out.stdout) as ReconcileResult;
  expect(result.items).toContainEqual(
    expect.objectContaining({ evidenceId, blob: `${ORIGINALS_CONTAINER}/${name}`, reason: `record names no original (created by stage results alone) since ${made.updatedAt}`, sent: true }),
  );
  expect(result.items.find((i) => i.evidenceId === orphan)).toBeUndefined();
  expect(result.errors).toEqual([expect.stringContaining(`${orphan}: stuck since`)]);
  expect(result.errors[0]).toContain("nothing to re-announce");
  expect(result.errors[0]).toContain(`custody status ${orphan}`);
  const text = await runCli(["reconcile", "--stuck-after", "1s", "--dry-run", "--data-dir", dataDir]);
  expect(text.stdout).toContain(`ERROR ${orphan}`);

  // Ingest and the index take the re-announcement: the record now names its original.
  await runFunctions([ingestFunction, indexReceivedFunction]);
  const completed = await waitForRecord(stack.services!.index, evidenceId, (r) => r.original !== undefined);
  expect(completed.original).toMatchObject({ container: ORIGINALS_CONTAINER, name });
  await stopFunctions();
}, 120_000);
