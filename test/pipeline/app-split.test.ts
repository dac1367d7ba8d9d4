/**
 * The two apps as Azure runs them, on the embedded stack: the core functions (ingest, hash,
 * index, timers) in this process, and the media app as its own `custody dev-host --role media`
 * process whose environment has no evidence index setting at all. A recording still completes
 * — its transcode and thumbnail results arrive by media-results — and a claim sent by another
 * producer's route (with the real SDK, as a compromised media identity would) is dead-lettered
 * with the reason, the record and the published events unchanged.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient, type ServiceBusReceivedMessage } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import type { FixityResultMessage, StageResultMessage } from "../../shared/contracts/messages";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { createLogger } from "../../shared/logging";
import type { StoredRecord } from "../../shared/ports/evidence-index";
import { ENTITIES } from "../../shared/topology";
import { drainEvents } from "../events/event-contract";
import { evidenceIdForBlob, isFinal, waitFor, waitForRecord } from "../support/polling";

const BIN = path.resolve(__dirname, "..", "..", "bin", "custody.js");
const CLIP = path.resolve(__dirname, "..", "..", "fixtures", "media", "exo_fragmented_fmp4.mp4");

let stack: RunningStack;
let client: ServiceBusClient;
let media: ChildProcess;
let mediaEnvironment: Record<string, string>;
const mediaLog: Array<Record<string, unknown>> = [];
/** The core functions' error lines (the in-process dev host relays them here). */
const coreErrors: Array<Record<string, unknown>> = [];
const work = mkdtempSync(path.join(os.tmpdir(), "custody-split-"));
let evidenceId: string;

beforeAll(async () => {
  const log = createLogger({ minLevel: "error", sink: (_level, line) => coreErrors.push(JSON.parse(line) as Record<string, unknown>) });
  stack = await startStack({ dataDir: path.join(work, "data"), log, roles: ["core"], blobPollIntervalInMs: 100 });
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  // The media app's environment: Service Bus and storage only — nothing names the index.
  mediaEnvironment = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !/^(EvidenceIndex|CUSTODY_COSMOS|CUSTODY_APP_ROLE)/.test(e[0])));
  Object.assign(mediaEnvironment, { ServiceBusConnection: stack.environment.ServiceBusConnection, EvidenceStorage: stack.environment.EvidenceStorage });
  media = spawn(process.execPath, [BIN, "dev-host", "--role", "media"], { env: mediaEnvironment, stdio: ["ignore", "pipe", "inherit"] });
  let pending = "";
  media.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      try {
        mediaLog.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
}, 60_000);

afterAll(async () => {
  if (media && media.exitCode === null) {
    const exited = new Promise((resolve) => media.once("exit", resolve));
    media.kill("SIGTERM");
    await exited;
  }
  await client?.close();
  await stack?.stop();
});

test("the media app starts with no evidence index setting and listens to the media stages only", async () => {
  expect(Object.keys(mediaEnvironment).filter((key) => /EvidenceIndex|COSMOS/i.test(key))).toEqual([]);
  const listening = await waitFor("the media dev host to listen", () => {
    const lines = mediaLog.filter((l) => l.message === "listening");
    return lines.length >= 4 ? lines : undefined;
  });
  expect(listening.map((l) => [l.function, l.entity]).sort()).toEqual([
    ["thumbnail", "evidence-received/Subscriptions/thumbnail"],
    ["transcode", "evidence-received/Subscriptions/transcode"],
    ["transcode-join", "transcode-join"],
    ["transcode-segment", "transcode-segments"],
  ]);
  expect(mediaLog.find((l) => l.message === "dev host starting")).toMatchObject({ roles: ["media"] });
});

test("a recording completes across the two apps: the media results arrive by media-results", async () => {
  const blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
  const uploaded = await uploadRecording(blobService.getContainerClient(ORIGINALS_CONTAINER), CLIP, { officerId: "PC7", deviceId: "BWV-7", recordedAt: "2026-11-26T07:00:00Z" });
  evidenceId = await evidenceIdForBlob(stack.services!.index, uploaded.blobName);
  const record = await waitForRecord(stack.services!.index, evidenceId, isFinal, 90_000);
  expect(record.status).toBe("ready");
  expect(record.stages.transcode?.renditions?.map((r) => r.kind)).toContain("proxy");
  expect(record.stages.thumbnail?.renditions?.map((r) => r.kind)).toEqual(expect.arrayContaining(["poster", "thumbnail"]));
  // The media stages ran in the other process (its log), not here (the core stack runs no media function).
  expect(mediaLog.some((l) => l.function === "transcode" && l.evidenceId === evidenceId)).toBe(true);
  const events = (await drainEvents(client, "all-events")).filter(({ event }) => event.subject === evidenceId);
  expect(events.map(({ event }) => event.type)).toEqual(["org.custody.evidence.ready.v1"]);
}, 120_000);

/** Sends `body` to `queue` and waits for it in that queue's dead-letter queue. */
async function sendAndAwaitDeadLetter(queue: string, body: StageResultMessage | FixityResultMessage, messageId: string): Promise<ServiceBusReceivedMessage> {
  const sender = client.createSender(queue);
  await sender.sendMessages({ body, messageId, subject: body.kind, correlationId: body.evidenceId });
  await sender.close();
  const deadLetters = client.createReceiver(queue, { subQueueType: "deadLetter" });
  try {
    return await waitFor(`${messageId} dead-lettered on ${queue}`, async () => {
      const batch = await deadLetters.receiveMessages(10, { maxWaitTimeInMs: 500 });
      for (const message of batch) await deadLetters.completeMessage(message);
      return batch.find((m) => m.messageId === messageId);
    });
  } finally {
    await deadLetters.close();
  }
}

async function stored(): Promise<StoredRecord> {
  const found = await stack.services!.index.read(evidenceId);
  if (!found) throw new Error("record missing");
  return found;
}

describe("a claim by another producer's route is refused", () => {
  let before: StoredRecord;
  let record: EvidenceRecord;
  beforeAll(async () => {
    before = await stored();
    record = before.record;
  });

  afterEach(async () => {
    // Refused before the index: not one write (same ETag), and no event published or re-published.
    const after = await stored();
    expect(after.etag).toBe(before.etag);
    expect(after.record).toEqual(before.record);
    expect((await drainEvents(client, "all-events")).filter(({ event }) => event.subject === evidenceId)).toEqual([]);
  });

  test("a forged hash result on media-results (another SHA-256, attempt 2, finished in 2030)", async () => {
    const forged: StageResultMessage = {
      schemaVersion: 1,
      kind: "stage-result",
      evidenceId,
      stage: "hash",
      attempt: 2,
      outcome: "succeeded",
      final: true,
      startedAt: "2030-01-01T00:00:00.000Z",
      finishedAt: "2030-01-01T00:00:01.000Z",
      actor: "custody/transcode@compromised",
      inputSha256: "e".repeat(64),
      hash: { ...record.hash!, sha256: "e".repeat(64), matchesDevice: true },
    };
    const dead = await sendAndAwaitDeadLetter(ENTITIES.mediaResults.queueName, forged, `${evidenceId}:hash:forged`);
    expect(dead.deadLetterReason).toBe("InvalidMessage");
    expect(dead.deadLetterErrorDescription).toMatch(/^wrong route: a hash stage-result arrived on media-results, but only stage-results carries it/);
    expect(record.hash!.sha256).not.toBe("e".repeat(64));
    // The line an alert fires on: who claimed what, by which route.
    expect(coreErrors).toContainEqual(
      expect.objectContaining({ message: "claim refused: wrong route", evidenceId, route: "media-results", expectedRoute: "stage-results", claim: "hash stage-result" }),
    );
  });

  test("a forged fixity result on media-results (made-up expected hash and size)", async () => {
    const forged: FixityResultMessage = {
      schemaVersion: 1,
      kind: "fixity-result",
      evidenceId,
      status: "modified",
      checkedAt: new Date().toISOString(),
      actor: "custody/thumbnail@compromised",
      sha256Expected: "f".repeat(64),
      sha256Actual: record.hash!.sha256,
      sizeExpected: 1,
      sizeActual: record.hash!.size,
    };
    const dead = await sendAndAwaitDeadLetter(ENTITIES.mediaResults.queueName, forged, `${evidenceId}:fixity:forged`);
    expect(dead.deadLetterReason).toBe("InvalidMessage");
    expect(dead.deadLetterErrorDescription).toMatch(/^wrong route: a fixity-result arrived on media-results/);
  });

  test("a media stage's result on stage-results (the core route carries no media claims)", async () => {
    const misrouted: StageResultMessage = {
      schemaVersion: 1,
      kind: "stage-result",
      evidenceId,
      stage: "transcode",
      attempt: 3,
      outcome: "failed",
      final: true,
      startedAt: record.stages.transcode!.startedAt!,
      finishedAt: record.stages.transcode!.finishedAt!,
      actor: "custody/transcode@misrouted",
      error: { code: "UnsupportedMedia", message: "misrouted", retryable: false },
    };
    const dead = await sendAndAwaitDeadLetter(ENTITIES.stageResults.queueName, misrouted, `${evidenceId}:transcode:misrouted`);
    expect(dead.deadLetterReason).toBe("InvalidMessage");
    expect(dead.deadLetterErrorDescription).toMatch(/^wrong route: a transcode stage-result arrived on stage-results, but only media-results carries it/);
  });
});
