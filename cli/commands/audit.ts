/**
 * `custody audit`: every dead-letter redrive and purge, every reconcile that re-emitted events
 * and every reprocess — who, when, what — from the audit log (shared/ports/audit-log.ts).
 */
import type { Command } from "commander";
import type { AuditRecord } from "../../shared/ports/audit-log";
import { printable } from "../../shared/text/printable";
import { EXIT_OK } from "../exit-codes";
import { since, targetCommand } from "../options";
import { printResult } from "../output";
import { resolveStackTarget } from "../stack-target";

export function registerAuditCommand(program: Command): void {
  targetCommand(program, "audit", "Every dead-letter redrive and purge, every reconcile that re-emitted events and every reprocess: who, when, what (newest first).", "print a JSON array")
    .option("--since <time>", "only records at or after this ISO date/time, or this long ago (24h, 7d)")
    .action(async (options: { since?: string; dataDir: string; json?: boolean }) => {
      const from = options.since === undefined ? undefined : since(options.since);
      const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: false });
      let records: AuditRecord[];
      try {
        records = await target.services.audit.list(from);
      } catch (error) {
        throw new Error(`${target.description}: ${(error as Error).message}`, { cause: error });
      } finally {
        await target.close();
      }
      printResult(options.json, records, () =>
        records.length === 0
          ? "No audit records."
          : records
              .map(
                (r) =>
                  `${printable(r.at)}  ${printable(r.action.padEnd(9))} ${printable(r.entity)}  ${r.count} message(s)  by ${printable(r.who)}  id ${printable(r.id)}` +
                  (Object.entries(r.filter).some(([, v]) => v !== undefined) ? `  filter ${printable(JSON.stringify(r.filter))}` : "") +
                  `${r.error ? `  STOPPED: ${printable(r.error)}` : ""}${r.evidenceIds.length ? `\n    evidence ${printable(r.evidenceIds.join(", "))}` : ""}`,
              )
              .join("\n"),
      );
      process.exitCode = EXIT_OK;
    });
}
