/**
 * The composition root for functions: builds the adapters once per process from the
 * settings (connection strings locally, managed identity in Azure) and hands them to the
 * handlers. Role-aware: a process running only the media role (CUSTODY_APP_ROLE=media) neither
 * needs nor reads the evidence index settings. The dev host may install its own (same
 * adapters, its own settings) with `useServices`.
 */
import { ServiceBusPublisher } from "../shared/adapters/service-bus-publisher";
import { createServiceBusClient } from "../shared/adapters/service-bus-client";
import type { BlobCatalog, MediaBlobStore } from "../shared/ports/blob-store";
import type { EvidenceIndex } from "../shared/ports/evidence-index";
import type { MediaTool } from "../shared/ports/media-tool";
import type { CustodyLedger } from "../shared/ports/custody-ledger";
import type { Publisher } from "../shared/ports/publisher";
import { loadSettings, type Settings } from "../shared/settings";
import type { RescheduleDeps } from "./invocation";
import { appRoles, rolesNeedEvidenceIndex } from "./app-roles";
import { createBlobStore, createCustodyLedger, createEvidenceIndex, createMediaTool } from "./service-factories";

export interface FunctionServices {
  settings: Settings;
  blobs: MediaBlobStore & BlobCatalog;
  /** The evidence index; in the media app (no index settings) one that refuses every call. */
  index: EvidenceIndex;
  /** ffmpeg/ffprobe for the media stages (binaries located and checked at start). */
  media: MediaTool;
  publisher: Publisher;
  /** The custody ledger the index writes before it acts (core app; unused by the media app). */
  ledger: CustodyLedger;
  close(): Promise<void>;
}

let current: Promise<FunctionServices> | undefined;

export function getServices(): Promise<FunctionServices> {
  if (current === undefined) {
    // The media app has no index settings (and no Cosmos DB role): its services go without.
    // A missing or malformed setting rejects like any other failed start (and is not remembered either).
    const created = Promise.resolve().then(() => createServices(loadSettings(process.env, { evidenceIndex: rolesNeedEvidenceIndex(appRoles()) })));
    current = created;
    // A failed start (e.g. Cosmos DB unreachable at the first invocation) is not remembered:
    // the next invocation tries again instead of failing every message until a restart.
    created.catch(() => {
      if (current === created) current = undefined;
    });
  }
  return current;
}

/** What a function that re-schedules its own input on a transient failure needs (functions/invocation.ts settleWithRetries). */
export async function retryDeps(): Promise<RescheduleDeps> {
  try {
    const { publisher, settings } = await getServices();
    return { publisher, policy: settings.retry };
  } catch {
    // The services cannot be built while Cosmos DB is unreachable (a host started during an
    // outage): re-scheduling needs only Service Bus, so it gets a publisher of its own.
    if (fallbackPublisher === undefined) {
      const settings = loadSettings(process.env, { evidenceIndex: false });
      fallbackPublisher = { publisher: new ServiceBusPublisher(createServiceBusClient(settings.serviceBus)), policy: settings.retry };
    }
    return fallbackPublisher;
  }
}

let fallbackPublisher: RescheduleDeps | undefined;

/** Replaces the process's services (dev host, tests). */
export function useServices(services: FunctionServices | undefined): void {
  current = services ? Promise.resolve(services) : undefined;
}

export async function createServices(settings: Settings): Promise<FunctionServices> {
  const serviceBus = createServiceBusClient(settings.serviceBus);
  const publisher = new ServiceBusPublisher(serviceBus);
  const blobs = createBlobStore(settings);
  const evidenceIndex = await createEvidenceIndex(settings);
  const media = createMediaTool();
  const ledger = createCustodyLedger(settings);
  return {
    settings,
    blobs,
    index: evidenceIndex.index,
    publisher,
    media,
    ledger,
    async close() {
      await publisher.close();
      await serviceBus.close();
      await evidenceIndex.close();
    },
  };
}
