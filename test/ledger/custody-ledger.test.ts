/**
 * The custody ledger through the real SDKs (append blobs on Azurite, the index on the Cosmos
 * stand-in): the index appends every message before applying it and every published event
 * after Service Bus accepted it; when the index loses a record, reconcile rebuilds it from the
 * ledger — same status, fingerprint, custody log, superseded renditions and findings — without
 * re-hashing the original or announcing anything again. The publisher is a recording stand-in
 * that models the topic's duplicate detection (as in the index stage's tests).
 */
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { CosmosClient } from "@azure/cosmos";
import { BlobServiceClient } from "@azure/storage-blob";
import { AzureBlobStore } from "../../shared/adapters/azure-blob-store";
import { BlobCustodyLedger } from "../../shared/adapters/blob-custody-ledger";
import { BlobManifestStore } from "../../shared/adapters/blob-manifest-store";
import { LocalKeySigner } from "../../shared/adapters/local-key-signer";
import { buildJwks } from "../../shared/provenance/jwks";
import { verifyEvidenceManifest } from "../../shared/provenance/manifest-signature";
import { EmulatedRetentionStore } from "../../shared/adapters/emulated-retention-store";
import { CustodyError } from "../../shared/errors";
import type { RetentionStore } from "../../shared/ports/retention-store";
import { CosmosEvidenceIndex, ensureEvidenceContainer } from "../../shared/adapters/cosmos-evidence-index";
import { credentialsRequestMessageId, credentialsResultMessageId, evidenceReadyMessageId, evidenceUpdatedMessageId, stageResultMessageId } from "../../shared/contracts/message-ids";
import { eventDataProblems } from "../../shared/contracts/evidence-events";
import type {
  CredentialsRequestMessage,
  CredentialsResultMessage,
  EvidenceReceivedMessage,
  FixityResultMessage,
  PipelineStage,
  Rendition,
  RetentionCommandMessage,
  StageResultMessage,
} from "../../shared/contracts/messages";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import { describeFixity } from "../../shared/evidence/fixity";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { rebuildRecord } from "../../shared/ledger/rebuild";
import { lineDigest, verifyLedgerChain, type LedgerHead } from "../../shared/evidence/ledger-chain";
import { waitFor } from "../support/polling";
import { silentLogger } from "../../shared/logging";
import { LEDGER_CONTAINER, type CustodyLedger } from "../../shared/ports/custody-ledger";
import type { OutgoingMessage, Publisher } from "../../shared/ports/publisher";
import { indexCredentialsResult, indexEvidenceReceived, indexFixityResult, indexRetentionCommand, indexStageResult, type IndexStageDeps } from "../../shared/stages/index-stage";
import { verifyEvidence, verifyOriginal } from "../../shared/stages/fixity-stage";
import { digestStream } from "../../shared/stages/hash-stage";
import { reconcile } from "../../shared/stages/reconcile-stage";
import type { StageContext } from "../../shared/stages/stage-context";
import { childTraceparent } from "../../shared/tracing";
import { startAzurite, type AzuriteInstance } from "../../local/azurite";
import { createLocalCosmosClient, startLocalCosmos, type CosmosInstance } from "../../local/cosmos";

const ALL: PipelineStage[] = ["hash", "transcode", "thumbnail"];
const SHA = "a".repeat(64);
const DEVICE_SHA = "d".repeat(64);

class RecordingPublisher implements Publisher {
  readonly sent: Array<{ entity: string; message: OutgoingMessage }> = [];
  async publish(entity: string, message: OutgoingMessage): Promise<void> {
    this.sent.push({ entity, message: structuredClone(message) });
  }
  events(): string[] {
    return this.sent.filter((s) => s.entity === "evidence-ready").map((s) => s.message.messageId);
  }
}

let azurite: AzuriteInstance;
let cosmos: CosmosInstance;
let cosmosClient: CosmosClient;
let blobService: BlobServiceClient;
let ledger: BlobCustodyLedger;
let index: CosmosEvidenceIndex;
let publisher: RecordingPublisher;

beforeAll(async () => {
  azurite = await startAzurite({ location: mkdtempSync(path.join(os.tmpdir(), "custody-ledger-")) });
  cosmos = await startLocalCosmos();
  cosmosClient = createLocalCosmosClient(cosmos.endpoint);
  blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
  await blobService.getContainerClient("originals").createIfNotExists();
  ledger = new BlobCustodyLedger(blobService, { createContainer: true });
  index = new CosmosEvidenceIndex(await ensureEvidenceContainer(cosmosClient, { databaseName: "custody", containerName: "evidence" }));
}, 60_000);

afterAll(async () => {
  cosmosClient?.dispose();
  await cosmos?.stop();
  await azurite?.stop();
});

beforeEach(() => {
  publisher = new RecordingPublisher();
});

function deps(overrides: Partial<IndexStageDeps> = {}): IndexStageDeps {
  return { index, ledger, publisher, requiredStages: ALL, readyTopic: "evidence-ready", receivedTopic: "evidence-received", ...overrides };
}

const context: StageContext = { actor: "custody/index@test", attempt: 1, maxAttempts: 10, traceparent: childTraceparent(), log: silentLogger };

/** A real original in Azurite (reconcile lists it), and its evidence id as ingest derives it. */
async function upload(name: string): Promise<{ evidenceId: string; received: EvidenceReceivedMessage }> {
  const blob = blobService.getContainerClient("originals").getBlockBlobClient(name);
  const bytes = Buffer.from(`recording ${name}`);
  const uploaded = await blob.upload(bytes, bytes.length, { blobHTTPHeaders: { blobContentType: "video/mp4" } });
  const original = { account: "devstoreaccount1", container: "originals", name, etag: uploaded.etag!, url: blob.url, size: bytes.length, contentType: "video/mp4" };
  const evidenceId = deriveEvidenceId(original);
  return {
    evidenceId,
    received: {
      schemaVersion: 1,
      kind: "evidence-received",
      evidenceId,
      original,
      capture: { officerId: "A123", deviceId: "cam7", recordedAt: "2026-12-05T06:00:00Z", deviceSha256: DEVICE_SHA },
      acceptance: { status: "accepted" },
      uploadedAt: "2026-12-05T06:30:00.000Z",
      sourceEventId: `evt-${name}`,
    },
  };
}

function result(evidenceId: string, stage: PipelineStage, minute: number, extra: Partial<StageResultMessage> = {}): StageResultMessage {
  const time = (m: number) => new Date(Date.UTC(2026, 11, 5, 7, m)).toISOString();
  const message: StageResultMessage = {
    schemaVersion: 1,
    kind: "stage-result",
    evidenceId,
    stage,
    attempt: 1,
    outcome: "succeeded",
    final: true,
    startedAt: time(minute - 1),
    finishedAt: time(minute),
    actor: `custody/${stage}@host`,
  };
  if (stage === "hash") message.hash = { sha256: SHA, size: 0, segmentSizeInBytes: 4194304, segmentSha256: ["1".repeat(64)] };
  else {
    const rendition: Rendition = {
      kind: stage === "transcode" ? "proxy" : "poster",
      name: stage === "transcode" ? "proxy.mp4" : "poster.jpg",
      container: "derived",
      path: `${evidenceId}/${stage}/${stage === "transcode" ? "proxy.mp4" : "poster.jpg"}`,
      contentType: "video/mp4",
      size: 10,
      sha256: "e".repeat(64),
    };
    message.renditions = [rendition];
  }
  return { ...message, ...extra };
}

/** What a rebuild must give back. */
function facts(record: EvidenceRecord) {
  return {
    status: record.status,
    original: record.original,
    capture: record.capture,
    hash: record.hash,
    stages: record.stages,
    integrityFindings: record.integrityFindings,
    fixity: record.fixity,
    custodyLog: record.custodyLog.map(({ recordedAt: _r, ...entry }) => entry),
    finalEvent: { type: record.finalEvent?.type, messageId: record.finalEvent?.messageId, published: record.finalEvent?.publishedAt !== undefined },
    updateEvents: record.updateEvents?.map(({ publishedAt, ...update }) => ({ ...update, published: publishedAt !== undefined })),
  };
}

test("Content Credentials: the order, the signing claim and the ready event are in the ledger; a rebuilt record owes and has sent the same, heads included", async () => {
  const { evidenceId, received } = await upload("A123/cam7/credentials.mp4");
  const withCredentials = deps({ contentCredentials: true });
  const hash = result(evidenceId, "hash", 1, { hash: { sha256: SHA, size: received.original.size, segmentSizeInBytes: 4194304, segmentSha256: ["1".repeat(64)] } });
  const thumbnail = result(evidenceId, "thumbnail", 3, {
    provenance: {
      source: { container: "originals", name: received.original.name, etag: received.original.etag },
      tools: { ffmpeg: "4.0.2", ffprobe: "6.1" },
      runs: [],
      startedAt: "2026-12-05T07:02:00.000Z",
      finishedAt: "2026-12-05T07:03:00.000Z",
    },
  });
  for (const message of [received, hash, result(evidenceId, "transcode", 2), thumbnail]) {
    await (message.kind === "evidence-received" ? indexEvidenceReceived(message, withCredentials, context) : indexStageResult(message, withCredentials, context));
  }
  const order = publisher.sent.find((s) => s.entity === "content-credentials")?.message.body as CredentialsRequestMessage;
  expect(order).toMatchObject({ evidenceId, originalSha256: SHA });
  const signedSet = order.sources.map((source) => ({ ...source, container: "derived", contentType: "image/jpeg", path: `${order.folder}${source.name}`, sha256: "c".repeat(64), size: 4510 }));
  const claim: CredentialsResultMessage = {
    schemaVersion: 1,
    kind: "credentials-result",
    evidenceId,
    requestId: order.requestId,
    outcome: "succeeded",
    final: true,
    attempt: 1,
    startedAt: "2026-12-05T07:04:00.000Z",
    finishedAt: "2026-12-05T07:05:00.000Z",
    actor: "custody/content-credentials@host",
    keyId: "kid-1",
    renditions: signedSet,
  };
  await indexCredentialsResult(claim, withCredentials, context);

  const entries = await ledger.read(evidenceId);
  expect(entries.map((e) => [e.kind, e.messageId])).toEqual([
    ["applied", `${evidenceId}:received`],
    ["applied", stageResultMessageId(hash)],
    ["applied", stageResultMessageId(result(evidenceId, "transcode", 2))],
    ["applied", stageResultMessageId(thumbnail)],
    ["published", credentialsRequestMessageId(evidenceId, order.requestId, 0)],
    ["applied", credentialsResultMessageId(claim)],
    ["published", evidenceReadyMessageId(evidenceId)],
  ]);
  expect(entries[0]).toMatchObject({ contentCredentials: true });
  const live = (await index.read(evidenceId))!.record;
  expect(live.status).toBe("ready");
  expect(live.stages.thumbnail?.renditions).toEqual(signedSet);
  const rebuilt = rebuildRecord(evidenceId, entries, { requiredStages: ALL })!;
  expect(facts(rebuilt)).toEqual(facts(live));
  expect(rebuilt.contentCredentials).toEqual(live.contentCredentials);
  expect([rebuilt.custodyLogHead, rebuilt.finalEvent?.custodyLogHead]).toEqual([live.custodyLogHead, live.finalEvent!.custodyLogHead]);
}, 60_000);

test("every applied message and published event is in the ledger, once, as canonical JSON lines; a refused claim is not", async () => {
  const { evidenceId, received } = await upload("A123/cam7/one.mp4");
  const hash = result(evidenceId, "hash", 1, { hash: { sha256: SHA, size: received.original.size, segmentSizeInBytes: 4194304, segmentSha256: ["1".repeat(64)] } });
  await indexEvidenceReceived(received, deps(), context);
  await indexEvidenceReceived(received, deps(), context); // redelivered: not appended again
  await indexStageResult(hash, deps(), context);
  await indexStageResult(result(evidenceId, "transcode", 2), deps(), context);
  await expect(indexStageResult(result(evidenceId, "thumbnail", 3, { finishedAt: "2031-01-01T00:00:00.000Z" }), deps(), context)).rejects.toMatchObject({ code: "InvalidMessage" });
  await indexStageResult(result(evidenceId, "thumbnail", 3), deps(), context);

  const entries = await ledger.read(evidenceId);
  expect(entries.map((e) => [e.kind, e.messageId])).toEqual([
    ["applied", `${evidenceId}:received`],
    ["applied", stageResultMessageId(hash)],
    ["applied", stageResultMessageId(result(evidenceId, "transcode", 2))],
    ["applied", stageResultMessageId(result(evidenceId, "thumbnail", 3))],
    ["published", evidenceReadyMessageId(evidenceId)],
  ]);
  expect(entries[1]).toMatchObject({ v: 1, recordedBy: "custody/index@test", message: { hash: { sha256: SHA } }, requiredStages: ALL });
  const text = (await blobService.getContainerClient(LEDGER_CONTAINER).getBlobClient(`${evidenceId}.jsonl`).downloadToBuffer()).toString("utf8");
  for (const line of text.trim().split("\n")) {
    const keys = Object.keys(JSON.parse(line) as object);
    expect(keys).toEqual([...keys].sort());
  }
  expect(rebuildRecord(evidenceId, entries, { requiredStages: ALL }) && facts(rebuildRecord(evidenceId, entries, { requiredStages: ALL })!)).toEqual(facts((await index.read(evidenceId))!.record));

  // A hash chain: the record's head is the ledger's, and the ready event carries the head it was decided at.
  const lines = await ledger.lines(evidenceId);
  const live = (await index.read(evidenceId))!.record;
  expect(verifyLedgerChain(lines, live.custodyLogHead)).toEqual({ head: { sha256: lineDigest(lines[4]), entries: 5 }, unchained: 0, problems: [] });
  expect(live.custodyLogHead).toEqual({ sha256: lineDigest(lines[4]), entries: 5 });
  const ready = publisher.sent.find((s) => s.message.messageId === evidenceReadyMessageId(evidenceId))!;
  expect((ready.message.body as { custodyLog: LedgerHead }).custodyLog).toEqual({ sha256: lineDigest(lines[3]), entries: 4 });
  expect(live.finalEvent!.custodyLogHead).toEqual({ sha256: lineDigest(lines[3]), entries: 4 });
  // A rebuilt record is the same, heads included.
  const rebuilt = rebuildRecord(evidenceId, entries, { requiredStages: ALL })!;
  expect([rebuilt.custodyLogHead, rebuilt.finalEvent?.custodyLogHead]).toEqual([live.custodyLogHead, live.finalEvent!.custodyLogHead]);
}, 60_000);

test("the chain holds when index instances race: each append chains from the end it finds (Append Position), never two from one line", async () => {
  const { evidenceId } = await upload("A123/cam7/race.mp4");
  // Four instances, each with its own view of the ledger's end, appending at once.
  const instances = Array.from({ length: 4 }, () => new BlobCustodyLedger(blobService));
  const appended = await Promise.all(
    instances.flatMap((instance, i) =>
      Array.from({ length: 5 }, (_, j) =>
        instance.append(evidenceId, [
          { v: 1, kind: "published", evidenceId, recordedAt: new Date().toISOString(), recordedBy: `custody/index@host-${i}`, messageId: `m-${i}-${j}`, eventType: "evidence-ready" },
        ]),
      ),
    ),
  );
  const lines = await ledger.lines(evidenceId);
  expect(lines).toHaveLength(20);
  expect(verifyLedgerChain(lines).problems).toEqual([]);
  // Each append's head is a point of the chain; together they are every line.
  expect(appended.map((head) => head.entries).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  for (const head of appended) expect(verifyLedgerChain(lines, head).problems).toEqual([]);
}, 60_000);

test("index lost: reconcile rebuilds the record from the ledger — fingerprint, findings, superseded runs and log intact — and announces nothing again", async () => {
  const { evidenceId, received } = await upload("A123/cam7/two.mp4");
  const size = received.original.size;
  const hash = result(evidenceId, "hash", 1, { hash: { sha256: SHA, size, segmentSizeInBytes: 4194304, segmentSha256: ["1".repeat(64)] } });
  for (const m of [hash, result(evidenceId, "transcode", 2), result(evidenceId, "thumbnail", 3)]) await indexStageResult(m, deps(), context);
  await indexEvidenceReceived(received, deps(), context);
  // A reprocessed transcode (new proxy digest; the first run's is kept as superseded) and a fixity check that found the original changed.
  const reprocessed = result(evidenceId, "transcode", 20, { reprocess: { id: "r-1", requestedBy: "ops@test", requestedAt: "2026-12-05T07:19:00.000Z", reason: "ffmpeg upgrade" } });
  reprocessed.renditions = [{ ...reprocessed.renditions![0], path: `${evidenceId}/transcode/reprocess-r-1/proxy.mp4`, sha256: "f".repeat(64) }];
  await indexStageResult(reprocessed, deps(), context);
  const fixity: FixityResultMessage = {
    schemaVersion: 1,
    kind: "fixity-result",
    evidenceId,
    status: "modified",
    checkedAt: new Date().toISOString(),
    actor: "custody/fixity@test",
    sha256Expected: SHA,
    sha256Actual: "9".repeat(64),
    sizeExpected: size,
    sizeActual: size,
  };
  await indexFixityResult(fixity, deps(), context);
  const before = (await index.read(evidenceId))!.record;
  expect(before.status).toBe("ready");
  expect(before.integrityFindings.map((f) => f.code).sort()).toEqual(["DeviceHashMismatch", "OriginalModified"]);
  expect(before.stages.transcode?.superseded).toHaveLength(1);
  // Downstream was told about the new proxy once.
  expect(publisher.events()).toEqual([evidenceReadyMessageId(evidenceId), evidenceUpdatedMessageId(evidenceId, "r-1", "transcode")]);

  // The index is lost (a new, empty container); the originals and the ledger are not.
  const lostIndex = new CosmosEvidenceIndex(await ensureEvidenceContainer(cosmosClient, { databaseName: "custody", containerName: `rebuilt-${Date.now()}` }));
  const sent: string[] = [];
  const catalog = new AzureBlobStore(blobService);
  const dry = await reconcile({ catalog, index: lostIndex, ledger: { ledger, requiredStages: ALL }, send: async (messageId) => void sent.push(messageId) }, context, {
    operationId: "ledger-dry",
    originalsContainers: ["originals"],
    stuckBefore: new Date(0),
    dryRun: true,
  });
  expect(dry.rebuilt.find((r) => r.evidenceId === evidenceId)).toMatchObject({ status: "ready", written: false });
  expect(await lostIndex.read(evidenceId)).toBeUndefined();

  const outcome = await reconcile({ catalog, index: lostIndex, ledger: { ledger, requiredStages: ALL }, send: async (messageId) => void sent.push(messageId) }, context, {
    operationId: "ledger-run",
    originalsContainers: ["originals"],
    stuckBefore: new Date(0),
  });
  expect(outcome.rebuilt.find((r) => r.evidenceId === evidenceId)).toMatchObject({ status: "ready", written: true });
  // Nothing went back through ingest for it: no re-hash of the (now different) bytes, no second announcement.
  expect(outcome.items.filter((i) => i.evidenceId === evidenceId)).toEqual([]);
  expect(sent.filter((id) => id.includes(evidenceId))).toEqual([]);
  const rebuilt = (await lostIndex.read(evidenceId))!.record;
  expect(facts(rebuilt)).toEqual(facts(before));
  expect(rebuilt.hash?.sha256).toBe(SHA);

  // A message redelivered to the rebuilt index changes nothing and publishes nothing.
  publisher = new RecordingPublisher();
  await indexStageResult(result(evidenceId, "thumbnail", 3), deps({ index: lostIndex }), context);
  expect(publisher.events()).toEqual([]);
}, 90_000);

test("verify checks the original against the ledger's fingerprint: an index whose fingerprint was altered is caught, and a recording the index lost is still verified", async () => {
  const { evidenceId, received } = await upload("A123/cam7/three.mp4");
  const bytes = Buffer.from("recording A123/cam7/three.mp4");
  const real = await digestStream(Readable.from([bytes]), { segmentSizeInBytes: 4194304 });
  const hash = result(evidenceId, "hash", 1, { hash: { sha256: real.sha256, size: real.size, segmentSizeInBytes: 4194304, segmentSha256: real.segmentSha256 } });
  await indexEvidenceReceived(received, deps(), context);
  await indexStageResult(hash, deps(), context);
  const blobs = new AzureBlobStore(blobService);

  // Someone with write access to the index swaps the fingerprint for the digest of other bytes.
  const stored = (await index.read(evidenceId))!;
  const forged: EvidenceRecord = { ...stored.record, hash: { ...stored.record.hash!, sha256: "b".repeat(64) } };
  expect(await index.replace(forged, stored.etag)).not.toBe("conflict");
  const againstIndexOnly = await verifyOriginal(forged, { blobs });
  expect(againstIndexOnly.status).toBe("modified"); // misleading: the bytes are the ones fingerprinted at ingest
  const report = await verifyOriginal(forged, { blobs, ledger: { ledger, requiredStages: ALL } });
  expect(report).toMatchObject({ status: "intact", sha256Expected: real.sha256, sha256Actual: real.sha256, fingerprintFrom: "ledger", indexFingerprint: "b".repeat(64) });
  expect(describeFixity(report)).toContain("the index's fingerprint bbbb");

  // The index lost the record: the ledger alone says what the original must hash to.
  const lost = await verifyEvidence(evidenceId, undefined, { blobs, ledger: { ledger, requiredStages: ALL } });
  expect(lost).toMatchObject({ status: "intact", sha256Expected: real.sha256, fingerprintFrom: "ledger" });
  expect(await verifyEvidence("ev-00000000000000000000000000000000", undefined, { blobs, ledger: { ledger, requiredStages: ALL } })).toBeUndefined();
}, 60_000);

test("a message reaching an index that lost the record: the record is rebuilt from the ledger first, so a hash claim with another digest cannot become the fingerprint", async () => {
  const { evidenceId, received } = await upload("A123/cam7/four.mp4");
  const size = received.original.size;
  const hash = result(evidenceId, "hash", 1, { hash: { sha256: SHA, size, segmentSizeInBytes: 4194304, segmentSha256: ["1".repeat(64)] } });
  await indexEvidenceReceived(received, deps(), context);
  await indexStageResult(hash, deps(), context);
  const before = (await index.read(evidenceId))!.record;

  // The index loses everything; a late (forged or redelivered-after-tamper) hash result with another digest arrives first.
  const lostIndex = new CosmosEvidenceIndex(await ensureEvidenceContainer(cosmosClient, { databaseName: "custody", containerName: `healed-${Date.now()}` }));
  const claim = result(evidenceId, "hash", 2, { hash: { sha256: "c".repeat(64), size, segmentSizeInBytes: 4194304, segmentSha256: ["2".repeat(64)] } });
  await expect(indexStageResult(claim, deps({ index: lostIndex }), context)).rejects.toMatchObject({ code: "InvalidMessage" });
  const healed = (await lostIndex.read(evidenceId))!.record;
  expect(healed.hash?.sha256).toBe(SHA);
  expect(healed.original).toEqual(before.original);
  expect(healed.integrityFindings.map((f) => [f.code, f.expected, f.actual])).toContainEqual(["ConflictingHashClaim", SHA, "c".repeat(64)]);
  // Its history is the ledger's, then the refused claim.
  expect(healed.custodyLog.slice(0, before.custodyLog.length).map((e) => e.key)).toEqual(before.custodyLog.map((e) => e.key));

  // A redelivered message for a recording the ledger knows rebuilds it too, and changes nothing else.
  const otherIndex = new CosmosEvidenceIndex(await ensureEvidenceContainer(cosmosClient, { databaseName: "custody", containerName: `healed2-${Date.now()}` }));
  await indexStageResult(hash, deps({ index: otherIndex }), context);
  expect(facts((await otherIndex.read(evidenceId))!.record)).toEqual(facts(before));
}, 60_000);

test("retention commands through the index: recorded once however often delivered, in the ledger before the record, refused ones in neither; a record lost from the index comes back with its category and holds", async () => {
  const { evidenceId, received } = await upload("A123/cam7/retention.mp4");
  await indexEvidenceReceived(received, deps(), context);
  const command = (commandId: string, action: RetentionCommandMessage["action"], extra: Partial<RetentionCommandMessage>): RetentionCommandMessage => ({
    schemaVersion: 1,
    kind: "retention-command",
    commandId,
    evidenceId,
    action,
    reason: "required for the prosecution",
    requestedBy: "case-management",
    requestedAt: new Date().toISOString(),
    source: "system",
    ...extra,
  });
  const categorise = command("cms-1", "categorise", { category: "evidential", caseReference: "CASE-7" });
  await indexRetentionCommand(categorise, deps(), context);
  const again = await indexRetentionCommand(categorise, deps(), context);
  expect(again.changed).toBe(false);
  await indexRetentionCommand(command("cms-2", "hold", { caseReference: "CASE-7" }), deps(), context);
  // Refused: nothing written anywhere.
  await expect(indexRetentionCommand(command("cms-3", "release", { caseReference: "CASE-8" }), deps(), context)).rejects.toMatchObject({ code: "InvalidMessage", retryable: false });
  await expect(indexRetentionCommand(command("cms-4", "categorise", { category: "forever" }), deps(), context)).rejects.toMatchObject({ code: "InvalidMessage" });

  const stored = (await index.read(evidenceId))!.record;
  expect(stored.retention).toMatchObject({ category: "evidential", disposal: "review", holds: [expect.objectContaining({ caseReference: "CASE-7", placedBy: "case-management" })] });
  expect(stored.retention!.history.map((h) => h.commandId)).toEqual(["cms-1", "cms-2"]);
  const entries = await ledger.read(evidenceId);
  const applied = entries.filter((e) => e.kind === "applied" && e.message.kind === "retention-command").map((e) => e.messageId);
  expect(applied).toEqual([`${evidenceId}:retention:cms-1`, `${evidenceId}:retention:cms-2`]);

  // An index that lost the record (a fresh container): the next command heals it from the ledger first.
  const lostIndex = new CosmosEvidenceIndex(await ensureEvidenceContainer(cosmosClient, { databaseName: "custody", containerName: `retention-healed-${Date.now()}` }));
  await indexRetentionCommand(command("cms-5", "release", { caseReference: "CASE-7" }), deps({ index: lostIndex }), context);
  const healed = (await lostIndex.read(evidenceId))!.record;
  expect(healed.retention).toMatchObject({ category: "evidential", retainUntil: stored.retention!.retainUntil, holds: [] });
  expect(healed.retention!.history.map((h) => h.commandId)).toEqual(["cms-1", "cms-2", "cms-5"]);
});

test("disposal: refused while held; after the release the original and every derived blob are deleted and the record keeps the tombstone; a restart in the middle leaves the decision recorded and the next dispose finishes it", async () => {
  const store = new EmulatedRetentionStore(blobService);
  const { evidenceId, received } = await upload("A123/cam7/disposal.mp4");
  // Captured long ago: non-evidential, its 31 days are over.
  await indexEvidenceReceived({ ...received, capture: { ...received.capture!, recordedAt: "2026-09-01T06:00:00Z" } }, deps({ retentionStore: store }), context);
  await indexStageResult(
    result(evidenceId, "hash", 1, { hash: { sha256: SHA, size: received.original.size, segmentSizeInBytes: 4194304, segmentSha256: ["1".repeat(64)] } }),
    deps({ retentionStore: store }),
    context,
  );
  const derived = blobService.getContainerClient("derived");
  await derived.createIfNotExists();
  for (const name of ["transcode/proxy.mp4", "transcode/reprocess-r1/proxy.mp4", "transcode/segments/segment-00000-v-aa.mp4", "thumbnail/poster.jpg"])
    await derived.getBlockBlobClient(`${evidenceId}/${name}`).upload("x", 1);
  await derived.getBlockBlobClient(`${evidenceId}x/other.mp4`).upload("x", 1); // another recording's folder that merely shares the prefix text
  const retention = (commandId: string, action: RetentionCommandMessage["action"], extra: Partial<RetentionCommandMessage> = {}): RetentionCommandMessage => ({
    schemaVersion: 1,
    kind: "retention-command",
    commandId,
    evidenceId,
    action,
    reason: action === "dispose" ? "retention ended" : "case",
    requestedBy: action === "dispose" ? "custody/disposal" : "case-management",
    requestedAt: new Date().toISOString(),
    source: "system",
    ...extra,
  });
  await indexRetentionCommand(retention("h1", "hold", { caseReference: "CASE-3" }), deps({ retentionStore: store }), context);
  await expect(indexRetentionCommand(retention("d1", "dispose"), deps({ retentionStore: store }), context)).rejects.toMatchObject({
    code: "InvalidMessage",
    message: expect.stringContaining("held for CASE-3") as string,
  });
  await indexRetentionCommand(retention("r1", "release", { caseReference: "CASE-3" }), deps({ retentionStore: store }), context);
  // Storage still holds it (set out of band): the disposal is refused before anything is decided.
  const originalRef = { container: "originals", name: received.original.name };
  await store.setLegalHold(originalRef, true);
  await expect(indexRetentionCommand(retention("d0", "dispose"), deps({ retentionStore: store }), context)).rejects.toMatchObject({
    code: "InvalidMessage",
    message: expect.stringContaining("storage still protects the original (a legal hold)") as string,
  });
  expect((await index.read(evidenceId))!.record.disposal).toBeUndefined();
  await store.setLegalHold(originalRef, false);
  // Still under the container default (it runs from upload, the category from capture): the dispose waits — no refusal, nothing decided.
  const soon = new Date(Date.now() + 2_000);
  await store.extendRetention(originalRef, soon, { policyMode: "Locked" });
  await expect(indexRetentionCommand(retention("d-early", "dispose"), deps({ retentionStore: store }), context)).resolves.toMatchObject({ changed: false });
  expect((await index.read(evidenceId))!.record.disposal).toBeUndefined();
  expect((await ledger.read(evidenceId)).some((e) => e.kind === "applied" && e.messageId.endsWith(":retention:d-early"))).toBe(false);
  await waitFor("the policy to run out", async () => ((await store.protection(originalRef)).immutableUntil! <= new Date() ? true : undefined), 10_000);

  // The host dies after the original went, before the derived blobs: the decision is on the record already.
  const dying: RetentionStore = Object.assign(Object.create(store) as RetentionStore, {
    deletePrefix: () => Promise.reject(new CustodyError("Transient", "host stopped")),
  });
  await expect(indexRetentionCommand(retention("d2", "dispose"), deps({ retentionStore: dying }), context)).rejects.toMatchObject({ code: "Transient" });
  const midway = (await index.read(evidenceId))!.record;
  expect(midway.disposal).toMatchObject({ state: "deleting", commandId: "d2", decidedBy: "custody/disposal", category: "non-evidential", sha256: SHA });
  expect(await blobService.getContainerClient("originals").getBlobClient(received.original.name).exists()).toBe(false);
  expect(await derived.getBlobClient(`${evidenceId}/thumbnail/poster.jpg`).exists()).toBe(true);
  // Nothing else applies meanwhile.
  await expect(indexRetentionCommand(retention("h2", "hold", { caseReference: "CASE-4" }), deps({ retentionStore: store }), context)).rejects.toMatchObject({
    message: expect.stringContaining("was disposed of") as string,
  });

  // The next dispose (the disposal timer's, for a record left deleting) finishes it — and the host
  // dies again, after the record says disposed but before Service Bus took the event.
  const unreachable: Publisher = { publish: () => Promise.reject(new CustodyError("Transient", "Service Bus unreachable")) };
  await expect(indexRetentionCommand(retention("d3", "dispose"), deps({ retentionStore: store, publisher: unreachable }), context)).rejects.toMatchObject({ code: "Transient" });
  const tombstone = (await index.read(evidenceId))!.record;
  expect(tombstone.disposal).toMatchObject({ state: "disposed", commandId: "d2", sha256: SHA, deleted: { original: "absent", derivedVersions: 4 }, event: { messageId: `${evidenceId}:disposed` } });
  expect(tombstone.disposal!.event!.publishedAt).toBeUndefined();
  const left: string[] = [];
  for await (const item of derived.listBlobsFlat({ prefix: evidenceId })) left.push(item.name);
  expect(left).toEqual([`${evidenceId}x/other.mp4`]);
  // The redelivery announces it, once: a later delivery finds it published.
  await indexRetentionCommand(retention("d3", "dispose"), deps({ retentionStore: store }), context);
  await indexRetentionCommand(retention("d3", "dispose"), deps({ retentionStore: store }), context);
  const announced = publisher.sent.filter((s) => s.message.messageId === `${evidenceId}:disposed`);
  expect(announced).toHaveLength(1);
  expect(announced[0].entity).toBe("evidence-ready");
  const event = announced[0].message;
  expect(event.applicationProperties).toMatchObject({ "cloudEvents:type": "org.custody.evidence.disposed.v1", eventType: "org.custody.evidence.disposed.v1", status: "disposed", evidenceId });
  expect(eventDataProblems("org.custody.evidence.disposed.v1", event.body, { closed: true })).toEqual([]);
  expect(event.body).toMatchObject({
    evidenceId,
    status: "disposed",
    original: { name: received.original.name, sha256: SHA },
    disposal: { commandId: "d2", category: "non-evidential", decidedBy: "custody/disposal", reason: "retention ended", derivedBlobsDeleted: 4 },
  });
  expect((event.applicationProperties!["cloudEvents:time"] as Date).toISOString()).toBe(tombstone.disposal!.deletedAt);
  expect((await index.read(evidenceId))!.record.disposal!.event!.publishedAt).toBeDefined();
  // The ledger has the decision, what was deleted and the announcement: a rebuilt record is the tombstone, announced.
  const entries = await ledger.read(evidenceId);
  expect(entries.filter((e) => e.kind === "disposed")).toEqual([
    expect.objectContaining({ commandId: "d2", deleted: { original: "absent", derivedVersions: 4 }, recordedAt: tombstone.disposal!.deletedAt }),
  ]);
  const rebuilt = rebuildRecord(evidenceId, entries, { requiredStages: ALL })!;
  expect(rebuilt.disposal).toEqual((await index.read(evidenceId))!.record.disposal);
});

test("a recording announced ready gets a signed evidence manifest — stored, in the ledger, verifiable with the published keys; a crash after storing it is adopted, not re-signed; a re-run issues the next, linked to the first; a rebuild knows both", async () => {
  const signer = await LocalKeySigner.open({ directory: path.join(mkdtempSync(path.join(os.tmpdir(), "custody-keys-")), "signing-keys") });
  const manifests = new BlobManifestStore(blobService, { createContainer: true });
  const { evidenceId, received } = await upload("A123/cam7/manifest.mp4");
  const size = received.original.size;
  const signing = { signer, manifests, eventSource: "/custody/test" };
  await indexEvidenceReceived(received, deps(signing), context);
  await indexStageResult(result(evidenceId, "hash", 1, { hash: { sha256: SHA, size, segmentSizeInBytes: 4194304, segmentSha256: ["1".repeat(64)] } }), deps(signing), context);
  await indexStageResult(result(evidenceId, "transcode", 2), deps(signing), context);
  // The host dies after the manifest is stored, before the ledger names it.
  const dying: CustodyLedger = {
    append: (id, entries) => (entries.some((e) => e.kind === "manifest-issued") ? Promise.reject(new CustodyError("Transient", "host stopped")) : ledger.append(id, entries)),
    read: (id) => ledger.read(id),
    lines: (id) => ledger.lines(id),
  };
  const thumbnail = result(evidenceId, "thumbnail", 3);
  await expect(indexStageResult(thumbnail, deps({ ...signing, ledger: dying }), context)).rejects.toMatchObject({ code: "Transient" });
  expect(await manifests.list(evidenceId)).toEqual([1]);
  const stored = (await manifests.get(evidenceId, 1))!;
  // The redelivery adopts the stored issue: the same bytes, never a second signature.
  await indexStageResult(thumbnail, deps(signing), context);
  await indexStageResult(thumbnail, deps(signing), context);
  const record = (await index.read(evidenceId))!.record;
  expect(record.status).toBe("ready");
  expect(record.manifests).toEqual([expect.objectContaining({ sequence: 1, sha256: createHash("sha256").update(stored.manifestJson).digest("hex"), keyId: signer.keyId })]);
  expect(await manifests.list(evidenceId)).toEqual([1]);

  // The key is published beside the manifests (the deployment's JWKS, readable by whoever may read the manifests).
  expect(await manifests.publishedKeys()).toEqual([await signer.publicKey()]);
  // It verifies with the published keys, names the original and the renditions, and its log head is a point of the ledger's chain.
  const checked = verifyEvidenceManifest({ manifest: stored.manifestJson, signature: stored.signature, jws: stored.jws, keys: buildJwks(await manifests.publishedKeys()) });
  expect(checked.problems).toEqual([]);
  expect(checked.manifest).toMatchObject({ evidenceId, status: "ready", issuer: "/custody/test", original: { name: received.original.name, sha256: SHA } });
  expect(checked.manifest!.stages.map((s) => s.stage).sort()).toEqual(["thumbnail", "transcode"]);
  const lines = await ledger.lines(evidenceId);
  expect(verifyLedgerChain(lines, checked.manifest!.custodyLog).problems).toEqual([]);
  expect(lines.filter((line) => line.includes('"kind":"manifest-issued"'))).toHaveLength(1);

  // A re-run that replaces the proxy: the next issue, linked to the first.
  const reprocessed = result(evidenceId, "transcode", 20, { reprocess: { id: "r-9", requestedBy: "ops@test", requestedAt: "2026-12-05T07:19:00.000Z", reason: "ffmpeg upgrade" } });
  reprocessed.renditions = [{ ...reprocessed.renditions![0], path: `${evidenceId}/transcode/reprocess-r-9/proxy.mp4`, sha256: "f".repeat(64) }];
  await indexStageResult(reprocessed, deps(signing), context);
  expect(await manifests.list(evidenceId)).toEqual([1, 2]);
  const second = verifyEvidenceManifest({ ...(await manifests.get(evidenceId, 2))!, manifest: (await manifests.get(evidenceId, 2))!.manifestJson, keys: buildJwks(await signer.publishedKeys()) });
  expect(second.problems).toEqual([]);
  expect(second.manifest!.previousManifest).toEqual({ sha256: record.manifests![0].sha256, issuedAt: record.manifests![0].issuedAt });
  const live = (await index.read(evidenceId))!.record;
  expect(live.manifests!.map((m) => m.sequence)).toEqual([1, 2]);
  // The ledger names both: a rebuilt record owes none.
  const rebuilt = rebuildRecord(evidenceId, await ledger.read(evidenceId), { requiredStages: ALL })!;
  expect(rebuilt.manifests).toEqual(live.manifests);
}, 60_000);
