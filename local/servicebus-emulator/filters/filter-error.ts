/**
 * The one error type the filter engine throws. It is thrown only while compiling a rule
 * (filter or action), never while evaluating one against a message, so the emulator can
 * reject a bad rule at configuration time the way the service rejects it at rule creation.
 */

export type FilterErrorCode = "InvalidSqlFilter" | "InvalidSqlAction" | "InvalidCorrelationFilter";

/** 1-based, as in the messages the service and peggy print. */
export interface SourcePosition {
  line: number;
  column: number;
}

export class FilterError extends Error {
  override readonly name = "FilterError";

  constructor(
    readonly code: FilterErrorCode,
    message: string,
    readonly position?: SourcePosition,
  ) {
    super(message);
  }
}

/** Which kind of SQL text was being compiled, for error codes and message prefixes. */
export type SqlTextKind = "filter" | "action";

export function sqlErrorCode(kind: SqlTextKind): FilterErrorCode {
  return kind === "filter" ? "InvalidSqlFilter" : "InvalidSqlAction";
}

/**
 * Builds the error for a problem found in SQL text, e.g.
 * `Invalid SQL filter at line 1, column 13: expected expression but end of input found`.
 */
export function sqlTextError(kind: SqlTextKind, problem: string, position?: SourcePosition): FilterError {
  const where = position ? ` at line ${position.line}, column ${position.column}` : "";
  return new FilterError(sqlErrorCode(kind), `Invalid SQL ${kind}${where}: ${problem}`, position);
}
