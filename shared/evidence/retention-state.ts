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
  action: "categorise" | "hold" | "release";
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
