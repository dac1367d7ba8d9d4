/**
 * `custody reconcile [--since T] [--stuck-after D] [--dry-run] [--json]` — the answer to a lost
 * Event Grid event. Finds
 *
 * - originals in the `originals` container with no index record (their BlobCreated event was
 *   never delivered, or ingest never got to it): the evidence id is derived from the blob's
 *   identity exactly as ingest derives it (account, container, name, version id else ETag);
 * - records stuck in a non-final state (`received`) whose last change is older than D
 *   (default 1h): some stage's message was lost;
 *
 * and sends, for each, the same `Microsoft.Storage.BlobCreated` CloudEvent Event Grid would
 * have sent (local/blob-event-source.ts builds it, with a deterministic id from name + ETag)
 * to the blob-created queue. Ingest re-announces the recording and the stages re-run
 * idempotently. A missing record's event carries message id = event id, so duplicate
 * detection drops a second reconcile (or a late Event Grid delivery) within its window; a
 * stuck record's re-emit carries `<event id>:reconcile:<updatedAt>`, so it is not taken for the
 * original delivery, yet a second reconcile of the same unchanged state is dropped.
 *
 * Exit code 0 when nothing needed re-emitting or everything was re-emitted; 2 for usage or
 * infrastructure errors (a folder that could not be listed, an index read or a send that
 * failed — the others are still handled). A run that re-emitted anything (not a dry run) writes
 * an audit record (cli/audit-log.ts).
 */
import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import type { ContainerClient } from "@azure/storage-blob";
import { blobCreatedEvent, type BlobCreatedCloudEvent } from "../../local/blob-event-source";
import { listBlobsIsolatingFailures } from "../../local/azurite-listing";
import { ORIGINALS_CONTAINER } from "../../local/stack";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import type { EvidenceRecord } from "../../shared/evidence/record";
import type { EvidenceIndex } from "../../shared/ports/evidence-index";
import type { QueueOperations } from "../../shared/ports/queue-operations";
import { ENTITIES } from "../../shared/topology";
import { parseDuration, parseSince, whoAmI, writeAuditRecord, type AuditRecord } from "../audit-log";
import { EXIT_OK, EXIT_USAGE_OR_INFRASTRUCTURE } from "../exit-codes";
import { DEFAULT_DATA_DIR, type StackTarget } from "../stack-target";
import { withOperations } from "./dlq";

interface ReconcileOptions {
  since?: string;
  stuckAfter: string;
  dryRun?: boolean;
  json?: boolean;
  dataDir: string;
}

/** One recording reconcile re-emitted (or, in a dry run, would re-emit). */
export interface ReconcileItem {
  evidenceId: string;
  /** `container/name`. */
  blob: string;
  /** `no record`, or `stuck since <updatedAt>`. */
  reason: string;
  /** The BlobCreated CloudEvent's id (deterministic from name + ETag). */
  eventId: string;
  /** The Service Bus message id it is (or would be) sent with. */
  messageId: string;
  /** True once Service Bus accepted it; false in a dry run or when the send failed. */
  sent: boolean;
  error?: string;
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
  /** Infrastructure errors (unlistable folders, failed reads); sends that failed are on their item. */
  errors: string[];
  /** The audit blob (`audit/…`), when the run re-emitted anything. */
  audit?: string;
}

interface Candidate {
  item: ReconcileItem;
  event: BlobCreatedCloudEvent;
}

export function registerReconcileCommand(program: Command): void {
  program
    .command("reconcile")
    .description("Re-emit BlobCreated events for originals with no index record and for recordings stuck in a non-final state (audited).")
    .option("--since <time>", "only originals last modified (and records created) at or after this ISO date/time, or this long ago (24h, 7d)")
    .option("--stuck-after <duration>", "a `received` record not changed for this long is stuck (30m, 12h, 7d)", "1h")
    .option("--dry-run", "list what would be re-emitted; send nothing")
    .option("--data-dir <dir>", "data folder of a running `custody start` (else the settings in the environment)", DEFAULT_DATA_DIR)
    .option("--json", "print the result as JSON")
    .action(async (options: ReconcileOptions) => {
      const since = options.since === undefined ? undefined : parseSince(options.since);
      const stuckAfter = parseDuration(options.stuckAfter, "--stuck-after");
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
          errors: [],
        };
        const candidates: Candidate[] = [];
        const originals = target.blobService.getContainerClient(ORIGINALS_CONTAINER);
        await findUnrecorded(originals, target.services.index, since, base, candidates);
        await findStuck(target.services.index, (name) => target.blobService.getContainerClient(name), since, Date.now() - stuckAfter, base, candidates);
        if (!base.dryRun) await send(operations, candidates);
        base.items = candidates.map((c) => c.item);
        base.count = base.items.length;
        if (!base.dryRun && base.items.some((i) => i.sent)) base.audit = await audit(target, base);
        return base;
      });
      print(options.json, result, () => format(result));
      const failed = result.errors.length > 0 || (!result.dryRun && result.items.some((i) => !i.sent));
      process.exitCode = failed ? EXIT_USAGE_OR_INFRASTRUCTURE : EXIT_OK;
    });
}

async function findUnrecorded(container: ContainerClient, index: EvidenceIndex, since: Date | undefined, base: ReconcileResult, out: Candidate[]): Promise<void> {
  const unlistable = (prefix: string, error: unknown): void => {
    base.errors.push(`${container.containerName}/${prefix}: could not be listed: ${(error as Error).message}`);
  };
  for await (const blob of listBlobsIsolatingFailures(container, unlistable)) {
    if (!blob.etag) continue;
    if (since && blob.lastModified && blob.lastModified.getTime() < since.getTime()) continue;
    base.scanned.originals++;
    // Exactly as ingest derives it (shared/stages/ingest-stage.ts).
    const evidenceId = deriveEvidenceId({
      account: container.accountName,
      container: container.containerName,
      name: blob.name,
      ...(blob.versionId ? { versionId: blob.versionId } : {}),
      etag: blob.etag,
    });
    try {
      if ((await index.read(evidenceId)) !== undefined) continue;
    } catch (error) {
      base.errors.push(`${evidenceId} (${container.containerName}/${blob.name}): index read failed: ${(error as Error).message}`);
      continue;
    }
    const event = blobCreatedEvent(container, blob.name, blob.etag, blob);
    out.push({ event, item: { evidenceId, blob: `${container.containerName}/${blob.name}`, reason: "no record", eventId: event.id, messageId: event.id, sent: false } });
  }
}

async function findStuck(
  index: EvidenceIndex,
  containerFor: (name: string) => ContainerClient,
  since: Date | undefined,
  cutoff: number,
  base: ReconcileResult,
  out: Candidate[],
): Promise<void> {
  const stuck: EvidenceRecord[] = [];
  try {
    for await (const record of index.list({ status: "received", since: since?.toISOString() })) {
      if (Date.parse(record.updatedAt) < cutoff) stuck.push(record);
    }
  } catch (error) {
    base.errors.push(`listing records in state received failed: ${(error as Error).message}`);
  }
  stuck.sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
  for (const record of stuck) {
    base.scanned.stuck++;
    const original = record.original;
    if (!original) {
      // A stage result arrived but evidence-received never did, and nothing says which blob it is.
      base.errors.push(`${record.evidenceId}: stuck since ${record.updatedAt}, but the record names no original to re-announce`);
      continue;
    }
    const container = containerFor(original.container);
    const event = blobCreatedEvent(container, original.name, original.etag, {
      contentType: original.contentType,
      contentLength: original.size,
      versionId: original.versionId,
      lastModified: record.uploadedAt ? new Date(record.uploadedAt) : undefined,
    });
    out.push({
      event,
      item: {
        evidenceId: record.evidenceId,
        blob: `${original.container}/${original.name}`,
        reason: `stuck since ${record.updatedAt}`,
        eventId: event.id,
        messageId: `${event.id}:reconcile:${Date.parse(record.updatedAt)}`,
        sent: false,
      },
    });
  }
}

async function send(operations: QueueOperations, candidates: Candidate[]): Promise<void> {
  for (const { event, item } of candidates) {
    try {
      await operations.send(ENTITIES.blobCreated.queueName, {
        messageId: item.messageId,
        body: event,
        contentType: "application/cloudevents+json; charset=utf-8",
        subject: event.type,
        applicationProperties: {},
      });
      item.sent = true;
    } catch (error) {
      item.error = (error as Error).message;
    }
  }
}

async function audit(target: StackTarget, result: ReconcileResult): Promise<string> {
  const sent = result.items.filter((i) => i.sent);
  const failed = result.items.filter((i) => !i.sent);
  const record: AuditRecord = {
    id: result.id,
    action: "reconcile",
    who: await whoAmI(target.settings),
    at: new Date().toISOString(),
    entity: result.queue,
    destination: result.queue,
    filter: { since: result.since, stuckAfter: result.stuckAfter },
    count: sent.length,
    messageIds: sent.map((i) => i.messageId),
    evidenceIds: [...new Set(sent.map((i) => i.evidenceId))],
    ...(failed.length > 0 ? { error: `${failed.length} event(s) not sent: ${failed[0].error ?? "unknown error"}` } : {}),
  };
  return `audit/${await writeAuditRecord(target.blobService, record)}`;
}

function format(result: ReconcileResult): string {
  const verb = result.dryRun ? "would re-emit" : "re-emitted";
  const sent = result.dryRun ? result.count : result.items.filter((i) => i.sent).length;
  const lines = [
    `reconcile: ${result.scanned.originals} original(s) checked, ${result.scanned.stuck} stuck record(s); ${verb} ${sent} BlobCreated event(s) to ${result.queue}${result.dryRun ? " (dry run: nothing sent)" : ""}`,
  ];
  for (const i of result.items) {
    lines.push(`  ${i.evidenceId}  ${i.blob}  ${i.reason}${result.dryRun ? "" : i.sent ? "  sent" : `  NOT SENT: ${i.error ?? "unknown error"}`}`);
  }
  for (const e of result.errors) lines.push(`  ERROR ${e}`);
  if (result.audit) lines.push(`Audit record: ${result.audit} (id ${result.id}); see \`custody audit\`.`);
  return lines.join("\n");
}

function print(json: boolean | undefined, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
