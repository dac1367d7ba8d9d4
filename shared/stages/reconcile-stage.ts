/**
 * Reconcile — the answer to a lost Event Grid event or a lost stage message. Finds
 *
 * - originals in the accepted containers with no index record (their BlobCreated event was
 *   never delivered, or ingest never got to it): the evidence id is derived from the blob's
 *   identity exactly as ingest derives it (account, container, name, version id else ETag);
 * - records stuck in `received` or `waiting` whose last change is older than the cutoff (some
 *   stage's message or result was lost);
 * - records created by stage results alone (their evidence-received never arrived, so they name
 *   no original): their original is found by the same listing — the blob whose derived id is
 *   theirs. One the listing does not find is reported as an error saying what to check;
 *
 * and re-sends, for each, the BlobCreated CloudEvent Event Grid would have sent (same
 * deterministic event id) to the blob-created queue. Ingest re-announces the recording and the
 * stages re-run idempotently. Each run is one operation with its own id: the message id is
 * `<event id>:reconcile-<operation id>:blob-created`. Duplicate detection drops a repeated id
 * silently (the send still succeeds), so an id that repeated Event Grid's or an earlier
 * reconcile's would be "sent" and lost; these are new for every run, so a send that resolved is
 * a delivery. A record's re-announcement (stuck, or made by results alone) also carries
 * `custodyOperation = reconcile-<operation id>`, which ingest puts into the evidence-received id
 * it sends: the first announcement's id may still be in the topic's window. An original with no
 * record does not: if its first evidence-received was sent within the window (its event was
 * only in flight), dropping the second is right.
 *
 * Used by `custody reconcile` (which audits what it sent) and the reconcile timer function.
 * Never writes the index. A failure for one recording (a read, a send) is reported on it and
 * the others are still handled.
 */
import { blobCreatedEvent, type BlobContainerLocation, type BlobCreatedCloudEvent } from "../contracts/blob-created-cloud-event";
import { deriveEvidenceId } from "../evidence/evidence-id";
import type { PipelineStage } from "../contracts/messages";
import type { EvidenceRecord } from "../evidence/record";
import { unpublishedUpdateEvents } from "../evidence/record-merge";
import type { RetryPolicy } from "../evidence/retry-policy";
import { rebuildRecord } from "../ledger/rebuild";
import type { CustodyLedger } from "../ports/custody-ledger";
import type { BlobCatalog, UnlistableFolder } from "../ports/blob-store";
import type { EvidenceIndex } from "../ports/evidence-index";
import { OPERATION_PROPERTY, operationCopyMessageId, operationLabel, type OperationRef } from "../contracts/message-ids";
import { ENTITIES } from "../topology";
import type { StageContext } from "./stage-context";

export interface ReconcileDeps {
  catalog: BlobCatalog;
  index: EvidenceIndex;
  /**
   * The custody ledger: an original with no record whose recording the ledger knows is rebuilt
   * from it (same status, fingerprint, custody log, findings; nothing re-hashed, no event
   * announced again) instead of going through ingest again.
   */
  ledger?: { ledger: CustodyLedger; requiredStages: PipelineStage[]; retryPolicy?: RetryPolicy };
  /** Sends one event to the blob-created queue with the given message id and application properties; resolves once accepted. */
  send(messageId: string, event: BlobCreatedCloudEvent, applicationProperties: Record<string, string>): Promise<void>;
}

export interface ReconcileOptions {
  /** This run's id (a UUID; the CLI's audit record id): part of every message id it sends. */
  operationId: string;
  /** The containers uploads land in (the settings' accepted containers). */
  originalsContainers: readonly string[];
  /** Only originals last modified, and records created, at or after this time. */
  since?: Date;
  /** A `received` record not changed since before this instant is stuck. */
  stuckBefore: Date;
  /** List only; send nothing. */
  dryRun?: boolean;
}

/** One recording reconcile re-emitted (or, in a dry run, would re-emit). */
export interface ReconcileItem {
  evidenceId: string;
  /** `container/name`. */
  blob: string;
  /** `no record`, `stuck since <updatedAt>`, or `record names no original (created by stage results alone) since <updatedAt>`. */
  reason: string;
  /** The BlobCreated CloudEvent's id (deterministic from name + ETag). */
  eventId: string;
  /** The Service Bus message id it is (or would be) sent with. */
  messageId: string;
  /** True once Service Bus accepted it; false in a dry run or when the send failed. */
  sent: boolean;
  error?: string;
}

/** A record rebuilt from the custody ledger (or, in a dry run, that would be). */
export interface RebuiltItem {
  evidenceId: string;
  /** `container/name`. */
  blob: string;
  /** The rebuilt record's status. */
  status: string;
  /** Ledger entries it was rebuilt from. */
  entries: number;
  /** True once the index holds it (false in a dry run, or when the write failed). */
  written: boolean;
  error?: string;
}

export interface ReconcileOutcome {
  /** Originals looked at and stuck records found. */
  scanned: { originals: number; stuck: number };
  items: ReconcileItem[];
  /** Records rebuilt from the custody ledger (an index that lost them). */
  rebuilt: RebuiltItem[];
  /** Infrastructure errors (unlistable folders, failed reads); sends that failed are on their item. */
  errors: string[];
}

interface Candidate {
  item: ReconcileItem;
  event: BlobCreatedCloudEvent;
  /** A record's re-announcement: ingest must give its evidence-received an id of this operation. */
  reannounce: boolean;
}

export async function reconcile(deps: ReconcileDeps, context: StageContext, options: ReconcileOptions): Promise<ReconcileOutcome> {
  const outcome: ReconcileOutcome = { scanned: { originals: 0, stuck: 0 }, items: [], rebuilt: [], errors: [] };
  const candidates: Candidate[] = [];
  for (const container of options.originalsContainers) await findUnrecorded(deps, container, options, outcome, candidates);
  await findStuck(deps, options, outcome, candidates);
  const properties = { [OPERATION_PROPERTY]: operationLabel(operationOf(options)) };
  for (const { event, item, reannounce } of candidates) {
    if (!options.dryRun) {
      try {
        await deps.send(item.messageId, event, reannounce ? properties : {});
        item.sent = true;
      } catch (error) {
        item.error = (error as Error).message;
      }
    }
    const fields = { evidenceId: item.evidenceId, blob: item.blob, reason: item.reason, messageId: item.messageId, sent: item.sent, dryRun: !!options.dryRun, error: item.error };
    if (item.error !== undefined) context.log.error("reconcile: re-emit failed", fields);
    else context.log.warn(options.dryRun ? "reconcile: would re-emit" : "reconcile: re-emitted", fields);
  }
  outcome.items = candidates.map((c) => c.item);
  for (const item of outcome.rebuilt) {
    const fields = { evidenceId: item.evidenceId, blob: item.blob, status: item.status, entries: item.entries, written: item.written, dryRun: !!options.dryRun, error: item.error };
    if (item.error !== undefined) context.log.error("reconcile: rebuilding a record from the custody ledger failed", fields);
    else context.log.warn(options.dryRun ? "reconcile: would rebuild a record from the custody ledger" : "reconcile: record rebuilt from the custody ledger", fields);
  }
  for (const error of outcome.errors) context.log.error("reconcile: could not check", { error });
  return outcome;
}

async function findUnrecorded(deps: ReconcileDeps, container: string, options: ReconcileOptions, outcome: ReconcileOutcome, out: Candidate[]): Promise<void> {
  const unlistable = (folder: UnlistableFolder): void => {
    const where = `${container}/${folder.prefix}`;
    const seen = folder.listedUpTo === undefined ? "none of its entries could be listed" : `its entries after ${container}/${folder.listedUpTo} could not be listed`;
    const cause = (folder.error as Error).message;
    outcome.errors.push(`${where}: ${seen}${cause ? ` (${cause})` : ""}; originals there without a record are not found. On Azurite this is a blob name with a control character: rename or delete it`);
  };
  const location = locationOf(deps.catalog, container);
  for await (const blob of deps.catalog.listBlobs(container, unlistable)) {
    if (!blob.etag) continue;
    if (options.since && blob.lastModified && blob.lastModified.getTime() < options.since.getTime()) continue;
    outcome.scanned.originals++;
    // Exactly as ingest derives it (shared/stages/ingest-stage.ts).
    const evidenceId = deriveEvidenceId({
      account: deps.catalog.accountName,
      container,
      name: blob.name,
      ...(blob.versionId ? { versionId: blob.versionId } : {}),
      etag: blob.etag,
    });
    let reason = "no record";
    try {
      const record = (await deps.index.read(evidenceId))?.record;
      if (record !== undefined) {
        // A record made by stage results alone names no original; this blob is it. Re-announced
        // once stuck, like any record (its evidence-received may only be late).
        if (record.original !== undefined || Date.parse(record.updatedAt) >= options.stuckBefore.getTime()) continue;
        reason = `record names no original (created by stage results alone) since ${record.updatedAt}`;
      }
    } catch (error) {
      outcome.errors.push(`${evidenceId} (${container}/${blob.name}): index read failed: ${(error as Error).message}`);
      continue;
    }
    const event = blobCreatedEvent(location, blob.name, blob.etag, blob);
    const where = `${container}/${blob.name}`;
    if (reason === "no record" && deps.ledger !== undefined) {
      const rebuilt = await rebuildFromLedger(deps, deps.ledger, evidenceId, where, options, outcome);
      // Known to the ledger: rebuilt, not re-ingested. Only an event the ledger does not record
      // as published (the final one, or an update) still needs announcing: the re-announced
      // recording makes the index do it.
      if (rebuilt === "failed" || (rebuilt !== undefined && !owesEvent(rebuilt))) continue;
      if (rebuilt !== undefined) reason = "rebuilt from the custody ledger; an event it owes was never confirmed published";
    }
    out.push({ event, reannounce: reason !== "no record", item: { evidenceId, blob: where, reason, eventId: event.id, messageId: copyMessageId(event.id, options), sent: false } });
  }
}

/** The rebuilt record (written unless a dry run), undefined when the ledger has nothing, "failed" when reading or writing failed (reported). */
async function rebuildFromLedger(
  deps: ReconcileDeps,
  { ledger, requiredStages, retryPolicy }: NonNullable<ReconcileDeps["ledger"]>,
  evidenceId: string,
  blob: string,
  options: ReconcileOptions,
  outcome: ReconcileOutcome,
): Promise<EvidenceRecord | "failed" | undefined> {
  let record: EvidenceRecord | undefined;
  let entries: number;
  try {
    const read = await ledger.read(evidenceId);
    entries = read.length;
    record = rebuildRecord(evidenceId, read, { requiredStages, retryPolicy });
  } catch (error) {
    outcome.errors.push(`${evidenceId} (${blob}): custody ledger read failed: ${(error as Error).message}`);
    return "failed";
  }
  if (record === undefined) return undefined;
  const item: RebuiltItem = { evidenceId, blob, status: record.status, entries, written: false };
  outcome.rebuilt.push(item);
  if (options.dryRun) return record;
  try {
    // "exists": someone (the index itself) got there first — its record stands.
    const created = await deps.index.create(record);
    item.written = true;
    if (created !== "exists") return created.record;
    return record;
  } catch (error) {
    item.error = (error as Error).message;
    return "failed";
  }
}

async function findStuck(deps: ReconcileDeps, options: ReconcileOptions, outcome: ReconcileOutcome, out: Candidate[]): Promise<void> {
  const stuck: EvidenceRecord[] = [];
  // A waiting record changes at every retry (each round's failure is recorded, at most every
  // few minutes): one unchanged for the stuck period has lost its retry (a dead-lettered
  // round, say), and is re-announced like a record stuck in `received`.
  for (const status of ["received", "waiting"] as const) {
    try {
      for await (const record of deps.index.list({ status, since: options.since?.toISOString() })) {
        if (Date.parse(record.updatedAt) < options.stuckBefore.getTime()) stuck.push(record);
      }
    } catch (error) {
      outcome.errors.push(`listing records in state ${status} failed: ${(error as Error).message}`);
    }
  }
  stuck.sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
  for (const record of stuck) {
    outcome.scanned.stuck++;
    const original = record.original;
    if (!original) {
      // A stage result arrived but evidence-received never did: the listing above re-announces
      // the original whose derived id is this one, when there is such a blob.
      if (out.some((c) => c.item.evidenceId === record.evidenceId)) continue;
      outcome.errors.push(
        `${record.evidenceId}: stuck since ${record.updatedAt}; the record was made by stage results alone and no original in ${options.originalsContainers.join(", ")}` +
          `${options.since ? ` modified since ${options.since.toISOString()}` : ""} has this evidence id, so there is nothing to re-announce. ` +
          (options.since ? "Run `custody reconcile` without --since to search every original; if that finds none, " : "If ") +
          "the original was deleted, renamed or overwritten (a new version has a new id) or the results were not the pipeline's own: see `custody status " +
          `${record.evidenceId}\` and docs/operations.md ("A record with no original").`,
      );
      continue;
    }
    const event = blobCreatedEvent(locationOf(deps.catalog, original.container), original.name, original.etag, {
      contentType: original.contentType,
      contentLength: original.size,
      versionId: original.versionId,
      lastModified: record.uploadedAt ? new Date(record.uploadedAt) : undefined,
    });
    out.push({
      event,
      reannounce: true,
      item: {
        evidenceId: record.evidenceId,
        blob: `${original.container}/${original.name}`,
        reason: `stuck since ${record.updatedAt}`,
        eventId: event.id,
        messageId: copyMessageId(event.id, options),
        sent: false,
      },
    });
  }
}

/** A decided event the ledger does not record as published. */
function owesEvent(record: EvidenceRecord): boolean {
  return (record.finalEvent !== undefined && record.finalEvent.publishedAt === undefined) || unpublishedUpdateEvents(record).length > 0;
}

function operationOf(options: ReconcileOptions): OperationRef {
  return { kind: "reconcile", id: options.operationId };
}

/** See the header: new for every run, so a resolved send is a delivery. */
function copyMessageId(eventId: string, options: ReconcileOptions): string {
  return operationCopyMessageId(eventId, operationOf(options), ENTITIES.blobCreated.queueName);
}

/** A container as the event builder addresses it, through the catalog. */
function locationOf(catalog: BlobCatalog, container: string): BlobContainerLocation {
  return { accountName: catalog.accountName, containerName: container, getBlobClient: (name) => ({ url: catalog.blobUrl(container, name) }) };
}
