/**
 * Redrive and purge of a dead-letter queue — the operations that change one, behind the queue
 * operations port (so the same code runs against Azure, the emulator and a fake in unit tests).
 * `custody dlq redrive` and `custody dlq purge` are thin shells over these.
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
 * Every redrive or purge (not a dry run) writes an audit record, also when it stopped on an error.
 */
import { randomUUID } from "node:crypto";
import { OPERATION_PROPERTY, operationCopyBase, operationCopyMessageId, operationLabel, type OperationRef } from "../contracts/message-ids";
import type { AuditLog, AuditRecord } from "../ports/audit-log";
import type { DeadLetteredMessage, LockedDeadLetter, VerbatimMessage, QueueOperations } from "../ports/queue-operations";
import { entityName, ROUTE_TO_SUBSCRIPTION_PROPERTY as REDRIVE_TO_PROPERTY, type ReceivableEntity } from "../topology";
import { evidenceIdOf, reasonMatcher } from "./dead-letters";

export const REDRIVE_COUNT_PROPERTY = "custodyRedriveCount";
export const REDRIVE_ID_PROPERTY = "custodyRedriveId";
const DEAD_LETTER_PROPERTIES = ["DeadLetterReason", "DeadLetterErrorDescription", "DeadLetterSource"];

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

export interface DeadLetterChangeResult {
  action: "redrive" | "purge";
  dryRun: boolean;
  id: string;
  entity: string;
  /** Redrive: the queue, or `topic (custodyRedriveTo=subscription)`. */
  destination?: string;
  filter: AuditRecord["filter"];
  count: number;
  messages: MovedMessage[];
  /** The audit record (`audit/…`), absent in a dry run. */
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

/** What a redrive or purge works with; only `operations` and `audit` touch the outside. */
export interface DeadLetterChangeDeps {
  operations: QueueOperations;
  audit: AuditLog;
  /** Who is acting, for the audit record. */
  operator(): Promise<string>;
  /** A progress display for `total` messages (the CLI's bar); none by default. */
  startProgress?: (total: number) => { update(done: number): void; stop(): void };
  /** Time, for --rate; the real clock by default. */
  clock?: { now(): number; sleep(ms: number): Promise<void> };
}

export interface DeadLetterSelection {
  /** Dead-letter reason or description: a case-insensitive glob (`*`, `?`) or substring. */
  reasonLike?: string;
  /** Only messages of this evidence id. */
  evidenceId?: string;
  /** Peek only: say what would change, change nothing (no audit record). */
  dryRun?: boolean;
}

export interface RedriveOptions extends DeadLetterSelection {
  /** At most this many messages. */
  max?: number;
  /** At most this many messages per second. */
  rate?: number;
  /** The run's id (in every copy's id and the audit record); a new UUID by default. */
  id?: string;
}

export interface PurgeOptions extends DeadLetterSelection {
  /** Only messages enqueued longer ago than this. */
  olderThanInMs?: number;
  /** As the operator wrote it, for the audit record (`7d`). */
  olderThanText?: string;
  /** The run's id; a new UUID by default. */
  id?: string;
}

const REAL_CLOCK = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) };

export async function redrive(deps: DeadLetterChangeDeps, entity: ReceivableEntity, options: RedriveOptions = {}): Promise<DeadLetterChangeResult> {
  const { operations } = deps;
  const clock = deps.clock ?? REAL_CLOCK;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const matchesReason = reasonMatcher(options.reasonLike);
  const matches = (m: DeadLetteredMessage) => matchesReason(m) && (options.evidenceId === undefined || evidenceIdOf(m) === options.evidenceId);
  const destination = destinationOf(entity);
  const id = options.id ?? randomUUID();
  const filter: AuditRecord["filter"] = { reasonLike: options.reasonLike, evidenceId: options.evidenceId, max: options.max, rate: options.rate };
  const base: DeadLetterChangeResult = { action: "redrive", dryRun: !!options.dryRun, id, entity: entityName(entity), destination: destination.description, filter, count: 0, messages: [] };
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
  const interval = options.rate === undefined ? 0 : 1000 / options.rate;
  let nextSendAt = 0;
  const sentIds = new Set<string>();
  return auditedSweep(deps, entity, base, {
    total: Math.min(max, counts.deadLetter),
    matches,
    max,
    rate: options.rate,
    act: async (m, complete) => {
      const wait = nextSendAt - clock.now();
      if (wait > 0) await clock.sleep(wait);
      nextSendAt = clock.now() + interval;
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
}

export async function purge(deps: DeadLetterChangeDeps, entity: ReceivableEntity, options: PurgeOptions = {}): Promise<DeadLetterChangeResult> {
  const { operations } = deps;
  const clock = deps.clock ?? REAL_CLOCK;
  const matchesReason = reasonMatcher(options.reasonLike);
  const cutoff = options.olderThanInMs === undefined ? undefined : clock.now() - options.olderThanInMs;
  const matches = (m: DeadLetteredMessage) =>
    matchesReason(m) && (options.evidenceId === undefined || evidenceIdOf(m) === options.evidenceId) && (cutoff === undefined || (m.enqueuedTime !== undefined && Date.parse(m.enqueuedTime) < cutoff));
  const filter: AuditRecord["filter"] = { reasonLike: options.reasonLike, evidenceId: options.evidenceId, olderThan: options.olderThanText };
  const base: DeadLetterChangeResult = { action: "purge", dryRun: !!options.dryRun, id: options.id ?? randomUUID(), entity: entityName(entity), filter, count: 0, messages: [] };
  const [counts] = await operations.listCounts([entity]);
  if (options.dryRun) {
    const peeked = await operations.peekDeadLetters(entity, Math.max(1, counts.deadLetter));
    base.messages = peeked.filter(matches).map((m) => describe(m));
    base.count = base.messages.length;
    return base;
  }
  return auditedSweep(deps, entity, base, {
    total: counts.deadLetter,
    matches,
    max: Number.MAX_SAFE_INTEGER,
    act: async (m, complete) => {
      await complete();
      base.messages.push(describe(m));
    },
  });
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
 * A redrive or purge: sweeps the dead-letter queue with progress, then writes the audit
 * record whatever happened — a run stopped by an error is audited with what it did before.
 */
async function auditedSweep(
  deps: DeadLetterChangeDeps,
  entity: ReceivableEntity,
  result: DeadLetterChangeResult,
  options: { total: number; matches: (m: LockedDeadLetter) => boolean; max: number; rate?: number; act: (m: LockedDeadLetter, complete: () => Promise<void>) => Promise<unknown> },
): Promise<DeadLetterChangeResult> {
  const progress = deps.startProgress?.(options.total);
  let held = 0;
  try {
    ({ held } = await sweep(deps.operations, entity, {
      matches: options.matches,
      filtered: result.filter.reasonLike !== undefined || result.filter.evidenceId !== undefined || result.filter.olderThan !== undefined,
      // Under --rate, lock no more than ~20 s of work at a time: a batch held longer than the
      // entity's lock duration (1 min on the queues) would lose its locks before it is sent.
      batch: options.rate === undefined ? 50 : Math.max(1, Math.min(50, Math.floor(options.rate * 20))),
      max: options.max,
      act: async (m, complete) => {
        await options.act(m, complete);
        result.count = result.messages.length;
        progress?.update(result.count);
      },
    }));
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    progress?.stop();
  }
  if (result.error === undefined) {
    // What is left, and whether some of it was out of reach (locked): an operator re-running
    // after an interrupted redrive must know to wait for the old locks rather than assume
    // the queue is done.
    const [after] = await deps.operations.listCounts([entity]);
    result.remaining = after.deadLetter;
    result.lockedElsewhere = Math.max(0, after.deadLetter - held);
  }
  result.audit = await deps.audit.write({
    id: result.id,
    action: result.action,
    who: await deps.operator(),
    at: new Date().toISOString(),
    entity: result.entity,
    destination: result.destination,
    filter: result.filter,
    count: result.count,
    messageIds: result.messages.map((m) => m.messageId ?? `seq-${m.sequenceNumber}`),
    evidenceIds: [...new Set(result.messages.map((m) => m.evidenceId).filter((id): id is string => id !== undefined))],
    ...(result.error ? { error: result.error } : {}),
  });
  if (result.error) throw new Error(`${result.action} stopped after ${result.count} message(s) (audit ${result.audit}): ${result.error}`);
  return result;
}
