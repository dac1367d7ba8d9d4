/**
 * A scenario's outcome: the figures of its table row, measured from the index and the events
 * subscription, and the checks of what must hold — each one held or not, with the figure that
 * says so. Pure: the scenarios gather the inputs.
 */
import type { EvidenceRecord } from "../shared/evidence/record";
import { isFinal, type TappedEvent, type Upload } from "./harness";

export interface Check {
  what: string;
  held: boolean;
  /** The figure behind a check that did not hold. */
  detail?: string;
}

export interface ScenarioOutcome {
  scenario: string;
  uploads: number;
  ready: number;
  failed: number;
  rejected: number;
  /** `failed` records whose failing stage's last error was retryable (a transient cause). */
  failedTransient: number;
  /** Records for the uploads' originals beyond one per original. */
  duplicateRecords: number;
  /** Evidence events per recording beyond one. */
  duplicateEvents: number;
  /** Uploads without a final record at the end (no record at all counts). */
  stuck: number;
  /** Evidence events whose fingerprint (`original.sha256`) is not the record's, or missing though the record has one. */
  eventFingerprintMismatches: number;
  /** Messages dead-lettered on the pipeline's entities at the end. */
  deadLettered: number;
  /** From the scenario's reference moment (`since`) to the last final event's confirmation. */
  timeToLastFinalInMs?: number;
  since: string;
  checks: Check[];
  /** Anything else worth a line in the table (seed, kill times, cut mode). */
  notes: string[];
}

export interface MeasureInput {
  scenario: string;
  uploads: readonly Upload[];
  records: ReadonlyMap<string, EvidenceRecord>;
  events: readonly TappedEvent[];
  deadLettered: number;
  /** Reference moment for the time to the last final event (epoch ms) and its name. */
  since: { at: number; label: string };
  /**
   * Count events by distinct message id: with the emulator's duplicate delivery on, the
   * subscription itself holds every event twice (as subscribers see at-least-once delivery;
   * they dedupe on the CloudEvents id).
   */
  distinctEventIds?: boolean;
}

export function measure(input: MeasureInput): Omit<ScenarioOutcome, "checks" | "notes"> {
  const byName = new Map<string, EvidenceRecord[]>();
  for (const record of input.records.values()) {
    const name = record.original?.name;
    if (name === undefined) continue;
    byName.set(name, [...(byName.get(name) ?? []), record]);
  }
  let ready = 0,
    failed = 0,
    rejected = 0,
    failedTransient = 0,
    stuck = 0,
    duplicateRecords = 0,
    duplicateEvents = 0,
    eventFingerprintMismatches = 0;
  let lastFinal: number | undefined;
  for (const upload of input.uploads) {
    const record = input.records.get(upload.evidenceId);
    duplicateRecords += Math.max(0, (byName.get(upload.blobName) ?? []).filter((r) => r.evidenceId !== upload.evidenceId).length);
    const events = input.events.filter((event) => event.subject === upload.evidenceId);
    const count = input.distinctEventIds ? new Set(events.map((event) => event.messageId)).size : events.length;
    duplicateEvents += Math.max(0, count - 1);
    const sha256 = record?.hash?.sha256;
    if (sha256 !== undefined) eventFingerprintMismatches += events.filter((event) => event.sha256 !== sha256).length;
    if (!record || !isFinal(record)) {
      stuck++;
      continue;
    }
    if (record.status === "ready") ready++;
    else if (record.status === "rejected") rejected++;
    else {
      failed++;
      if (failedForTransientCause(record)) failedTransient++;
    }
    const publishedAt = Date.parse(record.finalEvent!.publishedAt!);
    lastFinal = lastFinal === undefined ? publishedAt : Math.max(lastFinal, publishedAt);
  }
  return {
    scenario: input.scenario,
    uploads: input.uploads.length,
    ready,
    failed,
    rejected,
    failedTransient,
    duplicateRecords,
    duplicateEvents,
    stuck,
    eventFingerprintMismatches,
    deadLettered: input.deadLettered,
    timeToLastFinalInMs: lastFinal === undefined ? undefined : lastFinal - input.since.at,
    since: input.since.label,
  };
}

/** A failed stage whose last error the pipeline itself classed as retryable. */
export function failedForTransientCause(record: EvidenceRecord): boolean {
  return record.status === "failed" && Object.values(record.stages).some((stage) => stage?.status === "failed" && stage.lastError?.retryable === true);
}

/** The checks every upload scenario makes: all final, none failed for a transient cause, no duplicates. */
export function standardChecks(figures: Omit<ScenarioOutcome, "checks" | "notes">, options: { allReady?: boolean } = {}): Check[] {
  const finals = figures.ready + figures.failed + figures.rejected;
  const checks: Check[] = [
    { what: `${figures.uploads} final`, held: figures.stuck === 0, detail: `${finals} final, ${figures.stuck} stuck` },
    { what: "none failed for a transient cause", held: figures.failedTransient === 0, detail: `${figures.failedTransient} failed for a transient cause` },
    { what: "0 duplicate records", held: figures.duplicateRecords === 0, detail: `${figures.duplicateRecords} duplicate records` },
    { what: "0 duplicate events", held: figures.duplicateEvents === 0, detail: `${figures.duplicateEvents} duplicate events` },
    { what: "every event carries the record's fingerprint", held: figures.eventFingerprintMismatches === 0, detail: `${figures.eventFingerprintMismatches} events without it or with another` },
  ];
  // The clips are good media: anything but ready is a failure the faults caused.
  if (options.allReady) checks.push({ what: "all ready", held: figures.ready === figures.uploads, detail: `${figures.ready} ready, ${figures.failed} failed` });
  return checks;
}

export function passed(outcome: Pick<ScenarioOutcome, "checks">): boolean {
  return outcome.checks.every((check) => check.held);
}
