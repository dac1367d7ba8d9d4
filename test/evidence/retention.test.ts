/**
 * Retention by category, pure: the schedule file, the state every recording starts with, and
 * what categorise / hold / release do to it — never shortened, holds per case, history and
 * custody log, applied once per command, refused with the reason.
 */
import type { EvidenceReceivedMessage, RetentionCommandMessage } from "../../shared/contracts/messages";
import { isValidMessage } from "../../shared/contracts/validate";
import { checkRetentionCommandClaim as checkRetentionClaim } from "../../shared/evidence/claim-checks";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { appendLogEntry, applyEvidenceReceived, newRecord } from "../../shared/evidence/record-merge";
import { RETENTION_SCHEDULE, applyRetentionCommand, checkSchedule, completeDisposal, periodEnd, retentionOf, storageDisposalVerdict } from "../../shared/evidence/retention";
import { isCustodyError } from "../../shared/errors";

const NOW = "2026-12-05T12:00:00.000Z";
const original = { account: "devstoreaccount1", container: "originals", name: "A123/cam7/rec.mp4", etag: '"0x8DD"', url: "https://example/originals/rec.mp4", size: 2048 };
const evidenceId = deriveEvidenceId(original);

function recorded(capturedAt = "2026-11-26T07:00:00Z"): EvidenceRecord {
  const message: EvidenceReceivedMessage = {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId,
    original,
    capture: { officerId: "PC1", deviceId: "BWV-1", recordedAt: capturedAt },
    acceptance: { status: "accepted" },
    uploadedAt: "2026-11-26T09:00:00Z",
    sourceEventId: "evt-1",
  };
  return applyEvidenceReceived(newRecord(evidenceId, ["hash", "transcode", "thumbnail"], "2026-11-26T09:00:01Z"), message, { nowIso: "2026-11-26T09:00:01Z", actor: "custody/index@test" });
}

let n = 0;
function command(action: RetentionCommandMessage["action"], extra: Partial<RetentionCommandMessage> = {}): RetentionCommandMessage {
  const body: RetentionCommandMessage = {
    schemaVersion: 1,
    kind: "retention-command",
    commandId: `cmd-${++n}`,
    evidenceId,
    action,
    reason: "reviewed by the evidence officer",
    requestedBy: "sgt.jones@force.example",
    requestedAt: "2026-12-05T11:59:00Z",
    source: "operator",
    ...extra,
  };
  expect(isValidMessage("retention-command", body)).toBe(true);
  return body;
}

function apply(record: EvidenceRecord, c: RetentionCommandMessage, nowIso = NOW): EvidenceRecord {
  checkRetentionClaim(record, c, Date.parse(nowIso));
  return applyRetentionCommand(record, c, { nowIso }, appendLogEntry);
}

test("the schedule file: a default category from capture, whole periods; a broken schedule is refused naming the problem", () => {
  expect(RETENTION_SCHEDULE.defaultCategory).toBe("non-evidential");
  expect(RETENTION_SCHEDULE.categories["non-evidential"]).toMatchObject({ retain: { days: 31 }, from: "capture", disposal: "automatic" });
  expect(Object.keys(RETENTION_SCHEDULE.categories)).toEqual(expect.arrayContaining(["evidential", "evidential-serious"]));
  const good = { defaultCategory: "a", categories: { a: { description: "", retain: { days: 1 }, from: "capture", disposal: "automatic" } } };
  expect(checkSchedule(good).defaultCategory).toBe("a");
  expect(() => checkSchedule({ ...good, defaultCategory: "b" })).toThrow(/default category "b" is not one of the categories/);
  expect(() => checkSchedule({ ...good, categories: { a: { ...good.categories.a, retain: { days: 0 } } } })).toThrow(/whole positive days or years/);
  expect(() => checkSchedule({ ...good, categories: { a: { ...good.categories.a, from: "categorised" } } })).toThrow(/default category's period must run from capture/);
  expect(() => checkSchedule({ ...good, categories: { A: good.categories.a } })).toThrow(/lower-case/);
});

test("periods: calendar years, then days", () => {
  expect(periodEnd("2026-11-26T07:00:00.000Z", { days: 31 })).toBe("2026-12-27T07:00:00.000Z");
  expect(periodEnd("2028-02-29T00:00:00.000Z", { years: 6 })).toBe("2034-03-01T00:00:00.000Z");
});

test("every recording starts non-evidential, kept 31 days from capture (the camera's time), from its own times only", () => {
  const record = recorded();
  expect(record.retention).toEqual({ category: "non-evidential", categorisedAt: "2026-11-26T09:00:00Z", retainUntil: "2026-12-27T07:00:00.000Z", disposal: "automatic", holds: [], history: [] });
  // A record from before retention existed gets the same default when read.
  const { retention, ...old } = record;
  expect(retentionOf(old as EvidenceRecord)).toEqual(retention);
});

test("categorised evidential: kept 6 years from now, then due for review; the history and the custody log say who, when, why", () => {
  const record = apply(recorded(), command("categorise", { category: "evidential", caseReference: "CASE-1" }));
  expect(record.retention).toMatchObject({ category: "evidential", categorisedAt: NOW, retainUntil: "2032-12-05T12:00:00.000Z", disposal: "review" });
  expect(record.retention!.history).toEqual([
    expect.objectContaining({
      action: "categorise",
      category: "evidential",
      previousCategory: "non-evidential",
      caseReference: "CASE-1",
      requestedBy: "sgt.jones@force.example",
      source: "operator",
      changed: true,
    }),
  ]);
  const entry = record.custodyLog.at(-1)!;
  expect(entry).toMatchObject({ key: `${evidenceId}:retention:cmd-${n}`, action: "retention-categorise", actor: "sgt.jones@force.example" });
  expect(entry.detail).toContain("category non-evidential → evidential; kept until 2032-12-05T12:00:00.000Z, then due for review");
});

test("never shortened: back to non-evidential keeps the later end; the same command twice changes the record once", () => {
  const evidential = apply(recorded(), command("categorise", { category: "evidential" }));
  const back = command("categorise", { category: "non-evidential" });
  const after = apply(evidential, back);
  expect(after.retention).toMatchObject({ category: "non-evidential", retainUntil: "2032-12-05T12:00:00.000Z", disposal: "automatic" });
  expect(after.custodyLog.at(-1)!.detail).toContain("is earlier: retention is never shortened");
  expect(apply(after, back, "2026-12-06T00:00:00.000Z")).toBe(after);
});

test("holds: one per case, a second for the same case recorded but changing nothing; release lifts only that case's; a release without a hold is refused", () => {
  let record = apply(recorded(), command("hold", { caseReference: "CASE-1" }));
  record = apply(record, command("hold", { caseReference: "CASE-2" }));
  record = apply(record, command("hold", { caseReference: "CASE-1", reason: "again" }));
  expect(record.retention!.holds.map((h) => h.caseReference)).toEqual(["CASE-1", "CASE-2"]);
  expect(record.retention!.history.map((h) => h.changed)).toEqual([true, true, false]);
  record = apply(record, command("release", { caseReference: "CASE-1" }));
  expect(record.retention!.holds.map((h) => h.caseReference)).toEqual(["CASE-2"]);
  expect(() => apply(record, command("release", { caseReference: "CASE-9" }))).toThrow(/no hold for case "CASE-9" to release/);
});

test("refused with the reason (dead-lettered): an unknown recording, an unknown category, a time in the future; a body without its required field is not a command", () => {
  const refusal = (f: () => unknown): string => {
    try {
      f();
    } catch (error) {
      if (isCustodyError(error) && error.code === "InvalidMessage" && !error.retryable) return error.message;
    }
    throw new Error("not refused");
  };
  expect(refusal(() => checkRetentionClaim(undefined, command("hold", { caseReference: "C" }), Date.parse(NOW)))).toContain("the index holds no recording with this id");
  expect(refusal(() => apply(recorded(), command("categorise", { category: "forever" })))).toContain(
    'no category "forever" in the retention schedule (non-evidential, evidential, evidential-serious)',
  );
  expect(refusal(() => apply(recorded(), command("hold", { caseReference: "C", requestedAt: "2026-12-05T13:00:00Z" })))).toContain("requestedAt 2026-12-05T13:00:00Z is in the future");
  expect(isValidMessage("retention-command", { ...command("hold", { caseReference: "C" }), caseReference: undefined })).toBe(false);
  expect(isValidMessage("retention-command", { ...command("categorise", { category: "evidential" }), category: undefined })).toBe(false);
});

test("dispose: refused while kept, while held, or for a reviewed category; accepted once retention ended with no hold — the record keeps a tombstone and takes no other command; a second dispose resumes", () => {
  const captured = recorded("2026-10-01T07:00:00Z"); // non-evidential: kept until 2026-11-01
  const refusal = (record: EvidenceRecord, c: RetentionCommandMessage, now = NOW): string => {
    try {
      apply(record, c, now);
    } catch (error) {
      if (isCustodyError(error) && error.code === "InvalidMessage") return error.message;
    }
    throw new Error("not refused");
  };
  const dispose = (extra: Partial<RetentionCommandMessage> = {}) => command("dispose", { requestedBy: "custody/disposal", source: "system", reason: "retention ended", ...extra });
  expect(refusal(recorded(), dispose())).toContain("it is kept until 2026-12-27T07:00:00.000Z");
  const held = apply(captured, command("hold", { caseReference: "CASE-1" }));
  expect(refusal(held, dispose())).toContain("it is held for CASE-1");
  const evidential = apply(captured, command("categorise", { category: "evidential" }));
  expect(refusal(evidential, dispose(), "2040-01-01T00:00:00.000Z")).toContain("is reviewed, not disposed of automatically");

  const released = apply(held, command("release", { caseReference: "CASE-1" }));
  const decided = apply(released, dispose());
  expect(decided.disposal).toEqual({
    state: "deleting",
    commandId: `cmd-${n}`,
    decidedAt: NOW,
    decidedBy: "custody/disposal",
    reason: "retention ended",
    category: "non-evidential",
    retainUntil: "2026-11-01T07:00:00.000Z",
  });
  expect(decided.custodyLog.at(-1)).toMatchObject({ action: "retention-dispose", actor: "custody/disposal" });
  expect(refusal(decided, command("hold", { caseReference: "CASE-2" }))).toContain("the recording was disposed of");
  const resumed = apply(decided, dispose({ reason: "resume" }));
  expect(resumed.disposal).toEqual(decided.disposal);
  expect(resumed.retention!.history.at(-1)).toMatchObject({ action: "dispose", changed: false });
  const done = completeDisposal(resumed, { original: "deleted", derivedVersions: 7 }, "2026-12-05T12:01:00.000Z");
  expect(done.disposal).toMatchObject({ state: "disposed", deletedAt: "2026-12-05T12:01:00.000Z", deleted: { original: "deleted", derivedVersions: 7 } });
  expect(completeDisposal(done, { original: "absent", derivedVersions: 0 }, "2026-12-06T00:00:00.000Z")).toBe(done);
});

describe("storage's answer to a disposal the record allows", () => {
  // Captured on the 1st, docked on the 10th: the category's 31 days end before the container default's (from upload).
  const record = { uploadedAt: "2026-11-10T08:00:00.000Z", createdAt: "2026-11-10T08:00:05.000Z" };
  const now = Date.parse("2026-12-05T00:00:00Z");

  test("nothing protects it, or its policy has run out: go", () => {
    expect(storageDisposalVerdict({ legalHold: false }, record, now)).toEqual({ verdict: "go" });
    expect(storageDisposalVerdict({ legalHold: false, immutableUntil: new Date("2026-12-04T23:59:59Z") }, record, now)).toEqual({ verdict: "go" });
  });

  test("under the container default that runs from upload: wait, nothing refused", () => {
    const containerDefaultEnd = periodEnd(record.uploadedAt, { days: 31 });
    expect(storageDisposalVerdict({ legalHold: false, immutableUntil: new Date(containerDefaultEnd) }, record, now)).toEqual({ verdict: "wait", until: containerDefaultEnd });
  });

  test("a legal hold, or a policy longer than the container default explains: refuse, naming it", () => {
    expect(storageDisposalVerdict({ legalHold: true }, record, now)).toEqual({ verdict: "refuse", why: "a legal hold" });
    expect(storageDisposalVerdict({ legalHold: false, immutableUntil: new Date("2027-01-20T00:00:00Z") }, record, now)).toEqual({
      verdict: "refuse",
      why: "a retention policy until 2027-01-20T00:00:00.000Z",
    });
  });
});
