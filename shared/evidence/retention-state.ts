/**
 * A recording's retention as its index record holds it (see shared/evidence/retention.ts for
 * how commands change it and retention/schedule.json for the categories).
 */

export interface RetentionHold {
  caseReference: string;
  placedAt: string;
  placedBy: string;
  reason: string;
  commandId: string;
}

/** One accepted retention command, as the history keeps it. */
export interface RetentionChange {
  commandId: string;
  action: "categorise" | "hold" | "release" | "dispose";
  /** When it was asked for (the sender's time). */
  requestedAt: string;
  /** When the index recorded it. */
  recordedAt: string;
  requestedBy: string;
  source: "operator" | "system";
  reason: string;
  caseReference?: string;
  /** categorise: the category before and after, and the end of retention it left. */
  category?: string;
  previousCategory?: string;
  retainUntil?: string;
  /** What it changed: false for a hold already placed, or a review that kept the same end. */
  changed: boolean;
}

export interface RetentionState {
  category: string;
  /** When the recording entered the category (for the default: when the index first recorded it). */
  categorisedAt: string;
  /** The earliest the original may be disposed of; never moves earlier. */
  retainUntil: string;
  /** What happens at `retainUntil` (the category's disposal). */
  disposal: "automatic" | "review";
  /** Legal holds in force, one per case. */
  holds: RetentionHold[];
  history: RetentionChange[];
}

/**
 * A recording disposed of (or being): decided by a `dispose` command the index accepted, then
 * the original's version and every derived blob deleted, then announced. Kept on the record as
 * its tombstone: what it was (fingerprint, category), who decided, when and why.
 */
export interface DisposalState {
  /** `deleting` until every blob is gone (a restart resumes it); then `disposed`. */
  state: "deleting" | "disposed";
  commandId: string;
  decidedAt: string;
  decidedBy: string;
  reason: string;
  category: string;
  retainUntil: string;
  /** The original's SHA-256 (the hash stage's), kept after the bytes are gone. */
  sha256?: string;
  /** When the last blob went, and what went: the original's version and the derived blobs' versions. */
  deletedAt?: string;
  deleted?: { original: "deleted" | "absent"; derivedVersions: number };
  /** The evidence-disposed event owed once `disposed` (its id), and when Service Bus accepted it. */
  event?: { messageId: string; publishedAt?: string };
}
