/**
 * The blob adapter's media side against Azurite: a read-only SAS URL to the exact version
 * (refused for a changed or missing original, useless for writing), and renditions written to
 * their deterministic derived path with the SHA-256 of the bytes sent, overwriting.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import { AzureBlobStore } from "../../shared/adapters/azure-blob-store";
import { createBlobServiceClient } from "../../shared/adapters/blob-service-client";
import { DERIVED_CONTAINER } from "../../shared/ports/blob-store";
import { startAzurite, type AzuriteInstance } from "../../local/azurite";

let azurite: AzuriteInstance;
let location: string;
let originals: ContainerClient;
let derived: ContainerClient;
let store: AzureBlobStore;
const EV = "ev-0123456789abcdef0123456789abcdef";

beforeAll(async () => {
  location = mkdtempSync(path.join(os.tmpdir(), "custody-blob-media-"));
  azurite = await startAzurite({ location: path.join(location, "azurite") });
  const service = createBlobServiceClient({ connectionString: azurite.connectionString });
  originals = service.getContainerClient("originals");
  derived = service.getContainerClient(DERIVED_CONTAINER);
  await originals.createIfNotExists();
  await derived.createIfNotExists();
  store = new AzureBlobStore(service);
});

afterAll(async () => {
  await azurite?.stop();
  rmSync(location, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

test("readUrl: a read-only, expiring URL to the exact version; refused once the original changed or is gone", async () => {
  const name = "cam/Zoë #1 100%.mp4";
  const bytes = randomBytes(5000);
  const blob = originals.getBlockBlobClient(name);
  const { etag } = await blob.uploadData(bytes);
  const url = await store.readUrl({ container: "originals", name, etag: etag! }, 60_000);
  expect(url).toMatch(/[?&]sp=r(&|$)/);
  expect(url).toMatch(/[?&]se=/);
  const read = await fetch(url);
  expect(read.status).toBe(200);
  expect(sha256(Buffer.from(await read.arrayBuffer()))).toBe(sha256(bytes));
  const write = await fetch(url, { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" }, body: "overwrite" });
  expect(write.status).toBe(403);

  await blob.uploadData(randomBytes(10));
  await expect(store.readUrl({ container: "originals", name, etag: etag! }, 60_000)).rejects.toMatchObject({ code: "OriginalChanged" });
  await expect(store.readUrl({ container: "originals", name: "cam/never.mp4" }, 60_000)).rejects.toMatchObject({ code: "OriginalNotFound" });
});

test("writeDerived: derived/<evidenceId>/<stage>/<name>, content type set, SHA-256 of the bytes sent, overwrite", async () => {
  const file = path.join(location, "proxy.mp4");
  const first = randomBytes(3 * 1024 * 1024 + 5);
  writeFileSync(file, first);
  const written = await store.writeDerived({ evidenceId: EV, stage: "transcode", name: "proxy.mp4", contentType: "video/mp4" }, { kind: "file", path: file });
  expect(written).toMatchObject({ container: "derived", name: `${EV}/transcode/proxy.mp4`, size: first.length, sha256: sha256(first), contentType: "video/mp4" });
  const properties = await derived.getBlobClient(written.name).getProperties();
  expect(properties.contentType).toBe("video/mp4");

  const second = Buffer.from("WEBVTT\n\n");
  const again = await store.writeDerived({ evidenceId: EV, stage: "transcode", name: "proxy.mp4", contentType: "video/mp4" }, { kind: "stream", stream: Readable.from([second]) });
  expect(again).toMatchObject({ name: written.name, size: second.length, sha256: sha256(second) });
  expect(sha256(await derived.getBlobClient(written.name).downloadToBuffer())).toBe(sha256(second));
  const names: string[] = [];
  for await (const blob of derived.listBlobsFlat({ prefix: `${EV}/` })) names.push(blob.name);
  expect(names).toEqual([`${EV}/transcode/proxy.mp4`]);
});

test("writeDerived refuses names that could leave the rendition's folder", async () => {
  for (const name of ["../x.jpg", "a/b.jpg", ".hidden", ""]) {
    await expect(store.writeDerived({ evidenceId: EV, stage: "thumbnail", name, contentType: "image/jpeg" }, { kind: "stream", stream: Readable.from([Buffer.from("x")]) })).rejects.toThrow();
  }
  await expect(
    store.writeDerived({ evidenceId: "ev-bad", stage: "thumbnail", name: "poster.jpg", contentType: "image/jpeg" }, { kind: "stream", stream: Readable.from([Buffer.from("x")]) }),
  ).rejects.toThrow();
});
