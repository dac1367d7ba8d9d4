/**
 * reconcile — a timer (NCRONTAB CUSTODY_RECONCILE_SCHEDULE, default every 30 minutes) that
 * runs what `custody reconcile` runs (shared/stages/reconcile-stage.ts): originals with no index record, and records stuck in `received`, get their BlobCreated event
 * re-sent to the blob-created queue. This is what recovers a recording whose Event Grid event
 * was lost (Event Grid gave up, or its dead-letter was never replayed) without anyone noticing.
 *
 * Looks at originals modified in the last CUSTODY_RECONCILE_LOOKBACK_HOURS (default 72) — older
 * ones were checked by earlier runs; `custody reconcile` without --since checks them all — and
 * calls a record stuck after CUSTODY_RECONCILE_STUCK_AFTER_MINUTES (default 60) without change.
 * Every re-emitted event is one warning log line (evidence id, blob, reason, message id); the
 * ingest that follows writes the recording's custody log as for any event. A run that could
 * not check or send everything throws after doing the rest, so the host reports it failed.
 *
 * Locally the dev host runs it every CUSTODY_RECONCILE_INTERVAL_MS when that is set.
 */
import { randomUUID } from "node:crypto";
import type { InvocationContext } from "@azure/functions";
import { CustodyError } from "../shared/errors";
import { reconcile } from "../shared/stages/reconcile-stage";
import { ENTITIES } from "../shared/topology";
import { scheduleSetting, timerContextFor, type TimerFunctionDefinition } from "./invocation";
import { getServices } from "./services";

export const RECONCILE_SCHEDULE_SETTING = "CUSTODY_RECONCILE_SCHEDULE";
export const DEFAULT_RECONCILE_SCHEDULE = "0 */30 * * * *";

export const reconcileFunction: TimerFunctionDefinition = {
  kind: "timer",
  name: "reconcile",
  schedule: (env) => scheduleSetting(env, RECONCILE_SCHEDULE_SETTING, DEFAULT_RECONCILE_SCHEDULE),
  localIntervalInMs: (settings) => settings.reconcile.localIntervalInMs,
  handler: reconcileHandler,
};

export async function reconcileHandler(_timer: unknown, invocation: InvocationContext): Promise<void> {
  const context = timerContextFor(reconcileFunction, invocation);
  const { blobs, index, ledger, publisher, settings } = await getServices();
  const now = Date.now();
  const operationId = randomUUID();
  const outcome = await reconcile(
    {
      catalog: blobs,
      index,
      ledger: { ledger, requiredStages: settings.requiredStages, retryPolicy: settings.retry },
      send: (messageId, event, applicationProperties) =>
        publisher.publish(ENTITIES.blobCreated.queueName, { messageId, body: event, subject: event.type, correlationId: event.id, applicationProperties, traceparent: context.traceparent }),
    },
    context,
    {
      // Each run is its own operation: its re-announcements are never taken for an earlier run's.
      operationId,
      originalsContainers: settings.acceptedContainers,
      since: settings.reconcile.lookbackHours === 0 ? undefined : new Date(now - settings.reconcile.lookbackHours * 3600_000),
      stuckBefore: new Date(now - settings.reconcile.stuckAfterMinutes * 60_000),
    },
  );
  const failed = outcome.items.filter((i) => !i.sent);
  const counts = {
    operationId,
    originalsChecked: outcome.scanned.originals,
    stuck: outcome.scanned.stuck,
    rebuiltFromLedger: outcome.rebuilt.filter((r) => r.written).length,
    reemitted: outcome.items.length - failed.length,
    notSent: failed.length,
    errors: outcome.errors.length,
  };
  if (outcome.items.length > 0 || outcome.rebuilt.length > 0) context.log.warn("reconcile finished: recordings re-announced or rebuilt", counts);
  else context.log.info("reconcile finished: nothing missing", counts);
  if (failed.length > 0 || outcome.errors.length > 0) {
    throw new CustodyError(
      "Transient",
      `reconcile: ${failed.length} event(s) not sent, ${outcome.errors.length} check(s) not made (${[...failed.map((i) => `${i.evidenceId}: ${i.error ?? "?"}`), ...outcome.errors].slice(0, 5).join("; ")}); the next run tries again.`,
    );
  }
}
