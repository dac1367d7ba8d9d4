/**
 * `custody status` text: a stage's error is current only while the stage has not succeeded
 * since. After a redrive (or a retry) that worked, the error the earlier deliveries left is
 * history: shown apart, with its attempt and time, never beside "succeeded" as if it were now.
 */
import { describeRecord } from "../../cli/commands/evidence";
import type { EvidenceRecord } from "../../shared/evidence/record";

const EVIDENCE_ID = "ev-0123456789abcdef0123456789abcdef";
const ERROR = { code: "Transient", message: "storage answered 503", retryable: true, at: "2026-11-26T08:10:00.000Z", attempt: 5 };

function record(stage: EvidenceRecord["stages"]["hash"], status: EvidenceRecord["status"]): EvidenceRecord {
  return {
    id: EVIDENCE_ID,
    evidenceId: EVIDENCE_ID,
    schemaVersion: 1,
    status,
    requiredStages: ["hash"],
    stages: { hash: stage },
    integrityFindings: [],
    custodyLog: [],
    createdAt: "2026-11-26T08:00:00.000Z",
    updatedAt: "2026-11-26T08:20:00.000Z",
  };
}

test("a stage that succeeded after failing shows the old error as an earlier failure, not as its last error", () => {
  const text = describeRecord(record({ status: "succeeded", attempts: 5, lastError: ERROR }, "ready"));
  const lines = text.split("\n");
  const stageLine = lines.find((l) => l.trim().startsWith("hash"))!;
  expect(stageLine).toBe("  hash       succeeded (attempts 5)");
  expect(lines[lines.indexOf(stageLine) + 1]).toBe("             earlier failure (attempt 5, 2026-11-26T08:10:00.000Z, before this outcome): Transient: storage answered 503");
});

test("a stage that failed shows its error as the last error", () => {
  const text = describeRecord(record({ status: "failed", attempts: 5, lastError: { ...ERROR, code: "UnsupportedMedia", message: "no video", retryable: false } }, "failed"));
  expect(text).toContain("  hash       failed (attempts 5) last error UnsupportedMedia: no video");
  expect(text).not.toContain("earlier failure");
});

test("a segment-parallel transcode shows its progress, the segment waiting for a retry and the one that failed, with their time ranges", () => {
  const base = record({ status: "succeeded", attempts: 1 }, "failed");
  const error = (code: string, message: string) => ({ code, message, retryable: code === "Transient", at: "2026-11-26T08:10:00.000Z", attempt: 1 });
  base.transcodeRuns = [
    {
      tag: "pipeline:0123456789ab",
      planId: "0123456789ab".padEnd(64, "0"),
      plan: {
        kind: "video",
        targetSeconds: 60,
        maxSide: 1280,
        segments: [
          { index: 0, startInMicroseconds: 0, endInMicroseconds: 60010667 },
          { index: 1, startInMicroseconds: 60010667, endInMicroseconds: 120021333 },
          { index: 2, startInMicroseconds: 120021333, endInMicroseconds: 170000000 },
        ],
      },
      streams: [{ index: 0, type: "video" }],
      planKeys: ["k"],
      round: 0,
      generation: 1,
      segments: [
        { index: 0, status: "succeeded", attempts: 1 },
        {
          index: 1,
          status: "pending",
          attempts: 1,
          lastError: error("Transient", "storage answered 503"),
          retry: { round: 0, firstFailedAt: "2026-11-26T08:10:00.000Z", lastFailedAt: "2026-11-26T08:10:00.000Z", nextAttemptAt: "2026-11-26T08:10:07.000Z" },
        },
        { index: 2, status: "failed", attempts: 1, lastError: error("UnsupportedMedia", "invalid data") },
      ],
      orders: { key: "o", round: 0, publishedAt: "2026-11-26T08:01:00.000Z" },
    },
  ];
  const text = describeRecord(base);
  expect(text).toContain("  segments   1/3 encoded (plan 0123456789ab, round 0)");
  expect(text).toContain("             waiting segment 2 of 3 (00:01:00.011–00:02:00.021): retry 1 due 2026-11-26T08:10:07.000Z (Transient: storage answered 503)");
  expect(text).toContain("             FAILED segment 3 of 3 (00:02:00.021–00:02:50.000): UnsupportedMedia: invalid data");
});

test("Content Credentials of the current images: signed with the key and folder, waiting for a retry with its cause, failed with why", () => {
  const thumbnail = {
    status: "succeeded" as const,
    attempts: 1,
    resultKey: "thumb-result",
    renditions: [{ kind: "poster" as const, name: "poster.jpg", container: "derived", path: `${EVIDENCE_ID}/thumbnail/poster.jpg`, contentType: "image/jpeg", size: 10, sha256: "1".repeat(64) }],
  };
  const run = {
    requestId: "f".repeat(64),
    sourceKey: "thumb-result",
    folder: `${EVIDENCE_ID}/thumbnail/c2pa-ffffffffffffffff/`,
    sources: [{ kind: "poster" as const, name: "poster.jpg", path: `${EVIDENCE_ID}/thumbnail/poster.jpg`, size: 10, sha256: "1".repeat(64) }],
    attempts: 2,
    order: { messageId: "order", round: 0, publishedAt: "2026-11-26T08:11:00.000Z" },
  };
  const withRun = (extra: object, status: EvidenceRecord["status"]): EvidenceRecord => ({
    ...record({ status: "succeeded", attempts: 1 }, status),
    requiredStages: ["hash", "thumbnail"],
    stages: { hash: { status: "succeeded", attempts: 1 }, thumbnail },
    contentCredentials: { required: true, runs: [{ ...run, status: "pending", ...extra }] },
  });
  expect(describeRecord(withRun({ status: "succeeded", keyId: "kid-1" }, "ready"))).toContain(`  c2pa       1 images signed (key kid-1) in ${EVIDENCE_ID}/thumbnail/c2pa-ffffffffffffffff/`);
  const retry = { firstFailedAt: "2026-11-26T08:12:00.000Z", round: 0, lastFailedAt: "2026-11-26T08:12:00.000Z", nextAttemptAt: "2026-11-26T08:13:00.000Z" };
  expect(describeRecord(withRun({ retry, lastError: ERROR }, "waiting"))).toContain(
    "  c2pa       waiting: retry 1 due 2026-11-26T08:13:00.000Z (failing since 2026-11-26T08:12:00.000Z; Transient: storage answered 503)",
  );
  expect(describeRecord(withRun({ status: "failed", lastError: { ...ERROR, code: "OutputVerificationFailed", message: "poster.jpg no longer matches" } }, "failed"))).toContain(
    "  c2pa       FAILED (attempts 2): OutputVerificationFailed: poster.jpg no longer matches",
  );
});
