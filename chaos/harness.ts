/**
 * What every fault scenario stands on: an embedded stack whose functions host runs as its own
 * process and sees Azurite, the Cosmos stand-in and the Service Bus emulator only through fault
 * proxies, while the harness reaches them directly (to upload as a dock does, read records and
 * receive events even during a cut); dock uploads of a small generated clip; a tap on the
 * `evidence-ready/all-events` subscription; and the measurements each scenario's row reports.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { ServiceBusClient, type ServiceBusReceiver } from "@azure/service-bus";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { uploadRecording } from "../shared/adapters/dock-upload";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../local/stack";
import type { ServiceBusEmulatorFaults } from "../local/servicebus-emulator";
import { locateMediaBinaries } from "../shared/adapters/ffmpeg/media-binaries";
import { parseEvidenceEvent } from "../shared/contracts/evidence-events";
import { deriveEvidenceId } from "../shared/evidence/evidence-id";
import type { EvidenceRecord } from "../shared/evidence/record";
import { silentLogger } from "../shared/logging";
import type { CustodyLedger } from "../shared/ports/custody-ledger";
import type { EvidenceIndex } from "../shared/ports/evidence-index";
import { ENTITIES } from "../shared/topology";
import { hostProcess, type HostProcess } from "./host-process";

/** The subscription the harness counts published events on: it takes every evidence event. */
export const EVENTS_SUBSCRIPTION = "all-events";

export interface StartChaosStackOptions {
  /** Folder for this scenario's data and the host's log. */
  workDir: string;
  serviceBusFaults?: ServiceBusEmulatorFaults;
  /** Extra settings for the functions host. */
  environment?: Record<string, string>;
}

export interface Upload {
  blobName: string;
  evidenceId: string;
  sha256: string;
  /** When the dock's upload completed. */
  uploadedAt: number;
}

export interface TappedEvent {
  messageId: string;
  subject: string;
  type: string;
  /** The fingerprint the event announces, when it carries one. */
  sha256?: string;
  receivedAt: number;
}

export interface ChaosStack {
  stack: RunningStack;
  proxies: NonNullable<RunningStack["proxies"]>;
  host: HostProcess;
  /** Direct to the emulator: never cut. */
  client: ServiceBusClient;
  originals: ContainerClient;
  index: EvidenceIndex;
  /** The custody ledger (Blob Storage: it survives the crashes the scenarios make). */
  ledger: CustodyLedger;
  events: EventTap;
  /** Uploads `count` copies of `clip` under distinct names (`<prefix>/<i>.mp4`), `concurrency` at a time. */
  upload(clip: string, count: number, prefix: string, concurrency?: number): Promise<Upload[]>;
  /** Dead-lettered messages on the pipeline's own entities (not the downstream subscriptions). */
  deadLettered(): number;
  stop(): Promise<void>;
}

export async function startChaosStack(options: StartChaosStackOptions): Promise<ChaosStack> {
  mkdirSync(options.workDir, { recursive: true });
  const stack = await startStack({
    dataDir: path.join(options.workDir, "data"),
    log: silentLogger,
    runFunctions: false,
    runBlobEvents: true,
    faultProxies: true,
    blobPollIntervalInMs: 200,
    serviceBusFaults: options.serviceBusFaults,
    environment: options.environment,
  });
  const client = new ServiceBusClient(stack.directEnvironment.ServiceBusConnection);
  const blobService = BlobServiceClient.fromConnectionString(stack.directEnvironment.EvidenceStorage);
  const originals = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const events = tapEvents(client);
  const host = hostProcess({ environment: stack.environment, logFile: path.join(options.workDir, "host.log") });
  return {
    stack,
    proxies: stack.proxies!,
    host,
    client,
    originals,
    index: stack.services!.index,
    ledger: stack.services!.ledger,
    events,
    async upload(clip, count, prefix, concurrency = 8) {
      const uploads = new Array<Upload>(count);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < count; i = next++) {
          const blobName = `${prefix}/${String(i).padStart(4, "0")}.mp4`;
          const done = await uploadRecording(originals, clip, { officerId: "PC-CHAOS", deviceId: "BWV-CHAOS", recordedAt: "2026-12-01T06:00:00Z", blobName });
          uploads[i] = {
            blobName,
            sha256: done.sha256,
            uploadedAt: Date.now(),
            evidenceId: deriveEvidenceId({ account: blobService.accountName, container: ORIGINALS_CONTAINER, name: done.blobName, etag: done.etag }),
          };
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
      return uploads;
    },
    deadLettered() {
      const pipelineEntities = [ENTITIES.blobCreated.queueName, ENTITIES.stageResults.queueName];
      let total = 0;
      for (const name of pipelineEntities) total += stack.serviceBus.namespace.queue(name)?.counts().deadLetterMessageCount ?? 0;
      for (const subscription of stack.serviceBus.namespace.topic(ENTITIES.evidenceReceivedTopic)?.subscriptions() ?? []) total += subscription.counts().deadLetterMessageCount;
      return total;
    },
    async stop() {
      await host.stop().catch(() => undefined);
      await events.close().catch(() => undefined);
      await client.close().catch(() => undefined);
      await stack.stop();
    },
  };
}

/** Every message on the events subscription, received (and removed) as it arrives. */
export interface EventTap {
  readonly all: readonly TappedEvent[];
  /** Messages on the subscription that are not valid evidence events. */
  readonly invalid: number;
  /** When the last message arrived (0: none yet). */
  readonly lastReceivedAt: number;
  forRecording(evidenceId: string): TappedEvent[];
  /** Resolves once no message has arrived for `quietInMs` (bounded by `timeoutInMs`). */
  quiet(quietInMs: number, timeoutInMs?: number): Promise<void>;
  close(): Promise<void>;
}

function tapEvents(client: ServiceBusClient): EventTap {
  const receiver: ServiceBusReceiver = client.createReceiver(ENTITIES.evidenceReadyTopic, EVENTS_SUBSCRIPTION, { receiveMode: "receiveAndDelete" });
  const all: TappedEvent[] = [];
  let invalid = 0;
  let lastReceivedAt = 0;
  const subscription = receiver.subscribe(
    {
      processMessage: (message) => {
        lastReceivedAt = Date.now();
        try {
          const event = parseEvidenceEvent(message);
          const original = (event.data as { original?: { sha256?: string } }).original;
          all.push({ messageId: String(message.messageId), subject: event.subject, type: event.type, sha256: original?.sha256, receivedAt: lastReceivedAt });
        } catch {
          invalid++;
        }
        return Promise.resolve();
      },
      processError: () => Promise.resolve(),
    },
    { maxConcurrentCalls: 16 },
  );
  return {
    get all() {
      return all;
    },
    get invalid() {
      return invalid;
    },
    get lastReceivedAt() {
      return lastReceivedAt;
    },
    forRecording: (evidenceId) => all.filter((event) => event.subject === evidenceId),
    async quiet(quietInMs, timeoutInMs = 60_000) {
      const deadline = Date.now() + timeoutInMs;
      const started = Date.now();
      while (Date.now() - Math.max(lastReceivedAt, started) < quietInMs && Date.now() < deadline) await delay(100);
    },
    async close() {
      await subscription.close();
      await receiver.close();
    },
  };
}

/** A recording that reached its outcome and whose final event Service Bus accepted. */
export function isFinal(record: EvidenceRecord | undefined): boolean {
  return record !== undefined && (record.status === "ready" || record.status === "failed" || record.status === "rejected") && record.finalEvent?.publishedAt !== undefined;
}

/** Every record in the index, by evidence id. */
export async function readAll(index: EvidenceIndex): Promise<Map<string, EvidenceRecord>> {
  const records = new Map<string, EvidenceRecord>();
  for await (const record of index.list({})) records.set(record.evidenceId, record);
  return records;
}

export interface WaitForFinalOptions {
  /** Longest wait. */
  timeoutInMs: number;
  /**
   * Stop earlier when no upload's record has changed for this long: a slow machine makes a
   * burst slow, not stuck, so a burst waits as long as recordings keep moving. Default: off
   * (scenarios where the time itself is what must hold).
   */
  stalledAfterInMs?: number;
}

/** Polls until every upload's record is final (or the wait ends, see the options); returns the last read. */
export async function waitForFinal(index: EvidenceIndex, uploads: readonly Upload[], options: WaitForFinalOptions): Promise<Map<string, EvidenceRecord>> {
  const deadline = Date.now() + options.timeoutInMs;
  let lastChangeAt = Date.now();
  let lastState = "";
  for (;;) {
    const records = await readAll(index).catch(() => undefined);
    if (records && uploads.every((upload) => isFinal(records.get(upload.evidenceId)))) return records;
    const state = uploads.map((upload) => records?.get(upload.evidenceId)?.updatedAt ?? "").join();
    if (records && state !== lastState) {
      lastState = state;
      lastChangeAt = Date.now();
    }
    const stalled = options.stalledAfterInMs !== undefined && Date.now() - lastChangeAt > options.stalledAfterInMs;
    if (Date.now() > deadline || stalled) return records ?? new Map();
    await delay(1000);
  }
}

/** Polls `probe` until it returns true, or `timeoutInMs` passes; says which. */
export async function until(probe: () => boolean | Promise<boolean>, timeoutInMs: number, intervalInMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await delay(intervalInMs);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A short H.264/AAC clip made with ffmpeg's test sources: small enough for hundreds of uploads on two cores. */
export async function generateClip(directory: string, durationInSeconds = 1): Promise<string> {
  mkdirSync(directory, { recursive: true });
  const { ffmpeg } = await locateMediaBinaries();
  const out = path.join(directory, `testsrc-${durationInSeconds}s.mp4`);
  execFileSync(
    ffmpeg.path,
    [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=s=320x240:r=25:d=${durationInSeconds}`,
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=440:duration=${durationInSeconds}`,
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-shortest",
      "-movflags",
      "+faststart",
      out,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return out;
}
