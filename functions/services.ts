/**
 * The composition root for functions: builds the adapters once per process from the
 * settings (connection strings locally, managed identity in Azure) and hands them to the
 * handlers. Role-aware: a process running only the media role (CUSTODY_APP_ROLE=media) neither
 * needs nor reads the evidence index settings. The dev host may install its own (same
 * adapters, its own settings) with `useServices`.
 */
import { openContentCredentials, openEvidenceSigner, openPublisher, openServiceClients, type ServiceClients } from "../shared/adapters/factories";
import { createLogger } from "../shared/logging";
import type { ContentCredentials } from "../shared/media/content-credentials";
import type { EvidenceSigner } from "../shared/ports/evidence-signer";
import type { SegmentMediaTool } from "../shared/ports/media-tool";
import { CONTENT_CREDENTIALS_CHAIN_SETTING, loadSettings, type Settings } from "../shared/settings";
import type { RescheduleDeps } from "./invocation";
import { appRoles, rolesNeedEvidenceIndex } from "./app-roles";
import { createMediaTool } from "./service-factories";

/** The stores' clients (the index refuses every call in the media app; the ledger is the core app's), plus ffmpeg. */
export interface FunctionServices extends ServiceClients {
  settings: Settings;
  /** ffmpeg/ffprobe for the media stages, with the segment join (binaries located and checked at first use). */
  media: SegmentMediaTool;
  /** The key that signs evidence manifests (the core app, when settings name one; never the media app). */
  signer?: EvidenceSigner;
  /**
   * Content Credentials on the images, signed by that same key (the content-credentials
   * function): wherever there is a signer and a chain for it — the local key always (its chain is
   * made locally), a Key Vault key when CUSTODY_CONTENT_CREDENTIALS_CHAIN is set. See {@link signsImages}.
   */
  contentCredentials?: ContentCredentials;
}

/**
 * Whether this process signs images with Content Credentials: what the index asks before it
 * orders a recording's images signed (an order no one here can carry out would only fail).
 */
export function signsImages(services: Pick<FunctionServices, "contentCredentials">): boolean {
  return services.contentCredentials !== undefined;
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
      fallbackPublisher = { publisher: openPublisher(settings.serviceBus).publisher, policy: settings.retry };
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
  const clients = await openServiceClients(settings);
  // Only a process that runs the index signs: the media app, which parses untrusted media, never holds the key.
  let signer: EvidenceSigner | undefined;
  let contentCredentials: ContentCredentials | undefined;
  if (settings.signing !== undefined && settings.cosmos !== undefined) {
    signer = await openEvidenceSigner(settings.signing);
    contentCredentials = await openContentCredentials(settings.signing, signer);
    if (contentCredentials === undefined) warnUnsignedImagesOnce();
  }
  return { ...clients, settings, media: createMediaTool(), ...(signer === undefined ? {} : { signer }), ...(contentCredentials === undefined ? {} : { contentCredentials }) };
}

let warnedUnsignedImages = false;

/** Once per process (a failed start is retried): evidence is signed, the images are not. */
function warnUnsignedImagesOnce(): void {
  if (warnedUnsignedImages) return;
  warnedUnsignedImages = true;
  createLogger().warn(
    `Images are not signed with Content Credentials: ${CONTENT_CREDENTIALS_CHAIN_SETTING} is not set (the certificate chain for the signing key, PEM). They stay covered by the signed evidence manifest.`,
    { setting: CONTENT_CREDENTIALS_CHAIN_SETTING },
  );
}
