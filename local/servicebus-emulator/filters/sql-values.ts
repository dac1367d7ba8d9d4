/**
 * Run-time semantics of SQL filter values: three-valued logic, comparison and arithmetic.
 *
 * Values are plain JavaScript values as they sit in the message (string, number, bigint,
 * boolean, Date, null, or anything else the AMQP layer produced). `null` and `undefined` are
 * SQL's NULL / unknown: the docs make any operator with an unknown operand unknown, and a filter
 * matches only when it is TRUE.
 *
 * The docs say operators follow C# binding and implicit conversions. Where an operation has no
 * C# meaning (a string compared with a number, LIKE on a number, ...) the service fails the
 * evaluation and the message is not matched; here such an operation is simply unknown, which
 * gives the same routing result without exceptions on the hot path.
 */

import type { ArithmeticOperator, ComparisonOperator } from "./sql-ast";

/** TRUE, FALSE, or null for UNKNOWN. */
export type Truth = boolean | null;

export function isNullish(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

// ---- three-valued logic (truth tables from the SQL filter docs) ----

export function and(left: Truth, right: Truth): Truth {
  if (left === false || right === false) return false;
  if (left === null || right === null) return null;
  return true;
}

export function or(left: Truth, right: Truth): Truth {
  if (left === true || right === true) return true;
  if (left === null || right === null) return null;
  return false;
}

export function not(value: Truth): Truth {
  return value === null ? null : !value;
}

// ---- comparison ----

/** A number for numeric values (int, long, double all compare by value), else undefined. */
function asNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  // Int64 values may arrive as bigint; past 2^53 they lose precision, as doubles would.
  if (typeof value === "bigint") return Number(value);
  return undefined;
}

function orderingResult(operator: ComparisonOperator, order: number): boolean {
  switch (operator) {
    case "=":
      return order === 0;
    case "<>":
      return order !== 0;
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
  }
}

/**
 * `left <operator> right`. Numbers compare numerically across integer and floating types,
 * strings ordinally (UTF-16 code units, case-sensitive, like C# string.CompareOrdinal), Dates by
 * instant, booleans for (in)equality only. Anything else, NULL included, is unknown.
 */
export function compareValues(operator: ComparisonOperator, left: unknown, right: unknown): Truth {
  if (isNullish(left) || isNullish(right)) return null;

  const leftNumber = asNumber(left);
  const rightNumber = asNumber(right);
  if (leftNumber !== undefined && rightNumber !== undefined) {
    // NaN compares false with everything (C#), except that NaN <> x is true.
    if (Number.isNaN(leftNumber) || Number.isNaN(rightNumber)) return operator === "<>";
    return orderingResult(operator, leftNumber < rightNumber ? -1 : leftNumber > rightNumber ? 1 : 0);
  }
  if (typeof left === "string" && typeof right === "string") {
    return orderingResult(operator, left < right ? -1 : left > right ? 1 : 0);
  }
  if (left instanceof Date && right instanceof Date) {
    const difference = left.getTime() - right.getTime();
    if (Number.isNaN(difference)) return null;
    return orderingResult(operator, Math.sign(difference));
  }
  if (typeof left === "boolean" && typeof right === "boolean") {
    if (operator === "=") return left === right;
    if (operator === "<>") return left !== right;
    return null;
  }
  return null;
}

// ---- arithmetic ----

/**
 * `left <operator> right`. Numbers follow C#: when both operands are integers (and neither is
 * statically a Double, see `integerOperands`), `/` truncates and `%` keeps the dividend's sign,
 * and dividing an integer by zero — a DivideByZeroException in the service — is unknown.
 * `+` also concatenates two strings. Everything else is unknown.
 *
 * `integerOperandsPossible` is false when the compiler knows an operand is a Double (a
 * constant such as `2.0`, which JavaScript cannot tell from `2` at run time).
 */
export function applyArithmetic(operator: ArithmeticOperator, left: unknown, right: unknown, integerOperandsPossible: boolean): unknown {
  if (isNullish(left) || isNullish(right)) return null;

  const leftNumber = asNumber(left);
  const rightNumber = asNumber(right);
  if (leftNumber !== undefined && rightNumber !== undefined) {
    switch (operator) {
      case "+":
        return leftNumber + rightNumber;
      case "-":
        return leftNumber - rightNumber;
      case "*":
        return leftNumber * rightNumber;
      case "/":
      case "%": {
        const integral = integerOperandsPossible && Number.isInteger(leftNumber) && Number.isInteger(rightNumber);
        if (integral && rightNumber === 0) return null;
        if (operator === "%") return leftNumber % rightNumber;
        return integral ? Math.trunc(leftNumber / rightNumber) : leftNumber / rightNumber;
      }
    }
  }
  if (operator === "+" && typeof left === "string" && typeof right === "string") return left + right;
  return null;
}

export function applyUnary(operator: "+" | "-", operand: unknown): unknown {
  const value = asNumber(operand);
  if (value === undefined) return null;
  return operator === "-" ? -value : value;
}
