/**
 * Event Grid's part, locally: Azurite emits no events, so this watches the `originals`
 * container and sends the same `Microsoft.Storage.BlobCreated` CloudEvents (1.0) that Event
 * Grid would deliver to the blob-created queue.
 *
 * Each blob version (name + ETag) is announced once: what has been announced is kept in a
 * state file beside Azurite's data, so a restart neither loses uploads made while it was down
 * (they are new to the state file) nor replays the world (everything else is in it). The
 * event id is derived from name + ETag, so even a state file lost between send and save
 * yields the same message id, which the queue's duplicate detection drops.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { ServiceBusClient, ServiceBusSender } from "@azure/service-bus";
import type { ContainerClient } from "@azure/storage-blob";
import type { Logger } from "../shared/logging";
import { listBlobsIsolatingFailures } from "./azurite-listing";

export interface StartBlobEventSourceOptions {
  container: ContainerClient;
  client: ServiceBusClient;
  /** Queue Event Grid delivers to (ENTITIES.blobCreated.queueName). */
  queueName: string;
  /** File recording what was announced. */
  stateFile: string;
  pollIntervalInMs?: number;
  log: Logger;
}

export interface BlobEventSource {
  /** Lists the container once and announces what is new; resolves when sent. */
  pollOnce(): Promise<number>;
  stop(): Promise<void>;
}

interface AnnouncedState {
  version: 1;
  /** blob name → ETag last announced */
  announced: Record<string, string>;
}

/** Subscription/resource group placeholders: the local account lives in no subscription. */
const LOCAL_RESOURCE_PREFIX = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/custody-local/providers/Microsoft.Storage/storageAccounts";

export async function startBlobEventSource(options: StartBlobEventSourceOptions): Promise<BlobEventSource> {
  const state = await loadState(options.stateFile);
  const sender: ServiceBusSender = options.client.createSender(options.queueName);
  const interval = options.pollIntervalInMs ?? 500;
  const warnedFolders = new Set<string>();
  let stopped = false;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const pollOnce = (): Promise<number> => {
    running ??= poll().finally(() => {
      running = undefined;
    });
    return running;
  };

  async function poll(): Promise<number> {
    let sent = 0;
    const unlistable = (prefix: string, error: unknown): void => {
      if (warnedFolders.has(prefix)) return; // once per folder, not every poll
      warnedFolders.add(prefix);
      options.log.warn("Azurite cannot list this folder (a blob name in it likely holds control characters); its uploads are not announced", {
        container: options.container.containerName,
        folder: prefix || "/",
        error,
      });
    };
    for await (const blob of listBlobsIsolatingFailures(options.container, unlistable)) {
      const etag = blob.etag;
      if (!etag || state.announced[blob.name] === etag) continue;
      const event = blobCreatedEvent(options.container, blob.name, etag, blob);
      await sender.sendMessages({
        messageId: event.id,
        body: event,
        contentType: "application/cloudevents+json; charset=utf-8",
        subject: event.type,
      });
      state.announced[blob.name] = etag;
      sent++;
      options.log.info("announced blob", { container: options.container.containerName, name: blob.name, etag, eventId: event.id });
    }
    if (sent > 0) await saveState(options.stateFile, state);
    return sent;
  }

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      pollOnce()
        .catch((error: unknown) => options.log.warn("blob listing failed; retrying", { error }))
        .finally(schedule);
    }, interval);
  };
  schedule();

  return {
    pollOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
      await sender.close();
    },
  };
}

export interface BlobCreatedCloudEvent {
  specversion: "1.0";
  type: "Microsoft.Storage.BlobCreated";
  source: string;
  id: string;
  time: string;
  subject: string;
  data: {
    api: string;
    clientRequestId: string;
    requestId: string;
    eTag: string;
    contentType: string;
    contentLength: number;
    blobType: "BlockBlob";
    url: string;
    sequencer: string;
    storageDiagnostics: { batchId: string };
    versionId?: string;
  };
}

/** The CloudEvent Event Grid sends for a block blob committed with PutBlockList. */
export function blobCreatedEvent(
  container: ContainerClient,
  name: string,
  etag: string,
  blob: { contentType?: string; contentLength: number; versionId?: string; lastModified?: Date },
): BlobCreatedCloudEvent {
  const id = deterministicUuid(`${container.accountName}/${container.containerName}/${name}#${etag}`);
  const url = container.getBlobClient(name).url.split("?")[0];
  const data: BlobCreatedCloudEvent["data"] = {
    api: "PutBlockList",
    clientRequestId: id,
    requestId: id,
    eTag: etag,
    contentType: blob.contentType ?? "application/octet-stream",
    contentLength: blob.contentLength,
    blobType: "BlockBlob",
    url,
    sequencer: createHash("sha256").update(id).digest("hex").slice(0, 32).toUpperCase(),
    storageDiagnostics: { batchId: id },
  };
  if (blob.versionId) data.versionId = blob.versionId;
  return {
    specversion: "1.0",
    type: "Microsoft.Storage.BlobCreated",
    source: `${LOCAL_RESOURCE_PREFIX}/${container.accountName}`,
    id,
    // When the blob was committed, as Event Grid says — not when this source noticed it (ingest
    // records it as the recording's uploadedAt). Now only when the caller does not know.
    time: (blob.lastModified ?? new Date()).toISOString(),
    subject: `/blobServices/default/containers/${container.containerName}/blobs/${name}`,
    data,
  };
}

function deterministicUuid(text: string): string {
  const hex = createHash("sha256").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

async function loadState(file: string): Promise<AnnouncedState> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as AnnouncedState;
    if (parsed.version === 1 && parsed.announced && typeof parsed.announced === "object") return parsed;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`Blob event source state ${file} is unreadable: ${(error as Error).message}`);
  }
  return { version: 1, announced: {} };
}

/** Write-then-rename, so a crash mid-write never leaves a truncated state file. */
async function saveState(file: string, state: AnnouncedState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(state));
  await rename(temporary, file);
}
