/**
 * disposal — a timer (NCRONTAB CUSTODY_DISPOSAL_SCHEDULE, default daily at 02:00 UTC) that sends
 * a `dispose` retention command for every recording whose retention has ended, whose category
 * disposes automatically and that no case holds (shared/stages/disposal-stage.ts), at most
 * CUSTODY_DISPOSAL_MAX per run, when CUSTODY_DISPOSAL_ENABLED is true (default false); the index
 * checks each again and deletes. It writes nothing
 * itself. Recordings past their retention but held, or waiting for a review, are counted in the
 * run's log line.
 *
 * Locally the dev host runs it every CUSTODY_DISPOSAL_INTERVAL_MS when that is set.
 */
import type { InvocationContext } from "@azure/functions";
import { sendDueDisposals } from "../shared/stages/disposal-stage";
import { ENTITIES } from "../shared/topology";
import { scheduleSetting, timerContextFor, type TimerFunctionDefinition } from "./invocation";
import { getServices } from "./services";

export const DISPOSAL_SCHEDULE_SETTING = "CUSTODY_DISPOSAL_SCHEDULE";
/** Daily at 02:00 UTC (NCRONTAB: second minute hour day month day-of-week). */
export const DEFAULT_DISPOSAL_SCHEDULE = "0 0 2 * * *";

export const disposalFunction: TimerFunctionDefinition = {
  kind: "timer",
  name: "disposal",
  schedule: (env) => scheduleSetting(env, DISPOSAL_SCHEDULE_SETTING, DEFAULT_DISPOSAL_SCHEDULE),
  localIntervalInMs: (settings) => settings.disposal.localIntervalInMs,
  handler: disposalHandler,
};

export async function disposalHandler(_timer: unknown, invocation: InvocationContext): Promise<void> {
  const context = timerContextFor(disposalFunction, invocation);
  const { audit, index, publisher, settings } = await getServices();
  if (!settings.disposal.enabled) {
    context.log.info("disposal is off (CUSTODY_DISPOSAL_ENABLED is not true): nothing requested");
    return;
  }
  const run = await sendDueDisposals({ index, publisher, audit, queue: ENTITIES.retentionCommands.queueName }, context, { maxPerRun: settings.disposal.maxPerRun });
  context.log.info("disposal run finished", {
    requested: run.sent.length,
    deferred: run.deferred,
    held: run.kept.filter((c) => c.status === "held").length,
    review: run.kept.filter((c) => c.status === "review").length,
    audit: run.audit,
  });
}
