/**
 * Retention by category: the schedule (retention/schedule.json — one file the app, the CLI,
 * Bicep and the docs read), a recording's retention state on its record, and how a retention
 * command (shared/contracts/messages.ts RETENTION_COMMAND_SCHEMA) changes it. Pure.
 *
 * - Every recording starts in the schedule's default category (`non-evidential`: 31 days from
 *   capture), set when the index records its upload.
 * - `categorise` puts it in a category; the end of its retention is the category's period from
 *   the capture or from now, but **never earlier than it was** — a shorter category does not
 *   bring disposal forward (storage policies are never shortened either). Categorising again in
 *   the same category is a review: a period that runs from categorisation starts again.
 * - `hold` places a legal hold for a case (one per case; a second hold for the same case is
 *   recorded in the history and changes nothing else); `release` lifts that case's hold — a
 *   release for a case with no hold is refused. While any hold remains, nothing is disposed.
 * - `dispose` (the disposal timer's) is accepted only when the category disposes automatically,
 *   the retention has ended and no hold remains; it marks the record `disposal: deleting` — the
 *   index then deletes the blobs and marks it `disposed` (a tombstone: fingerprint, category, who
 *   decided, when, why). A disposed recording takes no other command.
 * - Every accepted command is in the history (who, when, why, case, source) and the custody log,
 *   keyed by its command id: delivered twice, it changes the record once.
 */
import scheduleFile from "../../retention/schedule.json";
import type { RetentionCommandMessage } from "../contracts/messages";
import { evidenceDisposedMessageId, retentionCommandMessageId } from "../contracts/message-ids";
import { CustodyError } from "../errors";
import type { CustodyLogEntry, EvidenceRecord } from "./record";
import type { DisposalState, RetentionChange, RetentionState } from "./retention-state";

export type { DisposalState, RetentionChange, RetentionHold, RetentionState } from "./retention-state";

export interface RetentionPeriod {
  days?: number;
  years?: number;
}

export interface RetentionCategory {
  description: string;
  retain: RetentionPeriod;
  /** Where the period starts: the capture time, or when the recording was put in the category. */
  from: "capture" | "categorised";
  /** At the end: deleted (`automatic`, unless held) or reported as due for a person's review. */
  disposal: RetentionState["disposal"];
}

export interface RetentionSchedule {
  defaultCategory: string;
  categories: Record<string, RetentionCategory>;
}

export const RETENTION_SCHEDULE: RetentionSchedule = checkSchedule(scheduleFile);

/** The schedule file checked: a default category that exists, whole positive periods, known starts and disposals. */
export function checkSchedule(raw: unknown): RetentionSchedule {
  const fail = (why: string): never => {
    throw new CustodyError("InvalidConfiguration", `retention/schedule.json: ${why}`);
  };
  if (typeof raw !== "object" || raw === null) return fail("not an object");
  const { defaultCategory, categories } = raw as Partial<RetentionSchedule>;
  if (typeof categories !== "object") return fail("no categories");
  for (const [name, category] of Object.entries(categories)) {
    if (!/^[a-z][a-z0-9-]{0,63}$/.test(name)) fail(`category name ${JSON.stringify(name)} is not lower-case letters, digits and dashes`);
    const { days, years } = category.retain;
    const whole = (n: number | undefined) => n === undefined || (Number.isSafeInteger(n) && n > 0);
    if ((days === undefined && years === undefined) || !whole(days) || !whole(years)) fail(`${name}: retain needs whole positive days or years`);
    if (category.from !== "capture" && category.from !== "categorised") fail(`${name}: from must be capture or categorised`);
    if (category.disposal !== "automatic" && category.disposal !== "review") fail(`${name}: disposal must be automatic or review`);
  }
  if (typeof defaultCategory !== "string" || !(defaultCategory in categories)) fail(`the default category ${JSON.stringify(defaultCategory)} is not one of the categories`);
  if (categories[defaultCategory as string].from !== "capture") fail("the default category's period must run from capture");
  return { defaultCategory: defaultCategory as string, categories };
}

/** `startIso` plus the period (calendar years, then days), ISO 8601. */
export function periodEnd(startIso: string, period: RetentionPeriod): string {
  const end = new Date(startIso);
  if (period.years !== undefined) end.setUTCFullYear(end.getUTCFullYear() + period.years);
  if (period.days !== undefined) end.setUTCDate(end.getUTCDate() + period.days);
  return end.toISOString();
}

/** When the recording was made: the camera's time when ingest accepted it, else the upload. */
export function captureTime(record: Pick<EvidenceRecord, "capture" | "uploadedAt" | "createdAt">): string {
  const recordedAt = record.capture?.recordedAt;
  return recordedAt !== undefined && Number.isFinite(Date.parse(recordedAt)) ? new Date(recordedAt).toISOString() : (record.uploadedAt ?? record.createdAt);
}

/** The state a recording starts with: the default category from its upload, the period from capture (both the recording's own times, so the state does not depend on when or in which order messages were processed). */
export function initialRetention(record: Pick<EvidenceRecord, "capture" | "uploadedAt" | "createdAt">, schedule: RetentionSchedule = RETENTION_SCHEDULE): RetentionState {
  const category = schedule.categories[schedule.defaultCategory];
  return {
    category: schedule.defaultCategory,
    categorisedAt: record.uploadedAt ?? record.createdAt,
    retainUntil: periodEnd(captureTime(record), category.retain),
    disposal: category.disposal,
    holds: [],
    history: [],
  };
}

/** The record's retention, or what it would start with (a record from before retention existed). */
export function retentionOf(record: EvidenceRecord, schedule: RetentionSchedule = RETENTION_SCHEDULE): RetentionState {
  return record.retention ?? initialRetention(record, schedule);
}

/**
 * Refuses a command that cannot be applied, naming why (dead-lettered with that reason): an
 * unknown recording or category, a release for a case with no hold.
 */
export function checkRetentionCommand(record: EvidenceRecord | undefined, command: RetentionCommandMessage, nowInMs: number, schedule: RetentionSchedule = RETENTION_SCHEDULE): void {
  const refuse = (why: string): never => {
    throw new CustodyError("InvalidMessage", `retention command ${command.commandId} refused for ${command.evidenceId}: ${why}`, { retryable: false });
  };
  if (record?.original === undefined) return refuse("the index holds no recording with this id");
  if (command.action === "categorise" && !(String(command.category) in schedule.categories)) {
    refuse(`there is no category ${JSON.stringify(command.category)} in the retention schedule (${Object.keys(schedule.categories).join(", ")})`);
  }
  if (isApplied(record, command)) return;
  if (record.disposal !== undefined) {
    // A second dispose resumes the one decided (a restart in the middle of it); nothing else applies to a disposed recording.
    if (command.action === "dispose") return;
    refuse(`the recording was disposed of (${record.disposal.decidedAt}, ${record.disposal.state})`);
  }
  const state = retentionOf(record, schedule);
  if (command.action === "release" && !state.holds.some((h) => h.caseReference === command.caseReference)) {
    refuse(`there is no hold for case ${JSON.stringify(command.caseReference)} to release`);
  }
  if (command.action === "dispose") {
    const why = disposalRefusal(state, nowInMs);
    if (why !== undefined) refuse(why);
  }
}

/** Why a recording may not be disposed of now, or undefined when it may: its category disposes automatically, its retention has ended, no hold remains. */
export function disposalRefusal(state: RetentionState, nowInMs: number): string | undefined {
  if (state.disposal !== "automatic") return `its category (${state.category}) is reviewed, not disposed of automatically`;
  if (Date.parse(state.retainUntil) > nowInMs) return `it is kept until ${state.retainUntil}`;
  if (state.holds.length > 0) return `it is held for ${state.holds.map((h) => h.caseReference).join(", ")}`;
  return undefined;
}

/** What storage says of the original, as disposal needs it (the retention store's protection). */
export interface StorageProtection {
  legalHold: boolean;
  immutableUntil?: Date;
}

/** Storage's answer to a disposal the record allows: go ahead, wait (the container default has not run out yet), or refuse (something else protects it). */
export type StorageDisposalVerdict = { verdict: "go" } | { verdict: "wait"; until: string } | { verdict: "refuse"; why: string };

/** Slack for the service's clock and whole-second policy times when telling the container default from another policy. */
const DEFAULT_POLICY_SLACK_IN_MS = 24 * 60 * 60 * 1000;

/**
 * Whether storage lets a recording the record allows be disposed of. Azure's container default
 * runs from each version's upload while the default category runs from capture, so a recording
 * docked days after it was made is still under the container default when its own retention
 * ends: that is expected — wait (the disposal timer asks again on a later run). A legal hold, or
 * a policy beyond what the container default explains (set out of band), is not: refuse with
 * the reason, for a person to find out why.
 */
export function storageDisposalVerdict(
  protection: StorageProtection,
  record: Pick<EvidenceRecord, "uploadedAt" | "createdAt">,
  nowInMs: number,
  schedule: RetentionSchedule = RETENTION_SCHEDULE,
): StorageDisposalVerdict {
  if (protection.legalHold) return { verdict: "refuse", why: "a legal hold" };
  const until = protection.immutableUntil;
  if (until === undefined || until.getTime() <= nowInMs) return { verdict: "go" };
  const defaultEnd = Date.parse(periodEnd(record.uploadedAt ?? record.createdAt, schedule.categories[schedule.defaultCategory].retain));
  if (until.getTime() <= defaultEnd + DEFAULT_POLICY_SLACK_IN_MS) return { verdict: "wait", until: until.toISOString() };
  return { verdict: "refuse", why: `a retention policy until ${until.toISOString()}` };
}

function isApplied(record: EvidenceRecord, command: RetentionCommandMessage): boolean {
  const key = retentionCommandMessageId(command);
  return record.custodyLog.some((entry) => entry.key === key);
}

/**
 * The record with the command applied (the record itself when it was applied before). Call
 * {@link checkRetentionCommand} first. `append` adds the custody log entry.
 */
/** The record with its disposal complete: what was deleted, and when (no-op unless it is `deleting`). */
export function completeDisposal(record: EvidenceRecord, deleted: NonNullable<DisposalState["deleted"]>, nowIso: string): EvidenceRecord {
  if (record.disposal?.state !== "deleting") return record;
  const next = structuredClone(record);
  // The event downstream is owed from now on (published after this is stored; a crash re-sends the same id).
  next.disposal = { ...record.disposal, state: "disposed", deletedAt: nowIso, deleted: { ...deleted }, event: { messageId: evidenceDisposedMessageId(record.evidenceId) } };
  next.updatedAt = nowIso;
  return next;
}

export function applyRetentionCommand(
  record: EvidenceRecord,
  command: RetentionCommandMessage,
  context: { nowIso: string },
  append: (record: EvidenceRecord, entry: CustodyLogEntry) => void,
  schedule: RetentionSchedule = RETENTION_SCHEDULE,
): EvidenceRecord {
  if (isApplied(record, command)) return record;
  const next = structuredClone(record);
  const state = structuredClone(retentionOf(next, schedule));
  const change: RetentionChange = {
    commandId: command.commandId,
    action: command.action,
    requestedAt: command.requestedAt,
    recordedAt: context.nowIso,
    requestedBy: command.requestedBy,
    source: command.source ?? "system",
    reason: command.reason,
    changed: true,
  };
  if (command.caseReference !== undefined) change.caseReference = command.caseReference;
  let detail: string;
  // The schema requires a category for categorise and a case for hold and release.
  const caseReference = command.caseReference ?? "";
  if (command.action === "categorise") {
    const name = command.category ?? "";
    const category = schedule.categories[name];
    const start = category.from === "capture" ? captureTime(next) : context.nowIso;
    const end = periodEnd(start, category.retain);
    change.previousCategory = state.category;
    change.category = name;
    const retainUntil = end > state.retainUntil ? end : state.retainUntil;
    change.changed = name !== state.category || retainUntil !== state.retainUntil || category.disposal !== state.disposal;
    state.category = name;
    state.categorisedAt = context.nowIso;
    state.retainUntil = retainUntil;
    state.disposal = category.disposal;
    change.retainUntil = retainUntil;
    detail = `category ${change.previousCategory} → ${name}; kept until ${retainUntil}${end < retainUntil ? ` (the category's own end, ${end}, is earlier: retention is never shortened)` : ""}, then ${category.disposal === "automatic" ? "disposed of unless held" : "due for review"}`;
  } else if (command.action === "hold") {
    if (state.holds.some((h) => h.caseReference === caseReference)) {
      change.changed = false;
      detail = `hold for case ${caseReference} already in force`;
    } else {
      state.holds.push({ caseReference, placedAt: context.nowIso, placedBy: command.requestedBy, reason: command.reason, commandId: command.commandId });
      detail = `legal hold placed for case ${caseReference} (${state.holds.length} in force)`;
    }
  } else if (command.action === "release") {
    state.holds = state.holds.filter((h) => h.caseReference !== caseReference);
    detail = `legal hold for case ${caseReference} released (${state.holds.length} still in force)`;
  } else if (next.disposal === undefined) {
    next.disposal = {
      state: "deleting",
      commandId: command.commandId,
      decidedAt: context.nowIso,
      decidedBy: command.requestedBy,
      reason: command.reason,
      category: state.category,
      retainUntil: state.retainUntil,
      ...(next.hash === undefined ? {} : { sha256: next.hash.sha256 }),
    };
    detail = `disposal decided: kept until ${state.retainUntil} (${state.category}), no hold; the original and every rendition are deleted`;
  } else {
    change.changed = false;
    detail = `disposal decided earlier (${next.disposal.decidedAt}) resumed`;
  }
  state.history.push(change);
  next.retention = state;
  append(next, {
    key: retentionCommandMessageId(command),
    at: command.requestedAt,
    recordedAt: context.nowIso,
    actor: command.requestedBy,
    action: `retention-${command.action}`,
    detail: `${detail}. Reason: ${command.reason}${command.source === "operator" ? " (operator)" : ""}`,
  });
  next.updatedAt = context.nowIso;
  return next;
}
