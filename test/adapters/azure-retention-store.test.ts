/**
 * The Azure retention adapter with the real storage SDK, against a loopback server answering the
 * way Microsoft's REST docs say Azure does (Azurite answers 501 to these calls): the port's
 * contract, and the requests the SDK sends checked against the documented shapes.
 */
import { BlobServiceClient } from "@azure/storage-blob";
import { AzureRetentionStore } from "../../shared/adapters/azure-retention-store";
import { wholeSecondsUp } from "../../shared/ports/retention-store";
import { IMMUTABILITY_API_VERSION, startDocumentedBlobService, type DocumentedBlobService, type RecordedRequest } from "./documented-blob-harness";
import { expectRefused, retentionStoreContract, type RetentionStoreSubject } from "./retention-store-contract";

let service: DocumentedBlobService;
let client: BlobServiceClient;
let store: AzureRetentionStore;

beforeAll(async () => {
  service = await startDocumentedBlobService();
  // No retries: a refusal must reach the adapter as the service sent it.
  client = BlobServiceClient.fromConnectionString(service.connectionString, { retryOptions: { maxTries: 1 } });
  store = new AzureRetentionStore(client);
});

afterAll(async () => {
  await service.stop();
});

afterEach(() => {
  expect(service.unexpected).toEqual([]);
});

const subject: RetentionStoreSubject = {
  get store() {
    return store;
  },
  async write(container, name) {
    const response = await client.getContainerClient(container).getBlockBlobClient(name).upload("bytes", 5);
    return { container, name, versionId: response.versionId };
  },
  async exists(container, name) {
    return client.getContainerClient(container).getBlobClient(name).exists();
  },
};

describe("AzureRetentionStore: the port's contract against Azure's documented responses", () => {
  retentionStoreContract(() => subject);
});

describe("AzureRetentionStore: the requests match Microsoft's REST docs", () => {
  const since = (): ((request: RecordedRequest) => boolean) => {
    const from = service.requests.length;
    return (request) => service.requests.indexOf(request) >= from;
  };

  test("extending: one Set Blob Immutability Policy on the exact version, RFC 1123 date rounded up, mode Unlocked; a shorter date sends none", async () => {
    const ref = await subject.write("originals", "borough-01/cam-1/extend.mp4");
    const until = new Date(Date.now() + 86_400_000 + 250);
    const fromHere = since();
    await store.extendRetention(ref, until);
    const puts = service.requests.filter(fromHere).filter((r) => r.method === "PUT");
    expect(puts).toHaveLength(1);
    const [put] = puts;
    // https://learn.microsoft.com/rest/api/storageservices/set-blob-immutability-policy
    expect(put?.path).toBe("/originals/borough-01/cam-1/extend.mp4");
    expect(put?.query.get("comp")).toBe("immutabilityPolicies");
    expect(put?.query.get("versionid")).toBe(ref.versionId);
    expect(put?.headers["x-ms-immutability-policy-until-date"]).toBe(wholeSecondsUp(until).toUTCString());
    expect(put?.headers["x-ms-immutability-policy-until-date"]).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(put?.headers["x-ms-immutability-policy-mode"]).toBe("Unlocked");
    expect(String(put?.headers["x-ms-version"]) >= IMMUTABILITY_API_VERSION).toBe(true);

    const shorter = since();
    await store.extendRetention(ref, new Date(Date.now() + 3_600_000));
    expect(service.requests.filter(shorter).map((r) => r.method)).toEqual(["HEAD"]);
  });

  test("a Locked policy is extended as Locked (the service refuses to unlock one)", async () => {
    const ref = await subject.write("originals", "borough-01/cam-1/locked.mp4");
    service.protect(ref.container, ref.name, ref.versionId ?? "", { until: new Date(Date.now() + 3_600_000), mode: "locked" });
    const fromHere = since();
    const result = await store.extendRetention(ref, new Date(Date.now() + 86_400_000), { policyMode: "Unlocked" });
    expect(result).toMatchObject({ policyMode: "Locked", changed: true });
    expect(service.requests.filter(fromHere).find((r) => r.method === "PUT")?.headers["x-ms-immutability-policy-mode"]).toBe("Locked");
  });

  test("the lower-case modes Azure answers are read (Get Blob Properties)", async () => {
    const ref = await subject.write("originals", "borough-01/cam-1/read.mp4");
    const until = new Date(Date.now() + 7_200_000);
    service.protect(ref.container, ref.name, ref.versionId ?? "", { until, mode: "unlocked", legalHold: true });
    expect(await store.protection(ref)).toEqual({ immutableUntil: wholeSecondsUp(until), policyMode: "Unlocked", legalHold: true });
    const head = service.requests.at(-1);
    expect(head).toMatchObject({ method: "HEAD", path: `/originals/${ref.name}` });
    expect(head?.query.get("versionid")).toBe(ref.versionId);
  });

  test("a legal hold: Set Blob Legal Hold with x-ms-legal-hold true, then false", async () => {
    const ref = await subject.write("originals", "borough-01/cam-1/hold.mp4");
    const fromHere = since();
    await store.setLegalHold(ref, true);
    await store.setLegalHold(ref, false);
    const puts = service.requests.filter(fromHere).filter((r) => r.method === "PUT");
    // https://learn.microsoft.com/rest/api/storageservices/set-blob-legal-hold
    expect(puts.map((r) => [r.query.get("comp"), r.query.get("versionid"), r.headers["x-ms-legal-hold"]])).toEqual([
      ["legalhold", ref.versionId, "true"],
      ["legalhold", ref.versionId, "false"],
    ]);
  });

  test("deleting a version: Delete Blob with its versionid; the other versions stay", async () => {
    const name = "borough-01/cam-1/versions.mp4";
    const first = await subject.write("originals", name);
    const second = await subject.write("originals", name);
    const fromHere = since();
    expect(await store.deleteVersion(first)).toBe("deleted");
    const deletes = service.requests.filter(fromHere).filter((r) => r.method === "DELETE");
    // https://learn.microsoft.com/rest/api/storageservices/delete-blob
    expect(deletes.map((r) => [r.path, r.query.get("versionid")])).toEqual([[`/originals/${name}`, first.versionId]]);
    expect(service.versions("originals", name)).toEqual([{ versionId: second.versionId, current: true }]);
  });

  test("deleting the current version: refused by its id (403), so the base blob goes on that version's ETag, then the version by id", async () => {
    const name = "borough-01/cam-1/current.mp4";
    const ref = await subject.write("originals", name);
    const fromHere = since();
    expect(await store.deleteVersion(ref)).toBe("deleted");
    const sent = service.requests.filter(fromHere).map((r) => [r.method, r.query.get("versionid") === ref.versionId ? "version" : "base", r.headers["if-match"] === undefined ? "" : "if-match"]);
    expect(sent).toEqual([
      ["DELETE", "version", ""],
      ["HEAD", "version", ""],
      ["DELETE", "base", "if-match"],
      ["DELETE", "version", ""],
    ]);
    expect(service.versions("originals", name)).toEqual([]);
  });

  test("a protected current version is refused without being demoted (the base blob is not deleted)", async () => {
    const name = "borough-01/cam-1/current-held.mp4";
    const ref = await subject.write("originals", name);
    service.protect("originals", name, ref.versionId ?? "", { legalHold: true });
    const fromHere = since();
    await expectRefused(store.deleteVersion(ref), "BlobImmutableDueToLegalHold");
    expect(service.requests.filter(fromHere).filter((r) => r.method === "DELETE" && r.query.get("versionid") === null)).toEqual([]);
    expect(service.versions("originals", name)).toEqual([{ versionId: ref.versionId, current: true }]);
  });

  test("deleteAllVersions deletes the current blob, then every version by id, and counts the versions", async () => {
    const name = "borough-01/cam-1/proxy.mp4";
    await subject.write("derived", name);
    await subject.write("derived", name);
    await subject.write("derived", `${name}.vtt`);
    const fromHere = since();
    expect(await store.deleteAllVersions("derived", name)).toBe(2);
    expect(service.versions("derived", name)).toEqual([]);
    // A blob whose name starts with this one is not touched.
    expect(service.versions("derived", `${name}.vtt`)).toHaveLength(1);
    const sent = service.requests.filter(fromHere);
    expect(sent.find((r) => r.method === "GET")?.query.get("include")).toBe("versions");
    expect(sent.filter((r) => r.method === "DELETE").map((r) => r.query.get("versionid") === null)).toEqual([true, false, false]);
  });
});
