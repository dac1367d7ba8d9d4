/**
 * Compiles a subscription rule (filter plus optional action) from its configuration spec.
 */

import type { RuleFilterSpec, RuleSpec } from "../config/types";
import type { CompiledFilter, CompiledRuleAction } from "./filter-types";
import { compileCorrelationFilter } from "./correlation-filter";
import { compileSqlFilter } from "./sql-filter";
import { compileSqlRuleAction } from "./sql-action";

/** The service's TrueFilter (`1=1`), e.g. the `$Default` rule. */
export const TRUE_FILTER: CompiledFilter = { matches: () => true };

/** The service's FalseFilter (`1=0`). */
export const FALSE_FILTER: CompiledFilter = { matches: () => false };

/** Throws FilterError when the filter is invalid. */
export function compileRuleFilter(spec: RuleFilterSpec): CompiledFilter {
  switch (spec.kind) {
    case "sql":
      return compileSqlFilter(spec.sqlExpression);
    case "correlation":
      return compileCorrelationFilter(spec.correlation);
    case "true":
      return TRUE_FILTER;
    case "false":
      return FALSE_FILTER;
  }
}

export interface CompiledRule {
  name: string;
  filter: CompiledFilter;
  /** Absent when the rule has no action. */
  action?: CompiledRuleAction;
}

/** Compiles a rule's filter and action; throws FilterError if either is invalid. */
export function compileRule(rule: RuleSpec): CompiledRule {
  const filter = compileRuleFilter(rule.filter);
  const actionText = rule.actionSqlExpression;
  if (actionText === undefined || actionText.trim() === "") return { name: rule.name, filter };
  return { name: rule.name, filter, action: compileSqlRuleAction(actionText) };
}
