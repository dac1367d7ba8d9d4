/**
 * Adapter construction from settings, kept apart from services.ts so each store's wiring
 * (connection string locally, endpoint + managed identity in Azure) reads in one place.
 */
import * as https from "node:https";
import { CosmosClient } from "@azure/cosmos";
import type { BlobServiceClient } from "@azure/storage-blob";
import { AzureBlobStore } from "../shared/adapters/azure-blob-store";
import { BlobCustodyLedger } from "../shared/adapters/blob-custody-ledger";
import { createBlobServiceClient } from "../shared/adapters/blob-service-client";
import { CosmosEvidenceIndex, ensureEvidenceContainer } from "../shared/adapters/cosmos-evidence-index";
import { createCredential } from "../shared/adapters/credential";
import { createFfmpegMediaTool, type FfmpegMediaTool } from "../shared/adapters/ffmpeg/media-tool";
import { CustodyError, toCustodyError } from "../shared/errors";
import type { BlobCatalog, MediaBlobStore } from "../shared/ports/blob-store";
import type { CustodyLedger } from "../shared/ports/custody-ledger";
import type { MediaTool } from "../shared/ports/media-tool";
import type { EvidenceIndex } from "../shared/ports/evidence-index";
import type { CosmosSettings, Settings } from "../shared/settings";

export function createBlobStore(settings: Settings): MediaBlobStore & BlobCatalog {
  return new AzureBlobStore(blobServiceClientFor(settings));
}

/** The custody ledger (append blobs in the evidence account's `ledger` container). Locally the app creates the container; in Azure Bicep does. */
export function createCustodyLedger(settings: Settings): CustodyLedger {
  return new BlobCustodyLedger(blobServiceClientFor(settings), { createContainer: settings.storage.kind === "connectionString" });
}

function blobServiceClientFor(settings: Settings): BlobServiceClient {
  const auth = settings.storage;
  return auth.kind === "connectionString"
    ? createBlobServiceClient({ connectionString: auth.connectionString })
    : createBlobServiceClient({ blobServiceUri: auth.endpoint, credential: createCredential(auth.clientId) });
}

export function createCosmosClient(cosmos: CosmosSettings): CosmosClient {
  const { auth, allowSelfSignedCertificate } = cosmos;
  // Only the local stand-in (loopback, checked by loadSettings) gets an agent that accepts its certificate.
  const agent = allowSelfSignedCertificate ? new https.Agent({ rejectUnauthorized: false, keepAlive: true }) : undefined;
  const connectionPolicy = allowSelfSignedCertificate ? { enableEndpointDiscovery: false } : undefined;
  if (auth.kind === "connectionString") {
    const endpoint = /AccountEndpoint=([^;]+)/i.exec(auth.connectionString)![1];
    const key = /AccountKey=([^;]+)/i.exec(auth.connectionString)![1];
    return new CosmosClient({ endpoint, key, agent, connectionPolicy });
  }
  return new CosmosClient({ endpoint: auth.endpoint, aadCredentials: createCredential(auth.clientId), agent, connectionPolicy });
}

/**
 * The index from the settings; without index settings (the media app) an index that refuses
 * every call, so a media function that reached for it would fail loudly rather than write.
 */
export async function createEvidenceIndex(settings: Settings): Promise<{ index: EvidenceIndex; close(): Promise<void> }> {
  const cosmos = settings.cosmos;
  if (cosmos === undefined) return { index: noEvidenceIndex(), close: async () => undefined };
  const client = createCosmosClient(cosmos);
  const names = { databaseName: cosmos.databaseName, containerName: cosmos.containerName };
  // Locally (key auth) the app creates its database and container. In Azure the identity has
  // only the data-plane role, which cannot create them: Bicep does, with the same policy.
  const container =
    cosmos.auth.kind === "connectionString"
      ? await ensureEvidenceContainer(client, names)
      : client.database(names.databaseName).container(names.containerName);
  return {
    index: new CosmosEvidenceIndex(container),
    close: async () => client.dispose(),
  };
}

/** The index of an app that has none (the media role): every call is an InvalidConfiguration naming why. */
export function noEvidenceIndex(): EvidenceIndex {
  const refuse = (): never => {
    throw new CustodyError("InvalidConfiguration", "This app runs without the evidence index (CUSTODY_APP_ROLE=media: no EvidenceIndex setting, no Cosmos DB role); only the core app reads or writes it.");
  };
  return {
    read: async () => refuse(),
    create: async () => refuse(),
    replace: async () => refuse(),
    list: () => ({
      [Symbol.asyncIterator]: () => ({ next: async () => refuse() }),
    }),
  };
}

/**
 * ffmpeg/ffprobe, located and checked (`-version`) on first use rather than when the services
 * start: commands and functions that never touch media (ingest, index, `custody status`) do
 * not depend on the binaries. A failure to start them is a deployment problem that a redeploy
 * fixes, so it is retryable: the message is retried, then dead-lettered for redrive, instead of
 * failing recordings for good. A failed start is not remembered.
 */
export function createMediaTool(create: () => Promise<FfmpegMediaTool> = () => createFfmpegMediaTool()): MediaTool {
  let tool: Promise<FfmpegMediaTool> | undefined;
  const get = (): Promise<FfmpegMediaTool> => {
    if (tool === undefined) {
      const started = create().catch((error: unknown) => {
        if (tool === started) tool = undefined;
        const failure = toCustodyError(error);
        throw new CustodyError(failure.code, `ffmpeg/ffprobe unavailable: ${failure.message}`, { cause: error, retryable: true });
      });
      tool = started;
    }
    return tool;
  };
  return {
    versions: async () => (await get()).versions(),
    probe: async (input, options) => (await get()).probe(input, options),
    run: async (input, args, options) => (await get()).run(input, args, options),
  };
}
