/**
 * The local stack's retention store against real Azurite: the port's contract (the same tests
 * the Azure adapter passes), protections surviving an Azurite restart, and a hold that races a
 * delete never losing the version.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { BlobServiceClient } from "@azure/storage-blob";
import { createBlobServiceClient } from "../../shared/adapters/blob-service-client";
import { EmulatedRetentionStore, RETENTION_RECORDS_CONTAINER } from "../../shared/adapters/emulated-retention-store";
import { startAzurite, type AzuriteInstance } from "../../local/azurite";
import { expectRefused, retentionStoreContract, type RetentionStoreSubject } from "../adapters/retention-store-contract";

let work: string;
let azurite: AzuriteInstance;
let client: BlobServiceClient;
let store: EmulatedRetentionStore;

async function start(port?: number): Promise<void> {
  azurite = await startAzurite({ location: path.join(work, "azurite"), port });
  client = createBlobServiceClient({ connectionString: azurite.connectionString, pipelineOptions: { retryOptions: { maxTries: 1 } } });
  store = new EmulatedRetentionStore(client);
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "custody-retention-"));
  await start();
  await client.getContainerClient("originals").createIfNotExists();
  await client.getContainerClient("derived").createIfNotExists();
});

afterAll(async () => {
  await azurite.stop();
  rmSync(work, { recursive: true, force: true });
});

const subject: RetentionStoreSubject = {
  get store() {
    return store;
  },
  async write(container, name) {
    await client.getContainerClient(container).getBlockBlobClient(name).upload("bytes", 5);
    // Azurite keeps no versions: the blob is its one version.
    return { container, name };
  },
  async exists(container, name) {
    return client.getContainerClient(container).getBlobClient(name).exists();
  },
};

describe("EmulatedRetentionStore: the port's contract on Azurite", () => {
  retentionStoreContract(() => subject);
});

describe("EmulatedRetentionStore: durable and race-free", () => {
  test("protections live in Azurite and survive its restart: a held, retained blob is still refused", async () => {
    const ref = await subject.write("originals", "borough-02/cam-9/restart.mp4");
    const until = new Date(Date.now() + 86_400_000);
    await store.extendRetention(ref, until);
    await store.setLegalHold(ref, true);
    const records: string[] = [];
    for await (const item of client.getContainerClient(RETENTION_RECORDS_CONTAINER).listBlobsFlat()) records.push(item.name);
    expect(records).toContain("originals/borough-02%2Fcam-9%2Frestart.mp4.json");

    const port = azurite.port;
    await azurite.stop();
    await start(port);

    expect(await store.protection(ref)).toEqual({ immutableUntil: new Date(Math.ceil(until.getTime() / 1000) * 1000), policyMode: "Unlocked", legalHold: true });
    await expectRefused(store.deleteVersion(ref), "BlobImmutableDueToLegalHold");
    await store.setLegalHold(ref, false);
    await expectRefused(store.deleteVersion(ref), "BlobImmutableDueToPolicy");
    expect(await subject.exists("originals", ref.name)).toBe(true);
  });

  test("a hold set while the version is being deleted is turned away, then finds the version gone: never a hold reported on a deleted version", async () => {
    // Between Azurite and the store, a proxy that holds the blob's DELETE until a legal hold,
    // started at that moment, has either settled or been turned away from the protection record.
    const name = "borough-02/cam-9/race.mp4";
    const ref = await subject.write("originals", name);
    let holding: Promise<unknown> | undefined;
    let recordWriteRefused!: () => void;
    const refused = new Promise<void>((resolve) => (recordWriteRefused = resolve));
    const proxy = await startInterceptingProxy(azurite.port, {
      async beforeForwarding(method, requestPath) {
        if (method !== "DELETE" || requestPath !== `/devstoreaccount1/originals/${name}` || holding !== undefined) return;
        holding = racing.setLegalHold(ref, true);
        await Promise.race([holding.catch(() => undefined), refused]);
      },
      afterResponse(method, requestPath, status) {
        if (method === "PUT" && requestPath.startsWith(`/devstoreaccount1/${RETENTION_RECORDS_CONTAINER}/`) && (status === 409 || status === 412)) recordWriteRefused();
      },
    });
    const viaProxy = createBlobServiceClient({ connectionString: azurite.connectionString.replace(`:${azurite.port}/`, `:${proxy.port}/`), pipelineOptions: { retryOptions: { maxTries: 1 } } });
    const racing = new EmulatedRetentionStore(viaProxy);
    try {
      const deletion = await racing.deleteVersion(ref).then(
        (value) => value,
        (error: unknown) => error,
      );
      expect(holding).toBeDefined();
      const hold = await holding?.then(
        (value) => ({ held: true, value }),
        (error: unknown) => ({ held: false, error }),
      );
      const exists = await subject.exists("originals", name);
      // The outcome that must never happen: a hold reported set on a version that is gone.
      expect({ held: hold?.held, deletion, exists }).toEqual({ held: false, deletion: "deleted", exists: false });
      expect(hold).toMatchObject({ error: { code: "OriginalNotFound" } });
    } finally {
      await proxy.close();
    }
  });

  test("a record left by an interrupted delete (an empty placeholder) protects nothing and is cleaned up", async () => {
    const ref = await subject.write("originals", "borough-02/cam-9/placeholder.mp4");
    const record = client.getContainerClient(RETENTION_RECORDS_CONTAINER).getBlockBlobClient("originals/borough-02%2Fcam-9%2Fplaceholder.mp4.json");
    await record.upload("{}", 2);
    expect(await store.protection(ref)).toEqual({ legalHold: false });
    expect(await store.setLegalHold(ref, true)).toEqual({ legalHold: true });
    await store.setLegalHold(ref, false);
    expect(await store.deleteVersion(ref)).toBe("deleted");
    expect(await record.exists()).toBe(false);
  });
});

interface InterceptingProxyHooks {
  /** Awaited before a request is forwarded. */
  beforeForwarding(method: string, path: string): Promise<void>;
  afterResponse(method: string, path: string, status: number): void;
}

/** An HTTP proxy in front of Azurite that lets a test hold a request back (the shared-key signature does not cover the host, so requests pass unchanged). */
async function startInterceptingProxy(targetPort: number, hooks: InterceptingProxyHooks): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const method = incoming.method ?? "GET";
      const requestPath = new URL(incoming.url ?? "/", "http://localhost").pathname;
      void hooks.beforeForwarding(method, requestPath).then(() => {
        const upstream = httpRequest({ host: "127.0.0.1", port: targetPort, method, path: incoming.url, headers: incoming.headers }, (response) => {
          hooks.afterResponse(method, requestPath, response.statusCode ?? 0);
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        });
        upstream.on("error", () => outgoing.destroy());
        upstream.end(Buffer.concat(chunks));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
