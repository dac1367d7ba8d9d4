/**
 * `custody dlq redrive` and `custody dlq purge`: the commands that change a dead-letter queue,
 * and `custody audit`, which lists what they did.
 *
 * Redrive sends each matching dead-lettered message back where it failed: a queue's DLQ to
 * that queue; a subscription's DLQ to its topic with the application property
 * `custodyRedriveTo = <subscription>`, which only that subscription's `redrive` rule accepts
 * (every other rule of every subscription requires NOT EXISTS(custodyRedriveTo) — see
 * topology/servicebus.json and docs/operations.md). The copy keeps body, content type,
 * correlation id, subject and application properties, drops the dead-letter properties, and
 * carries `custodyRedriveCount` (previous + 1), `custodyRedriveId` (one per run) and
 * `custodyOperation` (`redrive-<id>`); its message id is
 * `<original id>:redrive-<run id>:<subscription or queue>:<sequence number>`
 * (shared/contracts/message-ids.ts operationCopyMessageId). Duplicate detection drops a send
 * whose id it saw within its window *and the send still succeeds*, so every copy's id must be
 * new: redriving the same recording's dead-letters from two subscriptions of one topic back to
 * back sends two distinct copies, and a later redrive never repeats an earlier one's id. The
 * dead-lettered message is completed only after the send of its (distinct) copy resolved: a
 * crash in between can cause one duplicate (which the stages' idempotency absorbs), never a
 * loss. Messages that do not match are abandoned (they stay).
 *
 * Every redrive or purge (not a dry run) writes an audit record (cli/audit-log.ts).
 */
import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import type { DeadLetteredMessage, LockedDeadLetter, QueueOperations, VerbatimMessage } from "../../shared/ports/queue-operations";
import { OPERATION_PROPERTY, operationCopyBase, operationCopyMessageId, operationLabel, type OperationRef } from "../../shared/contracts/message-ids";
import { ROUTE_TO_SUBSCRIPTION_PROPERTY as REDRIVE_TO_PROPERTY, type ReceivableEntity } from "../../shared/topology";
import { listAuditRecords, parseDuration, parseSince, whoAmI, writeAuditRecord, type AuditRecord } from "../audit-log";
import { EXIT_OK } from "../exit-codes";
import { progressBar } from "../progress";
import { DEFAULT_DATA_DIR, resolveStackTarget, type StackTarget } from "../stack-target";
import { entityName, evidenceIdOf, resolveEntity, withOperations } from "./dlq";
import { printResult } from "../output";
import { printable } from "../../shared/text/printable";

export const REDRIVE_COUNT_PROPERTY = "custodyRedriveCount";
export const REDRIVE_ID_PROPERTY = "custodyRedriveId";
const DEAD_LETTER_PROPERTIES = ["DeadLetterReason", "DeadLetterErrorDescription", "DeadLetterSource"];

interface CommonOptions {
  dataDir: string;
  json?: boolean;
  reasonLike?: string;
}

interface RedriveOptions extends CommonOptions {
  evidence?: string;
  max?: string;
  rate?: string;
  dryRun?: boolean;
}

interface PurgeOptions extends CommonOptions {
  olderThan?: string;
  evidence?: string;
  dryRun?: boolean;
  yes?: boolean;
}

/** One message a redrive or purge moved (or, in a dry run, would move). */
export interface MovedMessage {
  sequenceNumber: string;
  messageId?: string;
  evidenceId?: string;
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  enqueuedTime?: string;
  /** Redrive: the copy's message id. */
  newMessageId?: string;
  /** Redrive: the copy's custodyRedriveCount. */
  redriveCount?: number;
}

export interface DlqChangeResult {
  action: "redrive" | "purge";
  dryRun: boolean;
  id: string;
  entity: string;
  /** Redrive: the queue, or `topic (custodyRedriveTo=subscription)`. */
  destination?: string;
  filter: AuditRecord["filter"];
  count: number;
  messages: MovedMessage[];
  /** The audit blob (`audit/…`), absent in a dry run. */
  audit?: string;
  error?: string;
  /** After a run: dead-lettered messages left in the entity (not matching, over --max, or not received). */
  remaining?: number;
  /**
   * After a run: how many of `remaining` this run never received — locked by another receiver.
   * A redrive that was killed keeps its locks until they expire (the entity's lock duration),
   * so the next run sees those messages only after that; nothing is lost.
   */
  lockedElsewhere?: number;
}

/** Case-insensitive: a glob (`*`, `?`) matched against the reason, the description or `reason: description`; else a substring of them. */
export function reasonMatcher(pattern: string | undefined): (m: DeadLetteredMessage) => boolean {
  if (pattern === undefined) return () => true;
  const texts = (m: DeadLetteredMessage) => {
    const reason = m.deadLetterReason ?? "";
    const description = m.deadLetterErrorDescription ?? "";
    return [reason, description, `${reason}: ${description}`, `${reason} ${description}`];
  };
  if (/[*?]/.test(pattern)) {
    const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    const regex = new RegExp(`^${source}$`, "is");
    return (m) => texts(m).some((t) => regex.test(t));
  }
  const needle = pattern.toLowerCase();
  return (m) => texts(m).some((t) => t.toLowerCase().includes(needle));
}

function positive(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n) || n <= 0) throw new Error(`${option} must be a positive number, not '${value}'.`);
  return n;
}

function wholePositive(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new Error(`${option} must be a positive whole number, not '${value}'.`);
  return n;
}

function destinationOf(entity: ReceivableEntity): { sendTo: string; redriveTo?: string; description: string } {
  return entity.kind === "queue"
    ? { sendTo: entity.queueName, description: entity.queueName }
    : { sendTo: entity.topicName, redriveTo: entity.subscriptionName, description: `${entity.topicName} (${REDRIVE_TO_PROPERTY}=${entity.subscriptionName})` };
}

function redriveCountOf(m: DeadLetteredMessage): number {
  const previous = Number(m.applicationProperties[REDRIVE_COUNT_PROPERTY]);
  return Number.isSafeInteger(previous) && previous > 0 ? previous + 1 : 1;
}

/** The subscription, or the queue, a copy is meant for: the target part of its id. */
function targetOf(entity: ReceivableEntity): string {
  return entity.kind === "queue" ? entity.queueName : entity.subscriptionName;
}

/** The copy a redrive (operation `redriveId`) sends for a dead-lettered message; see operationCopyMessageId. */
export function redriveCopy(m: DeadLetteredMessage, entity: ReceivableEntity, redriveId: string): VerbatimMessage {
  const count = redriveCountOf(m);
  const operation: OperationRef = { kind: "redrive", id: redriveId };
  const properties: Record<string, string | number | boolean | Date | null> = {};
  for (const [key, value] of Object.entries(m.applicationProperties)) {
    if (DEAD_LETTER_PROPERTIES.includes(key) || key === REDRIVE_TO_PROPERTY) continue;
    if (value === null || ["string", "number", "boolean"].includes(typeof value) || value instanceof Date) properties[key] = value as string | number | boolean | Date | null;
  }
  properties[REDRIVE_COUNT_PROPERTY] = count;
  properties[REDRIVE_ID_PROPERTY] = redriveId;
  properties[OPERATION_PROPERTY] = operationLabel(operation);
  const redriveTo = destinationOf(entity).redriveTo;
  if (redriveTo) properties[REDRIVE_TO_PROPERTY] = redriveTo;
  return {
    messageId: operationCopyMessageId(operationCopyBase(m.messageId ?? `seq-${m.sequenceNumber}`), operation, targetOf(entity), m.sequenceNumber),
    body: m.body,
    contentType: m.contentType,
    correlationId: m.correlationId,
    subject: m.subject,
    applicationProperties: properties,
  };
}

function describe(m: DeadLetteredMessage, extra: Partial<MovedMessage> = {}): MovedMessage {
  return {
    sequenceNumber: m.sequenceNumber,
    messageId: m.messageId,
    evidenceId: evidenceIdOf(m),
    deadLetterReason: m.deadLetterReason,
    deadLetterErrorDescription: m.deadLetterErrorDescription,
    enqueuedTime: m.enqueuedTime,
    ...extra,
  };
}

/**
 * Receives the dead-letter queue under peek-locks and hands each matching message to `act`
 * (which completes it) until `max` acted on or the queue yields nothing new; the others are
 * abandoned at the end (they stay, unchanged but for their delivery count).
 */
async function sweep(
  operations: QueueOperations,
  entity: ReceivableEntity,
  options: { matches: (m: LockedDeadLetter) => boolean; filtered: boolean; batch: number; max: number; act: (m: LockedDeadLetter, complete: () => Promise<void>) => Promise<void> },
): Promise<{ held: number }> {
  const receiver = await operations.openDeadLetterReceiver(entity);
  const held: LockedDeadLetter[] = [];
  const seen = new Set<string>();
  let acted = 0;
  try {
    while (acted < options.max) {
      // Without a filter every message received is acted on: lock no more than are still wanted,
      // so `--max 1` does not hold 49 others from whoever else is looking. With a filter, a
      // larger batch finds the matches among the rest in fewer round trips.
      const batch = await receiver.receive(options.filtered ? options.batch : Math.min(options.batch, options.max - acted), seen.size === 0 ? 5_000 : 1_000);
      if (batch.length === 0) break;
      let fresh = false;
      for (const message of batch) {
        const first = !seen.has(message.sequenceNumber);
        seen.add(message.sequenceNumber);
        fresh ||= first;
        if (!first || acted >= options.max || !options.matches(message)) {
          held.push(message);
          continue;
        }
        acted++;
        await options.act(message, () => receiver.complete(message));
      }
      if (!fresh) break;
    }
  } finally {
    for (const message of held) await receiver.abandon(message).catch(() => undefined);
    await receiver.close();
  }
  return { held: new Set(held.map((m) => m.sequenceNumber)).size };
}

/**
 * A redrive or purge: sweeps the dead-letter queue with a progress bar, then writes the audit
 * record whatever happened — a run stopped by an error is audited with what it did before.
 */
async function auditedSweep(
  operations: QueueOperations,
  target: StackTarget,
  entity: ReceivableEntity,
  result: DlqChangeResult,
  options: { json?: boolean; total: number; matches: (m: LockedDeadLetter) => boolean; max: number; rate?: number; act: (m: LockedDeadLetter, complete: () => Promise<void>) => Promise<unknown> },
): Promise<DlqChangeResult> {
  const bar = progressBar(!options.json, `${result.action} [{bar}] {value}/{total}`, options.total);
  let held = 0;
  try {
    ({ held } = await sweep(operations, entity, {
      matches: options.matches,
      filtered: result.filter.reasonLike !== undefined || result.filter.evidenceId !== undefined || result.filter.olderThan !== undefined,
      // Under --rate, lock no more than ~20 s of work at a time: a batch held longer than the
      // entity's lock duration (1 min on the queues) would lose its locks before it is sent.
      batch: options.rate === undefined ? 50 : Math.max(1, Math.min(50, Math.floor(options.rate * 20))),
      max: options.max,
      act: async (m, complete) => {
        await options.act(m, complete);
        result.count = result.messages.length;
        bar.update(result.count);
      },
    }));
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    bar.stop();
  }
  if (result.error === undefined) {
    // What is left, and whether some of it was out of reach (locked): an operator re-running
    // after an interrupted redrive must know to wait for the old locks rather than assume
    // the queue is done.
    const [after] = await operations.listCounts([entity]);
    result.remaining = after.deadLetter;
    result.lockedElsewhere = Math.max(0, after.deadLetter - held);
  }
  result.audit = await audit(target, result);
  if (result.error) throw new Error(`${result.action} stopped after ${result.count} message(s) (audit ${result.audit}): ${result.error}`);
  return result;
}

async function audit(target: StackTarget, result: DlqChangeResult): Promise<string> {
  const record: AuditRecord = {
    id: result.id,
    action: result.action,
    who: await whoAmI(target.settings),
    at: new Date().toISOString(),
    entity: result.entity,
    destination: result.destination,
    filter: result.filter,
    count: result.count,
    messageIds: result.messages.map((m) => m.messageId ?? `seq-${m.sequenceNumber}`),
    evidenceIds: [...new Set(result.messages.map((m) => m.evidenceId).filter((id): id is string => id !== undefined))],
    ...(result.error ? { error: result.error } : {}),
  };
  return `audit/${await writeAuditRecord(target.blobService, record)}`;
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
    .action(async (name: string, options: RedriveOptions) => {
      const entity = resolveEntity(name);
      const max = wholePositive(options.max, "--max") ?? Number.MAX_SAFE_INTEGER;
      const rate = positive(options.rate, "--rate");
      const matchesReason = reasonMatcher(options.reasonLike);
      const matches = (m: DeadLetteredMessage) => matchesReason(m) && (options.evidence === undefined || evidenceIdOf(m) === options.evidence);
      const destination = destinationOf(entity);
      const id = randomUUID();
      const filter: AuditRecord["filter"] = { reasonLike: options.reasonLike, evidenceId: options.evidence, max: options.max === undefined ? undefined : max, rate };
      const result = await withOperations(options, async (operations, target): Promise<DlqChangeResult> => {
        const base: DlqChangeResult = { action: "redrive", dryRun: !!options.dryRun, id, entity: entityName(entity), destination: destination.description, filter, count: 0, messages: [] };
        const [counts] = await operations.listCounts([entity]);
        if (options.dryRun) {
          const peeked = await operations.peekDeadLetters(entity, Math.max(1, counts.deadLetter));
          for (const m of peeked.filter(matches).slice(0, max)) {
            const copy = redriveCopy(m, entity, id);
            base.messages.push(describe(m, { newMessageId: copy.messageId, redriveCount: copy.applicationProperties[REDRIVE_COUNT_PROPERTY] as number }));
          }
          base.count = base.messages.length;
          return base;
        }
        const interval = rate === undefined ? 0 : 1000 / rate;
        let nextSendAt = 0;
        const sentIds = new Set<string>();
        return auditedSweep(operations, target, entity, base, {
          json: options.json,
          total: Math.min(max, counts.deadLetter),
          matches,
          max,
          rate,
          act: async (m, complete) => {
            const wait = nextSendAt - Date.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            nextSendAt = Date.now() + interval;
            const copy = redriveCopy(m, entity, id);
            // A repeated id would be dropped by duplicate detection while the send succeeds: never
            // complete a dead-letter on such a send (the ids carry the sequence number, so this
            // means the queue handed out one message twice).
            if (sentIds.has(copy.messageId)) throw new Error(`copy id ${copy.messageId} was already sent in this run; #${m.sequenceNumber} left in the dead-letter queue`);
            sentIds.add(copy.messageId);
            await operations.send(destination.sendTo, copy);
            // Only now: the copy is accepted, so completing cannot lose the message.
            await complete();
            base.messages.push(describe(m, { newMessageId: copy.messageId, redriveCount: copy.applicationProperties[REDRIVE_COUNT_PROPERTY] as number }));
          },
        });
      });
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
    .action(async (name: string, options: PurgeOptions) => {
      const entity = resolveEntity(name);
      const olderThan = options.olderThan === undefined ? undefined : parseDuration(options.olderThan, "--older-than");
      if (!options.yes && !options.dryRun) {
        throw new Error(`purge deletes dead-lettered messages of ${entityName(entity)} for good: add --yes to confirm, or --dry-run to see what would go (see \`custody dlq peek ${entityName(entity)}\` first).`);
      }
      const matchesReason = reasonMatcher(options.reasonLike);
      const cutoff = olderThan === undefined ? undefined : Date.now() - olderThan;
      const matches = (m: DeadLetteredMessage) =>
        matchesReason(m) &&
        (options.evidence === undefined || evidenceIdOf(m) === options.evidence) &&
        (cutoff === undefined || (m.enqueuedTime !== undefined && Date.parse(m.enqueuedTime) < cutoff));
      const filter: AuditRecord["filter"] = { reasonLike: options.reasonLike, evidenceId: options.evidence, olderThan: options.olderThan };
      const result = await withOperations(options, async (operations, target): Promise<DlqChangeResult> => {
        const base: DlqChangeResult = { action: "purge", dryRun: !!options.dryRun, id: randomUUID(), entity: entityName(entity), filter, count: 0, messages: [] };
        const [counts] = await operations.listCounts([entity]);
        if (options.dryRun) {
          const peeked = await operations.peekDeadLetters(entity, Math.max(1, counts.deadLetter));
          base.messages = peeked.filter(matches).map((m) => describe(m));
          base.count = base.messages.length;
          return base;
        }
        return auditedSweep(operations, target, entity, base, {
          json: options.json,
          total: counts.deadLetter,
          matches,
          max: Number.MAX_SAFE_INTEGER,
          act: async (m, complete) => {
            await complete();
            base.messages.push(describe(m));
          },
        });
      });
      printResult(options.json, result, () => formatChange(result));
      process.exitCode = EXIT_OK;
    });
}

export function registerAuditCommand(program: Command): void {
  program
    .command("audit")
    .description("Every dead-letter redrive and purge, every reconcile that re-emitted events and every reprocess: who, when, what (newest first).")
    .option("--since <time>", "only records at or after this ISO date/time, or this long ago (24h, 7d)")
    .option("--data-dir <dir>", "data folder of a running `custody start` (else the settings in the environment)", DEFAULT_DATA_DIR)
    .option("--json", "print a JSON array")
    .action(async (options: { since?: string; dataDir: string; json?: boolean }) => {
      const since = options.since === undefined ? undefined : parseSince(options.since);
      const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: false });
      let records: AuditRecord[];
      try {
        records = await listAuditRecords(target.blobService, since);
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
                  `${Object.entries(r.filter).filter(([, v]) => v !== undefined).length ? `  filter ${printable(JSON.stringify(r.filter))}` : ""}` +
                  `${r.error ? `  STOPPED: ${printable(r.error)}` : ""}${r.evidenceIds.length ? `\n    evidence ${printable(r.evidenceIds.join(", "))}` : ""}`,
              )
              .join("\n"),
      );
      process.exitCode = EXIT_OK;
    });
}

function formatChange(result: DlqChangeResult): string {
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
