/**
 * Narrowing a subscription of the evidence-ready topic to a consumer's own filter.
 *
 * Service Bus copies a message into a subscription when ANY of its rules matches, so adding a
 * rule can only widen what a subscription receives; narrowing it means replacing its rules.
 * Every subscription of the topology has two kinds of rule: its normal filter, and the rule
 * `redrive` (`custodyRedriveTo = '<subscription>'`) through which `custody dlq redrive`
 * sends a dead-lettered event back to that subscription only. A consumer's filter therefore
 * replaces the normal rules, keeps `redrive`, and is combined with
 * `NOT EXISTS(custodyRedriveTo)` — without that, a message redriven to ANOTHER subscription
 * that also matches the filter would arrive here a second time.
 */

/** A subscription rule as Service Bus holds it (SQL or correlation filter, optional SQL action). */
export interface SubscriptionRule {
  name: string;
  filter: { kind: "sql"; sqlExpression: string } | { kind: "correlation"; properties: Record<string, unknown> } | { kind: "true" } | { kind: "false" };
  /** A SQL rule action, when the rule has one. */
  actionSqlExpression?: string;
}

/** The rule through which redriven dead letters come back (kept whatever the filter). */
export const REDRIVE_RULE_NAME = "redrive";
/** The name of the rule `custody subscribe --filter` adds. */
export const SUBSCRIBE_RULE_NAME = "custody-subscribe";

/** The consumer's SQL filter as a rule expression that never takes another subscription's redrive. */
export function consumerFilterExpression(sql: string): string {
  return `(${sql.trim()}) AND NOT EXISTS(custodyRedriveTo)`;
}

export interface FilterReplacement {
  /** Removed first: a rule of this name left by a run that was killed before it could clean up. */
  stale: string[];
  /** Then added (before the old rules go, so no event falls between the old filter and the new). */
  add: SubscriptionRule;
  /** Then removed: the subscription's normal rules. */
  remove: string[];
  /** What puts the subscription back: these rules re-added, then `add` removed. */
  restore: SubscriptionRule[];
}

/**
 * @param declared the subscription's rules as the topology file declares them, when it is one
 *   of the topology's: restoring those (not whatever is there now) also repairs a subscription
 *   that a killed run left with only its filter.
 */
export function planFilterReplacement(current: readonly SubscriptionRule[], sql: string, declared?: readonly SubscriptionRule[], ruleName = SUBSCRIBE_RULE_NAME): FilterReplacement {
  if (sql.trim() === "") throw new RangeError("the filter is empty");
  const normal = current.filter((rule) => rule.name !== REDRIVE_RULE_NAME && rule.name !== ruleName);
  return {
    stale: current.some((rule) => rule.name === ruleName) ? [ruleName] : [],
    add: { name: ruleName, filter: { kind: "sql", sqlExpression: consumerFilterExpression(sql) } },
    remove: normal.map((rule) => rule.name),
    restore: declared === undefined ? normal : declared.filter((rule) => rule.name !== REDRIVE_RULE_NAME),
  };
}
