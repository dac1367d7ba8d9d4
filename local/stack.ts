/**
 * The embedded stack: everything Custody needs on one machine with no Azure and no Docker —
 * Azurite (blob, data on disk), the Cosmos stand-in (in memory), the Service Bus emulator
 * (in memory, the project's topology), the dev host running the app's functions, and the
 * blob-event source standing in for Event Grid. `npm start` runs it; `custody process`
 * starts one when none is running; tests start one per suite.
 */
import { rm, mkdir } from "node:fs/promises";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { APP_ROLES, type AppRole } from "../functions/app-roles";
import { definitionsForRoles } from "../functions/definitions";
import { createServices, useServices, type FunctionServices } from "../functions/services";
import { createServiceBusClient } from "../shared/adapters/service-bus-client";
import { localSigningKeyDirectory } from "../shared/adapters/local-key-signer";
import type { Logger } from "../shared/logging";
import { loadSettings, type Environment } from "../shared/settings";
import { DERIVED_CONTAINER, ORIGINALS_CONTAINER } from "../shared/ports/blob-store";
import { ENTITIES } from "../shared/topology";
import { startAzurite, type AzuriteInstance } from "./azurite";
import { startBlobEventSource, type BlobEventSource } from "./blob-event-source";
import { startLocalCosmos, type CosmosInstance } from "./cosmos";
import { startDevHost, type DevHost } from "./dev-host/dev-host";
import { startFaultProxy, type FaultProxy } from "./fault-proxy";
import { readHostJson } from "./dev-host/host-json";
import { startTimers } from "./dev-host/timers";
import { startServiceBusEmulator, type ServiceBusEmulator, type ServiceBusEmulatorFaults } from "./servicebus-emulator";
import { stackFileFor, writeStackFile } from "./stack-file";

export { DERIVED_CONTAINER, ORIGINALS_CONTAINER } from "../shared/ports/blob-store";

export interface StartStackOptions {
  /** Folder for Azurite's data and the stack's state (created if missing). */
  dataDir: string;
  ports?: { blob?: number; cosmos?: number; serviceBus?: number };
  log: Logger;
  /** Run the functions (dev host) and the blob-event source. Default true. */
  runFunctions?: boolean;
  /** Which apps' functions the stack's dev host runs (functions/app-roles.ts). Default both. */
  roles?: readonly AppRole[];
  /**
   * Run the blob-event source (the local Event Grid) even when `runFunctions` is false — for a
   * functions host run as its own process (`custody dev-host` with `environment`). Default:
   * as `runFunctions`.
   */
  runBlobEvents?: boolean;
  /**
   * Put a fault proxy (local/fault-proxy.ts) in front of Azurite, the Cosmos stand-in and the
   * Service Bus emulator, and name the proxies in `environment`: a functions host started with
   * it can be cut off from each service, while this process (`services`, the blob-event source,
   * `directEnvironment`) still reaches them directly. Needs `runFunctions: false` (the host
   * runs apart, so it can also be killed).
   */
  faultProxies?: boolean;
  /** Extra settings (e.g. CUSTODY_REQUIRED_STAGES) for the functions. */
  environment?: Environment;
  serviceBusFaults?: ServiceBusEmulatorFaults;
  /** The Service Bus topology (a Config.json object) instead of topology/servicebus.json, e.g. a test's variant of it. */
  serviceBusConfig?: unknown;
  /** Poll interval of the blob-event source. */
  blobPollIntervalInMs?: number;
  /**
   * Write Azurite's debug log to `<dataDir>/azurite-debug.log` (`custody start --verbose`, or
   * CUSTODY_AZURITE_DEBUG_LOG=1). Off by default: it holds SAS URLs with their signatures and
   * grows by gigabytes a day.
   */
  azuriteDebugLog?: boolean;
}

export interface RunningStack {
  /** The file Azurite's debug log goes to, when it is written. */
  azuriteDebugLogFile: string | undefined;
  /**
   * Functions-style settings for a functions host (connection strings of local emulators only;
   * through the fault proxies when the stack has them).
   */
  environment: Record<string, string>;
  /** The same settings straight to the services, never through a fault proxy. */
  directEnvironment: Record<string, string>;
  /** The fault proxies `environment` names (with `faultProxies`). */
  proxies: { blob: FaultProxy; cosmos: FaultProxy; serviceBus: FaultProxy } | undefined;
  endpoints: { blob: string; cosmos: string; serviceBus: string };
  serviceBus: ServiceBusEmulator;
  services: FunctionServices | undefined;
  blobEvents: BlobEventSource | undefined;
  /** File describing this running stack, for other commands (`custody process`) to find it. */
  stackFile: string;
  stop(): Promise<void>;
}

/** Where the stack writes Azurite's debug log when asked to. */
export function azuriteDebugLogFile(dataDir: string): string {
  return path.join(dataDir, "azurite-debug.log");
}

export async function startStack(options: StartStackOptions): Promise<RunningStack> {
  if (options.faultProxies && options.runFunctions !== false) {
    throw new Error("faultProxies needs runFunctions: false: run the functions host as its own process with the stack's environment.");
  }
  await mkdir(options.dataDir, { recursive: true });
  const stoppers: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  };
  try {
    const debugLogFile = (options.azuriteDebugLog ?? /^(1|true|yes)$/i.test(process.env.CUSTODY_AZURITE_DEBUG_LOG ?? "")) ? azuriteDebugLogFile(options.dataDir) : undefined;
    const azurite: AzuriteInstance = await startAzurite({
      location: path.join(options.dataDir, "azurite"),
      port: options.ports?.blob,
      ...(debugLogFile === undefined ? {} : { debugLogFile }),
    });
    stoppers.push(() => azurite.stop());
    const cosmos: CosmosInstance = await startLocalCosmos({ port: options.ports?.cosmos });
    stoppers.push(() => cosmos.stop());
    const serviceBus = await startServiceBusEmulator({ port: options.ports?.serviceBus, faults: options.serviceBusFaults, config: options.serviceBusConfig });
    stoppers.push(() => serviceBus.close());

    const blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
    for (const name of [ORIGINALS_CONTAINER, DERIVED_CONTAINER]) await blobService.getContainerClient(name).createIfNotExists();

    const directEnvironment: Record<string, string> = {
      ServiceBusConnection: serviceBus.connectionString,
      EvidenceStorage: azurite.connectionString,
      EvidenceIndex: cosmos.connectionString,
      EvidenceIndex__allowSelfSignedCertificate: "true",
      // The local key that signs evidence manifests, shared by every process of this stack (dev host, CLI).
      CUSTODY_SIGNING_KEY_DIR: localSigningKeyDirectory(options.dataDir),
      ...(options.environment as Record<string, string> | undefined),
    };
    let environment = directEnvironment;
    let proxies: RunningStack["proxies"];
    if (options.faultProxies) {
      const proxyTo = async (port: number): Promise<FaultProxy> => {
        const proxy = await startFaultProxy({ target: { host: "127.0.0.1", port } });
        stoppers.push(() => proxy.close());
        return proxy;
      };
      proxies = { blob: await proxyTo(azurite.port), cosmos: await proxyTo(cosmos.port), serviceBus: await proxyTo(serviceBus.port) };
      environment = {
        ...directEnvironment,
        ServiceBusConnection: withPort(serviceBus.connectionString, serviceBus.port, proxies.serviceBus.port),
        EvidenceStorage: withPort(azurite.connectionString, azurite.port, proxies.blob.port),
        EvidenceIndex: withPort(cosmos.connectionString, cosmos.port, proxies.cosmos.port),
      };
    }
    const settings = loadSettings(directEnvironment);
    // The index container is created here (and by Bicep in Azure): the app itself never needs control-plane rights.
    const services = await createServices(settings);
    stoppers.push(() => services.close());

    let devHost: DevHost | undefined;
    let blobEvents: BlobEventSource | undefined;
    const runFunctions = options.runFunctions !== false;
    const client = runFunctions || options.runBlobEvents ? createServiceBusClient(settings.serviceBus) : undefined;
    if (client) stoppers.push(() => client.close());
    if (runFunctions && client) {
      useServices(services);
      stoppers.push(() => {
        useServices(undefined);
        return Promise.resolve();
      });
      const { functions, timers: timerDefinitions } = definitionsForRoles(options.roles ?? APP_ROLES);
      devHost = startDevHost({ client, definitions: functions, hostSettings: readHostJson(), log: options.log.child({ component: "dev-host" }) });
      stoppers.push(() => devHost!.stop());
      // Timer functions (fixity-sample) only at a local interval when one is set (CUSTODY_FIXITY_INTERVAL_MS).
      const timers = startTimers(timerDefinitions, settings, options.log.child({ component: "dev-host" }));
      stoppers.push(() => timers.stop());
    }
    if ((options.runBlobEvents ?? runFunctions) && client) {
      // Listing retries stay short: a folder Azurite cannot list must not stall every poll.
      const listingService = BlobServiceClient.fromConnectionString(azurite.connectionString, { retryOptions: { maxTries: 1 } });
      blobEvents = await startBlobEventSource({
        container: listingService.getContainerClient(ORIGINALS_CONTAINER),
        client,
        queueName: ENTITIES.blobCreated.queueName,
        stateFile: path.join(options.dataDir, "blob-events.json"),
        pollIntervalInMs: options.blobPollIntervalInMs,
        log: options.log.child({ component: "blob-events" }),
      });
      stoppers.push(() => blobEvents!.stop());
    }

    const stackFile = stackFileFor(options.dataDir);
    const endpoints = { blob: azurite.blobServiceUrl, cosmos: cosmos.endpoint, serviceBus: `sb://localhost:${serviceBus.port}` };
    // The emulator's management certificate (public, regenerated at each start) lets other
    // processes' ServiceBusAdministrationClient trust it (`custody dlq list`).
    const serviceBusCertificatePem = serviceBus.certificatePem;
    // Other commands (`custody process`, `dlq`) reach the services directly, never through a cut proxy.
    await writeStackFile(stackFile, { pid: process.pid, startedAt: new Date().toISOString(), endpoints, environment: directEnvironment, serviceBusCertificatePem });
    stoppers.push(() => rm(stackFile, { force: true }));

    return {
      azuriteDebugLogFile: debugLogFile,
      environment,
      directEnvironment,
      proxies,
      endpoints,
      serviceBus,
      services,
      blobEvents,
      stackFile,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A local connection string with its service's port replaced by a proxy's. */
function withPort(connectionString: string, from: number, to: number): string {
  const replaced = connectionString.replace(new RegExp(`:${from}(?=[/;])`, "g"), `:${to}`);
  if (replaced === connectionString) throw new Error(`no port ${from} in a local connection string`);
  return replaced;
}
