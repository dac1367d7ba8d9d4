/**
 * The evidence index (Cosmos DB). Only the index function writes; the CLI reads. Writes are
 * ETag-guarded: `replace` fails with "conflict" when the document changed since it was read,
 * and the caller re-reads and re-applies its change.
 */
import type { EvidenceRecord, EvidenceStatus } from "../evidence/record";

export interface StoredRecord {
  record: EvidenceRecord;
  etag: string;
}

export interface ListEvidenceOptions {
  status?: EvidenceStatus;
  officerId?: string;
  /** ISO 8601: records created at or after. */
  since?: string;
  /** ISO 8601: records not yet disposed of whose retention ends at or before (shared/evidence/retention.ts), oldest end first. */
  retainedUntilAtOrBefore?: string;
  /** Page size hint. */
  maxItemCount?: number;
}

export interface EvidenceIndex {
  read(evidenceId: string): Promise<StoredRecord | undefined>;
  /** Creates the record; "exists" when a record with that id is already there. */
  create(record: EvidenceRecord): Promise<StoredRecord | "exists">;
  /** Replaces the record if its ETag is still `etag`; "conflict" otherwise. */
  replace(record: EvidenceRecord, etag: string): Promise<StoredRecord | "conflict">;
  list(options?: ListEvidenceOptions): AsyncIterable<EvidenceRecord>;
}
