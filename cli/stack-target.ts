/**
 * Which Custody the CLI talks to: a stack started by `custody start` in this data folder (its
 * stack.json), else the settings in the environment (an Azure deployment: the same
 * Functions-style names, keyless with `az login`), else — for commands that allow it — an
 * embedded stack started for the duration of the command.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { createServices, type FunctionServices } from "../functions/services";
import { createBlobServiceClient } from "../shared/adapters/blob-service-client";
import { createCredential } from "../shared/adapters/credential";
import { createLogger, silentLogger } from "../shared/logging";
import { loadServiceBusConnection, loadSettings, SERVICE_BUS_CONNECTION, type ConnectionAuth, type Environment, type Settings } from "../shared/settings";
import type { BlobServiceClient } from "@azure/storage-blob";
import { stackFileFor, startStack, type RunningStack } from "../local/stack";

export const DEFAULT_DATA_DIR = ".custody";

export interface StackTarget {
  /** Where the settings came from, for messages. */
  description: string;
  settings: Settings;
  services: FunctionServices;
  blobService: BlobServiceClient;
  /** PEM of the local Service Bus emulator's management certificate, when the target is one (stack.json, or NODE_EXTRA_CA_CERTS). */
  serviceBusCertificatePem?: string;
  /** Set when this command started its own embedded stack. */
  embedded?: RunningStack;
  close(): Promise<void>;
}

export interface ResolveTargetOptions {
  dataDir: string;
  /** Start an embedded stack when none is found. */
  allowEmbedded: boolean;
  verbose?: boolean;
}

export async function resolveStackTarget(options: ResolveTargetOptions): Promise<StackTarget> {
  const running = readRunningStack(options.dataDir);
  if (running) return connect(`the stack running in ${options.dataDir} (pid ${running.pid})`, running.environment, running.serviceBusCertificatePem);
  if (process.env[SERVICE_BUS_CONNECTION] || process.env[`${SERVICE_BUS_CONNECTION}__fullyQualifiedNamespace`]) {
    const extraCa = process.env.NODE_EXTRA_CA_CERTS;
    return connect("the settings in the environment", process.env, extraCa && existsSync(extraCa) ? readFileSync(extraCa, "utf8") : undefined);
  }
  if (!options.allowEmbedded) {
    throw new Error(`No Custody to talk to: start one with \`custody start\` (data folder ${options.dataDir}) or set ${SERVICE_BUS_CONNECTION}, EvidenceStorage and EvidenceIndex.`);
  }
  const embedded = await startStack({
    dataDir: options.dataDir,
    // stderr: stdout carries the command's result (--json must stay parseable).
    log: options.verbose ? createLogger({ minLevel: "info", sink: (_level, line) => process.stderr.write(`${line}\n`) }) : silentLogger,
    blobPollIntervalInMs: 250,
  });
  const target = await connect(`an embedded stack in ${options.dataDir}`, embedded.environment, embedded.serviceBus.certificatePem);
  return {
    ...target,
    embedded,
    async close() {
      await target.close();
      await embedded.stop();
    },
  };
}

async function connect(description: string, environment: Environment, serviceBusCertificatePem?: string): Promise<StackTarget> {
  const settings = loadSettings(environment);
  const services = await createServices(settings);
  const storage = settings.storage;
  const blobService =
    storage.kind === "connectionString"
      ? createBlobServiceClient({ connectionString: storage.connectionString })
      : createBlobServiceClient({ blobServiceUri: storage.endpoint, credential: createCredential(storage.clientId) });
  return { description, settings, services, blobService, serviceBusCertificatePem, close: () => services.close() };
}

/**
 * Only the Service Bus namespace, for commands that need nothing else (`custody subscribe`):
 * a running `custody start` in the data folder, else ServiceBusConnection (or
 * ServiceBusConnection__fullyQualifiedNamespace with `az login` / a managed identity).
 */
export function resolveServiceBus(dataDir: string): { description: string; auth: ConnectionAuth } {
  const running = readRunningStack(dataDir);
  if (running) return { description: `the stack running in ${dataDir} (pid ${running.pid})`, auth: loadServiceBusConnection(running.environment) };
  if (process.env[SERVICE_BUS_CONNECTION] || process.env[`${SERVICE_BUS_CONNECTION}__fullyQualifiedNamespace`]) {
    return { description: "the settings in the environment", auth: loadServiceBusConnection(process.env) };
  }
  throw new Error(`No Custody to talk to: start one with \`custody start\` (data folder ${dataDir}) or set ${SERVICE_BUS_CONNECTION} (or ${SERVICE_BUS_CONNECTION}__fullyQualifiedNamespace).`);
}

interface StackFile {
  pid: number;
  environment: Record<string, string>;
  serviceBusCertificatePem?: string;
}

function readRunningStack(dataDir: string): StackFile | undefined {
  const file = stackFileFor(path.resolve(dataDir));
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as StackFile;
    process.kill(parsed.pid, 0); // throws when the process is gone (a stale file after a crash)
    return parsed;
  } catch {
    return undefined;
  }
}
