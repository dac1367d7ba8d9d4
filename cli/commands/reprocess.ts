/**
 * `custody reprocess EVIDENCE_ID… [--stage S…] [--reason TEXT] [--wait] [--dry-run] [--json]` —
 * re-runs a media stage for recordings that already went through the pipeline, e.g. after an
 * ffmpeg upgrade or a change of proxy settings.
 *
 * For each recording and stage it sends the recording's evidence-received message, rebuilt
 * from the index record with the request attached (shared/evidence/reprocess.ts), to that
 * stage's subscription only. The stage writes its renditions to the request's own folder
 * (`<evidenceId>/<stage>/reprocess-<id>/`: files downstream was told about are never
 * overwritten) and reports a result that carries the request, so the index records the new
 * renditions and provenance as the stage's, keeps the replaced run's files and tool versions
 * under `stages.<stage>.superseded`, and logs the re-run as its own custody log entry (the
 * first run's entry, with its output digest, stays). A ready recording stays ready and the
 * index announces the change with one evidence-updated event per request and stage; a failed
 * one whose failed stage now succeeds becomes ready and is announced with evidence-ready, as
 * after a dead-letter redrive.
 *
 * Every run that sent anything writes an audit record (`custody audit`): who, when, which
 * recordings and stages, why. The request id is that record's id and is part of every message
 * and result of the run.
 *
 * `--wait` polls the index until each re-run has reported a final outcome, then prints the new
 * primary rendition's digest; exit code 1 when a re-run failed (the earlier renditions are
 * still the ones shown — a failed re-run replaces nothing). Exit code 2 for usage or
 * infrastructure errors (unknown recording, a stage that cannot be re-run, a send that failed);
 * the other recordings are still handled.
 */
import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import { reprocessIdOf } from "../../shared/contracts/message-ids";
import type { ReprocessRequest } from "../../shared/contracts/messages";
import { EVIDENCE_ID_PATTERN } from "../../shared/evidence/evidence-id";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { REPROCESSABLE_STAGES, buildReprocessMessage, isReprocessableStage, type ReprocessableStage } from "../../shared/evidence/reprocess";
import { isCustodyError } from "../../shared/errors";
import { ENTITIES, ROUTE_TO_SUBSCRIPTION_PROPERTY } from "../../shared/topology";
import type { AuditRecord } from "../../shared/ports/audit-log";
import { EXIT_FAILED_RECORDING, EXIT_OK, EXIT_USAGE_OR_INFRASTRUCTURE } from "../exit-codes";
import { pollIndexUntilSettled } from "../index-polling";
import { secondsInMs, targetCommand } from "../options";
import { operatorOf, withOperations, type StackTarget } from "../stack-target";
import { printResult } from "../output";
import { printable } from "../../shared/text/printable";

interface ReprocessOptions {
  stage?: string[];
  reason?: string;
  wait?: boolean;
  waitSeconds: string;
  dryRun?: boolean;
  json?: boolean;
  dataDir: string;
}

/** One (recording, stage) re-run the command asked for (or, in a dry run, would ask for). */
export interface ReprocessItem {
  evidenceId: string;
  stage: ReprocessableStage;
  /** The Service Bus message id of the request. */
  messageId?: string;
  /** True once Service Bus accepted the request. */
  sent: boolean;
  /** With --wait: the re-run's final outcome as the index recorded it, or `timed-out`. */
  outcome?: "succeeded" | "skipped" | "failed" | "timed-out";
  /** With --wait: what the stage shows now (the primary rendition) and what it replaced. */
  primary?: { name: string; sha256: string };
  replaced?: { name: string; sha256: string };
  /** With --wait, a failed re-run: its error. Also: why the request could not be made. */
  error?: string;
}

export interface ReprocessResult {
  dryRun: boolean;
  /** The request id (also the audit record's id). */
  id: string;
  requestedBy: string;
  reason?: string;
  stages: ReprocessableStage[];
  count: number;
  items: ReprocessItem[];
  audit?: string;
}

export function registerReprocessCommand(program: Command): void {
  targetCommand(
    program,
    "reprocess",
    `Re-run a media stage (${REPROCESSABLE_STAGES.join(", ")}) for recordings, e.g. after an ffmpeg upgrade; the new provenance is recorded and the replaced renditions' digests are kept (audited).`,
    "print the result as JSON",
  )
    .argument("<evidenceIds...>", "evidence ids (ev-…)")
    .option("--stage <stage...>", `stages to re-run (${REPROCESSABLE_STAGES.join(", ")}); default: all of them`)
    .option("--reason <text>", 'why, for the audit record and the custody log (e.g. "ffmpeg 7.1 upgrade")')
    .option("--wait", "wait until each re-run has reported, and show its outcome")
    .option("--wait-seconds <n>", "how long --wait waits", "600")
    .option("--dry-run", "list what would be re-run; send nothing")
    .action(async (evidenceIds: string[], options: ReprocessOptions) => {
      const stages = parseStages(options.stage);
      for (const evidenceId of evidenceIds) {
        if (!EVIDENCE_ID_PATTERN.test(evidenceId)) throw new Error(`"${evidenceId}" is not an evidence id (ev- and 32 hex digits, as \`custody evidence\` and \`custody dlq peek\` show them)`);
      }
      const waitInMs = secondsInMs(options.waitSeconds, "--wait-seconds");
      if (options.reason !== undefined && (options.reason.trim() === "" || options.reason.length > 1000)) throw new Error("--reason must be 1 to 1,000 characters");

      const result = await withOperations(options, async (operations, target): Promise<ReprocessResult> => {
        const request: ReprocessRequest = { id: randomUUID(), requestedBy: await operatorOf(target), requestedAt: new Date().toISOString() };
        if (options.reason !== undefined) request.reason = options.reason.trim();
        const base: ReprocessResult = { dryRun: !!options.dryRun, id: request.id, requestedBy: request.requestedBy, reason: request.reason, stages, count: 0, items: [] };
        for (const evidenceId of [...new Set(evidenceIds)]) {
          let record: EvidenceRecord | undefined;
          try {
            record = (await target.services.index.read(evidenceId))?.record;
          } catch (error) {
            for (const stage of stages) base.items.push({ evidenceId, stage, sent: false, error: `index read failed: ${(error as Error).message}` });
            continue;
          }
          for (const stage of stages) {
            const item: ReprocessItem = { evidenceId, stage, sent: false };
            base.items.push(item);
            if (record === undefined) {
              item.error = "no index record with this id";
              continue;
            }
            try {
              const message = buildReprocessMessage(record, stage, request);
              item.messageId = message.messageId;
              if (!base.dryRun) {
                await operations.send(ENTITIES.evidenceReceivedTopic, message);
                item.sent = true;
              }
            } catch (error) {
              item.error = isCustodyError(error) ? error.message : `send failed: ${(error as Error).message}`;
            }
          }
        }
        base.count = base.items.filter((i) => (base.dryRun ? i.messageId !== undefined && i.error === undefined : i.sent)).length;
        if (base.items.some((i) => i.sent)) base.audit = await audit(target, base, request);
        if (options.wait && !base.dryRun)
          await waitForOutcomes(
            base.items.filter((i) => i.sent),
            request.id,
            waitInMs,
            (id) => target.services.index.read(id),
          );
        return base;
      });
      printResult(options.json, result, () => format(result));
      const requestFailed = result.items.some((i) => i.error !== undefined && i.outcome === undefined);
      const rerunFailed = result.items.some((i) => i.outcome === "failed" || i.outcome === "timed-out");
      process.exitCode = requestFailed ? EXIT_USAGE_OR_INFRASTRUCTURE : rerunFailed ? EXIT_FAILED_RECORDING : EXIT_OK;
    });
}

function parseStages(values: string[] | undefined): ReprocessableStage[] {
  if (values === undefined || values.length === 0) return [...REPROCESSABLE_STAGES];
  const stages = values.flatMap((value) => value.split(",")).map((value) => value.trim());
  for (const stage of stages) {
    if (stage === "hash") throw new Error("the hash stage is not re-run: the hash recorded at ingest is the recording's fingerprint. To re-hash originals and compare, use `custody verify`.");
    if (!isReprocessableStage(stage)) throw new Error(`unknown stage "${stage}": choose from ${REPROCESSABLE_STAGES.join(", ")}`);
  }
  return [...new Set(stages)] as ReprocessableStage[];
}

async function audit(target: StackTarget, result: ReprocessResult, request: ReprocessRequest): Promise<string> {
  const sent = result.items.filter((i) => i.sent);
  const failed = result.items.filter((i) => !i.sent);
  const record: AuditRecord = {
    id: request.id,
    action: "reprocess",
    who: request.requestedBy,
    at: new Date().toISOString(),
    entity: ENTITIES.evidenceReceivedTopic,
    destination: `${ENTITIES.evidenceReceivedTopic} (${ROUTE_TO_SUBSCRIPTION_PROPERTY}=${result.stages.join("|")})`,
    filter: { stages: result.stages, ...(request.reason === undefined ? {} : { reason: request.reason }) },
    count: sent.length,
    messageIds: sent.map((i) => i.messageId!),
    evidenceIds: [...new Set(sent.map((i) => i.evidenceId))],
    ...(failed.length > 0 ? { error: `${failed.length} re-run(s) not requested: ${failed[0].evidenceId} ${failed[0].stage}: ${failed[0].error ?? "unknown error"}` } : {}),
  };
  return target.services.audit.write(record);
}

/**
 * Polls the index until every item's re-run reported a final outcome — a custody log entry
 * whose key is a stage result of this request, with a final action — or time runs out.
 */
async function waitForOutcomes(items: ReprocessItem[], requestId: string, timeoutInMs: number, read: (evidenceId: string) => Promise<{ record: EvidenceRecord } | undefined>): Promise<void> {
  const ofThisRequest = (key: string | undefined): boolean => key !== undefined && reprocessIdOf(key) === requestId;
  await pollIndexUntilSettled(items, {
    read,
    timeoutInMs,
    intervalInMs: 500,
    settle: (item, record) => {
      const entry = record?.custodyLog.find((e) => e.stage === item.stage && ofThisRequest(e.key) && e.action !== "stage-attempt-failed");
      if (record === undefined || entry === undefined) return;
      const state = record.stages[item.stage];
      if (entry.action === "stage-failed") {
        item.outcome = "failed";
        item.error = entry.detail;
        return;
      }
      item.outcome = entry.action === "stage-skipped" ? "skipped" : "succeeded";
      const primary = ofThisRequest(state?.resultKey) ? state?.renditions?.[0] : undefined;
      if (primary) item.primary = { name: primary.name, sha256: primary.sha256 };
      const replaced = state?.superseded?.at(-1)?.renditions[0];
      if (replaced) item.replaced = { name: replaced.name, sha256: replaced.sha256 };
    },
  });
}

function format(result: ReprocessResult): string {
  const verb = result.dryRun ? "would re-run" : "re-run requested";
  const lines = [
    `reprocess ${result.id} by ${printable(result.requestedBy)}${result.reason ? ` (${printable(result.reason)})` : ""}: ${verb} for ${result.count} stage(s)${result.dryRun ? " (dry run: nothing sent)" : ""}`,
  ];
  for (const i of result.items) {
    let line = `  ${printable(i.evidenceId)}  ${i.stage.padEnd(9)}  `;
    if (i.error !== undefined && i.outcome === undefined) line += `NOT REQUESTED: ${printable(i.error)}`;
    else if (result.dryRun) line += "would re-run";
    else if (i.outcome === undefined) line += "requested";
    else if (i.outcome === "failed") line += `FAILED: ${printable(i.error ?? "")} (the earlier renditions are still the ones shown)`;
    else if (i.outcome === "timed-out")
      line += `no outcome yet (timed out waiting; see \`custody status ${i.evidenceId}\`; if \`custody dlq list\` shows evidence-received/${i.stage} dead-lettered, the run could not report: \`custody dlq peek evidence-received/${i.stage}\`, fix the cause, \`custody dlq redrive evidence-received/${i.stage} --evidence ${i.evidenceId}\`)`;
    else line += `${i.outcome}${i.primary ? `: ${printable(i.primary.name)} sha256 ${i.primary.sha256}` : ""}${i.replaced ? ` (replaced ${i.replaced.sha256})` : ""}`;
    lines.push(line);
  }
  if (result.audit) lines.push(`Audit record: ${result.audit} (id ${result.id}); see \`custody audit\`.`);
  return lines.join("\n");
}
