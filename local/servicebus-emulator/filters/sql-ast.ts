/**
 * The syntax tree the peggy grammar (sql.peggy) builds for SQL filters and rule actions.
 * These shapes are produced by the grammar's JavaScript actions, so any change here must be
 * mirrored there.
 */

import type { SourcePosition } from "./filter-error";

// ---- expressions (values) ----

export interface LiteralNode {
  kind: "literal";
  value: string | number | boolean | null;
  /**
   * For numbers: whether the constant was written as an integer (Int64 in the service) or
   * with a decimal point / exponent (Double). Division depends on it, as in C#.
   */
  numberType?: "integer" | "double";
}

export interface PropertyNode {
  kind: "property";
  /** `user` also for unscoped names, which the docs make the default scope. */
  scope: "sys" | "user";
  /** As written (brackets and quotes removed, doubled delimiters collapsed). */
  name: string;
  position: SourcePosition;
}

export interface ParameterNode {
  kind: "parameter";
  /** Including the leading `@`. */
  name: string;
  position: SourcePosition;
}

export interface FunctionNode {
  kind: "function";
  /** Lower-cased; `p` is normalized to `property` by the grammar. */
  name: "newid" | "property";
  args: ExpressionNode[];
  position: SourcePosition;
}

export interface UnaryNode {
  kind: "unary";
  operator: "+" | "-";
  operand: ExpressionNode;
}

export type ArithmeticOperator = "+" | "-" | "*" | "/" | "%";

export interface BinaryNode {
  kind: "binary";
  operator: ArithmeticOperator;
  left: ExpressionNode;
  right: ExpressionNode;
}

export type ExpressionNode = LiteralNode | PropertyNode | ParameterNode | FunctionNode | UnaryNode | BinaryNode;

// ---- predicates (three-valued truth) ----

/** `!=` is normalized to `<>` by the grammar. */
export type ComparisonOperator = "=" | "<>" | "<" | "<=" | ">" | ">=";

export interface LogicalNode {
  kind: "and" | "or";
  left: PredicateNode;
  right: PredicateNode;
}

export interface NotNode {
  kind: "not";
  operand: PredicateNode;
}

export interface CompareNode {
  kind: "compare";
  operator: ComparisonOperator;
  left: ExpressionNode;
  right: ExpressionNode;
}

export interface IsNullNode {
  kind: "isNull";
  negated: boolean;
  left: ExpressionNode;
}

export interface InNode {
  kind: "in";
  negated: boolean;
  left: ExpressionNode;
  list: ExpressionNode[];
}

export interface LikeNode {
  kind: "like";
  negated: boolean;
  left: ExpressionNode;
  pattern: ExpressionNode;
  escape: ExpressionNode | null;
  /** Where the LIKE keyword is, for errors about the pattern. */
  position: SourcePosition;
}

export interface ExistsNode {
  kind: "exists";
  property: PropertyNode;
}

export type PredicateNode = LogicalNode | NotNode | CompareNode | IsNullNode | InNode | LikeNode | ExistsNode;

// ---- rule action statements ----

export interface SetStatement {
  kind: "set";
  target: PropertyNode;
  value: ExpressionNode;
}

export interface RemoveStatement {
  kind: "remove";
  target: PropertyNode;
}

export type ActionStatement = SetStatement | RemoveStatement;
