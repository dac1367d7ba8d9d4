/**
 * The redrive and purge core (shared/operations/redrive.ts) against an in-memory dead-letter
 * queue: the order that makes a redrive lossless (send, then complete), what stays when a send
 * fails, what the audit record says, and the counts the operator reads. The same code against
 * the real SDK and the emulator is covered by test/cli/dlq-redrive*.test.ts.
 */
import type { AuditLog, AuditRecord } from "../../shared/ports/audit-log";
import type { DeadLetteredMessage, DeadLetterReceiver, EntityCounts, LockedDeadLetter, VerbatimMessage, QueueOperations } from "../../shared/ports/queue-operations";
import { purge, redrive, REDRIVE_COUNT_PROPERTY, REDRIVE_ID_PROPERTY, type DeadLetterChangeDeps } from "../../shared/operations/redrive";
import { ENTITIES, ROUTE_TO_SUBSCRIPTION_PROPERTY, type ReceivableEntity } from "../../shared/topology";

const RUN_ID = "0b7c3f0e-5f1e-4d7a-9c55-2a1f4f1b9e01";
const EVIDENCE = "ev-0123456789abcdef0123456789abcdef";

/** A dead-letter queue in memory; `journal` records every send, complete and abandon in order. */
class FakeQueue implements QueueOperations {
  readonly journal: string[] = [];
  readonly sent: Array<{ to: string; message: VerbatimMessage }> = [];
  readonly receiveSizes: number[] = [];
  /** Sends of these copy ids (by original message id) are refused. */
  readonly refuseSendsOf = new Set<string>();
  private readonly locked = new Set<string>();

  constructor(readonly deadLetters: DeadLetteredMessage[]) {}

  async listCounts(entities: readonly ReceivableEntity[]): Promise<EntityCounts[]> {
    return entities.map((e) => ({ entity: e.kind, kind: e.kind, active: 0, deadLetter: this.deadLetters.length, scheduled: null, transferDeadLetter: 0 }));
  }

  async peekDeadLetters(_entity: ReceivableEntity, max: number): Promise<DeadLetteredMessage[]> {
    return this.deadLetters.slice(0, max);
  }

  async openDeadLetterReceiver(): Promise<DeadLetterReceiver> {
    return {
      receive: async (max) => {
        this.receiveSizes.push(max);
        const batch = this.deadLetters.filter((m) => !this.locked.has(m.sequenceNumber)).slice(0, max);
        for (const m of batch) this.locked.add(m.sequenceNumber);
        return batch.map((m): LockedDeadLetter => ({ ...m, handle: m.sequenceNumber }));
      },
      complete: async (m) => {
        this.journal.push(`complete #${m.sequenceNumber}`);
        this.deadLetters.splice(
          this.deadLetters.findIndex((d) => d.sequenceNumber === m.sequenceNumber),
          1,
        );
        this.locked.delete(m.sequenceNumber);
      },
      abandon: async (m) => {
        this.journal.push(`abandon #${m.sequenceNumber}`);
        this.locked.delete(m.sequenceNumber);
      },
      close: async () => undefined,
    };
  }

  async send(queueOrTopic: string, message: VerbatimMessage): Promise<void> {
    const original = message.messageId.split(":")[0];
    if (this.refuseSendsOf.has(original)) throw new Error(`send of ${message.messageId} refused`);
    this.journal.push(`send ${original}`);
    this.sent.push({ to: queueOrTopic, message });
  }

  async close(): Promise<void> {}
}

class FakeAuditLog implements AuditLog {
  readonly records: AuditRecord[] = [];
  async write(record: AuditRecord): Promise<string> {
    this.records.push(record);
    return `audit/${record.id}.json`;
  }
  async list(): Promise<AuditRecord[]> {
    return this.records;
  }
}

function deadLetter(sequence: number, extra: Partial<DeadLetteredMessage> = {}): DeadLetteredMessage {
  return {
    sequenceNumber: String(sequence),
    messageId: `msg-${sequence}`,
    correlationId: EVIDENCE,
    subject: "evidence-received",
    enqueuedTime: "2026-01-01T00:00:00.000Z",
    deadLetterReason: "MaxDeliveryCountExceeded",
    deadLetterErrorDescription: "stage crashed",
    applicationProperties: { evidenceId: EVIDENCE, DeadLetterReason: "MaxDeliveryCountExceeded", DeadLetterErrorDescription: "stage crashed", DeadLetterSource: "x" },
    body: { evidenceId: EVIDENCE },
    ...extra,
  };
}

function deps(queue: FakeQueue, audit: FakeAuditLog, extra: Partial<DeadLetterChangeDeps> = {}): DeadLetterChangeDeps {
  return { operations: queue, audit, operator: async () => "operator@test", ...extra };
}

test("a redrive completes each dead-letter only after its copy was sent, and audits the copies", async () => {
  const queue = new FakeQueue([deadLetter(1), deadLetter(2)]);
  const audit = new FakeAuditLog();

  const result = await redrive(deps(queue, audit), ENTITIES.hashSubscription, { id: RUN_ID });

  expect(queue.journal).toEqual(["send msg-1", "complete #1", "send msg-2", "complete #2"]);
  expect(result).toMatchObject({ action: "redrive", count: 2, remaining: 0, lockedElsewhere: 0, audit: `audit/${RUN_ID}.json`, entity: "evidence-received/hash" });
  expect(audit.records).toHaveLength(1);
  expect(audit.records[0]).toMatchObject({ id: RUN_ID, action: "redrive", who: "operator@test", count: 2, messageIds: ["msg-1", "msg-2"], evidenceIds: [EVIDENCE] });
});

test("a subscription's copy goes to its topic for that subscription only, without the dead-letter properties, with a new id", async () => {
  const queue = new FakeQueue([deadLetter(7, { applicationProperties: { evidenceId: EVIDENCE, DeadLetterReason: "r", [REDRIVE_COUNT_PROPERTY]: 2, [ROUTE_TO_SUBSCRIPTION_PROPERTY]: "thumbnail" } })]);

  await redrive(deps(queue, new FakeAuditLog()), ENTITIES.hashSubscription, { id: RUN_ID });

  const [{ to, message }] = queue.sent;
  expect(to).toBe("evidence-received");
  expect(message.messageId).toBe(`msg-7:redrive-${RUN_ID}:hash:7`);
  expect(message.applicationProperties).toEqual({
    evidenceId: EVIDENCE,
    [REDRIVE_COUNT_PROPERTY]: 3,
    [REDRIVE_ID_PROPERTY]: RUN_ID,
    custodyOperation: `redrive-${RUN_ID}`,
    [ROUTE_TO_SUBSCRIPTION_PROPERTY]: "hash",
  });
  expect(message.body).toEqual({ evidenceId: EVIDENCE });
});

test("a refused send leaves that dead-letter in place, stops the run and still audits what was done", async () => {
  const queue = new FakeQueue([deadLetter(1), deadLetter(2), deadLetter(3)]);
  queue.refuseSendsOf.add("msg-2");
  const audit = new FakeAuditLog();

  await expect(redrive(deps(queue, audit), ENTITIES.blobCreated, { id: RUN_ID })).rejects.toThrow(`redrive stopped after 1 message(s) (audit audit/${RUN_ID}.json): send of msg-2:`);

  expect(queue.journal).not.toContain("complete #2");
  expect(queue.deadLetters.map((m) => m.sequenceNumber)).toEqual(["2", "3"]);
  expect(audit.records[0]).toMatchObject({ count: 1, messageIds: ["msg-1"] });
  expect(audit.records[0].error).toContain("send of msg-2");
});

test("messages that do not match, and those over --max, are abandoned, never completed", async () => {
  const other = "ev-ffffffffffffffffffffffffffffffff";
  const queue = new FakeQueue([deadLetter(1), deadLetter(2, { applicationProperties: { evidenceId: other }, correlationId: other }), deadLetter(3), deadLetter(4)]);

  const result = await redrive(deps(queue, new FakeAuditLog()), ENTITIES.blobCreated, { id: RUN_ID, evidenceId: EVIDENCE, max: 2 });

  expect(queue.journal.filter((line) => line.startsWith("complete"))).toEqual(["complete #1", "complete #3"]);
  expect(queue.journal).toEqual(expect.arrayContaining(["abandon #2", "abandon #4"]));
  expect(result).toMatchObject({ count: 2, remaining: 2, lockedElsewhere: 0 });
});

test("without a filter, no more messages are locked than --max still wants", async () => {
  const queue = new FakeQueue([1, 2, 3, 4, 5].map((n) => deadLetter(n)));

  await redrive(deps(queue, new FakeAuditLog()), ENTITIES.blobCreated, { id: RUN_ID, max: 1 });

  expect(queue.receiveSizes).toEqual([1]);
  expect(queue.journal).toEqual(["send msg-1", "complete #1"]);
});

test("--rate spaces the sends out", async () => {
  const queue = new FakeQueue([deadLetter(1), deadLetter(2), deadLetter(3)]);
  let now = 1_000_000;
  const sleeps: number[] = [];
  const clock = { now: () => now, sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)) };

  await redrive(deps(queue, new FakeAuditLog(), { clock }), ENTITIES.blobCreated, { id: RUN_ID, rate: 2 });

  expect(sleeps).toEqual([500, 500]);
});

test("a dry run sends, completes and audits nothing, and shows the copies' ids", async () => {
  const queue = new FakeQueue([deadLetter(1)]);
  const audit = new FakeAuditLog();

  const result = await redrive(deps(queue, audit), ENTITIES.blobCreated, { id: RUN_ID, dryRun: true });

  expect(queue.journal).toEqual([]);
  expect(audit.records).toEqual([]);
  expect(result).toMatchObject({ dryRun: true, count: 1, messages: [{ sequenceNumber: "1", newMessageId: `msg-1:redrive-${RUN_ID}:blob-created:1`, redriveCount: 1 }] });
  expect(result.audit).toBeUndefined();
});

test("a purge completes only the matching dead-letters older than the cutoff, sends nothing, and audits", async () => {
  const queue = new FakeQueue([deadLetter(1, { enqueuedTime: "2026-01-01T00:00:00.000Z" }), deadLetter(2, { enqueuedTime: "2026-01-09T23:00:00.000Z" })]);
  const audit = new FakeAuditLog();
  const clock = { now: () => Date.parse("2026-01-10T00:00:00.000Z"), sleep: async () => undefined };

  const result = await purge(deps(queue, audit, { clock }), ENTITIES.blobCreated, { id: RUN_ID, olderThanInMs: 86_400_000, olderThanText: "1d" });

  expect(queue.sent).toEqual([]);
  expect(queue.journal).toEqual(["complete #1", "abandon #2"]);
  expect(result).toMatchObject({ action: "purge", count: 1, remaining: 1 });
  expect(audit.records[0]).toMatchObject({ action: "purge", count: 1, filter: { olderThan: "1d" }, messageIds: ["msg-1"] });
});
