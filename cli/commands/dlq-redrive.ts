/**
 * `custody dlq redrive` and `custody dlq purge`: the commands that change a dead-letter queue.
 * The work — copies with fresh ids, completing a dead-letter only once its copy was accepted,
 * counts, the audit record — is shared/operations/redrive.ts; this file reads the options and
 * prints the result.
 */
import type { Command } from "commander";
import { purge, redrive, type DeadLetterChangeDeps, type DeadLetterChangeResult } from "../../shared/operations/redrive";
import { EXIT_OK } from "../exit-codes";
import { durationInMs, parsedAs, positiveInteger, positiveNumber, receivableEntity, targetCommand } from "../options";
import { printResult } from "../output";
import { progressBar } from "../progress";
import { operatorOf, withOperations } from "../stack-target";
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
  max?: number;
  rate?: number;
}

interface PurgeCommandOptions extends CommonOptions {
  olderThan?: string;
  yes?: boolean;
}

/** Runs a redrive or purge against the target's queue operations and audit log, with a progress bar, and prints the result. */
async function runChange(options: CommonOptions, action: "redrive" | "purge", work: (deps: DeadLetterChangeDeps) => Promise<DeadLetterChangeResult>): Promise<void> {
  const result = await withOperations(options, (operations, target) =>
    work({
      operations,
      audit: target.services.audit,
      operator: () => operatorOf(target),
      startProgress: (total) => progressBar(!options.json, `${action} [{bar}] {value}/{total}`, total),
    }),
  );
  printResult(options.json, result, () => formatChange(result));
  process.exitCode = EXIT_OK;
}

/** A command that changes a dead-letter queue: the selection both share (reason, evidence id) and --dry-run. */
function changeCommand(dlq: Command, nameAndArgs: string, description: string, wouldWhat: string): Command {
  return targetCommand(dlq, nameAndArgs, description, "print the result as JSON")
    .option("--reason-like <pattern>", "only messages whose dead-letter reason or description matches (case-insensitive glob * ? or substring)")
    .option("--evidence <id>", "only messages of this evidence id")
    .option("--dry-run", `peek only: print what would ${wouldWhat}, change nothing`);
}

export function registerDlqChangeCommands(dlq: Command): void {
  changeCommand(dlq, "redrive <entity>", "Send matching dead-lettered messages back to the queue, or only the subscription, they failed in (audited).", "move")
    .option("--max <n>", "at most this many messages", parsedAs(positiveInteger, "--max"))
    .option("--rate <n>", "at most this many messages per second", parsedAs(positiveNumber, "--rate"))
    .action(async (name: string, options: RedriveCommandOptions) => {
      const entity = receivableEntity(name);
      await runChange(options, "redrive", (deps) =>
        redrive(deps, entity, { reasonLike: options.reasonLike, evidenceId: options.evidence, max: options.max, rate: options.rate, dryRun: options.dryRun }),
      );
    });

  changeCommand(dlq, "purge <entity>", "Delete matching dead-lettered messages for good (audited); requires --yes (or --dry-run to see what would go).", "be deleted")
    .option("--older-than <duration>", "only messages enqueued longer ago than this (30m, 12h, 7d)")
    .option("--yes", "really delete them")
    .action(async (name: string, options: PurgeCommandOptions) => {
      const entity = receivableEntity(name);
      const olderThanInMs = options.olderThan === undefined ? undefined : durationInMs(options.olderThan, "--older-than");
      if (!options.yes && !options.dryRun) {
        throw new Error(
          `purge deletes dead-lettered messages of ${entityName(entity)} for good: add --yes to confirm, or --dry-run to see what would go (see \`custody dlq peek ${entityName(entity)}\` first).`,
        );
      }
      await runChange(options, "purge", (deps) =>
        purge(deps, entity, { reasonLike: options.reasonLike, evidenceId: options.evidence, olderThanInMs, olderThanText: options.olderThan, dryRun: options.dryRun }),
      );
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
