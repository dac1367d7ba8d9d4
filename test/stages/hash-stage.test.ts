/**
 * The hash stage through the real @azure/storage-blob SDK against Azurite: digests equal
 * node:crypto's over the same bytes at every size that stresses segment boundaries, the
 * device claim is compared, and a changed, missing or aborted original fails with the right
 * CustodyError.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import { AzureBlobStore } from "../../shared/adapters/azure-blob-store";
import { encodeMetadata } from "../../shared/adapters/blob-metadata";
import { createBlobServiceClient } from "../../shared/adapters/blob-service-client";
import type { CaptureMetadata, EvidenceReceivedMessage } from "../../shared/contracts/messages";
import { CustodyError } from "../../shared/errors";
import { createLogger, silentLogger, type Logger } from "../../shared/logging";
import type { BlobRef, BlobStore, OpenReadOptions } from "../../shared/ports/blob-store";
import { DEFAULT_SEGMENT_SIZE_IN_BYTES, digestStream, hashOriginal, verifySegments } from "../../shared/stages/hash-stage";
import type { StageContext } from "../../shared/stages/stage-context";
import { startAzurite, type AzuriteInstance } from "../../local/azurite";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Small segments keep the boundary cases fast; the default size has its own case. */
const SEGMENT = 64 * KiB;

let azurite: AzuriteInstance;
let location: string;
let container: ContainerClient;
let store: AzureBlobStore;

beforeAll(async () => {
  location = mkdtempSync(path.join(os.tmpdir(), "custody-hash-stage-"));
  azurite = await startAzurite({ location });
  const service = createBlobServiceClient({ connectionString: azurite.connectionString });
  container = service.getContainerClient("originals");
  await container.createIfNotExists();
  store = new AzureBlobStore(service);
});

afterAll(async () => {
  await azurite?.stop();
  rmSync(location, { recursive: true, force: true });
});

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The segment digests computed independently of the stage: slice, hash, repeat. */
function segmentDigests(bytes: Buffer, segmentSize: number): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += segmentSize) out.push(sha256(bytes.subarray(offset, offset + segmentSize)));
  return out;
}

let blobCounter = 0;

/** Uploads `bytes` as a new original and returns the message ingest would have published for it. */
async function uploadOriginal(bytes: Buffer, capture?: Partial<CaptureMetadata>, metadata: Record<string, string> = {}): Promise<EvidenceReceivedMessage> {
  const name = `borough-07/cam-${++blobCounter}/${Date.now()}.mp4`;
  const blob = container.getBlockBlobClient(name);
  await blob.uploadData(bytes, { blobHTTPHeaders: { blobContentType: "video/mp4" }, metadata: encodeMetadata(metadata) });
  const properties = await blob.getProperties();
  return {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: `ev-${createHash("md5").update(name).digest("hex")}`,
    original: {
      account: "devstoreaccount1",
      container: "originals",
      name,
      // Event Grid's BlobCreated carries the ETag without quotes; the adapter must cope.
      etag: properties.etag!.replace(/"/g, ""),
      url: blob.url,
      size: bytes.length,
      contentType: "video/mp4",
    },
    capture,
    acceptance: { status: "accepted" },
    uploadedAt: new Date().toISOString(),
    sourceEventId: `event-${blobCounter}`,
  };
}

function stageContext(overrides: Partial<StageContext> = {}): StageContext {
  return { actor: "custody/hash@test", attempt: 1, maxAttempts: 5, traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", log: silentLogger, ...overrides };
}

async function expectCustodyError(promise: Promise<unknown>, code: CustodyError["code"]): Promise<CustodyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CustodyError);
  expect((error as CustodyError).code).toBe(code);
  return error as CustodyError;
}

describe("hashOriginal: digests", () => {
  test.each([
    ["empty", 0],
    ["one byte", 1],
    ["segment - 1", SEGMENT - 1],
    ["exactly one segment", SEGMENT],
    ["segment + 1", SEGMENT + 1],
    ["3.5 segments", 3.5 * SEGMENT],
  ])("%s (%i bytes): SHA-256 and segment digests equal node:crypto's", async (_label, size) => {
    const bytes = randomBytes(size);
    const message = await uploadOriginal(bytes);
    const result = await hashOriginal(message, { blobs: store }, stageContext(), { segmentSizeInBytes: SEGMENT });
    expect(result.sha256).toBe(sha256(bytes));
    expect(result.size).toBe(size);
    expect(result.segmentSizeInBytes).toBe(SEGMENT);
    expect(result.segmentSha256).toEqual(segmentDigests(bytes, SEGMENT));
    expect(result.segmentSha256).toHaveLength(Math.ceil(size / SEGMENT));
    expect(result.deviceSha256).toBeUndefined();
    expect(result.matchesDevice).toBeUndefined();
  });

  test("a ~10 MiB original with the default 4 MiB segments: three segments, the last shorter", async () => {
    const bytes = randomBytes(10 * MiB + 12_345);
    const message = await uploadOriginal(bytes);
    const result = await hashOriginal(message, { blobs: store }, stageContext());
    expect(result.segmentSizeInBytes).toBe(DEFAULT_SEGMENT_SIZE_IN_BYTES);
    expect(DEFAULT_SEGMENT_SIZE_IN_BYTES).toBe(4 * MiB);
    expect(result.sha256).toBe(sha256(bytes));
    expect(result.segmentSha256).toEqual(segmentDigests(bytes, 4 * MiB));
    expect(result.segmentSha256).toHaveLength(3);
  });

  test("segments are right however chunk boundaries fall (chunks inside, across and spanning several segments)", async () => {
    const segmentSize = 1000;
    const bytes = randomBytes(17_321);
    // Chunk sizes chosen to end exactly on, just before, just after and far past boundaries.
    const sizes = [1, 998, 1, 1, 999, 1001, 2500, 3000, 7, 993, 5000];
    const chunks: Buffer[] = [];
    let offset = 0;
    for (let i = 0; offset < bytes.length; i++) {
      const size = sizes[i % sizes.length];
      chunks.push(bytes.subarray(offset, offset + size));
      offset += size;
    }
    const digest = await digestStream(Readable.from(chunks), { segmentSizeInBytes: segmentSize });
    expect(digest.sha256).toBe(sha256(bytes));
    expect(digest.size).toBe(bytes.length);
    expect(digest.segmentSha256).toEqual(segmentDigests(bytes, segmentSize));
  });

  test("a segment size that is not a positive integer is refused", async () => {
    const message = await uploadOriginal(randomBytes(10));
    await expectCustodyError(hashOriginal(message, { blobs: store }, stageContext(), { segmentSizeInBytes: 0 }), "InvalidConfiguration");
    await expectCustodyError(hashOriginal(message, { blobs: store }, stageContext(), { segmentSizeInBytes: 1.5 }), "InvalidConfiguration");
  });
});

describe("hashOriginal: the device's digest", () => {
  const capture = { officerId: "PC-4471", deviceId: "AXON-X3-000123", recordedAt: "2025-03-01T21:14:05+00:00" };

  test("matches: recorded with matchesDevice true", async () => {
    const bytes = randomBytes(100 * KiB);
    const message = await uploadOriginal(bytes, { ...capture, deviceSha256: sha256(bytes) });
    const result = await hashOriginal(message, { blobs: store }, stageContext(), { segmentSizeInBytes: SEGMENT });
    expect(result.deviceSha256).toBe(sha256(bytes));
    expect(result.matchesDevice).toBe(true);
  });

  test("differs: NOT an error — returned with matchesDevice false and logged as a warning", async () => {
    const bytes = randomBytes(100 * KiB);
    const claimed = sha256(Buffer.concat([bytes, Buffer.from([0])]));
    const message = await uploadOriginal(bytes, { ...capture, deviceSha256: claimed });
    const lines: Array<{ level: string; line: Record<string, unknown> }> = [];
    const log: Logger = createLogger({ sink: (level, line) => lines.push({ level, line: JSON.parse(line) as Record<string, unknown> }) });
    const result = await hashOriginal(message, { blobs: store }, stageContext({ log }), { segmentSizeInBytes: SEGMENT });
    expect(result.sha256).toBe(sha256(bytes));
    expect(result.deviceSha256).toBe(claimed);
    expect(result.matchesDevice).toBe(false);
    const finished = lines.find((l) => String(l.line.message).startsWith("hash finished"));
    expect(finished?.level).toBe("warn");
    expect(finished?.line).toMatchObject({ evidenceId: message.evidenceId, matchesDevice: false, deviceSha256: claimed });
  });

  test("absent: neither deviceSha256 nor matchesDevice is set", async () => {
    const message = await uploadOriginal(randomBytes(10), capture);
    const result = await hashOriginal(message, { blobs: store }, stageContext());
    expect(result).not.toHaveProperty("deviceSha256");
    expect(result).not.toHaveProperty("matchesDevice");
  });
});

describe("hashOriginal: the original is not what the message names", () => {
  test("overwritten after the message was made (ETag mismatch) → OriginalChanged, not retried", async () => {
    const message = await uploadOriginal(randomBytes(50 * KiB));
    await container.getBlockBlobClient(message.original.name).uploadData(randomBytes(50 * KiB));
    const error = await expectCustodyError(hashOriginal(message, { blobs: store }, stageContext()), "OriginalChanged");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(message.original.name);
  });

  test("deleted → OriginalNotFound, not retried", async () => {
    const message = await uploadOriginal(randomBytes(10));
    await container.getBlockBlobClient(message.original.name).delete();
    const error = await expectCustodyError(hashOriginal(message, { blobs: store }, stageContext()), "OriginalNotFound");
    expect(error.retryable).toBe(false);
  });

  test("never existed → OriginalNotFound", async () => {
    const message = await uploadOriginal(randomBytes(10));
    const missing = { ...message, original: { ...message.original, name: `${message.original.name}.missing` } };
    await expectCustodyError(hashOriginal(missing, { blobs: store }, stageContext()), "OriginalNotFound");
  });

  test("byte count differs from the size the event announced → OriginalChanged naming both numbers", async () => {
    const message = await uploadOriginal(randomBytes(1000));
    const wrong = { ...message, original: { ...message.original, size: 1001 } };
    const error = await expectCustodyError(hashOriginal(wrong, { blobs: store }, stageContext()), "OriginalChanged");
    expect(error.message).toContain("1000");
    expect(error.message).toContain("1001");
  });
});

describe("hashOriginal: logs and abort", () => {
  test("logs start and end with evidenceId, bytes and MiB/s", async () => {
    const bytes = randomBytes(300 * KiB);
    const message = await uploadOriginal(bytes);
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger({ sink: (_level, line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    await hashOriginal(message, { blobs: store }, stageContext({ log }), { segmentSizeInBytes: SEGMENT });
    expect(lines.map((l) => l.message)).toEqual(["hash started", "hash finished"]);
    expect(lines[0]).toMatchObject({ evidenceId: message.evidenceId, stage: "hash", expectedBytes: bytes.length, etag: message.original.etag });
    expect(lines[1]).toMatchObject({ evidenceId: message.evidenceId, bytes: bytes.length, sha256: sha256(bytes), segments: 5 });
    expect(typeof lines[1].mibPerSecond).toBe("number");
  });

  test("an abort mid-read stops the download and fails Transient (the message will be retried)", async () => {
    const bytes = randomBytes(16 * MiB);
    const message = await uploadOriginal(bytes);
    const controller = new AbortController();
    let delivered = 0;
    let stream: Readable | undefined;
    // The real adapter, observed: count the bytes handed to the stage and abort after the first chunk.
    const observed: BlobStore = {
      getProperties: (ref) => store.getProperties(ref),
      openRead: async (ref: BlobRef, options?: OpenReadOptions) => {
        stream = await store.openRead(ref, options);
        stream.on("data", (chunk: Buffer) => {
          delivered += chunk.length;
          if (!controller.signal.aborted) controller.abort();
        });
        return stream;
      },
    };
    const error = await expectCustodyError(hashOriginal(message, { blobs: observed }, stageContext({ abortSignal: controller.signal })), "Transient");
    expect(error.message).toMatch(/aborted/);
    expect(delivered).toBeLessThan(bytes.length);
    expect(stream?.destroyed).toBe(true);
  });

  test("already aborted: nothing is opened", async () => {
    const message = await uploadOriginal(randomBytes(10));
    const controller = new AbortController();
    controller.abort();
    let opened = false;
    const observed: BlobStore = { getProperties: (ref) => store.getProperties(ref), openRead: (ref, options) => ((opened = true), store.openRead(ref, options)) };
    await expectCustodyError(hashOriginal(message, { blobs: observed }, stageContext({ abortSignal: controller.signal })), "Transient");
    expect(opened).toBe(false);
  });
});

describe("original metadata (percent-encoded free text)", () => {
  const officerName = "Zoë O'Brien";

  test("raw free text does not survive as header values — encoding is required", async () => {
    const blob = container.getBlockBlobClient(`raw-metadata-${Date.now()}.mp4`);
    // Beyond Latin-1 the SDK's HTTP layer refuses to send it at all (Azure requires ASCII anyway)…
    await expect(blob.uploadData(Buffer.from("x"), { metadata: { officername: "Łukasz Wróbel" } })).rejects.toThrow(/Invalid character in header content/);
    // …and whitespace a header cannot carry is silently lost (Latin-1 "ë" happens to pass Azurite, not Azure).
    await blob.uploadData(Buffer.from("x"), { metadata: { note: " leading space" } });
    expect((await blob.getProperties()).metadata?.note).toBe("leading space");
  });

  test("encoded values round-trip through the blob store, decoded on read with keys lower-cased", async () => {
    const bytes = randomBytes(1000);
    const values = { OfficerName: officerName, Witness: "Łukasz Wróbel", Notes: " 100% – arrest,\nCafé Rouge; ✓ " };
    const message = await uploadOriginal(bytes, undefined, values);
    const raw = await container.getBlobClient(message.original.name).getProperties();
    expect(raw.metadata?.officername).toBe("Zo%C3%AB%20O'Brien");
    const properties = await store.getProperties({ container: "originals", name: message.original.name, etag: message.original.etag });
    expect(properties.metadata).toEqual({ officername: officerName, witness: "Łukasz Wróbel", notes: " 100% – arrest,\nCafé Rouge; ✓ " });
    // The stage hashes such an original like any other.
    const result = await hashOriginal(message, { blobs: store }, stageContext());
    expect(result.sha256).toBe(sha256(bytes));
  });
});

describe("verifySegments: where a copy differs", () => {
  const segmentSize = 4 * KiB;
  const original = randomBytes(10 * segmentSize + 100);
  const recorded = segmentDigests(original, segmentSize);

  test("an identical copy matches", async () => {
    const result = await verifySegments(recorded, Readable.from([original]), segmentSize);
    expect(result.matches).toBe(true);
    expect(result.differences).toEqual([]);
    expect(result.actual.sha256).toBe(sha256(original));
  });

  test("one flipped byte is located to its segment and byte range", async () => {
    const copy = Buffer.from(original);
    copy[7 * segmentSize + 5] ^= 0xff;
    const result = await verifySegments(recorded, Readable.from([copy.subarray(0, 3333), copy.subarray(3333)]), segmentSize);
    expect(result.matches).toBe(false);
    expect(result.differences).toEqual([
      { index: 7, offset: 7 * segmentSize, length: segmentSize, expectedSha256: recorded[7], actualSha256: sha256(copy.subarray(7 * segmentSize, 8 * segmentSize)) },
    ]);
  });

  test("a truncated copy: the cut segment and every missing one differ", async () => {
    const copy = original.subarray(0, 8 * segmentSize + 10);
    const result = await verifySegments(recorded, Readable.from([copy]), segmentSize);
    expect(result.differences.map((d) => d.index)).toEqual([8, 9, 10]);
    expect(result.differences[0]).toMatchObject({ offset: 8 * segmentSize, length: 10 });
    expect(result.differences[1]).toMatchObject({ length: 0, actualSha256: undefined });
  });

  test("an extended copy: the last segment and the extra ones differ", async () => {
    const copy = Buffer.concat([original, randomBytes(segmentSize)]);
    const result = await verifySegments(recorded, Readable.from([copy]), segmentSize);
    expect(result.differences.map((d) => d.index)).toEqual([10, 11]);
    expect(result.differences[1].expectedSha256).toBeUndefined();
  });
});

describe("segment size for long recordings", () => {
  test("stays 4 MiB up to 8 GiB, then doubles so there are never more than 2,048 digests", () => {
    const { segmentSizeFor, MAX_SEGMENTS, DEFAULT_SEGMENT_SIZE_IN_BYTES } = require("../../shared/stages/hash-stage") as typeof import("../../shared/stages/hash-stage");
    const GiB = 1024 ** 3;
    expect(segmentSizeFor(0)).toBe(DEFAULT_SEGMENT_SIZE_IN_BYTES);
    expect(segmentSizeFor(8 * GiB)).toBe(DEFAULT_SEGMENT_SIZE_IN_BYTES);
    expect(segmentSizeFor(8 * GiB + 1)).toBe(2 * DEFAULT_SEGMENT_SIZE_IN_BYTES);
    for (const size of [15.6 * GiB, 40 * GiB, 1000 * GiB]) {
      expect(Math.ceil(size / segmentSizeFor(size))).toBeLessThanOrEqual(MAX_SEGMENTS);
    }
    // 2,048 digests in a stage-result body stay well below the 256 KB message limit.
    expect(JSON.stringify(Array.from({ length: MAX_SEGMENTS }, () => "f".repeat(64))).length).toBeLessThan(150 * 1024);
  });
});
