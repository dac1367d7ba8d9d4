/**
 * Compiles SQL value expressions (sql-ast.ts ExpressionNode) into closures over a message, for
 * both filters and rule actions. All name resolution and validation happens here, once; the
 * closures only read properties and apply the operators of sql-values.ts.
 */

import { randomUUID } from "node:crypto";
import type { ExpressionNode, PropertyNode } from "./sql-ast";
import type { FilterableMessage, SqlParameters } from "./filter-types";
import { type SqlTextKind, sqlTextError } from "./filter-error";
import { ApplicationPropertyName } from "./application-properties";
import { type SystemPropertyName, canonicalSystemPropertyName } from "./system-properties";
import { applyArithmetic, applyUnary } from "./sql-values";

/** Returns the expression's value; null (or undefined) is SQL NULL / unknown. */
export type Evaluate = (message: FilterableMessage) => unknown;

/**
 * What the compiler knows about a value's type. Only the integer / double distinction matters
 * (for `/` and `%`), and JavaScript numbers lose it, so it is tracked from the constants.
 */
export type StaticType = "integer" | "double" | "unknown";

export interface CompiledExpression {
  evaluate: Evaluate;
  staticType: StaticType;
  /** Present when the value does not depend on the message (folded at compile time). */
  constant?: { value: unknown };
}

/** Compile-time context: which language is being compiled (for errors) and its parameters. */
export interface SqlCompileContext {
  kind: SqlTextKind;
  parameters: SqlParameters | undefined;
}

/** A resolved `sys.X` / `user.X` reference. */
export type PropertyReference = { scope: "sys"; name: SystemPropertyName } | { scope: "user"; name: ApplicationPropertyName };

export function resolveProperty(node: PropertyNode, context: SqlCompileContext): PropertyReference {
  if (node.scope === "user") return { scope: "user", name: new ApplicationPropertyName(node.name) };
  const name = canonicalSystemPropertyName(node.name);
  if (name === undefined) {
    throw sqlTextError(context.kind, `unknown system property 'sys.${node.name}'`, node.position);
  }
  return { scope: "sys", name };
}

/** The property's value, undefined when the message does not have it. */
export function readProperty(reference: PropertyReference, message: FilterableMessage): unknown {
  return reference.scope === "sys" ? message.systemProperties[reference.name] : reference.name.read(message.applicationProperties);
}

function constant(value: unknown, staticType: StaticType): CompiledExpression {
  return { evaluate: () => value, staticType, constant: { value } };
}

/** Folds a message-independent expression to its value now rather than per message. */
function foldIfConstant(expression: CompiledExpression, operands: CompiledExpression[]): CompiledExpression {
  if (!operands.every((operand) => operand.constant !== undefined)) return expression;
  const message: FilterableMessage = { systemProperties: {}, applicationProperties: {} };
  return constant(expression.evaluate(message), expression.staticType);
}

export function compileExpression(node: ExpressionNode, context: SqlCompileContext): CompiledExpression {
  switch (node.kind) {
    case "literal":
      return constant(node.value, node.numberType ?? "unknown");

    case "parameter":
      return constant(parameterValue(node.name, node.position, context), "unknown");

    case "property": {
      const reference = resolveProperty(node, context);
      return { evaluate: (message) => readProperty(reference, message), staticType: "unknown" };
    }

    case "function":
      return compileFunction(node.name, node.args, context);

    case "unary": {
      const operand = compileExpression(node.operand, context);
      const operator = node.operator;
      const evaluateOperand = operand.evaluate;
      return foldIfConstant({ evaluate: (message) => applyUnary(operator, evaluateOperand(message)), staticType: operand.staticType }, [operand]);
    }

    case "binary": {
      const left = compileExpression(node.left, context);
      const right = compileExpression(node.right, context);
      const operator = node.operator;
      const integerOperandsPossible = left.staticType !== "double" && right.staticType !== "double";
      const staticType: StaticType = left.staticType === "integer" && right.staticType === "integer" ? "integer" : integerOperandsPossible ? "unknown" : "double";
      const evaluateLeft = left.evaluate;
      const evaluateRight = right.evaluate;
      return foldIfConstant(
        {
          evaluate: (message) => applyArithmetic(operator, evaluateLeft(message), evaluateRight(message), integerOperandsPossible),
          staticType,
        },
        [left, right],
      );
    }
  }
}

function compileFunction(name: "newid" | "property", args: ExpressionNode[], context: SqlCompileContext): CompiledExpression {
  if (name === "newid") {
    // System.Guid.NewGuid() in the service; a GUID string is its closest JavaScript value.
    return { evaluate: () => randomUUID(), staticType: "unknown" };
  }
  // property(name): the name is itself an expression, so the lookup happens per message.
  const [argument] = args;
  const nameExpression = compileExpression(argument, context);
  const evaluateName = nameExpression.evaluate;
  return {
    evaluate: (message) => {
      const propertyName = evaluateName(message);
      if (typeof propertyName !== "string") return null;
      return readDynamicProperty(propertyName, message);
    },
    staticType: "unknown",
  };
}

/**
 * property('sys.Label'), property('user.x') or property('x'). An unknown `sys.` name cannot be
 * rejected at compile time here, so it is unknown.
 */
function readDynamicProperty(name: string, message: FilterableMessage): unknown {
  const lower = name.toLowerCase();
  if (lower.startsWith("sys.")) {
    const systemName = canonicalSystemPropertyName(name.slice(4));
    return systemName === undefined ? null : message.systemProperties[systemName];
  }
  const userName = lower.startsWith("user.") ? name.slice(5) : name;
  return new ApplicationPropertyName(userName).read(message.applicationProperties);
}

function parameterValue(name: string, position: { line: number; column: number }, context: SqlCompileContext): unknown {
  const parameters = context.parameters ?? {};
  const bare = name.slice(1);
  for (const key of [name, bare]) {
    if (Object.hasOwn(parameters, key)) return parameters[key];
  }
  const lower = bare.toLowerCase();
  for (const key of Object.keys(parameters)) {
    if (key.replace(/^@/, "").toLowerCase() === lower) return parameters[key];
  }
  throw sqlTextError(context.kind, `parameter ${name} has no value`, position);
}
