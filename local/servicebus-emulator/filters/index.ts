/**
 * Subscription rule filters and actions for the Service Bus emulator: SQL filters, correlation
 * filters, true/false filters, and SQL rule actions, with the service's documented semantics.
 */

export type { CompiledFilter, CompiledRuleAction, FilterableMessage, SqlParameters } from "./filter-types";
export { FilterError, type FilterErrorCode, type SourcePosition } from "./filter-error";
export { compileSqlFilter } from "./sql-filter";
export { compileSqlRuleAction } from "./sql-action";
export { compileCorrelationFilter } from "./correlation-filter";
export { compileRuleFilter, compileRule, type CompiledRule, TRUE_FILTER, FALSE_FILTER } from "./rule-filter";
