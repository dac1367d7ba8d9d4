/**
 * Waiting, in tests, for something the pipeline does asynchronously: a probe polled until it
 * yields a value, and the index-record conditions most end-to-end tests wait on. Failures
 * name what was awaited and show the last record, so a timeout says why.
 */
import type { EvidenceRecord } from "../../shared/evidence/record";
import type { EvidenceIndex } from "../../shared/ports/evidence-index";

const POLL_INTERVAL_IN_MS = 100;

/** Polls `probe` until it returns something other than undefined. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutInMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_IN_MS));
  }
}

/** A recording that reached its outcome and whose final event Service Bus accepted. */
export function isFinal(record: EvidenceRecord): boolean {
  return (record.status === "ready" || record.status === "failed" || record.status === "rejected") && record.finalEvent?.publishedAt !== undefined;
}

/** The record of `evidenceId` once `done` holds for it (default: final). */
export async function waitForRecord(index: EvidenceIndex, evidenceId: string, done: (record: EvidenceRecord) => boolean = isFinal, timeoutInMs = 30_000): Promise<EvidenceRecord> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const record = (await index.read(evidenceId))?.record;
    if (record && done(record)) return record;
    if (Date.now() > deadline) throw new Error(`record ${evidenceId} not as expected in time; last record ${JSON.stringify(record ?? null)?.slice(0, 4000)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_IN_MS));
  }
}

/** The evidence id of the record whose original is `blobName`, once the index has one. */
export function evidenceIdForBlob(index: EvidenceIndex, blobName: string, timeoutInMs = 15_000): Promise<string> {
  return waitFor(
    `a record for ${blobName}`,
    async () => {
      for await (const record of index.list({})) if (record.original?.name === blobName) return record.evidenceId;
      return undefined;
    },
    timeoutInMs,
  );
}
