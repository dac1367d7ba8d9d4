/**
 * The evidence events as a contract, end to end on the embedded stack (real Azurite, Cosmos
 * stand-in, Service Bus emulator, the app's functions): the topology's example subscriptions
 * receive exactly the events their filters describe, once per recording outcome, even when the
 * messages that trigger the events are delivered again; every event is a valid CloudEvent
 * whose data matches its schema; `custody subscribe` narrows a subscription at run time, tails
 * it, and puts its rules back.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import Long from "long";
import { BlobServiceClient } from "@azure/storage-blob";
import { uploadRecording, type DockUploadOptions } from "../../shared/adapters/dock-upload";
import { blobCreatedEvent } from "../../shared/contracts/blob-created-cloud-event";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import type { EvidenceReceivedMessage, StageResultMessage } from "../../shared/contracts/messages";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { createLogger, silentLogger } from "../../shared/logging";
import { declaredRules, ENTITIES } from "../../shared/topology";
import { CUSTODY_BIN, runCli } from "../cli/run-cli";
import { isFinal, waitForRecord } from "../support/polling";
import { drainEvents, expectEvidenceEvent } from "./event-contract";

let stack: RunningStack;
let client: ServiceBusClient;
let blobService: BlobServiceClient;
const workDir = mkdtempSync(path.join(os.tmpdir(), "custody-events-"));
const dataDir = path.join(workDir, "data");
const CLIP = readFileSync(path.join(__dirname, "..", "..", "fixtures", "media", "exo_fragmented_fmp4.mp4"));
const CORRUPT = readFileSync(path.join(__dirname, "..", "..", "fixtures", "media", "ft_mkv_corrupt_ebml.mkv"));
const TOPIC = ENTITIES.evidenceReadyTopic;

beforeAll(async () => {
  stack = await startStack({ dataDir, log: process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger, blobPollIntervalInMs: 100 });
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

let counter = 0;
async function upload(bytes: Buffer, options: Omit<DockUploadOptions, "recordedAt"> & { recordedAt?: string }): Promise<{ evidenceId: string; blobName: string; etag: string; size: number }> {
  const file = path.join(workDir, `rec-${++counter}.mp4`);
  writeFileSync(file, bytes);
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const uploaded = await uploadRecording(container, file, { recordedAt: "2026-11-26T08:00:00Z", ...options });
  const evidenceId = deriveEvidenceId({ account: blobService.accountName, container: ORIGINALS_CONTAINER, name: uploaded.blobName, etag: uploaded.etag, versionId: uploaded.versionId });
  return { evidenceId, blobName: uploaded.blobName, etag: uploaded.etag, size: uploaded.size };
}

function waitForFinal(evidenceId: string, timeoutInMs = 60_000): Promise<EvidenceRecord> {
  return waitForRecord(stack.services!.index, evidenceId, isFinal, timeoutInMs);
}

/** Until every pipeline queue and subscription is empty twice in a row (re-runs of duplicates included). */
async function waitForQuiet(timeoutInMs = 60_000): Promise<void> {
  const entities = [
    client.createReceiver(ENTITIES.blobCreated.queueName),
    client.createReceiver(ENTITIES.stageResults.queueName),
    client.createReceiver(ENTITIES.mediaResults.queueName),
    ...[ENTITIES.hashSubscription, ENTITIES.transcodeSubscription, ENTITIES.thumbnailSubscription, ENTITIES.indexSubscription].map((s) => client.createReceiver(s.topicName, s.subscriptionName)),
  ];
  const deadline = Date.now() + timeoutInMs;
  try {
    let quietRounds = 0;
    while (quietRounds < 2) {
      if (Date.now() > deadline) throw new Error("the pipeline did not go quiet");
      // Peek shows locked messages too: empty means nothing waiting and nothing being processed.
      // From sequence number 0 each time: without one, the SDK goes on after the last message it peeked.
      const peeked = await Promise.all(entities.map((receiver) => receiver.peekMessages(1, { fromSequenceNumber: Long.fromNumber(0) })));
      quietRounds = peeked.every((messages) => messages.length === 0) ? quietRounds + 1 : 0;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await Promise.all(entities.map((receiver) => receiver.close()));
  }
}

function eventIdsFor(events: Array<{ event: { id: string; subject: string } }>, evidenceIds: string[]): string[] {
  return events
    .filter(({ event }) => evidenceIds.includes(event.subject))
    .map(({ event }) => event.id)
    .sort();
}

test("the example subscriptions receive exactly their events, once per recording, whatever is delivered twice", async () => {
  // Drain what other tests left (none yet, but the test must not depend on order).
  for (const subscription of ["all-events", "ready", "failures", "unit-camden"]) await drainEvents(client, subscription);

  const a = await upload(CLIP, { officerId: "PC-A", deviceId: "BWV-A", unit: "camden" });
  const b = await upload(CLIP, { officerId: "PC-B", deviceId: "BWV-B", unit: "hackney" });
  const c = await upload(randomBytes(3000), { officerId: "PC-C", deviceId: "BWV-C", unit: "camden", extraMetadata: { recordedat: "yesterday" } });
  // A Matroska file with a broken header: transcode fails for good, deterministically.
  const d = await upload(CORRUPT, { officerId: "PC-D", deviceId: "BWV-D" });
  const [recordA, recordB, recordC, recordD] = await Promise.all([a, b, c, d].map((r) => waitForFinal(r.evidenceId)));
  expect([recordA.status, recordB.status, recordC.status, recordD.status]).toEqual(["ready", "ready", "rejected", "failed"]);

  // Deliver the triggering messages again, with new message ids so duplicate detection does not
  // hide them: Event Grid's BlobCreated, ingest's evidence-received (every stage re-runs), and a
  // stage result. The index's idempotency must keep the outcome event single.
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const blobCreated = client.createSender(ENTITIES.blobCreated.queueName);
  for (const copy of [1, 2]) {
    const event = blobCreatedEvent(container, a.blobName, a.etag, { contentLength: a.size, contentType: "video/mp4" });
    await blobCreated.sendMessages({ body: event, messageId: `${event.id}-again-${copy}` });
  }
  await blobCreated.close();
  const received: EvidenceReceivedMessage = {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: a.evidenceId,
    original: recordA.original!,
    capture: recordA.capture,
    acceptance: { status: "accepted" },
    uploadedAt: recordA.uploadedAt!,
    sourceEventId: "delivered-again",
  };
  const evidenceReceived = client.createSender(ENTITIES.evidenceReceivedTopic);
  await evidenceReceived.sendMessages({ body: received, messageId: `${a.evidenceId}:received:again`, subject: "evidence-received", correlationId: a.evidenceId });
  await evidenceReceived.close();
  const hashResult: StageResultMessage = {
    schemaVersion: 1,
    kind: "stage-result",
    evidenceId: b.evidenceId,
    stage: "hash",
    attempt: 1,
    outcome: "succeeded",
    final: true,
    startedAt: recordB.stages.hash!.startedAt!,
    finishedAt: recordB.stages.hash!.finishedAt!,
    actor: "test/delivered-again",
    hash: recordB.hash!,
  };
  const stageResults = client.createSender(ENTITIES.stageResults.queueName);
  await stageResults.sendMessages({ body: hashResult, messageId: `${b.evidenceId}:hash:again`, subject: "stage-result", correlationId: b.evidenceId });
  await stageResults.close();
  await waitForQuiet();

  const ours = [a, b, c, d].map((r) => r.evidenceId);
  const ready = (r: { evidenceId: string }) => `${r.evidenceId}:ready`;
  const failed = (r: { evidenceId: string }) => `${r.evidenceId}:failed`;
  const expected: Record<string, string[]> = {
    "all-events": [ready(a), ready(b), failed(c), failed(d)],
    ready: [ready(a), ready(b)],
    failures: [failed(c), failed(d)],
    "unit-camden": [ready(a), failed(c)],
  };
  const received_: Record<string, Awaited<ReturnType<typeof drainEvents>>> = {};
  for (const [subscription, ids] of Object.entries(expected)) {
    received_[subscription] = await drainEvents(client, subscription);
    expect({ subscription, ids: eventIdsFor(received_[subscription], ours) }).toEqual({ subscription, ids: [...ids].sort() });
  }

  // The routing properties the filters used, and the data behind them.
  const eventA = received_["all-events"].find(({ event }) => event.subject === a.evidenceId)!;
  expect(eventA.message.applicationProperties).toMatchObject({
    eventType: "org.custody.evidence.ready.v1",
    evidenceId: a.evidenceId,
    status: "ready",
    officerId: "PC-A",
    deviceId: "BWV-A",
    unit: "camden",
  });
  expect(eventA.message.subject).toBe("org.custody.evidence.ready.v1");
  // An AMQP timestamp on the wire; the JavaScript SDK hands it over as epoch milliseconds.
  expect(eventA.message.applicationProperties!["cloudEvents:time"]).toBe(Date.parse(eventA.event.time));
  if (eventA.event.type !== "org.custody.evidence.ready.v1") throw new Error("expected evidence-ready");
  expect(eventA.event.data.original.sha256).toBe(recordA.hash!.sha256);
  expect(eventA.event.data.renditions.map((r) => r.kind)).toEqual(expect.arrayContaining(["proxy", "poster", "thumbnail"]));
  const eventC = received_["all-events"].find(({ event }) => event.subject === c.evidenceId)!;
  expect(eventC.event.data).toMatchObject({ status: "rejected", failure: { stage: "ingest", code: "Rejected" } });
  const eventD = received_["all-events"].find(({ event }) => event.subject === d.evidenceId)!;
  expect(eventD.event.data).toMatchObject({ status: "failed", failure: { stage: expect.stringMatching(/transcode|thumbnail/), code: "UnsupportedMedia" } });
  if (eventD.event.type !== "org.custody.evidence.failed.v1") throw new Error("expected evidence-failed");
  expect(eventD.event.data.failure.reason).not.toMatch(/\?/); // the stage's message quotes the URL it read; the event drops the query
  expect(eventD.message.applicationProperties).not.toHaveProperty("unit");
}, 180_000);

test("custody subscribe --filter narrows a subscription at run time, prints only matching events and restores its rules on exit", async () => {
  await drainEvents(client, "ready");
  const child = spawn(process.execPath, [CUSTODY_BIN, "subscribe", "ready", "--filter", "officerId = 'PC-S1'", "--max", "1", "--timeout", "120", "--json", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = collect(child);
  await output.waitForStderr(/listening on evidence-ready\/ready/);
  const rulesWhileFiltered = await ruleNames("ready");
  expect(rulesWhileFiltered).toEqual(["custody-subscribe", "redrive"]);

  // Published while the filter is on: not this officer's, so the subscription never receives it.
  const other = await upload(CLIP, { officerId: "PC-S2", deviceId: "BWV-S2" });
  await waitForFinal(other.evidenceId);
  const mine = await upload(CLIP, { officerId: "PC-S1", deviceId: "BWV-S1", unit: "camden" });
  await waitForFinal(mine.evidenceId);

  const code = await output.exit;
  expect({ code, stderr: output.stderr() }).toMatchObject({ code: 0 });
  const lines = output
    .stdout()
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines).toHaveLength(1);
  // Exactly a CloudEvent in the JSON format: the context attributes and data, nothing else.
  expect(Object.keys(lines[0]).sort()).toEqual(["data", "datacontenttype", "dataschema", "id", "source", "specversion", "subject", "time", "type"]);
  expect(lines[0]).toMatchObject({
    specversion: "1.0",
    id: `${mine.evidenceId}:ready`,
    source: "/custody",
    type: "org.custody.evidence.ready.v1",
    subject: mine.evidenceId,
    datacontenttype: "application/json",
    data: { status: "ready", capture: { officerId: "PC-S1", unit: "camden" } },
  });

  // The topology's rules are back, and the other officer's event never reached the subscription.
  expect(await rules("ready")).toEqual(
    declaredRules(TOPIC, "ready")!
      .map((rule) => ({ name: rule.name, sql: (rule.filter as { sqlExpression: string }).sqlExpression }))
      .sort(byName),
  );
  const left = await drainEvents(client, "ready");
  expect(left.map(({ event }) => event.subject)).not.toContain(other.evidenceId);
}, 180_000);

test("custody subscribe: an invalid event is dead-lettered with its reason, Ctrl-C exits cleanly and restores the rules; a filter Service Bus refuses changes nothing", async () => {
  await drainEvents(client, "all-events"); // what earlier tests published is already there, filter or not
  const before = await rules("all-events");
  const child = spawn(process.execPath, [CUSTODY_BIN, "subscribe", "all-events", "--filter", "unit = 'nowhere'", "--data-dir", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  const output = collect(child);
  await output.waitForStderr(/listening/);
  const sender = client.createSender(TOPIC);
  await sender.sendMessages({
    messageId: "not-an-event",
    body: { hello: "world" },
    contentType: "application/json",
    applicationProperties: { unit: "nowhere", "cloudEvents:type": "org.custody.evidence.ready.v9" },
  });
  await sender.close();
  await output.waitForStderr(/dead-lettered message not-an-event/);
  child.kill("SIGINT");
  expect(await output.exit).toBe(0);
  expect(output.stdout()).toBe("");
  expect(await rules("all-events")).toEqual(before);

  const dlq = client.createReceiver(TOPIC, "all-events", { subQueueType: "deadLetter", receiveMode: "receiveAndDelete" });
  const dead = (await dlq.receiveMessages(10, { maxWaitTimeInMs: 2000 })).find((m) => m.messageId === "not-an-event");
  await dlq.close();
  expect(dead?.deadLetterReason).toBe("InvalidEvent");
  expect(dead?.deadLetterErrorDescription).toMatch(/org\.custody\.evidence\.ready\.v9/);

  const refused = await runCli(["subscribe", "all-events", "--filter", "unit = = 'x'", "--timeout", "5", "--data-dir", dataDir]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/refused|filter/i);
  expect(await rules("all-events")).toEqual(before);

  const unknown = await runCli(["subscribe", "no-such-subscription", "--timeout", "5", "--data-dir", dataDir]);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/no-such-subscription/);
}, 120_000);

test("every event left on the topic's subscriptions by this file is a valid CloudEvent", async () => {
  for (const subscription of ["all-events", "ready", "failures", "unit-camden"]) {
    for (const { message, event } of await drainEvents(client, subscription)) expect(expectEvidenceEvent(message).id).toBe(event.id);
  }
});

// ---------------------------------------------------------------------------------------------

function byName(a: { name: string }, b: { name: string }): number {
  return a.name.localeCompare(b.name);
}

async function rules(subscription: string): Promise<Array<{ name: string; sql?: string }>> {
  const out: Array<{ name: string; sql?: string }> = [];
  for await (const rule of client.createRuleManager(TOPIC, subscription).listRules()) out.push({ name: rule.name, sql: (rule.filter as { sqlExpression?: string }).sqlExpression });
  return out.sort(byName);
}

async function ruleNames(subscription: string): Promise<string[]> {
  return (await rules(subscription)).map((rule) => rule.name);
}

function collect(child: ReturnType<typeof spawn>) {
  let stdout = "";
  let stderr = "";
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    for (const waiter of [...waiters])
      if (waiter.pattern.test(stderr)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    exit,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStderr(pattern: RegExp, timeoutInMs = 30_000): Promise<void> {
      if (pattern.test(stderr)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} on stderr: ${stderr}`)), timeoutInMs);
        waiters.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void exit.then((code) => reject(new Error(`exited ${code} before ${pattern}: ${stderr}`)));
      });
    },
  };
}
