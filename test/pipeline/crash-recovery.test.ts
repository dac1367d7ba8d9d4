/**
 * A dev host killed mid-stage (SIGKILL: no settlement, no cleanup) loses nothing: the message
 * it held is redelivered once its lock expires, another host finishes the work, and the
 * recording still completes with the right hash — the at-least-once path the Functions host
 * relies on in Azure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, openSync, closeSync, ftruncateSync, writeSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { ServiceBusClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { blobCreatedEvent } from "../../shared/contracts/blob-created-cloud-event";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import { silentLogger } from "../../shared/logging";
import { drainEvents } from "../events/event-contract";
import { ENTITIES } from "../../shared/topology";

const BIN = path.resolve(__dirname, "..", "..", "bin", "custody.js");
const LOCK_MS = 3000;
/** Large enough that hashing takes well over a second, so the kill lands mid-stage. */
const SIZE = 768 * 1024 * 1024;

let stack: RunningStack;
const work = mkdtempSync(path.join(os.tmpdir(), "custody-crash-"));

beforeAll(async () => {
  // About hashing a long recording (zeros, not media): only the hash stage gates readiness here.
  stack = await startStack({
    dataDir: path.join(work, "data"),
    log: silentLogger,
    runFunctions: false,
    serviceBusFaults: { lockDurationInMs: LOCK_MS },
    environment: { CUSTODY_REQUIRED_STAGES: "hash" },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

function startDevHostProcess(): ChildProcess {
  return spawn(process.execPath, [BIN, "dev-host"], { env: { ...process.env, ...stack.environment }, stdio: ["ignore", "ignore", "ignore"] });
}

test("a dev host killed while hashing: the message is redelivered after the lock expires and the recording completes", async () => {
  // A sparse file: large on the wire, instant to create, no memory.
  const file = path.join(work, "long-recording.mp4");
  const fd = openSync(file, "w");
  writeSync(fd, Buffer.from("custody crash test header"));
  ftruncateSync(fd, SIZE);
  closeSync(fd);
  const expected = createHash("sha256");
  await pipeline(createReadStream(file), expected);
  const sha256 = expected.digest("hex");

  const blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const uploaded = await uploadRecording(container, file, { officerId: "PC5", deviceId: "BWV-5", recordedAt: "2026-11-26T06:00:00Z", concurrency: 8 });
  const evidenceId = deriveEvidenceId({ account: blobService.accountName, container: ORIGINALS_CONTAINER, name: uploaded.blobName, etag: uploaded.etag });

  const client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  const first = startDevHostProcess();
  const firstExit = new Promise((resolve) => first.on("exit", resolve));
  try {
    const event = blobCreatedEvent(container, uploaded.blobName, uploaded.etag, { contentLength: uploaded.size });
    const sender = client.createSender(ENTITIES.blobCreated.queueName);
    await sender.sendMessages({ body: event, messageId: event.id });
    await sender.close();

    // Kill the host the moment it holds the hash message.
    const peeker = client.createReceiver(ENTITIES.hashSubscription.topicName, ENTITIES.hashSubscription.subscriptionName);
    const deadline = Date.now() + 30_000;
    let locked = false;
    while (!locked && Date.now() < deadline) {
      const [message] = await peeker.peekMessages(1, { fromSequenceNumber: undefined });
      locked = !!message?.lockedUntilUtc && message.lockedUntilUtc.getTime() > Date.now() && message.correlationId === evidenceId;
      if (!locked) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(locked).toBe(true);
    first.kill("SIGKILL");
    await firstExit;
    await peeker.close();

    const afterKill = await stack.services!.index.read(evidenceId);
    expect(afterKill?.record.stages.hash?.status ?? "pending").toBe("pending");

    const second = startDevHostProcess();
    try {
      const finishDeadline = Date.now() + 60_000;
      let record = (await stack.services!.index.read(evidenceId))?.record;
      while (!(record?.status === "ready" && record.finalEvent?.publishedAt) && Date.now() < finishDeadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        record = (await stack.services!.index.read(evidenceId))?.record;
      }
      expect(record?.status).toBe("ready");
      expect(record?.hash?.sha256).toBe(sha256);
      expect(record?.hash?.size).toBe(SIZE);
      // The second host got the redelivered message: its delivery count says so.
      expect(record?.stages.hash?.attempts).toBeGreaterThanOrEqual(2);
      // Two hosts, a kill mid-stage, a redelivery: still one evidence-ready, and a valid one.
      const events = (await drainEvents(client, "all-events")).filter(({ event }) => event.subject === evidenceId);
      expect(events.map(({ event }) => event.type)).toEqual(["org.custody.evidence.ready.v1"]);
    } finally {
      second.kill("SIGTERM");
      await new Promise((resolve) => second.on("exit", resolve));
    }
  } finally {
    if (first.exitCode === null && first.signalCode === null) first.kill("SIGKILL");
    await client.close();
  }
}, 120_000);
