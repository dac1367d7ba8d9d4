/**
 * The ingest stage's logic against an in-memory BlobStore (pure logic; the same stage against
 * Azurite through the real adapter is covered by the pipeline's end-to-end test).
 */
import type { Readable } from "node:stream";
import { parseBlobCreatedEvent, type BlobCreatedEvent } from "../../shared/contracts/blob-created-event";
import type { RejectionReason } from "../../shared/contracts/messages";
import { parseMessage } from "../../shared/contracts/validate";
import { CustodyError } from "../../shared/errors";
import { deriveEvidenceId, normalizeEtag } from "../../shared/evidence/evidence-id";
import { silentLogger } from "../../shared/logging";
import type { BlobProperties, BlobRef, BlobStore } from "../../shared/ports/blob-store";
import type { StageContext } from "../../shared/stages/stage-context";
import { ingestRecording } from "../../shared/stages/ingest-stage";

const ACCOUNT = "custodyprod";
const SOURCE = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/custody/providers/Microsoft.Storage/storageAccounts/${ACCOUNT}`;
const EVENT_TIME = "2026-11-26T10:00:00.9584103Z";
const GOOD_METADATA = { officerid: "PC1234", deviceid: "cam-9", recordedat: "2026-11-26T09:30:00Z" };

interface StoredBlob {
  etag: string;
  versionId?: string;
  size: number;
  contentType?: string;
  metadata: Record<string, string>;
}

/** In-memory BlobStore honouring the port's contract: exact version or OriginalNotFound/OriginalChanged. */
class FakeBlobStore implements BlobStore {
  readonly blobs = new Map<string, StoredBlob>();
  readonly calls: BlobRef[] = [];

  constructor(
    readonly account = ACCOUNT,
    readonly endpoint = `https://${ACCOUNT}.blob.core.windows.net`,
  ) {}

  put(container: string, name: string, blob: Partial<StoredBlob> = {}): StoredBlob {
    const stored: StoredBlob = { etag: '"0x8D4BCC2E4835CD0"', size: 524288, contentType: "video/mp4", metadata: { ...GOOD_METADATA }, ...blob };
    this.blobs.set(`${container}/${name}`, stored);
    return stored;
  }

  async getProperties(ref: BlobRef): Promise<BlobProperties> {
    this.calls.push(ref);
    const blob = this.blobs.get(`${ref.container}/${ref.name}`);
    if (blob === undefined) throw new CustodyError("OriginalNotFound", `${ref.container}/${ref.name} not found`);
    if (ref.etag !== undefined && normalizeEtag(ref.etag) !== normalizeEtag(blob.etag)) {
      throw new CustodyError("OriginalChanged", `${ref.container}/${ref.name}: ETag is ${blob.etag}, not ${ref.etag}`);
    }
    return {
      account: this.account,
      container: ref.container,
      name: ref.name,
      url: `${this.endpoint}/${ref.container}/${ref.name.split("/").map(encodeURIComponent).join("/")}`,
      size: blob.size,
      etag: blob.etag,
      ...(blob.versionId === undefined ? {} : { versionId: blob.versionId }),
      ...(blob.contentType === undefined ? {} : { contentType: blob.contentType }),
      lastModified: new Date("2026-11-26T10:00:00Z"),
      metadata: { ...blob.metadata },
    };
  }

  async openRead(): Promise<Readable> {
    throw new Error("ingest never reads the bytes");
  }
}

const context: StageContext = {
  actor: "custody/ingest@test",
  attempt: 1,
  maxAttempts: 10,
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  log: silentLogger,
};

function encodeName(name: string): string {
  return name.split("/").map(encodeURIComponent).join("/");
}

/** The event Event Grid would send for `container/name` (URL percent-encoded, subject raw). */
function eventFor(container: string, name: string, data: Record<string, unknown> = {}): BlobCreatedEvent {
  return parseBlobCreatedEvent({
    specversion: "1.0",
    type: "Microsoft.Storage.BlobCreated",
    source: SOURCE,
    id: "831e1650-001e-001b-66ab-eeb76e069631",
    time: EVENT_TIME,
    subject: `/blobServices/default/containers/${container}/blobs/${name}`,
    data: {
      api: "PutBlockList",
      clientRequestId: "6d79dbfb-0e37-4fc4-981f-442c9ca65760",
      requestId: "831e1650-001e-001b-66ab-eeb76e000000",
      eTag: '"0x8D4BCC2E4835CD0"',
      contentType: "video/mp4",
      contentLength: 524288,
      blobType: "BlockBlob",
      url: `https://${ACCOUNT}.blob.core.windows.net/${container}/${encodeName(name)}`,
      sequencer: "00000000000004420000000000028963",
      storageDiagnostics: { batchId: "b68529f3-68cd-4744-baa4-3c0498ec19f0" },
      ...data,
    },
  });
}

const NAME = "unit-7/PC1234/cam-9/2026-11-26T09-30-00Z.mp4";

async function ingest(container: string, name: string, blob: Partial<StoredBlob> = {}, options = {}) {
  const store = new FakeBlobStore();
  store.put(container, name, blob);
  const message = await ingestRecording(eventFor(container, name), { blobs: store }, context, options);
  // Every outcome, accepted or rejected, must be a message every subscriber accepts.
  expect(parseMessage("evidence-received", message)).toEqual(message);
  expect(parseMessage("evidence-received", JSON.stringify(message))).toEqual(message);
  return { message, store };
}

function reasonsOf(message: Awaited<ReturnType<typeof ingest>>["message"]): RejectionReason[] {
  expect(message.acceptance.status).toBe("rejected");
  return message.acceptance.status === "rejected" ? message.acceptance.reasons : [];
}

describe("ingestRecording", () => {
  it("announces a good recording as accepted", async () => {
    const { message, store } = await ingest("originals", NAME, { metadata: { ...GOOD_METADATA, sha256: "AB".repeat(32) } });
    expect(message).toEqual({
      schemaVersion: 1,
      kind: "evidence-received",
      evidenceId: deriveEvidenceId({ account: ACCOUNT, container: "originals", name: NAME, etag: "0x8D4BCC2E4835CD0" }),
      original: {
        account: ACCOUNT,
        container: "originals",
        name: NAME,
        etag: '"0x8D4BCC2E4835CD0"',
        url: `https://${ACCOUNT}.blob.core.windows.net/originals/${encodeName(NAME)}`,
        size: 524288,
        contentType: "video/mp4",
      },
      capture: { officerId: "PC1234", deviceId: "cam-9", recordedAt: "2026-11-26T09:30:00Z", deviceSha256: "ab".repeat(32) },
      acceptance: { status: "accepted" },
      uploadedAt: EVENT_TIME,
      sourceEventId: "831e1650-001e-001b-66ab-eeb76e069631",
    });
    // Read conditioned on the event's ETag (quoted, as HTTP wants it), by decoded name.
    expect(store.calls).toEqual([{ container: "originals", name: NAME, etag: '"0x8D4BCC2E4835CD0"' }]);
  });

  it("is deterministic: the same event twice gives the identical message", async () => {
    const store = new FakeBlobStore();
    store.put("originals", NAME);
    const event = eventFor("originals", NAME);
    const first = await ingestRecording(event, { blobs: store }, context, {});
    const second = await ingestRecording(structuredClone(event), { blobs: store }, context, {});
    expect(second).toEqual(first);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
  });

  it("derives the evidence id from the version id the store reports (Azure), not the ETag", async () => {
    const versionId = "2026-11-26T10:00:00.9584103Z";
    const { message } = await ingest("originals", NAME, { versionId });
    expect(message.original.versionId).toBe(versionId);
    expect(message.evidenceId).toBe(deriveEvidenceId({ account: ACCOUNT, container: "originals", name: NAME, versionId, etag: "ignored" }));
  });

  it("reads the exact version when the event carries a version id", async () => {
    const versionId = "2026-11-26T10:00:00.9584103Z";
    const store = new FakeBlobStore();
    store.put("originals", NAME, { versionId });
    const message = await ingestRecording(eventFor("originals", NAME, { versionId }), { blobs: store }, context);
    expect(store.calls[0]).toEqual({ container: "originals", name: NAME, versionId, etag: '"0x8D4BCC2E4835CD0"' });
    expect(message.original.versionId).toBe(versionId);
  });

  it("lets OriginalChanged propagate when the blob was overwritten since the event", async () => {
    const store = new FakeBlobStore();
    store.put("originals", NAME, { etag: '"0x8D000000000000F"' });
    await expect(ingestRecording(eventFor("originals", NAME), { blobs: store }, context)).rejects.toMatchObject({ code: "OriginalChanged", retryable: false });
  });

  it("refuses itself to announce other bytes when a store ignores the ETag condition", async () => {
    const store = new FakeBlobStore();
    store.put("originals", NAME, { etag: '"0x8D000000000000F"' });
    const lax: BlobStore = { getProperties: (ref) => store.getProperties({ ...ref, etag: undefined }), openRead: () => store.openRead() };
    await expect(ingestRecording(eventFor("originals", NAME), { blobs: lax }, context)).rejects.toMatchObject({ code: "OriginalChanged" });
  });

  it("lets OriginalNotFound propagate when the blob is gone", async () => {
    await expect(ingestRecording(eventFor("originals", NAME), { blobs: new FakeBlobStore() }, context)).rejects.toMatchObject({ code: "OriginalNotFound" });
  });

  it("refuses to read from a different storage account than the event's", async () => {
    const store = new FakeBlobStore("otheraccount");
    store.put("originals", NAME);
    await expect(ingestRecording(eventFor("originals", NAME), { blobs: store }, context)).rejects.toMatchObject({ code: "InvalidConfiguration" });
  });

  describe("rejects, with its reason, and still announces", () => {
    it("missing metadata", async () => {
      const { message } = await ingest("originals", NAME, { metadata: {} });
      expect(reasonsOf(message).map((r) => [r.code, r.field])).toEqual([
        ["MissingMetadata", "officerid"],
        ["MissingMetadata", "deviceid"],
        ["MissingMetadata", "recordedat"],
      ]);
      expect(message.capture).toBeUndefined();
    });

    it("an invalid officer id (keeping the valid metadata)", async () => {
      const { message } = await ingest("originals", NAME, { metadata: { ...GOOD_METADATA, officerid: "PC 1234" } });
      expect(reasonsOf(message)).toEqual([{ code: "InvalidMetadata", field: "officerid", message: expect.stringContaining(`'officerid' is "PC 1234"`) }]);
      expect(message.capture).toEqual({ deviceId: "cam-9", recordedAt: "2026-11-26T09:30:00Z" });
    });

    it("recordedat without a time zone", async () => {
      const { message } = await ingest("originals", NAME, { metadata: { ...GOOD_METADATA, recordedat: "2026-11-26T09:30:00" } });
      expect(reasonsOf(message)).toEqual([{ code: "InvalidMetadata", field: "recordedat", message: expect.stringContaining("no time zone") }]);
    });

    it("recordedat in the future relative to the upload (the event time)", async () => {
      const { message } = await ingest("originals", NAME, { metadata: { ...GOOD_METADATA, recordedat: "2026-11-26T12:00:00Z" } });
      expect(reasonsOf(message)).toEqual([{ code: "InvalidMetadata", field: "recordedat", message: expect.stringContaining("after the upload") }]);
    });

    it("a bad sha256", async () => {
      const { message } = await ingest("originals", NAME, { metadata: { ...GOOD_METADATA, sha256: "not-a-digest" } });
      expect(reasonsOf(message)).toEqual([{ code: "InvalidMetadata", field: "sha256", message: expect.stringContaining("64 hexadecimal") }]);
    });

    it("an unsupported container", async () => {
      const { message } = await ingest("incoming", NAME);
      expect(reasonsOf(message)).toEqual([{ code: "UnsupportedContainer", field: "container", message: expect.stringContaining("'originals'") }]);
      expect(message.original.container).toBe("incoming");
    });

    it("a container outside the configured list", async () => {
      const { message } = await ingest("originals", NAME, {}, { acceptedContainers: ["evidence"] });
      expect(reasonsOf(message).map((r) => r.code)).toEqual(["UnsupportedContainer"]);
      const accepted = await ingest("evidence", NAME, {}, { acceptedContainers: ["evidence"] });
      expect(accepted.message.acceptance).toEqual({ status: "accepted" });
    });

    it("an empty blob", async () => {
      const { message } = await ingest("originals", NAME, { size: 0 });
      expect(reasonsOf(message)).toEqual([{ code: "EmptyBlob", field: "size", message: expect.stringContaining("0 bytes") }]);
      expect(message.original.size).toBe(0);
    });

    it("a name over the evidence limit, keeping the real name", async () => {
      const name = `${"a".repeat(200)}/${"b".repeat(200)}/${"c".repeat(200)}.mp4`;
      const { message } = await ingest("originals", name);
      expect(reasonsOf(message)).toEqual([{ code: "InvalidName", field: "name", message: expect.stringContaining("at most 512") }]);
      expect(message.original.name).toBe(name);
    });

    it("a name as long as Azure allows, in 4-byte characters (URL still fits the schema)", async () => {
      const name = Array.from({ length: 8 }, () => "\u{1F4F9}".repeat(60)).join("/") + "/" + "\u{1F4F9}".repeat(1024 - 8 * 61);
      expect(Array.from(name)).toHaveLength(1024);
      const { message } = await ingest("originals", name);
      expect(message.original.name).toBe(name);
      expect(reasonsOf(message).map((r) => r.code)).toContain("InvalidName");
      expect(message.original.url.length).toBeLessThanOrEqual(4096);
      expect(decodeURI(new URL(message.original.url).pathname)).toBe(`/originals/${name}`);
    });

    it("a control character in the name", async () => {
      const { message } = await ingest("originals", "unit-7/clip\u0007.mp4");
      expect(reasonsOf(message)).toEqual([{ code: "InvalidName", field: "name", message: expect.stringContaining("U+0007") }]);
      expect(message.original.name).toBe("unit-7/clip\u0007.mp4");
    });

    it.each([
      ["a right-to-left override (shows as evidence4pm.jpg)", "unit-7/evidence\u202egpj.mp4", "U+202E"],
      ["a zero-width twin of clip.mp4", "unit-7/cl\u200bip.mp4", "U+200B"],
      ["percent-encoded dot segments", "%2e%2e/%2e%2e/x.mp4", "percent-encoded"],
    ])("a name with %s, keeping the real name", async (_label, name, expected) => {
      const { message } = await ingest("originals", name);
      expect(reasonsOf(message)).toEqual([{ code: "InvalidName", field: "name", message: expect.stringContaining(expected) }]);
      expect(message.original.name).toBe(name);
    });

    it("a '..' segment in the name", async () => {
      const { message } = await ingest("originals", "unit-7/../clip.mp4");
      expect(reasonsOf(message)).toEqual([{ code: "InvalidName", field: "name", message: expect.stringContaining("'..'") }]);
    });
  });

  it("lists every problem at once", async () => {
    const { message } = await ingest("incoming", "a//b\u0001.mp4", { size: 0, metadata: { officerid: "PC 1", recordedat: "yesterday", sha256: "x" } });
    expect(reasonsOf(message).map((r) => `${r.code}:${r.field}`)).toEqual([
      "UnsupportedContainer:container",
      "InvalidName:name",
      "InvalidName:name",
      "EmptyBlob:size",
      "InvalidMetadata:officerid",
      "MissingMetadata:deviceid",
      "InvalidMetadata:recordedat",
      "InvalidMetadata:sha256",
    ]);
  });

  it.each([
    ["spaces", "Unit 7/PC 1234 clip.mp4"],
    ["a hash", "unit-7/clip#2.mp4"],
    ["a percent sign", "unit-7/100% clip.mp4"],
    ["a literal %20", "unit-7/a%20b.mp4"],
    ["a plus", "unit-7/a+b.mp4"],
    ["unicode", "München/Żółć/日本/📹.mp4"],
  ])("decodes a URL-encoded name with %s", async (_label, name) => {
    const { message, store } = await ingest("originals", name);
    expect(store.calls[0]?.name).toBe(name);
    expect(message.original.name).toBe(name);
    expect(message.acceptance).toEqual({ status: "accepted" });
  });

  it("works with a path-style (Azurite) URL and no versioning", async () => {
    const store = new FakeBlobStore("devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1");
    store.put("originals", "a b.mp4");
    const event = parseBlobCreatedEvent({
      ...eventFor("originals", "a b.mp4"),
      source: "/subscriptions/local/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
      data: { ...eventFor("originals", "a b.mp4").data, url: "http://127.0.0.1:10000/devstoreaccount1/originals/a%20b.mp4" },
    });
    const message = await ingestRecording(event, { blobs: store }, context);
    expect(message.original).toMatchObject({ account: "devstoreaccount1", name: "a b.mp4", url: "http://127.0.0.1:10000/devstoreaccount1/originals/a%20b.mp4" });
    expect(message.original.versionId).toBeUndefined();
    expect(message.acceptance).toEqual({ status: "accepted" });
  });

  it("an invalid event body is InvalidMessage naming the field, before any blob is read", () => {
    const body = { ...eventFor("originals", NAME), data: { ...eventFor("originals", NAME).data, eTag: undefined } };
    let error: unknown;
    try {
      parseBlobCreatedEvent(JSON.stringify(body));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CustodyError);
    expect(error).toMatchObject({ code: "InvalidMessage", retryable: false, message: expect.stringContaining("'eTag'") });
  });

  it("an event whose URL and subject disagree is InvalidMessage, not a guess", async () => {
    const event = { ...eventFor("originals", NAME), subject: "/blobServices/default/containers/originals/blobs/other.mp4" };
    await expect(ingestRecording(event, { blobs: new FakeBlobStore() }, context)).rejects.toMatchObject({ code: "InvalidMessage" });
  });
});
