/**
 * Which Custody the CLI talks to: a stack started by `custody start` in this data folder (its
 * stack.json), else the settings in the environment (an Azure deployment: the same
 * Functions-style names, keyless with `az login`), else — for commands that allow it — an
 * embedded stack started for the duration of the command. The clients come from the adapters'
 * factories (shared/adapters/factories.ts), as the function app's do; the embedded stack is
 * loaded only when one is started.
 */
import { existsSync, readFileSync } from "node:fs";
import { openServiceClients, operatorName, type ServiceClients } from "../shared/adapters/factories";
import { createQueueOperations } from "../shared/adapters/service-bus-operations";
import type { QueueOperations } from "../shared/ports/queue-operations";
import { loadServiceBusConnection, loadSettings, SERVICE_BUS_CONNECTION, type ConnectionAuth, type Environment, type Settings } from "../shared/settings";
import { readRunningStack } from "../local/stack-file";
import { startEmbeddedStack } from "./embedded-stack";

export interface StackTarget {
  /** Where the settings came from, for messages. */
  description: string;
  settings: Settings;
  services: ServiceClients;
  /** PEM of the local Service Bus emulator's management certificate, when the target is one (stack.json, or NODE_EXTRA_CA_CERTS). */
  serviceBusCertificatePem?: string;
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
  const embedded = await startEmbeddedStack({ dataDir: options.dataDir, verbose: options.verbose });
  const target = await connect(`an embedded stack in ${options.dataDir}`, embedded.environment, embedded.serviceBusCertificatePem);
  return {
    ...target,
    async close() {
      await target.close();
      await embedded.stop();
    },
  };
}

async function connect(description: string, environment: Environment, serviceBusCertificatePem?: string): Promise<StackTarget> {
  const settings = loadSettings(environment);
  const services = await openServiceClients(settings);
  return { description, settings, services, serviceBusCertificatePem, close: () => services.close() };
}

/**
 * Runs `work` with the target and its Service Bus queue operations, closing both after; an
 * error names the target, so an operator sees which Custody refused.
 */
export async function withOperations<T>(options: { dataDir: string }, work: (operations: QueueOperations, target: StackTarget) => Promise<T>): Promise<T> {
  const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: false });
  let operations: QueueOperations | undefined;
  try {
    operations = createQueueOperations(target.settings.serviceBus, { emulatorCertificatePem: target.serviceBusCertificatePem });
    return await work(operations, target);
  } catch (error) {
    throw new Error(`${target.description}: ${(error as Error).message}`, { cause: error });
  } finally {
    await operations?.close().catch(() => undefined);
    await target.close();
  }
}

/** Who is acting, for audit records and requests: the token's upn/oid in Azure, else user@host. */
export function operatorOf(target: StackTarget): Promise<string> {
  return operatorName(target.settings.serviceBus);
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
