/**
 * A ServiceBusClient from settings: a connection string locally (the emulator), the
 * namespace and a managed identity in Azure.
 */
import { ServiceBusClient, type ServiceBusClientOptions } from "@azure/service-bus";
import type { ConnectionAuth } from "../settings";
import { createCredential } from "./credential";

export function createServiceBusClient(auth: ConnectionAuth, options: ServiceBusClientOptions = {}): ServiceBusClient {
  if (auth.kind === "connectionString") return new ServiceBusClient(auth.connectionString, options);
  return new ServiceBusClient(auth.endpoint, createCredential(auth.clientId), options);
}
