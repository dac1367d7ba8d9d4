/**
 * Dead-letter commands for operators: `dlq list` (is anything stuck? counts per queue and
 * subscription) and `dlq peek` (why did it fail? the dead-lettered messages, without locking
 * them, joined with the last error the evidence record holds for that stage), both read-only;
 * `dlq redrive` and `dlq purge` live in dlq-redrive.ts (their work in shared/operations/redrive.ts).
 * `--json` everywhere; exit code 0, or 2 for usage or infrastructure errors.
 *
 * ENTITY is `queue`, `topic/subscription` or `topic/Subscriptions/subscription`, and must be
 * in the topology (topology/servicebus.json).
 */
import type { Command } from "commander";
import type { PipelineStage } from "../../shared/contracts/messages";
import type { EvidenceRecord, StageState } from "../../shared/evidence/record";
import { evidenceIdOf } from "../../shared/operations/dead-letters";
import type { DeadLetteredMessage, EntityCounts } from "../../shared/ports/queue-operations";
import { allReceivableEntities, ENTITIES, entityName, entityPath, type ReceivableEntity } from "../../shared/topology";
import { EXIT_OK } from "../exit-codes";
import { parsedAs, positiveInteger, receivableEntity, targetCommand } from "../options";
import { registerDlqChangeCommands } from "./dlq-redrive";
import { withOperations } from "../stack-target";
import { printResult } from "../output";
import { printable } from "../../shared/text/printable";
import { textTable } from "../../shared/text/table";

interface DlqOptions {
  dataDir: string;
  json?: boolean;
}

/** One row of `dlq list`. */
export interface DlqListRow extends Omit<EntityCounts, "entity"> {
  /** `queue` or `topic/subscription`. */
  entity: string;
  /** The receiver path: `queue` or `topic/Subscriptions/subscription`. */
  path: string;
}

/** What the evidence record says about a dead-lettered message's recording. */
export interface RecordView {
  status: EvidenceRecord["status"];
  /** The stage the entity feeds, when it feeds one. */
  stage?: PipelineStage;
  stageStatus?: StageState["status"];
  attempts?: number;
  lastError?: StageState["lastError"];
}

/** One message of `dlq peek`. */
export interface DlqPeekMessage {
  sequenceNumber: string;
  messageId?: string;
  evidenceId?: string;
  enqueuedTime?: string;
  deliveryCount?: number;
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  deadLetterSource?: string;
  subject?: string;
  correlationId?: string;
  contentType?: string;
  /** Every application property the message carries as dead-lettered (routing, redrive, operation, trace). */
  applicationProperties: Record<string, unknown>;
  /** For a BlobCreated event (blob-created queue): the blob it announced. */
  blobUrl?: string;
  /** Who sent the claim, when the body names it (stage and fixity results: `actor`). */
  actor?: string;
  /** For a `custody reprocess` request (its evidence-received carries the request): id, who, why. */
  reprocess?: { id: string; requestedBy?: string; reason?: string };
  /** Null when the message names no evidence id or the index has no record for it. */
  record: RecordView | null;
}

export interface DlqPeekResult {
  entity: string;
  path: string;
  stage?: PipelineStage;
  /** The dead-letter queue's message count when peeked (may exceed the messages shown). */
  deadLetterCount: number;
  messages: DlqPeekMessage[];
}

/** Entities whose messages feed a pipeline stage; the others (ingest, index, downstream) have none. */
const STAGE_ENTITIES: ReadonlyArray<[ReceivableEntity, PipelineStage]> = [
  [ENTITIES.hashSubscription, "hash"],
  [ENTITIES.transcodeSubscription, "transcode"],
  [ENTITIES.thumbnailSubscription, "thumbnail"],
];

export function stageOfEntity(entity: ReceivableEntity): PipelineStage | undefined {
  return STAGE_ENTITIES.find(([candidate]) => entityPath(candidate) === entityPath(entity))?.[1];
}

export function registerDlqCommands(program: Command): void {
  const dlq = program.command("dlq").description("Dead-letter queues: what is stuck, why, and sending it back (redrive) or deleting it (purge).");

  targetCommand(dlq, "list [entities...]", "Active, dead-letter and scheduled message counts per queue and subscription (default: all in the topology).", "print a JSON array").action(
    async (names: string[], options: DlqOptions) => {
      const entities = names.length > 0 ? names.map(receivableEntity) : allReceivableEntities();
      const rows = await withOperations(options, async (operations) => {
        const counts = await operations.listCounts(entities);
        return counts.map((c, i): DlqListRow => ({ ...c, entity: entityName(entities[i]), path: c.entity }));
      });
      printResult(options.json, rows, () => formatList(rows));
      process.exitCode = EXIT_OK;
    },
  );

  targetCommand(dlq, "peek <entity>", "Show dead-lettered messages without locking them, with the cause the evidence record holds.", "print the result as JSON")
    .option("--max <n>", "at most this many messages", parsedAs(positiveInteger, "--max"), 50)
    .action(async (name: string, options: DlqOptions & { max: number }) => {
      const max = options.max;
      const entity = receivableEntity(name);
      const stage = stageOfEntity(entity);
      const result = await withOperations(options, async (operations, target): Promise<DlqPeekResult> => {
        const [counts] = await operations.listCounts([entity]);
        const peeked = await operations.peekDeadLetters(entity, max);
        const records = new Map<string, EvidenceRecord | undefined>();
        const messages: DlqPeekMessage[] = [];
        for (const message of peeked) {
          const evidenceId = evidenceIdOf(message);
          if (evidenceId && !records.has(evidenceId)) records.set(evidenceId, (await target.services.index.read(evidenceId))?.record);
          const record = evidenceId ? records.get(evidenceId) : undefined;
          messages.push({
            sequenceNumber: message.sequenceNumber,
            messageId: message.messageId,
            evidenceId,
            enqueuedTime: message.enqueuedTime,
            deliveryCount: message.deliveryCount,
            deadLetterReason: message.deadLetterReason,
            deadLetterErrorDescription: message.deadLetterErrorDescription,
            deadLetterSource: message.deadLetterSource,
            subject: message.subject,
            correlationId: message.correlationId,
            contentType: message.contentType,
            applicationProperties: message.applicationProperties,
            blobUrl: blobUrlOf(message),
            actor: actorOf(message),
            reprocess: reprocessOf(message),
            record: record ? recordView(record, stage) : null,
          });
        }
        return { entity: entityName(entity), path: entityPath(entity), stage, deadLetterCount: counts.deadLetter, messages };
      });
      printResult(options.json, result, () => formatPeek(result));
      process.exitCode = EXIT_OK;
    });

  registerDlqChangeCommands(dlq);
}

function blobUrlOf(message: DeadLetteredMessage): string | undefined {
  const body = message.body as { type?: unknown; data?: { url?: unknown } } | null | undefined;
  return body && typeof body === "object" && typeof body.data?.url === "string" ? body.data.url : undefined;
}

function actorOf(message: DeadLetteredMessage): string | undefined {
  const body = message.body as { actor?: unknown } | null | undefined;
  return body && typeof body === "object" && typeof body.actor === "string" ? body.actor : undefined;
}

function reprocessOf(message: DeadLetteredMessage): DlqPeekMessage["reprocess"] {
  const request = (message.body as { reprocess?: { id?: unknown; requestedBy?: unknown; reason?: unknown } } | null | undefined)?.reprocess;
  if (!request || typeof request !== "object" || typeof request.id !== "string") return undefined;
  return {
    id: request.id,
    ...(typeof request.requestedBy === "string" ? { requestedBy: request.requestedBy } : {}),
    ...(typeof request.reason === "string" ? { reason: request.reason } : {}),
  };
}

function recordView(record: EvidenceRecord, stage: PipelineStage | undefined): RecordView {
  if (!stage) return { status: record.status };
  const state = record.stages[stage];
  return { status: record.status, stage, stageStatus: state?.status, attempts: state?.attempts, lastError: state?.lastError };
}

function formatList(rows: DlqListRow[]): string {
  const lines = [
    textTable(
      ["ENTITY", "ACTIVE", "DEAD-LETTER", "SCHEDULED"],
      rows.map((r) => [r.entity, String(r.active), String(r.deadLetter), r.scheduled === null ? "-" : String(r.scheduled)]),
    ),
  ];
  const transfer = rows.filter((r) => r.transferDeadLetter > 0);
  for (const r of transfer) lines.push(`${r.entity}: ${r.transferDeadLetter} message(s) in the transfer dead-letter queue`);
  const stuck = rows.filter((r) => r.deadLetter > 0);
  lines.push(stuck.length === 0 ? "No dead-lettered messages." : `Dead-lettered: ${stuck.map((r) => `${r.entity} (${r.deadLetter})`).join(", ")} — see \`custody dlq peek ENTITY\`.`);
  return lines.join("\n");
}

function formatPeek(result: DlqPeekResult): string {
  const head = `${result.entity}: ${result.messages.length} of ${result.deadLetterCount} dead-lettered message(s)${result.stage ? ` (stage ${result.stage})` : ""}`;
  const lines = [head];
  for (const m of result.messages) {
    lines.push("");
    lines.push(`#${m.sequenceNumber}  message ${printable(m.messageId ?? "-")}  enqueued ${m.enqueuedTime ?? "-"}  delivery count ${m.deliveryCount ?? "-"}`);
    lines.push(`  evidence     ${m.evidenceId ?? "- (the message names none)"}${m.blobUrl ? `  blob ${printable(m.blobUrl)}` : ""}`);
    lines.push(`  dead-letter  ${printable(m.deadLetterReason ?? "-")}${m.deadLetterErrorDescription ? `: ${printable(m.deadLetterErrorDescription)}` : ""}`);
    lines.push(`  record       ${describeRecordView(m)}`);
    if (m.reprocess) {
      // A re-run that could not report: redriving it re-runs the stage under the same request.
      lines.push(
        `  reprocess    request ${printable(m.reprocess.id)}${m.reprocess.requestedBy ? ` by ${printable(m.reprocess.requestedBy)}` : ""}${m.reprocess.reason ? ` (${printable(m.reprocess.reason)})` : ""}: ` +
          `fix the cause, then \`custody dlq redrive ${result.entity} --evidence ${m.evidenceId ?? "ev-…"}\` re-runs it under this request (docs/operations.md, "A reprocess that dead-lettered")`,
      );
    }
  }
  return lines.join("\n");
}

function describeRecordView(m: DlqPeekMessage): string {
  if (!m.evidenceId) return "-";
  const r = m.record;
  if (!r) return "no index record for this evidence id";
  if (!r.stage) return `status ${r.status}`;
  const stage = `${r.stage} ${r.stageStatus ?? "not reported"}${r.attempts ? ` after ${r.attempts} attempt(s)` : ""}`;
  const error = r.lastError ? `; last error (attempt ${r.lastError.attempt}, ${r.lastError.at}) ${r.lastError.code}: ${printable(r.lastError.message)}` : "; no error recorded";
  return `status ${r.status}; ${stage}${error}`;
}
