/**
 * Starts an emulator with a given Config.json object and a real ServiceBusClient for a test
 * file, and closes both afterwards. Tests talk to the emulator only through the public SDK.
 */
import { ServiceBusClient } from "@azure/service-bus";
import { startServiceBusEmulator, type ServiceBusEmulator, type StartServiceBusEmulatorOptions } from "../../local/servicebus-emulator";

export interface EntityProperties {
  [key: string]: unknown;
}

/** Builds a Config.json object in Microsoft's emulator format. */
export function emulatorConfig(entities: {
  queues?: Array<{ name: string; properties?: EntityProperties }>;
  topics?: Array<{ name: string; properties?: EntityProperties; subscriptions: Array<{ name: string; properties?: EntityProperties; rules?: unknown[] }> }>;
}): unknown {
  return {
    UserConfig: {
      Namespaces: [
        {
          Name: "sbemulatorns",
          Queues: (entities.queues ?? []).map((q) => ({ Name: q.name, Properties: q.properties ?? {} })),
          Topics: (entities.topics ?? []).map((t) => ({
            Name: t.name,
            Properties: t.properties ?? {},
            Subscriptions: t.subscriptions.map((s) => ({ Name: s.name, Properties: s.properties ?? {}, ...(s.rules ? { Rules: s.rules } : {}) })),
          })),
        },
      ],
      Logging: { Type: "File" },
    },
  };
}

export interface EmulatorHarness {
  emulator: ServiceBusEmulator;
  client: ServiceBusClient;
  close(): Promise<void>;
}

export async function startHarness(config: unknown, options: Omit<StartServiceBusEmulatorOptions, "config"> = {}): Promise<EmulatorHarness> {
  const emulator = await startServiceBusEmulator({ ...options, config });
  const client = new ServiceBusClient(emulator.connectionString, { retryOptions: { maxRetries: 1, retryDelayInMs: 100, timeoutInMs: 10_000 } });
  return {
    emulator,
    client,
    async close() {
      await client.close();
      await emulator.close();
    },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
