/**
 * `custody dlq redrive` and `custody dlq purge`: the commands that change a dead-letter queue.
 * The work — copies with fresh ids, completing a dead-letter only once its copy was accepted,
 * counts, the audit record — is shared/operations/redrive.ts; this file reads the options and
 * prints the result.
 */
import type { Command } from "commander";
import { purge, redrive, type DeadLetterChangeDeps, type DeadLetterChangeResult } from "../../shared/operations/redrive";
import type { QueueOperations } from "../../shared/ports/queue-operations";
import { EXIT_OK } from "../exit-codes";
import { durationInMs, positiveInteger, positiveNumber, receivableEntity } from "../options";
import { printResult } from "../output";
import { progressBar } from "../progress";
import { DEFAULT_DATA_DIR, operatorOf, withOperations, type StackTarget } from "../stack-target";
import { entityName } from "../../shared/topology";
import { printable } from "../../shared/text/printable";

interface CommonOptions {
  dataDir: string;
  json?: boolean;
  reasonLike?: string;
  evidence?: string;
  dryRun?: boolean;
}

interface RedriveCommandOptions extends CommonOptions {
  max?: string;
  rate?: string;
}

interface PurgeCommandOptions extends CommonOptions {
  olderThan?: string;
  yes?: boolean;
}

function changeDeps(operations: QueueOperations, target: StackTarget, action: string, json: boolean | undefined): DeadLetterChangeDeps {
  return {
    operations,
    audit: target.services.audit,
    operator: () => operatorOf(target),
    startProgress: (total) => progressBar(!json, `${action} [{bar}] {value}/{total}`, total),
  };
}

export function registerDlqChangeCommands(dlq: Command): void {
  dlq
    .command("redrive <entity>")
    .description("Send matching dead-lettered messages back to the queue, or only the subscription, they failed in (audited).")
    .option("--reason-like <pattern>", "only messages whose dead-letter reason or description matches (case-insensitive glob * ? or substring)")
    .option("--evidence <id>", "only messages of this evidence id")
    .option("--max <n>", "at most this many messages")
    .option("--rate <n>", "at most this many messages per second")
    .option("--dry-run", "peek only: print what would move, change nothing")
    .option("--data-dir <dir>", "data folder of a running `custody start` (else the settings in the environment)", DEFAULT_DATA_DIR)
    .option("--json", "print the result as JSON")
    .action(async (name: string, options: RedriveCommandOptions) => {
      const entity = receivableEntity(name);
      const max = options.max === undefined ? undefined : positiveInteger(options.max, "--max");
      const rate = options.rate === undefined ? undefined : positiveNumber(options.rate, "--rate");
      const result = await withOperations(options, (operations, target) =>
        redrive(changeDeps(operations, target, "redrive", options.json), entity, { reasonLike: options.reasonLike, evidenceId: options.evidence, max, rate, dryRun: options.dryRun }),
      );
      printResult(options.json, result, () => formatChange(result));
      process.exitCode = EXIT_OK;
    });

  dlq
    .command("purge <entity>")
    .description("Delete matching dead-lettered messages for good (audited); requires --yes (or --dry-run to see what would go).")
    .option("--reason-like <pattern>", "only messages whose dead-letter reason or description matches (case-insensitive glob * ? or substring)")
    .option("--evidence <id>", "only messages of this evidence id")
    .option("--older-than <duration>", "only messages enqueued longer ago than this (30m, 12h, 7d)")
    .option("--dry-run", "peek only: print what would be deleted, change nothing")
    .option("--yes", "really delete them")
    .option("--data-dir <dir>", "data folder of a running `custody start` (else the settings in the environment)", DEFAULT_DATA_DIR)
    .option("--json", "print the result as JSON")
    .action(async (name: string, options: PurgeCommandOptions) => {
      const entity = receivableEntity(name);
      const olderThanInMs = options.olderThan === undefined ? undefined : durationInMs(options.olderThan, "--older-than");
      if (!options.yes && !options.dryRun) {
        throw new Error(`purge deletes dead-lettered messages of ${entityName(entity)} for good: add --yes to confirm, or --dry-run to see what would go (see \`custody dlq peek ${entityName(entity)}\` first).`);
      }
      const result = await withOperations(options, (operations, target) =>
        purge(changeDeps(operations, target, "purge", options.json), entity, {
          reasonLike: options.reasonLike,
          evidenceId: options.evidence,
          olderThanInMs,
          olderThanText: options.olderThan,
          dryRun: options.dryRun,
        }),
      );
      printResult(options.json, result, () => formatChange(result));
      process.exitCode = EXIT_OK;
    });
}

function formatChange(result: DeadLetterChangeResult): string {
  const verb = result.action === "redrive" ? (result.dryRun ? "would redrive" : "redrove") : result.dryRun ? "would purge" : "purged";
  const lines = [`${result.entity}: ${verb} ${result.count} message(s)${result.destination ? ` to ${result.destination}` : ""}${result.dryRun ? " (dry run: nothing changed)" : ""}`];
  for (const m of result.messages) {
    lines.push(
      `  #${m.sequenceNumber}  ${printable(m.messageId ?? "-")}${m.newMessageId ? ` -> ${printable(m.newMessageId)}` : ""}  evidence ${printable(m.evidenceId ?? "-")}  ${printable(m.deadLetterReason ?? "-")}`,
    );
  }
  if (result.lockedElsewhere) {
    lines.push(
      `${result.lockedElsewhere} dead-lettered message(s) were not received: locked by another receiver. A redrive or purge that was interrupted keeps its locks until they expire (the entity's lock duration); run this again after that. Nothing is lost.`,
    );
  }
  if (result.audit) lines.push(`Audit record: ${result.audit} (id ${result.id}); see \`custody audit\`.`);
  return lines.join("\n");
}
