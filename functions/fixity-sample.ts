/**
 * fixity-sample — a timer (NCRONTAB CUSTODY_FIXITY_SCHEDULE, default hourly "0 0 * * * *")
 * that re-hashes a sample of originals and compares them with the hashes recorded at ingest
 * (shared/stages/fixity-stage.ts): CUSTODY_FIXITY_SAMPLE recordings per run (default 10),
 * oldest-checked first, skipping any checked in the last CUSTODY_FIXITY_RECHECK_HOURS.
 *
 * It does not write the index (only the index function does): each result is logged as one
 * structured line (error level for a modified or missing original) and sent to the
 * stage-results queue as a `fixity-result` message, which the index function records — a
 * custody log entry, the latest check, and an OriginalModified / OriginalMissing integrity
 * finding. A run that fails for some recordings (storage unreachable) throws after trying the
 * others, so the host reports the run as failed; the next run picks those recordings again
 * (they are still the oldest-checked).
 *
 * Locally the dev host runs it every CUSTODY_FIXITY_INTERVAL_MS when that is set; otherwise
 * `custody verify` is the way to check originals.
 */
import type { InvocationContext } from "@azure/functions";
import { CustodyError } from "../shared/errors";
import { runFixitySample } from "../shared/stages/fixity-stage";
import { ENTITIES } from "../shared/topology";
import { scheduleSetting, timerContextFor, type TimerFunctionDefinition } from "./invocation";
import { getServices } from "./services";

export const FIXITY_SCHEDULE_SETTING = "CUSTODY_FIXITY_SCHEDULE";
/** Hourly, on the hour (NCRONTAB: second minute hour day month day-of-week). */
export const DEFAULT_FIXITY_SCHEDULE = "0 0 * * * *";

export const fixitySampleFunction: TimerFunctionDefinition = {
  kind: "timer",
  name: "fixity-sample",
  schedule: fixitySchedule,
  localIntervalInMs: (settings) => settings.fixity.localIntervalInMs,
  handler: fixitySampleHandler,
};

/** The NCRONTAB schedule from the settings (see scheduleSetting). */
export function fixitySchedule(env: Record<string, string | undefined> = process.env): string {
  return scheduleSetting(env, FIXITY_SCHEDULE_SETTING, DEFAULT_FIXITY_SCHEDULE);
}

export async function fixitySampleHandler(_timer: unknown, invocation: InvocationContext): Promise<void> {
  const context = timerContextFor(fixitySampleFunction, invocation);
  const { index, blobs, publisher, ledger, settings } = await getServices();
  const outcome = await runFixitySample({ index, blobs, publisher, resultsQueue: ENTITIES.stageResults.queueName, ledger: { ledger, requiredStages: settings.requiredStages } }, context, {
    sampleSize: settings.fixity.sampleSize,
    recheckAfterMs: settings.fixity.recheckAfterHours * 3600_000,
  });
  const counts = { checked: outcome.reports.length, intact: 0, modified: 0, missing: 0, unverifiable: 0, errors: outcome.errors.length };
  for (const report of outcome.reports) counts[report.status] += 1;
  if (counts.modified + counts.missing > 0) context.log.error("fixity sample finished: originals changed or missing", counts);
  else context.log.info("fixity sample finished", counts);
  if (outcome.errors.length > 0) {
    throw new CustodyError(
      "Transient",
      `fixity sample: ${outcome.errors.length} check(s) could not be made (${outcome.errors.map((e) => `${e.evidenceId}: ${e.code}`).join(", ")}); the next run tries them again.`,
    );
  }
}
