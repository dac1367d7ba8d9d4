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
