/**
 * How long and how often a transient failure is retried. Service Bus redelivers an abandoned
 * message at once (ten deliveries last under two seconds), so a short outage of storage, the
 * index or the broker would use up MaxDeliveryCount and strand the recording. Instead, a
 * transient failure is retried later — exponential backoff with jitter — within a budget of
 * TIME (default 6 hours), and MaxDeliveryCount is left for poison messages and crashes.
 *
 * The jitter is derived from a key (the evidence id, stage and round, or a message id) rather
 * than drawn at random: the index's record merge stays a pure function of the messages it has
 * seen (the same due time whichever index instance computes it), while different recordings
 * still spread out. Pure: no I/O, no clock.
 */
import { createHash } from "node:crypto";

export interface RetryPolicy {
  /** Time from the first transient failure after which the failure is final (CUSTODY_RETRY_BUDGET_MINUTES). */
  budgetInMs: number;
  /** Delay before the first retry (CUSTODY_RETRY_FIRST_DELAY_MS); each later one doubles it. */
  firstDelayInMs: number;
  /** Ceiling of one delay (CUSTODY_RETRY_MAX_DELAY_MS). */
  maxDelayInMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  budgetInMs: 6 * 60 * 60 * 1000,
  firstDelayInMs: 5_000,
  maxDelayInMs: 5 * 60 * 1000,
};

/**
 * The delay before retry `round` (1 = the first retry): `firstDelayInMs × 2^(round-1)`, capped
 * at `maxDelayInMs`, then "equal jitter" — between half and all of it — so a burst of
 * recordings that failed together does not come back together.
 */
export function retryDelayInMs(policy: RetryPolicy, round: number, jitterKey: string): number {
  const exponent = Math.min(Math.max(round - 1, 0), 30);
  const ceiling = Math.min(policy.maxDelayInMs, policy.firstDelayInMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (ceiling / 2) * jitterFraction(jitterKey));
}

/** Whether the budget is spent for a failure first seen at `firstFailedAt` and seen again at `failedAt` (ISO 8601 or epoch ms). */
export function retryBudgetSpent(policy: RetryPolicy, firstFailedAt: string | number, failedAt: string | number): boolean {
  const first = typeof firstFailedAt === "number" ? firstFailedAt : Date.parse(firstFailedAt);
  const last = typeof failedAt === "number" ? failedAt : Date.parse(failedAt);
  if (!Number.isFinite(first) || !Number.isFinite(last)) return false;
  return last - first >= policy.budgetInMs;
}

/** A budget as people say it ("6 h", "90 min", "45 s"). */
export function describeBudget(policy: RetryPolicy): string {
  const ms = policy.budgetInMs;
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}

function jitterFraction(key: string): number {
  return createHash("sha256").update(key).digest().readUInt32BE(0) / 0x1_0000_0000;
}
