/**
 * SQL rule actions: `SET property = expression` and `REMOVE property` statements, applied in
 * order to the subscription's copy of a matched message. Statements may be separated by `;`
 * (optional, per the docs) or just whitespace.
 */

import type { ActionStatement } from "./sql-ast";
import type { CompiledRuleAction, FilterableMessage, SqlParameters } from "./filter-types";
import { sqlTextError } from "./filter-error";
import { parseSqlAction } from "./sql-parser";
import { type PropertyReference, type SqlCompileContext, compileExpression, resolveProperty } from "./sql-expression";
import { SETTABLE_SYSTEM_PROPERTIES } from "./system-properties";
import { isNullish } from "./sql-values";

type Step = (message: FilterableMessage) => void;

/**
 * Compiles a rule action such as `SET sys.Label = 'routed'; SET hops = hops + 1; REMOVE tmp`.
 * Throws FilterError (code InvalidSqlAction) for invalid text, including SET / REMOVE of a
 * broker property the service does not let actions change.
 */
export function compileSqlRuleAction(expression: string, parameters?: SqlParameters): CompiledRuleAction {
  const context: SqlCompileContext = { kind: "action", parameters };
  const steps = parseSqlAction(expression).map((statement) => compileStatement(statement, context));
  return {
    apply(message: FilterableMessage): void {
      for (const step of steps) {
        try {
          step(message);
        } catch {
          // Steps are written not to throw; if one does on an odd message (a frozen object, say)
          // the rest still run, as "the action doesn't fail" for a user-property problem.
        }
      }
    },
  };
}

function compileStatement(statement: ActionStatement, context: SqlCompileContext): Step {
  const target = resolveProperty(statement.target, context);
  if (target.scope === "sys" && !SETTABLE_SYSTEM_PROPERTIES.has(target.name)) {
    throw sqlTextError(
      context.kind,
      `system property sys.${target.name} cannot be changed by a rule action; ` + `only ${[...SETTABLE_SYSTEM_PROPERTIES].map((name) => `sys.${name}`).join(", ")} can`,
      statement.target.position,
    );
  }
  if (statement.kind === "remove") return (message) => removeProperty(target, message);

  const evaluate = compileExpression(statement.value, context).evaluate;
  return (message) => setProperty(target, message, evaluate(message));
}

/**
 * SET. An unknown value (say `SET x = missing + 1`) stores NULL. The settable broker properties
 * are all strings, so other values are converted to text (the docs: "SET performs implicit
 * conversion if possible"), and NULL clears the property.
 */
function setProperty(target: PropertyReference, message: FilterableMessage, value: unknown): void {
  if (target.scope === "user") {
    target.name.write(message.applicationProperties, value === undefined ? null : value);
    return;
  }
  if (isNullish(value)) {
    delete message.systemProperties[target.name];
  } else {
    message.systemProperties[target.name] = asText(value);
  }
}

function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

function removeProperty(target: PropertyReference, message: FilterableMessage): void {
  if (target.scope === "user") target.name.remove(message.applicationProperties);
  else delete message.systemProperties[target.name];
}
