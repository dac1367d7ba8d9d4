/**
 * The Cosmos DB stand-in (`@vercel/cosmosdb-server`, in-process, in-memory) for the embedded
 * stack and tests. It serves HTTPS with its own self-signed certificate; clients reach it
 * through `createLocalCosmosClient`, which is the only place that accepts that certificate.
 * Started with keep-alive: with the default `Connection: close` it manages ~500 writes/s,
 * with keep-alive ~2,000.
 */
import type { Server } from "node:https";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { CosmosClient } from "@azure/cosmos";
import { createHttpsServer } from "@vercel/cosmosdb-server";

/** The key @vercel/cosmosdb-server accepts (it checks none); the emulator's well-known key shape. */
export const LOCAL_COSMOS_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU9DAoGLHlJfFVXKZLPVEXB6xFxNd6ZOQpT1Ud/5KUALkT/GA==";

export interface StartCosmosOptions {
  port?: number;
  host?: string;
}

export interface CosmosInstance {
  endpoint: string;
  connectionString: string;
  port: number;
  stop(): Promise<void>;
}

export async function startLocalCosmos(options: StartCosmosOptions = {}): Promise<CosmosInstance> {
  const server: Server = createHttpsServer({ keepAlive: true });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new Error(`Cosmos stand-in cannot listen: port ${options.port} is already in use.`) : error));
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `https://localhost:${port}/`;
  return {
    endpoint,
    port,
    connectionString: `AccountEndpoint=${endpoint};AccountKey=${LOCAL_COSMOS_KEY};`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * A CosmosClient for the local stand-in: accepts its self-signed certificate (this agent is
 * used for nothing else) and disables endpoint discovery (there are no regions to discover).
 */
export function createLocalCosmosClient(endpoint: string, key: string = LOCAL_COSMOS_KEY): CosmosClient {
  return new CosmosClient({
    endpoint,
    key,
    agent: new https.Agent({ rejectUnauthorized: false, keepAlive: true }),
    connectionPolicy: { enableEndpointDiscovery: false },
  });
}
