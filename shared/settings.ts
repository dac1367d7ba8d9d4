/**
 * App settings, named the way Azure Functions names connections so the same names work with
 * connection strings locally and keyless in Azure:
 *
 *   ServiceBusConnection                       connection string (local emulator)
 *   ServiceBusConnection__fullyQualifiedNamespace  <ns>.servicebus.windows.net (Azure, managed identity)
 *   EvidenceStorage                            connection string (Azurite)
 *   EvidenceStorage__blobServiceUri            https://<account>.blob.core.windows.net (Azure)
 *   EvidenceIndex                              AccountEndpoint=…;AccountKey=… (local stand-in)
 *   EvidenceIndex__accountEndpoint             https://<account>.documents.azure.com:443/ (Azure)
 *   <Name>__credential=managedidentity, <Name>__clientId=<guid>   user-assigned identity
 *
 * A missing or malformed setting fails at start with CustodyError("InvalidConfiguration")
 * naming the setting. Nothing here is ever logged with its value (connection strings hold keys).
 */
import { CustodyError } from "./errors";
import { DEFAULT_EVENT_SOURCE } from "./contracts/evidence-events";
import { PIPELINE_STAGES, type PipelineStage } from "./contracts/messages";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./evidence/retry-policy";
import { DEFAULT_SEGMENT_SECONDS } from "./media/segment-plan";

export const SERVICE_BUS_CONNECTION = "ServiceBusConnection";
export const STORAGE_CONNECTION = "EvidenceStorage";
export const COSMOS_CONNECTION = "EvidenceIndex";

export type ConnectionAuth = { kind: "connectionString"; connectionString: string } | { kind: "identity"; endpoint: string; clientId?: string };

export interface CosmosSettings {
  auth: ConnectionAuth;
  databaseName: string;
  containerName: string;
  /** Only for the local stand-in's self-signed certificate; refused for any non-loopback endpoint. */
  allowSelfSignedCertificate: boolean;
}

export interface Settings {
  serviceBus: ConnectionAuth;
  storage: ConnectionAuth;
  /** Undefined when loaded without the evidence index (the media app: LoadSettingsOptions.evidenceIndex false). */
  cosmos: CosmosSettings | undefined;
  /** The key that signs evidence manifests (loadSigningSettings), when the environment names one. */
  signing: SigningSettings | undefined;
  /** Stages whose success makes a recording ready (CUSTODY_REQUIRED_STAGES, comma-separated). */
  requiredStages: PipelineStage[];
  /** Containers ingest accepts recordings from (CUSTODY_ACCEPTED_CONTAINERS). */
  acceptedContainers: string[];
  /**
   * Media stages: the proxy's longest side (CUSTODY_PROXY_MAX_SIDE, default 1280), the least
   * number of thumbnails per recording (CUSTODY_THUMBNAIL_COUNT, default 8; more when longer), and how long an ffmpeg run may make no
   * progress before it is killed and retried (CUSTODY_MEDIA_STALL_TIMEOUT_MS, default 60000), and
   * the length of one segment of the segment-parallel transcode (CUSTODY_SEGMENT_SECONDS, default
   * 60: shared/media/segment-plan.ts; lengthened for recordings that would need more than 400).
   */
  media: { proxyMaxSide: number; thumbnailCount: number; stallTimeoutInMs: number; segmentSeconds: number };
  /**
   * The fixity-sample timer: recordings per run (CUSTODY_FIXITY_SAMPLE, default 10), how long a
   * checked recording rests before it is checked again (CUSTODY_FIXITY_RECHECK_HOURS, default
   * 168: weekly, which also bounds the custody log's growth to ~52 entries a year), and — the
   * dev host only, which has no NCRONTAB — a run every CUSTODY_FIXITY_INTERVAL_MS (default 0:
   * off). In Azure the schedule is CUSTODY_FIXITY_SCHEDULE (functions/fixity-sample.ts).
   */
  fixity: { sampleSize: number; recheckAfterHours: number; localIntervalInMs: number };
  /**
   * The reconcile timer: a `received` record unchanged for CUSTODY_RECONCILE_STUCK_AFTER_MINUTES
   * (default 60) is stuck; originals modified in the last CUSTODY_RECONCILE_LOOKBACK_HOURS
   * (default 72; 0 = all) are checked for a record — older ones were checked by earlier runs;
   * the dev host runs it every CUSTODY_RECONCILE_INTERVAL_MS (default 0: off). In Azure the
   * schedule is CUSTODY_RECONCILE_SCHEDULE (functions/reconcile.ts).
   */
  reconcile: { stuckAfterMinutes: number; lookbackHours: number; localIntervalInMs: number };
  /**
   * The disposal timer (functions/disposal.ts): at most CUSTODY_DISPOSAL_MAX recordings (default
   * 500) past their retention, in a category that disposes automatically and held by no case, are
   * sent a dispose command per run; the dev host runs it every CUSTODY_DISPOSAL_INTERVAL_MS
   * (default 0: off). In Azure the schedule is CUSTODY_DISPOSAL_SCHEDULE. The timer deletes
   * nothing unless CUSTODY_DISPOSAL_ENABLED is `true` (default `false`): a deployment turns it on
   * once storage lets the app dispose (docs/operations.md "Disposal").
   */
  disposal: { enabled: boolean; maxPerRun: number; localIntervalInMs: number };
  /**
   * CloudEvents `source` of the evidence events (CUSTODY_EVENT_SOURCE, default `/custody`): a
   * URI-reference naming this deployment, e.g. `/custody/metpolice-prod`, so a consumer fed by
   * several deployments can tell them apart (`source` + `id` is unique).
   */
  eventSource: string;
  /**
   * Transient failures (storage, index or broker unreachable, throttling, a stalled media run)
   * are retried with exponential backoff and jitter — the first after
   * CUSTODY_RETRY_FIRST_DELAY_MS (default 5,000), doubling up to CUSTODY_RETRY_MAX_DELAY_MS
   * (default 300,000) — until CUSTODY_RETRY_BUDGET_MINUTES (default 360) have passed since the
   * first failure; only then does the recording fail.
   */
  retry: RetryPolicy;
}

export type Environment = Record<string, string | undefined>;

export interface LoadSettingsOptions {
  /**
   * Read the evidence index (Cosmos DB) settings. Default true; false for a process that never
   * touches the index (the media app, functions/app-roles.ts): EvidenceIndex is then neither
   * required nor read, and `cosmos` is undefined.
   */
  evidenceIndex?: boolean;
}

export function loadSettings(env: Environment = process.env, options: LoadSettingsOptions = {}): Settings {
  return {
    serviceBus: loadServiceBusConnection(env),
    storage: connection(env, STORAGE_CONNECTION, "blobServiceUri", /(BlobEndpoint=|AccountName=)/i),
    cosmos: options.evidenceIndex === false ? undefined : cosmosSettings(env),
    requiredStages: stages(env),
    acceptedContainers: list(env, "CUSTODY_ACCEPTED_CONTAINERS", ["originals"]),
    media: {
      proxyMaxSide: integer(env, "CUSTODY_PROXY_MAX_SIDE", 1280, 16, 7680, (v) => v % 2 === 0 || "must be even (4:2:0 video needs even sizes)"),
      thumbnailCount: integer(env, "CUSTODY_THUMBNAIL_COUNT", 8, 1, 99),
      stallTimeoutInMs: integer(env, "CUSTODY_MEDIA_STALL_TIMEOUT_MS", 60_000, 5_000, 3_600_000),
      // At least 10 s (a cut costs up to a source GOP of extra decoding), at most 30 min (a run well inside Flex's scale-in grace).
      segmentSeconds: integer(env, "CUSTODY_SEGMENT_SECONDS", DEFAULT_SEGMENT_SECONDS, 10, 1_800),
    },
    fixity: {
      sampleSize: integer(env, "CUSTODY_FIXITY_SAMPLE", 10, 1, 10_000),
      recheckAfterHours: integer(env, "CUSTODY_FIXITY_RECHECK_HOURS", 168, 0, 87_600),
      localIntervalInMs: integer(env, "CUSTODY_FIXITY_INTERVAL_MS", 0, 0, 2_147_483_647),
    },
    reconcile: {
      stuckAfterMinutes: integer(env, "CUSTODY_RECONCILE_STUCK_AFTER_MINUTES", 60, 1, 525_600),
      lookbackHours: integer(env, "CUSTODY_RECONCILE_LOOKBACK_HOURS", 72, 0, 87_600),
      localIntervalInMs: integer(env, "CUSTODY_RECONCILE_INTERVAL_MS", 0, 0, 2_147_483_647),
    },
    disposal: {
      enabled: flag(env, "CUSTODY_DISPOSAL_ENABLED", false),
      maxPerRun: integer(env, "CUSTODY_DISPOSAL_MAX", 500, 1, 100_000),
      localIntervalInMs: integer(env, "CUSTODY_DISPOSAL_INTERVAL_MS", 0, 0, 2_147_483_647),
    },
    eventSource: eventSource(env),
    retry: retryPolicy(env),
    // Only when a key is named (the core app in Azure, the local stack): without one no manifest is signed.
    signing: env[SIGNING_KEY_SETTING]?.trim() || env[SIGNING_KEY_DIR_SETTING]?.trim() ? loadSigningSettings(env) : undefined,
  };
}

function retryPolicy(env: Environment): RetryPolicy {
  const firstDelayInMs = integer(env, "CUSTODY_RETRY_FIRST_DELAY_MS", DEFAULT_RETRY_POLICY.firstDelayInMs, 100, 3_600_000);
  const maxDelayInMs = integer(env, "CUSTODY_RETRY_MAX_DELAY_MS", DEFAULT_RETRY_POLICY.maxDelayInMs, 100, 3_600_000, (v) => v >= firstDelayInMs || "must not be below CUSTODY_RETRY_FIRST_DELAY_MS");
  const budgetMinutes = integer(env, "CUSTODY_RETRY_BUDGET_MINUTES", DEFAULT_RETRY_POLICY.budgetInMs / 60_000, 1, 20_160);
  return { budgetInMs: budgetMinutes * 60_000, firstDelayInMs, maxDelayInMs };
}

function cosmosSettings(env: Environment): CosmosSettings {
  const cosmosAuth = connection(env, COSMOS_CONNECTION, "accountEndpoint", /^AccountEndpoint=https?:\/\/[^;]+;AccountKey=[^;]+;?/i);
  const allowSelfSigned = (env[`${COSMOS_CONNECTION}__allowSelfSignedCertificate`] ?? "false").toLowerCase() === "true";
  if (allowSelfSigned) {
    // The connection string matched the AccountEndpoint pattern above, so the group is there.
    const endpoint = cosmosAuth.kind === "identity" ? cosmosAuth.endpoint : (/AccountEndpoint=([^;]+)/i.exec(cosmosAuth.connectionString)?.[1] ?? "");
    if (!/^https:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\//i.test(endpoint)) {
      throw invalid(`${COSMOS_CONNECTION}__allowSelfSignedCertificate`, "is only allowed for a local (loopback) Cosmos endpoint");
    }
  }
  return {
    auth: cosmosAuth,
    databaseName: name(env, "CUSTODY_COSMOS_DATABASE", "custody"),
    containerName: name(env, "CUSTODY_COSMOS_CONTAINER", "evidence"),
    allowSelfSignedCertificate: allowSelfSigned,
  };
}

/** The key that signs evidence manifests: a Key Vault key id (Azure), or none (a local key in the data folder). */
export const SIGNING_KEY_SETTING = "CUSTODY_SIGNING_KEY_ID";
/** Local only: the folder of the local signing key, so every process of one stack (dev host, CLI) uses the same key. */
export const SIGNING_KEY_DIR_SETTING = "CUSTODY_SIGNING_KEY_DIR";

/**
 * Where evidence is signed: `keyVault` when CUSTODY_SIGNING_KEY_ID names a Key Vault key
 * (`https://<vault>.vault.azure.net/keys/<name>[/<version>]`; versionless = the version current
 * at start), signing as the app's identity (the client id its storage connection uses);
 * otherwise `localKey`, a key generated in CUSTODY_SIGNING_KEY_DIR or else `localKeyDirectory`
 * (the stack's data folder). With neither, the start fails: an app in Azure without the
 * setting never falls back to a key on its instance's disk.
 */
export type SigningSettings = { kind: "keyVault"; keyId: string; clientId?: string; contentCredentialsChainPem?: string } | { kind: "localKey"; directory: string };

/**
 * The certificate chain Content Credentials are signed under when the key is in Key Vault
 * (docs/decisions/0016): PEM, the signing certificate first (issued for the Key Vault key), then
 * the CA certificates up to the one verifiers trust. Public, not a secret. Literal `\n` sequences
 * are read as line breaks (an app setting pasted on one line). Unset: the images are not signed.
 * Locally the chain is made in the key's folder (shared/adapters/local-content-credentials.ts).
 */
export const CONTENT_CREDENTIALS_CHAIN_SETTING = "CUSTODY_CONTENT_CREDENTIALS_CHAIN";

export function loadSigningSettings(env: Environment = process.env, options: { localKeyDirectory?: string } = {}): SigningSettings {
  const keyId = env[SIGNING_KEY_SETTING]?.trim();
  if (keyId) {
    let url: URL | undefined;
    try {
      url = new URL(keyId);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== "https:" || !/^\/keys\/[0-9A-Za-z-]{1,127}(\/[0-9A-Za-z]{1,64})?\/?$/.test(url.pathname) || url.search !== "" || url.hash !== "") {
      throw invalid(SIGNING_KEY_SETTING, "must be a Key Vault key id: https://<vault>.vault.azure.net/keys/<name>[/<version>]");
    }
    const clientId = env[`${STORAGE_CONNECTION}__clientId`]?.trim();
    const chain = env[CONTENT_CREDENTIALS_CHAIN_SETTING]?.trim();
    return { kind: "keyVault", keyId, ...(clientId ? { clientId } : {}), ...(chain ? { contentCredentialsChainPem: chain } : {}) };
  }
  const directory = env[SIGNING_KEY_DIR_SETTING]?.trim() || options.localKeyDirectory;
  if (directory === undefined) {
    throw new CustodyError("InvalidConfiguration", `No signing key: set ${SIGNING_KEY_SETTING} to a Key Vault key id (Azure), or ${SIGNING_KEY_DIR_SETTING} (or a data folder) for a local key.`);
  }
  return { kind: "localKey", directory };
}

/**
 * Only the Service Bus connection (ServiceBusConnection or its keyless form): for tools that
 * talk to the topics alone — `custody subscribe` run by a downstream team has no business
 * needing the storage account's or Cosmos DB's settings.
 */
export function loadServiceBusConnection(env: Environment = process.env): ConnectionAuth {
  return connection(env, SERVICE_BUS_CONNECTION, "fullyQualifiedNamespace", /^Endpoint=sb:\/\/[^;]+;/i);
}

function integer(env: Environment, key: string, fallback: number, min: number, max: number, check?: (value: number) => true | string): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw invalid(key, `must be a whole number from ${min} to ${max}`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw invalid(key, `must be from ${min} to ${max}`);
  const verdict = check?.(value) ?? true;
  if (verdict !== true) throw invalid(key, verdict);
  return value;
}

function connection(env: Environment, prefix: string, endpointKey: string, connectionStringShape: RegExp): ConnectionAuth {
  const connectionString = env[prefix];
  const endpoint = env[`${prefix}__${endpointKey}`];
  if (connectionString && endpoint) {
    throw invalid(prefix, `and ${prefix}__${endpointKey} are both set; set one (a connection string locally, the endpoint with a managed identity in Azure)`);
  }
  if (connectionString) {
    if (!connectionStringShape.test(connectionString)) throw invalid(prefix, "is not a connection string of the expected form");
    return { kind: "connectionString", connectionString };
  }
  if (endpoint) {
    const credential = env[`${prefix}__credential`];
    if (credential !== undefined && credential.toLowerCase() !== "managedidentity") {
      throw invalid(`${prefix}__credential`, `must be "managedidentity" when set, not "${credential}"`);
    }
    const clientId = env[`${prefix}__clientId`];
    if (clientId !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(clientId)) {
      throw invalid(`${prefix}__clientId`, "must be the client id (a GUID) of a user-assigned managed identity");
    }
    return { kind: "identity", endpoint, clientId };
  }
  throw invalid(prefix, `is not set: set ${prefix} (connection string) or ${prefix}__${endpointKey} (managed identity)`);
}

function stages(env: Environment): PipelineStage[] {
  // Every stage is required unless a deployment says otherwise: a recording is evidence-ready with its proxy and thumbnails.
  const values = list(env, "CUSTODY_REQUIRED_STAGES", [...PIPELINE_STAGES]);
  for (const value of values) {
    if (!(PIPELINE_STAGES as readonly string[]).includes(value)) {
      throw invalid("CUSTODY_REQUIRED_STAGES", `names an unknown stage "${value}"; known: ${PIPELINE_STAGES.join(", ")}`);
    }
  }
  if (!values.includes("hash")) throw invalid("CUSTODY_REQUIRED_STAGES", "must include hash: every recording is fingerprinted");
  return values as PipelineStage[];
}

function list(env: Environment, key: string, fallback: string[]): string[] {
  const raw = env[key];
  if (raw === undefined || raw.trim() === "") return fallback;
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function eventSource(env: Environment): string {
  const key = "CUSTODY_EVENT_SOURCE";
  const raw = env[key];
  if (raw === undefined || raw.trim() === "") return DEFAULT_EVENT_SOURCE;
  // A URI-reference (CloudEvents `source`): an absolute path or an absolute URI, printable ASCII, no spaces.
  if (!/^(\/|[A-Za-z][A-Za-z0-9+.-]*:)[\x21-\x7e]{0,1023}$/.test(raw) || /[?#]/.test(raw)) {
    throw invalid(key, "must be a URI-reference naming this deployment, e.g. /custody/metpolice-prod (no spaces, query or fragment)");
  }
  return raw;
}

function name(env: Environment, key: string, fallback: string): string {
  const value = env[key] ?? fallback;
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,254}$/.test(value)) throw invalid(key, "must be letters, digits and hyphens");
  return value;
}

function invalid(setting: string, problem: string): CustodyError {
  return new CustodyError("InvalidConfiguration", `Setting ${setting} ${problem}.`);
}

/** `true` or `false` (any case); a missing or empty one is `fallback`; anything else fails the start, naming the setting. */
function flag(env: Environment, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new CustodyError("InvalidConfiguration", `${name} must be true or false, not "${env[name] ?? ""}".`);
}
