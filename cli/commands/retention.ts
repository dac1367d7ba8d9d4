/**
 * Retention from the operators' side (audited):
 *
 *   custody retention set EVIDENCE_ID… --category C --reason TEXT [--case REF]
 *   custody hold EVIDENCE_ID… --case REF --reason TEXT
 *   custody release EVIDENCE_ID… --case REF --reason TEXT
 *   (each with [--wait] [--wait-seconds N] [--dry-run] [--json])
 *   custody retention show EVIDENCE_ID [--json]
 *
 * A change is a retention command (shared/contracts/messages.ts RETENTION_COMMAND_SCHEMA) sent to
 * the `retention-commands` queue — the same route a case-management system uses — or, for a
 * release, to `retention-releases` (only records officers may send there), so the index
 * stays the only writer of the record and checks the command against the schedule
 * (retention/schedule.json) and the record. One command id per run (also the audit record's
 * id); each recording's message id is `<evidenceId>:retention:<id>`. Before sending, the command
 * checks each recording against the index as it stands and reports what it would become
 * (`--dry-run` stops there); `--wait` polls until the index has recorded it. Exit code 2 when a
 * recording is unknown, a command would be refused or a send failed (the others are still sent);
 * 1 when `--wait` timed out.
 */
import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import { expectedRetentionRoute } from "../../shared/contracts/retention-routes";
import { retentionCommandMessageId } from "../../shared/contracts/message-ids";
import type { RetentionCommandMessage } from "../../shared/contracts/messages";
import { parseMessage } from "../../shared/contracts/validate";
import { checkRetentionCommandClaim } from "../../shared/evidence/claim-checks";
import { EVIDENCE_ID_PATTERN } from "../../shared/evidence/evidence-id";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { appendLogEntry } from "../../shared/evidence/record-merge";
import { RETENTION_SCHEDULE, applyRetentionCommand, retentionOf, type RetentionState } from "../../shared/evidence/retention";
import type { AuditRecord } from "../../shared/ports/audit-log";
import { printable } from "../../shared/text/printable";
import { disposalCandidates, type DisposalCandidate } from "../../shared/stages/disposal-stage";
import { EXIT_FAILED_RECORDING, EXIT_OK, EXIT_USAGE_OR_INFRASTRUCTURE } from "../exit-codes";
import { pollIndexUntilSettled } from "../index-polling";
import { secondsInMs, targetCommand } from "../options";
import { printResult } from "../output";
import { operatorOf, resolveStackTarget, withOperations, type StackTarget } from "../stack-target";

/** What operators ask for; disposal is the timer's, once retention has ended. */
type OperatorAction = Exclude<RetentionCommandMessage["action"], "dispose">;

interface RetentionCommandOptions {
  category?: string;
  case?: string;
  reason?: string;
  wait?: boolean;
  waitSeconds: string;
  dryRun?: boolean;
  json?: boolean;
  dataDir: string;
}

export interface RetentionItem {
  evidenceId: string;
  messageId: string;
  sent: boolean;
  /** What the recording's retention is (before) and would be or is (after). */
  before?: Pick<RetentionState, "category" | "retainUntil" | "disposal"> & { holds: string[] };
  after?: Pick<RetentionState, "category" | "retainUntil" | "disposal"> & { holds: string[] };
  /** With --wait: recorded by the index, or timed out. */
  outcome?: "recorded" | "timed-out";
  error?: string;
}

export interface RetentionResult {
  dryRun: boolean;
  id: string;
  action: OperatorAction;
  category?: string;
  caseReference?: string;
  requestedBy: string;
  reason: string;
  count: number;
  items: RetentionItem[];
  audit?: string;
}

export function registerRetentionCommands(program: Command): void {
  const retention = program.command("retention").description(`A recording's retention category (${Object.keys(RETENTION_SCHEDULE.categories).join(", ")}; retention/schedule.json) and legal holds.`);
  withChangeOptions(
    targetCommand(retention, "set", "Put recordings in a retention category (audited); the index never shortens a retention already set.", "print the result as JSON")
      .argument("<evidenceIds...>", "evidence ids (ev-…)")
      .requiredOption("--category <category>", `the category (${Object.keys(RETENTION_SCHEDULE.categories).join(", ")})`)
      .option("--case <reference>", "the case the decision belongs to"),
  ).action((ids: string[], options: RetentionCommandOptions) => run("categorise", ids, options));
  targetCommand(retention, "show", "A recording's retention: category, kept until, holds, history.", "print the result as JSON")
    .argument("<evidenceId>", "evidence id (ev-…)")
    .action(async (evidenceId: string, options: { json?: boolean; dataDir: string }) => {
      checkIds([evidenceId]);
      const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: false });
      let record: EvidenceRecord | undefined;
      try {
        record = (await target.services.index.read(evidenceId))?.record;
      } finally {
        await target.close();
      }
      if (record === undefined) {
        process.stderr.write(`no index record ${evidenceId}\n`);
        process.exitCode = EXIT_USAGE_OR_INFRASTRUCTURE;
        return;
      }
      const state = retentionOf(record);
      printResult(options.json, { evidenceId, ...state }, () => formatState(evidenceId, state));
    });
  const disposal = program.command("disposal").description("What the retention schedule disposes of, and when.");
  targetCommand(disposal, "report", "Recordings whose retention has ended or ends within --within: due for disposal, held, or waiting for a review. Deletes nothing.", "print the result as JSON")
    .option("--within <days>", "also list those whose retention ends within this many days", "0")
    .action(async (options: { within: string; json?: boolean; dataDir: string }) => {
      const days = Number(options.within);
      if (!/^\d+$/.test(options.within) || !Number.isSafeInteger(days)) throw new Error(`--within must be a whole number of days, not '${options.within}'`);
      const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: false });
      let candidates: DisposalCandidate[];
      const now = new Date();
      try {
        candidates = await disposalCandidates(target.services.index, now, new Date(now.getTime() + days * 86_400_000));
      } finally {
        await target.close();
      }
      printResult(options.json, { at: now.toISOString(), within: days, candidates }, () => formatReport(candidates));
    });
  withChangeOptions(
    targetCommand(program, "hold", "Place a legal hold on recordings for a case (audited): nothing held is ever disposed of.", "print the result as JSON")
      .argument("<evidenceIds...>", "evidence ids (ev-…)")
      .requiredOption("--case <reference>", "the case the hold is for"),
  ).action((ids: string[], options: RetentionCommandOptions) => run("hold", ids, options));
  withChangeOptions(
    targetCommand(program, "release", "Release a case's legal hold on recordings (audited); other cases' holds stay.", "print the result as JSON")
      .argument("<evidenceIds...>", "evidence ids (ev-…)")
      .requiredOption("--case <reference>", "the case whose hold is released"),
  ).action((ids: string[], options: RetentionCommandOptions) => run("release", ids, options));
}

function withChangeOptions(command: Command): Command {
  return command
    .requiredOption("--reason <text>", "why, for the record's history, the custody log and the audit record")
    .option("--wait", "wait until the index has recorded each change")
    .option("--wait-seconds <n>", "how long --wait waits", "120")
    .option("--dry-run", "show what each recording's retention would become; send nothing");
}

function checkIds(ids: string[]): void {
  for (const id of ids) if (!EVIDENCE_ID_PATTERN.test(id)) throw new Error(`"${id}" is not an evidence id (ev- and 32 hex digits, as \`custody evidence\` shows them)`);
}

async function run(action: OperatorAction, evidenceIds: string[], options: RetentionCommandOptions): Promise<void> {
  checkIds(evidenceIds);
  const reason = (options.reason ?? "").trim();
  if (reason === "" || reason.length > 2000) throw new Error("--reason must be 1 to 2,000 characters");
  const waitInMs = secondsInMs(options.waitSeconds, "--wait-seconds");
  const result = await withOperations(options, async (operations, target): Promise<RetentionResult> => {
    const id = randomUUID();
    const requestedBy = await operatorOf(target);
    const base: RetentionResult = { dryRun: !!options.dryRun, id, action, requestedBy, reason, count: 0, items: [] };
    if (options.category !== undefined) base.category = options.category;
    if (options.case !== undefined) base.caseReference = options.case;
    for (const evidenceId of [...new Set(evidenceIds)]) {
      const body: RetentionCommandMessage = {
        schemaVersion: 1,
        kind: "retention-command",
        commandId: id,
        evidenceId,
        action,
        reason,
        requestedBy,
        requestedAt: new Date().toISOString(),
        source: "operator",
      };
      if (options.category !== undefined) body.category = options.category;
      if (options.case !== undefined) body.caseReference = options.case;
      const item: RetentionItem = { evidenceId, messageId: retentionCommandMessageId(body), sent: false };
      base.items.push(item);
      try {
        // The same checks as the index: a bad option is said here, not found later in a dead-letter queue.
        const command = parseMessage("retention-command", body);
        const record = (await target.services.index.read(evidenceId))?.record;
        checkRetentionCommandClaim(record, command, Date.now());
        if (record === undefined) continue; // refused above
        item.before = summary(retentionOf(record));
        item.after = summary(retentionOf(applyRetentionCommand(record, command, { nowIso: new Date().toISOString() }, appendLogEntry)));
        if (base.dryRun) continue;
        await operations.send(expectedRetentionRoute(action), {
          messageId: item.messageId,
          body: command,
          contentType: "application/json",
          subject: "retention-command",
          correlationId: evidenceId,
          applicationProperties: { evidenceId, action },
        });
        item.sent = true;
      } catch (error) {
        item.error = (error as Error).message;
      }
    }
    base.count = base.items.filter((i) => (base.dryRun ? i.error === undefined : i.sent)).length;
    if (base.items.some((i) => i.sent)) base.audit = await audit(target, base);
    if (options.wait && !base.dryRun)
      await waitForRecorded(
        base.items.filter((i) => i.sent),
        waitInMs,
        (evidenceId) => target.services.index.read(evidenceId),
      );
    return base;
  });
  printResult(options.json, result, () => format(result));
  process.exitCode = result.items.some((i) => i.error !== undefined) ? EXIT_USAGE_OR_INFRASTRUCTURE : result.items.some((i) => i.outcome === "timed-out") ? EXIT_FAILED_RECORDING : EXIT_OK;
}

function summary(state: RetentionState): NonNullable<RetentionItem["after"]> {
  return { category: state.category, retainUntil: state.retainUntil, disposal: state.disposal, holds: state.holds.map((h) => h.caseReference) };
}

async function audit(target: StackTarget, result: RetentionResult): Promise<string> {
  const sent = result.items.filter((i) => i.sent);
  const failed = result.items.filter((i) => !i.sent);
  const record: AuditRecord = {
    id: result.id,
    action: `retention-${result.action}`,
    who: result.requestedBy,
    at: new Date().toISOString(),
    entity: expectedRetentionRoute(result.action),
    filter: { reason: result.reason, ...(result.category === undefined ? {} : { category: result.category }), ...(result.caseReference === undefined ? {} : { caseReference: result.caseReference }) },
    count: sent.length,
    messageIds: sent.map((i) => i.messageId),
    evidenceIds: sent.map((i) => i.evidenceId),
    ...(failed.length > 0 ? { error: `${failed.length} not sent: ${failed[0].evidenceId}: ${failed[0].error ?? "unknown error"}` } : {}),
  };
  return target.services.audit.write(record);
}

/** Polls the index until each recording's custody log holds its command's entry, or time runs out. */
async function waitForRecorded(items: RetentionItem[], timeoutInMs: number, read: (evidenceId: string) => Promise<{ record: EvidenceRecord } | undefined>): Promise<void> {
  await pollIndexUntilSettled(items, {
    read,
    timeoutInMs,
    intervalInMs: 250,
    settle: (item, record) => {
      if (record?.custodyLog.some((e) => e.key === item.messageId) !== true) return;
      item.outcome = "recorded";
      item.after = summary(retentionOf(record));
    },
  });
}

function describe(state: RetentionItem["after"]): string {
  if (state === undefined) return "";
  return `${state.category}, kept until ${state.retainUntil} then ${state.disposal === "automatic" ? "disposed of" : "reviewed"}${state.holds.length > 0 ? `; held for ${state.holds.map(printable).join(", ")}` : ""}`;
}

function format(result: RetentionResult): string {
  const what = result.action === "categorise" ? `category ${printable(result.category ?? "")}` : `${result.action} for case ${printable(result.caseReference ?? "")}`;
  const lines = [
    `retention ${result.id} by ${printable(result.requestedBy)} (${printable(result.reason)}): ${what} — ${result.dryRun ? "would change" : "sent for"} ${result.count} recording(s)${result.dryRun ? " (dry run: nothing sent)" : ""}`,
  ];
  for (const i of result.items) {
    let line = `  ${printable(i.evidenceId)}  `;
    if (i.error !== undefined) line += `NOT SENT: ${printable(i.error)}`;
    else if (i.outcome === "timed-out") line += `sent, not recorded yet (timed out waiting; \`custody dlq peek ${expectedRetentionRoute(result.action)}\` shows a refused command)`;
    else line += `${describe(i.before)}  →  ${describe(i.after)}${i.outcome === "recorded" ? " (recorded)" : ""}`;
    lines.push(line);
  }
  if (result.audit) lines.push(`Audit record: ${result.audit} (id ${result.id}); see \`custody audit\`.`);
  return lines.join("\n");
}

function formatReport(candidates: DisposalCandidate[]): string {
  if (candidates.length === 0) return "nothing due for disposal";
  const said: Record<DisposalCandidate["status"], string> = {
    due: "DUE: disposed of at the next disposal run",
    resume: "DISPOSING: decided, not finished (the next run resumes it)",
    held: "kept: held",
    review: "kept: due for review (re-categorise, or it stays)",
    kept: "kept until then",
  };
  return candidates
    .map((c) => `${c.evidenceId}  ${c.category.padEnd(18)} until ${c.retainUntil}  ${said[c.status]}${c.holds.length > 0 ? ` for ${c.holds.map(printable).join(", ")}` : ""}`)
    .join("\n");
}

function formatState(evidenceId: string, state: RetentionState): string {
  const lines = [
    `${evidenceId}: ${state.category} since ${state.categorisedAt}; kept until ${state.retainUntil}, then ${state.disposal === "automatic" ? "disposed of unless held" : "due for review"}`,
    state.holds.length === 0
      ? "  no legal hold"
      : `  legal holds: ${state.holds.map((h) => `${printable(h.caseReference)} (since ${h.placedAt}, by ${printable(h.placedBy)}: ${printable(h.reason)})`).join("; ")}`,
  ];
  for (const h of state.history) {
    lines.push(
      `  ${h.recordedAt}  ${h.action}${h.category ? ` ${h.category}` : ""}${h.caseReference ? ` case ${printable(h.caseReference)}` : ""} by ${printable(h.requestedBy)} (${h.source}): ${printable(h.reason)}${h.changed ? "" : " (no change)"}`,
    );
  }
  return lines.join("\n");
}
