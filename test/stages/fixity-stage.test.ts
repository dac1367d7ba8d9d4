/**
 * The fixity check over a fake BlobStore: intact, a byte changed (which segment, which byte
 * range, the ETag change), truncated and extended copies, a deleted original, records with
 * nothing to verify against, a rewrite during the read, infrastructure failures; and the
 * scheduled sample (oldest-checked first, recheck interval, one valid fixity-result message
 * per recording checked).
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { FixityResultMessage } from "../../shared/contracts/messages";
import { isValidMessage } from "../../shared/contracts/validate";
import { CustodyError } from "../../shared/errors";
import { describeSegmentRanges } from "../../shared/evidence/fixity";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { newRecord } from "../../shared/evidence/record-merge";
import { silentLogger } from "../../shared/logging";
import type { BlobProperties, BlobRef, BlobStore, OpenReadOptions } from "../../shared/ports/blob-store";
import type { EvidenceIndex, ListEvidenceOptions } from "../../shared/ports/evidence-index";
import type { OutgoingMessage, Publisher } from "../../shared/ports/publisher";
import { fixityResultMessage, runFixitySample, selectFixitySample, verifyOriginal } from "../../shared/stages/fixity-stage";
import { digestStream } from "../../shared/stages/hash-stage";

const SEGMENT = 1000;
const NOW = new Date("2026-11-26T12:00:00.000Z");

interface StoredBlob {
  bytes: Buffer;
  etag: string;
}

/** Blobs by name; reads come in odd-sized chunks so segment boundaries fall inside chunks. */
class FakeBlobStore implements BlobStore {
  readonly blobs = new Map<string, StoredBlob>();
  /** Called before each openRead (tests rewrite the blob here). */
  beforeRead: (() => void) | undefined;
  failWith: Error | undefined;
  reads = 0;

  async getProperties(ref: BlobRef): Promise<BlobProperties> {
    if (this.failWith) throw this.failWith;
    const blob = this.find(ref);
    return {
      account: "devstoreaccount1",
      container: ref.container,
      name: ref.name,
      url: `http://x/${ref.container}/${ref.name}`,
      size: blob.bytes.length,
      etag: blob.etag,
      lastModified: NOW,
      metadata: {},
    };
  }

  async openRead(ref: BlobRef, _options?: OpenReadOptions): Promise<Readable> {
    this.reads += 1;
    this.beforeRead?.();
    const blob = this.find(ref);
    const chunks: Buffer[] = [];
    for (let i = 0; i < blob.bytes.length; i += 777) chunks.push(blob.bytes.subarray(i, i + 777));
    return Readable.from(chunks);
  }

  private find(ref: BlobRef): StoredBlob {
    const blob = this.blobs.get(`${ref.container}/${ref.name}`);
    if (blob === undefined) throw new CustodyError("OriginalNotFound", `${ref.container}/${ref.name} does not exist`);
    if (ref.etag !== undefined && ref.etag !== blob.etag) throw new CustodyError("OriginalChanged", `${ref.container}/${ref.name} no longer has ETag ${ref.etag}`);
    return blob;
  }
}

let counter = 0;

async function recordFor(store: FakeBlobStore, bytes: Buffer, overrides: Partial<EvidenceRecord> = {}): Promise<EvidenceRecord> {
  counter += 1;
  const evidenceId = `ev-${counter.toString(16).padStart(32, "0")}`;
  const name = `PC1/cam/${counter}.mp4`;
  const etag = `"0x${counter}A"`;
  store.blobs.set(`originals/${name}`, { bytes: Buffer.from(bytes), etag });
  const digest = await digestStream(Readable.from([bytes]), { segmentSizeInBytes: SEGMENT });
  const record = newRecord(evidenceId, ["hash"], "2026-11-26T09:00:00.000Z");
  record.status = "ready";
  record.original = { account: "devstoreaccount1", container: "originals", name, etag, url: `http://x/originals/${name}`, size: bytes.length };
  record.hash = { sha256: digest.sha256, size: digest.size, segmentSizeInBytes: SEGMENT, segmentSha256: digest.segmentSha256 };
  return { ...record, ...overrides };
}

function rewrite(store: FakeBlobStore, record: EvidenceRecord, bytes: Buffer, etag = '"0xREWRITTEN"'): void {
  store.blobs.set(`originals/${record.original!.name}`, { bytes, etag });
}

const now = (): Date => NOW;

test("an untouched original is intact, with the recorded and the read digest equal", async () => {
  const store = new FakeBlobStore();
  const bytes = randomBytes(4500);
  const record = await recordFor(store, bytes);
  const report = await verifyOriginal(record, { blobs: store }, { now });
  expect(report).toEqual({
    evidenceId: record.evidenceId,
    status: "intact",
    sha256Expected: createHash("sha256").update(bytes).digest("hex"),
    sha256Actual: createHash("sha256").update(bytes).digest("hex"),
    sizeExpected: 4500,
    sizeActual: 4500,
    differingSegments: [],
    original: { container: "originals", name: record.original!.name },
    etagExpected: record.original!.etag,
    etagActual: record.original!.etag,
    etagChanged: false,
    checkedAt: NOW.toISOString(),
  });
});

test("one changed byte is located: its segment and that segment's byte range, and the ETag change", async () => {
  const store = new FakeBlobStore();
  const bytes = randomBytes(4500);
  const record = await recordFor(store, bytes);
  const tampered = Buffer.from(bytes);
  tampered[2345] ^= 0xff;
  rewrite(store, record, tampered);
  const report = await verifyOriginal(record, { blobs: store }, { now });
  expect(report.status).toBe("modified");
  expect(report.sha256Actual).toBe(createHash("sha256").update(tampered).digest("hex"));
  expect(report.differingSegments).toEqual([{ index: 2, offset: 2000, length: 1000 }]);
  expect(report.etagChanged).toBe(true);
  expect(report.etagActual).toBe('"0xREWRITTEN"');
  expect(describeSegmentRanges(report.differingSegments)).toBe("segment 2 (bytes 2000–2999)");
  // The message the index gets is valid and carries the same facts.
  const message = fixityResultMessage(report, "custody/test");
  expect(isValidMessage("fixity-result", message)).toBe(true);
  expect(message).toMatchObject({ status: "modified", differingSegments: [{ index: 2, offset: 2000, length: 1000 }], differingSegmentCount: 1, etagChanged: true });
});

test("the same bytes rewritten (new ETag, same content) are intact, with the ETag change reported", async () => {
  const store = new FakeBlobStore();
  const bytes = randomBytes(2100);
  const record = await recordFor(store, bytes);
  rewrite(store, record, Buffer.from(bytes));
  const report = await verifyOriginal(record, { blobs: store }, { now });
  expect(report.status).toBe("intact");
  expect(report.etagChanged).toBe(true);
});

test("a truncated copy differs from its cut to the original's end; an extended one in the extra bytes", async () => {
  const store = new FakeBlobStore();
  const bytes = randomBytes(4500);
  const record = await recordFor(store, bytes);
  rewrite(store, record, bytes.subarray(0, 2500));
  const truncated = await verifyOriginal(record, { blobs: store }, { now });
  expect(truncated.status).toBe("modified");
  expect(truncated.sizeActual).toBe(2500);
  // Segment 2 is short now; 3 and 4 are gone. Ranges are of the original's extent.
  expect(truncated.differingSegments).toEqual([
    { index: 2, offset: 2000, length: 1000 },
    { index: 3, offset: 3000, length: 1000 },
    { index: 4, offset: 4000, length: 500 },
  ]);
  expect(describeSegmentRanges(truncated.differingSegments)).toBe("segments 2–4 (bytes 2000–4499)");

  rewrite(store, record, Buffer.concat([bytes, randomBytes(1200)]));
  const extended = await verifyOriginal(record, { blobs: store }, { now });
  expect(extended.status).toBe("modified");
  expect(extended.differingSegments).toEqual([
    { index: 4, offset: 4000, length: 1000 },
    { index: 5, offset: 5000, length: 700 },
  ]);
});

test("a deleted original is missing; records without an original or a hash are unverifiable, with the reason", async () => {
  const store = new FakeBlobStore();
  const record = await recordFor(store, randomBytes(100));
  store.blobs.clear();
  const missing = await verifyOriginal(record, { blobs: store }, { now });
  expect(missing.status).toBe("missing");
  expect(missing.reason).toMatch(/does not exist/);
  expect(isValidMessage("fixity-result", fixityResultMessage(missing, "t"))).toBe(true);

  const notHashed = await verifyOriginal({ ...record, hash: undefined }, { blobs: store }, { now });
  expect(notHashed).toMatchObject({ status: "unverifiable", reason: expect.stringMatching(/not been hashed/) });
  const failedHash = await verifyOriginal(
    { ...record, hash: undefined, stages: { hash: { status: "failed", attempts: 1, lastError: { code: "UnaddressableName", message: "x", retryable: false, at: "t", attempt: 1 } } } },
    { blobs: store },
    { now },
  );
  expect(failedHash.reason).toMatch(/hash stage failed \(UnaddressableName\)/);
  const noOriginal = await verifyOriginal({ ...record, original: undefined }, { blobs: store }, { now });
  expect(noOriginal.status).toBe("unverifiable");
  expect(isValidMessage("fixity-result", fixityResultMessage(noOriginal, "t"))).toBe(true);
});

test("an empty original (hashed with no segments) verifies as intact", async () => {
  const store = new FakeBlobStore();
  const record = await recordFor(store, Buffer.alloc(0));
  expect((await verifyOriginal(record, { blobs: store }, { now })).status).toBe("intact");
});

test("a rewrite between the properties and the read is read again, pinned to one ETag each time", async () => {
  const store = new FakeBlobStore();
  const bytes = randomBytes(3000);
  const record = await recordFor(store, bytes);
  let first = true;
  store.beforeRead = () => {
    if (!first) return;
    first = false;
    rewrite(store, record, Buffer.from(bytes), '"0xNEW"');
  };
  const report = await verifyOriginal(record, { blobs: store }, { now });
  expect(store.reads).toBe(2);
  expect(report).toMatchObject({ status: "intact", etagActual: '"0xNEW"', etagChanged: true });
});

test("infrastructure failures are thrown, not reported as facts about the recording", async () => {
  const store = new FakeBlobStore();
  const record = await recordFor(store, randomBytes(10));
  store.failWith = new CustodyError("Transient", "storage unreachable");
  await expect(verifyOriginal(record, { blobs: store }, { now })).rejects.toMatchObject({ code: "Transient" });
});

test("segment ranges: consecutive segments join into runs", () => {
  expect(
    describeSegmentRanges([
      { index: 0, offset: 0, length: 10 },
      { index: 1, offset: 10, length: 10 },
      { index: 5, offset: 50, length: 4 },
    ]),
  ).toBe("segments 0–1 (bytes 0–19), segment 5 (bytes 50–53)");
});

describe("the scheduled sample", () => {
  class FakeIndex implements EvidenceIndex {
    constructor(readonly records: EvidenceRecord[]) {}
    async read(): Promise<undefined> {
      return undefined;
    }
    async create(): Promise<"exists"> {
      return "exists";
    }
    async replace(): Promise<"conflict"> {
      return "conflict";
    }
    async *list(_options?: ListEvidenceOptions): AsyncIterable<EvidenceRecord> {
      yield* this.records;
    }
  }

  function checked(record: EvidenceRecord, at: string | undefined): EvidenceRecord {
    return at === undefined ? record : { ...record, fixity: { lastCheckedAt: at, lastStatus: "intact", lastResultKey: `${record.evidenceId}:fixity:${at}` } };
  }

  test("never-checked first, then oldest-checked; recently checked and unhashed recordings are left out", async () => {
    const store = new FakeBlobStore();
    const neverA = await recordFor(store, randomBytes(10), { createdAt: "2026-01-02T00:00:00.000Z" });
    const neverB = await recordFor(store, randomBytes(10), { createdAt: "2026-01-01T00:00:00.000Z" });
    const old = checked(await recordFor(store, randomBytes(10)), "2026-10-01T00:00:00.000Z");
    const older = checked(await recordFor(store, randomBytes(10)), "2026-09-01T00:00:00.000Z");
    const recent = checked(await recordFor(store, randomBytes(10)), "2026-11-26T11:00:00.000Z");
    const unhashed = await recordFor(store, randomBytes(10), { hash: undefined });
    const processing = await recordFor(store, randomBytes(10), { status: "received" });
    const index = new FakeIndex([old, recent, neverA, unhashed, older, processing, neverB]);
    const pick = async (sampleSize: number) => (await selectFixitySample(index, { sampleSize, recheckAfterMs: 24 * 3600_000, now })).map((r) => r.evidenceId);
    expect(await pick(3)).toEqual([neverB.evidenceId, neverA.evidenceId, older.evidenceId]);
    expect(await pick(10)).toEqual([neverB.evidenceId, neverA.evidenceId, older.evidenceId, old.evidenceId]);
  });

  test("each recording checked yields one valid fixity-result on the results queue; a failed check does not stop the others", async () => {
    const store = new FakeBlobStore();
    const intact = await recordFor(store, randomBytes(1500));
    const modified = await recordFor(store, randomBytes(1500));
    rewrite(store, modified, randomBytes(1500));
    const gone = await recordFor(store, randomBytes(1500));
    store.blobs.delete(`originals/${gone.original!.name}`);
    const sent: Array<{ entity: string; message: OutgoingMessage }> = [];
    const publisher: Publisher = {
      publish: async (entity, message) => {
        sent.push({ entity, message });
      },
    };
    const outcome = await runFixitySample(
      { index: new FakeIndex([intact, modified, gone]), blobs: store, publisher, resultsQueue: "stage-results" },
      { actor: "custody/fixity-sample@test", log: silentLogger },
      { sampleSize: 10, recheckAfterMs: 0, now },
    );
    expect(outcome.errors).toEqual([]);
    expect(sent.map((s) => [s.entity, (s.message.body as FixityResultMessage).evidenceId, (s.message.body as FixityResultMessage).status]).sort()).toEqual(
      [
        ["stage-results", intact.evidenceId, "intact"],
        ["stage-results", modified.evidenceId, "modified"],
        ["stage-results", gone.evidenceId, "missing"],
      ].sort(),
    );
    for (const { message } of sent) {
      expect(isValidMessage("fixity-result", message.body)).toBe(true);
      expect(message.messageId).toBe(`${(message.body as FixityResultMessage).evidenceId}:fixity:${NOW.toISOString()}`);
      expect(message.subject).toBe("fixity-result");
    }

    store.failWith = new CustodyError("Transient", "storage unreachable");
    const failed = await runFixitySample(
      { index: new FakeIndex([intact, modified]), blobs: store, publisher, resultsQueue: "stage-results" },
      { actor: "a", log: silentLogger },
      { sampleSize: 10, recheckAfterMs: 0, now },
    );
    expect(failed.errors.map((e) => e.code)).toEqual(["Transient", "Transient"]);
  });
});
