/**
 * SQL filters: compiles a predicate once into a tree of closures that evaluate it per message
 * with SQL's three-valued logic. A message matches only when the predicate is TRUE.
 */

import type { ExpressionNode, LikeNode, PredicateNode } from "./sql-ast";
import type { CompiledFilter, FilterableMessage, SqlParameters } from "./filter-types";
import { sqlTextError } from "./filter-error";
import { parseSqlFilter } from "./sql-parser";
import { type CompiledExpression, type SqlCompileContext, compileExpression, readProperty, resolveProperty } from "./sql-expression";
import { type Truth, and, compareValues, isNullish, not, or } from "./sql-values";
import { LikePatternError, likePatternToRegExp } from "./like-pattern";

type Test = (message: FilterableMessage) => Truth;

/**
 * Compiles a SQL filter expression such as `sys.Label LIKE 'order-%' AND priority > 2`.
 * Throws FilterError (code InvalidSqlFilter) for invalid text, naming the position and problem.
 * `parameters` supplies `@name` values, as SqlRuleFilter.Parameters does in the SDKs.
 */
export function compileSqlFilter(expression: string, parameters?: SqlParameters): CompiledFilter {
  const context: SqlCompileContext = { kind: "filter", parameters };
  const test = compilePredicate(parseSqlFilter(expression), context);
  return {
    matches(message: FilterableMessage): boolean {
      try {
        return test(message) === true;
      } catch {
        // Evaluation is written not to throw; this guard keeps routing alive if some odd value
        // (a getter, a proxy) does. The service likewise treats a failed evaluation as no match.
        return false;
      }
    },
  };
}

export function compilePredicate(node: PredicateNode, context: SqlCompileContext): Test {
  switch (node.kind) {
    case "and": {
      const left = compilePredicate(node.left, context);
      const right = compilePredicate(node.right, context);
      // Short-circuit: FALSE AND anything is FALSE.
      return (message) => {
        const leftValue = left(message);
        return leftValue === false ? false : and(leftValue, right(message));
      };
    }
    case "or": {
      const left = compilePredicate(node.left, context);
      const right = compilePredicate(node.right, context);
      return (message) => {
        const leftValue = left(message);
        return leftValue === true ? true : or(leftValue, right(message));
      };
    }
    case "not": {
      const operand = compilePredicate(node.operand, context);
      return (message) => not(operand(message));
    }
    case "compare": {
      const left = compileExpression(node.left, context);
      const right = compileExpression(node.right, context);
      const operator = node.operator;
      if (left.constant && right.constant) {
        const result = compareValues(operator, left.constant.value, right.constant.value);
        return () => result;
      }
      const evaluateLeft = left.evaluate;
      const evaluateRight = right.evaluate;
      return (message) => compareValues(operator, evaluateLeft(message), evaluateRight(message));
    }
    case "isNull": {
      // IS NULL is true for a missing property as well as a null one; it is never unknown.
      const evaluate = compileExpression(node.left, context).evaluate;
      const negated = node.negated;
      return (message) => isNullish(evaluate(message)) !== negated;
    }
    case "in":
      return negateIf(node.negated, compileIn(node.left, node.list, context));
    case "like":
      return negateIf(node.negated, compileLike(node, context));
    case "exists": {
      const reference = resolveProperty(node.property, context);
      if (reference.scope === "user") {
        const name = reference.name;
        // A user property exists if the key is there, even with a null value.
        return (message) => name.findKey(message.applicationProperties) !== undefined;
      }
      // A broker property exists when the message carries a value for it (EXISTS(sys.ReplyTo)
      // is false for a message sent without a ReplyTo).
      return (message) => !isNullish(readProperty(reference, message));
    }
  }
}

function negateIf(negated: boolean, test: Test): Test {
  return negated ? (message) => not(test(message)) : test;
}

/**
 * `left IN (a, b, ...)`: TRUE if left equals an item, otherwise unknown if left is NULL or some
 * comparison was unknown (a NULL item, a type mismatch), otherwise FALSE — SQL's reading of
 * `left = a OR left = b OR ...`.
 */
function compileIn(leftNode: ExpressionNode, listNodes: ExpressionNode[], context: SqlCompileContext): Test {
  const evaluateLeft = compileExpression(leftNode, context).evaluate;
  const items = listNodes.map((item) => compileExpression(item, context));

  // The common case, a list of string constants, becomes one Set lookup.
  const constants = items.map((item) => item.constant?.value);
  if (items.every((item) => item.constant !== undefined) && constants.every((value) => typeof value === "string")) {
    const strings = new Set(constants);
    return (message) => {
      const left = evaluateLeft(message);
      if (typeof left === "string") return strings.has(left);
      return isNullish(left) ? null : genericIn(left, constants);
    };
  }

  const evaluators = items.map((item) => item.evaluate);
  return (message) => {
    const left = evaluateLeft(message);
    if (isNullish(left)) return null;
    return genericIn(
      left,
      evaluators.map((evaluate) => evaluate(message)),
    );
  };
}

function genericIn(left: unknown, values: unknown[]): Truth {
  let result: Truth = false;
  for (const value of values) {
    const equal = compareValues("=", left, value);
    if (equal === true) return true;
    if (equal === null) result = null;
  }
  return result;
}

/**
 * `left LIKE pattern [ESCAPE escape]`. The pattern and escape must be string constants, so the
 * RegExp is built here once; a non-string left operand (or NULL) makes the result unknown.
 */
function compileLike(node: LikeNode, context: SqlCompileContext): Test {
  const evaluateLeft = compileExpression(node.left, context).evaluate;
  const pattern = likeConstant(compileExpression(node.pattern, context), "pattern", node, context);
  const escape = node.escape === null ? undefined : likeConstant(compileExpression(node.escape, context), "ESCAPE", node, context);
  let regexp: RegExp;
  try {
    regexp = likePatternToRegExp(pattern, escape);
  } catch (error) {
    if (error instanceof LikePatternError) throw sqlTextError(context.kind, error.message, node.position);
    throw error;
  }
  return (message) => {
    const left = evaluateLeft(message);
    return typeof left === "string" ? regexp.test(left) : null;
  };
}

function likeConstant(operand: CompiledExpression, role: "pattern" | "ESCAPE", node: LikeNode, context: SqlCompileContext): string {
  const value = operand.constant?.value;
  if (typeof value !== "string") {
    throw sqlTextError(context.kind, `the LIKE ${role} must be a string constant${operand.constant ? `, not ${describeConstant(value)}` : ""}`, node.position);
  }
  return value;
}

function describeConstant(value: unknown): string {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- SQL constants are strings, numbers and booleans
  return value === null ? "NULL" : `${typeof value} ${String(value)}`;
}
