/**
 * Adapters from settings: the one place that turns Settings into SDK clients (connection
 * strings locally, endpoint + managed identity in Azure) and wraps them in the ports. The
 * function app (functions/services.ts) and the operator CLI (cli/stack-target.ts) both build
 * their clients here, so each store's wiring reads in one place.
 */
import * as https from "node:https";
import * as os from "node:os";
import { CosmosClient } from "@azure/cosmos";
import type { BlobServiceClient } from "@azure/storage-blob";
import { CustodyError } from "../errors";
import type { AuditLog } from "../ports/audit-log";
import type { BlobCatalog, DerivedFileStore, MediaBlobStore } from "../ports/blob-store";
import type { CustodyLedger } from "../ports/custody-ledger";
import type { EvidenceSigner, SigningKeyHistory } from "../ports/evidence-signer";
import type { EvidenceIndex } from "../ports/evidence-index";
import type { Publisher } from "../ports/publisher";
import type { RetentionStore } from "../ports/retention-store";
import { createContentCredentials, type ContentCredentials } from "../media/content-credentials";
import { parseSigningChainPem } from "../media/content-credentials-chain";
import { CONTENT_CREDENTIALS_CHAIN_SETTING, type ConnectionAuth, type CosmosSettings, type Settings, type SigningSettings } from "../settings";
import { AzureBlobStore } from "./azure-blob-store";
import { AzureRetentionStore } from "./azure-retention-store";
import { BlobAuditLog } from "./blob-audit-log";
import { BlobManifestStore } from "./blob-manifest-store";
import type { ManifestStore } from "../ports/manifest-store";
import { BlobCustodyLedger } from "./blob-custody-ledger";
import { createBlobServiceClient } from "./blob-service-client";
import { CosmosEvidenceIndex, ensureEvidenceContainer } from "./cosmos-evidence-index";
import { createCredential } from "./credential";
import { EmulatedRetentionStore } from "./emulated-retention-store";
import { KeyVaultSigner, type OpenKeyVaultSignerOptions } from "./key-vault-signer";
import { createLocalContentCredentials } from "./local-content-credentials";
import { LocalKeySigner } from "./local-key-signer";
import { createServiceBusClient } from "./service-bus-client";
import { ServiceBusPublisher } from "./service-bus-publisher";

/** The clients every part of Custody that talks to a deployment uses (the function app, the operator CLI). */
export interface ServiceClients {
  blobs: MediaBlobStore & DerivedFileStore & BlobCatalog;
  /** The evidence index; without index settings (the media app) one that refuses every call. */
  index: EvidenceIndex;
  publisher: Publisher;
  /** The custody ledger (append blobs in the evidence account's `ledger` container). */
  ledger: CustodyLedger;
  /** The operators' audit log (the evidence account's `audit` container). */
  audit: AuditLog;
  /** The storage enforcement of retention on the originals (legal holds, retention policies). */
  retention: RetentionStore;
  /** Every issue of every recording's signed evidence manifest (the evidence account's `manifests` container). */
  manifests: ManifestStore;
  close(): Promise<void>;
}

export async function openServiceClients(settings: Settings): Promise<ServiceClients> {
  const serviceBus = createServiceBusClient(settings.serviceBus);
  const publisher = new ServiceBusPublisher(serviceBus);
  const blobService = blobServiceClientFor(settings.storage);
  const evidenceIndex = await openEvidenceIndex(settings.cosmos);
  return {
    blobs: new AzureBlobStore(blobService),
    index: evidenceIndex.index,
    publisher,
    // Locally the app creates the ledger container; in Azure Bicep does.
    ledger: new BlobCustodyLedger(blobService, { createContainer: settings.storage.kind === "connectionString" }),
    audit: new BlobAuditLog(blobService),
    retention: openRetentionStore(settings.storage),
    manifests: new BlobManifestStore(blobService, { createContainer: settings.storage.kind === "connectionString" }),
    async close() {
      await publisher.close();
      await serviceBus.close();
      await evidenceIndex.close();
    },
  };
}

/** A publisher of its own (Service Bus only): what re-scheduling needs while the rest cannot be built. */
export function openPublisher(auth: ConnectionAuth): { publisher: ServiceBusPublisher; close(): Promise<void> } {
  const client = createServiceBusClient(auth);
  const publisher = new ServiceBusPublisher(client);
  return {
    publisher,
    async close() {
      await publisher.close();
      await client.close();
    },
  };
}

export function blobServiceClientFor(auth: ConnectionAuth): BlobServiceClient {
  return auth.kind === "connectionString"
    ? createBlobServiceClient({ connectionString: auth.connectionString })
    : createBlobServiceClient({ blobServiceUri: auth.endpoint, credential: createCredential(auth.clientId) });
}

/**
 * The storage enforcement of retention in the evidence account: Azure's own version-level
 * immutability (policies and legal holds the service enforces) for an Azure account; for the
 * local stack's Azurite, which answers 501 to those calls, the emulated store that keeps the
 * protections in Azurite and enforces them in its own deletes. Chosen by the endpoint, not by
 * the kind of credential, so an Azure account reached with a connection string still gets the
 * service's enforcement.
 */
export function openRetentionStore(storage: ConnectionAuth): RetentionStore {
  const service = blobServiceClientFor(storage);
  return isLocalStorageEmulator(storage) ? new EmulatedRetentionStore(service) : new AzureRetentionStore(service);
}

/** Whether the storage settings name the local emulator: `UseDevelopmentStorage=true`, or a connection string whose BlobEndpoint is on loopback. */
export function isLocalStorageEmulator(auth: ConnectionAuth): boolean {
  if (auth.kind !== "connectionString") return false;
  if (/(^|;)\s*UseDevelopmentStorage\s*=\s*true\s*(;|$)/i.test(auth.connectionString)) return true;
  const endpoint = /(?:^|;)\s*BlobEndpoint\s*=\s*([^;]+)/i.exec(auth.connectionString)?.[1];
  if (endpoint === undefined) return false;
  try {
    return ["localhost", "127.0.0.1", "[::1]"].includes(new URL(endpoint.trim()).hostname.toLowerCase());
  } catch {
    return false;
  }
}

export function createCosmosClient(cosmos: CosmosSettings): CosmosClient {
  const { auth, allowSelfSignedCertificate } = cosmos;
  // Only the local stand-in (loopback, checked by loadSettings) gets an agent that accepts its certificate.
  const agent = allowSelfSignedCertificate ? new https.Agent({ rejectUnauthorized: false, keepAlive: true }) : undefined;
  const connectionPolicy = allowSelfSignedCertificate ? { enableEndpointDiscovery: false } : undefined;
  if (auth.kind === "connectionString") {
    const endpoint = /AccountEndpoint=([^;]+)/i.exec(auth.connectionString)?.[1];
    const key = /AccountKey=([^;]+)/i.exec(auth.connectionString)?.[1];
    // Never echo the connection string: it carries the account key.
    if (endpoint === undefined || key === undefined) throw new CustodyError("InvalidConfiguration", "The evidence index connection string needs AccountEndpoint=…;AccountKey=….");
    return new CosmosClient({ endpoint, key, agent, connectionPolicy });
  }
  return new CosmosClient({ endpoint: auth.endpoint, aadCredentials: createCredential(auth.clientId), agent, connectionPolicy });
}

/**
 * The index from the settings; without index settings (the media app) an index that refuses
 * every call, so a media function that reached for it would fail loudly rather than write.
 */
export async function openEvidenceIndex(cosmos: CosmosSettings | undefined): Promise<{ index: EvidenceIndex; close(): Promise<void> }> {
  if (cosmos === undefined) return { index: noEvidenceIndex(), close: () => Promise.resolve() };
  const client = createCosmosClient(cosmos);
  const names = { databaseName: cosmos.databaseName, containerName: cosmos.containerName };
  // Locally (key auth) the app creates its database and container. In Azure the identity has
  // only the data-plane role, which cannot create them: Bicep does, with the same policy.
  const container = cosmos.auth.kind === "connectionString" ? await ensureEvidenceContainer(client, names) : client.database(names.databaseName).container(names.containerName);
  return {
    index: new CosmosEvidenceIndex(container),
    close: () => {
      client.dispose();
      return Promise.resolve();
    },
  };
}

/** The index of an app that has none (the media role): every call is an InvalidConfiguration naming why. */
export function noEvidenceIndex(): EvidenceIndex {
  // Rejected promises, not thrown errors: callers await these calls like any index call.
  const refuse = (): Promise<never> =>
    Promise.reject(
      new CustodyError("InvalidConfiguration", "This app runs without the evidence index (CUSTODY_APP_ROLE=media: no EvidenceIndex setting, no Cosmos DB role); only the core app reads or writes it."),
    );
  return {
    read: refuse,
    create: refuse,
    replace: refuse,
    list: () => ({
      [Symbol.asyncIterator]: () => ({ next: refuse }),
    }),
  };
}

export interface OpenEvidenceSignerOptions {
  /** Key Vault only: the credential (default: the app's managed identity) and client options (tests). */
  credential?: OpenKeyVaultSignerOptions["credential"];
  clientOptions?: OpenKeyVaultSignerOptions["clientOptions"];
}

/**
 * The signer of evidence manifests (shared/settings.ts loadSigningSettings): the Key Vault key
 * when CUSTODY_SIGNING_KEY_ID is set — the private key never leaves the vault — otherwise the
 * local key in the data folder, generated on first start.
 */
export async function openEvidenceSigner(signing: SigningSettings, options: OpenEvidenceSignerOptions = {}): Promise<EvidenceSigner & SigningKeyHistory> {
  if (signing.kind === "localKey") return LocalKeySigner.open({ directory: signing.directory });
  return KeyVaultSigner.open({
    keyId: signing.keyId,
    credential: options.credential ?? createCredential(signing.clientId),
    ...(options.clientOptions === undefined ? {} : { clientOptions: options.clientOptions }),
  });
}

/**
 * Content Credentials for the JPEG renditions, signed by the evidence signer (docs/decisions/0016):
 * with a local key, under the local chain kept in the key's folder (its CA made on first start);
 * with a Key Vault key, under the chain CUSTODY_CONTENT_CREDENTIALS_CHAIN names — undefined when
 * that setting is absent (the images then stay covered by the signed evidence manifest only). A
 * chain that is malformed or does not certify the key fails the start (InvalidConfiguration).
 */
export async function openContentCredentials(signing: SigningSettings, signer: EvidenceSigner): Promise<ContentCredentials | undefined> {
  if (signing.kind === "localKey") return createLocalContentCredentials(signing.directory, signer);
  if (signing.contentCredentialsChainPem === undefined) return undefined;
  return createContentCredentials(signer, await parseSigningChainPem(signing.contentCredentialsChainPem, `Setting ${CONTENT_CREDENTIALS_CHAIN_SETTING}`));
}

/** Who is acting: with a managed identity / `az login`, the token's upn (or oid); else user@host. */
export async function operatorName(auth: ConnectionAuth): Promise<string> {
  const local = `${os.userInfo().username}@${os.hostname()}`;
  if (auth.kind !== "identity") return local;
  try {
    const token = await createCredential(auth.clientId).getToken("https://servicebus.azure.net/.default");
    const payload = JSON.parse(Buffer.from(token?.token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
    const name = payload.upn ?? payload.unique_name ?? payload.preferred_username ?? payload.oid;
    return typeof name === "string" && name ? name : local;
  } catch {
    return local;
  }
}
