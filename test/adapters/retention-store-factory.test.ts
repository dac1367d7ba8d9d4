/**
 * Which retention store the storage settings get: Azure's own enforcement for any Azure
 * endpoint (a connection string included), the emulated store only for the local emulator.
 */
import { AzureRetentionStore } from "../../shared/adapters/azure-retention-store";
import { EmulatedRetentionStore } from "../../shared/adapters/emulated-retention-store";
import { isLocalStorageEmulator, openRetentionStore } from "../../shared/adapters/factories";
import type { ConnectionAuth } from "../../shared/settings";

// Azurite's well-known development key (public); the Azure account key below is a made-up placeholder.
const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const PLACEHOLDER_KEY = Buffer.from("not-a-real-key").toString("base64");
const connection = (connectionString: string): ConnectionAuth => ({ kind: "connectionString", connectionString });

test("the local stack's Azurite (loopback BlobEndpoint, or UseDevelopmentStorage) gets the emulated store", () => {
  for (const host of ["127.0.0.1:10000", "localhost:41234", "[::1]:10000"]) {
    const auth = connection(`DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=http://${host}/devstoreaccount1;`);
    expect(isLocalStorageEmulator(auth)).toBe(true);
    expect(openRetentionStore(auth)).toBeInstanceOf(EmulatedRetentionStore);
  }
  expect(isLocalStorageEmulator(connection("UseDevelopmentStorage=true"))).toBe(true);
});

test("an Azure account gets Azure's enforcement, whether reached with an identity or a connection string", () => {
  const identity: ConnectionAuth = { kind: "identity", endpoint: "https://custodyevidence.blob.core.windows.net" };
  expect(isLocalStorageEmulator(identity)).toBe(false);
  expect(openRetentionStore(identity)).toBeInstanceOf(AzureRetentionStore);
  const azure = connection(`DefaultEndpointsProtocol=https;AccountName=custodyevidence;AccountKey=${PLACEHOLDER_KEY};EndpointSuffix=core.windows.net`);
  expect(isLocalStorageEmulator(azure)).toBe(false);
  expect(openRetentionStore(azure)).toBeInstanceOf(AzureRetentionStore);
  // A host that merely starts like a loopback address is not one.
  expect(isLocalStorageEmulator(connection(`AccountName=a;AccountKey=${PLACEHOLDER_KEY};BlobEndpoint=https://127.0.0.1.example.net/a;`))).toBe(false);
});
