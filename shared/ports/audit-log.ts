/**
 * The operators' audit log: one record per redrive, purge, reconcile, reprocess or retention change — and per
 * disposal run of the timer — who, when,
 * what. Written once and never changed. Implemented by adapters/blob-audit-log.ts (one JSON
 * blob per record in the evidence account's `audit` container). The index (Cosmos) is never
 * written by an operation: the index function is its only writer.
 */

export interface AuditRecord {
  /** One id per run (the redrive id for a redrive). */
  id: string;
  action: "redrive" | "purge" | "reconcile" | "reprocess" | "retention-categorise" | "retention-hold" | "retention-release" | "disposal";
  /** The identity in use: the token's upn/oid with a managed identity or `az login`, else user@host. */
  who: string;
  /** ISO 8601, when the run finished. */
  at: string;
  /** `queue` or `topic/subscription`. */
  entity: string;
  /** Where the copies went (redrive). */
  destination?: string;
  filter: {
    reasonLike?: string;
    evidenceId?: string;
    max?: number;
    rate?: number;
    olderThan?: string;
    since?: string;
    stuckAfter?: string;
    stages?: string[];
    reason?: string;
    /** Retention commands: the category set, the case held or released. */
    category?: string;
    caseReference?: string;
  };
  count: number;
  messageIds: string[];
  evidenceIds: string[];
  /** Set when the run stopped on an error after `count` messages. */
  error?: string;
  /** Where this record is stored (`audit/<name>`; filled when listed). */
  blob?: string;
}

export interface AuditLog {
  /** Stores the record (never overwriting one); resolves with where it is (`audit/<name>`). */
  write(record: AuditRecord): Promise<string>;
  /** Records at or after `since`, newest first. */
  list(since?: Date): Promise<AuditRecord[]>;
}
