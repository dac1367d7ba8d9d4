/**
 * `custody reconcile [--since T] [--stuck-after D] [--dry-run] [--json]` — the answer to a lost
 * Event Grid event: re-emits the BlobCreated event of originals with no index record and of
 * records stuck in `received` longer than D (default 1h). The work is
 * shared/stages/reconcile-stage.ts, which the reconcile timer function runs too; this command
 * prints it and writes an audit record (shared/ports/audit-log.ts) when it re-emitted anything.
 *
 * Every run is one operation: its id (the audit record's) is part of every message id it sends and
 * travels on to the evidence-received message ingest sends for it, so a re-announcement is never
 * taken for the first announcement (or an earlier reconcile) and dropped by duplicate detection
 * while reported "sent" (shared/stages/reconcile-stage.ts).
 *
 * Exit code 0 when nothing needed re-emitting or everything was re-emitted; 2 for usage or
 * infrastructure errors (a folder that could not be listed, an index read or a send that
 * failed — the others are still handled).
 */
import { randomUUID } from "node:crypto";
import * as os from "node:os";
import type { Command } from "commander";
import { silentLogger } from "../../shared/logging";
import { reconcile, type RebuiltItem, type ReconcileItem } from "../../shared/stages/reconcile-stage";
import { childTraceparent } from "../../shared/tracing";
import { ENTITIES } from "../../shared/topology";
import type { AuditRecord } from "../../shared/ports/audit-log";
import { durationInMs, since as sinceOption, targetCommand } from "../options";
import { EXIT_OK, EXIT_USAGE_OR_INFRASTRUCTURE } from "../exit-codes";
import { operatorOf, withOperations, type StackTarget } from "../stack-target";
import { printResult } from "../output";
import { printable } from "../../shared/text/printable";

interface ReconcileOptions {
  since?: string;
  stuckAfter: string;
  dryRun?: boolean;
  json?: boolean;
  dataDir: string;
}

export interface ReconcileResult {
  dryRun: boolean;
  id: string;
  /** The queue the events go to. */
  queue: string;
  since?: string;
  stuckAfter: string;
  /** Originals looked at and stuck records found. */
  scanned: { originals: number; stuck: number };
  count: number;
  items: ReconcileItem[];
  /** Records rebuilt from the custody ledger (the index had lost them): nothing re-hashed, nothing re-announced. */
  rebuilt: RebuiltItem[];
  /** Infrastructure errors (unlistable folders, failed reads); sends that failed are on their item. */
  errors: string[];
  /** The audit blob (`audit/…`), when the run re-emitted anything. */
  audit?: string;
}

export function registerReconcileCommand(program: Command): void {
  targetCommand(program, "reconcile", "Re-emit BlobCreated events for originals with no index record and for recordings stuck in a non-final state (audited).", "print the result as JSON")
    .option("--since <time>", "only originals last modified (and records created) at or after this ISO date/time, or this long ago (24h, 7d)")
    .option("--stuck-after <duration>", "a `received` record not changed for this long is stuck (30m, 12h, 7d)", "1h")
    .option("--dry-run", "list what would be re-emitted; send nothing")
    .action(async (options: ReconcileOptions) => {
      const since = options.since === undefined ? undefined : sinceOption(options.since);
      const stuckAfter = durationInMs(options.stuckAfter, "--stuck-after");
      const result = await withOperations(options, async (operations, target): Promise<ReconcileResult> => {
        const base: ReconcileResult = {
          dryRun: !!options.dryRun,
          id: randomUUID(),
          queue: ENTITIES.blobCreated.queueName,
          since: since?.toISOString(),
          stuckAfter: options.stuckAfter,
          scanned: { originals: 0, stuck: 0 },
          count: 0,
          items: [],
          rebuilt: [],
          errors: [],
        };
        const outcome = await reconcile(
          {
            catalog: target.services.blobs,
            index: target.services.index,
            ledger: { ledger: target.services.ledger, requiredStages: target.settings.requiredStages, retryPolicy: target.settings.retry },
            send: (messageId, event, applicationProperties) =>
              operations.send(ENTITIES.blobCreated.queueName, { messageId, body: event, contentType: "application/cloudevents+json; charset=utf-8", subject: event.type, applicationProperties }),
          },
          { actor: `custody/cli@${os.hostname()}`, attempt: 1, maxAttempts: 1, traceparent: childTraceparent(undefined), log: silentLogger },
          { operationId: base.id, originalsContainers: target.settings.acceptedContainers, since, stuckBefore: new Date(Date.now() - stuckAfter), dryRun: base.dryRun },
        );
        base.scanned = outcome.scanned;
        base.items = outcome.items;
        base.rebuilt = outcome.rebuilt;
        base.errors = outcome.errors;
        base.count = base.items.length;
        if (!base.dryRun && (base.items.some((i) => i.sent) || base.rebuilt.some((r) => r.written))) base.audit = await audit(target, base);
        return base;
      });
      printResult(options.json, result, () => format(result));
      const failed = result.errors.length > 0 || (!result.dryRun && (result.items.some((i) => !i.sent) || result.rebuilt.some((r) => !r.written)));
      process.exitCode = failed ? EXIT_USAGE_OR_INFRASTRUCTURE : EXIT_OK;
    });
}

async function audit(target: StackTarget, result: ReconcileResult): Promise<string> {
  const sent = result.items.filter((i) => i.sent);
  const failed = result.items.filter((i) => !i.sent);
  const record: AuditRecord = {
    id: result.id,
    action: "reconcile",
    who: await operatorOf(target),
    at: new Date().toISOString(),
    entity: result.queue,
    destination: result.queue,
    filter: { since: result.since, stuckAfter: result.stuckAfter },
    count: sent.length,
    messageIds: sent.map((i) => i.messageId),
    evidenceIds: [...new Set([...sent.map((i) => i.evidenceId), ...result.rebuilt.filter((r) => r.written).map((r) => r.evidenceId)])],
    ...(failed.length > 0 ? { error: `${failed.length} event(s) not sent: ${failed[0].error ?? "unknown error"}` } : {}),
  };
  return target.services.audit.write(record);
}

function format(result: ReconcileResult): string {
  const verb = result.dryRun ? "would re-emit" : "re-emitted";
  const sent = result.dryRun ? result.count : result.items.filter((i) => i.sent).length;
  const lines = [
    `reconcile: ${result.scanned.originals} original(s) checked, ${result.scanned.stuck} stuck record(s); ${result.rebuilt.length} record(s) ${result.dryRun ? "would be " : ""}rebuilt from the custody ledger; ${verb} ${sent} BlobCreated event(s) to ${result.queue}${result.dryRun ? " (dry run: nothing sent)" : ""}`,
  ];
  for (const i of result.items) {
    lines.push(`  ${i.evidenceId}  ${printable(i.blob)}  ${printable(i.reason)}${result.dryRun ? "" : i.sent ? "  sent" : `  NOT SENT: ${printable(i.error ?? "unknown error")}`}`);
  }
  for (const r of result.rebuilt) {
    lines.push(
      `  ${r.evidenceId}  ${printable(r.blob)}  ${result.dryRun ? "would be rebuilt" : r.written ? "rebuilt" : `NOT REBUILT: ${printable(r.error ?? "unknown error")}`} from the custody ledger (${r.entries} entries): ${r.status}`,
    );
  }
  for (const e of result.errors) lines.push(`  ERROR ${printable(e)}`);
  if (result.audit) lines.push(`Audit record: ${result.audit} (id ${result.id}); see \`custody audit\`.`);
  return lines.join("\n");
}
