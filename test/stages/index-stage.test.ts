/**
 * The index stage against the real Cosmos DB stand-in (@vercel/cosmosdb-server through
 * @azure/cosmos), with a recording fake Publisher that models the topic's duplicate detection
 * (a message id already sent is accepted and dropped). Relies on the stand-in's atomic ETag
 * checks (IfMatch → 412), 409 on create, and cross-partition queries with continuation tokens.
 */
import { randomBytes } from "node:crypto";
import type { Container, CosmosClient } from "@azure/cosmos";
import { CosmosEvidenceIndex, ensureEvidenceContainer, listQuery } from "../../shared/adapters/cosmos-evidence-index";
import { evidenceFailedMessageId, evidenceReadyMessageId, stageResultMessageId } from "../../shared/contracts/message-ids";
import type { EvidenceReceivedMessage, FixityResultMessage, HashResult, PipelineStage, StageResultMessage } from "../../shared/contracts/messages";
import { isValidMessage } from "../../shared/contracts/validate";
import { CustodyError, isCustodyError } from "../../shared/errors";
import { eventDataProblems, type EvidenceFailedData, type EvidenceReadyData } from "../../shared/contracts/evidence-events";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { applyEvidenceReceived, applyStageResult, decideFinalState, newRecord } from "../../shared/evidence/record-merge";
import { silentLogger } from "../../shared/logging";
import { indexEvidenceReceived, indexFixityResult, indexStageResult, type IndexStageDeps } from "../../shared/stages/index-stage";
import type { StageContext } from "../../shared/stages/stage-context";
import { childTraceparent } from "../../shared/tracing";
import { createLocalCosmosClient, startLocalCosmos, type CosmosInstance } from "../../local/cosmos";
import { receivedRecording } from "../support/index-harness";
import { RecordingPublisher } from "../support/recording-publisher";

const ALL: PipelineStage[] = ["hash", "transcode", "thumbnail"];
const READY_TOPIC = "evidence-ready";
const RECEIVED_TOPIC = "evidence-received";
const SHA = "a".repeat(64);
const DEVICE_SHA = "d".repeat(64);

let cosmos: CosmosInstance;
let client: CosmosClient;
let container: Container;
let index: CosmosEvidenceIndex;
let publisher: RecordingPublisher;

beforeAll(async () => {
  cosmos = await startLocalCosmos();
  client = createLocalCosmosClient(cosmos.endpoint);
  container = await ensureEvidenceContainer(client);
  index = new CosmosEvidenceIndex(container);
});

afterAll(async () => {
  client?.dispose();
  await cosmos?.stop();
});

beforeEach(() => {
  publisher = new RecordingPublisher(READY_TOPIC, RECEIVED_TOPIC);
});

function deps(overrides: Partial<IndexStageDeps> = {}): IndexStageDeps {
  return { index, publisher, requiredStages: ALL, readyTopic: READY_TOPIC, receivedTopic: RECEIVED_TOPIC, ...overrides };
}

function context(attempt = 1): StageContext {
  return { actor: "custody/index@test", attempt, maxAttempts: 10, traceparent: childTraceparent(), log: silentLogger };
}

/** Each test recording's original; its evidence id is derived from it, as ingest does (the index checks). */
const ORIGINALS = new Map<string, EvidenceReceivedMessage["original"]>();

function newEvidenceId(): string {
  const { evidenceId, original } = receivedRecording();
  ORIGINALS.set(evidenceId, original);
  return evidenceId;
}

function received(evidenceId: string, overrides: Partial<EvidenceReceivedMessage> = {}): EvidenceReceivedMessage {
  return {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId,
    original: { ...ORIGINALS.get(evidenceId)! },
    capture: { officerId: "A123", deviceId: "cam7", recordedAt: "2026-11-26T09:00:00+00:00", deviceSha256: SHA },
    acceptance: { status: "accepted" },
    uploadedAt: "2026-11-26T09:30:00.000Z",
    sourceEventId: `evt-${evidenceId}`,
    ...overrides,
  };
}

function hashOf(sha256: string, deviceSha256?: string): HashResult {
  const hash: HashResult = { sha256, size: 2048, segmentSizeInBytes: 1024, segmentSha256: ["1".repeat(64), "2".repeat(64)] };
  if (deviceSha256 !== undefined) {
    hash.deviceSha256 = deviceSha256;
    hash.matchesDevice = deviceSha256 === sha256;
  }
  return hash;
}

function result(evidenceId: string, stage: PipelineStage, attempt: number, outcome: StageResultMessage["outcome"], minute: number, extra: Partial<StageResultMessage> = {}): StageResultMessage {
  const time = (m: number) => new Date(Date.UTC(2026, 10, 26, 9, 40 + m)).toISOString();
  const message: StageResultMessage = {
    schemaVersion: 1,
    kind: "stage-result",
    evidenceId,
    stage,
    attempt,
    outcome,
    final: outcome !== "failed",
    startedAt: time(minute - 1),
    finishedAt: time(minute),
    actor: `custody/${stage}@host`,
    inputSha256: SHA,
  };
  if (outcome === "failed") message.error = { code: "Transient", message: "connection reset", retryable: true };
  if (outcome === "skipped") message.skipReason = "no video stream";
  if (outcome === "succeeded" && stage === "hash") message.hash = hashOf(SHA, SHA);
  return { ...message, ...extra };
}

type Message = EvidenceReceivedMessage | StageResultMessage;

function deliver(message: Message, attempt = 1, overrides: Partial<IndexStageDeps> = {}) {
  return message.kind === "evidence-received" ? indexEvidenceReceived(message, deps(overrides), context(attempt)) : indexStageResult(message, deps(overrides), context(attempt));
}

async function readRecord(evidenceId: string): Promise<EvidenceRecord> {
  const stored = await index.read(evidenceId);
  if (!stored) throw new Error(`no record for ${evidenceId}`);
  return stored.record;
}

/** What the pure merge says the record must be, for comparing with what the stage persisted. */
function pureMerge(evidenceId: string, messages: Message[], required: PipelineStage[] = ALL): EvidenceRecord {
  const mergeContext = { nowIso: "2026-11-26T10:00:00.000Z", actor: "custody/index@test" };
  return messages.reduce(
    (record, m) => (m.kind === "evidence-received" ? applyEvidenceReceived(record, m, mergeContext) : applyStageResult(record, m, mergeContext)),
    newRecord(evidenceId, required, mergeContext.nowIso),
  );
}

/** The parts that must not depend on delivery order or concurrency. */
function facts(record: EvidenceRecord) {
  return {
    original: record.original,
    capture: record.capture,
    requiredStages: record.requiredStages,
    stages: record.stages,
    hash: record.hash,
    integrityFindings: record.integrityFindings,
    messageEntries: record.custodyLog.filter((e) => !["ready", "failed", "rejected"].includes(e.action) || e.key.endsWith(":received")).map(({ recordedAt: _r, ...e }) => e),
  };
}

describe("index stage", () => {
  test("happy path: ready once the last stage (hash) reports; one evidence-ready with the record's facts", async () => {
    const id = newEvidenceId();
    await deliver(received(id));
    await deliver(result(id, "transcode", 1, "succeeded", 5));
    const beforeHash = await deliver(result(id, "thumbnail", 1, "succeeded", 6));
    expect(beforeHash.record.status).toBe("received");
    expect(publisher.sent).toHaveLength(0);

    const outcome = await deliver(result(id, "hash", 1, "succeeded", 7));
    expect(outcome.publishedMessageId).toBe(evidenceReadyMessageId(id));
    const record = await readRecord(id);
    expect(record.status).toBe("ready");
    expect(record.finalEvent).toEqual({ type: "evidence-ready", messageId: evidenceReadyMessageId(id), publishedAt: expect.any(String) });
    expect(record.hash?.sha256).toBe(SHA);
    expect(record.custodyLog.map((e) => e.action)).toEqual(["received", "stage-succeeded", "stage-succeeded", "hashed", "ready"]);

    expect(publisher.sent).toHaveLength(1);
    const [{ entity, message }] = publisher.sent;
    expect(entity).toBe(READY_TOPIC);
    expect(message).toMatchObject({
      messageId: evidenceReadyMessageId(id),
      subject: "org.custody.evidence.ready.v1",
      correlationId: id,
      applicationProperties: { "cloudEvents:id": evidenceReadyMessageId(id), eventType: "org.custody.evidence.ready.v1", evidenceId: id, officerId: "A123", deviceId: "cam7", status: "ready" },
      traceparent: expect.stringMatching(/^00-/),
    });
    expect(message.body as EvidenceReadyData).toMatchObject({ evidenceId: id, status: "ready", original: { sha256: SHA }, integrityFindings: [] });
    expect(message.body).not.toHaveProperty("failure");
    expect(eventDataProblems("org.custody.evidence.ready.v1", message.body, { closed: true })).toEqual([]);
  });

  test("the same evidence-received three times: one record, one received entry, one publish", async () => {
    const id = newEvidenceId();
    await deliver(result(id, "hash", 1, "succeeded", 1));
    await deliver(result(id, "transcode", 1, "succeeded", 2));
    await deliver(result(id, "thumbnail", 1, "succeeded", 3));
    const outcomes = [];
    for (let delivery = 1; delivery <= 3; delivery++) outcomes.push(await deliver(received(id), delivery));
    expect(outcomes.map((o) => o.changed)).toEqual([true, false, false]);
    expect(publisher.sent.map((s) => s.message.messageId)).toEqual([evidenceReadyMessageId(id)]);
    const record = await readRecord(id);
    expect(record.custodyLog.filter((e) => e.action === "received")).toHaveLength(1);
    const listed = [];
    for await (const r of index.list({ officerId: "A123", status: "ready" })) if (r.id === id) listed.push(r);
    expect(listed).toHaveLength(1);
  });

  test("stage results before evidence-received: the record ends as if they came in order", async () => {
    const id = newEvidenceId();
    const messages: Message[] = [result(id, "thumbnail", 1, "skipped", 3), result(id, "hash", 1, "succeeded", 1), result(id, "transcode", 1, "succeeded", 2), received(id)];
    const early = await deliver(messages[0]);
    expect(early.record).toMatchObject({ status: "received", stages: { thumbnail: { status: "skipped" } } });
    expect(early.record.original).toBeUndefined();
    for (const m of messages.slice(1)) await deliver(m);
    const record = await readRecord(id);
    expect(record.status).toBe("ready");
    const inOrder = pureMerge(id, [messages[3], messages[1], messages[2], messages[0]]);
    expect(facts(record)).toEqual(facts(inOrder));
    expect(decideFinalState(inOrder).status).toBe("ready");
    expect(publisher.delivered(id).map((m) => m.messageId)).toEqual([evidenceReadyMessageId(id)]);
  });

  test("20 concurrent deliveries of duplicated, out-of-order messages: consistent record, one event id", async () => {
    const id = newEvidenceId();
    const distinct: Message[] = [
      received(id),
      result(id, "hash", 1, "failed", 1),
      result(id, "hash", 2, "succeeded", 3),
      result(id, "transcode", 1, "failed", 2),
      result(id, "transcode", 2, "succeeded", 6),
      result(id, "thumbnail", 1, "succeeded", 4),
    ];
    // Every message at least once, the rest duplicates, in a seeded random order.
    const deliveries: Message[] = [];
    for (let i = 0; i < 20; i++) deliveries.push(distinct[i % distinct.length]);
    let seed = 20261126;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j], deliveries[i]];
    }
    const outcomes = await Promise.all(deliveries.map((m, i) => deliver(m, 1 + (i % 3))));

    const record = await readRecord(id);
    expect(record.status).toBe("ready");
    expect(facts(record)).toEqual(facts(pureMerge(id, distinct)));
    expect(new Set(record.custodyLog.map((e) => e.key)).size).toBe(record.custodyLog.length);
    expect(record.custodyLog).toHaveLength(distinct.length + 1);
    expect(record.finalEvent).toMatchObject({ type: "evidence-ready", messageId: evidenceReadyMessageId(id), publishedAt: expect.any(String) });
    // Several handlers may publish in the window before publishedAt is persisted — always
    // with the same id, so subscribers receive exactly one event.
    expect(new Set(publisher.sentIds(id))).toEqual(new Set([evidenceReadyMessageId(id)]));
    expect(publisher.delivered(id)).toHaveLength(1);
    expect(outcomes.filter((o) => o.changed).length).toBeGreaterThanOrEqual(distinct.length);
  });

  test("device hash mismatch: an integrity finding, still ready, and the finding is in the event", async () => {
    const id = newEvidenceId();
    // The device's digest comes from the capture metadata (evidence-received), not from the hash result.
    const mismatch = result(id, "hash", 1, "succeeded", 1, { hash: hashOf(SHA) });
    for (const m of [
      received(id, { capture: { ...received(id).capture!, deviceSha256: DEVICE_SHA } }),
      mismatch,
      mismatch,
      result(id, "transcode", 1, "succeeded", 2),
      result(id, "thumbnail", 1, "succeeded", 3),
    ])
      await deliver(m);
    const record = await readRecord(id);
    expect(record.status).toBe("ready");
    expect(record.integrityFindings).toEqual([expect.objectContaining({ code: "DeviceHashMismatch", expected: DEVICE_SHA, actual: SHA })]);
    const events = publisher.delivered(id);
    expect(events).toHaveLength(1);
    expect((events[0].body as EvidenceReadyData).integrityFindings).toEqual(record.integrityFindings);
  });

  test("a forged hash result on a ready recording: refused (InvalidMessage), a ConflictingHashClaim finding, fingerprint and published event unchanged", async () => {
    const id = newEvidenceId();
    for (const m of [received(id), result(id, "hash", 1, "succeeded", 1), result(id, "transcode", 1, "succeeded", 2), result(id, "thumbnail", 1, "succeeded", 3)]) await deliver(m);
    const before = await readRecord(id);
    expect(before.status).toBe("ready");
    const other = "b".repeat(64);
    // As measured: attempt 2, a time far ahead, its own `matchesDevice: true`.
    const forged = result(id, "hash", 2, "succeeded", 4, { finishedAt: new Date(Date.now() + 60_000).toISOString(), hash: { ...hashOf(other, other) } });
    await expect(deliver(forged)).rejects.toMatchObject({ code: "InvalidMessage", message: expect.stringContaining(`the recorded fingerprint is ${SHA}`) });
    const after = await readRecord(id);
    expect(after.hash).toEqual(before.hash);
    expect(after.status).toBe("ready");
    expect(after.integrityFindings).toEqual([expect.objectContaining({ code: "ConflictingHashClaim", expected: SHA, actual: other, claimMessageId: stageResultMessageId(forged) })]);
    // Delivered again (the dead-letter failed, say): still refused, nothing new on the record.
    await expect(deliver(forged)).rejects.toMatchObject({ code: "InvalidMessage" });
    expect((await readRecord(id)).integrityFindings).toHaveLength(1);
    // Downstream heard of the recording once, with the genuine fingerprint.
    const events = publisher.delivered(id);
    expect(events).toHaveLength(1);
    expect((events[0].body as EvidenceReadyData).original.sha256).toBe(SHA);
  });

  test("claims that contradict the record or come from the future are refused before anything is written", async () => {
    const id = newEvidenceId();
    await deliver(received(id));
    await deliver(result(id, "hash", 1, "succeeded", 1));
    const before = await readRecord(id);
    const future = new Date(Date.now() + 60 * 60_000).toISOString();
    const refused: Array<[Message, RegExp]> = [
      [result(id, "transcode", 1, "failed", 2, { finishedAt: future }), /finishedAt .* is in the future/],
      [
        result(id, "hash", 3, "succeeded", 2, { hash: { ...hashOf(SHA), size: 4096, segmentSha256: ["1".repeat(64), "2".repeat(64), "3".repeat(64), "4".repeat(64)] } }),
        /original has 4096 bytes; the record says 2048/,
      ],
      [result(id, "transcode", 1, "succeeded", 2, { inputSha256: "c".repeat(64) }), /input SHA-256 c+; the recording's fingerprint is a+/],
      [
        result(id, "thumbnail", 1, "succeeded", 2, {
          renditions: [
            { kind: "poster", name: "poster.jpg", container: "derived", path: "ev-00000000000000000000000000000000/thumbnail/poster.jpg", contentType: "image/jpeg", size: 10, sha256: "e".repeat(64) },
          ],
        }),
        /outside ev-[0-9a-f]+\/thumbnail\//,
      ],
      [received(id, { original: { ...received(id).original, name: "someone/else.mp4" } }), /evidence id is not the one derived from the original it names/],
      [received(id, { original: { ...received(id).original, size: 9999 } }), /another original \(size 9999/],
      [received(id, { uploadedAt: future }), /uploadedAt .* is in the future/],
    ];
    for (const [message, reason] of refused) {
      await expect(deliver(message)).rejects.toMatchObject({ code: "InvalidMessage", retryable: false, message: expect.stringMatching(reason) });
    }
    expect(await readRecord(id)).toEqual(before);
  });

  test("a forged fixity result (expected digest or size not the record's) is refused; a genuine one is recorded", async () => {
    const id = newEvidenceId();
    for (const m of [received(id), result(id, "hash", 1, "succeeded", 1)]) await deliver(m);
    const before = await readRecord(id);
    const fixity = (extra: Partial<FixityResultMessage>): FixityResultMessage => ({
      schemaVersion: 1,
      kind: "fixity-result",
      evidenceId: id,
      status: "intact",
      checkedAt: new Date().toISOString(),
      actor: "custody/fixity@test",
      ...extra,
    });
    const other = "f".repeat(64);
    await expect(indexFixityResult(fixity({ status: "modified", sha256Expected: other, sha256Actual: "9".repeat(64), sizeExpected: 2048, sizeActual: 2048 }), deps(), context())).rejects.toMatchObject(
      { code: "InvalidMessage", message: expect.stringContaining(`expected SHA-256 ${other}`) },
    );
    await expect(indexFixityResult(fixity({ status: "modified", sha256Expected: SHA, sha256Actual: "9".repeat(64), sizeExpected: 999, sizeActual: 999 }), deps(), context())).rejects.toMatchObject({
      code: "InvalidMessage",
      message: expect.stringContaining("expected 999 bytes"),
    });
    await expect(indexFixityResult(fixity({ status: "intact", sha256Expected: SHA, sha256Actual: other, sizeExpected: 2048 }), deps(), context())).rejects.toMatchObject({ code: "InvalidMessage" });
    await expect(indexFixityResult(fixity({ status: "intact", checkedAt: new Date(Date.now() + 3_600_000).toISOString() }), deps(), context())).rejects.toMatchObject({ code: "InvalidMessage" });
    expect(await readRecord(id)).toEqual(before);
    const genuine = await indexFixityResult(fixity({ status: "intact", sha256Expected: SHA, sha256Actual: SHA, sizeExpected: 2048, sizeActual: 2048, etagExpected: '"0x8DD"' }), deps(), context());
    expect(genuine?.record.fixity?.lastStatus).toBe("intact");
    expect(genuine?.record.integrityFindings).toEqual([]);
  });

  test("a transient failure: the recording is waiting and the index schedules the stage's retry, once, to that stage only", async () => {
    const id = newEvidenceId();
    await deliver(received(id));
    const failure = result(id, "transcode", 1, "failed", 2, { error: { code: "Transient", message: "storage unreachable", retryable: true } });
    await deliver(failure);
    await deliver(failure, 2); // a duplicate delivery schedules the same message (same id: dropped by the topic)
    const record = await readRecord(id);
    expect(record.status).toBe("waiting");
    expect(record.stages.transcode?.retry).toMatchObject({ round: 0, firstFailedAt: failure.finishedAt, nextAttemptAt: expect.any(String) });
    const retries = publisher.retries(id);
    expect(new Set(retries.map((m) => m.messageId))).toEqual(new Set([`${id}:received:retry-1:transcode`]));
    expect(retries[0]).toMatchObject({
      subject: "evidence-received",
      applicationProperties: { custodyRedriveTo: "transcode", custodyRetryRound: 1 },
      body: { kind: "evidence-received", evidenceId: id, original: received(id).original, capture: received(id).capture, retry: { round: 1, firstFailedAt: failure.finishedAt } },
    });
    expect(retries[0].scheduledEnqueueTime?.toISOString()).toBe(record.stages.transcode?.retry?.nextAttemptAt);
    expect(isValidMessage("evidence-received", retries[0].body)).toBe(true);
    expect(publisher.sent).toHaveLength(0);

    // Round 1 fails again: round 2 is scheduled later (backoff), the budget still counts from the first failure.
    const round1 = result(id, "transcode", 2, "failed", 3, { retry: { round: 1, firstFailedAt: failure.finishedAt }, error: { code: "Transient", message: "storage unreachable", retryable: true } });
    await deliver(round1);
    const second = publisher.retries(id).find((m) => m.messageId === `${id}:received:retry-2:transcode`);
    expect(second?.body).toMatchObject({ retry: { round: 2, firstFailedAt: failure.finishedAt } });
    // Then it succeeds, and the hash stage (which did not fail) completes the recording.
    await deliver(result(id, "transcode", 3, "succeeded", 4, { retry: { round: 2, firstFailedAt: failure.finishedAt } }));
    await deliver(result(id, "thumbnail", 1, "succeeded", 5));
    await deliver(result(id, "hash", 1, "succeeded", 6));
    const ready = await readRecord(id);
    expect(ready.status).toBe("ready");
    expect(ready.stages.transcode).toMatchObject({ status: "succeeded", attempts: 3 });
    expect(publisher.delivered(id).map((m) => m.messageId)).toEqual([evidenceReadyMessageId(id)]);
  });

  test("a transient failure past the retry budget is final: failed, announced once with the fingerprint, nothing scheduled", async () => {
    const id = newEvidenceId();
    const policy = { budgetInMs: 60_000, firstDelayInMs: 1_000, maxDelayInMs: 10_000 };
    await deliver(received(id), 1, { retryPolicy: policy });
    await deliver(result(id, "hash", 1, "succeeded", 1), 1, { retryPolicy: policy });
    const first = result(id, "thumbnail", 1, "failed", 2);
    await deliver(first, 1, { retryPolicy: policy });
    expect((await readRecord(id)).status).toBe("waiting");
    const late = result(id, "thumbnail", 7, "failed", 4, { retry: { round: 6, firstFailedAt: first.finishedAt } });
    await deliver(late, 1, { retryPolicy: policy });
    const record = await readRecord(id);
    expect(record.status).toBe("failed");
    expect(record.stages.thumbnail?.lastError?.message).toContain("retried for 1 min (the retry budget)");
    expect(publisher.retries(id).map((m) => m.messageId)).toEqual([`${id}:received:retry-1:thumbnail`]);
    const events = publisher.delivered(id);
    expect(events.map((m) => m.messageId)).toEqual([evidenceFailedMessageId(id)]);
    expect((events[0].body as EvidenceFailedData).original.sha256).toBe(SHA);
  });

  test("a media stage that fails for good before the hash reports: evidence-failed waits for the fingerprint", async () => {
    const id = newEvidenceId();
    await deliver(received(id));
    await deliver(result(id, "transcode", 1, "failed", 1, { final: true, error: { code: "UnsupportedMedia", message: "moov atom not found", retryable: false } }));
    expect((await readRecord(id)).status).toBe("received");
    expect(publisher.sent).toHaveLength(0);
    await deliver(result(id, "hash", 1, "succeeded", 2));
    const events = publisher.delivered(id);
    expect(events.map((m) => m.messageId)).toEqual([evidenceFailedMessageId(id)]);
    expect((events[0].body as EvidenceFailedData).original.sha256).toBe(SHA);
  });

  test("final failure: failed + evidence-failed naming the stage; a redriven success then makes it ready with a new event", async () => {
    const id = newEvidenceId();
    await deliver(received(id));
    await deliver(result(id, "hash", 1, "succeeded", 1));
    await deliver(result(id, "transcode", 9, "failed", 2));
    await deliver(result(id, "transcode", 10, "failed", 3, { final: true, error: { code: "UnsupportedCodec", message: "no decoder for this stream", retryable: false } }));
    let record = await readRecord(id);
    expect(record.status).toBe("failed");
    expect(record.stages.transcode).toMatchObject({ status: "failed", attempts: 10, lastError: { code: "UnsupportedCodec" } });
    expect(record.finalEvent).toMatchObject({ type: "evidence-failed", messageId: evidenceFailedMessageId(id), publishedAt: expect.any(String) });
    expect(publisher.delivered(id)).toHaveLength(1);
    expect(publisher.sent[0].message).toMatchObject({ subject: "org.custody.evidence.failed.v1", applicationProperties: { eventType: "org.custody.evidence.failed.v1", status: "failed" } });
    expect((publisher.sent[0].message.body as EvidenceFailedData).failure).toEqual({ stage: "transcode", code: "UnsupportedCodec", reason: "no decoder for this stream" });
    expect(eventDataProblems("org.custody.evidence.failed.v1", publisher.sent[0].message.body, { closed: true })).toEqual([]);

    // Thumbnail finishing changes nothing about the verdict (same event id, nothing new published).
    await deliver(result(id, "thumbnail", 1, "succeeded", 4));
    expect(publisher.sent).toHaveLength(1);

    // An operator redrives transcode from the dead-letter queue: delivery count restarts at 1.
    await deliver(result(id, "transcode", 1, "succeeded", 30));
    record = await readRecord(id);
    expect(record.status).toBe("ready");
    expect(record.finalEvent).toMatchObject({ type: "evidence-ready", messageId: evidenceReadyMessageId(id), publishedAt: expect.any(String) });
    expect(publisher.delivered(id).map((m) => m.messageId)).toEqual([evidenceFailedMessageId(id), evidenceReadyMessageId(id)]);
    expect(record.custodyLog.filter((e) => ["failed", "ready"].includes(e.action)).map((e) => e.action)).toEqual(["failed", "ready"]);

    // A late duplicate failure does not flip a ready record.
    await deliver(result(id, "transcode", 10, "failed", 3, { final: true, error: { code: "UnsupportedCodec", message: "no decoder for this stream", retryable: false } }));
    const lateFailure = result(id, "thumbnail", 2, "failed", 40, { final: true });
    await deliver(lateFailure);
    record = await readRecord(id);
    expect(record.status).toBe("ready");
    expect(record.stages.thumbnail).toMatchObject({ status: "succeeded", attempts: 2 });
    expect(record.custodyLog.find((e) => e.key === stageResultMessageId(lateFailure))).toMatchObject({ action: "stage-failed", stage: "thumbnail" });
    expect(publisher.delivered(id)).toHaveLength(2);
  });

  test("publisher throws once: the delivery fails retryably, the redelivery publishes the same id and records publishedAt", async () => {
    const id = newEvidenceId();
    await deliver(received(id));
    await deliver(result(id, "transcode", 1, "succeeded", 1));
    await deliver(result(id, "thumbnail", 1, "succeeded", 2));
    const hash = result(id, "hash", 1, "succeeded", 3);
    publisher.failNext(1);
    const error = await deliver(hash).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCustodyError(error) && error.retryable).toBe(true);
    let record = await readRecord(id);
    expect(record.status).toBe("ready");
    expect(record.finalEvent).toEqual({ type: "evidence-ready", messageId: evidenceReadyMessageId(id) }); // decided, not yet published
    expect(publisher.sent).toHaveLength(0);

    const redelivery = await deliver(hash, 2);
    expect(redelivery.changed).toBe(false); // the state change was already persisted
    expect(redelivery.publishedMessageId).toBe(evidenceReadyMessageId(id));
    record = await readRecord(id);
    expect(record.finalEvent?.publishedAt).toEqual(expect.any(String));
    expect(publisher.sentIds(id)).toEqual([evidenceReadyMessageId(id)]);

    // Later duplicates find publishedAt and publish nothing.
    await deliver(hash, 3);
    expect(publisher.sentIds(id)).toHaveLength(1);
  });

  test("rejected recording: stays received until hashed, then rejected with evidence-failed (ingest / Rejected)", async () => {
    const id = newEvidenceId();
    const rejected = received(id, {
      capture: { deviceId: "cam7" },
      acceptance: { status: "rejected", reasons: [{ code: "MissingMetadata", message: "officer id missing", field: "officerid" }] },
    });
    await deliver(rejected);
    await deliver(result(id, "transcode", 1, "succeeded", 1)); // not required for a rejected recording; recorded anyway
    let record = await readRecord(id);
    expect(record).toMatchObject({ status: "received", requiredStages: ["hash"], rejection: { reasons: [{ code: "MissingMetadata" }] } });
    expect(record.stages.transcode?.status).toBe("succeeded");
    expect(publisher.sent).toHaveLength(0);

    await deliver(result(id, "hash", 1, "succeeded", 2));
    record = await readRecord(id);
    expect(record.status).toBe("rejected");
    expect(record.hash?.sha256).toBe(SHA);
    expect(record.finalEvent).toMatchObject({ type: "evidence-failed", messageId: evidenceFailedMessageId(id), publishedAt: expect.any(String) });
    const [event] = publisher.delivered(id);
    expect(event.applicationProperties).toMatchObject({ eventType: "org.custody.evidence.failed.v1", evidenceId: id, status: "rejected", deviceId: "cam7" });
    expect(event.applicationProperties).not.toHaveProperty("officerId");
    expect((event.body as EvidenceFailedData).failure).toMatchObject({ stage: "ingest", code: "Rejected", reasons: [{ code: "MissingMetadata" }] });
  });

  test("a record that keeps changing under the writer gives up with a retryable ConcurrencyConflict", async () => {
    const id = newEvidenceId();
    await deliver(received(id));
    // An index whose replace always loses the race.
    const losing: CosmosEvidenceIndex = Object.create(index);
    losing.replace = async () => "conflict";
    const error = await indexStageResult(result(id, "hash", 1, "succeeded", 1), deps({ index: losing, maxWriteAttempts: 3, maxBackoffInMs: 2 }), context()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CustodyError);
    expect(error).toMatchObject({ code: "ConcurrencyConflict", retryable: true });
  });
});

describe("CosmosEvidenceIndex", () => {
  function record(id: string, createdAt: string, status: EvidenceRecord["status"], officerId: string): EvidenceRecord {
    return { ...newRecord(id, ALL, createdAt), status, capture: { officerId, deviceId: "cam1", recordedAt: createdAt } };
  }

  test("read of a missing record is undefined; create twice is 'exists'; a stale ETag is 'conflict'", async () => {
    const id = newEvidenceId();
    expect(await index.read(id)).toBeUndefined();
    const created = await index.create(record(id, "2026-11-26T10:00:00.000Z", "received", "B1"));
    if (created === "exists") throw new Error("unexpected");
    expect(created.record).toEqual(record(id, "2026-11-26T10:00:00.000Z", "received", "B1")); // system properties stripped
    expect(await index.create(record(id, "2026-11-26T10:00:00.000Z", "received", "B1"))).toBe("exists");
    const replaced = await index.replace({ ...created.record, status: "ready" }, created.etag);
    expect(replaced).not.toBe("conflict");
    expect(await index.replace({ ...created.record, status: "failed" }, created.etag)).toBe("conflict");
    expect((await readRecord(id)).status).toBe("ready");
  });

  test("list filters by status, officer and createdAt, newest first, paging with continuation tokens", async () => {
    const officer = `O-${randomBytes(4).toString("hex")}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = newEvidenceId();
      ids.push(id);
      const created = await index.create(record(id, `2026-11-2${i}T10:00:00.000Z`, i % 2 === 0 ? "ready" : "failed", officer));
      expect(created).not.toBe("exists");
    }
    const all = [];
    for await (const r of index.list({ officerId: officer, maxItemCount: 2 })) all.push(r.id);
    expect(all).toEqual([...ids].reverse());

    const ready = [];
    for await (const r of index.list({ officerId: officer, status: "ready", since: "2026-11-22T00:00:00.000Z", maxItemCount: 1 })) ready.push(r.id);
    expect(ready).toEqual([ids[6], ids[4], ids[2]]);

    const first = await index.listPage({ officerId: officer, maxItemCount: 3 });
    expect(first.records.map((r) => r.id)).toEqual([ids[6], ids[5], ids[4]]);
    expect(first.continuationToken).toEqual(expect.any(String));
    const second = await index.listPage({ officerId: officer, maxItemCount: 3, continuationToken: first.continuationToken });
    expect(second.records.map((r) => r.id)).toEqual([ids[3], ids[2], ids[1]]);
    expect(Object.keys(second.records[0]).some((k) => k.startsWith("_"))).toBe(false);
  });

  test("the list query is parameterized (no values in the SQL text) and has no OFFSET", () => {
    const spec = listQuery({ status: "ready", officerId: "x' OR 1=1 --", since: "2026-01-01T00:00:00Z" });
    expect(spec.query).toBe("SELECT * FROM c WHERE c.status = @status AND c.capture.officerId = @officerId AND c.createdAt >= @since ORDER BY c.createdAt DESC");
    expect(spec.parameters).toEqual([
      { name: "@status", value: "ready" },
      { name: "@officerId", value: "x' OR 1=1 --" },
      { name: "@since", value: "2026-01-01T00:00:00Z" },
    ]);
  });

  test("other Cosmos errors become CustodyErrors: throttling is transient, a missing container is configuration", async () => {
    const missing = new CosmosEvidenceIndex(client.database("custody").container("no-such-container"));
    await expect(missing.create(record(newEvidenceId(), "2026-11-26T10:00:00.000Z", "received", "B1"))).rejects.toMatchObject({ code: "InvalidConfiguration", retryable: false });

    // Throttling cannot be provoked on the stand-in (it never returns 429): the error shape is
    // the SDK's ErrorResponse, whose `code` carries the HTTP status.
    const throttled = Object.assign(new Error("Request rate is large"), { code: 429, retryAfterInMs: 10 });
    const fake = { item: () => ({ read: () => Promise.reject(throttled) }) } as unknown as Container;
    await expect(new CosmosEvidenceIndex(fake).read("ev-x")).rejects.toMatchObject({ name: "CustodyError", code: "Transient", retryable: true });
    const unavailable = Object.assign(new Error("Service unavailable"), { code: 503 });
    const fake503 = { items: { create: () => Promise.reject(unavailable) } } as unknown as Container;
    await expect(new CosmosEvidenceIndex(fake503).create(record(newEvidenceId(), "2026-11-26T10:00:00.000Z", "received", "B1"))).rejects.toMatchObject({ code: "Transient" });
  });
});
