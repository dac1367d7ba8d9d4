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
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { ServiceBusClient, ServiceBusSender } from "@azure/service-bus";
import type { ContainerClient } from "@azure/storage-blob";
import type { Logger } from "../shared/logging";
import { listBlobsIsolatingFailures, type UnlistableFolder } from "../shared/adapters/blob-listing";
import { blobCreatedEvent } from "../shared/contracts/blob-created-cloud-event";

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

export async function startBlobEventSource(options: StartBlobEventSourceOptions): Promise<BlobEventSource> {
  const state = await loadState(options.stateFile);
  const sender: ServiceBusSender = options.client.createSender(options.queueName);
  const interval = options.pollIntervalInMs ?? 500;
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
    // Reported on every poll while it lasts (one line per folder per poll): a warning logged
    // once scrolls away, and the uploads it hides stay unannounced for as long as it lasts.
    const unlistable = (folder: UnlistableFolder): void => {
      options.log.warn(
        "Azurite cannot list all of this folder (a blob name in it holds a character XML cannot carry, such as a control character): the entries after listedUpTo are not announced; rename or delete that blob",
        {
          container: options.container.containerName,
          folder: folder.prefix || "/",
          listedUpTo: folder.listedUpTo ?? null,
          error: folder.error,
        },
      );
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

async function loadState(file: string): Promise<AnnouncedState> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as AnnouncedState;
    if (parsed.version === 1 && parsed.announced && typeof parsed.announced === "object") return parsed;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`Blob event source state ${file} is unreadable: ${(error as Error).message}`, { cause: error });
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
