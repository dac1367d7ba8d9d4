/**
 * AzureBlobStore through the real @azure/storage-blob SDK against Azurite — the behaviours the
 * hash stage tests do not already pin down: what getProperties returns, ranged reads, how a
 * download survives a dropped connection (a TCP proxy between the SDK and Azurite cuts it
 * mid-body), and the client factory's configuration errors.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { ClientSecretCredential } from "@azure/identity";
import type { ContainerClient } from "@azure/storage-blob";
import { AzureBlobStore, quoteEtag } from "../../shared/adapters/azure-blob-store";
import { decodeMetadataValue, encodeMetadata, encodeMetadataValue } from "../../shared/adapters/blob-metadata";
import { createBlobServiceClient } from "../../shared/adapters/blob-service-client";
import { CustodyError } from "../../shared/errors";
import { AZURITE_ACCOUNT_NAME, startAzurite, type AzuriteInstance } from "../../local/azurite";

const MiB = 1024 * 1024;

/**
 * A loopback TCP proxy that can cut the connection after a number of response bytes, the way
 * a reset or an idle timeout ends a long download in production.
 */
interface CuttingProxy {
  port: number;
  /** Cut the next `times` connections that carry more than `afterBytes` response bytes since arming. */
  arm(afterBytes: number, times?: number): void;
  cuts: number;
  close(): Promise<void>;
}

async function startCuttingProxy(targetPort: number): Promise<CuttingProxy> {
  let plan: { afterBytes: number; times: number; seen: number } | undefined;
  const sockets = new Set<net.Socket>();
  const proxy: CuttingProxy = {
    port: 0,
    cuts: 0,
    arm: (afterBytes, times = 1) => void (plan = { afterBytes, times, seen: 0 }),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on("data", (data: Buffer) => {
      if (plan) {
        plan.seen += data.length;
        if (plan.seen > plan.afterBytes) {
          plan.seen = 0;
          if (--plan.times === 0) plan = undefined;
          proxy.cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
      }
      if (!client.write(data)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    });
    upstream.on("end", () => client.end());
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  proxy.port = (server.address() as net.AddressInfo).port;
  return proxy;
}

let azurite: AzuriteInstance;
let location: string;
let proxy: CuttingProxy;
/** Direct to Azurite (setup, overwrites). */
let container: ContainerClient;
/** Through the cutting proxy. */
let store: AzureBlobStore;

beforeAll(async () => {
  location = mkdtempSync(path.join(os.tmpdir(), "custody-blob-store-"));
  azurite = await startAzurite({ location });
  proxy = await startCuttingProxy(azurite.port);
  container = createBlobServiceClient({ connectionString: azurite.connectionString }).getContainerClient("originals");
  await container.createIfNotExists();
  const viaProxy = createBlobServiceClient({ connectionString: azurite.connectionString.replace(`:${azurite.port}/`, `:${proxy.port}/`) });
  store = new AzureBlobStore(viaProxy, { resumeDelayInMs: 10 });
});

afterAll(async () => {
  await proxy?.close();
  await azurite?.stop();
  rmSync(location, { recursive: true, force: true });
});

let counter = 0;
async function upload(bytes: Buffer, options: { name?: string; metadata?: Record<string, string>; contentType?: string } = {}): Promise<{ name: string; etag: string }> {
  const name = options.name ?? `adapter/${++counter}-${Date.now()}.mp4`;
  const response = await container.getBlockBlobClient(name).uploadData(bytes, {
    metadata: options.metadata,
    blobHTTPHeaders: options.contentType === undefined ? undefined : { blobContentType: options.contentType },
  });
  return { name, etag: response.etag! };
}

async function readAll(stream: Readable): Promise<Buffer> {
  // Test-side only: the files here are a few MiB.
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

describe("getProperties", () => {
  test("returns the exact version's identity, size, type, time and decoded lower-cased metadata", async () => {
    const name = `borough 07/Zoë's camera/${Date.now()}.mp4`;
    const { etag } = await upload(randomBytes(1234), { name, contentType: "video/mp4", metadata: encodeMetadata({ OfficerId: "PC-4471", OfficerName: "Zoë O'Brien" }) });
    const properties = await store.getProperties({ container: "originals", name, etag });
    expect(properties).toMatchObject({ account: AZURITE_ACCOUNT_NAME, container: "originals", name, size: 1234, etag, contentType: "video/mp4" });
    expect(properties.metadata).toEqual({ officerid: "PC-4471", officername: "Zoë O'Brien" });
    expect(properties.lastModified).toBeInstanceOf(Date);
    // The SDK's own URL for the blob (as the event would carry it), seen through the proxy's port.
    expect(properties.url).toBe(container.getBlobClient(name).url.replace(`:${azurite.port}/`, `:${proxy.port}/`));
    expect(decodeURIComponent(new URL(properties.url).pathname)).toBe(`/${AZURITE_ACCOUNT_NAME}/originals/${name}`);
    expect(properties.versionId).toBeUndefined();
  });

  test("with a version id (Azure): read through withVersion; the URL carries no query string", async () => {
    const { name, etag } = await upload(randomBytes(10));
    // Azurite ignores version ids (LOCAL-STACK.md), so this checks the plumbing, not versioning.
    const properties = await store.getProperties({ container: "originals", name, etag, versionId: "2025-03-01T21:14:05.1234567Z" });
    expect(properties.url).not.toContain("?");
    expect(properties.versionId).toBe("2025-03-01T21:14:05.1234567Z");
  });

  test("the ETag may come with or without quotes (Event Grid sends it bare)", async () => {
    const { name, etag } = await upload(randomBytes(10));
    expect(etag.startsWith('"')).toBe(true);
    await expect(store.getProperties({ container: "originals", name, etag: etag.replace(/"/g, "") })).resolves.toMatchObject({ etag });
    expect(quoteEtag("0x1")).toBe('"0x1"');
    expect(quoteEtag('"0x1"')).toBe('"0x1"');
    expect(quoteEtag('W/"0x1"')).toBe('W/"0x1"');
  });

  test("stale ETag → OriginalChanged, naming the ETag the blob has now", async () => {
    const { name, etag } = await upload(randomBytes(10));
    const now = await container.getBlockBlobClient(name).uploadData(randomBytes(10));
    const error = await caught(store.getProperties({ container: "originals", name, etag }));
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe("OriginalChanged");
    expect((error as CustodyError).message).toContain(`now has ETag ${now.etag}`);
  });

  test("missing blob or container → OriginalNotFound, with or without an ETag condition", async () => {
    for (const ref of [
      { container: "originals", name: "adapter/never-uploaded.mp4" },
      { container: "originals", name: "adapter/never-uploaded.mp4", etag: '"0x8DC0000000000"' },
      { container: "no-such-container", name: "a.mp4" },
    ]) {
      const error = await caught(store.getProperties(ref));
      expect(error).toBeInstanceOf(CustodyError);
      expect((error as CustodyError).code).toBe("OriginalNotFound");
      expect((error as CustodyError).retryable).toBe(false);
      expect((error as CustodyError).message).toContain(ref.name);
    }
  });
});

describe("openRead", () => {
  test("a byte range returns exactly those bytes", async () => {
    const bytes = randomBytes(300_000);
    const { name, etag } = await upload(bytes);
    const part = await readAll(await store.openRead({ container: "originals", name, etag }, { offset: 123_456, count: 100_000 }));
    expect(part.equals(bytes.subarray(123_456, 223_456))).toBe(true);
    const tail = await readAll(await store.openRead({ container: "originals", name, etag }, { offset: 299_990 }));
    expect(tail.equals(bytes.subarray(299_990))).toBe(true);
  });

  test("a range starting past the end is a non-retryable error, not an empty read", async () => {
    const { name, etag } = await upload(randomBytes(100));
    const error = await caught(store.openRead({ container: "originals", name, etag }, { offset: 200 }));
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).retryable).toBe(false);
  });

  test("an empty blob reads as an empty stream", async () => {
    const { name, etag } = await upload(Buffer.alloc(0));
    expect((await readAll(await store.openRead({ container: "originals", name, etag }))).length).toBe(0);
  });

  test("a dropped connection is resumed from the first missing byte: the same bytes, once", async () => {
    const bytes = randomBytes(8 * MiB);
    const { name, etag } = await upload(bytes);
    const cutsBefore = proxy.cuts;
    proxy.arm(1 * MiB, 3);
    const stream = await store.openRead({ container: "originals", name, etag });
    const resumes: number[] = [];
    stream.on("resume-download", (event: { from: number }) => resumes.push(event.from));
    const read = await readAll(stream);
    expect(proxy.cuts - cutsBefore).toBe(3);
    expect(resumes).toHaveLength(3);
    expect(read.length).toBe(bytes.length);
    expect(sha256(read)).toBe(sha256(bytes));
  });

  test("a resume without a caller ETag still pins the version first served", async () => {
    const bytes = randomBytes(4 * MiB);
    const { name } = await upload(bytes);
    proxy.arm(512 * 1024, 1);
    const read = await readAll(await store.openRead({ container: "originals", name }));
    expect(sha256(read)).toBe(sha256(bytes));
  });

  test("overwritten while being read: the resume is refused (412) → OriginalChanged, never a splice of two contents", async () => {
    const bytes = randomBytes(8 * MiB);
    const { name, etag } = await upload(bytes);
    proxy.arm(1 * MiB, 1);
    const stream = await store.openRead({ container: "originals", name, etag });
    await container.getBlockBlobClient(name).uploadData(randomBytes(8 * MiB));
    const error = await caught(readAll(stream));
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe("OriginalChanged");
  });

  test("a connection that keeps dropping exhausts the resumes → Transient (retry the message later)", async () => {
    const bytes = randomBytes(4 * MiB);
    const { name, etag } = await upload(bytes);
    const stubborn = new AzureBlobStore(createBlobServiceClient({ connectionString: azurite.connectionString.replace(`:${azurite.port}/`, `:${proxy.port}/`) }), {
      maxDownloadResumes: 2,
      resumeDelayInMs: 1,
    });
    proxy.arm(256 * 1024, 100);
    const error = await caught(readAll(await stubborn.openRead({ container: "originals", name, etag })));
    proxy.arm(Number.MAX_SAFE_INTEGER, 1); // disarm for the next tests
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe("Transient");
    expect((error as CustodyError).message).toContain("2 resumes");
  });

  test("the caller's abort is not resumed: the stream fails with an AbortError", async () => {
    const { name, etag } = await upload(randomBytes(8 * MiB));
    const controller = new AbortController();
    const stream = await store.openRead({ container: "originals", name, etag }, { abortSignal: controller.signal });
    let resumed = false;
    stream.on("resume-download", () => (resumed = true));
    stream.once("data", () => controller.abort());
    const error = await caught(readAll(stream));
    expect((error as Error).name).toBe("AbortError");
    expect(resumed).toBe(false);
  });

  test("a consumer that stops early can destroy the stream; nothing hangs or throws later", async () => {
    const { name, etag } = await upload(randomBytes(8 * MiB));
    const stream = await store.openRead({ container: "originals", name, etag });
    await new Promise<void>((resolve) => stream.once("data", () => resolve()));
    stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stream.destroyed).toBe(true);
    // The same store keeps working afterwards.
    expect((await store.getProperties({ container: "originals", name, etag })).size).toBe(8 * MiB);
  });
});

describe("derived files by exact name (the Content Credentials signer)", () => {
  let derived: ContainerClient;
  beforeAll(async () => {
    derived = createBlobServiceClient({ connectionString: azurite.connectionString }).getContainerClient("derived");
    await derived.createIfNotExists();
  });

  test("create-only: the first write creates the blob with its digest; a second finds it there and leaves it as it is", async () => {
    const name = `ev-${"c".repeat(32)}/thumbnail/c2pa-${Date.now()}/poster.jpg`;
    const first = randomBytes(3000);
    const created = await store.createDerivedFile(name, first, { contentType: "image/jpeg", metadata: { stage: "thumbnail" } });
    expect(created).toMatchObject({ created: true, blob: { container: "derived", name, size: 3000, sha256: sha256(first), contentType: "image/jpeg" } });
    const properties = await derived.getBlobClient(name).getProperties();
    expect([properties.contentType, properties.metadata]).toEqual(["image/jpeg", { stage: "thumbnail" }]);

    expect(await store.createDerivedFile(name, randomBytes(10), { contentType: "image/jpeg" })).toEqual({ created: false, container: "derived", name });
    expect((await derived.getBlobClient(name).getProperties()).etag).toBe(properties.etag);
    expect(sha256(await store.readDerivedFile(name, { maxBytes: 3000 }))).toBe(sha256(first));
  });

  test("a read is refused past its bound, and a missing file is OriginalNotFound", async () => {
    const name = `ev-${"c".repeat(32)}/thumbnail/big-${Date.now()}.jpg`;
    await derived.getBlockBlobClient(name).uploadData(randomBytes(300_000));
    expect(await caught(store.readDerivedFile(name, { maxBytes: 299_999 }))).toMatchObject({ code: "OutputVerificationFailed", retryable: false });
    expect((await store.readDerivedFile(name, { maxBytes: 300_000 })).length).toBe(300_000);
    expect(await caught(store.readDerivedFile(`${name}.missing`, { maxBytes: 10 }))).toMatchObject({ code: "OriginalNotFound" });
  });
});

describe("blob metadata encoding", () => {
  test("every value becomes a safe ASCII header value and decodes back", () => {
    for (const value of ["Zoë O'Brien", "Łukasz Wróbel", "50% done", " padded ", "line\nbreak", "日本語", ""]) {
      const encoded = encodeMetadataValue(value);
      expect(encoded).toMatch(/^[\x21-\x7e]*$/);
      expect(decodeMetadataValue(encoded)).toBe(value);
    }
  });

  test("a value that was never encoded (a bare %) is returned as stored rather than failing the read", () => {
    expect(decodeMetadataValue("50% battery")).toBe("50% battery");
    expect(decodeMetadataValue("%E0%A4%A")).toBe("%E0%A4%A");
  });
});

describe("createBlobServiceClient", () => {
  test("a connection string (Azurite) wins over blobServiceUri", () => {
    const client = createBlobServiceClient({ connectionString: azurite.connectionString, blobServiceUri: "https://other.blob.core.windows.net" });
    expect(client.accountName).toBe(AZURITE_ACCOUNT_NAME);
  });

  test("blobServiceUri + credential (Azure, keyless)", () => {
    const credential = new ClientSecretCredential("00000000-0000-0000-0000-000000000000", "11111111-1111-1111-1111-111111111111", "not-a-secret");
    const client = createBlobServiceClient({ blobServiceUri: "https://custodyprod.blob.core.windows.net", credential });
    expect(client.accountName).toBe("custodyprod");
    expect(client.url).toBe("https://custodyprod.blob.core.windows.net/");
  });

  test.each([
    [{}, /No blob storage connection/],
    [{ connectionString: "  " }, /No blob storage connection/],
    [{ blobServiceUri: "not a url" }, /not a URL/],
    [{ blobServiceUri: "http://custodyprod.blob.core.windows.net" }, /must use https/],
    [{ blobServiceUri: "https://custodyprod.blob.core.windows.net/?sv=2024&sig=abc" }, /query string/],
    [{ connectionString: "AccountName=x;AccountKey=c2VjcmV0LWtleQ==" }, /connection string is malformed/],
  ])("refuses %j with InvalidConfiguration", (settings, message) => {
    let error: unknown;
    try {
      createBlobServiceClient(settings);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe("InvalidConfiguration");
    expect((error as CustodyError).message).toMatch(message);
    expect((error as CustodyError).message).not.toContain("c2VjcmV0LWtleQ==");
  });
});
