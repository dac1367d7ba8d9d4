/**
 * The index's side of Content Credentials on the images (shared/evidence/content-credentials-run.ts)
 * against the real Cosmos DB stand-in: the order goes out only once the fingerprint and the
 * thumbnail result are both recorded, readiness waits for the signed set, which then is what the
 * ready event names; forged results are refused; transient failures are retried within the
 * budget and a final one fails the recording naming the thumbnail stage. The signing itself is
 * tested in test/stages/credentials-stage.test.ts, the whole pipeline in test/pipeline.
 */
import { credentialsRequestMessageId, evidenceFailedMessageId, evidenceReadyMessageId } from "../../shared/contracts/message-ids";
import type { CredentialsRequestMessage, CredentialsResultMessage, EvidenceReceivedMessage, PipelineStage, Rendition, StageResultMessage } from "../../shared/contracts/messages";
import { isValidMessage } from "../../shared/contracts/validate";
import { eventDataProblems, type EvidenceFailedData, type EvidenceReadyData } from "../../shared/contracts/evidence-events";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { indexCredentialsResult, indexEvidenceReceived, indexStageResult, type IndexStageDeps } from "../../shared/stages/index-stage";
import { indexContext, receivedRecording, useLocalEvidenceIndex } from "../support/index-harness";
import { RecordingPublisher } from "../support/recording-publisher";

const ALL: PipelineStage[] = ["hash", "transcode", "thumbnail"];
const QUEUE = "content-credentials";
const SHA = "a".repeat(64);

const stack = useLocalEvidenceIndex();
let publisher: RecordingPublisher;

beforeEach(() => {
  publisher = new RecordingPublisher();
});

function deps(overrides: Partial<IndexStageDeps> = {}): IndexStageDeps {
  return {
    index: stack.index,
    publisher,
    requiredStages: ALL,
    readyTopic: "evidence-ready",
    receivedTopic: "evidence-received",
    contentCredentials: true,
    contentCredentialsQueue: QUEUE,
    ...overrides,
  };
}

const context = indexContext;
const ORIGINALS = new Map<string, EvidenceReceivedMessage>();

function newEvidenceId(): string {
  const message = receivedRecording();
  ORIGINALS.set(message.evidenceId, message);
  return message.evidenceId;
}

const time = (minute: number) => new Date(Date.UTC(2026, 10, 26, 9, 40 + minute)).toISOString();

function received(evidenceId: string): EvidenceReceivedMessage {
  return structuredClone(ORIGINALS.get(evidenceId)!);
}

function thumbnails(evidenceId: string, folder = `${evidenceId}/thumbnail/`): Rendition[] {
  const file = (kind: Rendition["kind"], name: string, digit: string, contentType = "image/jpeg"): Rendition => ({
    kind,
    name,
    container: "derived",
    path: `${folder}${name}`,
    contentType,
    size: 1000,
    sha256: digit.repeat(64),
  });
  return [file("poster", "poster.jpg", "1"), file("thumbnail", "thumb-01.jpg", "2"), file("sprite", "sprite.jpg", "3"), file("sprite-vtt", "sprite.vtt", "4", "text/vtt")];
}

function stage(evidenceId: string, name: PipelineStage, minute: number, extra: Partial<StageResultMessage> = {}): StageResultMessage {
  const message: StageResultMessage = {
    schemaVersion: 1,
    kind: "stage-result",
    evidenceId,
    stage: name,
    attempt: 1,
    outcome: "succeeded",
    final: true,
    startedAt: time(minute - 1),
    finishedAt: time(minute),
    actor: `custody/${name}@host`,
  };
  if (name === "hash") message.hash = { sha256: SHA, size: 2048, segmentSizeInBytes: 1024, segmentSha256: ["1".repeat(64), "2".repeat(64)] };
  if (name !== "hash") {
    message.renditions =
      name === "thumbnail"
        ? thumbnails(evidenceId)
        : [{ kind: "proxy", name: "proxy.mp4", container: "derived", path: `${evidenceId}/transcode/proxy.mp4`, contentType: "video/mp4", size: 5000, sha256: "9".repeat(64) }];
    message.provenance = {
      source: { container: "originals", name: ORIGINALS.get(evidenceId)!.original.name, etag: '"0x8DD"' },
      tools: { ffmpeg: "ffmpeg version 4.0.2", ffprobe: "ffprobe version 6.1" },
      runs: [{ purpose: "thumbnails", arguments: ["-i", "input", "poster.jpg"], startedAt: time(minute - 1), finishedAt: time(minute) }],
      startedAt: time(minute - 1),
      finishedAt: time(minute),
    };
  }
  return { ...message, ...extra };
}

/** What the core app's signing run would claim for `order`: the same files in the order's folder, images with new digests. */
function signed(order: CredentialsRequestMessage, minute: number, extra: Partial<CredentialsResultMessage> = {}): CredentialsResultMessage {
  return {
    schemaVersion: 1,
    kind: "credentials-result",
    evidenceId: order.evidenceId,
    requestId: order.requestId,
    outcome: "succeeded",
    final: true,
    attempt: 1,
    startedAt: time(minute - 1),
    finishedAt: time(minute),
    actor: "custody/content-credentials@host",
    keyId: "kid-1",
    renditions: order.sources.map((source) => ({
      ...source,
      path: `${order.folder}${source.name}`,
      sha256: source.kind === "sprite-vtt" ? source.sha256 : "c".repeat(63) + source.sha256[0],
      size: source.size + 4500,
    })),
    ...(order.retry === undefined ? {} : { retry: order.retry }),
    ...extra,
  };
}

function failure(order: CredentialsRequestMessage, minute: number, final: boolean, extra: Partial<CredentialsResultMessage> = {}): CredentialsResultMessage {
  const { renditions: _r, keyId: _k, ...base } = signed(order, minute);
  return {
    ...base,
    outcome: "failed",
    final,
    error: final ? { code: "OutputVerificationFailed", message: "poster.jpg no longer matches", retryable: false } : { code: "Transient", message: "Key Vault throttled", retryable: true },
    ...extra,
  };
}

function orders(evidenceId: string): CredentialsRequestMessage[] {
  return publisher.to(QUEUE, evidenceId).map((m) => m.body as CredentialsRequestMessage);
}

async function readRecord(evidenceId: string): Promise<EvidenceRecord> {
  const stored = await stack.index.read(evidenceId);
  if (!stored) throw new Error(`no record for ${evidenceId}`);
  return stored.record;
}

/** A recording whose three stages succeeded (thumbnail before hash); returns the one order sent. */
async function awaitingCredentials(id: string, overrides: Partial<IndexStageDeps> = {}): Promise<CredentialsRequestMessage> {
  await indexEvidenceReceived(received(id), deps(overrides), context());
  await indexStageResult(stage(id, "transcode", 1), deps(overrides), context());
  await indexStageResult(stage(id, "thumbnail", 2), deps(overrides), context());
  expect(orders(id)).toHaveLength(0); // no fingerprint yet: nothing to name as the ingredient
  await indexStageResult(stage(id, "hash", 3), deps(overrides), context());
  const sent = orders(id);
  expect(sent).toHaveLength(1);
  return sent[0];
}

describe("index: Content Credentials on the images", () => {
  test("ordered once the fingerprint and the thumbnail result are in; ready only with the signed set, which the ready event names", async () => {
    const id = newEvidenceId();
    const order = await awaitingCredentials(id);
    expect(isValidMessage("credentials-request", order)).toBe(true);
    expect(order).toMatchObject({ evidenceId: id, originalSha256: SHA, original: { name: ORIGINALS.get(id)!.original.name }, tools: { ffmpeg: "ffmpeg version 4.0.2" } });
    expect(order.sources).toEqual(thumbnails(id));
    expect(order.folder).toBe(`${id}/thumbnail/c2pa-${order.requestId.slice(0, 16)}/`);
    expect(publisher.to(QUEUE, id)[0].messageId).toBe(credentialsRequestMessageId(id, order.requestId, 0));
    const waiting = await readRecord(id);
    expect(waiting.status).toBe("received");
    expect(publisher.sent).toHaveLength(0);
    expect(waiting.contentCredentials?.runs[0]).toMatchObject({ status: "pending", order: { publishedAt: expect.any(String) } });

    const result = signed(order, 5);
    const outcome = await indexCredentialsResult(result, deps(), context());
    expect(outcome.publishedMessageId).toBe(evidenceReadyMessageId(id));
    const record = await readRecord(id);
    expect(record.status).toBe("ready");
    expect(record.stages.thumbnail?.renditions).toEqual(result.renditions);
    expect(record.custodyLog.map((e) => e.action)).toEqual(["received", "stage-succeeded", "stage-succeeded", "hashed", "content-credentials", "ready"]);
    const ready = publisher.sent[0].message.body as EvidenceReadyData;
    expect(eventDataProblems("org.custody.evidence.ready.v1", ready, { closed: true })).toEqual([]);
    const named = JSON.stringify(ready);
    for (const file of result.renditions ?? []) expect(named).toContain(file.path);
    expect(named).not.toContain(`${id}/thumbnail/poster.jpg`);

    // A duplicate result and a redelivered thumbnail result change nothing and order nothing more.
    await indexCredentialsResult(result, deps(), context(2));
    await indexStageResult(stage(id, "thumbnail", 2), deps(), context(2));
    expect(orders(id)).toHaveLength(1);
    expect(publisher.sentIds(id)).toEqual([evidenceReadyMessageId(id)]);
    // The thumbnail run again (evidence-received delivered twice): same result id, a later run, the same files — the signed set stays.
    await indexStageResult(stage(id, "thumbnail", 7), deps(), context());
    expect((await readRecord(id)).stages.thumbnail?.renditions).toEqual(result.renditions);
    expect(orders(id)).toHaveLength(1);
  });

  test("a later run of the same thumbnail result with other bytes: its files are signed anew, into their own folder", async () => {
    const id = newEvidenceId();
    const order = await awaitingCredentials(id);
    await indexCredentialsResult(signed(order, 5), deps(), context());
    const rewritten = thumbnails(id).map((r) => ({ ...r, sha256: r.kind === "sprite-vtt" ? r.sha256 : "8".repeat(64) }));
    await indexStageResult(stage(id, "thumbnail", 7, { renditions: rewritten }), deps(), context());
    const [, second] = orders(id);
    expect(second.sources).toEqual(rewritten);
    expect(second.folder).not.toBe(order.folder);
    const result = signed(second, 8);
    await indexCredentialsResult(result, deps(), context());
    expect((await readRecord(id)).stages.thumbnail?.renditions).toEqual(result.renditions);
    expect(publisher.sentIds(id)).toEqual([evidenceReadyMessageId(id)]);
  });

  test("a record created where no signing chain is configured goes ready with the images as made, ordering nothing", async () => {
    const id = newEvidenceId();
    for (const m of [stage(id, "transcode", 1), stage(id, "thumbnail", 2), stage(id, "hash", 3)]) await indexStageResult(m, deps({ contentCredentials: false }), context());
    await indexEvidenceReceived(received(id), deps({ contentCredentials: false }), context());
    expect((await readRecord(id)).status).toBe("ready");
    expect(orders(id)).toHaveLength(0);
  });

  test("claims the index never asked for, or that move, rename or change the files, are refused; the record is unchanged", async () => {
    const id = newEvidenceId();
    const order = await awaitingCredentials(id);
    const before = await readRecord(id);
    const good = signed(order, 5);
    const files = good.renditions ?? [];
    const refused: Array<[CredentialsResultMessage, RegExp]> = [
      [signed({ ...order, requestId: "f".repeat(64) }, 5), /never handed out/],
      [{ ...good, renditions: files.slice(1) }, /has 3 files; the request named 4/],
      [{ ...good, renditions: files.map((f, i) => (i === 0 ? { ...f, path: `${id}/thumbnail/poster.jpg` } : f)) }, /request's folder is derived\//],
      [{ ...good, renditions: files.map((f, i) => (i === 1 ? { ...f, name: "thumb-09.jpg" } : f)) }, /the request named thumbnail thumb-01.jpg/],
      [{ ...good, renditions: files.map((f) => (f.kind === "sprite-vtt" ? { ...f, sha256: "e".repeat(64) } : f)) }, /copied unchanged/],
      [{ ...good, finishedAt: new Date(Date.now() + 3_600_000).toISOString() }, /finishedAt .* is in the future/],
    ];
    for (const [message, reason] of refused) {
      await expect(indexCredentialsResult(message, deps(), context())).rejects.toMatchObject({ code: "InvalidMessage", retryable: false, message: expect.stringMatching(reason) });
    }
    expect(await readRecord(id)).toEqual(before);
    expect(publisher.sent).toHaveLength(0);
  });

  test("a transient failure: waiting, the order's next round scheduled with backoff; past the budget it fails the recording, naming the thumbnail stage", async () => {
    const id = newEvidenceId();
    const order = await awaitingCredentials(id);
    await indexCredentialsResult(failure(order, 5, false), deps(), context());
    expect((await readRecord(id)).status).toBe("waiting");
    const [, retry] = publisher.to(QUEUE, id);
    expect(retry.messageId).toBe(credentialsRequestMessageId(id, order.requestId, 1));
    expect(retry.scheduledEnqueueTime?.getTime()).toBeGreaterThan(Date.parse(time(5)));
    const round1 = retry.body as CredentialsRequestMessage;
    expect(round1.retry).toEqual({ round: 1, firstFailedAt: time(5) });
    expect(isValidMessage("credentials-request", round1)).toBe(true);

    // The next round fails too, seven hours after the first failure: the budget (6 h) is spent.
    const late = new Date(Date.parse(time(5)) + 7 * 3_600_000).toISOString();
    await indexCredentialsResult(failure(round1, 6, false, { finishedAt: late, startedAt: late }), deps({ now: () => new Date(Date.parse(late) + 1000) }), context());
    const record = await readRecord(id);
    expect(record.status).toBe("failed");
    expect(publisher.to(QUEUE, id)).toHaveLength(2);
    const failed = publisher.sent[0].message.body as EvidenceFailedData;
    expect(publisher.sent[0].message.messageId).toBe(evidenceFailedMessageId(id));
    expect(failed.failure).toMatchObject({ stage: "thumbnail", code: "Transient", reason: expect.stringMatching(/^Content Credentials for the images could not be made: retried for/) });
    expect(eventDataProblems("org.custody.evidence.failed.v1", failed, { closed: true })).toEqual([]);
  });

  test("a final failure fails the recording; a later success of the same order (a redrive) makes it ready", async () => {
    const id = newEvidenceId();
    const order = await awaitingCredentials(id);
    await indexCredentialsResult(failure(order, 5, true), deps(), context());
    expect((await readRecord(id)).status).toBe("failed");
    expect((publisher.sent[0].message.body as EvidenceFailedData).failure).toMatchObject({ stage: "thumbnail", code: "OutputVerificationFailed" });
    expect(publisher.to(QUEUE, id)).toHaveLength(1); // nothing retried

    await indexCredentialsResult(signed(order, 9, { attempt: 2 }), deps(), context());
    const record = await readRecord(id);
    expect(record.status).toBe("ready");
    expect(publisher.sentIds(id)).toEqual([evidenceFailedMessageId(id), evidenceReadyMessageId(id)]);
  });

  test("a thumbnail re-run of a ready recording: its update waits for the new images' Content Credentials and names the signed set", async () => {
    const id = newEvidenceId();
    const first = await awaitingCredentials(id);
    await indexCredentialsResult(signed(first, 5), deps(), context());
    const reprocess = { id: "rp-1", requestedBy: "ops@example", requestedAt: time(10), reason: "ffmpeg upgrade" };
    const rerun = stage(id, "thumbnail", 12, { reprocess, renditions: thumbnails(id, `${id}/thumbnail/reprocess-rp-1/`).map((r) => ({ ...r, sha256: "7".repeat(63) + r.sha256[0] })) });
    await indexStageResult(rerun, deps(), context());
    expect(publisher.sent.map((s) => s.message.subject)).toEqual(["org.custody.evidence.ready.v1"]); // no update yet
    const [, second] = orders(id);
    expect(second).toMatchObject({ reprocess, folder: expect.stringMatching(new RegExp(`^${id}/thumbnail/reprocess-rp-1/c2pa-[0-9a-f]{16}/$`)) });

    const result = signed(second, 13);
    await indexCredentialsResult(result, deps(), context());
    const update = publisher.sent.find((s) => s.message.subject === "org.custody.evidence.updated.v1");
    expect(update).toBeDefined();
    const body = JSON.stringify(update?.message.body);
    for (const file of result.renditions ?? []) expect(body).toContain(file.path);
    expect((await readRecord(id)).stages.thumbnail?.renditions).toEqual(result.renditions);
  });
});
