/**
 * How the index records fixity checks: one custody log entry per check and one integrity
 * finding per (expected, actual), however often a result is delivered and in whatever order
 * the checks arrive; the latest check is shown; status and stages are untouched.
 */
import { fixityResultMessageId, stageResultMessageId } from "../../shared/contracts/message-ids";
import type { EvidenceReceivedMessage, FixityResultMessage, StageResultMessage } from "../../shared/contracts/messages";
import { isValidMessage } from "../../shared/contracts/validate";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { canonicalJson } from "../../shared/evidence/canonical-json";
import { applyEvidenceReceived, applyFinalDecision, applyFixityResult, applyStageResult, decideFinalState, newRecord, type MergeContext } from "../../shared/evidence/record-merge";

const EV = "ev-0123456789abcdef0123456789abcdef";
const SHA = "a".repeat(64);
const TAMPERED = "b".repeat(64);
const ctx: MergeContext = { nowIso: "2026-11-26T10:00:00.000Z", actor: "custody/index@test" };

function readyRecord(): EvidenceRecord {
  const received: EvidenceReceivedMessage = {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: EV,
    original: { account: "devstoreaccount1", container: "originals", name: "PC1/cam/clip.mp4", etag: '"0x1"', url: "https://example/originals/PC1/cam/clip.mp4", size: 12_000_000 },
    capture: { officerId: "PC1", deviceId: "cam", recordedAt: "2026-11-26T09:00:00+00:00" },
    acceptance: { status: "accepted" },
    uploadedAt: "2026-11-26T09:30:00.000Z",
    sourceEventId: "evt-1",
  };
  const hashed: StageResultMessage = {
    schemaVersion: 1,
    kind: "stage-result",
    evidenceId: EV,
    stage: "hash",
    attempt: 1,
    outcome: "succeeded",
    final: true,
    startedAt: "2026-11-26T09:31:00.000Z",
    finishedAt: "2026-11-26T09:32:00.000Z",
    actor: "custody/hash@test",
    hash: { sha256: SHA, size: 12_000_000, segmentSizeInBytes: 4_194_304, segmentSha256: ["1".repeat(64), "2".repeat(64), "3".repeat(64)] },
  };
  let record = applyEvidenceReceived(newRecord(EV, ["hash"], ctx.nowIso), received, ctx);
  record = applyStageResult(record, hashed, ctx);
  record = applyFinalDecision(record, decideFinalState(record), ctx);
  expect(record.status).toBe("ready");
  expect(record.custodyLog.map((e) => e.key)).toContain(stageResultMessageId(hashed));
  return record;
}

function check(checkedAt: string, status: FixityResultMessage["status"], overrides: Partial<FixityResultMessage> = {}): FixityResultMessage {
  const message: FixityResultMessage = {
    schemaVersion: 1,
    kind: "fixity-result",
    evidenceId: EV,
    status,
    checkedAt,
    actor: "custody/fixity-sample@test",
    sha256Expected: SHA,
    sizeExpected: 12_000_000,
  };
  if (status === "intact") Object.assign(message, { sha256Actual: SHA, sizeActual: 12_000_000, etagExpected: '"0x1"', etagActual: '"0x1"', etagChanged: false });
  if (status === "modified")
    Object.assign(message, {
      sha256Actual: TAMPERED,
      sizeActual: 12_000_000,
      differingSegments: [{ index: 2, offset: 8_388_608, length: 3_611_392 }],
      differingSegmentCount: 1,
      etagExpected: '"0x1"',
      etagActual: '"0x2"',
      etagChanged: true,
    });
  if (status === "missing") message.reason = "originals/PC1/cam/clip.mp4 does not exist any more";
  return { ...message, ...overrides };
}

/** The record without processing times (which differ by when, not what). */
function normalise(record: EvidenceRecord): string {
  const { updatedAt: _u, ...rest } = record;
  return canonicalJson({ ...rest, custodyLog: record.custodyLog.map(({ recordedAt: _r, ...entry }) => entry) });
}

function* permutations<T>(items: T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield items;
    return;
  }
  for (let i = 0; i < items.length; i++) for (const tail of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i], ...tail];
}

test("the messages are valid fixity-results", () => {
  for (const status of ["intact", "modified", "missing"] as const) expect(isValidMessage("fixity-result", check("2026-11-27T00:00:00.000Z", status))).toBe(true);
  // A modified result must say what it read; a missing one why.
  expect(isValidMessage("fixity-result", { ...check("2026-11-27T00:00:00.000Z", "modified"), sha256Actual: undefined })).toBe(false);
  expect(isValidMessage("fixity-result", { ...check("2026-11-27T00:00:00.000Z", "missing"), reason: undefined })).toBe(false);
});

test("a modified original: one custody log entry and one OriginalModified finding, even when delivered twice", () => {
  const before = readyRecord();
  const tampered = check("2026-11-27T03:00:00.000Z", "modified");
  const once = applyFixityResult(before, tampered, ctx);
  const twice = applyFixityResult(once, tampered, { ...ctx, nowIso: "2026-11-27T04:00:00.000Z" });
  expect(twice).toBe(once); // nothing changed: the index skips the write
  expect(once.status).toBe("ready");
  expect(once.stages).toEqual(before.stages);
  const entries = once.custodyLog.filter((e) => e.key === fixityResultMessageId(tampered));
  expect(entries).toEqual([expect.objectContaining({ action: "fixity-modified", at: tampered.checkedAt, actor: "custody/fixity-sample@test", inputSha256: SHA, outputSha256: TAMPERED })]);
  expect(entries[0].detail).toMatch(/^MODIFIED: segment 2 \(bytes 8388608–11999999\); sha256 a+ → b+; ETag changed from "0x1" to "0x2"$/);
  expect(once.integrityFindings).toEqual([
    expect.objectContaining({ code: "OriginalModified", at: tampered.checkedAt, expected: SHA, actual: TAMPERED, differingSegments: [{ index: 2, offset: 8_388_608, length: 3_611_392 }] }),
  ]);
  expect(once.fixity).toEqual({ lastCheckedAt: tampered.checkedAt, lastStatus: "modified", lastResultKey: fixityResultMessageId(tampered) });
});

test("a missing original: an OriginalMissing finding; an intact check: a log entry only", () => {
  const intact = applyFixityResult(readyRecord(), check("2026-11-27T01:00:00.000Z", "intact"), ctx);
  expect(intact.integrityFindings).toEqual([]);
  expect(intact.custodyLog.at(-1)).toMatchObject({ action: "fixity-intact" });
  const missing = applyFixityResult(intact, check("2026-11-28T01:00:00.000Z", "missing"), ctx);
  expect(missing.integrityFindings).toEqual([expect.objectContaining({ code: "OriginalMissing", expected: SHA, actual: "(missing)" })]);
  expect(missing.fixity?.lastStatus).toBe("missing");
});

test("any order of the same checks, with duplicates, gives the same record: latest check shown, earliest finding kept", () => {
  const checks = [
    check("2026-11-27T01:00:00.000Z", "intact"),
    check("2026-11-28T01:00:00.000Z", "modified"),
    // The same tampered bytes seen again a day later (another ETag: rewritten once more with the same content).
    check("2026-11-29T01:00:00.000Z", "modified", { etagActual: '"0x3"' }),
    check("2026-11-30T01:00:00.000Z", "missing"),
  ];
  const base = readyRecord();
  const results = new Set<string>();
  let sample: EvidenceRecord | undefined;
  for (const order of permutations([...checks, checks[1]])) {
    let record = base;
    for (const message of order) record = applyFixityResult(record, message, { ...ctx, nowIso: `2026-12-01T00:00:0${order.indexOf(message) % 10}.000Z` });
    results.add(normalise(record));
    sample = record;
  }
  expect(results.size).toBe(1);
  expect(sample!.fixity).toMatchObject({ lastCheckedAt: "2026-11-30T01:00:00.000Z", lastStatus: "missing" });
  expect(sample!.integrityFindings.map((f) => [f.code, f.at])).toEqual([
    ["OriginalModified", "2026-11-28T01:00:00.000Z"],
    ["OriginalMissing", "2026-11-30T01:00:00.000Z"],
  ]);
  expect(sample!.custodyLog.filter((e) => e.action.startsWith("fixity-")).map((e) => e.action)).toEqual(["fixity-intact", "fixity-modified", "fixity-modified", "fixity-missing"]);
});
