/**
 * The record merge rules, pure: what each message does to the record, that duplicates change
 * nothing, and that any order of the same messages yields the same record (apart from the
 * processing timestamps) and the same final decision.
 */
import { evidenceFailedMessageId, evidenceReadyMessageId, evidenceReceivedMessageId, stageResultMessageId } from "../../shared/contracts/message-ids";
import type { EvidenceReceivedMessage, HashResult, ReportedMediaProbe, PipelineStage, Rendition, StageProvenance, StageResultMessage } from "../../shared/contracts/messages";
import { isValidMessage } from "../../shared/contracts/validate";
import { isCustodyError } from "../../shared/errors";
import { eventDataProblems, parseEvidenceEvent, type EvidenceFailedData, type EvidenceReadyData } from "../../shared/contracts/evidence-events";
import { buildFinalEvent } from "../../shared/evidence/final-event";
import { buildUpdatedEvent } from "../../shared/evidence/updated-event";
import type { EvidenceRecord } from "../../shared/evidence/record";
import {
  applyEvidenceReceived,
  applyFinalDecision,
  applyStageResult,
  decideFinalState,
  isConflictingHashClaim,
  isRetryBudgetSpent,
  markEventPublished,
  markFinalEventPublished,
  newRecord,
  nextRetryAt,
  unpublishedUpdateEvents,
  type MergeContext,
} from "../../shared/evidence/record-merge";
import { DEFAULT_RETRY_POLICY } from "../../shared/evidence/retry-policy";

const EV = "ev-0123456789abcdef0123456789abcdef";
const ALL: PipelineStage[] = ["hash", "transcode", "thumbnail"];
const SHA = "a".repeat(64);
const DEVICE_SHA = "d".repeat(64);
const ctx: MergeContext = { nowIso: "2026-11-26T10:00:00.000Z", actor: "custody/index@test" };

type Message = EvidenceReceivedMessage | StageResultMessage;

function received(overrides: Partial<EvidenceReceivedMessage> = {}): EvidenceReceivedMessage {
  return {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: EV,
    original: {
      account: "devstoreaccount1",
      container: "originals",
      name: "borough-01/A123/cam7/2026-11-26T09-00-00Z.mp4",
      etag: '"0x8DD"',
      url: "https://example/originals/x.mp4",
      size: 1048576,
      contentType: "video/mp4",
    },
    capture: { officerId: "A123", deviceId: "cam7", recordedAt: "2026-11-26T09:00:00+00:00", deviceSha256: DEVICE_SHA },
    acceptance: { status: "accepted" },
    uploadedAt: "2026-11-26T09:30:00.000Z",
    sourceEventId: "evt-1",
    ...overrides,
  };
}

function rejectedReceived(): EvidenceReceivedMessage {
  return received({
    capture: { deviceId: "cam7" },
    acceptance: { status: "rejected", reasons: [{ code: "MissingMetadata", message: "officer id missing", field: "officerid" }] },
  });
}

function hashOf(sha256: string, deviceSha256?: string): HashResult {
  const hash: HashResult = { sha256, size: 1048576, segmentSizeInBytes: 524288, segmentSha256: ["1".repeat(64), "2".repeat(64)] };
  if (deviceSha256 !== undefined) {
    hash.deviceSha256 = deviceSha256;
    hash.matchesDevice = deviceSha256 === sha256;
  }
  return hash;
}

const MEDIA: ReportedMediaProbe = {
  container: "mov,mp4,m4a,3gp,3g2,mj2",
  durationInSeconds: 12.5,
  streams: [
    { index: 0, type: "data", codecTag: "mett" },
    { index: 1, type: "audio", codec: "aac", sampleRate: 48000, channels: 2 },
    { index: 2, type: "video", codec: "hevc", width: 1920, height: 1080, rotation: 90, bitDepth: 8 },
  ],
  primaryVideoIndex: 2,
  primaryAudioIndex: 1,
  dataTracks: ["mett"],
};

/** A proxy rendition whose content differs by `tag` (a re-run may produce other bytes at the same path). */
function proxyRendition(tag: string): Rendition {
  return {
    kind: "proxy",
    name: "proxy.mp4",
    container: "derived",
    path: `${EV}/transcode/proxy.mp4`,
    contentType: "video/mp4",
    size: 1000 + tag.length,
    sha256: tag.repeat(64).slice(0, 64),
    width: 720,
    height: 1280,
  };
}

function provenanceOf(stage: PipelineStage, fromMinute: number, toMinute: number): StageProvenance {
  return {
    source: { container: "originals", name: "borough-01/A123/cam7/2026-11-26T09-00-00Z.mp4", etag: '"0x8DD"' },
    tools: { ffmpeg: "ffmpeg version test", ffprobe: "ffprobe version test" },
    runs: [{ purpose: stage, arguments: ["-map", "0:2", "/tmp/out"], startedAt: at(fromMinute), finishedAt: at(toMinute) }],
    startedAt: at(fromMinute),
    finishedAt: at(toMinute),
  };
}

let clock = 0;
/** Distinct, increasing event times so ordering by time is exercised. */
function at(minute: number): string {
  return new Date(Date.UTC(2026, 10, 26, 9, 40 + minute)).toISOString();
}

function result(stage: PipelineStage, attempt: number, outcome: StageResultMessage["outcome"], options: Partial<StageResultMessage> & { minute?: number } = {}): StageResultMessage {
  const minute = options.minute ?? ++clock;
  const { minute: _ignored, ...rest } = options;
  const base: StageResultMessage = {
    schemaVersion: 1,
    kind: "stage-result",
    evidenceId: EV,
    stage,
    attempt,
    outcome,
    final: outcome !== "failed",
    startedAt: at(minute - 0.5),
    finishedAt: at(minute),
    actor: `custody/${stage}@host-${attempt}`,
    inputSha256: SHA,
  };
  if (outcome === "failed") base.error = { code: "Transient", message: `attempt ${attempt} lost its connection`, retryable: true };
  if (outcome === "skipped") base.skipReason = "audio-only recording: no video stream";
  if (outcome === "succeeded" && stage === "hash") base.hash = hashOf(SHA);
  return { ...base, ...rest };
}

function apply(record: EvidenceRecord, message: Message, context: MergeContext = ctx): EvidenceRecord {
  return message.kind === "evidence-received" ? applyEvidenceReceived(record, message, context) : applyStageResult(record, message, context);
}

function applyAll(messages: Message[], required: PipelineStage[] = ALL, tick?: () => string): EvidenceRecord {
  let record = newRecord(EV, required, tick ? tick() : ctx.nowIso);
  for (const message of messages) record = apply(record, message, tick ? { ...ctx, nowIso: tick() } : ctx);
  return record;
}

/** The record without processing timestamps: what must not depend on arrival order. */
function normalise(record: EvidenceRecord): unknown {
  const { createdAt: _c, updatedAt: _u, ...rest } = record;
  return { ...rest, custodyLog: record.custodyLog.map(({ recordedAt: _r, ...entry }) => entry) };
}

describe("newRecord", () => {
  test("starts received, empty, with the required stages frozen", () => {
    const required: PipelineStage[] = ["hash", "transcode"];
    const record = newRecord(EV, required, ctx.nowIso);
    required.push("thumbnail");
    expect(record).toEqual({
      id: EV,
      evidenceId: EV,
      schemaVersion: 1,
      status: "received",
      requiredStages: ["hash", "transcode"],
      stages: {},
      integrityFindings: [],
      custodyLog: [],
      createdAt: ctx.nowIso,
      updatedAt: ctx.nowIso,
    });
    expect(decideFinalState(record)).toEqual({ status: "received" });
  });
});

describe("applyEvidenceReceived", () => {
  test("fills original, capture and upload time, and logs `received` keyed by the message id", () => {
    const before = newRecord(EV, ALL, "2026-11-26T09:59:00.000Z");
    const snapshot = structuredClone(before);
    const record = applyEvidenceReceived(before, received(), ctx);
    expect(before).toEqual(snapshot); // pure: the input is not touched
    expect(record.original?.name).toBe("borough-01/A123/cam7/2026-11-26T09-00-00Z.mp4");
    expect(record.capture).toEqual(received().capture);
    expect(record.uploadedAt).toBe("2026-11-26T09:30:00.000Z");
    expect(record.rejection).toBeUndefined();
    expect(record.requiredStages).toEqual(ALL);
    expect(record.updatedAt).toBe(ctx.nowIso);
    expect(record.custodyLog).toEqual([expect.objectContaining({ key: evidenceReceivedMessageId(EV), action: "received", at: "2026-11-26T09:30:00.000Z", recordedAt: ctx.nowIso, actor: ctx.actor })]);
  });

  test("a duplicate changes nothing (the very same record comes back)", () => {
    const once = applyEvidenceReceived(newRecord(EV, ALL, ctx.nowIso), received(), ctx);
    const twice = applyEvidenceReceived(once, received({ sourceEventId: "evt-redelivered" }), { ...ctx, nowIso: "2026-11-26T11:00:00.000Z" });
    expect(twice).toBe(once);
    expect(twice.custodyLog).toHaveLength(1);
  });

  test("a rejected recording records the reasons, is logged `rejected`, and only has to be hashed", () => {
    const record = applyEvidenceReceived(newRecord(EV, ALL, ctx.nowIso), rejectedReceived(), ctx);
    expect(record.rejection).toEqual({ reasons: [{ code: "MissingMetadata", message: "officer id missing", field: "officerid" }] });
    expect(record.requiredStages).toEqual(["hash"]);
    expect(record.custodyLog[0]).toMatchObject({ action: "rejected", key: evidenceReceivedMessageId(EV) });
    expect(record.custodyLog[0].detail).toContain("MissingMetadata (officerid)");
  });

  test("refuses a message for another recording", () => {
    expect.assertions(2);
    try {
      applyEvidenceReceived(newRecord(EV, ALL, ctx.nowIso), received({ evidenceId: "ev-ffffffffffffffffffffffffffffffff" }), ctx);
    } catch (error) {
      expect(isCustodyError(error)).toBe(true);
      expect((error as { retryable: boolean }).retryable).toBe(false);
    }
  });
});

describe("applyStageResult", () => {
  const base = () => applyEvidenceReceived(newRecord(EV, ALL, ctx.nowIso), received(), ctx);

  test("a non-final failure moves attempts, lastError and the retry only: the recording is waiting", () => {
    const failure = result("transcode", 2, "failed");
    const record = applyStageResult(base(), failure, ctx);
    const due = nextRetryAt(failure, DEFAULT_RETRY_POLICY);
    expect(record.stages.transcode).toEqual({
      status: "pending",
      attempts: 2,
      lastError: { code: "Transient", message: "attempt 2 lost its connection", retryable: true, at: failure.finishedAt, attempt: 2 },
      retry: { firstFailedAt: failure.finishedAt, round: 0, lastFailedAt: failure.finishedAt, nextAttemptAt: due },
    });
    // The first retry comes after 2.5–5 s (equal jitter on the 5 s first delay).
    const delay = Date.parse(due) - Date.parse(failure.finishedAt);
    expect(delay).toBeGreaterThanOrEqual(2_500);
    expect(delay).toBeLessThanOrEqual(5_000);
    const entry = record.custodyLog.find((e) => e.key === stageResultMessageId(failure));
    expect(entry).toMatchObject({ action: "stage-attempt-failed", stage: "transcode", actor: "custody/transcode@host-2" });
    expect(entry?.detail).toContain(`retry due ${due}`);
    expect(decideFinalState(record)).toEqual({ status: "waiting" });
  });

  test("retry rounds: the state follows the latest round, the budget counts from the first failure, in any order", () => {
    const first = result("hash", 1, "failed", { minute: 1 });
    const round1 = result("hash", 2, "failed", { minute: 2, retry: { round: 1, firstFailedAt: first.finishedAt } });
    const round2 = result("hash", 3, "failed", { minute: 4, retry: { round: 2, firstFailedAt: first.finishedAt } });
    const forward = [first, round1, round2].reduce((r, m) => applyStageResult(r, m, ctx), base());
    const backward = [round2, round1, first].reduce((r, m) => applyStageResult(r, m, ctx), base());
    expect(normalise(backward)).toEqual(normalise(forward));
    expect(forward.stages.hash?.retry).toEqual({ firstFailedAt: first.finishedAt, round: 2, lastFailedAt: round2.finishedAt, nextAttemptAt: nextRetryAt(round2, DEFAULT_RETRY_POLICY) });
    expect(decideFinalState(forward).status).toBe("waiting");
    // Each round is its own custody log entry (the round is part of the message id).
    expect(new Set([first, round1, round2].map(stageResultMessageId)).size).toBe(3);
  });

  test("a transient failure becomes final only when the retry budget is spent: the stage fails with the last cause", () => {
    const policy = { ...DEFAULT_RETRY_POLICY, budgetInMs: 10 * 60_000 };
    const first = result("hash", 1, "failed", { minute: 1 });
    const within = result("hash", 2, "failed", { minute: 9, retry: { round: 3, firstFailedAt: first.finishedAt } });
    const spent = result("hash", 3, "failed", { minute: 11, retry: { round: 4, firstFailedAt: first.finishedAt } });
    const waiting = [first, within].reduce((r, m) => applyStageResult(r, m, { ...ctx, retryPolicy: policy }), base());
    expect(waiting.stages.hash?.status).toBe("pending");
    expect(isRetryBudgetSpent(within, policy)).toBe(false);
    expect(isRetryBudgetSpent(spent, policy)).toBe(true);
    const failed = applyStageResult(waiting, spent, { ...ctx, retryPolicy: policy });
    expect(failed.stages.hash).toMatchObject({ status: "failed", resultKey: stageResultMessageId(spent) });
    expect(failed.stages.hash?.lastError?.message).toMatch(/^retried for 10 min \(the retry budget\) since .*, 5 runs, without success; last cause: attempt 3 lost its connection$/);
    expect(decideFinalState(failed).status).toBe("failed");
  });

  test("a final failure marks the stage failed, with the error in the custody log", () => {
    const failure = result("transcode", 10, "failed", { final: true, error: { code: "UnsupportedCodec", message: "no decoder for hevc 12-bit", retryable: false } });
    const record = applyStageResult(base(), failure, ctx);
    expect(record.stages.transcode).toMatchObject({ status: "failed", attempts: 10, startedAt: failure.startedAt, finishedAt: failure.finishedAt, resultKey: stageResultMessageId(failure) });
    expect(record.stages.transcode?.lastError).toMatchObject({ code: "UnsupportedCodec", attempt: 10 });
    const entry = record.custodyLog.find((e) => e.action === "stage-failed");
    expect(entry?.detail).toContain("UnsupportedCodec: no decoder for hevc 12-bit");
  });

  test("attempts is the maximum reported, whatever the order", () => {
    const a = applyStageResult(applyStageResult(base(), result("hash", 3, "failed"), ctx), result("hash", 1, "failed"), ctx);
    expect(a.stages.hash?.attempts).toBe(3);
    expect(a.stages.hash?.lastError?.attempt).toBe(3);
  });

  test("a success after a final failure (redrive: the delivery count restarts at 1) marks the stage succeeded", () => {
    const failure = result("transcode", 10, "failed", { final: true });
    const redriven = result("transcode", 1, "succeeded");
    const record = applyStageResult(applyStageResult(base(), failure, ctx), redriven, ctx);
    expect(record.stages.transcode).toMatchObject({ status: "succeeded", attempts: 10, finishedAt: redriven.finishedAt, resultKey: stageResultMessageId(redriven) });
    // The last error stays visible: it explains the attempts.
    expect(record.stages.transcode?.lastError?.attempt).toBe(10);
  });

  test("a late failure after a success is logged but does not undo the success", () => {
    const success = result("thumbnail", 1, "succeeded");
    const late = result("thumbnail", 2, "failed", { final: true });
    const record = applyStageResult(applyStageResult(base(), success, ctx), late, ctx);
    expect(record.stages.thumbnail?.status).toBe("succeeded");
    expect(record.stages.thumbnail?.finishedAt).toBe(success.finishedAt);
    expect(record.custodyLog.map((e) => e.action)).toEqual(["received", "stage-succeeded", "stage-failed"]);
  });

  test("hash success stores the hash and logs `hashed` with input and output digests", () => {
    const hashed = result("hash", 1, "succeeded", { hash: hashOf(SHA, SHA) });
    const record = applyStageResult(applyEvidenceReceived(newRecord(EV, ALL, ctx.nowIso), received({ capture: { ...received().capture!, deviceSha256: SHA } }), ctx), hashed, ctx);
    expect(record.hash).toEqual(hashOf(SHA, SHA));
    expect(record.integrityFindings).toEqual([]);
    expect(record.custodyLog.find((e) => e.action === "hashed")).toMatchObject({ key: stageResultMessageId(hashed), outputSha256: SHA, inputSha256: SHA, stage: "hash" });
  });

  test("the device match is the index's: a hash claim saying it matches the device is not believed, in either order", () => {
    // The device's digest (from ingest, DEVICE_SHA) differs; the claim says `matchesDevice: true`.
    const lying = result("hash", 2, "succeeded", { hash: { ...hashOf(SHA, SHA), deviceSha256: SHA, matchesDevice: true } });
    const after = applyStageResult(base(), lying, ctx);
    const before = applyEvidenceReceived(applyStageResult(newRecord(EV, ALL, ctx.nowIso), lying, ctx), received(), ctx);
    for (const record of [after, before]) {
      expect(record.hash).toMatchObject({ sha256: SHA, deviceSha256: DEVICE_SHA, matchesDevice: false });
      expect(record.integrityFindings).toEqual([{ code: "DeviceHashMismatch", message: expect.stringContaining(DEVICE_SHA), at: lying.finishedAt, expected: DEVICE_SHA, actual: SHA }]);
    }
    expect(normalise(before)).toEqual(normalise(after));
  });

  test("a fingerprint is set once: a hash result with another SHA-256 is refused and becomes a finding naming both digests and the message", () => {
    const genuine = result("hash", 1, "succeeded", { minute: 1 });
    const forged = result("hash", 2, "succeeded", { minute: 3, finishedAt: "2030-01-01T00:00:00.000Z", hash: { ...hashOf("b".repeat(64)), deviceSha256: "b".repeat(64), matchesDevice: true } });
    const hashed = applyStageResult(base(), genuine, ctx);
    const refused = applyStageResult(hashed, forged, ctx);
    expect(isConflictingHashClaim(hashed, forged)).toBe(true);
    expect(refused.hash).toEqual(hashed.hash);
    expect(refused.stages.hash).toEqual(hashed.stages.hash);
    expect(refused.integrityFindings).toContainEqual({
      code: "ConflictingHashClaim",
      message: expect.stringContaining("b".repeat(64)),
      at: ctx.nowIso,
      expected: SHA,
      actual: "b".repeat(64),
      claimMessageId: stageResultMessageId(forged),
    });
    expect(refused.custodyLog.find((e) => e.key === stageResultMessageId(forged))).toMatchObject({ action: "claim-refused", stage: "hash", inputSha256: SHA, outputSha256: "b".repeat(64) });
    // The same digest with other segment digests is a conflicting claim too; the same hash again is not.
    expect(isConflictingHashClaim(hashed, result("hash", 3, "succeeded", { hash: { ...hashOf(SHA), segmentSha256: ["3".repeat(64), "2".repeat(64)] } }))).toBe(true);
    expect(isConflictingHashClaim(hashed, result("hash", 3, "succeeded"))).toBe(false);
    // The findings never leave the index with the message id (the event's finding has no such field).
    const complete = [result("transcode", 1, "succeeded"), result("thumbnail", 1, "skipped")].reduce((r, m) => applyStageResult(r, m, ctx), refused);
    const event = buildFinalEvent(applyFinalDecision(complete, decideFinalState(complete), ctx));
    expect((event.body as EvidenceReadyData).original.sha256).toBe(SHA);
    expect(JSON.stringify(event.body)).not.toContain("claimMessageId");
  });

  test("a device hash mismatch is an integrity finding — once, even when the result is delivered twice", () => {
    const mismatch = result("hash", 1, "succeeded", { hash: hashOf(SHA, DEVICE_SHA) });
    const once = applyStageResult(base(), mismatch, ctx);
    const twice = applyStageResult(once, mismatch, { ...ctx, nowIso: "2026-11-26T12:00:00.000Z" });
    expect(twice).toBe(once);
    // A second hash run (another attempt) reporting the same mismatch adds no second finding.
    const rerun = applyStageResult(twice, result("hash", 2, "succeeded", { hash: hashOf(SHA, DEVICE_SHA) }), ctx);
    expect(rerun.integrityFindings).toEqual([{ code: "DeviceHashMismatch", message: expect.stringContaining(DEVICE_SHA), at: mismatch.finishedAt, expected: DEVICE_SHA, actual: SHA }]);
    expect(rerun.custodyLog.filter((e) => e.action === "hashed")).toHaveLength(2);
  });

  test("skipped records the reason", () => {
    const skipped = result("thumbnail", 1, "skipped");
    const record = applyStageResult(base(), skipped, ctx);
    expect(record.stages.thumbnail).toMatchObject({ status: "skipped", skipReason: "audio-only recording: no video stream" });
    expect(record.custodyLog.find((e) => e.action === "stage-skipped")?.detail).toContain("audio-only");
  });

  test("results for stages that are not required are still recorded", () => {
    const record = applyStageResult(applyEvidenceReceived(newRecord(EV, ["hash"], ctx.nowIso), received(), ctx), result("thumbnail", 1, "succeeded"), ctx);
    expect(record.stages.thumbnail?.status).toBe("succeeded");
    expect(record.requiredStages).toEqual(["hash"]);
  });

  test("the custody log is ordered by instant, whatever offset a host wrote its times in", () => {
    const early = result("hash", 1, "failed", { startedAt: "2026-11-26T10:59:00+02:00", finishedAt: "2026-11-26T11:00:00+02:00" }); // 09:00Z
    const record = applyStageResult(base(), early, ctx); // received was uploaded at 09:30Z
    expect(record.custodyLog.map((e) => e.action)).toEqual(["stage-attempt-failed", "received"]);
  });

  test("a duplicate result changes nothing; a result before evidence-received is kept", () => {
    const early = result("transcode", 1, "succeeded");
    const first = applyStageResult(newRecord(EV, ALL, ctx.nowIso), early, ctx);
    expect(first.original).toBeUndefined();
    expect(first.stages.transcode?.status).toBe("succeeded");
    expect(applyStageResult(first, early, { ...ctx, nowIso: "2026-11-26T13:00:00.000Z" })).toBe(first);
    const later = applyEvidenceReceived(first, received(), ctx);
    expect(later.stages.transcode?.status).toBe("succeeded");
    expect(later.custodyLog.map((e) => e.action)).toEqual(["received", "stage-succeeded"]); // ordered by when things happened
  });
});

describe("decideFinalState", () => {
  const receivedRecord = () => applyEvidenceReceived(newRecord(EV, ALL, ctx.nowIso), received(), ctx);
  const done = (record: EvidenceRecord, ...results: StageResultMessage[]) => results.reduce((r, m) => applyStageResult(r, m, ctx), record);

  test("ready needs evidence-received: stage results alone leave it received", () => {
    const record = done(newRecord(EV, ALL, ctx.nowIso), result("hash", 1, "succeeded"), result("transcode", 1, "succeeded"), result("thumbnail", 1, "succeeded"));
    expect(decideFinalState(record)).toEqual({ status: "received" });
    expect(decideFinalState(applyEvidenceReceived(record, received(), ctx))).toEqual({ status: "ready", event: { type: "evidence-ready", messageId: evidenceReadyMessageId(EV) } });
  });

  test("ready when every required stage succeeded or was skipped", () => {
    const record = done(receivedRecord(), result("hash", 1, "succeeded"), result("transcode", 1, "succeeded"));
    expect(decideFinalState(record).status).toBe("received");
    expect(decideFinalState(done(record, result("thumbnail", 1, "skipped"))).status).toBe("ready");
  });

  test("failed once a required stage failed for good and the hash outcome is known; a non-required failure does not count", () => {
    const mediaFailed = done(receivedRecord(), result("transcode", 10, "failed", { final: true }));
    // The failed event carries the fingerprint: it waits for the hash stage.
    expect(decideFinalState(mediaFailed)).toEqual({ status: "received" });
    expect(decideFinalState(done(mediaFailed, result("hash", 1, "failed"))).status).toBe("waiting");
    const record = done(mediaFailed, result("hash", 1, "succeeded"));
    expect(decideFinalState(record)).toEqual({ status: "failed", event: { type: "evidence-failed", messageId: evidenceFailedMessageId(EV) } });
    expect(decideFinalState(done(mediaFailed, result("hash", 1, "failed", { final: true }))).status).toBe("failed");
    const optional = done(applyEvidenceReceived(newRecord(EV, ["hash"], ctx.nowIso), received(), ctx), result("transcode", 10, "failed", { final: true }), result("hash", 1, "succeeded"));
    expect(decideFinalState(optional).status).toBe("ready");
  });

  test("rejected once the hash is done (succeeded, or failed for good), announced with evidence-failed", () => {
    const record = applyEvidenceReceived(newRecord(EV, ALL, ctx.nowIso), rejectedReceived(), ctx);
    expect(decideFinalState(record).status).toBe("received");
    expect(decideFinalState(done(record, result("hash", 1, "failed"))).status).toBe("received");
    expect(decideFinalState(done(record, result("hash", 1, "succeeded")))).toEqual({ status: "rejected", event: { type: "evidence-failed", messageId: evidenceFailedMessageId(EV) } });
    expect(decideFinalState(done(record, result("hash", 10, "failed", { final: true }))).status).toBe("rejected");
    // Whatever the other stages do, a rejected recording never becomes ready.
    expect(decideFinalState(done(record, result("transcode", 1, "succeeded"), result("thumbnail", 1, "succeeded"), result("hash", 1, "succeeded"))).status).toBe("rejected");
  });

  test("ready is terminal: a late final failure is logged, the status and event stay", () => {
    let record = done(receivedRecord(), result("hash", 1, "succeeded"), result("transcode", 1, "succeeded"), result("thumbnail", 1, "succeeded"));
    record = applyFinalDecision(record, decideFinalState(record), ctx);
    record = markFinalEventPublished(record, evidenceReadyMessageId(EV), ctx.nowIso);
    const late = applyStageResult(record, result("transcode", 2, "failed", { final: true }), ctx);
    const decision = decideFinalState(late);
    expect(decision).toEqual({ status: "ready", event: { type: "evidence-ready", messageId: evidenceReadyMessageId(EV) } });
    const after = applyFinalDecision(late, decision, ctx);
    expect(after.status).toBe("ready");
    expect(after.finalEvent).toEqual(record.finalEvent); // publishedAt kept: nothing to re-publish
    expect(after.custodyLog.at(-1)).toMatchObject({ action: "stage-failed", stage: "transcode" });
    // Even a record whose stage state somehow says failed stays ready once ready was decided.
    const forced = structuredClone(after);
    forced.stages.transcode = { status: "failed", attempts: 3 };
    expect(decideFinalState(forced).status).toBe("ready");
  });

  test("a failed record whose failed stage is redriven successfully is received again while others still run", () => {
    let record = done(receivedRecord(), result("hash", 1, "succeeded"), result("transcode", 10, "failed", { final: true }));
    record = applyFinalDecision(record, decideFinalState(record), ctx);
    expect(record.status).toBe("failed");
    record = applyFinalDecision(done(record, result("transcode", 1, "succeeded")), decideFinalState(done(record, result("transcode", 1, "succeeded"))), ctx);
    expect(record.status).toBe("received");
    expect(record.finalEvent?.type).toBe("evidence-failed"); // what subscribers last heard, until evidence-ready
  });

  test("failed can become ready when the redriven stage succeeds: a new event with a new id", () => {
    let record = done(receivedRecord(), result("hash", 1, "succeeded"), result("thumbnail", 1, "succeeded"), result("transcode", 10, "failed", { final: true }));
    record = applyFinalDecision(record, decideFinalState(record), ctx);
    record = markFinalEventPublished(record, evidenceFailedMessageId(EV), ctx.nowIso);
    expect(record.status).toBe("failed");
    expect(record.finalEvent).toEqual({ type: "evidence-failed", messageId: evidenceFailedMessageId(EV), publishedAt: ctx.nowIso });

    record = done(record, result("transcode", 1, "succeeded"));
    const later = { ...ctx, nowIso: "2026-11-26T14:00:00.000Z" };
    record = applyFinalDecision(record, decideFinalState(record), later);
    expect(record.status).toBe("ready");
    expect(record.finalEvent).toEqual({ type: "evidence-ready", messageId: evidenceReadyMessageId(EV) }); // not yet published
    expect(record.custodyLog.filter((e) => e.action === "failed" || e.action === "ready").map((e) => [e.action, e.key])).toEqual([
      ["failed", evidenceFailedMessageId(EV)],
      ["ready", evidenceReadyMessageId(EV)],
    ]);
  });
});

describe("applyFinalDecision and markFinalEventPublished", () => {
  test("deciding the same state again changes nothing and keeps publishedAt", () => {
    let record = applyStageResult(applyEvidenceReceived(newRecord(EV, ["hash"], ctx.nowIso), received(), ctx), result("hash", 1, "succeeded"), ctx);
    record = applyFinalDecision(record, decideFinalState(record), ctx);
    expect(record.status).toBe("ready");
    expect(record.custodyLog.at(-1)).toMatchObject({ key: evidenceReadyMessageId(EV), action: "ready", actor: ctx.actor });
    const published = markFinalEventPublished(record, evidenceReadyMessageId(EV), "2026-11-26T10:00:01.000Z");
    expect(published.finalEvent?.publishedAt).toBe("2026-11-26T10:00:01.000Z");
    expect(applyFinalDecision(published, decideFinalState(published), { ...ctx, nowIso: "2026-11-26T15:00:00.000Z" })).toBe(published);
    expect(markFinalEventPublished(published, evidenceReadyMessageId(EV), "2026-11-26T16:00:00.000Z")).toBe(published);
    expect(markFinalEventPublished(record, evidenceFailedMessageId(EV), "2026-11-26T16:00:00.000Z")).toBe(record); // superseded id: no-op
  });

  test("received decides nothing and writes nothing", () => {
    const record = applyEvidenceReceived(newRecord(EV, ALL, ctx.nowIso), received(), ctx);
    expect(applyFinalDecision(record, decideFinalState(record), ctx)).toBe(record);
  });
});

describe("order independence", () => {
  /** A realistic set: out-of-order retries, a device mismatch, a final failure repaired by redrive, a skip. */
  function realisticSet(): Message[] {
    return [
      received(),
      result("hash", 1, "failed", { minute: 1 }),
      result("hash", 2, "succeeded", { minute: 3, hash: hashOf(SHA, DEVICE_SHA) }),
      result("transcode", 10, "failed", { minute: 2, final: true, error: { code: "Internal", message: "ffmpeg crashed", retryable: true } }),
      result("transcode", 1, "succeeded", { minute: 30, media: MEDIA, renditions: [proxyRendition("1")], provenance: provenanceOf("transcode", 29, 30) }),
      result("thumbnail", 1, "failed", { minute: 4 }),
      result("thumbnail", 2, "skipped", { minute: 5, media: MEDIA, renditions: [], provenance: provenanceOf("thumbnail", 4.5, 5) }),
    ];
  }

  function* permutations<T>(items: T[]): Generator<T[]> {
    if (items.length <= 1) {
      yield items.slice();
      return;
    }
    for (let i = 0; i < items.length; i++) {
      const rest = [...items.slice(0, i), ...items.slice(i + 1)];
      for (const tail of permutations(rest)) yield [items[i], ...tail];
    }
  }

  /** Deterministic PRNG (mulberry32) so a failing sequence can be reproduced from its seed. */
  function random(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function ticker(): () => string {
    let n = 0;
    return () => new Date(Date.UTC(2026, 10, 26, 10, 0, n++)).toISOString();
  }

  const messages = realisticSet();
  const expected = normalise(applyAll(messages));
  const expectedDecision = decideFinalState(applyAll(messages));

  test("the expected record is what the rules say", () => {
    const record = applyAll(messages);
    expect(expectedDecision).toEqual({ status: "ready", event: { type: "evidence-ready", messageId: evidenceReadyMessageId(EV) } });
    expect(record.stages).toMatchObject({
      hash: { status: "succeeded", attempts: 2 },
      transcode: { status: "succeeded", attempts: 10, lastError: { code: "Internal", attempt: 10 } },
      thumbnail: { status: "skipped", attempts: 2 },
    });
    expect(record.media).toEqual(MEDIA);
    expect(record.stages.transcode?.renditions).toEqual([proxyRendition("1")]);
    expect(record.stages.transcode?.provenance?.source.sha256).toBe(SHA);
    expect(record.stages.thumbnail?.provenance?.source.sha256).toBe(SHA);
    expect(record.integrityFindings).toHaveLength(1);
    expect(record.custodyLog).toHaveLength(messages.length);
  });

  test("every permutation yields the same record and decision (all 5,040 orders)", () => {
    let count = 0;
    for (const order of permutations(messages)) {
      const record = applyAll(order, ALL, ticker());
      expect(normalise(record)).toEqual(expected);
      expect(decideFinalState(record)).toEqual(expectedDecision);
      count++;
    }
    expect(count).toBe(5040);
  });

  test("random sequences with duplicates yield the same record and decision", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const sequence = [...messages];
      const extra = Math.floor(next() * 8);
      for (let i = 0; i < extra; i++) sequence.push(messages[Math.floor(next() * messages.length)]);
      for (let i = sequence.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [sequence[i], sequence[j]] = [sequence[j], sequence[i]];
      }
      const record = applyAll(sequence, ALL, ticker());
      try {
        expect(normalise(record)).toEqual(expected);
        expect(decideFinalState(record)).toEqual(expectedDecision);
      } catch (error) {
        throw new Error(`seed ${seed}, order ${sequence.map((m) => (m.kind === "stage-result" ? stageResultMessageId(m) : m.kind)).join(", ")}: ${(error as Error).message}`, { cause: error });
      }
    }
  });

  test("deciding after every message (as the index does) ends in the same status and event in any order (1,260 orders)", () => {
    const rejectedSet: Message[] = [rejectedReceived(), result("hash", 1, "succeeded", { minute: 2 }), result("transcode", 1, "failed", { minute: 1, final: true })];
    for (const [set, status] of [
      [messages, "ready"],
      [rejectedSet, "rejected"],
    ] as const) {
      let n = 0;
      for (const order of permutations(set)) {
        if (set.length > 5 && n++ % 4 !== 0) continue; // every 4th of the 5,040 orders: the exhaustive run is above
        let record = newRecord(EV, ALL, ctx.nowIso);
        for (const message of order) {
          record = apply(record, message);
          record = applyFinalDecision(record, decideFinalState(record), ctx);
        }
        expect(record.status).toBe(status);
        expect(record.finalEvent?.messageId).toBe(status === "ready" ? evidenceReadyMessageId(EV) : evidenceFailedMessageId(EV));
      }
    }
  });
});

describe("fixtures", () => {
  test("are valid messages (the merge is tested on what the schemas admit)", () => {
    const fixtures: Message[] = [received(), rejectedReceived(), result("hash", 1, "succeeded"), result("transcode", 2, "failed"), result("thumbnail", 1, "skipped")];
    for (const message of fixtures) {
      expect(isValidMessage(message.kind, message)).toBe(true);
    }
  });
});

describe("buildFinalEvent (CloudEvents 1.0, AMQP binary mode)", () => {
  const ready = (messages: Message[] = []) => {
    let record = applyAll([
      received(),
      result("hash", 1, "succeeded", { hash: hashOf(SHA, DEVICE_SHA) }),
      result("transcode", 1, "succeeded", { media: MEDIA, renditions: [proxyRendition("a")], provenance: provenanceOf("transcode", 1, 2) }),
      result("thumbnail", 1, "succeeded"),
      ...messages,
    ]);
    record = applyFinalDecision(record, decideFinalState(record), ctx);
    return record;
  };
  const asReceived = (message: ReturnType<typeof buildFinalEvent>) =>
    parseEvidenceEvent({ body: JSON.parse(JSON.stringify(message.body)), contentType: message.contentType, applicationProperties: message.applicationProperties }, { closed: true });

  test("evidence-ready: cloudEvents: attributes, routing properties, and data that matches its schema", () => {
    const record = ready();
    const message = buildFinalEvent(record, { source: "/custody/test" });
    const decision = record.custodyLog.find((entry) => entry.key === evidenceReadyMessageId(EV))!;
    expect(message).toMatchObject({
      messageId: evidenceReadyMessageId(EV),
      subject: "org.custody.evidence.ready.v1",
      correlationId: EV,
      contentType: "application/json",
      applicationProperties: {
        "cloudEvents:specversion": "1.0",
        "cloudEvents:id": evidenceReadyMessageId(EV),
        "cloudEvents:source": "/custody/test",
        "cloudEvents:type": "org.custody.evidence.ready.v1",
        "cloudEvents:subject": EV,
        "cloudEvents:time": new Date(decision.at),
        "cloudEvents:dataschema": "https://custody.example/schemas/events/evidence-ready.v1.json",
        eventType: "org.custody.evidence.ready.v1",
        evidenceId: EV,
        officerId: "A123",
        deviceId: "cam7",
        status: "ready",
      },
    });
    expect(message.applicationProperties).not.toHaveProperty("cloudEvents:datacontenttype"); // the AMQP content-type carries it
    expect(eventDataProblems("org.custody.evidence.ready.v1", message.body, { closed: true })).toEqual([]);
    const data = message.body as EvidenceReadyData;
    expect(data).toEqual({
      evidenceId: EV,
      status: "ready",
      original: {
        storageAccount: "devstoreaccount1",
        container: "originals",
        name: record.original!.name,
        etag: '"0x8DD"',
        size: 1048576,
        contentType: "video/mp4",
        sha256: SHA,
        url: "https://example/originals/x.mp4",
      },
      capture: { officerId: "A123", deviceId: "cam7", recordedAt: "2026-11-26T09:00:00+00:00", deviceSha256: DEVICE_SHA },
      media: {
        container: "mov,mp4,m4a,3gp,3g2,mj2",
        durationInSeconds: 12.5,
        video: { codec: "hevc", width: 1920, height: 1080, rotation: 90, bitDepth: 8 },
        audio: { codec: "aac", sampleRate: 48000, channels: 2 },
        dataTracks: ["mett"],
      },
      renditions: [{ ...proxyRendition("a"), stage: "transcode", url: `https://example/derived/${EV}/transcode/proxy.mp4` }],
      integrityFindings: [expect.objectContaining({ code: "DeviceHashMismatch", expected: DEVICE_SHA, actual: SHA })],
    });
    // Segment digests and provenance stay on the index record.
    expect(JSON.stringify(data)).not.toMatch(/segmentSha256|provenance|arguments/);
    expect(asReceived(message)).toMatchObject({ id: evidenceReadyMessageId(EV), type: "org.custody.evidence.ready.v1", subject: EV, time: decision.at, data });
  });

  test("the same record gives the same event, time included (a re-publish after a crash is identical)", () => {
    const record = ready();
    const later = { ...record, updatedAt: "2026-11-26T11:00:00.000Z" };
    expect(buildFinalEvent(later)).toEqual(buildFinalEvent(record));
    expect(buildFinalEvent(record).applicationProperties!["cloudEvents:source"]).toBe("/custody");
  });

  test("no SAS and no query string leaves in an event, whatever the record holds", () => {
    const record = ready();
    record.original = { ...record.original!, url: "https://acct.blob.core.windows.net/originals/a%20b/c.mp4?sv=2024&sig=SECRET" };
    const message = buildFinalEvent(record);
    const data = message.body as EvidenceReadyData;
    expect(JSON.stringify(message)).not.toMatch(/SECRET|sig=|\?/);
    expect(data.original.url).toBe("https://acct.blob.core.windows.net/originals/a%20b/c.mp4");
    expect(data.renditions[0].url).toBe(`https://acct.blob.core.windows.net/derived/${EV}/transcode/proxy.mp4`);
    expect(eventDataProblems("org.custody.evidence.ready.v1", data, { closed: true })).toEqual([]);
  });

  test("the original's URL is passed on as text: a '..' segment is not resolved into another blob's URL", () => {
    const record = ready();
    record.original = { ...record.original!, url: "https://acct.blob.core.windows.net/originals/evidence/%2E%2E/escape.mp4?sig=x" };
    const data = buildFinalEvent(record).body as EvidenceReadyData;
    expect(data.original.url).toBe("https://acct.blob.core.windows.net/originals/evidence/%2E%2E/escape.mp4");
    expect(data.renditions[0].url).toBe(`https://acct.blob.core.windows.net/derived/${EV}/transcode/proxy.mp4`);
  });

  test("path-style (Azurite) URLs keep the account segment in rendition URLs; the unit becomes a routing property", () => {
    const record = ready();
    record.original = { ...record.original!, url: "http://127.0.0.1:10000/devstoreaccount1/originals/x.mp4" };
    record.capture = { ...record.capture, unit: "camden" };
    const message = buildFinalEvent(record);
    const data = message.body as EvidenceReadyData;
    expect(data.renditions[0].url).toBe(`http://127.0.0.1:10000/devstoreaccount1/derived/${EV}/transcode/proxy.mp4`);
    expect(data.capture.unit).toBe("camden");
    expect(message.applicationProperties).toMatchObject({ unit: "camden" });
  });

  test("evidence-failed names the failed stage, its code and reason, carries the fingerprint, and matches its schema", () => {
    let record = applyAll([
      received(),
      result("transcode", 10, "failed", { final: true, error: { code: "UnsupportedCodec", message: "no decoder", retryable: false } }),
      result("hash", 1, "succeeded"),
    ]);
    record = applyFinalDecision(record, decideFinalState(record), ctx);
    const message = buildFinalEvent(record);
    const data = message.body as EvidenceFailedData;
    expect(message).toMatchObject({
      messageId: evidenceFailedMessageId(EV),
      subject: "org.custody.evidence.failed.v1",
      applicationProperties: { eventType: "org.custody.evidence.failed.v1", status: "failed" },
    });
    expect(data).toMatchObject({ status: "failed", failure: { stage: "transcode", code: "UnsupportedCodec", reason: "no decoder" }, renditions: [] });
    expect(data.original.sha256).toBe(SHA);
    expect(eventDataProblems("org.custody.evidence.failed.v1", data, { closed: true })).toEqual([]);
  });

  test("a re-publish of evidence-failed while a redrive has made the record `received` again still says failed", () => {
    let record = applyAll([
      received(),
      result("hash", 1, "succeeded"),
      result("transcode", 10, "failed", { final: true, error: { code: "UnsupportedCodec", message: "no decoder", retryable: false } }),
    ]);
    record = applyFinalDecision(record, decideFinalState(record), ctx);
    const message = buildFinalEvent({ ...record, status: "received" });
    expect(message.applicationProperties).toMatchObject({ status: "failed", eventType: "org.custody.evidence.failed.v1" });
    expect((message.body as EvidenceFailedData).status).toBe("failed");
  });

  test("a failure reason that quotes a URL (with the SAS already redacted) loses the query string in the event", () => {
    const error = {
      code: "UnsupportedMedia",
      message: "ffprobe exited with code 1 on http://127.0.0.1:1/acct/originals/a.mp4?<redacted> Invalid data; see https://x.example/b?sig=abc#frag",
      retryable: false,
    };
    let record = applyAll([received(), result("hash", 1, "succeeded"), result("transcode", 1, "failed", { final: true, error })]);
    record = applyFinalDecision(record, decideFinalState(record), ctx);
    const data = buildFinalEvent(record).body as EvidenceFailedData;
    expect(data.failure.reason).toBe("ffprobe exited with code 1 on http://127.0.0.1:1/acct/originals/a.mp4 Invalid data; see https://x.example/b");
    expect(eventDataProblems("org.custody.evidence.failed.v1", data, { closed: true })).toEqual([]);
    expect(eventDataProblems("org.custody.evidence.ready.v1", data).length).toBeGreaterThan(0);
  });

  test("a rejected recording's evidence-failed says ingest / Rejected with the reasons, and omits the missing officer", () => {
    let record = applyAll([rejectedReceived(), result("hash", 1, "succeeded")]);
    record = applyFinalDecision(record, decideFinalState(record), ctx);
    const message = buildFinalEvent(record);
    const routing = Object.fromEntries(Object.entries(message.applicationProperties!).filter(([name]) => !name.startsWith("cloudEvents:")));
    expect(routing).toEqual({ eventType: "org.custody.evidence.failed.v1", evidenceId: EV, status: "rejected", deviceId: "cam7" });
    const data = message.body as EvidenceFailedData;
    expect(data.failure).toEqual({
      stage: "ingest",
      code: "Rejected",
      reason: "MissingMetadata (officerid): officer id missing",
      reasons: [{ code: "MissingMetadata", message: "officer id missing", field: "officerid" }],
    });
    expect(data.capture).toEqual({ deviceId: "cam7" });
    expect(eventDataProblems("org.custody.evidence.failed.v1", data, { closed: true })).toEqual([]);
    expect(asReceived(message).type).toBe("org.custody.evidence.failed.v1");
  });

  test("a record without a final event cannot be announced", () => {
    expect(() => buildFinalEvent(newRecord(EV, ALL, ctx.nowIso))).toThrow(/no final event/);
  });
});

describe("parseEvidenceEvent (what a consumer checks)", () => {
  const good = () => {
    let record = applyAll([received(), result("hash", 1, "succeeded"), result("transcode", 1, "succeeded"), result("thumbnail", 1, "succeeded")]);
    record = applyFinalDecision(record, decideFinalState(record), ctx);
    const message = buildFinalEvent(record);
    return { body: Buffer.from(JSON.stringify(message.body)), contentType: message.contentType, applicationProperties: { ...message.applicationProperties! } as Record<string, unknown> };
  };

  test("accepts the time as an AMQP timestamp (a Date, or the SDK's epoch milliseconds) or as its RFC 3339 string", () => {
    const message = good();
    const asDate = parseEvidenceEvent(message);
    message.applicationProperties["cloudEvents:time"] = asDate.time;
    expect(parseEvidenceEvent(message).time).toBe(asDate.time);
    message.applicationProperties["cloudEvents:time"] = Date.parse(asDate.time);
    expect(parseEvidenceEvent(message).time).toBe(asDate.time);
    message.applicationProperties["cloudEvents:time"] = "yesterday";
    expect(() => parseEvidenceEvent(message)).toThrow(/cloudEvents:time is not a timestamp/);
  });

  test("a consumer accepts a property added later (additive change, same version); Custody's own check refuses an undocumented one", () => {
    const message = good();
    const data = JSON.parse(message.body.toString()) as Record<string, unknown>;
    message.body = Buffer.from(JSON.stringify({ ...data, addedInV1_1: { anything: true } }));
    expect(parseEvidenceEvent(message).data.evidenceId).toBe(EV);
    expect(() => parseEvidenceEvent(message, { closed: true })).toThrow(/must NOT have additional properties/);
    expect(eventDataProblems("org.custody.evidence.ready.v1", { ...data, original: { ...(data.original as object), sasToken: "x" } }, { closed: true })).toEqual([
      "/original must NOT have additional properties",
    ]);
  });

  test.each([
    ["an unknown type", (m: ReturnType<typeof good>) => (m.applicationProperties["cloudEvents:type"] = "org.custody.evidence.ready.v9"), /not an evidence event type/],
    ["a missing id", (m: ReturnType<typeof good>) => delete m.applicationProperties["cloudEvents:id"], /cloudEvents:id is missing/],
    ["structured mode", (m: ReturnType<typeof good>) => (m.contentType = "application/cloudevents+json"), /binary content mode/],
    ["a body that is not JSON", (m: ReturnType<typeof good>) => (m.body = Buffer.from("{nope")), /not JSON/],
    ["data that breaks the schema", (m: ReturnType<typeof good>) => (m.body = Buffer.from(JSON.stringify({ ...JSON.parse(m.body.toString()), status: "done" }))), /data\/status/],
    ["a subject that is not the evidence id", (m: ReturnType<typeof good>) => (m.applicationProperties["cloudEvents:subject"] = "ev-ffffffffffffffffffffffffffffffff"), /not the data's evidenceId/],
  ])("refuses %s with InvalidMessage and the reason", (_label, spoil, reason) => {
    const message = good();
    spoil(message);
    let caught: unknown;
    try {
      parseEvidenceEvent(message);
    } catch (error) {
      caught = error;
    }
    expect(isCustodyError(caught) && caught.code === "InvalidMessage").toBe(true);
    expect((caught as Error).message).toMatch(reason);
  });
});

describe("media stage results", () => {
  const base = () => applyEvidenceReceived(newRecord(EV, ALL, ctx.nowIso), received(), ctx);

  test("renditions, provenance and the probe are stored; the custody log names the proxy and its digest", () => {
    const done = result("transcode", 1, "succeeded", { media: MEDIA, renditions: [proxyRendition("a")], provenance: provenanceOf("transcode", 1, 2) });
    expect(isValidMessage("stage-result", done)).toBe(true);
    const record = applyStageResult(base(), done, ctx);
    expect(record.media).toEqual(MEDIA);
    expect(record.stages.transcode).toMatchObject({ status: "succeeded", renditions: [proxyRendition("a")], provenance: provenanceOf("transcode", 1, 2) });
    const entry = record.custodyLog.find((e) => e.action === "stage-succeeded");
    expect(entry).toMatchObject({ outputSha256: proxyRendition("a").sha256 });
    expect(entry?.detail).toContain(`1 rendition in derived/${EV}/transcode/ (proxy.mp4 sha256 ${proxyRendition("a").sha256})`);
  });

  test("a redelivered result replaces the stage's renditions (same paths), never appends", () => {
    const first = result("transcode", 1, "succeeded", { minute: 1, renditions: [proxyRendition("a")], provenance: provenanceOf("transcode", 0.5, 1) });
    const again = result("transcode", 2, "succeeded", { minute: 2, renditions: [proxyRendition("b")], provenance: provenanceOf("transcode", 1.5, 2) });
    for (const order of [
      [first, again],
      [again, first],
      [first, again, first, again],
    ]) {
      let record = base();
      for (const message of order) record = applyStageResult(record, message, ctx);
      expect(record.stages.transcode?.renditions).toEqual([proxyRendition("b")]);
      expect(record.stages.transcode?.provenance?.startedAt).toBe(at(1.5));
    }
  });

  test("a failure keeps the probe and its provenance on the record, with no renditions; a later success brings them", () => {
    const failed = result("transcode", 1, "failed", {
      final: true,
      error: { code: "UnsupportedMedia", message: "moov atom not found", retryable: false },
      media: MEDIA,
      provenance: provenanceOf("transcode", 1, 2),
    });
    expect(isValidMessage("stage-result", failed)).toBe(true);
    const record = applyStageResult(base(), failed, ctx);
    expect(record.media).toEqual(MEDIA);
    expect(record.stages.transcode).toMatchObject({ status: "failed", provenance: provenanceOf("transcode", 1, 2) });
    expect(record.stages.transcode?.renditions).toBeUndefined();
  });

  test("the source SHA-256 is joined from the hash stage whichever arrives first", () => {
    const transcoded = result("transcode", 1, "succeeded", { renditions: [proxyRendition("a")], provenance: provenanceOf("transcode", 1, 2) });
    const hashed = result("hash", 1, "succeeded");
    const a = applyStageResult(applyStageResult(base(), transcoded, ctx), hashed, ctx);
    const b = applyStageResult(applyStageResult(base(), hashed, ctx), transcoded, ctx);
    expect(a.stages.transcode?.provenance?.source.sha256).toBe(SHA);
    expect(normalise(a)).toEqual(normalise(b));
  });

  test("two different probes (hosts with different ffprobe builds) keep the same one in any order", () => {
    const other: ReportedMediaProbe = { ...MEDIA, durationInSeconds: 12.48 };
    const t = result("transcode", 1, "succeeded", { media: MEDIA, renditions: [proxyRendition("a")], provenance: provenanceOf("transcode", 1, 2) });
    const n = result("thumbnail", 1, "skipped", { media: other, renditions: [], provenance: provenanceOf("thumbnail", 1, 2) });
    const x = applyStageResult(applyStageResult(base(), t, ctx), n, ctx);
    const y = applyStageResult(applyStageResult(base(), n, ctx), t, ctx);
    expect(x.media).toEqual(y.media);
  });

  test("a succeeded media stage without renditions or provenance is not a valid message", () => {
    const bare = result("thumbnail", 1, "succeeded");
    expect(isValidMessage("stage-result", bare)).toBe(false);
    expect(isValidMessage("stage-result", { ...bare, renditions: [{ ...proxyRendition("a"), name: "../escape" }], provenance: provenanceOf("thumbnail", 1, 2) })).toBe(false);
    expect(isValidMessage("stage-result", { ...bare, renditions: [proxyRendition("a")], provenance: provenanceOf("thumbnail", 1, 2), extra: 1 })).toBe(false);
  });

  test("every order of redeliveries, a redriven failure and both media stages gives the same record (720 orders)", () => {
    const set: Message[] = [
      received(),
      result("hash", 1, "succeeded", { minute: 1 }),
      result("transcode", 1, "succeeded", { minute: 2, media: MEDIA, renditions: [proxyRendition("a")], provenance: provenanceOf("transcode", 1.5, 2) }),
      result("transcode", 2, "succeeded", { minute: 3, media: MEDIA, renditions: [proxyRendition("b")], provenance: provenanceOf("transcode", 2.5, 3) }),
      result("thumbnail", 5, "failed", {
        minute: 4,
        final: true,
        error: { code: "Transient", message: "storage timed out", retryable: true },
        media: MEDIA,
        provenance: provenanceOf("thumbnail", 3.5, 4),
      }),
      result("thumbnail", 1, "succeeded", {
        minute: 6,
        media: MEDIA,
        renditions: [{ ...proxyRendition("p"), kind: "poster", name: "poster.jpg", path: `${EV}/thumbnail/poster.jpg`, contentType: "image/jpeg" }],
        provenance: provenanceOf("thumbnail", 5, 6),
      }),
    ];
    const permutations = function* <T>(items: T[]): Generator<T[]> {
      if (items.length <= 1) {
        yield items.slice();
        return;
      }
      for (let i = 0; i < items.length; i++) for (const tail of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i], ...tail];
    };
    const expectedRecord = normalise(applyAll(set));
    let count = 0;
    for (const order of permutations(set)) {
      const record = applyAll(order);
      expect(normalise(record)).toEqual(expectedRecord);
      expect(decideFinalState(record).status).toBe("ready");
      count++;
    }
    expect(count).toBe(720);
    const record = applyAll(set);
    expect(record.stages.transcode?.renditions).toEqual([proxyRendition("b")]);
    expect(record.stages.thumbnail?.renditions?.map((r) => r.name)).toEqual(["poster.jpg"]);
    expect(record.stages.thumbnail?.provenance?.source.sha256).toBe(SHA);
  });
});

describe("reprocess results (custody reprocess)", () => {
  const base = () => applyEvidenceReceived(newRecord(EV, ALL, ctx.nowIso), received(), ctx);
  const request = { id: "5f0c8a52-5a1e-4d1c-9c8e-2b8f8a0c1d2e", requestedBy: "ops@force.example", requestedAt: at(9), reason: "ffmpeg upgrade" };
  const first = result("transcode", 1, "succeeded", { minute: 2, renditions: [proxyRendition("a")], provenance: provenanceOf("transcode", 1.5, 2) });
  const rerun = result("transcode", 1, "succeeded", {
    minute: 10,
    renditions: [proxyRendition("b")],
    provenance: { ...provenanceOf("transcode", 9.5, 10), tools: { ffmpeg: "ffmpeg version 7.1", ffprobe: "ffprobe version 7.1" } },
    reprocess: request,
  });

  test("a re-run with the same attempt number is its own message and custody log entry, and names the request", () => {
    expect(isValidMessage("stage-result", rerun)).toBe(true);
    expect(stageResultMessageId(rerun)).not.toBe(stageResultMessageId(first));
    expect(stageResultMessageId(rerun)).toBe(`${EV}:transcode:reprocess-${request.id}:1:succeeded`);
    const record = applyStageResult(applyStageResult(base(), first, ctx), rerun, ctx);
    const entries = record.custodyLog.filter((e) => e.stage === "transcode");
    expect(entries.map((e) => e.outputSha256)).toEqual([proxyRendition("a").sha256, proxyRendition("b").sha256]);
    expect(entries[1].detail).toContain(`reprocess ${request.id} (asked by ops@force.example: ffmpeg upgrade) attempt 1`);
  });

  test("the new renditions and provenance are shown; the replaced run's files and tools stay on the record, in either order", () => {
    const forward = applyStageResult(applyStageResult(base(), first, ctx), rerun, ctx);
    const backward = applyStageResult(applyStageResult(base(), rerun, ctx), first, ctx);
    expect(normalise(forward)).toEqual(normalise(backward));
    expect(forward.stages.transcode?.renditions).toEqual([proxyRendition("b")]);
    expect(forward.stages.transcode?.provenance?.tools.ffmpeg).toBe("ffmpeg version 7.1");
    expect(forward.stages.transcode?.superseded).toEqual([
      {
        resultKey: stageResultMessageId(first),
        startedAt: first.startedAt,
        finishedAt: first.finishedAt,
        renditions: [{ kind: "proxy", name: "proxy.mp4", path: `${EV}/transcode/proxy.mp4`, size: proxyRendition("a").size, sha256: proxyRendition("a").sha256 }],
        tools: { ffmpeg: "ffmpeg version test", ffprobe: "ffprobe version test" },
      },
    ]);
    // Applying either again changes nothing.
    expect(applyStageResult(forward, rerun, ctx)).toBe(forward);
    expect(applyStageResult(forward, first, ctx)).toBe(forward);
  });

  test("a second reprocess supersedes the first one, which is kept with its request id", () => {
    const later = { ...rerun, finishedAt: at(20), startedAt: at(19.5), reprocess: { ...request, id: "9d7e1c1a-0000-4000-8000-000000000002" }, renditions: [proxyRendition("c")] };
    const record = [first, later, rerun].reduce((r, m) => applyStageResult(r, m, ctx), base());
    expect(record.stages.transcode?.renditions).toEqual([proxyRendition("c")]);
    expect(record.stages.transcode?.superseded?.map((run) => [run.reprocessId, run.renditions[0].sha256])).toEqual([
      [undefined, proxyRendition("a").sha256],
      [request.id, proxyRendition("b").sha256],
    ]);
  });

  test("a reprocess that fails leaves the earlier renditions shown, and its failure in the log", () => {
    const failed = result("transcode", 1, "failed", { minute: 10, final: true, error: { code: "MediaToolCrashed", message: "ffmpeg was killed by SIGSEGV", retryable: false }, reprocess: request });
    const record = applyStageResult(applyStageResult(base(), first, ctx), failed, ctx);
    expect(record.stages.transcode).toMatchObject({ status: "succeeded", renditions: [proxyRendition("a")] });
    expect(record.stages.transcode?.superseded).toBeUndefined();
    expect(record.custodyLog.some((e) => e.action === "stage-failed" && e.detail?.includes(`reprocess ${request.id}`))).toBe(true);
  });

  describe("evidence-updated: a re-run of a recording already announced ready is announced", () => {
    const reprocessProxy = (tag: string, id = request.id): Rendition => ({ ...proxyRendition(tag), path: `${EV}/transcode/reprocess-${id}/proxy.mp4` });
    const announcedRerun = { ...rerun, renditions: [reprocessProxy("b")] };
    const decided = (record: EvidenceRecord) => applyFinalDecision(record, decideFinalState(record), ctx);
    const ready = () =>
      decided([result("hash", 1, "succeeded", { minute: 1 }), first, result("thumbnail", 1, "succeeded", { minute: 3, renditions: [] })].reduce((r, m) => applyStageResult(r, m, ctx), base()));

    test("once, naming the new renditions, the replaced ones, the request and the tools", () => {
      const before = ready();
      expect(before.finalEvent?.type).toBe("evidence-ready");
      const after = applyStageResult(before, announcedRerun, ctx);
      expect(after.updateEvents).toEqual([
        {
          messageId: `${EV}:updated:reprocess-${request.id}:transcode`,
          stage: "transcode",
          resultKey: stageResultMessageId(rerun),
          at: rerun.finishedAt,
          reprocess: request,
          renditions: [reprocessProxy("b")],
          replaced: [{ kind: "proxy", name: "proxy.mp4", container: "derived", path: `${EV}/transcode/proxy.mp4`, size: proxyRendition("a").size, sha256: proxyRendition("a").sha256 }],
          tools: { ffmpeg: "ffmpeg version 7.1", ffprobe: "ffprobe version 7.1" },
        },
      ]);
      expect(unpublishedUpdateEvents(after)).toHaveLength(1);
      // A redelivered result owes nothing more; publishing is noted once.
      expect(applyStageResult(after, announcedRerun, ctx)).toBe(after);
      const published = markEventPublished(after, after.updateEvents![0].messageId, at(11));
      expect(published.updateEvents![0].publishedAt).toBe(at(11));
      expect(unpublishedUpdateEvents(published)).toEqual([]);
      expect(markEventPublished(published, after.updateEvents![0].messageId, at(12))).toBe(published);
      // The event is what the published schema describes, and nothing more.
      const event = buildUpdatedEvent(published, published.updateEvents![0]);
      expect(eventDataProblems("org.custody.evidence.updated.v1", event.body, { closed: true })).toEqual([]);
      expect(event.messageId).toBe(`${EV}:updated:reprocess-${request.id}:transcode`);
      expect(event.applicationProperties).toMatchObject({ "cloudEvents:type": "org.custody.evidence.updated.v1", eventType: "org.custody.evidence.updated.v1", status: "ready", evidenceId: EV });
    });

    test("a second re-run is announced with the first re-run's renditions as the replaced ones", () => {
      const second = { ...announcedRerun, startedAt: at(19.5), finishedAt: at(20), reprocess: { ...request, id: "second-request" }, renditions: [reprocessProxy("c", "second-request")] };
      const record = [announcedRerun, second].reduce((r, m) => applyStageResult(r, m, ctx), ready());
      expect(record.updateEvents?.map((u) => [u.reprocess.id, u.replaced[0].sha256, u.renditions[0].sha256])).toEqual([
        [request.id, proxyRendition("a").sha256, proxyRendition("b").sha256],
        ["second-request", proxyRendition("b").sha256, proxyRendition("c").sha256],
      ]);
    });

    test("nothing is owed for a recording not announced ready yet, nor for a failed or a pipeline re-run", () => {
      // Not decided yet: the ready event will carry the re-run's renditions itself.
      expect(applyStageResult(applyStageResult(base(), first, ctx), announcedRerun, ctx).updateEvents).toBeUndefined();
      const failed = result("transcode", 1, "failed", { minute: 10, final: true, error: { code: "MediaToolCrashed", message: "ffmpeg was killed by SIGSEGV", retryable: false }, reprocess: request });
      expect(applyStageResult(ready(), failed, ctx).updateEvents).toBeUndefined();
      // A redelivery of the pipeline's own run (no request) replaces nothing downstream was told about.
      expect(applyStageResult(ready(), result("transcode", 2, "succeeded", { minute: 12, renditions: [proxyRendition("a")] }), ctx).updateEvents).toBeUndefined();
    });
  });

  test("a request id that could not be part of a message id is refused", () => {
    expect(isValidMessage("stage-result", { ...rerun, reprocess: { ...request, id: "a:b" } })).toBe(false);
    expect(isValidMessage("evidence-received", received({ reprocess: request }))).toBe(true);
    expect(isValidMessage("evidence-received", received({ reprocess: { ...request, requestedBy: "" } }))).toBe(false);
  });
});
