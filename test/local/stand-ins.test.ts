/**
 * The local stand-ins start as the embedded stack starts them and serve the real SDKs.
 */
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite } from "../../local/azurite";
import { createLocalCosmosClient, startLocalCosmos } from "../../local/cosmos";

test("Azurite serves @azure/storage-blob, and its data survives a restart", async () => {
  const location = mkdtempSync(path.join(os.tmpdir(), "custody-azurite-"));
  let azurite = await startAzurite({ location });
  try {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const container = service.getContainerClient("originals");
    await container.createIfNotExists();
    await container.getBlockBlobClient("a/b.mp4").upload("hello", 5, { metadata: { officerid: "A1" } });
    await azurite.stop();
    azurite = await startAzurite({ location });
    const again = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("originals").getBlobClient("a/b.mp4");
    const properties = await again.getProperties();
    expect(properties.contentLength).toBe(5);
    expect(properties.metadata).toEqual({ officerid: "A1" });
  } finally {
    await azurite.stop();
  }
});

test("the Cosmos stand-in serves @azure/cosmos with ETag-guarded replace", async () => {
  const cosmos = await startLocalCosmos();
  try {
    const client = createLocalCosmosClient(cosmos.endpoint);
    const { database } = await client.databases.createIfNotExists({ id: "custody" });
    const { container } = await database.containers.createIfNotExists({ id: "evidence", partitionKey: { paths: ["/id"] } });
    const { resource } = await container.items.create({ id: "ev-1", status: "received" });
    await container.item("ev-1", "ev-1").replace({ id: "ev-1", status: "ready" }, { accessCondition: { type: "IfMatch", condition: resource!._etag } });
    let status: number | undefined;
    try {
      await container.item("ev-1", "ev-1").replace({ id: "ev-1", status: "failed" }, { accessCondition: { type: "IfMatch", condition: resource!._etag } });
    } catch (error) {
      status = (error as { code?: number }).code;
    }
    expect(status).toBe(412);
    const { resource: read } = await container.item("ev-1", "ev-1").read<{ status: string }>();
    expect(read?.status).toBe("ready");
    client.dispose();
  } finally {
    await cosmos.stop();
  }
});
